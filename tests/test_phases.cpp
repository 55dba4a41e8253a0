// Optimisation in phases: schedules changed between run() calls, late exaggeration, the momentum switch,
// the observer's view of the embedding, the cost history and early stopping.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/io/checkpoint.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

Options phase_options(index_t iterations) {
    Options o = quick_options(iterations);
    o.optimizer.learning_rate = 100.0;  // fixed: auto depends on the exaggeration, which phases change
    return o;
}

}  // namespace

TEST_CASE("schedule: late exaggeration and the momentum switch by iteration") {
    OptimizerOptions o;
    CHECK(exaggeration_at(o, 249) == 12.0);
    CHECK(exaggeration_at(o, 250) == 1.0);
    CHECK(momentum_at(o, 249) == 0.5);
    CHECK(momentum_at(o, 250) == 0.8);
    CHECK(phase_at(o, 900) == Phase::main);
    o.late_exaggeration = 4.0;  // from the end of early exaggeration
    CHECK(exaggeration_at(o, 250) == 4.0);
    CHECK(phase_at(o, 250) == Phase::late_exaggeration);
    o.late_exaggeration_start = 700;
    CHECK(exaggeration_at(o, 699) == 1.0);
    CHECK(exaggeration_at(o, 700) == 4.0);
    CHECK(std::string(to_string(phase_at(o, 700))) == "late exaggeration");
    o.momentum_switch = 100;
    CHECK(momentum_at(o, 99) == 0.5);
    CHECK(momentum_at(o, 100) == 0.8);
    CHECK(exaggeration_at(o, 100) == 12.0);  // the switch does not move the exaggeration

    Options bad;
    bad.optimizer.late_exaggeration = 0;
    CHECK_THROWS_WITH_AS(validate(bad, -1, -1), "late exaggeration must be > 0 (1 = off); got 0", InvalidArgument);
    bad = Options();
    bad.optimizer.late_exaggeration = 2;
    bad.optimizer.late_exaggeration_start = 100;
    CHECK_THROWS_AS(validate(bad, -1, -1), InvalidArgument);  // inside early exaggeration
    bad = Options();
    bad.optimizer.momentum_switch = -2;
    CHECK_THROWS_AS(validate(bad, -1, -1), InvalidArgument);
    bad = Options();
    bad.optimizer.early_stop = 1.0;
    CHECK_THROWS_AS(validate(bad, -1, -1), InvalidArgument);
}

TEST_CASE("running in phases gives exactly the one-call schedule") {
    const Matrix x = clustered(4, 50, 8, 31);
    const Affinities p = affinities_of(x, 10);
    const Options whole = phase_options(500);
    Session one(p, initial_embedding(x, whole), whole);
    one.run(500);

    // Phase 1: exaggeration 12 and momentum 0.5 throughout; phase 2: none and 0.8 from its start.
    Options first = whole;
    first.optimizer.exaggeration_iterations = 1000;
    first.optimizer.momentum_switch = 1000;
    Session phased(p, initial_embedding(x, first), first);
    phased.run(250);
    OptimizerOptions second = first.optimizer;
    second.exaggeration_iterations = 0;
    second.momentum_switch = 0;
    phased.set_optimizer(second);
    phased.run(500);
    CHECK(phased.embedding() == one.embedding());

    // Late exaggeration switched on between phases equals late exaggeration scheduled from the start.
    Options late = whole;
    late.optimizer.late_exaggeration = 3.0;
    late.optimizer.late_exaggeration_start = 350;
    Session scheduled(p, initial_embedding(x, late), late);
    scheduled.run(500);
    Session switched(p, initial_embedding(x, whole), whole);
    switched.run(350);
    switched.set_optimizer(late.optimizer);
    switched.run(500);
    CHECK(switched.embedding() == scheduled.embedding());
    CHECK(!(scheduled.embedding() == one.embedding()));  // and it does change the result

    OptimizerOptions other = whole.optimizer;
    other.method = Method::exact_tsne;
    CHECK_THROWS_AS(one.set_optimizer(other), InvalidArgument);
    other = whole.optimizer;
    other.momentum = 1.5;
    CHECK_THROWS_AS(one.set_optimizer(other), InvalidArgument);
}

TEST_CASE("late exaggeration tightens clusters") {
    std::vector<int> labels;
    const Matrix x = clustered(5, 60, 10, 8, 10.0, &labels);
    Options o = phase_options(700);
    const Result plain = embed(x, o);
    o.optimizer.late_exaggeration = 4.0;
    o.optimizer.late_exaggeration_start = 500;
    const Result late = embed(x, o);
    // Mean distance to the cluster's centroid relative to the embedding's overall spread.
    auto relative_spread = [&](const Matrix& y) {
        std::vector<double> cx(5, 0), cy(5, 0), count(5, 0);
        double gx = 0, gy = 0;
        for (index_t i = 0; i < y.rows(); ++i) {
            const auto c = static_cast<std::size_t>(labels[static_cast<std::size_t>(i)]);
            cx[c] += y(i, 0);
            cy[c] += y(i, 1);
            count[c] += 1;
            gx += y(i, 0);
            gy += y(i, 1);
        }
        gx /= static_cast<double>(y.rows());
        gy /= static_cast<double>(y.rows());
        double within = 0, overall = 0;
        for (index_t i = 0; i < y.rows(); ++i) {
            const auto c = static_cast<std::size_t>(labels[static_cast<std::size_t>(i)]);
            within += std::hypot(y(i, 0) - cx[c] / count[c], y(i, 1) - cy[c] / count[c]);
            overall += std::hypot(y(i, 0) - gx, y(i, 1) - gy);
        }
        return within / overall;
    };
    CAPTURE(relative_spread(plain.y));
    CAPTURE(relative_spread(late.y));
    CHECK(relative_spread(late.y) < 0.8 * relative_spread(plain.y));
}

TEST_CASE("the observer sees the embedding in the input's order; the history has every report") {
    const Matrix x = clustered(4, 60, 8, 12);
    Options o = phase_options(300);
    o.report_every = 50;
    Matrix last;
    std::vector<index_t> seen;
    std::vector<IterationReport> reports;
    Callbacks callbacks;
    callbacks.observer = [&](const IterationReport& r) {
        REQUIRE(r.embedding.rows == x.rows());
        REQUIRE(r.embedding.cols == 2);
        last = Matrix(r.embedding);
        seen.push_back(r.iteration);
        reports.push_back(r);
        return true;
    };
    const Result result = embed(x, o, callbacks);  // relabelled internally: the view must not be
    CHECK(last == result.y);
    REQUIRE(result.history.size() == 6);
    REQUIRE(reports.size() == 6);
    // The history is the reports, field by field, with the optimisation's time accumulating.
    for (std::size_t k = 0; k < 6; ++k) {
        CAPTURE(k);
        const CostPoint& h = result.history[k];
        CHECK(h.iteration == static_cast<index_t>(50 * (k + 1)));
        CHECK(h.iteration == reports[k].iteration);
        CHECK(h.phase == reports[k].phase);
        CHECK(h.kl == reports[k].kl);
        CHECK(h.gradient_norm == reports[k].gradient_norm);
        CHECK(h.seconds == reports[k].seconds);
        CHECK(h.theta == reports[k].theta);
        CHECK(h.seconds >= (k > 0 ? result.history[k - 1].seconds : 0.0));
    }
    CHECK(result.history.front().phase == Phase::early_exaggeration);
    CHECK(result.history.back().phase == Phase::main);
    CHECK(result.history.back().kl < result.history[2].kl);  // the KL fell after exaggeration
    CHECK(seen == std::vector<index_t>{50, 100, 150, 200, 250, 300});
    // Without an observer the history is kept all the same.
    CHECK(embed(x, o).history.size() == 6);
}

TEST_CASE("early stopping ends a converged run, at the same iteration when resumed from a checkpoint") {
    const Matrix x = clustered(4, 60, 8, 44);
    Options o = phase_options(3000);
    const Result full = embed(x, o);
    o.optimizer.early_stop = 1e-3;
    const Result stopped = embed(x, o);
    CAPTURE(stopped.iterations);
    CHECK(stopped.status == RunStatus::converged);
    CHECK(stopped.iterations < 3000);
    CHECK(stopped.iterations > o.optimizer.exaggeration_iterations + early_stop_window);
    CHECK(stopped.iterations % early_stop_window == 0);
    // The last window improved the KL by less than the tolerance.
    const auto& h = stopped.history;
    REQUIRE(h.size() >= 2);
    // Stopping costs little: the final KL is within 2 % of the full run's.
    CHECK(stopped.kl < 1.02 * full.kl);

    // Checkpointed segments stop at the same iteration with the same embedding, and so does a session
    // restored from a checkpoint written before the stop.
    std::vector<OptimizerState> saved;
    const Result segmented = embed(x, o, saving_checkpoints(saved, 70));
    CHECK(segmented.iterations == stopped.iterations);
    CHECK(segmented.y == stopped.y);
    REQUIRE(saved.size() >= 5);
    const OptimizerState& middle = saved[saved.size() / 2 + 1];
    REQUIRE(std::isfinite(middle.stop_kl));
    const testing::TempDir dir;
    const std::string path = dir / "stop.ckpt";
    save_checkpoint(path, middle);
    Callbacks resume;
    const OptimizerState loaded = load_checkpoint(path);
    CHECK(loaded.stop_kl == middle.stop_kl);
    resume.resume_from = &loaded;
    const Result resumed = embed(x, o, resume);
    CHECK(resumed.iterations == stopped.iterations);
    CHECK(resumed.y == stopped.y);
    // The stop reports its iteration, on the report cadence or not.
    CHECK(stopped.history.back().iteration == stopped.iterations);

    // Late exaggeration raises the plain KL on purpose: no check (so no stop) during it.
    o.optimizer.iterations = 700;
    o.optimizer.late_exaggeration = 4.0;
    o.optimizer.late_exaggeration_start = 400;
    o.optimizer.early_stop = 5e-3;
    const Result late = embed(x, o);
    CHECK(late.iterations == 700);
    CHECK(late.status == RunStatus::completed);
}
