// Progress reports. The library never prints; it calls an observer, which may stop the run.
#pragma once

#include <functional>
#include <limits>

#include "treesne/core/types.hpp"

namespace treesne {

/// Which part of the schedule an iteration belongs to.
enum class Phase { early_exaggeration, main, late_exaggeration };

/// What the optimiser reports every Options::report_every iterations and at the last one.
struct IterationReport {
    index_t iteration = 0;  ///< iterations completed so far (1-based count)
    index_t total = 0;      ///< iterations the current run() will reach
    Phase phase = Phase::main;
    double kl = 0.0;           ///< KL(P||Q) of the unexaggerated P (Barnes-Hut estimate for barnes_hut)
    double gradient_norm = 0;  ///< Euclidean norm of the whole gradient (N x Dim)
    double seconds = 0.0;      ///< wall time since the session started optimising
    /// Barnes-Hut: the theta in use; with theta_auto, also the controller's last measured relative
    /// repulsion error on its sample (NaN before the first measurement or without the controller).
    double theta = 0.0;
    double theta_error = std::numeric_limits<double>::quiet_NaN();
    /// The current embedding (N x dims, the input's order), read-only and valid during the call only.
    ConstMatrixView embedding;
};

/// Called with each report; return false to stop the run after this iteration.
using Observer = std::function<bool(const IterationReport&)>;

const char* to_string(Phase phase);

}  // namespace treesne
