// The brute-force search's float pass (estimates.inc) for x86-64-v3: AVX2, FMA (used: see
// knn/estimates.hpp), BMI2; Intel Haswell (2013) and AMD Excavator (2015) on.
#define TREESNE_SIMD_NS simd_avx2
#define TREESNE_SIMD_PART_LANES 4
#define TREESNE_SIMD_TARGET "avx,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt,sse3,ssse3,sse4.1,sse4.2,xsave"
#define TREESNE_SIMD_KERNELS "knn/estimates.inc"
#include "knn/simd_target.inc"
