// Principal component analysis (Eigen), for preprocessing X and for the PCA initialisation.
#pragma once

#include <vector>

#include "treesne/core/sparse.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

struct PcaResult {
    Matrix projected;              ///< N x k scores (centred data times components)
    Matrix components;             ///< k x D unit principal axes, largest variance first
    std::vector<double> mean;      ///< D column means
    std::vector<double> variance;  ///< k variances along the axes
};

/// Rows per block of pca()'s column sums and covariance: one D x D partial sum per block, added in block
/// order, so the result does not depend on the thread count.
constexpr index_t pca_block_rows = 2048;

/// Bytes of the large buffers pca() allocates for N points of D dimensions reduced to k: the N x k scores
/// and the per-block covariances, ceil(N / pca_block_rows) D x D doubles (memory.hpp's model).
double pca_bytes(double n, double d, double k);

/// Top-k principal components of x through the D x D covariance (O(N D^2 + D^3)). The covariance is
/// accumulated over fixed row blocks added in order, so the result does not depend on threads. Each
/// axis' sign is fixed so that its largest-magnitude entry is positive.
PcaResult pca(ConstMatrixView x, index_t k, int threads);

/// Top-k principal components of sparse rows, never densified: randomized subspace iteration (k + 10
/// columns, 7 power iterations) on the implicitly centred rows, O(nnz (k + 10)) per pass. The leading
/// axes agree with pca() of the dense rows to working precision where the spectrum decays (tested); the
/// signs are fixed as pca() fixes them. The result does not depend on the thread count or any seed.
/// Memory: pca_sparse_bytes(). Requires 1 <= k <= min(N, D), N >= 2.
PcaResult pca(ConstCsrView x, index_t k, int threads);

/// Bytes of the buffers pca(ConstCsrView, k) allocates for N points of D features.
double pca_sparse_bytes(double n, double d, double k);

/// Scores of other data on a fitted PCA's axes: (x - fit.mean) fit.components^T, M x k (transform: the
/// new points in the reference's PCA space). The same arithmetic as pca()'s own scores, so projecting the
/// fitted data gives fit.projected bit for bit; the result does not depend on threads. Throws
/// InvalidArgument unless x has the fitted data's D columns.
Matrix pca_project(const PcaResult& fit, ConstMatrixView x, int threads);

}  // namespace treesne
