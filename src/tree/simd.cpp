// The choice of the kernels' instruction set, once per process, and the entries that follow it. See
// simd.hpp.
#include "tree/simd.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include "treesne/core/errors.hpp"
#include "treesne/tree/gradient.hpp"

namespace treesne::detail {
namespace {

// TREESNE_SIMD_DISPATCH (set by CMakeLists.txt): the AVX2 and AVX-512 copies are compiled in.
#if defined(TREESNE_SIMD_DISPATCH) && TREESNE_SIMD_DISPATCH
constexpr bool dispatching = true;
#else
constexpr bool dispatching = false;
#endif

// Whether this CPU (and its operating system, which must save the wide registers) runs `target`.
bool cpu_has(SimdTarget target) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    switch (target) {
        case SimdTarget::avx512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
                   __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
        case SimdTarget::avx2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                   __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
                   __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse4.2");
        case SimdTarget::baseline:
            return true;
    }
    return false;
#else
    return target == SimdTarget::baseline;
#endif
}

bool compiled_in(SimdTarget target) {
    return target == SimdTarget::baseline || dispatching;
}

SimdTarget choose() {
    const char* forced = std::getenv("TREESNE_SIMD");
    if (forced && *forced && std::strcmp(forced, "auto") != 0) {
        for (const SimdTarget t : {SimdTarget::baseline, SimdTarget::avx2, SimdTarget::avx512}) {
            if (std::strcmp(forced, simd_target_name(t)) != 0) continue;
            require(compiled_in(t), "TREESNE_SIMD=", forced, ": this build has only the ", simd_target_name(SimdTarget::baseline),
                    " kernels (a native or non-x86-64 build; see TREESNE_NATIVE)");
            require(cpu_has(t), "TREESNE_SIMD=", forced, ": this CPU cannot run the ", forced, " kernels");
            return t;
        }
        throw InvalidArgument(concat("TREESNE_SIMD=", forced, ": unknown target; use auto, baseline, avx2 or avx512"));
    }
    for (const SimdTarget t : {SimdTarget::avx512, SimdTarget::avx2})
        if (compiled_in(t) && cpu_has(t)) return t;
    return SimdTarget::baseline;
}

}  // namespace

const char* simd_target_name(SimdTarget target) {
    switch (target) {
        case SimdTarget::avx512:
            return "avx512";
        case SimdTarget::avx2:
            return "avx2";
        case SimdTarget::baseline:
            break;
    }
    return "baseline";
}

SimdTarget simd_target() {
    static const SimdTarget chosen = choose();  // a bad TREESNE_SIMD throws here, and again at the next call
    return chosen;
}

}  // namespace treesne::detail

namespace treesne {

std::string simd_kernels() {
    detail::simd_target();  // a bad TREESNE_SIMD throws, whatever the build
    if (!detail::dispatching) return "kernels: this build's own instruction set (no runtime dispatch)";
    return concat("kernels: ", detail::simd_target_name(detail::simd_target()),
                  " (chosen at run time among baseline, avx2, avx512; TREESNE_SIMD forces one)");
}

}  // namespace treesne

namespace treesne::detail {

// Calls the chosen copy's entry `name` with the given arguments.
#define TREESNE_SIMD_CALL(name, ...)                                    \
    do {                                                                \
        if constexpr (dispatching) {                                    \
            switch (simd_target()) {                                    \
                case SimdTarget::avx512:                                \
                    return simd_avx512::name<Dim>(__VA_ARGS__);         \
                case SimdTarget::avx2:                                  \
                    return simd_avx2::name<Dim>(__VA_ARGS__);           \
                case SimdTarget::baseline:                              \
                    break;                                              \
            }                                                           \
        }                                                               \
        return simd_baseline::name<Dim>(__VA_ARGS__);                   \
    } while (false)

template <int Dim>
void walk_leaves(const WalkArgs<Dim>& walk, const std::vector<std::uint32_t>& leaves, int threads) {
    TREESNE_SIMD_CALL(walk_leaves, walk, leaves, threads);
}

template <int Dim>
void walk_queries(const WalkArgs<Dim>& walk, const QueryGroups<Dim>& queries, int threads) {
    TREESNE_SIMD_CALL(walk_queries, walk, queries, threads);
}

template <int Dim>
void attraction_rows(const SparseMatrix& p, ConstMatrixView y, double dof, index_t first, index_t last, double* out) {
    TREESNE_SIMD_CALL(attraction_rows, p, y, dof, first, last, out);
}

template <int Dim>
double kl_rows(const SparseMatrix& p, ConstMatrixView y, double z, double dof, index_t first, index_t last) {
    TREESNE_SIMD_CALL(kl_rows, p, y, z, dof, first, last);
}

#undef TREESNE_SIMD_CALL

#define TREESNE_SIMD_INSTANTIATE(Dim)                                                                            \
    template void walk_leaves<Dim>(const WalkArgs<Dim>&, const std::vector<std::uint32_t>&, int);                \
    template void walk_queries<Dim>(const WalkArgs<Dim>&, const QueryGroups<Dim>&, int);                         \
    template void attraction_rows<Dim>(const SparseMatrix&, ConstMatrixView, double, index_t, index_t, double*); \
    template double kl_rows<Dim>(const SparseMatrix&, ConstMatrixView, double, double, index_t, index_t);
TREESNE_SIMD_INSTANTIATE(1)
TREESNE_SIMD_INSTANTIATE(2)
TREESNE_SIMD_INSTANTIATE(3)
#undef TREESNE_SIMD_INSTANTIATE

}  // namespace treesne::detail
