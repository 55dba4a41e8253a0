// Exact O(N^2) objectives and gradients: the oracle for every approximation, and user-facing methods.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "treesne/core/types.hpp"

namespace treesne {

/// The output kernel of t-SNE with alpha degrees of freedom (Kobak et al. 2019, "Heavy-tailed kernels
/// reveal a finer cluster structure in t-SNE visualisations"): w(d^2) = (1 + d^2/alpha)^-alpha. alpha = 1
/// is t-SNE's Cauchy kernel (1 + d^2)^-1; alpha < 1 has heavier tails (tighter, more separated clusters),
/// alpha -> inf tends to SNE's Gaussian exp(-d^2). A scalar reference evaluation (the exact methods'; the
/// Barnes-Hut kernels evaluate the same functions in vector lanes).
struct StudentKernel {
    double alpha = 1.0;
    /// -log w = alpha log1p(d^2 / alpha) (log1p: accurate however large alpha).
    double minus_log_w(double d2) const { return alpha * std::log1p(d2 / alpha); }
    double w(double d2) const { return std::exp(-minus_log_w(d2)); }
    /// u = w^(1/alpha) = (1 + d^2/alpha)^-1: the attraction's weight; the repulsion's is w u.
    double u(double d2) const { return 1.0 / (1.0 + d2 / alpha); }
};

/// t-SNE: KL(P||Q) with q_ij = w_ij / sum_{k!=l} w_kl, w_ij = (1+|y_i-y_j|^2/dof)^-dof (van der Maaten &
/// Hinton 2008, eq. 4, at dof 1; Kobak et al. 2019). P dense N x N joint (zero diagonal). Sum terms with
/// p_ij = 0 are 0. An embedding beyond 2^100 (scale.hpp), whose squared distances would overflow and Z
/// underflow, is computed in logarithms: finite, the KL of the kernel's power-law tail far out. Throws
/// InvalidArgument unless dof is finite and > 0.
double exact_tsne_kl(const Matrix& p, ConstMatrixView y, int threads = 0, double dof = 1.0);

/// t-SNE gradient dC/dy_i = 4 sum_j (exaggeration * p_ij - q_ij) u_ij (y_i - y_j) with
/// u_ij = w_ij^(1/dof) = (1+|y_i-y_j|^2/dof)^-1 written into grad (N x Dim). Returns KL(P||Q) of the
/// unexaggerated P. Rows are computed independently and the KL is added in a fixed order, so the result
/// does not depend on threads. With want_kl false the KL (a log per pair) is skipped and NaN returned.
/// dof = 1 (t-SNE) costs a division per pair; any other dof a log1p and an exp more.
double exact_tsne_gradient(const Matrix& p, ConstMatrixView y, MatrixView grad, double exaggeration = 1.0,
                           int threads = 0, bool want_kl = true, double dof = 1.0);

/// SNE: sum_i KL(P_i||Q_i), q_{j|i} = exp(-|y_i-y_j|^2) / sum_{k!=i} exp(-|y_i-y_k|^2) (Hinton & Roweis
/// 2002). P dense conditional (row i is P_i, zero diagonal).
double exact_sne_kl(const Matrix& p_conditional, ConstMatrixView y, int threads = 0);

/// SNE gradient dC/dy_i = 2 sum_j (p_{j|i} - q_{j|i} + p_{i|j} - q_{i|j})(y_i - y_j) into grad; P is
/// multiplied by exaggeration first. Returns the unexaggerated KL.
double exact_sne_gradient(const Matrix& p_conditional, ConstMatrixView y, MatrixView grad,
                          double exaggeration = 1.0, int threads = 0);

struct SparseMatrix;

/// Exact t-SNE KL of an embedding against sparse joint affinities: sum over P's entries of
/// p_ij log(p_ij / q_ij), with the exact O(N^2) normaliser Z (computed in blocks, O(N) memory), under the
/// kernel with dof degrees of freedom (see StudentKernel). Embeddings beyond 2^100 as exact_tsne_kl.
double exact_tsne_kl_sparse(const SparseMatrix& p, ConstMatrixView y, int threads = 0, double dof = 1.0);

/// Exact unnormalised repulsion of selected points, the oracle of SpaceTree::repulsion: for the k-th
/// entry i of rows, forces row k = sum_{j != i} w_ij^(1+1/dof) (y_i - y_j) with
/// w_ij = (1 + |y_i - y_j|^2/dof)^-dof (dof 1: w_ij^2 (y_i - y_j), w_ij = (1 + |y_i - y_j|^2)^-1), and,
/// when row_z is not null, row_z[k] = sum_{j != i} w_ij. forces is rows.size() x Dim. Each row is
/// summed over j in index order, so the result does not depend on threads. O(rows.size() N) time (dof
/// != 1: a scalar log1p and exp per pair). Throws InvalidArgument for a row index out of range, a force
/// buffer of the wrong shape or a dof that is not finite and > 0.
void exact_repulsion_rows(ConstMatrixView y, const std::vector<index_t>& rows, MatrixView forces,
                          double* row_z = nullptr, int threads = 0, double dof = 1.0);

/// The relative error ||F - F_exact|| / ||F_exact|| (Euclidean, over the selected rows) of approximate
/// unnormalised repulsive forces `approx` (N x Dim, all points) against exact ones of the rows
/// (rows.size() x Dim, as exact_repulsion_rows writes them). 0 when both are 0.
double relative_force_error(ConstMatrixView approx, const std::vector<index_t>& rows, ConstMatrixView exact);

/// `count` distinct indices of [0, n) drawn with the seed (a partial Fisher-Yates shuffle of the portable
/// Rng), in increasing order; all of [0, n) when count >= n.
std::vector<index_t> seeded_sample(index_t n, index_t count, std::uint64_t seed);

}  // namespace treesne
