// Gradient descent with momentum and gains (van der Maaten 2014, sec. 5; Jacobs 1988).
#include "treesne/optimizer.hpp"

#include <atomic>
#include <cassert>
#include <cmath>

#include "treesne/parallel.hpp"

namespace treesne {
namespace {

// sign(0) = 0, as in bhtsne and openTSNE: a coordinate that has not moved yet agrees with no gradient,
// so the first step grows every gain instead of shrinking the negative-gradient half of them.
inline int sign(double v) {
    return (v > 0) - (v < 0);
}

}  // namespace

Phase phase_at(const OptimizerOptions& options, index_t iteration) {
    return iteration < options.exaggeration_iterations ? Phase::early_exaggeration : Phase::main;
}

double exaggeration_at(const OptimizerOptions& options, index_t iteration) {
    return phase_at(options, iteration) == Phase::early_exaggeration ? options.exaggeration : 1.0;
}

double momentum_at(const OptimizerOptions& options, index_t iteration) {
    return phase_at(options, iteration) == Phase::early_exaggeration ? options.momentum
                                                                     : options.final_momentum;
}

bool gradient_step(const OptimizerOptions& options, double learning_rate, double momentum,
                   ConstMatrixView grad, OptimizerState& state, int threads) {
    const index_t n = state.y.rows();
    const index_t dims = state.y.cols();
    assert(grad.rows == n && grad.cols == dims && state.gains.rows() == n && state.velocity.rows() == n);
    const double max_step2 = options.max_step_norm * options.max_step_norm;
    std::atomic<bool> finite{true};
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        bool block_finite = true;
        for (index_t i = begin; i < end; ++i) {
            const double* g = grad.row(i);
            double* v = state.velocity.row(i);
            double* gain = state.gains.row(i);
            double step2 = 0.0;
            for (index_t d = 0; d < dims; ++d) {
                gain[d] = sign(g[d]) != sign(v[d]) ? gain[d] + options.gain_increase
                                                   : gain[d] * options.gain_decrease;
                if (gain[d] < options.min_gain) gain[d] = options.min_gain;
                v[d] = momentum * v[d] - learning_rate * gain[d] * g[d];
                step2 += v[d] * v[d];
            }
            // FIt-SNE's max_step_norm: a point's whole step, not each coordinate, is clipped.
            if (options.max_step_norm > 0 && step2 > max_step2) {
                const double f = options.max_step_norm / std::sqrt(step2);
                for (index_t d = 0; d < dims; ++d) v[d] *= f;
            }
            double* y = state.y.row(i);
            for (index_t d = 0; d < dims; ++d) {
                y[d] += v[d];
                block_finite = block_finite && std::isfinite(y[d]);
            }
        }
        if (!block_finite) finite.store(false, std::memory_order_relaxed);
    });
    return finite.load();
}

void recentre(MatrixView y, int threads) {
    for (index_t d = 0; d < y.cols; ++d) {
        const double sum = parallel_sum(y.rows, threads, [&](index_t begin, index_t end) {
            double s = 0.0;
            for (index_t i = begin; i < end; ++i) s += y(i, d);
            return s;
        });
        const double mean = sum / static_cast<double>(y.rows);
        parallel_for(y.rows, threads, [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) y(i, d) -= mean;
        });
    }
}

}  // namespace treesne
