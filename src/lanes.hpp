// Fixed-width SIMD values for the interaction kernels (internal; not installed).
//
// Lanes is kLanes doubles as one value (GCC/Clang vector extension): lane-wise arithmetic that the
// compiler maps to AVX-512, to two AVX2 registers or to four SSE2 ones, as the target allows. Each lane
// holds an independent partial sum and the lanes are added in lane order at the end, so the association
// order of every sum is fixed by kLanes alone, never by the instruction set or the thread count.
#pragma once

#include <cstddef>
#include <cstdint>

namespace treesne::detail {

constexpr int kLanes = 8;

using Lanes = double __attribute__((vector_size(kLanes * sizeof(double))));

/// kLanes consecutive doubles from `at` (any alignment).
[[gnu::always_inline]] inline Lanes load(const double* at) {
    Lanes v;
    __builtin_memcpy(&v, at, sizeof v);
    return v;
}

/// kLanes consecutive floats from `at` (any alignment), widened to double.
[[gnu::always_inline]] inline Lanes load(const float* at) {
    using Floats = float __attribute__((vector_size(kLanes * sizeof(float))));
    Floats v;
    __builtin_memcpy(&v, at, sizeof v);
    return __builtin_convertvector(v, Lanes);
}

[[gnu::always_inline]] inline Lanes broadcast(double x) {
    return Lanes{} + x;
}

/// The lanes added in lane order: ((l0 + l1) + l2) + ...
[[gnu::always_inline]] inline double lane_sum(const Lanes& v) {
    double s = 0.0;
    for (int l = 0; l < kLanes; ++l) s += v[l];
    return s;
}

}  // namespace treesne::detail
