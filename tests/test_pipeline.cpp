// The whole pipeline: embed() is bit-identical across thread counts in every output dimension, the stages
// called by hand (neighbours -> affinities -> init -> Session) give exactly what embed() gives, and a
// Session runs over affinities the user built without any data.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

Options pipeline_options(int dims) {
    Options o;
    o.dims = dims;
    o.affinities.perplexity = 15;
    o.optimizer.iterations = 150;
    o.optimizer.exaggeration_iterations = 60;
    return o;
}

bool same_affinities(const Affinities& a, const Affinities& b) {
    return a.n == b.n && a.offsets == b.offsets && a.columns == b.columns && a.values == b.values;
}

/// Two groups of `half` points with no coordinates at all: within each group every point is tied to its 6
/// nearest on a ring (weight 1), and to its counterpart in the other group (weight 0.02). Symmetric,
/// columns increasing, normalised to sum to 1.
Affinities two_rings(index_t half, std::vector<int>* labels) {
    const index_t n = 2 * half;
    std::vector<std::vector<std::pair<point_t, double>>> rows(static_cast<std::size_t>(n));
    auto link = [&](index_t i, index_t j, double w) {
        rows[static_cast<std::size_t>(i)].emplace_back(static_cast<point_t>(j), w);
        rows[static_cast<std::size_t>(j)].emplace_back(static_cast<point_t>(i), w);
    };
    for (index_t g = 0; g < 2; ++g)
        for (index_t r = 0; r < half; ++r)
            for (index_t step = 1; step <= 3; ++step) link(g * half + r, g * half + (r + step) % half, 1.0);
    for (index_t r = 0; r < half; ++r) link(r, half + r, 0.02);
    Affinities p;
    p.n = n;
    p.offsets.push_back(0);
    double total = 0;
    for (auto& row : rows) {
        std::sort(row.begin(), row.end());
        for (const auto& [j, w] : row) {
            p.columns.push_back(j);
            p.values.push_back(static_cast<float>(w));
            total += w;
        }
        p.offsets.push_back(static_cast<index_t>(p.columns.size()));
    }
    for (float& v : p.values) v = static_cast<float>(static_cast<double>(v) / total);
    labels->assign(static_cast<std::size_t>(n), 0);
    for (index_t i = half; i < n; ++i) (*labels)[static_cast<std::size_t>(i)] = 1;
    return p;
}

}  // namespace

TEST_CASE_TEMPLATE("embed() gives the same bits for 1, 2 and 4 threads", Dim, std::integral_constant<int, 1>,
                   std::integral_constant<int, 3>) {
    constexpr int dims = Dim::value;
    const Matrix x = clustered(4, 75, 8, 70 + dims);  // N = 300
    for (InitKind init : {InitKind::pca, InitKind::random}) {
        CAPTURE(std::string(to_string(init)));
        Options o = pipeline_options(dims);
        o.init = init;
        Result first;
        for (int threads : {1, 2, 4}) {
            CAPTURE(threads);
            o.threads = threads;
            const Result r = embed(x, o);
            REQUIRE(r.y.rows() == x.rows());
            REQUIRE(r.y.cols() == dims);
            if (threads == 1) {
                first = r;
                for (double v : r.y.storage()) REQUIRE(std::isfinite(v));
            } else {
                CHECK(r.y == first.y);
                CHECK(r.kl == first.kl);
            }
        }
    }
}

TEST_CASE("the stages called by hand, with a Session over the user's P, give exactly embed()'s result") {
    const Matrix x = clustered(3, 60, 6, 71);  // N = 180
    Options o = pipeline_options(2);
    o.threads = 2;
    const index_t k = neighbor_count(o.affinities.perplexity, x.rows());
    NeighborGraph graph =
        nearest_neighbors(x, k, resolve_backend(o.neighbors.backend, x.rows(), x.cols()), o.threads);
    const Affinities p = compute_affinities(graph, o.affinities, o.threads);
    // embed() optimises with the points relabelled in locality_order(); by hand the same.
    const std::vector<point_t> order = locality_order(graph);
    relabel(graph, order);
    const Affinities relabelled_p = compute_affinities(graph, o.affinities, o.threads);
    auto in_order = [&](const Matrix& y) {
        Matrix out(y.rows(), y.cols());
        for (index_t r = 0; r < y.rows(); ++r)
            for (index_t d = 0; d < y.cols(); ++d) out(r, d) = y(static_cast<index_t>(order[std::size_t(r)]), d);
        return out;
    };

    SUBCASE("the default (PCA) initialisation") {
        Session session(relabelled_p, in_order(initial_embedding(x, o)), o, order);
        REQUIRE(session.run(o.optimizer.iterations) == RunStatus::completed);
        Callbacks cb;
        cb.keep_affinities = true;
        const Result r = embed(x, o, cb);
        CHECK(same_affinities(r.affinities, p));  // given back in the input's labels
        CHECK(session.embedding() == r.y);
        CHECK(session.kl() == r.kl);
        CHECK(session.learning_rate() == r.learning_rate);
    }
    SUBCASE("the user's own initial coordinates, kept as given") {
        const Matrix y0 = random_matrix(x.rows(), 2, 72, 1e-3);
        o.init = InitKind::user;
        o.init_coordinates = y0;
        o.keep_user_scale = true;
        Session session(relabelled_p, in_order(y0), o, order);
        session.run(o.optimizer.iterations);
        CHECK(session.embedding() == embed(x, o).y);
    }
}

TEST_CASE("a relabelled Session speaks the input's order: embedding, state, gradient and restore") {
    std::vector<int> labels;
    const Affinities p = two_rings(50, &labels);
    Options o;
    o.optimizer.iterations = 60;
    o.optimizer.exaggeration_iterations = 20;
    o.threads = 2;
    const Matrix y0 = random_init(p.n, 2, 74);
    // A reversal as the order: P relabelled by hand (point r is input point n - 1 - r).
    const auto n = static_cast<std::size_t>(p.n);
    std::vector<point_t> order(n);
    for (std::size_t r = 0; r < n; ++r) order[r] = static_cast<point_t>(n - 1 - r);
    Affinities q;
    q.n = p.n;
    q.offsets.assign(n + 1, 0);
    for (std::size_t r = 0; r < n; ++r) {
        const std::size_t i = order[r];
        q.offsets[r + 1] = q.offsets[r] + p.offsets[i + 1] - p.offsets[i];
        for (index_t e = p.offsets[i + 1]; e-- > p.offsets[i];) {  // reversed labels: columns descend
            q.columns.push_back(static_cast<point_t>(n - 1 - p.columns[std::size_t(e)]));
            q.values.push_back(p.values[std::size_t(e)]);
        }
    }
    Matrix y0r(p.n, 2);
    for (std::size_t r = 0; r < n; ++r)
        for (index_t d = 0; d < 2; ++d) y0r(index_t(r), d) = y0(index_t(order[r]), d);

    Session plain(p, y0, o), relabelled(q, y0r, o, order);
    Matrix g1(p.n, 2), g2(p.n, 2);
    plain.gradient(g1.view());
    relabelled.gradient(g2.view());
    CHECK(relative_error(g2, g1) < 1e-12);
    // The same arithmetic up to the order of the sums: equal to rounding for a few iterations (not
    // more: the gains' sign tests amplify rounding differences exponentially, ~1e-13 by 10 iterations
    // and visibly by 30, as for any change of summation order).
    plain.run(5);
    relabelled.run(5);
    CHECK(relative_error(relabelled.embedding(), plain.embedding()) < 1e-13);
    CHECK(relative_error(relabelled.state().velocity, plain.state().velocity) < 1e-13);
    CHECK(relabelled.state().iteration == 5);
    // A state saved from one session restores into the other, in the input's order.
    const OptimizerState saved = plain.state();
    relabelled.restore(saved);
    CHECK(relabelled.embedding() == saved.y);
    CHECK(relabelled.state().gains == saved.gains);
    CHECK(relabelled.state().velocity == saved.velocity);
    plain.run(7);
    relabelled.run(7);
    CHECK(relative_error(relabelled.embedding(), plain.embedding()) < 1e-13);

    std::vector<point_t> bad = order;
    bad[0] = bad[1];
    CHECK_THROWS_AS(Session(q, y0r, o, bad), InvalidArgument);
    CHECK_THROWS_AS(Session(q, y0r, o, std::vector<point_t>(n - 1)), InvalidArgument);
}

TEST_CASE("a Session over hand-built affinities lowers the KL and separates the groups") {
    std::vector<int> labels;
    const Affinities p = two_rings(100, &labels);
    REQUIRE(p.n == 200);
    Options o;
    o.optimizer.iterations = 400;
    o.optimizer.exaggeration_iterations = 100;
    o.threads = 2;
    Session session(p, random_init(p.n, 2, 73), o);
    const double kl0 = session.kl();
    CHECK(kl0 == doctest::Approx(exact_tsne_kl_sparse(p, session.embedding(), 2)).epsilon(1e-6));
    std::vector<double> main_kl;
    session.run(o.optimizer.iterations, [&](const IterationReport& r) {
        if (r.iteration > o.optimizer.exaggeration_iterations) main_kl.push_back(r.kl);
        return true;
    });
    const double kl = session.kl();
    MESSAGE("KL ", kl0, " -> ", kl);
    CHECK(kl < 0.25 * kl0);
    REQUIRE(main_kl.size() == 6);  // reports at 150, 200, ..., 400
    CHECK(main_kl.back() < main_kl.front());
    // The two groups separate: the 10 nearest in the embedding of nearly every point are mostly of its own
    // group (0.995 when written, 0.985 with float P and the vectorised kernels; chance is 0.5).
    CHECK(knn_accuracy(session.embedding(), labels, 10, 2) >= 0.97);
    // Ring neighbours stay neighbours: in the embedding, each point's nearest other point is one of the
    // 6 points it is tied to in its ring, for nearly every point.
    const Matrix& y = session.embedding();
    index_t kept = 0;
    for (index_t i = 0; i < p.n; ++i) {
        index_t nearest = -1;
        double best = std::numeric_limits<double>::infinity();
        for (index_t j = 0; j < p.n; ++j) {
            if (j == i) continue;
            const double dx = y(i, 0) - y(j, 0), dy = y(i, 1) - y(j, 1);
            if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, nearest = j;
        }
        const index_t ring = (nearest - i + 100) % 100;
        kept += (nearest / 100 == i / 100 && (ring <= 3 || ring >= 97)) ? 1 : 0;
    }
    MESSAGE(kept, " of 200 points have a ring neighbour as their nearest point");
    CHECK(kept >= 195);
}
