// The brute-force search's float pass (estimates.inc) for x86-64-v4: AVX-512 F, BW, CD, DQ and VL; Intel
// Skylake-SP (2017) and AMD Zen 4 (2022) on. See knn/estimates.hpp.
#define TREESNE_SIMD_NS simd_avx512
#define TREESNE_SIMD_PART_LANES 8
#define TREESNE_SIMD_TARGET \
    "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt,sse3,ssse3,sse4.1,sse4.2,xsave"
#define TREESNE_SIMD_KERNELS "knn/estimates.inc"
#include "knn/simd_target.inc"
