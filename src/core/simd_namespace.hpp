// Keeps the per-instruction-set copies of the hot kernels apart (internal; not installed).
//
// src/tree/simd_*.cpp compile the same kernel headers several times, each under its own
// `#pragma GCC target` (see src/tree/simd.hpp). An inline function or template compiled there for AVX2
// must never be merged by the linker with the baseline copy of the same name: a baseline caller could
// then run AVX2 code on a CPU without it. So the headers those files compile (lanes.hpp, box.hpp,
// bh_kernels.hpp) put their contents between TREESNE_SIMD_BEGIN and TREESNE_SIMD_END: an inline
// namespace named TREESNE_SIMD_NS in those files (its own symbols, the same source), nothing elsewhere.
#pragma once

#ifdef TREESNE_SIMD_NS
#define TREESNE_SIMD_BEGIN inline namespace TREESNE_SIMD_NS {
#define TREESNE_SIMD_END }
#else
#define TREESNE_SIMD_BEGIN
#define TREESNE_SIMD_END
#endif
