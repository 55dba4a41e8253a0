// The kNN kernels' entries that call simd_target()'s copy (core/simd_target.hpp): the brute force's float
// pass (estimates.hpp) and nndescent's working distances (working_distances.hpp).
#include "core/simd_target.hpp"
#include "knn/estimates.hpp"
#include "knn/working_distances.hpp"

namespace treesne::detail {

void scan_estimates(const EstimateScan& scan) {
    TREESNE_SIMD_CALL(scan_estimates, scan);
}

void working_distances(Metric metric, const double* a, const double* panel, index_t stride, index_t d,
                       index_t first, index_t last, double* out) {
    TREESNE_SIMD_CALL(working_distances, metric, a, panel, stride, d, first, last, out);
}

}  // namespace treesne::detail
