// The optimiser step (gains, momentum, clipping) against hand-computed references.
#include <doctest/doctest.h>

#include <cmath>

#include "treesne/exact.hpp"
#include "treesne/optimizer.hpp"
#include "treesne/session.hpp"

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
