// treesne: Barnes-Hut t-SNE. The umbrella header and the one-call facade.
//
//   treesne::Options options;               // documented defaults
//   options.affinities.perplexity = 30;
//   treesne::Result r = treesne::embed(x, options);   // x: N x D ConstMatrixView or Matrix
//   // r.y is N x options.dims
//
// Power users call the stages themselves: nearest_neighbors -> compute_affinities -> initial_embedding
// -> Session(P, Y0, options).run(until, observer).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "treesne/affinities.hpp"
#include "treesne/errors.hpp"
#include "treesne/exact.hpp"
#include "treesne/init.hpp"
#include "treesne/metrics.hpp"
#include "treesne/neighbors.hpp"
#include "treesne/observer.hpp"
#include "treesne/options.hpp"
#include "treesne/pca.hpp"
#include "treesne/session.hpp"
#include "treesne/types.hpp"
#include "treesne/version.hpp"

namespace treesne {

/// Wall time of each stage, in seconds.
struct Timings {
    double pca = 0, neighbors = 0, affinities = 0, init = 0, optimize = 0, total = 0;
};

/// What embed() returns.
struct Result {
    Matrix y;                     ///< N x dims embedding
    double kl = 0;                ///< final KL (Barnes-Hut estimate, or exact for the exact methods)
    index_t iterations = 0;       ///< iterations done
    RunStatus status = RunStatus::completed;
    KnnBackend backend = KnnBackend::automatic;  ///< backend actually used
    double learning_rate = 0;     ///< learning rate actually used
    Affinities affinities;        ///< sparse P if Callbacks::keep_affinities (barnes_hut only)
    Timings timings;
};

/// Optional hooks of embed().
struct Callbacks {
    Observer observer;                                                   ///< iteration reports
    std::function<void(const std::string& stage, double seconds)> stage_done;  ///< after each stage
    std::function<void(const std::string& stage)> stage_start;                   ///< before each stage
    const std::atomic<bool>* cancel = nullptr;                           ///< set to stop after an iteration
    bool keep_affinities = false;  ///< copy sparse P into Result::affinities (costs its memory twice)
};

/// Embeds the rows of x (N x D, finite) following options: optional PCA, neighbours, affinities,
/// initialisation, optimisation. Throws InvalidArgument for bad options or too few points.
Result embed(ConstMatrixView x, const Options& options, const Callbacks& callbacks);
Result embed(ConstMatrixView x, const Options& options, const Observer& observer = {});

/// Throws InvalidArgument naming the first non-finite entry (row, column) of x.
void require_finite(ConstMatrixView x, const char* what = "input");

}  // namespace treesne
