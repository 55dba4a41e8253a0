// The optimiser step (gains, momentum, clipping) against hand-computed references.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <random>

#include "test_helpers.hpp"

#include "treesne/tree/exact.hpp"
#include "treesne/optimize/optimizer.hpp"
#include "treesne/optimize/session.hpp"

using treesne::Matrix;
using treesne::OptimizerOptions;
using treesne::OptimizerState;

namespace {

OptimizerState four_point_state() {
    OptimizerState s;
    s.y = Matrix(4, 2, {0, 0, 1, 1, 2, -1, -1, 3});
    s.gains = Matrix(4, 2, {1, 1, 1, 0.011, 2, 1, 1, 1});
    s.velocity = Matrix(4, 2, {0, 0, 0.5, -0.5, -1, 0.25, 0, 0});
    return s;
}

const Matrix four_point_gradient(4, 2, {1, -2, 1, -1, -0.5, 0, 0, 0});

void check_equal(const Matrix& got, const Matrix& want, double tol = 1e-15) {
    REQUIRE(got.rows() == want.rows());
    REQUIRE(got.cols() == want.cols());
    for (treesne::index_t i = 0; i < want.size(); ++i) {
        CAPTURE(i);
        CHECK(got.data()[i] == doctest::Approx(want.data()[i]).epsilon(tol));
    }
}

}  // namespace

TEST_CASE("optimizer: one step on 4 points equals the hand-computed gains, velocity and positions") {
    OptimizerOptions options;  // +0.2 / x0.8, floor 0.01
    options.max_step_norm = 0;  // the unclipped step (clipping has its own tests)
    OptimizerState s = four_point_state();
    for (int threads : {1, 2}) {
        s = four_point_state();
        REQUIRE(treesne::gradient_step(options, 10.0, 0.5, four_point_gradient, s, threads));
        // Point 0 has not moved yet (velocity 0, sign 0): both gains grow, whatever the gradient's sign.
        // Point 1 agrees in sign: both shrink, the second to the floor (0.011 * 0.8 < 0.01).
        // Point 2: the first coordinate agrees (shrinks); the second has gradient 0 against velocity > 0
        // (signs differ: grows). Point 3: gradient 0 and velocity 0 agree (shrink), and nothing moves.
        check_equal(s.gains, Matrix(4, 2, {1.2, 1.2, 0.8, 0.01, 1.6, 1.2, 0.8, 0.8}));
        // v = momentum * v - lr * gain * g
        check_equal(s.velocity, Matrix(4, 2, {-12, 24, -7.75, -0.15, 7.5, 0.125, 0, 0}));
        check_equal(s.y, Matrix(4, 2, {-12, 24, -6.75, 0.85, 9.5, -0.875, -1, 3}));
    }
}

TEST_CASE("optimizer: step clipping scales a point's whole step to max_step_norm, and only steps above it") {
    OptimizerOptions options;
    options.max_step_norm = 10.0;
    OptimizerState s = four_point_state();
    REQUIRE(treesne::gradient_step(options, 10.0, 0.5, four_point_gradient, s, 1));
    // Point 0's step (-12, 24) has length 12 sqrt(5) > 10: scaled to (-2 sqrt(5), 4 sqrt(5)), same direction.
    // Points 1 and 2 (lengths 7.75 and 7.50) are untouched.
    const double r5 = std::sqrt(5.0);
    check_equal(s.velocity, Matrix(4, 2, {-2 * r5, 4 * r5, -7.75, -0.15, 7.5, 0.125, 0, 0}), 1e-14);
    check_equal(s.y, Matrix(4, 2, {-2 * r5, 4 * r5, -6.75, 0.85, 9.5, -0.875, -1, 3}), 1e-14);
}

TEST_CASE("optimizer: a step to a non-finite coordinate is reported") {
    OptimizerOptions options;
    options.max_step_norm = 0;  // unclipped: a clipped step stays finite
    OptimizerState s = four_point_state();
    REQUIRE(treesne::gradient_step(options, 1.0, 0.5, four_point_gradient, s, 1));
    Matrix huge(4, 2, 0.0);
    huge(2, 1) = -1e308;
    CHECK_FALSE(treesne::gradient_step(options, 1e10, 0.5, huge, s, 2));
    CHECK(std::isinf(s.y(2, 1)));
}

TEST_CASE("optimizer: schedule and recentring") {
    OptimizerOptions options;
    options.exaggeration = 12;
    options.exaggeration_iterations = 250;
    CHECK(treesne::exaggeration_at(options, 249) == 12);
    CHECK(treesne::exaggeration_at(options, 250) == 1);
    CHECK(treesne::momentum_at(options, 249) == options.momentum);
    CHECK(treesne::momentum_at(options, 250) == options.final_momentum);
    CHECK(treesne::phase_at(options, 0) == treesne::Phase::early_exaggeration);
    CHECK(treesne::phase_at(options, 250) == treesne::Phase::main);

    Matrix y(3, 2, {1, 10, 2, 20, 6, 60});
    treesne::recentre(y.view(), 2);
    check_equal(y, Matrix(3, 2, {-2, -20, -1, -10, 3, 30}));
}

TEST_CASE("optimizer: a Session's first step grows every gain (sign(0) = 0), so it is -lr * 1.2 * grad") {
    // 4 points, exact t-SNE over a hand-made joint P: the first step from Y0 is exactly
    // -learning_rate * 1.2 * grad(Y0), then recentred, for gradients of either sign.
    Matrix p(4, 4, {0, 0.2, 0.05, 0.0, 0.2, 0, 0.1, 0.05, 0.05, 0.1, 0, 0.1, 0.0, 0.05, 0.1, 0});
    const Matrix y0(4, 2, {0.1, -0.3, -0.2, 0.25, 0.4, 0.05, -0.3, 0.0});
    treesne::Options options;
    options.optimizer.method = treesne::Method::exact_tsne;
    options.optimizer.learning_rate = 3.0;
    options.optimizer.max_step_norm = 0;  // the step unclipped, to compare with -lr * 1.2 * grad
    options.threads = 1;
    Matrix grad(4, 2);
    treesne::exact_tsne_gradient(p, y0, grad.view(), options.optimizer.exaggeration, 1, false);
    bool negative = false, positive = false;
    for (double g : grad.storage()) (g < 0 ? negative : positive) = true;
    REQUIRE((negative && positive));

    Matrix want(y0);
    for (treesne::index_t i = 0; i < want.size(); ++i) want.data()[i] -= 3.0 * 1.2 * grad.data()[i];
    treesne::recentre(want.view(), 1);

    treesne::Session session(p, y0, options);
    session.run(1);
    check_equal(session.embedding(), want, 1e-13);
    check_equal(session.state().gains, Matrix(4, 2, 1.2));
}

namespace {

// P of `clusters` groups of `size` points, each point joined to 20 random members of its group (weight 1)
// and to its group's hub (weight 10, so that the hub's row of P holds about 80 times the average 1 / N:
// the hubs of a neighbour graph of 10^6 points in 50 dimensions hold such rows).
treesne::Affinities hub_affinities(treesne::index_t clusters, treesne::index_t size, std::uint64_t seed) {
    const treesne::index_t n = clusters * (size + 1);
    std::vector<std::map<treesne::point_t, double>> rows(static_cast<std::size_t>(n));
    std::mt19937_64 rng(seed);
    const auto join = [&](treesne::index_t i, treesne::index_t j, double w) {
        rows[static_cast<std::size_t>(i)][static_cast<treesne::point_t>(j)] += w;
        rows[static_cast<std::size_t>(j)][static_cast<treesne::point_t>(i)] += w;
    };
    for (treesne::index_t c = 0; c < clusters; ++c) {
        const treesne::index_t base = c * (size + 1), hub = base + size;
        for (treesne::index_t a = 0; a < size; ++a) {
            for (int e = 0; e < 20; ++e) {
                const auto b = static_cast<treesne::index_t>(rng() % static_cast<std::uint64_t>(size));
                if (b != a) join(base + a, base + b, 1.0);
            }
            join(base + a, hub, 10.0);
        }
    }
    double total = 0;
    for (const auto& row : rows)
        for (const auto& [j, w] : row) total += w;
    treesne::Affinities p;
    p.n = n;
    p.offsets.push_back(0);
    for (const auto& row : rows) {
        for (const auto& [j, w] : row) {
            p.columns.push_back(j);
            p.values.push_back(static_cast<float>(w / total));
        }
        p.offsets.push_back(static_cast<treesne::index_t>(p.columns.size()));
    }
    return p;
}

// The largest distance any point moved in one iteration over the first `iterations` (early
// exaggeration), run one iteration at a time (the same as one run: the schedule depends only on t).
double largest_move(const treesne::Affinities& p, const treesne::Options& options, treesne::index_t iterations) {
    treesne::Session session(p, treesne::testing::random_matrix(p.n, 2, 5, 1e-4), options);
    Matrix before = session.embedding();
    double largest = 0;
    for (treesne::index_t t = 1; t <= iterations; ++t) {
        session.run(t);
        const Matrix& y = session.embedding();
        for (treesne::index_t i = 0; i < p.n; ++i)
            largest = std::max(largest, std::hypot(y(i, 0) - before(i, 0), y(i, 1) - before(i, 1)));
        before = y;
    }
    return largest;
}

}  // namespace

// The lost point of the 10^6-point map (RESULTS.md section 9): under early exaggeration at the learning
// rate N / 12, points with heavy rows of P oscillated with growing amplitude, hundreds of units an
// iteration, and some ended far from their cluster. The default clips every step to 5 (FIt-SNE's and
// openTSNE's max_step_norm); after recentring a point moves at most twice that.
TEST_CASE("optimizer: by default no point moves more than 2 x max_step_norm in an iteration, hubs included") {
    const treesne::Affinities p = hub_affinities(4, 500, 11);
    treesne::Options options;
    options.threads = 2;
    options.optimizer.iterations = 250;
    REQUIRE(options.optimizer.max_step_norm == 5.0);
    CHECK(largest_move(p, options, 250) <= 2 * 5.0 + 1e-9);
    // Without the clip, the hubs of this P fly (about 880 units in one iteration at the time of writing).
    options.optimizer.max_step_norm = 0;
    CHECK(largest_move(p, options, 250) > 50.0);
}
