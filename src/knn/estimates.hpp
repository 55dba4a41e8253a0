// The brute-force search's float pass (private to src/knn): estimates of squared distances between a
// block of queries and a block of references, each compared at once with its query's selection
// threshold, compiled once per instruction set and chosen once per process (core/simd_target.hpp).
//
// For query q and reference r (rows of the frame, rounded to float; brute.cpp), the estimate is
// |r|^2 + (-2 q . r) in float: the GEMM identity without |q|^2, which is the same for all of a query's
// references. The dot products are accumulated in any order and, in the AVX2 and AVX-512 copies, with
// fused multiply-adds: brute.cpp's error bound holds for any summation order with or without FMA, and its
// exact re-ranking makes the search's result the same bits whatever the estimates are. So the target
// changes how fast the search runs, never what it returns.
//
// The references are stored in panels of estimate_panel_width consecutive positions, transposed
// (coordinate j of the panel's column c at panel[j * estimate_panel_width + c]), so that one vector load
// serves a coordinate of a whole panel; the last panel is padded with zero coordinates and +inf norms,
// whose estimates (+inf) never pass a threshold.
#pragma once

#include <cstddef>
#include <vector>

#include "core/simd_target.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/types.hpp"

namespace treesne::detail {

inline constexpr index_t estimate_panel_width = 16;

/// A candidate of a query's float pass: its estimate and the reference's position.
struct EstimateCandidate {
    float estimate;
    point_t position;
};

/// One block of queries against one block of references, and each query's running selection: its
/// buffer of candidates (the best `keep` estimates so far plus room for keep + estimate_panel_width
/// more), their count and the threshold below which an estimate is appended. When a buffer holds
/// 2 keep or more, a selection keeps the best `keep` and lowers the threshold to the largest of them.
/// The threshold never grows, so every estimate rejected or evicted is at least the final threshold.
struct EstimateScan {
    const float* queries;  // rows x dims, row-major: the block's queries
    const index_t* own;    // per query: the reference position it skips (itself), or -1
    index_t rows;
    index_t dims;
    const float* panels;  // all the reference panels (estimate_panels)
    const float* norms;   // |r|^2 by position, padded to whole panels with +inf
    index_t r0;           // the references [r0, r1): r0 a multiple of estimate_panel_width
    index_t r1;
    EstimateCandidate* buffers;  // query i's at buffers + i * stride
    index_t stride;              // at least 2 keep + estimate_panel_width
    index_t keep;
    index_t* counts;
    float* thresholds;
};

/// The rows of a row-major n x d matrix in transposed panels of `width` columns: coordinate j of row
/// p at panel p / width, offset j * width + p % width; the last panel padded with zeros. The float pass's
/// layout (width estimate_panel_width), and the exact scans' of manhattan and chebyshev (brute.cpp).
template <class Real>
std::vector<Real> transposed_panels(const Real* rows, index_t n, index_t d, index_t width, int threads) {
    const index_t panels = (n + width - 1) / width;
    std::vector<Real> out(static_cast<std::size_t>(panels * width * d), Real{0});
    parallel_for(panels, threads, [&](index_t b0, index_t b1) {
        for (index_t b = b0; b < b1; ++b) {
            Real* panel = out.data() + b * width * d;
            for (index_t c = 0; c < width && b * width + c < n; ++c)
                for (index_t j = 0; j < d; ++j) panel[j * width + c] = rows[(b * width + c) * d + j];
        }
    });
    return out;
}

/// The rows of a row-major n x d float matrix in the float pass's panels (see the comment at the top).
inline std::vector<float> estimate_panels(const float* rows, index_t n, index_t d, int threads) {
    return transposed_panels(rows, n, d, estimate_panel_width, threads);
}

/// Keeps the best `keep` of a buffer's `count` candidates (count > keep); returns the largest kept
/// estimate, the new threshold. The same function in every copy (the order of the kept ones may differ
/// between copies; nothing depends on it).
float keep_best_estimates(EstimateCandidate* buffer, index_t& count, index_t keep);

// The entry of each copy (estimates.inc): appends to each query's buffer the references of [r0, r1)
// whose estimate is below its threshold (its own position excepted), keeping the selection as
// EstimateScan says.
#define TREESNE_ESTIMATE_ENTRIES void scan_estimates(const EstimateScan& scan);
#ifndef TREESNE_SIMD_NS
namespace simd_baseline {
TREESNE_ESTIMATE_ENTRIES
}
namespace simd_avx2 {
TREESNE_ESTIMATE_ENTRIES
}
namespace simd_avx512 {
TREESNE_ESTIMATE_ENTRIES
}
/// simd_target()'s copy.
void scan_estimates(const EstimateScan& scan);
#endif

}  // namespace treesne::detail
