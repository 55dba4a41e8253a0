// RowPartition and the ordered fold of Collective (core/collective.hpp).
#include "treesne/core/collective.hpp"

#include <algorithm>
#include <cstring>

#include "treesne/core/errors.hpp"

namespace treesne {

RowPartition RowPartition::even(index_t n, int ranks, index_t unit) {
    require(ranks >= 1 && unit >= 1 && n >= 0, "RowPartition: ", n, " rows over ", ranks, " ranks in units of ",
            unit);
    const index_t units = (n + unit - 1) / unit;
    RowPartition p;
    p.first.resize(static_cast<std::size_t>(ranks) + 1);
    for (int r = 0; r <= ranks; ++r)
        p.first[static_cast<std::size_t>(r)] = std::min(n, units * r / ranks * unit);
    return p;
}

int RowPartition::owner(index_t i) const {
    // The last range whose start is <= i (ranges may be empty).
    const auto it = std::upper_bound(first.begin(), first.end() - 1, i);
    return static_cast<int>(it - first.begin()) - 1;
}

std::vector<std::size_t> RowPartition::byte_offsets(std::size_t bytes_per_row) const {
    std::vector<std::size_t> out(first.size());
    for (std::size_t r = 0; r < first.size(); ++r) out[r] = static_cast<std::size_t>(first[r]) * bytes_per_row;
    return out;
}

double fold_in_rank_order(Collective& collective, const std::vector<double>& own_partials) {
    const std::vector<unsigned char> bytes = collective.in_rank_order([&](std::vector<unsigned char>& state) {
        double total = 0.0;
        if (state.size() == sizeof total) std::memcpy(&total, state.data(), sizeof total);
        for (const double v : own_partials) total += v;
        state.resize(sizeof total);
        std::memcpy(state.data(), &total, sizeof total);
    });
    double total = 0.0;
    if (bytes.size() == sizeof total) std::memcpy(&total, bytes.data(), sizeof total);
    return total;
}

}  // namespace treesne
