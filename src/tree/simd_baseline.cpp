// The hot kernels (simd_kernels.inc) for the build's own flags: the x86-64 baseline (SSE2) in a portable
// build, the build machine's CPU in a native one, or another architecture. The copy every build has; see
// simd.hpp. Its parts' width (core/lanes.hpp) follows from the build's flags.
#define TREESNE_SIMD_NS simd_baseline
#include "tree/simd_kernels.inc"
