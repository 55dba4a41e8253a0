// Barnes-Hut t-SNE gradient: attraction over sparse P, repulsion and Z through a SpaceTree. Each function
// over P takes it packed (PackedAffinities: what a Session holds) or as a SparseMatrix (packed for the
// call, an O(nnz) copy); both give the same bits.
#pragma once

#include <string>
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/affinities/packed.hpp"
#include "treesne/core/collective.hpp"
#include "treesne/tree/space_tree.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// The instruction set of the gradient's kernels in this process, as "kernels: avx2 (...)". A portable
/// build on x86-64 carries baseline (SSE2), AVX2 and AVX-512 copies of them and runs the widest this CPU
/// has, or the one the environment variable TREESNE_SIMD names (baseline, avx2, avx512, auto); all give
/// the same bits. A native build (TREESNE_NATIVE) has one copy, for its own CPU. Throws InvalidArgument
/// where TREESNE_SIMD names an unknown target or one this CPU or build lacks.
std::string simd_kernels();

/// Attractive forces F_i = sum_j p_ij (1+|y_i-y_j|^2/dof)^-1 (y_i - y_j) over P's entries, into out
/// (N x Dim): the weight w^(1/dof) of the kernel w = (1+d^2/dof)^-dof (see StudentKernel; dof 1 is
/// t-SNE's). Throws InvalidArgument if the shapes of P, y and out differ, Dim is not 1, 2 or 3 or dof is
/// not finite and > 0.
void attractive_forces(const SparseMatrix& p, ConstMatrixView y, MatrixView out, int threads,
                       double dof = 1.0);
void attractive_forces(const PackedAffinities& p, ConstMatrixView y, MatrixView out, int threads,
                       double dof = 1.0);

/// Estimate of KL(P||Q) over P's entries with a given normaliser Z: sum p_ij log(p_ij Z / w_ij) with
/// w_ij = (1+|y_i-y_j|^2/dof)^-dof (dof 1: sum p_ij log(p_ij Z (1+|y_i-y_j|^2))).
/// Exact when Z is exact, since q_ij for pairs outside P does not enter the sum (exact_tsne_kl_sparse is
/// this with the exact O(N^2) Z); with Barnes-Hut's Z its error is log(Z_bh / Z), as P sums to 1.
/// Added in a fixed order: the same bit for bit for any thread count. Throws InvalidArgument if P and y
/// differ in their number of points or dof is not finite and > 0.
double sparse_kl(const SparseMatrix& p, ConstMatrixView y, double z, int threads, double dof = 1.0);
double sparse_kl(const PackedAffinities& p, ConstMatrixView y, double z, int threads, double dof = 1.0);
/// The block sums of sparse_kl for its blocks [first_block, last_block) of parallel_sum_block rows:
/// sparse_kl is 0.0 plus all of them in order. For a distributed run's own rows.
std::vector<double> sparse_kl_blocks(const SparseMatrix& p, ConstMatrixView y, double z, int threads, double dof,
                                     index_t first_block, index_t last_block);
std::vector<double> sparse_kl_blocks(const PackedAffinities& p, ConstMatrixView y, double z, int threads, double dof,
                                     index_t first_block, index_t last_block);

/// Wall seconds of the stages of barnes_hut_gradient, added to by each call that is given one.
struct GradientSeconds {
    double tree = 0;        ///< building the 2^Dim-tree
    double repulsion = 0;   ///< the Barnes-Hut walk: repulsive forces and Z
    double attraction = 0;  ///< attractive forces over P, combined with the repulsion into the gradient
    double kl = 0;          ///< the KL estimate, when asked for
    /// barnes_hut_gradient_shared: the part of repulsion spent in the gather (moving the other ranks'
    /// segments, and waiting for the slowest rank)
    double exchange = 0;
};

/// Buffers barnes_hut_gradient reuses from call to call (optional: without one it allocates them).
struct GradientWorkspace {
    Matrix attraction;  ///< N x Dim attractive forces, when they are computed beside the tree build
    std::vector<double> shared;  ///< barnes_hut_gradient_shared: every point's Z_s and force, tree order
    /// barnes_hut_gradient_shared: each rank's walking speed (points a second), smoothed over the
    /// iterations, which sizes its share of the next walk (empty: equal shares). Only the time depends
    /// on it: every point's force and Z are the same whichever rank walks it.
    std::vector<double> walk_speed;
    /// barnes_hut_gradient_shared: each rank's seconds for the attraction of its rows, smoothed the
    /// same way (a rank with costlier rows walks a smaller share).
    std::vector<double> attraction_seconds;
};

/// Bytes of a GradientWorkspace for N points in `dims` dimensions: the N x dims attraction buffer.
double gradient_workspace_bytes(double n, double dims);

/// Up to this many threads, barnes_hut_gradient builds the tree on one thread while the others start
/// on the attraction (parallel_beside): the serial build costs less than the parallel one's
/// synchronisation on a few cores. Beyond it the build is parallel and the attraction follows it.
inline constexpr int tree_beside_max_threads = 4;

/// Whether barnes_hut_gradient's tree sorts through the gradient's buffer (SpaceTree::build's borrowed)
/// instead of 12 bytes a point of its own: where the build runs on one thread (threads, resolved, at most
/// tree_beside_max_threads) and the gradient has 2 or 3 columns (8 dims bytes a point).
inline bool gradient_borrows_sort(int resolved_threads, int dims) {
    return resolved_threads <= tree_beside_max_threads && dims >= 2;
}

/// Full Barnes-Hut gradient dC/dy_i = 4 (exaggeration * F_attr_i - F_rep_i / Z) into grad, rebuilding
/// the tree over y, under the kernel of the tree's dof() (SpaceTree::set_dof; the attraction and the KL
/// use the same). If kl is non-null it receives the KL estimate of the unexaggerated P. Returns Z. The
/// result is the same bit for bit for any thread count and either schedule. With the tree built beside
/// the attraction, `seconds` counts the build as tree and the rest of that phase as attraction.
/// Throws InvalidArgument if P, y and grad are not N x N, N x Dim and N x Dim.
template <int Dim>
double barnes_hut_gradient(const SparseMatrix& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                           double exaggeration, MatrixView grad, int threads, double* kl = nullptr,
                           GradientSeconds* seconds = nullptr, GradientWorkspace* work = nullptr);
template <int Dim>
double barnes_hut_gradient(const PackedAffinities& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                           double exaggeration, MatrixView grad, int threads, double* kl = nullptr,
                           GradientSeconds* seconds = nullptr, GradientWorkspace* work = nullptr);

/// barnes_hut_gradient in a distributed run: P holds this rank's rows only (rows.begin(rank) ..
/// rows.end(rank); the others empty), y the whole embedding (every rank the same). Every rank builds the
/// same tree, computes the attraction of its own rows and walks its share of the tree's leaves, and one
/// gather brings every rank's per-point Z (added in the single process's order), repulsive and attractive
/// forces to every rank, which combines every row: on return grad holds every row, and
/// Z, grad and *kl are bit for bit those of barnes_hut_gradient over the whole P, for any number of ranks
/// and threads. Each rank's rows must start at a multiple of parallel_sum_block (RowPartition).
template <int Dim>
double barnes_hut_gradient_shared(const SparseMatrix& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                                  double exaggeration, MatrixView grad, int threads, Collective& collective,
                                  const RowPartition& rows, double* kl = nullptr, GradientSeconds* seconds = nullptr,
                                  GradientWorkspace* work = nullptr);
template <int Dim>
double barnes_hut_gradient_shared(const PackedAffinities& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                                  double exaggeration, MatrixView grad, int threads, Collective& collective,
                                  const RowPartition& rows, double* kl = nullptr, GradientSeconds* seconds = nullptr,
                                  GradientWorkspace* work = nullptr);
}  // namespace treesne
