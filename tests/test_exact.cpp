// The exact methods: the oracle checked against itself (analytic gradients equal central finite
// differences of the KL), their memory refusal through embed(), and exact SNE's resumption and thread
// independence.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "helpers/oracles.hpp"
#include "test_helpers.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

// For each output dimension and seed: P from 25 random points at perplexity 4 (`joint` symmetrises it, as
// t-SNE does), then the analytic `gradient` against a central finite difference of `kl` at a
// random Y with the given scale.
template <class Gradient, class Kl>
void check_exact_gradient(bool joint, std::initializer_list<std::uint64_t> seeds, double scale,
                          Gradient gradient, Kl kl) {
    AffinityOptions aff;
    aff.perplexity = 4;
    for (int dims = 1; dims <= 3; ++dims)
        for (std::uint64_t seed : seeds) {
            CAPTURE(dims);
            CAPTURE(seed);
            const Matrix x = random_matrix(25, 6, seed);
            const Matrix conditional = dense_conditional_probabilities(x, aff, 1);
            const Matrix p = joint ? dense_joint_probabilities(conditional) : conditional;
            check_gradient(
                random_matrix(25, dims, seed + 100, scale),
                [&](const Matrix& y, Matrix& grad) { return gradient(p, y, grad.view()); },
                [&](const Matrix& y) { return kl(p, y); });
        }
}

}  // namespace

TEST_CASE("exact t-SNE gradient equals a central finite difference of its KL") {
    check_exact_gradient(
        true, {1u, 2u, 3u}, 2.0,
        [](const Matrix& p, const Matrix& y, MatrixView grad) { return exact_tsne_gradient(p, y, grad); },
        [](const Matrix& p, const Matrix& y) { return exact_tsne_kl(p, y); });
}

TEST_CASE("exact SNE gradient equals a central finite difference of its KL") {
    check_exact_gradient(
        false, {4u, 5u, 6u}, 1.0,
        [](const Matrix& p, const Matrix& y, MatrixView grad) { return exact_sne_gradient(p, y, grad); },
        [](const Matrix& p, const Matrix& y) { return exact_sne_kl(p, y); });
}

TEST_CASE("exaggeration scales only the attractive part of the exact gradient") {
    AffinityOptions aff;
    aff.perplexity = 4;
    const Matrix x = random_matrix(20, 3, 7);
    const Matrix p = dense_joint_probabilities(dense_conditional_probabilities(x, aff, 1));
    const Matrix y = random_matrix(20, 2, 8);
    Matrix g1(20, 2), g3(20, 2), g0(20, 2);
    exact_tsne_gradient(p, y, g1.view(), 1.0);
    exact_tsne_gradient(p, y, g3.view(), 3.0);
    exact_tsne_gradient(p, y, g0.view(), 0.0);  // repulsion only
    for (index_t i = 0; i < g1.size(); ++i) {
        const double attraction = g1.data()[i] - g0.data()[i];
        CHECK(g3.data()[i] == doctest::Approx(g0.data()[i] + 3 * attraction).epsilon(1e-9));
    }
}

TEST_CASE("require_dense_fits: refuses N^2 doubles beyond 2^64 bytes whatever the machine has") {
    // 3 * (2^31)^2 * 8 bytes = 1.1e20: no address space holds it, whatever memory the machine reports.
    CHECK_THROWS_WITH_AS(require_dense_fits(index_t{1} << 31, 3, "exact_tsne"),
                         doctest::Contains("barnes_hut"), NumericalError);
    CHECK_THROWS_AS(require_dense_fits(20'000'000, 3, "the exact method"), NumericalError);  // 9.6e15 bytes
    CHECK_NOTHROW(require_dense_fits(1000, 3, "the exact method"));                          // 24 MB
}

TEST_CASE("exact methods: embed() refuses N whose dense matrices exceed the memory limit, before any stage") {
    const Matrix x = clustered(4, 50, 5, 60);  // N = 200
    for (Method method : {Method::exact_tsne, Method::exact_sne}) {
        CAPTURE(std::string(to_string(method)));
        Options o;
        o.optimizer.method = method;
        o.affinities.perplexity = 10;
        o.optimizer.iterations = 30;
        o.threads = 1;
        const MemoryEstimate need = estimate_memory(x.rows(), x.cols(), o);
        CHECK(need.dense == doctest::Approx(3.0 * 200 * 200 * 8));
        const double fits = need.peak - need.input;  // the input is already in memory

        Callbacks cb;
        std::vector<std::string> started;
        cb.stage_start = [&](const std::string& stage) { started.push_back(stage); };
        cb.memory_limit_bytes = fits - 1;  // one byte short
        CHECK_THROWS_WITH_AS(embed(x, o, cb), doctest::Contains("barnes_hut"), NumericalError);
        CHECK(started.empty());  // refused before the affinities (the N^2 allocations) began

        // Barnes-Hut needs O(N k): the same limit lets it run.
        Options bh = o;
        bh.optimizer.method = Method::barnes_hut;
        CHECK(embed(x, bh, cb).iterations == 30);

        cb.memory_limit_bytes = fits;  // exactly enough
        started.clear();
        const Result r = embed(x, o, cb);
        CHECK(r.iterations == 30);
        CHECK_FALSE(started.empty());
    }
}

TEST_CASE("exact methods: embed() refuses an N whose N^2 doubles exceed any machine, without reading X") {
    // No injected limit: embed() asks the machine (available_memory()). 3 (2^31)^2 doubles are 1.1e20 bytes,
    // more than any 64-bit address space, so the refusal cannot depend on this machine's memory. X is a view
    // claiming 2^31 rows over 16 doubles: embed() must refuse from the shape alone, before it reads the data
    // (or allocates anything N^2). Where available_memory() is unknown (not Linux), embed() skips its
    // memory check and would read past the buffer, so the test cannot run there.
    if (!available_memory()) {
        MESSAGE("skipped: available_memory() is unknown on this system");
        return;
    }
    const std::vector<double> buffer(16, 0.0);
    const ConstMatrixView huge{buffer.data(), index_t{1} << 31, 1};
    for (Method method : {Method::exact_tsne, Method::exact_sne}) {
        CAPTURE(std::string(to_string(method)));
        Options o;
        o.optimizer.method = method;
        o.init = InitKind::random;  // PCA initialisation would need 2 input columns
        o.threads = 1;
        Callbacks cb;
        bool started = false;
        cb.stage_start = [&](const std::string&) { started = true; };
        CHECK_THROWS_WITH_AS(embed(huge, o, cb), doctest::Contains("barnes_hut"), NumericalError);
        CHECK_FALSE(started);
    }
}

TEST_CASE("exact SNE: resumable and thread-independent, bit for bit") {
    const Matrix x = clustered(3, 30, 6, 61);  // N = 90
    AffinityOptions aff;
    aff.perplexity = 10;
    const Matrix p = dense_conditional_probabilities(x, aff, 1);
    CHECK(dense_conditional_probabilities(x, aff, 4) == p);
    Options o;
    o.optimizer.method = Method::exact_sne;
    o.optimizer.iterations = 200;
    o.optimizer.exaggeration_iterations = 120;  // the segment boundary at 100 lies inside exaggeration
    o.optimizer.max_step_norm = 1.0;            // exercise clipping too
    o.threads = 1;
    const Matrix y0 = random_init(x.rows(), 2, 5);

    Session straight(p, y0, o);
    const double kl0 = straight.kl();
    CHECK(kl0 == exact_sne_kl(p, y0, 1));
    REQUIRE(straight.run(200) == RunStatus::completed);
    const OptimizerState& want = straight.state();
    CHECK(want.iteration == 200);
    CHECK(straight.kl() == exact_sne_kl(p, want.y, 1));
    CHECK(straight.kl() < 0.5 * kl0);  // it optimised

    // run(100) then run(200) equals run(200).
    Session segmented(p, y0, o);
    CHECK(segmented.run(100) == RunStatus::completed);
    CHECK(segmented.iteration() == 100);
    CHECK(segmented.embedding() != want.y);
    segmented.run(200);
    CHECK(segmented.embedding() == want.y);
    CHECK(segmented.state().gains == want.gains);
    CHECK(segmented.state().velocity == want.velocity);

    // A state restored into a fresh session (another start) continues bit for bit.
    Session first(p, y0, o);
    first.run(100);
    Session second(p, random_init(x.rows(), 2, 6), o);
    second.restore(first.state());
    second.run(200);
    CHECK(second.embedding() == want.y);
    CHECK(second.state().velocity == want.velocity);

    // 2 and 4 threads give the 1-thread result.
    for (int threads : {2, 4}) {
        CAPTURE(threads);
        Options t = o;
        t.threads = threads;
        Session s(p, y0, t);
        s.run(200);
        CHECK(s.embedding() == want.y);
        CHECK(s.state().gains == want.gains);
        CHECK(s.kl() == straight.kl());
    }
}

TEST_CASE("sparse exact KL equals the dense KL when P is dense") {
    AffinityOptions aff;
    aff.perplexity = 5;
    const Matrix x = random_matrix(40, 4, 9);
    const NeighborGraph g = nearest_neighbors_naive(x, 39);
    const Affinities p = compute_affinities(g, aff, 1);
    const Matrix y = random_matrix(40, 2, 10);
    CHECK(exact_tsne_kl_sparse(p, y) ==
          doctest::Approx(exact_tsne_kl(testing::densify(p), y)).epsilon(1e-12));
}

namespace {

// The dense conditional P the exact methods should use for these options, built here from the naive
// neighbour scan: every other point as a neighbour unless k is given (or the kind is uniform), the rows of
// conditional_probabilities (the Barnes-Hut rows), zeros elsewhere.
Matrix expected_dense_conditional(const Matrix& x, const Options& o) {
    const index_t n = x.rows();
    const AffinityOptions& a = o.affinities;
    const index_t k = a.k == 0 && a.kind != AffinityKind::uniform ? n - 1 : neighbor_count(a, n);
    const NeighborGraph g = nearest_neighbors_naive(x, k, o.neighbors.metric);
    const std::vector<float> c = conditional_probabilities(g, a, 1);
    Matrix p(n, n);
    for (index_t i = 0; i < n; ++i)
        for (index_t e = 0; e < k; ++e) p(i, g.row_indices(i)[e]) = c[static_cast<std::size_t>(i * k + e)];
    return p;
}

}  // namespace

TEST_CASE("exact methods: the dense P follows the metric, the kernel, multiscale perplexities and k") {
    // 4ae5c90 built the exact methods' P from Euclidean distances at one perplexity over all points,
    // whatever the options said; the embedding of each case below then differed from the optimisation of
    // the P the options describe.
    const Matrix x = clustered(3, 20, 5, 61);
    struct Case {
        const char* name;
        std::function<void(Options&)> set;
    };
    const std::vector<Case> cases = {
        {"cosine", [](Options& o) { o.neighbors.metric = Metric::cosine; }},
        {"manhattan", [](Options& o) { o.neighbors.metric = Metric::manhattan; }},
        {"chebyshev, k 12",
         [](Options& o) {
             o.neighbors.metric = Metric::chebyshev;
             o.affinities.k = 12;
         }},
        {"sigma",
         [](Options& o) {
             o.affinities.kind = AffinityKind::sigma;
             o.affinities.sigma = 3.0;
         }},
        {"uniform, k 7",
         [](Options& o) {
             o.affinities.kind = AffinityKind::uniform;
             o.affinities.k = 7;
         }},
        {"multiscale 4, 15", [](Options& o) { o.affinities.more_perplexities = {15.0}; }},
        {"k 10", [](Options& o) { o.affinities.k = 10; }},
    };
    for (const Method method : {Method::exact_tsne, Method::exact_sne})
        for (const Case& c : cases) {
            CAPTURE(to_string(method));
            CAPTURE(c.name);
            Options o;
            o.threads = 2;
            o.affinities.perplexity = 4;
            o.optimizer.method = method;
            o.optimizer.iterations = 40;
            o.optimizer.exaggeration_iterations = 20;
            c.set(o);
            const Matrix conditional = expected_dense_conditional(x, o);
            CHECK(dense_conditional_probabilities(x, o.affinities, 2, o.neighbors) == conditional);
            Matrix p = method == Method::exact_sne ? conditional : dense_joint_probabilities(conditional, 1);
            Session want(std::move(p), initial_embedding(x, o), o);
            want.run(o.optimizer.iterations);
            CHECK(embed(x, o).y == want.embedding());
        }
}

TEST_CASE("exact methods: with k = N-1 the dense P's rows are the Barnes-Hut P's, bit for bit") {
    const Matrix x = random_matrix(50, 4, 62);
    AffinityOptions a;
    a.perplexity = 6;
    a.k = 49;
    const NeighborGraph g = nearest_neighbors(x, 49, KnnBackend::automatic, 1);
    const std::vector<float> c = conditional_probabilities(g, a, 1);
    const Matrix dense = dense_conditional_probabilities(x, a, 1);
    for (index_t i = 0; i < 50; ++i)
        for (index_t e = 0; e < 49; ++e)
            REQUIRE(dense(i, g.row_indices(i)[e]) ==
                    static_cast<double>(c[static_cast<std::size_t>(i * 49 + e)]));
    a.k = 0;  // every point a neighbour: the same rows
    CHECK(dense_conditional_probabilities(x, a, 1) == dense);
}
