// The float pass's selection. See estimates.hpp (the dispatch: simd_dispatch.cpp).
#include "knn/estimates.hpp"

#include <algorithm>
#include <limits>

namespace treesne::detail {

float keep_best_estimates(EstimateCandidate* buffer, index_t& count, index_t keep) {
    std::nth_element(buffer, buffer + (keep - 1), buffer + count,
                     [](const EstimateCandidate& a, const EstimateCandidate& b) { return a.estimate < b.estimate; });
    count = keep;
    return buffer[keep - 1].estimate;
}

}  // namespace treesne::detail
