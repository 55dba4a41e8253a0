// Runtime dispatch of the hot kernels (private to src/tree): the Barnes-Hut walks, the attraction over P
// and the sparse KL, compiled once per instruction set and chosen once per process.
//
// src/tree/simd_kernels.inc holds the kernels. A portable build (TREESNE_NATIVE off) on x86-64 with GCC or
// clang compiles it three times: simd_baseline.cpp (x86-64, SSE2), simd_avx2.cpp (`#pragma GCC target`,
// or clang's `#pragma clang attribute`: AVX2 + FMA + BMI2, the x86-64-v3 level) and simd_avx512.cpp
// (x86-64-v4); each puts its copy in its own
// namespace (detail::simd_<target>, see core/simd_namespace.hpp). simd_target() (core/simd_target.hpp)
// picks the widest the CPU has, unless the environment variable TREESNE_SIMD names one (baseline, avx2,
// avx512; one the CPU lacks is an error, not a crash). A native build (-march=native), another compiler or another architecture
// compiles only the baseline copy, with the build's own flags. (GCC 12 and clang 14 builds gave the same
// bits, too.)
//
// The bits: the kernels' sums run in fixed 8-lane vectors added in lane order (core/lanes.hpp), and
// these files are compiled with -ffp-contract=off (no fused multiply-add), so every target computes the
// very same operations in the same order: the same embedding, bit for bit, on any x86-64 CPU, for any
// target and thread count. A native build lets the compiler fuse multiply-adds, so its bits differ from
// a portable build's (by rounding, ~1e-16 relative per operation); mix no native and portable binaries
// in one MPI job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/simd_target.hpp"
#include "treesne/affinities/packed.hpp"
#include "treesne/core/types.hpp"
#include "treesne/tree/space_tree.hpp"

namespace treesne::detail {

// What a repulsion walk reads (the nodes in pre-order, coordinates and input indices in tree order, the
// criterion, the kernel) and writes (per-point Z in tree order, forces in input order).
template <int Dim>
struct WalkArgs {
    const typename SpaceTree<Dim>::Node* nodes;
    std::uint32_t node_count;
    const double* pos;
    const point_t* order;
    double theta2;
    bool quadrupole;
    bool single;  // float kernels
    double dof;
    double* point_z;
    MatrixView forces;
};

// What repulsion_on reads besides the source tree's walk: the query tree's nodes, leaves, coordinates
// and input indices in its tree order; and what it writes, by query input index.
template <int Dim>
struct QueryGroups {
    const typename SpaceTree<Dim>::Node* nodes;
    const std::vector<std::uint32_t>& leaves;
    const double* pos;
    const point_t* order;
    double* z;
    MatrixView forces;
};

// The entries of each copy (defined in simd_kernels.inc):
//   walk_leaves: the repulsion of the given leaves' points (SpaceTree::walk);
//   walk_queries: the repulsion on another tree's points (SpaceTree::repulsion_on);
//   attraction_rows: rows [first, last) of P's attractive force, row i's Dim values at out + (i - first) Dim;
//   kl_rows: sum p_ij log(p_ij / q_ij) over rows [first, last).
#define TREESNE_SIMD_ENTRIES                                                                                   \
    template <int Dim>                                                                                         \
    void walk_leaves(const WalkArgs<Dim>& walk, const std::vector<std::uint32_t>& leaves, int threads);       \
    template <int Dim>                                                                                         \
    void walk_queries(const WalkArgs<Dim>& walk, const QueryGroups<Dim>& queries, int threads);               \
    template <int Dim>                                                                                         \
    void attraction_rows(const PackedAffinities& p, ConstMatrixView y, double dof, index_t first, index_t last,    \
                         double* out);                                                                         \
    template <int Dim>                                                                                         \
    double kl_rows(const PackedAffinities& p, ConstMatrixView y, double z, double dof, index_t first, index_t last);

// A kernel file (TREESNE_SIMD_NS defined) defines its own copy's entries in its inline namespace.
#ifndef TREESNE_SIMD_NS
namespace simd_baseline {
TREESNE_SIMD_ENTRIES
}
namespace simd_avx2 {
TREESNE_SIMD_ENTRIES
}
namespace simd_avx512 {
TREESNE_SIMD_ENTRIES
}

// The dispatching entries: simd_target()'s copy.
template <int Dim>
void walk_leaves(const WalkArgs<Dim>& walk, const std::vector<std::uint32_t>& leaves, int threads);
template <int Dim>
void walk_queries(const WalkArgs<Dim>& walk, const QueryGroups<Dim>& queries, int threads);
template <int Dim>
void attraction_rows(const PackedAffinities& p, ConstMatrixView y, double dof, index_t first, index_t last, double* out);
template <int Dim>
double kl_rows(const PackedAffinities& p, ConstMatrixView y, double z, double dof, index_t first, index_t last);
#endif

}  // namespace treesne::detail
