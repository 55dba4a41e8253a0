// The choice of the kernels' instruction set, once per process. See simd_target.hpp.
#include "core/simd_target.hpp"

#include <cstdlib>
#include <cstring>

#include "treesne/core/errors.hpp"

namespace treesne::detail {

bool simd_cpu_has(SimdTarget target) {
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

namespace {

bool compiled_in(SimdTarget target) {
    return target == SimdTarget::baseline || simd_dispatching;
}

SimdTarget choose() {
    const char* forced = std::getenv("TREESNE_SIMD");
    if (forced && *forced && std::strcmp(forced, "auto") != 0) {
        for (const SimdTarget t : {SimdTarget::baseline, SimdTarget::avx2, SimdTarget::avx512}) {
            if (std::strcmp(forced, simd_target_name(t)) != 0) continue;
            require(compiled_in(t), "TREESNE_SIMD=", forced, ": this build has only the ", simd_target_name(SimdTarget::baseline),
                    " kernels (a native or non-x86-64 build; see TREESNE_NATIVE)");
            require(simd_cpu_has(t), "TREESNE_SIMD=", forced, ": this CPU cannot run the ", forced, " kernels");
            return t;
        }
        throw InvalidArgument(concat("TREESNE_SIMD=", forced, ": unknown target; use auto, baseline, avx2 or avx512"));
    }
    for (const SimdTarget t : {SimdTarget::avx512, SimdTarget::avx2})
        if (compiled_in(t) && simd_cpu_has(t)) return t;
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

