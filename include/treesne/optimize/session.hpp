// A resumable optimisation: owns P, the tree, the buffers and the optimiser state (Y, gains, velocity,
// iteration). Running to 250 and then to 1000 gives exactly what running to 1000 gives.
//
// Thread safety: distinct Sessions share nothing and may be used from different threads at once. On one
// Session, the const members (embedding(), state(), history(), iteration(), options(),
// iteration_seconds(), learning_rate(), affinities_fingerprint()) may run concurrently with each other;
// the non-const ones (run(), restore(), set_optimizer(), gradient(), kl(), fingerprint_affinities()) need
// the Session to themselves, as for a standard container. References returned by the const members stay
// valid until the next non-const call.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/affinities/packed.hpp"
#include "treesne/core/collective.hpp"
#include "treesne/optimize/observer.hpp"
#include "treesne/optimize/optimizer.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// Where the iterations' time went: wall seconds per stage, summed over every iteration run so far.
struct IterationSeconds {
    index_t iterations = 0;  ///< iterations these sums cover
    double tree = 0;         ///< barnes_hut: building the 2^Dim-tree
    double repulsion = 0;    ///< barnes_hut: the tree walk (repulsive forces, Z); exact methods: the gradient
    double attraction = 0;   ///< barnes_hut: attractive forces over P, combined into the gradient
    double kl = 0;           ///< the KL estimates of the reports
    double step = 0;         ///< gains, momentum, update, recentring
    double control = 0;      ///< barnes_hut with theta_auto: the controller's error measurements
    double exchange = 0;     ///< distributed runs: the part of repulsion in the gather (and waiting)
};

/// How a call to Session::run ended: `converged` = OptimizerOptions::early_stop found the KL no longer
/// decreasing.
enum class RunStatus { completed, stopped_by_observer, cancelled, converged };

/// One point of the cost history: what a report carried, without the embedding.
struct CostPoint {
    index_t iteration = 0;
    Phase phase = Phase::main;
    double kl = 0;
    double gradient_norm = 0;
    double seconds = 0;
    double theta = 0;
};

namespace detail {
/// Marks a P that treesne built itself (compute_affinities, relabel) or validated already
/// (embed_affinities), so that Session does not check it again: the symmetry check is a binary search per
/// entry, a visible share of a one-thread run (RESULTS.md, section 10.7). Debug builds still assert it.
struct ValidatedAffinities {};
}  // namespace detail

/// Bytes of a session's optimiser state for N points in `dims` dimensions (memory.hpp's model): Y, gains,
/// velocity and the gradient (4 N dims 8; the initial Y becomes Y, a report's embedding in the input's
/// order is written into the gradient, and into_embedding() frees all else before it reorders Y).
/// Barnes-Hut adds the tree (space_tree_bytes) and the gradient's workspace (gradient_workspace_bytes).
/// embedding() and state() of a relabelled session make copies besides (1 and 3 N dims doubles).
double session_bytes(double n, double dims);

class Session {
  public:
    /// Barnes-Hut t-SNE over sparse joint affinities. Options::optimizer.method must be barnes_hut.
    /// P is validated once (validate_affinities: CSR shape, columns in range, finite non-negative values,
    /// symmetric, sums to 1); a defect throws InvalidArgument naming it.
    Session(Affinities p, Matrix initial_y, const Options& options);
    /// The same over P and an initial embedding given in another order than the input's: row r of both
    /// (and P's labels) is input point order[r], a permutation of [0, N). The optimisation runs in that
    /// order (embed() passes locality_order() of the neighbour graph, for cache locality); embedding(),
    /// state(), gradient() and restore() speak the input's order. Throws InvalidArgument if order is not
    /// a permutation of [0, N).
    Session(Affinities p, Matrix initial_y, const Options& options, std::vector<point_t> order);
    /// The same without validating P (see detail::ValidatedAffinities): for treesne's own pipeline.
    Session(Affinities p, Matrix initial_y, const Options& options, std::vector<point_t> order,
            detail::ValidatedAffinities);
    /// The same over P packed already (embed(): symmetrize_packed), so that P is never held unpacked.
    Session(PackedAffinities p, Matrix initial_y, const Options& options, std::vector<point_t> order,
            detail::ValidatedAffinities);
    /// A distributed run's session (core/collective.hpp), one per rank: P holds this rank's rows of the
    /// relabelled P (rows.begin(rank) .. rows.end(rank), global columns; the other rows empty), the
    /// initial embedding and order are whole and the same on every rank. Every rank keeps the whole
    /// state (Y, gains, velocity: O(N dims)) and computes the gradient of its own rows
    /// (barnes_hut_gradient_shared); the ranks exchange the gradient, so every rank takes the same step,
    /// bit for bit the single process's. run(), kl(), gradient(), restore() and the fingerprints are then
    /// collective: every rank calls them in the same order. theta_auto is refused (InvalidArgument).
    /// The collective must outlive the session.
    Session(Affinities own_rows, Matrix initial_y, const Options& options, std::vector<point_t> order,
            Collective& collective, RowPartition rows);
    /// Exact method over a dense matrix: joint P for exact_tsne, conditional P for exact_sne.
    Session(Matrix dense_p, Matrix initial_y, const Options& options);
    ~Session();
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;

    /// Runs gradient descent until `until` iterations have been done in total (capped by nothing else:
    /// the schedule — exaggeration, momentum — depends only on the iteration number). Computes the KL
    /// and reports every options.report_every iterations and at `until` (to the observer, if any, and
    /// to history()); stops early when the observer returns false, when *cancel becomes true (checked
    /// after every iteration), or when early stopping finds the KL converged.
    RunStatus run(index_t until, const Observer& observer = {}, const std::atomic<bool>* cancel = nullptr);

    /// Replaces the schedule (exaggeration, momentum, learning rate, gains, theta, ...) for the following
    /// run() calls, keeping the state (embedding, gains, velocity, iteration): optimisation in phases.
    /// Running in phases gives exactly what one run with the equivalent schedule gives. The method
    /// cannot change. Throws InvalidArgument for invalid options.
    void set_optimizer(const OptimizerOptions& optimizer);

    /// Every report made so far (at the multiples of Options::report_every and at the end of each run()
    /// call), oldest first. Not restored from checkpoints.
    const std::vector<CostPoint>& history() const;

    /// Gradient at the current embedding with the exaggeration of the current iteration (no step taken),
    /// written into grad (N x Dim). Returns the KL estimate.
    double gradient(MatrixView grad);

    /// KL of the current embedding (Barnes-Hut estimate for barnes_hut, exact for the exact methods).
    double kl();

    /// The current embedding (input order). With a relabelled order, a copy made (under a lock, so
    /// concurrent calls are safe) on the first call after the embedding changed: the reference stays
    /// valid until the next run() or restore().
    const Matrix& embedding() const;
    /// Ends the session and returns its embedding (input order): P, the tree and the optimiser's other
    /// buffers are freed first, so that the result never sits beside them (embed() ends this way: at 10^6
    /// points embedding() beside the session held two more N x dims copies at the run's end). The session
    /// is left as a moved-from one: only destruction and assignment remain. `std::move(s).into_embedding()`.
    Matrix into_embedding() &&;
    index_t iteration() const;
    /// The optimiser state (input order; with a relabelled order, a copy as for embedding()). Its
    /// affinities_fingerprint is 0 unless fingerprint_affinities() or restore() recorded it.
    const OptimizerState& state() const;
    /// Replaces the optimiser state (from a checkpoint); shapes must match. A state that records an
    /// affinities fingerprint must have been optimised against this session's P: otherwise throws
    /// InvalidArgument (the data, or an option that shapes P, differs from the run that saved it), since
    /// continuing it would silently give neither run's result. O(nnz) for that check.
    void restore(OptimizerState state);
    /// A 64-bit hash of P as this session holds it (CSR offsets, columns and values in the session's
    /// order; the dense matrix for the exact methods): equal P, equal fingerprints. O(nnz), about 1 ns
    /// per 8 bytes of P, computed on every call (nothing cached).
    std::uint64_t affinities_fingerprint() const;
    /// Records affinities_fingerprint() in state(), unless it holds one already (from an earlier call, or
    /// from restore(), which checked it equal), so that checkpoints made from state() carry it. embed()
    /// calls this when it checkpoints.
    void fingerprint_affinities();
    /// Options::report_every of the options the session was made with: the iterations between reports.
    /// (The session keeps only the options it reads, not a copy of Options, which would hold
    /// init_coordinates.)
    index_t report_every() const;
    /// Wall seconds per stage of the iterations run so far (not restored from checkpoints).
    const IterationSeconds& iteration_seconds() const;
    /// The learning rate in use (the option, or auto resolved for N).
    double learning_rate() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace treesne
