// The auto-theta controller (OptimizerOptions::theta_auto): its grid search, its error estimate against
// the full exact error, E = 0 as the exact gradient, determinism and resumption.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/io/checkpoint.hpp"
#include "treesne/tree/exact.hpp"
#include "treesne/tree/space_tree.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

Options auto_options(int dims, double target) {
    Options o;
    o.dims = dims;
    o.affinities.perplexity = 10;
    o.optimizer.iterations = 300;
    o.optimizer.theta_auto = true;
    o.optimizer.target_error = target;
    o.threads = 2;
    return o;
}

// The full relative repulsion error (every point) of the Barnes-Hut walk at theta on y.
template <int Dim>
double full_error(const Matrix& y, double theta) {
    SpaceTree<Dim> tree;
    tree.build(y, 2);
    Matrix bh(y.rows(), Dim), exact(y.rows(), Dim);
    tree.repulsion(theta, bh.view(), 2);
    std::vector<index_t> all(static_cast<std::size_t>(y.rows()));
    for (index_t i = 0; i < y.rows(); ++i) all[static_cast<std::size_t>(i)] = i;
    exact_repulsion_rows(y, all, exact.view(), nullptr, 2);
    return relative_force_error(bh, all, exact);
}

}  // namespace

TEST_CASE("auto_theta_search: the largest grid theta within the target, found from above and below") {
    // error(theta) = theta^3 / 100: within 1e-3 up to theta = 0.464..., so the answer is 0.45.
    int calls = 0;
    const auto cubic = [&](double theta) {
        ++calls;
        return theta * theta * theta / 100;
    };
    double e = 0;
    CHECK(auto_theta_search(0.45, 1e-3, cubic, &e) == doctest::Approx(0.45));
    CHECK(e == doctest::Approx(0.45 * 0.45 * 0.45 / 100));
    CHECK(auto_theta_search(0.9, 1e-3, cubic) == doctest::Approx(0.45));  // down step by step
    // Up at most theta_auto_max_up steps per search.
    CHECK(auto_theta_search(0.1, 1e-3, cubic) == doctest::Approx(0.1 + theta_auto_max_up * theta_auto_step));
    // Bounds: never below theta_auto_min or above theta_auto_max.
    CHECK(auto_theta_search(0.3, 1e-12, cubic) == doctest::Approx(theta_auto_min));
    CHECK(auto_theta_search(0.95, 1.0, cubic) == doctest::Approx(theta_auto_max));
    // A NaN error counts as too large; target 0 is the exact gradient, without measuring.
    CHECK(auto_theta_search(0.5, 1e-3, [](double) { return std::nan(""); }) == doctest::Approx(theta_auto_min));
    calls = 0;
    CHECK(auto_theta_search(0.5, 0.0, cubic, &e) == 0.0);
    CHECK(calls == 0);
    CHECK(e == 0.0);
}

TEST_CASE_TEMPLATE("auto theta with target 0 is the exact gradient (1e-10) in 1, 2 and 3-D", T, Dim1, Dim2,
                   Dim3) {
    constexpr int dims = T::value;
    const Matrix x = clustered(4, 40, 5, 21);
    const Affinities p = treesne::testing::affinities_of(x, 10);
    const Options o = auto_options(dims, 0.0);
    Session session(p, initial_embedding(x, o), o);
    session.run(60);  // the controller ran at 0 and 50, the map has expanded
    CHECK(session.state().theta == 0.0);
    Matrix grad(x.rows(), dims), exact(x.rows(), dims);
    session.gradient(grad.view());
    exact_tsne_gradient(densify(p), session.embedding(), exact.view(), exaggeration_at(o.optimizer, 60), 2,
                        false);
    CHECK(relative_error(grad, exact) < 1e-10);
}

TEST_CASE("auto theta keeps the full repulsion error near the target; the sample estimate agrees with it") {
    const Matrix x = clustered(8, 250, 10, 5);  // 2,000 points, 8 clusters
    const Affinities p = treesne::testing::affinities_of(x, 10);
    const double target = 0.01;
    const Options o = auto_options(2, target);
    Session session(p, initial_embedding(x, o), o);
    int measured = 0;
    for (index_t t : {100, 300, 500}) {
        session.run(t);
        const Matrix y = session.embedding();  // the controller measures on this at iteration t
        IterationReport last;
        session.run(t + 1, [&](const IterationReport& r) {
            last = r;
            return true;
        });
        CAPTURE(t);
        CAPTURE(last.theta);
        CAPTURE(last.theta_error);
        REQUIRE(std::isfinite(last.theta_error));
        CHECK(last.theta_error <= target);
        const double full = full_error<2>(y, last.theta);
        CAPTURE(full);
        // The sample of 256 points estimates the error of all 2,000 within a factor 2, and the error of
        // the theta chosen stays within twice the target.
        CHECK(full <= 2 * target);
        CHECK(last.theta_error <= 2 * full);
        CHECK(full <= 2 * last.theta_error);
        // theta is the largest on the grid within the target (or the grid's top).
        if (last.theta < theta_auto_max - 1e-12) CHECK(full_error<2>(y, last.theta + theta_auto_step) > 0.5 * target);
        ++measured;
    }
    CHECK(measured == 3);
}

TEST_CASE("auto theta: same embedding for 1 and 2 threads, and a checkpointed run resumes bit for bit") {
    const Matrix x = clustered(4, 60, 6, 9);
    Options o = auto_options(2, 0.005);
    o.threads = 1;
    const Result one = embed(x, o);
    o.threads = 2;
    const Result two = embed(x, o);
    CHECK(one.y == two.y);

    // Through a checkpoint file at iteration 120 (between two controller measurements).
    const Affinities p = treesne::testing::affinities_of(x, 10);
    Session first(p, initial_embedding(x, o), o);
    first.run(120);
    const testing::TempDir dir;
    const std::string path = dir / "auto.ckpt";
    save_checkpoint(path, first.state());
    Session resumed(p, initial_embedding(x, o), o);
    const OptimizerState saved = load_checkpoint(path);
    CHECK(saved.theta == first.state().theta);
    CHECK(std::isfinite(saved.theta));
    resumed.restore(saved);
    first.run(300);
    resumed.run(300);
    CHECK(first.embedding() == resumed.embedding());
}
