// nndescent's working distances (working_distances.inc) for the build's own flags: the x86-64 baseline
// (SSE2) in a portable build, the build machine's CPU in a native one, or another architecture. See
// knn/working_distances.hpp.
#define TREESNE_SIMD_NS simd_baseline
#include "knn/working_distances.inc"
