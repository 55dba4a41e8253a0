// Axis-aligned bounding boxes of tree points: shared by the tree's build (space_tree.cpp) and its
// repulsion walks (repulsion.cpp). Private to src/tree.
#pragma once

#include "core/simd_namespace.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>

namespace treesne::detail {

TREESNE_SIMD_BEGIN

// Axis-aligned bounding box; empty (lo = +inf, hi = -inf) until something is added.
template <int Dim>
struct Box {
    std::array<double, Dim> lo, hi;

    Box() {
        lo.fill(std::numeric_limits<double>::infinity());
        hi.fill(-std::numeric_limits<double>::infinity());
    }
    void add(const double* y) {
        for (int d = 0; d < Dim; ++d) {
            lo[d] = std::min(lo[d], y[d]);
            hi[d] = std::max(hi[d], y[d]);
        }
    }
    void add(const Box& other) {
        for (int d = 0; d < Dim; ++d) {
            lo[d] = std::min(lo[d], other.lo[d]);
            hi[d] = std::max(hi[d], other.hi[d]);
        }
    }
    // Half the longest side (0 for a single point).
    double half_side() const {
        double half = 0.0;
        for (int d = 0; d < Dim; ++d) half = std::max(half, 0.5 * (hi[d] - lo[d]));
        return half;
    }
};

// Bounding box of rows [begin, end) of a row-major array with Dim columns.
template <int Dim>
inline Box<Dim> bounding_box(const double* rows, std::size_t begin, std::size_t end) {
    Box<Dim> box;
    for (std::size_t s = begin; s < end; ++s) box.add(rows + s * Dim);
    return box;
}

TREESNE_SIMD_END
}  // namespace treesne::detail
