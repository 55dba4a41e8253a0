// Quality measures of an embedding, for `treesne evaluate` and the benchmarks.
#pragma once

#include <vector>

#include "treesne/core/options.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// Mean fraction of each point's k nearest neighbours in x (by `metric`) that are also among its k
/// nearest in y (Euclidean). Here and below, x and y of extreme magnitude (beyond 2^+-100) are first
/// rescaled by a power of two (scale.hpp), which changes no rank, so that no squared distance overflows
/// or underflows.
double knn_preservation(ConstMatrixView x, ConstMatrixView y, index_t k, int threads,
                        Metric metric = Metric::euclidean);

/// Trustworthiness (Venna & Kaski 2001) with k neighbours, computed exactly for up to max_queries points
/// (an evenly spaced sample when N is larger; every point when max_queries <= 0 or >= N). Ranks in x
/// by `metric` (cosine: refuses an all-zero row), in y Euclidean.
double trustworthiness(ConstMatrixView x, ConstMatrixView y, index_t k, int threads,
                       index_t max_queries = 5000, Metric metric = Metric::euclidean);

/// Leave-one-out accuracy of a k-nearest-neighbour majority vote (ties to the smallest label) in y.
double knn_accuracy(ConstMatrixView y, const std::vector<int>& labels, index_t k, int threads);

}  // namespace treesne
