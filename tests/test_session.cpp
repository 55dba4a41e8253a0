// Optimiser, session, initialisation, determinism and end-to-end quality.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

TEST_CASE("running to 250 then to 1000 equals running to 1000, bit for bit") {
    std::vector<int> labels;
    const Matrix x = clustered(5, 60, 10, 31, 10.0, &labels);
    for (Method method : {Method::barnes_hut, Method::exact_tsne}) {
        CAPTURE(std::string(to_string(method)));
        Options o = quick_options(1000);
        o.optimizer.method = method;
        o.optimizer.max_step_norm = method == Method::exact_tsne ? 5.0 : 0.0;  // exercise clipping too
        auto make = [&] {
            const Matrix y0 = initial_embedding(x, o);
            if (method == Method::barnes_hut)
                return Session(
                    compute_affinities(nearest_neighbors(x, 30, KnnBackend::brute, 2), o.affinities, 2), y0,
                    o);
            return Session(dense_joint_probabilities(dense_conditional_probabilities(x, o.affinities, 2)), y0,
                           o);
        };
        Session a = make(), b = make();
        CHECK(a.run(250) == RunStatus::completed);
        CHECK(a.iteration() == 250);
        a.run(1000);
        b.run(1000);
        CHECK(a.iteration() == 1000);
        CHECK(a.embedding() == b.embedding());
        CHECK(a.state().gains == b.state().gains);
    }
}

TEST_CASE("same seed, same embedding for 1, 2 and 4 threads through the whole pipeline") {
    const Matrix x = clustered(8, 250, 30, 32);
    Options o;
    o.optimizer.iterations = 300;
    o.init = InitKind::pca;
    Matrix first;
    for (int threads : {1, 2, 4}) {
        CAPTURE(threads);
        o.threads = threads;
        const Result r = embed(x, o);
        if (first.empty())
            first = r.y;
        else
            CHECK(r.y == first);
    }
    o.init = InitKind::random;
    o.threads = 1;
    const Matrix one = embed(x, o).y;
    o.threads = 4;
    CHECK(embed(x, o).y == one);
}

TEST_CASE_TEMPLATE(
    "Session::gradient and kl equal the exact oracle, exaggerated exactly while the schedule says", Dim, Dim1,
    Dim2, Dim3) {
    constexpr int dims = Dim::value;
    const index_t n = 120;
    const Matrix x = clustered(3, n / 3, 5, 50 + dims);
    Options o = quick_options(40);
    o.dims = dims;
    o.optimizer.exaggeration_iterations = 20;
    o.optimizer.theta = 0.0;  // Barnes-Hut summarises nothing: exact repulsion and Z
    const Affinities p = compute_affinities(nearest_neighbors(x, 30, KnnBackend::brute, 2), o.affinities, 2);
    const Matrix dense = densify(p);  // the same P, zero outside the kNN graph
    const Matrix y0 = random_init(n, dims, 3);
    Session bh(p, y0, o);
    Options exact_options = o;
    exact_options.optimizer.method = Method::exact_tsne;
    Session exact(dense, y0, exact_options);

    // At each stop: the gradient with the exaggeration the schedule gives (12 before iteration 20, 1 from
    // it on), and the KL of the unexaggerated P.
    const std::pair<index_t, double> stops[] = {{0, 12.0}, {19, 12.0}, {20, 1.0}, {40, 1.0}};
    for (const auto& stop : stops) {
        const index_t until = stop.first;
        const double exaggeration = stop.second;
        CAPTURE(until);
        bh.run(until);
        exact.run(until);
        REQUIRE(bh.iteration() == until);
        Matrix want(n, dims), other(n, dims), got(n, dims);
        const double want_kl = exact_tsne_gradient(dense, bh.embedding(), want.view(), exaggeration, 1);
        const double kl = bh.gradient(got.view());
        CHECK(relative_error(got, want) < 1e-10);
        CHECK(kl == doctest::Approx(want_kl).epsilon(1e-10));
        CHECK(bh.kl() == doctest::Approx(exact_tsne_kl(dense, bh.embedding(), 1)).epsilon(1e-10));
        // The other exaggeration gives a clearly different gradient: the check above can tell them apart.
        exact_tsne_gradient(dense, bh.embedding(), other.view(), exaggeration == 1.0 ? 12.0 : 1.0, 1);
        CHECK(relative_error(other, want) > 1e-3);

        // The exact session's gradient is the oracle's, bit for bit, with the same schedule.
        exact_tsne_gradient(dense, exact.embedding(), want.view(), exaggeration, 1);
        CHECK(exact.gradient(got.view()) ==
              doctest::Approx(exact_tsne_kl(dense, exact.embedding(), 1)).epsilon(1e-12));
        CHECK(got == want);
        CHECK(exact.kl() == exact_tsne_kl(dense, exact.embedding(), 1));
    }
    // gradient() and kl() take no step.
    const Matrix before = bh.embedding();
    Matrix g(n, dims);
    bh.gradient(g.view());
    bh.kl();
    CHECK(bh.embedding() == before);
    CHECK(bh.iteration() == 40);
    CHECK_THROWS_AS(bh.gradient(Matrix(n, dims + 1).view()), InvalidArgument);
}

TEST_CASE("observer sees every report, may stop the run, and cancellation stops after an iteration") {
    const Matrix x = clustered(3, 50, 5, 33);
    Options o = quick_options(300);
    o.optimizer.exaggeration_iterations = 100;
    o.report_every = 50;
    std::vector<IterationReport> reports;
    const auto started = std::chrono::steady_clock::now();
    Result r = embed(x, o, [&](const IterationReport& rep) {
        reports.push_back(rep);
        return true;
    });
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    REQUIRE(reports.size() == 6);
    CHECK(reports.front().iteration == 50);
    CHECK(reports.back().iteration == 300);
    double previous_seconds = 0;
    std::vector<double> main_kl;  // reports after the exaggeration ends (iteration > 100)
    for (const auto& rep : reports) {
        CAPTURE(rep.iteration);
        CHECK(rep.total == 300);
        CHECK(rep.phase == (rep.iteration > 100 ? Phase::main : Phase::early_exaggeration));
        CHECK(std::isfinite(rep.kl));
        // Optimisation time accumulates: never backwards, and within the wall time of the whole call.
        CHECK(rep.seconds >= previous_seconds);
        CHECK(rep.seconds <= elapsed);
        previous_seconds = rep.seconds;
        if (rep.iteration > o.optimizer.exaggeration_iterations) main_kl.push_back(rep.kl);
    }
    CHECK(reports.back().seconds > 0);
    // The KL decreases over the main phase (the exaggerated reports optimise another objective).
    REQUIRE(main_kl.size() == 4);
    for (std::size_t i = 1; i < main_kl.size(); ++i) CHECK(main_kl[i] < main_kl[i - 1]);

    // A report carries the KL and the gradient norm of the gradient its iteration stepped with: those
    // that Session::gradient() computes at the embedding before that step (the same exaggeration).
    {
        Session s(testing::affinities_of(x, 10), initial_embedding(x, o), o);
        Matrix g(x.rows(), 2);
        for (index_t t : {49, 149, 299}) {  // during and after the exaggeration
            CAPTURE(t);
            s.run(t);
            const double kl = s.gradient(g.view());
            std::vector<IterationReport> seen;
            s.run(t + 1, [&](const IterationReport& rep) {
                seen.push_back(rep);
                return true;
            });
            REQUIRE(seen.size() == 1);
            CHECK(seen[0].kl == doctest::Approx(kl).epsilon(1e-12));
            CHECK(seen[0].gradient_norm == doctest::Approx(testing::norm(g)).epsilon(1e-12));
        }
    }

    r = embed(x, o, [](const IterationReport& rep) { return rep.iteration < 100; });
    CHECK(r.status == RunStatus::stopped_by_observer);
    CHECK(r.iterations == 100);

    std::atomic<bool> cancel{true};
    Callbacks cb;
    cb.cancel = &cancel;
    r = embed(x, o, cb);
    CHECK(r.status == RunStatus::cancelled);
    CHECK(r.iterations == 1);
}

TEST_CASE("a report's embedding is the embedding then, and reading it changes nothing; into_embedding ends a session") {
    // embed() optimises in a relabelled order and hands reports the embedding in the input's order,
    // written into the gradient's buffer (which the next gradient overwrites): an observed run must give
    // the unobserved run's bits, and each report the embedding a run stopped there ends with.
    const Matrix x = clustered(4, 60, 8, 34);
    for (Method method : {Method::barnes_hut, Method::exact_tsne}) {
        CAPTURE(std::string(to_string(method)));
        Options o = quick_options(120);
        o.optimizer.method = method;
        o.optimizer.exaggeration_iterations = 50;
        o.report_every = 20;
        const Result quiet = embed(x, o);
        std::vector<Matrix> seen;
        const Result observed = embed(x, o, [&](const IterationReport& rep) {
            Matrix y(rep.embedding.rows, rep.embedding.cols);
            std::copy_n(rep.embedding.data, y.size(), y.data());
            seen.push_back(std::move(y));
            return true;
        });
        CHECK(observed.y == quiet.y);
        REQUIRE(seen.size() == 6);
        CHECK(seen.back() == quiet.y);
        // A run stopped at 60 ran the same first 60 iterations (the schedule is that of 120).
        Result first60 = embed(x, o, [&](const IterationReport& rep) { return rep.iteration < 60; });
        CHECK(first60.iterations == 60);
        CHECK(first60.y == seen[2]);
    }
    // into_embedding: the embedding() of the session, in the input's order, for a relabelled session too.
    const Options o = quick_options(40);
    Affinities p = testing::affinities_of(x, 10);
    std::vector<point_t> order(static_cast<std::size_t>(x.rows()));
    for (std::size_t r = 0; r < order.size(); ++r) order[r] = static_cast<point_t>((r * 7 + 3) % order.size());
    const Matrix y0 = initial_embedding(x, o);
    Matrix y0_relabelled(y0.rows(), y0.cols());
    for (index_t r = 0; r < y0.rows(); ++r)
        for (index_t d = 0; d < y0.cols(); ++d) y0_relabelled(r, d) = y0(order[static_cast<std::size_t>(r)], d);
    Session relabelled(relabel(p, order, 1), y0_relabelled, o, order);
    relabelled.run(40);
    const Matrix expected = relabelled.embedding();
    CHECK(std::move(relabelled).into_embedding() == expected);
    Session plain(p, y0, o);
    plain.run(40);
    const Matrix plain_expected = plain.embedding();
    CHECK(std::move(plain).into_embedding() == plain_expected);
}

TEST_CASE("end to end: 10 Gaussian clusters in 20-D are separated, and BH's KL is near the exact method's") {
    std::vector<int> labels;
    const Matrix x = clustered(10, 100, 20, 34, 6.0, &labels);
    Options o;
    o.threads = 2;
    const Result bh = embed(x, o);  // defaults: theta 0.5
    const double accuracy = knn_accuracy(bh.y, labels, 10, 2);
    CHECK(accuracy > 0.95);

    // Exact KL of the final embeddings against the same dense P (the exact method's objective).
    const Matrix p = dense_joint_probabilities(dense_conditional_probabilities(x, o.affinities, 2));
    Options fine = o;
    fine.optimizer.theta = 0.4;
    const Result bh_fine = embed(x, fine);
    o.optimizer.method = Method::exact_tsne;
    const Result exact = embed(x, o);
    const double kl_bh = exact_tsne_kl(p, bh.y, 2);
    const double kl_fine = exact_tsne_kl(p, bh_fine.y, 2);
    const double kl_exact = exact_tsne_kl(p, exact.y, 2);
    MESSAGE("exact KL: barnes_hut theta 0.5 ", kl_bh, ", theta 0.4 ", kl_fine, ", exact_tsne ", kl_exact,
            "; kNN accuracy ", accuracy);
    // Measured when written: theta 0.5 is 2.2% above the exact method (bhtsne's monopole at 0.5: ~6%),
    // theta 0.4 0.5% above.
    CHECK(kl_fine < 1.02 * kl_exact);
    CHECK(kl_bh < 1.03 * kl_exact);
    CHECK(knn_accuracy(exact.y, labels, 10, 2) > 0.95);
}

TEST_CASE("exact SNE optimises: clusters separate") {
    std::vector<int> labels;
    const Matrix x = clustered(4, 40, 10, 35, 8.0, &labels);
    Options o = quick_options(400);
    o.optimizer.method = Method::exact_sne;
    const Result r = embed(x, o);
    for (index_t i = 0; i < r.y.size(); ++i) REQUIRE(std::isfinite(r.y.data()[i]));
    CHECK(knn_accuracy(r.y, labels, 5, 2) > 0.9);
}

TEST_CASE("initialisations") {
    const Matrix x = clustered(3, 100, 6, 36);
    SUBCASE("random is seeded, centred at 0 with sd 1e-4") {
        const Matrix a = random_init(20000, 2, 7), b = random_init(20000, 2, 7), c = random_init(20000, 2, 8);
        CHECK(a == b);
        CHECK(a != c);
        double mean = 0, var = 0;
        for (index_t i = 0; i < a.size(); ++i) mean += a.data()[i];
        mean /= static_cast<double>(a.size());
        for (index_t i = 0; i < a.size(); ++i) var += (a.data()[i] - mean) * (a.data()[i] - mean);
        CHECK(std::abs(mean) < 1e-6);
        CHECK(std::sqrt(var / static_cast<double>(a.size())) == doctest::Approx(1e-4).epsilon(0.02));
    }
    SUBCASE("pca: first column has sd 1e-4 and follows the direction of largest variance") {
        Matrix line(200, 3);
        for (index_t i = 0; i < 200; ++i) {
            const double t = static_cast<double>(i) - 100;
            line(i, 0) = 2 * t + 0.01 * std::sin(static_cast<double>(i));
            line(i, 1) = -t;
            line(i, 2) = 0.5 + 0.01 * std::cos(static_cast<double>(i));
        }
        const Matrix y = pca_init(line, 2, 2, 1);
        double var = 0;
        for (index_t i = 0; i < 200; ++i) var += y(i, 0) * y(i, 0);
        CHECK(std::sqrt(var / 199) == doctest::Approx(1e-4).epsilon(1e-9));
        // |corr(y0, t)| = 1
        double num = 0, den = 0;
        for (index_t i = 0; i < 200; ++i) {
            num += y(i, 0) * (static_cast<double>(i) - 100);
            den += (static_cast<double>(i) - 100) * (static_cast<double>(i) - 100);
        }
        CHECK(std::abs(num) / std::sqrt(den * var) > 0.9999);
        CHECK(pca_init(line, 2, 1, 1) == pca_init(line, 2, 4, 1));
    }
    SUBCASE("constant data: pca falls back to the seeded random start, with the options' seed") {
        const Matrix constant(50, 4, 7.0);
        CHECK(pca_init(constant, 2, 2, 5) == random_init(50, 2, 5));
        CHECK(pca_init(constant, 2, 2, 6) == random_init(50, 2, 6));
        Options o;
        o.seed = 9;
        CHECK(initial_embedding(constant, o) == random_init(50, 2, 9));
    }
    SUBCASE("user coordinates are rescaled unless asked not to") {
        Options o;
        o.init = InitKind::user;
        o.init_coordinates = random_matrix(x.rows(), 2, 9, 5.0);
        const Matrix y = initial_embedding(x, o);
        double var = 0;
        for (index_t i = 0; i < y.rows(); ++i) var += y(i, 0) * y(i, 0);
        CHECK(std::sqrt(var / static_cast<double>(y.rows() - 1)) == doctest::Approx(1e-4));
        o.keep_user_scale = true;
        CHECK(initial_embedding(x, o) == o.init_coordinates);
    }
}

TEST_CASE("options are validated with messages that say what would work") {
    const Matrix x = random_matrix(100, 4, 37);
    Options o;
    o.affinities.perplexity = 99;
    CHECK_THROWS_WITH_AS(embed(x, o), doctest::Contains("must be below N - 1 = 99"), InvalidArgument);
    o.affinities.perplexity = 0.5;
    CHECK_THROWS_WITH_AS(embed(x, o), doctest::Contains(">= 1"), InvalidArgument);
    o.affinities.perplexity = 5;
    o.dims = 4;
    CHECK_THROWS_AS(embed(x, o), InvalidArgument);
    o.dims = 2;
    o.optimizer.theta = -1;
    CHECK_THROWS_AS(embed(x, o), InvalidArgument);
    o.optimizer.theta = 0.5;
    Matrix bad = x;
    bad(3, 2) = std::nan("");
    CHECK_THROWS_WITH_AS(embed(bad, o), doctest::Contains("row 4, column 3"), InvalidArgument);
}

TEST_CASE("learning rate auto is max(N / 12, 200)") {
    OptimizerOptions o;
    CHECK(resolve_learning_rate(o, 1000) == 200);
    CHECK(resolve_learning_rate(o, 120000) == 10000);
    o.learning_rate = 5;
    CHECK(resolve_learning_rate(o, 1000) == 5);
}
