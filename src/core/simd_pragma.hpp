// TREESNE_SIMD_PUSH(features) / TREESNE_SIMD_POP: compile the functions between them for the given
// target features (internal; not installed), as `#pragma GCC target` and clang's target attribute spell
// them. Used by the per-target kernel files (src/tree/simd_target.inc, src/knn/estimates_target.inc),
// which include the standard library and the public headers first, outside the target, so that their
// inline functions and templates stay baseline code, the same in every file. Neither compiler defines
// __AVX2__ and the like under the pragma in C++: a kernel file says its register width itself
// (TREESNE_SIMD_PART_LANES, core/lanes.hpp).
#pragma once

#define TREESNE_SIMD_PRAGMA(text) _Pragma(#text)
#if defined(__clang__)
#define TREESNE_SIMD_PUSH(features) \
    TREESNE_SIMD_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define TREESNE_SIMD_POP TREESNE_SIMD_PRAGMA(clang attribute pop)
#else
#define TREESNE_SIMD_PUSH(features) \
    TREESNE_SIMD_PRAGMA(GCC push_options) TREESNE_SIMD_PRAGMA(GCC target(features))
#define TREESNE_SIMD_POP TREESNE_SIMD_PRAGMA(GCC pop_options)
#endif
