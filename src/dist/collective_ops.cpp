// Agreement on errors and the ordered folds of vectors, over any Collective.
#include "dist/collective_ops.hpp"

#include <algorithm>
#include <cstdlib>

#include "dist/bytes.hpp"
#include "treesne/core/errors.hpp"

namespace treesne::dist {

double buffer_bytes() {
    static const double bytes = [] {
        const char* text = std::getenv("TREESNE_MPI_BUFFER_BYTES");
        const double given = text ? std::strtod(text, nullptr) : 0.0;
        return given >= 64 ? given : 8.0 * 1024 * 1024;
    }();
    return bytes;
}

void agreed(Collective& collective, const std::function<void()>& fn) {
    std::string error;
    try {
        fn();
    } catch (const std::exception& e) {
        error = e.what();
        if (error.empty()) error = "unexpected internal error";
    }
    const int ranks = collective.size();
    std::vector<unsigned long long> sizes(static_cast<std::size_t>(ranks), 0);
    sizes[static_cast<std::size_t>(collective.rank())] = error.size();
    std::vector<std::size_t> at(static_cast<std::size_t>(ranks) + 1);
    for (std::size_t r = 0; r < at.size(); ++r) at[r] = r * sizeof(unsigned long long);
    collective.allgather(sizes.data(), at);
    const auto failed = std::find_if(sizes.begin(), sizes.end(), [](unsigned long long s) { return s > 0; });
    if (failed == sizes.end()) return;
    std::vector<unsigned char> message(error.begin(), error.end());
    collective.broadcast(message, static_cast<int>(failed - sizes.begin()));
    throw AgreedError(std::string(message.begin(), message.end()));
}

std::vector<double> fold_vectors(Collective& collective, const std::vector<double>& own, std::size_t width) {
    const std::vector<unsigned char> bytes = collective.in_rank_order([&](std::vector<unsigned char>& state) {
        std::vector<double> total(width, 0.0);
        if (state.size() == width * sizeof(double)) Reader(state).copy(total.data(), width);
        for (std::size_t b = 0; b + width <= own.size(); b += width)
            for (std::size_t j = 0; j < width; ++j) total[j] += own[b + j];
        state.clear();
        put(state, total.data(), width);
    });
    std::vector<double> total(width, 0.0);
    if (bytes.size() == width * sizeof(double)) Reader(bytes).copy(total.data(), width);
    return total;
}

Matrix gather_rows(Collective& collective, ConstMatrixView own, const RowPartition& rows, index_t cols) {
    const index_t n = rows.first.back();
    Matrix all(n, cols);
    const index_t first = rows.begin(collective.rank());
    if (own.rows > 0) std::copy(own.data, own.data + own.rows * cols, all.row(first));
    collective.allgather(all.data(), rows.byte_offsets(static_cast<std::size_t>(cols) * sizeof(double)));
    return all;
}

}  // namespace treesne::dist
