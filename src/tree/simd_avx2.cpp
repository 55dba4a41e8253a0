// The hot kernels (simd_kernels.inc) for x86-64-v3: AVX2, FMA (not used:
// -ffp-contract=off), BMI2; Intel Haswell (2013) and AMD Excavator (2015) on. See simd.hpp.
// The standard library and the public headers come first, outside the pragma: their inline functions
// and templates stay baseline code and the same in every file.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/tree/space_tree.hpp"

#define TREESNE_SIMD_NS simd_avx2
#define TREESNE_SIMD_PART_LANES 4  // see core/lanes.hpp
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt,sse3,ssse3,sse4.1,sse4.2,xsave"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt,sse3,ssse3,sse4.1,sse4.2,xsave")
#endif
#include "tree/simd_kernels.inc"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
