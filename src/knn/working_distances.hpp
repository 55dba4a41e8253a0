// nndescent's working distances (private to src/knn), compiled once per instruction set and chosen once
// per process (core/simd_target.hpp).
//
// A panel holds points side by side, transposed: coordinate j of column c at panel[j * stride + c]
// (stride a multiple of kLanes, unused columns zero). out[c] = the sum over j, in order, of
// (a[j] - panel[j, c])^2 (Metric::euclidean, also cosine's and correlation's), of |a[j] - panel[j, c]|
// (manhattan) or their maximum (chebyshev), for the columns c of the lane groups [first, last).
//
// Each lane is one pair, so no lanes are added together, and the copies are compiled without fused
// multiply-adds: every copy does the very same operations on each pair, in the same order, so every
// target gives the same bits, and the working distance of a pair is a pure function of the two points,
// and symmetric (the differences only change sign), as nndescent's rows require (nndescent.cpp).
#pragma once

#include "core/simd_target.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/types.hpp"

namespace treesne::detail {

// The entry of each copy (working_distances.inc): euclidean, manhattan or chebyshev (any other metric is
// computed as euclidean).
#define TREESNE_WORKING_DISTANCE_ENTRIES                                                                      \
    void working_distances(Metric metric, const double* a, const double* panel, index_t stride, index_t d, \
                           index_t first, index_t last, double* out);
#ifndef TREESNE_SIMD_NS
namespace simd_baseline {
TREESNE_WORKING_DISTANCE_ENTRIES
}
namespace simd_avx2 {
TREESNE_WORKING_DISTANCE_ENTRIES
}
namespace simd_avx512 {
TREESNE_WORKING_DISTANCE_ENTRIES
}
/// simd_target()'s copy.
TREESNE_WORKING_DISTANCE_ENTRIES
#endif

}  // namespace treesne::detail
