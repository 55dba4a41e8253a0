// Gradient descent with momentum and gains (van der Maaten 2014, sec. 5; Jacobs 1988).
#include "treesne/optimize/optimizer.hpp"

#include <atomic>
#include <cassert>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {
namespace {

// sign(0) = 0, as in bhtsne and openTSNE: a coordinate that has not moved yet agrees with no gradient,
// so the first step grows every gain instead of shrinking the negative-gradient half of them.
inline int sign(double v) {
    return (v > 0) - (v < 0);
}

}  // namespace

double auto_theta_search(double current, double target, const std::function<double(double)>& error,
                         double* error_out) {
    if (!(target > 0)) {
        if (error_out) *error_out = 0.0;
        return 0.0;
    }
    const auto steps = static_cast<int>(std::lround((theta_auto_max - theta_auto_min) / theta_auto_step));
    const auto at = [&](int k) { return theta_auto_min + k * theta_auto_step; };
    int k = std::isfinite(current) ? static_cast<int>(std::lround((current - theta_auto_min) / theta_auto_step))
                                   : 0;
    k = std::clamp(k, 0, steps);
    double e = error(at(k));
    if (!(e <= target)) {  // too coarse (or not a number): finer until within the target
        while (k > 0 && !(e <= target)) e = error(at(--k));
    } else {
        for (int up = 0; up < theta_auto_max_up && k < steps; ++up) {
            const double coarser = error(at(k + 1));
            if (!(coarser <= target)) break;
            ++k;
            e = coarser;
        }
    }
    if (error_out) *error_out = e;
    return at(k);
}

Phase phase_at(const OptimizerOptions& options, index_t iteration) {
    if (iteration < options.exaggeration_iterations) return Phase::early_exaggeration;
    const index_t late_start =
        options.late_exaggeration_start >= 0 ? options.late_exaggeration_start : options.exaggeration_iterations;
    if (options.late_exaggeration != 1.0 && iteration >= late_start) return Phase::late_exaggeration;
    return Phase::main;
}

double exaggeration_at(const OptimizerOptions& options, index_t iteration) {
    switch (phase_at(options, iteration)) {
        case Phase::early_exaggeration:
            return options.exaggeration;
        case Phase::late_exaggeration:
            return options.late_exaggeration;
        case Phase::main:
            break;
    }
    return 1.0;
}

double momentum_at(const OptimizerOptions& options, index_t iteration) {
    const index_t switch_at =
        options.momentum_switch >= 0 ? options.momentum_switch : options.exaggeration_iterations;
    return iteration < switch_at ? options.momentum : options.final_momentum;
}

namespace {

// The gain and velocity of coordinates [first, last) of the flattened rows: the gain grows where the
// gradient's sign differs from the velocity's and shrinks otherwise (a select, not a branch: as a branch
// it mispredicted half the time and cost more than the arithmetic). Every coordinate is independent, so
// the loop vectorises. Moves y by the velocity too when `move` (the unclipped step, in one pass).
template <bool Move>
bool update_velocity(const OptimizerOptions& options, double learning_rate, double momentum, const double* g,
                     OptimizerState& state, std::size_t first, std::size_t last) {
    double* v = state.velocity.data();
    double* gain = state.gains.data();
    double* y = state.y.data();
    constexpr double largest = std::numeric_limits<double>::max();
    int not_finite = 0;
    for (std::size_t e = first; e < last; ++e) {
        const double grown = gain[e] + options.gain_increase, shrunk = gain[e] * options.gain_decrease;
        const double next = sign(g[e]) != sign(v[e]) ? grown : shrunk;
        gain[e] = next < options.min_gain ? options.min_gain : next;
        v[e] = momentum * v[e] - learning_rate * gain[e] * g[e];
        if constexpr (Move) {
            y[e] += v[e];
            not_finite |= !(std::abs(y[e]) <= largest);  // an integer OR: vectorises, unlike isfinite
        }
    }
    return not_finite == 0;
}

// gradient_step over points [begin, end) with the embedding's dimension known at compile time. Returns
// whether every new coordinate is finite.
template <int Dim>
bool step_points(const OptimizerOptions& options, double learning_rate, double momentum, ConstMatrixView grad,
                 OptimizerState& state, index_t begin, index_t end) {
    const std::size_t first = static_cast<std::size_t>(begin) * Dim, last = static_cast<std::size_t>(end) * Dim;
    if (!(options.max_step_norm > 0))
        return update_velocity<true>(options, learning_rate, momentum, grad.data, state, first, last);
    // FIt-SNE's max_step_norm: a point's whole step, not each coordinate, is clipped. The velocities in
    // one vectorised pass, then each row's step clipped and taken: the same arithmetic per coordinate as
    // one pass per row (the same bits), at the flat loop's speed.
    update_velocity<false>(options, learning_rate, momentum, grad.data, state, first, last);
    const double max_step2 = options.max_step_norm * options.max_step_norm;
    constexpr double largest = std::numeric_limits<double>::max();
    int not_finite = 0;
    for (index_t i = begin; i < end; ++i) {
        double* v = state.velocity.row(i);
        double* y = state.y.row(i);
        double step2 = 0.0;
        for (int d = 0; d < Dim; ++d) step2 += v[d] * v[d];
        if (step2 > max_step2) {
            const double f = options.max_step_norm / std::sqrt(step2);
            for (int d = 0; d < Dim; ++d) v[d] *= f;
        }
        for (int d = 0; d < Dim; ++d) {
            y[d] += v[d];
            not_finite |= !(std::abs(y[d]) <= largest);
        }
    }
    return not_finite == 0;
}

}  // namespace

bool gradient_step(const OptimizerOptions& options, double learning_rate, double momentum,
                   ConstMatrixView grad, OptimizerState& state, int threads) {
    const index_t n = state.y.rows();
    const index_t dims = state.y.cols();
    assert(grad.rows == n && grad.cols == dims && state.gains.rows() == n && state.velocity.rows() == n);
    require(dims >= 1 && dims <= 3, "gradient_step: the embedding must have 1, 2 or 3 columns; got ", dims);
    std::atomic<bool> finite{true};
    parallel_for_fixed(n, threads, [&](index_t begin, index_t end) {
        const auto run = dims == 1   ? step_points<1>
                         : dims == 2 ? step_points<2>
                                     : step_points<3>;
        if (!run(options, learning_rate, momentum, grad, state, begin, end))
            finite.store(false, std::memory_order_relaxed);
    });
    return finite.load();
}

void recentre(MatrixView y, int threads) {
    // Column sums per fixed block of rows, then the blocks in order (as parallel_sum does, for all
    // columns in one pass), so the means are the same for any thread count; then one pass subtracts them.
    constexpr index_t block = 4096;
    const index_t blocks = (y.rows + block - 1) / block;
    const auto cols = static_cast<std::size_t>(y.cols);
    std::vector<double> partial(static_cast<std::size_t>(blocks) * cols, 0.0);
    parallel_for(
        blocks, threads,
        [&](index_t b0, index_t b1) {
            for (index_t b = b0; b < b1; ++b) {
                const index_t end = std::min(y.rows, (b + 1) * block);
                for (std::size_t d = 0; d < cols; ++d) {
                    double sum = 0.0;  // a local (a register), not the shared slot: one column at a time
                    for (index_t i = b * block; i < end; ++i) sum += y(i, static_cast<index_t>(d));
                    partial[static_cast<std::size_t>(b) * cols + d] = sum;
                }
            }
        },
        1);
    std::vector<double> mean(cols, 0.0);
    for (index_t b = 0; b < blocks; ++b)
        for (std::size_t d = 0; d < cols; ++d) mean[d] += partial[static_cast<std::size_t>(b) * cols + d];
    for (double& m : mean) m /= static_cast<double>(y.rows);
    parallel_for_fixed(y.rows, threads, [&](index_t begin, index_t end) {
        for (std::size_t d = 0; d < cols; ++d) {
            const double m = mean[d];
            for (index_t i = begin; i < end; ++i) y(i, static_cast<index_t>(d)) -= m;
        }
    });
}

}  // namespace treesne
