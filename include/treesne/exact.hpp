// Exact O(N^2) objectives and gradients: the oracle for every approximation, and user-facing methods.
#pragma once

#include <cstdint>
#include <vector>

#include "treesne/types.hpp"

namespace treesne {

/// t-SNE: KL(P||Q) with q_ij = (1+|y_i-y_j|^2)^-1 / sum_{k!=l} (1+|y_k-y_l|^2)^-1 (van der Maaten &
/// Hinton 2008, eq. 4). P dense N x N joint (zero diagonal). Sum terms with p_ij = 0 are 0.
double exact_tsne_kl(const Matrix& p, ConstMatrixView y, int threads = 0);

/// t-SNE gradient dC/dy_i = 4 sum_j (exaggeration * p_ij - q_ij)(1+|y_i-y_j|^2)^-1 (y_i - y_j) written
/// into grad (N x Dim). Returns KL(P||Q) of the unexaggerated P. Rows are computed independently and the
/// KL is added in a fixed order, so the result does not depend on threads. With want_kl false the KL
/// (a log per pair) is skipped and NaN returned.
double exact_tsne_gradient(const Matrix& p, ConstMatrixView y, MatrixView grad, double exaggeration = 1.0,
                           int threads = 0, bool want_kl = true);

/// SNE: sum_i KL(P_i||Q_i), q_{j|i} = exp(-|y_i-y_j|^2) / sum_{k!=i} exp(-|y_i-y_k|^2) (Hinton & Roweis
/// 2002). P dense conditional (row i is P_i, zero diagonal).
double exact_sne_kl(const Matrix& p_conditional, ConstMatrixView y, int threads = 0);

/// SNE gradient dC/dy_i = 2 sum_j (p_{j|i} - q_{j|i} + p_{i|j} - q_{i|j})(y_i - y_j) into grad; P is
/// multiplied by exaggeration first. Returns the unexaggerated KL.
double exact_sne_gradient(const Matrix& p_conditional, ConstMatrixView y, MatrixView grad,
                          double exaggeration = 1.0, int threads = 0);

struct SparseMatrix;

/// Exact t-SNE KL of an embedding against sparse joint affinities: sum over P's entries of
/// p_ij log(p_ij / q_ij), with the exact O(N^2) normaliser Z (computed in blocks, O(N) memory).
double exact_tsne_kl_sparse(const SparseMatrix& p, ConstMatrixView y, int threads = 0);

/// Exact unnormalised repulsion of selected points, the oracle of SpaceTree::repulsion: for the k-th
/// entry i of rows, forces row k = sum_{j != i} w_ij^2 (y_i - y_j) with w_ij = (1 + |y_i - y_j|^2)^-1,
/// and, when row_z is not null, row_z[k] = sum_{j != i} w_ij. forces is rows.size() x Dim. Each row is
/// summed over j in index order, so the result does not depend on threads. O(rows.size() N) time.
/// Throws InvalidArgument for a row index out of range or a force buffer of the wrong shape.
void exact_repulsion_rows(ConstMatrixView y, const std::vector<index_t>& rows, MatrixView forces,
                          double* row_z = nullptr, int threads = 0);

/// The relative error ||F - F_exact|| / ||F_exact|| (Euclidean, over the selected rows) of approximate
/// unnormalised repulsive forces `approx` (N x Dim, all points) against exact ones of the rows
/// (rows.size() x Dim, as exact_repulsion_rows writes them). 0 when both are 0.
double relative_force_error(ConstMatrixView approx, const std::vector<index_t>& rows, ConstMatrixView exact);

/// `count` distinct indices of [0, n) drawn with the seed (a partial Fisher-Yates shuffle of the portable
/// Rng), in increasing order; all of [0, n) when count >= n.
std::vector<index_t> seeded_sample(index_t n, index_t count, std::uint64_t seed);

}  // namespace treesne
