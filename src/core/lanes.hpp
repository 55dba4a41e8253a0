// Fixed-width SIMD values for the interaction kernels (internal; not installed).
//
// Lanes is kLanes doubles as one value (GCC/Clang vector extension): lane-wise arithmetic that the
// compiler maps to AVX-512, to two AVX2 registers or to four SSE2 ones, as the target allows. Each lane
// holds an independent partial sum and the lanes are added in lane order at the end, so the association
// order of every sum is fixed by kLanes alone, never by the instruction set or the thread count.
#pragma once

#include "simd_namespace.hpp"

#include <cstddef>
#include <cstdint>

namespace treesne::detail {

TREESNE_SIMD_BEGIN

constexpr int kLanes = 8;

using Lanes = double __attribute__((vector_size(kLanes * sizeof(double))));

/// The same 64 bytes as 2 kLanes floats (the single-precision repulsion kernels).
using FloatLanes = float __attribute__((vector_size(kLanes * sizeof(double))));

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

/// How many lanes this target computes in one register: a kernel may run a Lanes as kParts parts of
/// kPartLanes lanes (Part<double>, or Part<float> of twice as many floats), each lane the very same
/// operations in the same order, so the bits do not change. One register each: 8 doubles with AVX-512,
/// 4 with AVX and AVX2, 2 with SSE2 (and NEON). GCC lowers a whole 64-byte vector on AVX2 through the
/// stack (16-byte stores read back as 32-byte loads, which the CPU cannot forward): Fashion-MNIST
/// 20,000's repulsion took 10.0 ms a pass that way, against 4.0 ms in parts of 4. The per-target kernel
/// files (src/tree/simd_*.cpp) say it in TREESNE_SIMD_PART_LANES: `#pragma GCC target` does not define
/// __AVX__ and the like in C++ (GCC reads all macros before any pragma).
#if defined(TREESNE_SIMD_PART_LANES)
constexpr int kPartLanes = TREESNE_SIMD_PART_LANES;
#elif defined(__AVX512F__)
constexpr int kPartLanes = 8;
#elif defined(__AVX__)
constexpr int kPartLanes = 4;
#else
constexpr int kPartLanes = 2;
#endif
constexpr int kParts = kLanes / kPartLanes;
template <class Real>
struct PartOf;
template <>
struct PartOf<double> {
    using type = double __attribute__((vector_size(kPartLanes * sizeof(double))));
};
template <>
struct PartOf<float> {
    using type = float __attribute__((vector_size(kPartLanes * sizeof(double))));
};
template <class Real>
using Part = typename PartOf<Real>::type;

/// The 64-bit integer vector as wide as a vector of doubles of `Bytes` bytes (a Part or a Lanes).
template <std::size_t Bytes>
struct BitsOf;
template <>
struct BitsOf<16> {
    using type = std::int64_t __attribute__((vector_size(16)));
};
template <>
struct BitsOf<32> {
    using type = std::int64_t __attribute__((vector_size(32)));
};
template <>
struct BitsOf<64> {
    using type = std::int64_t __attribute__((vector_size(64)));
};

/// Natural logarithm of each lane (of a Lanes or a Part<double>), for positive normal finite lanes (the caller handles any other). Written
/// out, because std::log does not vectorise without -ffast-math: x = 2^e m with m in [sqrt(1/2),
/// sqrt(2)), log m = 2 atanh(s) = 2 (s + s^3/3 + ... + s^21/21) with s = (m - 1) / (m + 1), |s| < 0.172,
/// where the next term is below 1e-18 of the sum; e ln 2 in two parts. Within 2 ulp of std::log
/// (tests/test_lanes.cpp), and a fixed function of x: the same on every thread.
template <class V = Lanes>
[[gnu::always_inline]] inline V log_normal_lanes(const V& x) {
    using Bits = typename BitsOf<sizeof(V)>::type;
    Bits bits;
    __builtin_memcpy(&bits, &x, sizeof bits);
    Bits exponent = ((bits >> 52) & 0x7ff) - 1023;
    Bits mantissa_bits = (bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL;
    V m;
    __builtin_memcpy(&m, &mantissa_bits, sizeof m);  // in [1, 2)
    const Bits high = m > 1.4142135623730951;        // all ones where true
    m = high ? m * 0.5 : m;
    exponent -= high;  // -(-1) = +1 where m was halved
    const V e = __builtin_convertvector(exponent, V);
    const V s = (m - 1.0) / (m + 1.0);
    const V s2 = s * s;
    V series = V{} + 1.0 / 21;
    series = series * s2 + 1.0 / 19;
    series = series * s2 + 1.0 / 17;
    series = series * s2 + 1.0 / 15;
    series = series * s2 + 1.0 / 13;
    series = series * s2 + 1.0 / 11;
    series = series * s2 + 1.0 / 9;
    series = series * s2 + 1.0 / 7;
    series = series * s2 + 1.0 / 5;
    series = series * s2 + 1.0 / 3;
    // 2 s (1 + s2 series) = 2 s + 2 s s2 series: the small part added last.
    const V log_m = 2.0 * s + (2.0 * s * s2) * series;
    constexpr double ln2_high = 0.693147180369123816490;   // 2^-32 precision: e ln2_high is exact
    constexpr double ln2_low = 1.90821492927058770002e-10;  // ln 2 - ln2_high
    return e * ln2_high + (log_m + e * ln2_low);
}

TREESNE_SIMD_END
}  // namespace treesne::detail
