// The float pass's panels and its selection. See estimates.hpp (the dispatch: simd_dispatch.cpp).
#include "knn/estimates.hpp"

#include <algorithm>
#include <limits>

#include "treesne/core/parallel.hpp"

namespace treesne::detail {

std::vector<float> estimate_panels(const float* rows, index_t n, index_t d, int threads) {
    const index_t w = estimate_panel_width;
    const index_t panels = (n + w - 1) / w;
    std::vector<float> out(static_cast<std::size_t>(panels * w * d));
    parallel_for(panels, threads, [&](index_t b0, index_t b1) {
        for (index_t b = b0; b < b1; ++b) {
            float* panel = out.data() + b * w * d;
            for (index_t c = 0; c < w; ++c) {
                const index_t p = b * w + c;
                for (index_t j = 0; j < d; ++j) panel[j * w + c] = p < n ? rows[p * d + j] : 0.0f;
            }
        }
    });
    return out;
}

float keep_best_estimates(EstimateCandidate* buffer, index_t& count, index_t keep) {
    std::nth_element(buffer, buffer + (keep - 1), buffer + count,
                     [](const EstimateCandidate& a, const EstimateCandidate& b) { return a.estimate < b.estimate; });
    count = keep;
    return buffer[keep - 1].estimate;
}

}  // namespace treesne::detail
