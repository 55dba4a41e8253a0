// The hot kernels (simd_kernels.inc) for the x86-64 baseline (SSE2), or whatever the build's flags allow: the copy every build has.
// See simd.hpp.
#define TREESNE_SIMD_NS simd_baseline
#include "tree/simd_kernels.inc"
