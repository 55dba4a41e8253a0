// The instruction set of the per-target kernel copies, chosen once per process (internal; not installed).
//
// A portable build (TREESNE_NATIVE off) on x86-64 with GCC or clang compiles its hot kernels several
// times: the Barnes-Hut walks, the attraction and the KL in src/tree/simd_*.cpp (see tree/simd.hpp), the
// brute-force search's float estimates in src/knn/estimates_*.cpp (see knn/estimates.hpp). Each copy sits
// in its own namespace (core/simd_namespace.hpp) and is compiled under `#pragma GCC target` (clang's
// `#pragma clang attribute`, core/simd_pragma.hpp). simd_target() picks the widest copy the CPU runs,
// unless the environment variable TREESNE_SIMD names one (baseline, avx2, avx512; one the CPU lacks is an
// error, not a crash). A native build (-march=native), another compiler or another architecture compiles
// only the baseline copy, with the build's own flags.
#pragma once

namespace treesne::detail {

enum class SimdTarget { baseline, avx2, avx512 };

// TREESNE_SIMD_DISPATCH (set for the whole library by CMakeLists.txt): the AVX2 and AVX-512 copies are
// compiled in.
#if defined(TREESNE_SIMD_DISPATCH) && TREESNE_SIMD_DISPATCH
inline constexpr bool simd_dispatching = true;
#else
inline constexpr bool simd_dispatching = false;
#endif

/// The kernels' target: the widest the CPU has among those compiled in, or TREESNE_SIMD's (read once;
/// InvalidArgument if it names an unknown target or one this CPU or build lacks).
SimdTarget simd_target();
const char* simd_target_name(SimdTarget target);
/// Whether this CPU (and its operating system, which must save the wide registers) runs `target`.
bool simd_cpu_has(SimdTarget target);

// In a function of namespace treesne::detail: returns the chosen copy's `name` (a function name, with
// its template arguments if any) called with the given arguments. Each copy lives in its namespace
// simd_baseline, simd_avx2 or simd_avx512 (core/simd_namespace.hpp).
#define TREESNE_SIMD_CALL(name, ...)                       \
    do {                                                   \
        if constexpr (simd_dispatching) {                  \
            switch (simd_target()) {                       \
                case SimdTarget::avx512:                   \
                    return simd_avx512::name(__VA_ARGS__); \
                case SimdTarget::avx2:                     \
                    return simd_avx2::name(__VA_ARGS__);   \
                case SimdTarget::baseline:                 \
                    break;                                 \
            }                                              \
        }                                                  \
        return simd_baseline::name(__VA_ARGS__);           \
    } while (false)

}  // namespace treesne::detail
