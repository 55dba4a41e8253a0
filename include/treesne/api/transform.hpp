// Transform: new points into an existing embedding, the reference held fixed (openTSNE's transform;
// Poličar, Stražar & Zupan 2019). Stages: the new points' nearest reference points, their conditional
// affinities p_{j|i}, a start at the P-weighted mean of their neighbours' positions, and gradient descent
// on the new points alone against the fixed reference.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "treesne/knn/neighbors.hpp"
#include "treesne/optimize/observer.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/types.hpp"

namespace treesne {


/// The new points' affinities: graph row i holds new point i's k = neighbor_count(perplexity, N)
/// nearest reference points (indices into the reference, sorted by distance), and p, in the same
/// layout, the conditional probabilities p_{j|i}, calibrated to the perplexity as the reference's are
/// (conditional_probabilities), each row summing to 1.
struct TransformAffinities {
    NeighborGraph graph;
    std::vector<float> p;
};

/// The perplexity the new points' affinities use: t.perplexity, or auto (see there).
double resolve_perplexity(const TransformOptions& t, const Options& options);

/// Neighbours and affinities of the rows of x_new among the rows of x_ref (both already reduced by any
/// PCA), at resolve_perplexity(t, options) with options.affinities' search settings, options.neighbors'
/// backend (see nearest_neighbors_of: approximate backends search exactly) and options.threads. Data of
/// extreme magnitude is first rescaled by one power of two for both (scale.hpp; the neighbours and p do
/// not change, the graph's distances are those of the rescaled data). Throws InvalidArgument for
/// mismatched columns, non-finite values or a perplexity the reference cannot support.
TransformAffinities transform_affinities(ConstMatrixView x_ref, ConstMatrixView x_new, const Options& options,
                                         const TransformOptions& t = {});

/// The starting position of each new point: per coordinate, the p-weighted median of its neighbours'
/// positions in y_ref (openTSNE's "median" start, weighted; measured better than the weighted mean,
/// which puts a point whose neighbours lie in two clusters between them), plus a seeded jitter of 1e-4
/// times the reference's spread (root mean square distance from its centre), so that new points with
/// the same neighbours do not coincide. M x y_ref.cols; the same for any thread count.
Matrix transform_init(const TransformAffinities& affinities, ConstMatrixView y_ref, std::uint64_t seed,
                      int threads = 0);

/// Gradient descent on the new points from y0 (M x d) against the fixed y_ref (N x d, d = 1, 2 or 3),
/// the optimisation stage of transform() (see there); y0 is typically transform_init's. Throws
/// InvalidArgument for mismatched shapes, NumericalError if the optimisation diverges.
Matrix transform_optimize(const TransformAffinities& affinities, ConstMatrixView y_ref, Matrix y0,
                          const Options& options, const TransformOptions& t = {},
                          const Observer& observer = {});

/// Embeds the rows of x_new (M x D) into y_ref (N x d, d = 1, 2 or 3), the embedding of x_ref (N x D)
/// made with `options`, without moving y_ref: a power-of-two rescaling of data of extreme magnitude and
/// PCA (options.pca_dims > 0: fitted on x_ref, applied to both), as embed() prepared x_ref,
/// transform_affinities, transform_init, then t.iterations of gradient
/// descent on the new points only. Each new point i minimises KL(P_i || Q_i) over the reference points j,
/// with q_{j|i} = w_ij / Z_i, w_ij = (1 + |y_i - y_j|^2)^-1, Z_i = sum_j w_ij (and, with t.repel_new, the
/// other new points in Z_i and the repulsion): gradient 2 (alpha sum_j p_{j|i} w_ij (y_i - y_j) -
/// sum_j w_ij^2 (y_i - y_j) / Z_i), the repulsion by Barnes-Hut at options.optimizer.theta (theta_auto
/// is not used) over a tree built once over y_ref. Under options.optimizer.dof = a != 1 (the reference's
/// kernel, Kobak et al. 2019) w_ij = (1 + |y_i - y_j|^2/a)^-a and each w_ij in the attraction and w_ij^2 in
/// the repulsion above become w_ij^(1/a) and w_ij^(1+1/a). The per-point Z_i (openTSNE's choice) keeps each
/// point's attraction and repulsion in the balance of a converged embedding whatever N and M (the joint
/// Z over all pairs would make the repulsion N times weaker). Gains as options.optimizer's; the
/// learning rate, momentum and schedule from t; options.dims is ignored (d comes from y_ref),
/// options.threads sets the threads, options.seed the jitter, options.report_every the observer's
/// reports (KL: the mean over new points of KL(P_i || Q_i)). Returns M x d; the same bit for bit for
/// any thread count. Throws InvalidArgument naming the mismatch for inconsistent shapes (y_ref rows vs
/// x_ref rows, x_new columns vs x_ref columns, d outside 1-3) or non-finite input, NumericalError if
/// the optimisation diverges.
Matrix transform(ConstMatrixView x_ref, ConstMatrixView y_ref, ConstMatrixView x_new, const Options& options,
                 const TransformOptions& t = {}, const Observer& observer = {});


/// What transform() checks before any work, in one line naming the mismatch: the shapes (y_ref rows vs
/// x_ref rows, x_new columns vs x_ref columns, 1-3 embedding columns, M >= 1), options and t (as
/// validate(Options) checks them for the reference, with the transform's perplexity), finite values.
void validate_transform(ConstMatrixView x_ref, ConstMatrixView y_ref, ConstMatrixView x_new,
                        const Options& options, const TransformOptions& t);

}  // namespace treesne
