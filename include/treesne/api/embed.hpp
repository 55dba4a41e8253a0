// The one-call façade: embed() runs the whole pipeline on coordinates; embed_neighbors(),
// embed_affinities() and embed_distances() start from a precomputed stage.
//
//   treesne::Options options;               // documented defaults
//   options.affinities.perplexity = 30;
//   treesne::Result r = treesne::embed(x, options);   // x: N x D ConstMatrixView or Matrix
//   // r.y is N x options.dims
//   treesne::Result r = treesne::embed_affinities(p, options);        // P from another tool
//   treesne::Result r = treesne::embed_neighbors(graph, options);     // a kNN graph, calibrated as usual
//   treesne::Result r = treesne::embed_distances(d, options);         // a dense N x N distance matrix
//
// Power users call the stages themselves: nearest_neighbors -> compute_affinities -> initial_embedding
// -> Session(P, Y0, options).run(until, observer).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/core/types.hpp"
#include "treesne/knn/graph.hpp"
#include "treesne/optimize/observer.hpp"
#include "treesne/optimize/session.hpp"

namespace treesne {

/// Wall time of each stage, in seconds.
struct Timings {
    double pca = 0, neighbors = 0, affinities = 0, init = 0, optimize = 0, total = 0;
    IterationSeconds iteration;  ///< the optimisation's time per stage of an iteration
};

/// What embed() returns.
struct Result {
    Matrix y;                ///< N x dims embedding
    double kl = 0;           ///< final KL (Barnes-Hut estimate, or exact for the exact methods)
    index_t iterations = 0;  ///< iterations done
    RunStatus status = RunStatus::completed;
    KnnBackend backend = KnnBackend::automatic;  ///< backend actually used
    double learning_rate = 0;                    ///< learning rate actually used
    Affinities affinities;                       ///< sparse P if Callbacks::keep_affinities (barnes_hut only)
    std::vector<CostPoint> history;              ///< every report of the optimisation (Session::history)
    Timings timings;
};

/// Optional hooks of embed().
struct Callbacks {
    Observer observer;                                                         ///< iteration reports
    std::function<void(const std::string& stage, double seconds)> stage_done;  ///< after each stage
    std::function<void(const std::string& stage)> stage_start;                 ///< before each stage
    /// During a long stage (today the neighbour search), from the calling thread: the fraction done.
    std::function<void(const std::string& stage, double fraction)> stage_progress;
    const std::atomic<bool>* cancel = nullptr;  ///< set to stop after an iteration
    bool keep_affinities = false;  ///< copy sparse P into Result::affinities (costs its memory twice)

    /// Called with the optimiser state after every iteration that is a multiple of checkpoint_every and
    /// after the last one (not when the run is cancelled or stopped). The run goes in segments between
    /// these points, which gives exactly the result of one uninterrupted run (Session guarantees it).
    std::function<void(const OptimizerState&)> checkpoint;
    /// Iterations between checkpoint calls (> 0).
    index_t checkpoint_every = 100;
    /// Continue from this state (a checkpoint of a run with the same data and options) instead of
    /// initialising: P is computed again from x, then the optimisation goes on from state.iteration to
    /// options.optimizer.iterations, bit-identical to the run that saved it (none when the state is already
    /// there or beyond). Must be N x options.dims. A state that records an affinities fingerprint (those
    /// embed() passes to `checkpoint` do) is refused with InvalidArgument unless this run's P is the same.
    const OptimizerState* resume_from = nullptr;
    /// Bytes of memory the run may use; nullopt = what the machine has now (available_memory()). embed()
    /// refuses with a NumericalError, before its large allocations, when estimate_memory() exceeds it;
    /// +infinity turns the check off.
    std::optional<double> memory_limit_bytes;
};

/// Embeds the rows of x (N x D, finite) following options: optional PCA, neighbours, affinities,
/// initialisation, optimisation. Throws InvalidArgument for bad options, too few points or non-finite
/// input, and NumericalError when the run would need more memory than is available (estimate_memory).
/// Duplicate and constant points are fine. Inputs whose largest |value| lies outside [2^-100, 2^100] are
/// first multiplied by a power of two (a copy; exact, so the neighbours and P are those of the original
/// data) so that squared distances neither overflow nor underflow.
Result embed(ConstMatrixView x, const Options& options, const Callbacks& callbacks);
/// The same, taking the input over: it is freed (with its PCA copy) once the neighbours and the initial
/// embedding are computed, before P is built, which lowers the peak memory by N x D doubles.
Result embed(Matrix&& x, const Options& options, const Callbacks& callbacks);
Result embed(ConstMatrixView x, const Options& options, const Observer& observer = {});

/// Embeds sparse rows (CSR: text, counts, fingerprints), never densified: the neighbours by the sparse
/// search (nearest_neighbors(ConstCsrView): euclidean, cosine, jaccard, hamming; the graph the dense rows
/// would give, bit for bit), the PCA initialisation by the sparse PCA; with options.pca_dims the sparse
/// PCA reduces the rows to D' dense columns first and the dense pipeline goes on from them (any metric).
/// Values beyond 2^+-100 are scaled by a power of two first, as embed() does. Barnes-Hut only. Throws
/// InvalidArgument for rows that break CsrMatrix's invariants, a metric the sparse search lacks, and what
/// embed() refuses; NumericalError when estimate_memory_sparse() exceeds the memory available.
Result embed(ConstCsrView x, const Options& options, const Callbacks& callbacks = {});
/// The same, taking the rows over: freed once the neighbours and the initial embedding are computed.
Result embed(CsrMatrix&& x, const Options& options, const Callbacks& callbacks = {});

/// Throws InvalidArgument naming the first non-finite entry (row, column) of x.
void require_finite(ConstMatrixView x, const char* what = "input");

/// Embeds a neighbour graph: calibration (options.affinities), symmetrisation, initialisation, the
/// optimisation, as embed() does after its search. The graph is validated (validate_neighbor_graph, with
/// its distances) before anything else runs. Initialisation: InitKind::random or user, or pca of
/// `coordinates` when given (N rows; options.pca_dims applies as in embed()). Barnes-Hut only.
Result embed_neighbors(NeighborGraph graph, const Options& options, const Callbacks& callbacks = {},
                       ConstMatrixView coordinates = {});

/// Embeds joint affinities P, which must be valid (validate_affinities; make a user's matrix valid with
/// prepare_affinities()): no neighbours, no calibration. Initialisation as embed_neighbors(). With the P
/// that embed() computed (Callbacks::keep_affinities, or --save-affinities) and the same options and
/// coordinates, the embedding is embed()'s, bit for bit.
Result embed_affinities(Affinities p, const Options& options, const Callbacks& callbacks = {},
                        ConstMatrixView coordinates = {});

/// validate(options, n, d) for a run from a given P of n points (embed_affinities checks with it): nothing
/// is calibrated, so the affinity options, whatever they are, do not limit n; t-SNE still needs n >= 3
/// ("SOURCE: t-SNE from a given P needs at least 3 points; got 2"; `source` names P). InvalidArgument.
void validate_given_affinities(Options options, index_t n, index_t d, const std::string& source);

/// Embeds points given by a dense N x N distance matrix: neighbors_from_distances with
/// neighbor_count(options.affinities, N), then embed_neighbors (init random or user).
Result embed_distances(ConstMatrixView distances, const Options& options, const Callbacks& callbacks = {});

namespace detail {
/// A stage of a pipeline: reports its start and, at done(), its wall seconds into `slot` and to the
/// callbacks.
class Stage {
  public:
    Stage(const Callbacks& callbacks, const char* name, double& slot)
        : callbacks_(callbacks), name_(name), slot_(slot), start_(std::chrono::steady_clock::now()) {
        if (callbacks_.stage_start) callbacks_.stage_start(name_);
    }
    void done() {
        slot_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        if (callbacks_.stage_done) callbacks_.stage_done(name_, slot_);
    }

  private:
    const Callbacks& callbacks_;
    std::string name_;
    double& slot_;
    std::chrono::steady_clock::time_point start_;
};

/// embed()'s optimisation of a made Session into result (resume, checkpoints in segments, the history,
/// the KL, timings and the embedding, which ends the session: Session::into_embedding), for other
/// pipelines over the same Session (src/dist/).
void optimise_session(Session&& session, const Options& options, const Callbacks& callbacks, Result& result,
                      std::chrono::steady_clock::time_point start);
/// require_finite's message for a non-finite value v of `what` at 0-based row i, column j.
std::string non_finite_message(const char* what, double v, index_t i, index_t j);
}  // namespace detail

}  // namespace treesne
