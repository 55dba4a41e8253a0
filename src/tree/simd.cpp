// The choice of the kernels' instruction set, once per process, and the entries that follow it. See
// simd.hpp.
#include "tree/simd.hpp"

#include <string>

#include "treesne/core/errors.hpp"
#include "treesne/tree/gradient.hpp"

namespace treesne {

std::string simd_kernels() {
    detail::simd_target();  // a bad TREESNE_SIMD throws, whatever the build
    if (!detail::simd_dispatching) return "kernels: this build's own instruction set (no runtime dispatch)";
    return concat("kernels: ", detail::simd_target_name(detail::simd_target()),
                  " (chosen at run time among baseline, avx2, avx512; TREESNE_SIMD forces one)");
}

}  // namespace treesne

namespace treesne::detail {

template <int Dim>
void walk_leaves(const WalkArgs<Dim>& walk, const std::vector<std::uint32_t>& leaves, int threads) {
    TREESNE_SIMD_CALL(walk_leaves<Dim>, walk, leaves, threads);
}

template <int Dim>
void walk_queries(const WalkArgs<Dim>& walk, const QueryGroups<Dim>& queries, int threads) {
    TREESNE_SIMD_CALL(walk_queries<Dim>, walk, queries, threads);
}

template <int Dim>
void attraction_rows(const PackedAffinities& p, ConstMatrixView y, double dof, index_t first, index_t last, double* out) {
    TREESNE_SIMD_CALL(attraction_rows<Dim>, p, y, dof, first, last, out);
}

template <int Dim>
double kl_rows(const PackedAffinities& p, ConstMatrixView y, double z, double dof, index_t first, index_t last) {
    TREESNE_SIMD_CALL(kl_rows<Dim>, p, y, z, dof, first, last);
}

#define TREESNE_SIMD_INSTANTIATE(Dim)                                                                            \
    template void walk_leaves<Dim>(const WalkArgs<Dim>&, const std::vector<std::uint32_t>&, int);                \
    template void walk_queries<Dim>(const WalkArgs<Dim>&, const QueryGroups<Dim>&, int);                         \
    template void attraction_rows<Dim>(const PackedAffinities&, ConstMatrixView, double, index_t, index_t, double*); \
    template double kl_rows<Dim>(const PackedAffinities&, ConstMatrixView, double, double, index_t, index_t);
TREESNE_SIMD_INSTANTIATE(1)
TREESNE_SIMD_INSTANTIATE(2)
TREESNE_SIMD_INSTANTIATE(3)
#undef TREESNE_SIMD_INSTANTIATE

}  // namespace treesne::detail
