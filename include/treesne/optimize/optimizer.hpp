// Gradient descent with momentum and per-coordinate gains (van der Maaten 2014, sec. 5; Jacobs 1988):
// the schedule (exaggeration, momentum by iteration), the step, and the optimiser state it changes.
// Separate from Session so that a schedule can change between phases without touching the session.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>

#include "treesne/optimize/observer.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// The mutable part of an optimisation, enough to checkpoint and resume it bit-identically.
struct OptimizerState {
    Matrix y;         ///< current embedding (N x Dim)
    Matrix gains;     ///< per-coordinate gains
    Matrix velocity;  ///< previous update (momentum term)
    index_t iteration = 0;
    /// The theta the Barnes-Hut walk uses now when OptimizerOptions::theta_auto is on (the controller's
    /// last choice); NaN otherwise, or before the controller has run (it then starts from the option).
    double theta = std::numeric_limits<double>::quiet_NaN();
    /// Early stopping (OptimizerOptions::early_stop): the KL at the last check; NaN before the first.
    double stop_kl = std::numeric_limits<double>::quiet_NaN();
    /// Session::affinities_fingerprint() of the P this state was optimised against, so that a resume
    /// over another P is refused (Session::restore); 0 = not recorded (then not checked).
    std::uint64_t affinities_fingerprint = 0;
};

/// The auto controller's search (OptimizerOptions::theta_auto): the largest theta of the grid
/// theta_auto_min, theta_auto_min + theta_auto_step, ..., theta_auto_max whose error(theta) is at most
/// `target`, searched from `current` (snapped to the grid) by single grid steps: down while the error is
/// above the target (stopping at theta_auto_min), else up while it stays within it, at most
/// theta_auto_max_up steps. *error_out receives the error at the theta returned. A target of 0 returns
/// 0 (the exact gradient) without calling error.
double auto_theta_search(double current, double target, const std::function<double(double)>& error,
                         double* error_out = nullptr);

/// Exaggeration factor alpha applied to P at a (0-based) iteration.
double exaggeration_at(const OptimizerOptions& options, index_t iteration);
/// Momentum of the step taken at a (0-based) iteration.
double momentum_at(const OptimizerOptions& options, index_t iteration);
/// The phase an iteration belongs to.
Phase phase_at(const OptimizerOptions& options, index_t iteration);

/// One gradient-descent step on `state` (y, gains, velocity; the iteration count is the caller's), for
/// every coordinate:
///   gain <- gain + gain_increase  if sign(grad) != sign(velocity), with sign(0) = 0 (bhtsne, openTSNE:
///                                 so on the first step, with velocity 0, every gain grows),
///           gain * gain_decrease  otherwise;  then gain >= min_gain;
///   velocity <- momentum * velocity - learning_rate * gain * grad;
/// then each point's velocity is clipped to options.max_step_norm (if > 0) and added to y.
/// Returns false, leaving y updated, when a coordinate of y became non-finite (the run diverged).
/// Throws InvalidArgument unless the embedding has 1, 2 or 3 columns.
bool gradient_step(const OptimizerOptions& options, double learning_rate, double momentum,
                   ConstMatrixView grad, OptimizerState& state, int threads);

/// Subtracts each column's mean from y (t-SNE's cost is translation-invariant; this keeps Y centred).
/// The means are added in a fixed order: the result does not depend on the thread count.
void recentre(MatrixView y, int threads);

}  // namespace treesne
