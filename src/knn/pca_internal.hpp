// The pieces of pca() that a distributed run computes rank by rank (src/dist/): the per-block sums of
// fixed row blocks (pca_block_rows, counted from row 0 of the view given: a rank's rows must start at a
// multiple of pca_block_rows), and the axes from the totals. pca() is these, added in block order.
#pragma once
#include <vector>

#include "treesne/knn/pca.hpp"

namespace treesne::detail {

/// The column sums of each row block of x, block after block: blocks x d values.
std::vector<double> pca_column_sums(ConstMatrixView x, int threads);

/// The Gram matrix (x_b - mean)^T (x_b - mean) of each row block of x (lower triangle; column-major
/// d x d), block after block: blocks x d x d values.
std::vector<double> pca_gram_sums(ConstMatrixView x, const std::vector<double>& mean, int threads);

/// The fit from the column means and the covariance (column-major d x d, lower triangle read): the k
/// leading axes, their variances and the means; projected left empty.
/// v /= divisor, element by element, as pca() divides its sums (Eigen's operator/=).
void pca_divide(std::vector<double>& v, double divisor);

PcaResult pca_axes(const std::vector<double>& mean, const std::vector<double>& covariance, index_t k);

}  // namespace treesne::detail
