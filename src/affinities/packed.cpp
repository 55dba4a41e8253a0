// PackedAffinities: P's columns as 16-bit offsets from each row's first column (see packed.hpp).
#include "treesne/affinities/packed.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/system_memory.hpp"

namespace treesne {

void detail::pack_rows(PackedAffinities& p, index_t first_row, index_t count, const point_t* columns, int threads) {
    const index_t e0 = p.offsets[static_cast<std::size_t>(first_row)];
    p.first.resize(static_cast<std::size_t>(first_row + count));
    p.where.resize(static_cast<std::size_t>(first_row + count));
    // Each row's first column, width and position, in order.
    std::size_t at = p.bytes.empty() ? 0 : p.bytes.size() - packed_padding;  // over the last padding
    for (index_t i = first_row; i < first_row + count; ++i) {
        const index_t b = p.offsets[static_cast<std::size_t>(i)] - e0, e = p.offsets[static_cast<std::size_t>(i) + 1] - e0;
        const point_t f = e > b ? columns[b] : 0;
        const int width = e > b ? packed_width(static_cast<std::uint64_t>(columns[e - 1] - f)) : 2;
        p.first[static_cast<std::size_t>(i)] = f;
        p.where[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(at) << 2 | static_cast<std::uint64_t>(width - 2);
        at += static_cast<std::size_t>(e - b) * static_cast<std::size_t>(width);
    }
    p.bytes.resize(at + packed_padding);  // within the reserved capacity where the caller reserved
    std::fill(p.bytes.begin() + static_cast<std::ptrdiff_t>(at), p.bytes.end(), static_cast<unsigned char>(0));
    parallel_for(count, threads, [&](index_t begin, index_t end) {
        for (index_t i = first_row + begin; i < first_row + end; ++i) {
            const point_t f = p.first[static_cast<std::size_t>(i)];
            const auto width = static_cast<std::size_t>(p.width(i));
            unsigned char* out = p.bytes.data() + p.position(i);
            for (index_t e = p.offsets[static_cast<std::size_t>(i)]; e < p.offsets[static_cast<std::size_t>(i) + 1];
                 ++e, out += width) {
                const std::uint32_t v = columns[e - e0] - f;  // little-endian: the low `width` bytes
                std::memcpy(out, &v, width);
            }
        }
    });
}

bool packs(Packing packing) {
    return packing == Packing::always;  // automatic: not yet (packed.hpp)
}

PackedAffinities pack(Affinities p, int threads, Packing packing) {
    require(static_cast<index_t>(p.offsets.size()) == p.n + 1 && p.columns.size() == p.values.size() &&
                p.offsets.back() == p.nnz(),
            "pack: a P of ", p.n, " rows needs ", p.n + 1, " offsets ending at nnz; got ", p.offsets.size(),
            " offsets, ", p.columns.size(), " columns and ", p.values.size(), " values");
    PackedAffinities out;
    out.n = p.n;
    out.offsets = std::move(p.offsets);
    out.values = std::move(p.values);
    if (!packs(packing)) {
        out.packed = false;
        out.columns = std::move(p.columns);
        return out;
    }
    out.first.reserve(static_cast<std::size_t>(out.n));
    out.where.reserve(static_cast<std::size_t>(out.n));
    out.bytes.reserve(4 * out.values.size() + packed_padding);  // the most the rows can take: no reallocation
    // Chunks of ~4M entries: the memory the columns and their offsets overlap by.
    constexpr index_t chunk_entries = index_t{1} << 22;
    for (index_t r0 = 0; r0 < out.n;) {
        index_t r1 = r0 + 1;
        while (r1 < out.n && out.offsets[static_cast<std::size_t>(r1)] - out.offsets[static_cast<std::size_t>(r0)] < chunk_entries) ++r1;
        const point_t* columns = p.columns.data() + out.offsets[static_cast<std::size_t>(r0)];
        detail::pack_rows(out, r0, r1 - r0, columns, threads);
        release_pages(columns, p.columns.data() + out.offsets[static_cast<std::size_t>(r1)]);
        r0 = r1;
    }
    return out;
}

Affinities unpack(const PackedAffinities& p) {
    Affinities out;
    out.n = p.n;
    out.offsets = p.offsets;
    out.values = p.values;
    if (!p.packed) {
        out.columns = p.columns;
        return out;
    }
    out.columns.resize(p.values.size());
    for (index_t i = 0; i < p.n; ++i)
        for (index_t e = p.offsets[static_cast<std::size_t>(i)]; e < p.offsets[static_cast<std::size_t>(i) + 1]; ++e)
            out.columns[static_cast<std::size_t>(e)] = p.column(i, e);
    return out;
}

double packed_affinities_bytes(double n, double nnz, double width) {
    return (n + 1) * 8 + n * (4 + 8) + nnz * (width + 4);
}

}  // namespace treesne
