// Joint affinities P as the optimisation holds them (PackedAffinities): each row's columns as offsets from
// the row's first column, in 2 bytes where the row spans fewer than 65,536 labels, else 3 (fewer than
// 2^24), else 4. embed() relabels the points so that neighbours lie near each other (locality_order), so
// most rows take 2 bytes an entry, and P 6 or 7 bytes an entry instead of 8. At 10^6 points P is most of
// the optimisation's memory.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// P (SparseMatrix's invariants: columns increasing within a row) with its columns packed. Row i holds
/// entries [offsets[i], offsets[i + 1]) with values[e]; its columns are first[i] + the row's offsets, width(i)
/// bytes each (little-endian) from byte position(i) of `bytes`, entry e's at position(i) + (e -
/// offsets[i]) width(i). `bytes` ends with packed_padding bytes (the kernels read offsets 16 bytes at a
/// time). The values are P's own floats, so every sum over P is the unpacked one's bit for bit.
struct PackedAffinities {
    index_t n = 0;
    std::vector<index_t> offsets;       ///< n + 1
    std::vector<point_t> first;         ///< n: each row's first column (0 for an empty row)
    std::vector<std::uint64_t> where;   ///< n: position(i) << 2 | (width(i) - 2)
    std::vector<unsigned char> bytes;   ///< the rows' column offsets, then packed_padding zero bytes
    std::vector<float> values;          ///< nnz
    /// false: P kept with its 32-bit columns in `columns` (first, where and bytes empty), which the
    /// kernels read faster than they decode offsets: pack() keeps P so unless told to pack (packs()).
    bool packed = true;
    std::vector<point_t> columns;       ///< nnz, where not packed

    index_t nnz() const { return static_cast<index_t>(values.size()); }
    int width(index_t i) const { return 2 + static_cast<int>(where[static_cast<std::size_t>(i)] & 3); }
    std::size_t position(index_t i) const { return static_cast<std::size_t>(where[static_cast<std::size_t>(i)] >> 2); }
    /// The column of entry e of row i.
    point_t column(index_t i, index_t e) const {
        if (!packed) return columns[static_cast<std::size_t>(e)];
        const unsigned char* at =
            bytes.data() + position(i) + static_cast<std::size_t>(e - offsets[static_cast<std::size_t>(i)]) * width(i);
        std::uint32_t v = 0;
        std::memcpy(&v, at, static_cast<std::size_t>(width(i)));
        return first[static_cast<std::size_t>(i)] + v;
    }
};

/// The zero bytes that end PackedAffinities::bytes: a read of 16 bytes from any offset stays within them.
constexpr std::size_t packed_padding = 16;

/// The bytes an offset takes in a row whose columns span `span` labels (last - first): 2, 3 or 4.
inline int packed_width(std::uint64_t span) {
    return span <= 0xFFFF ? 2 : span <= 0xFFFFFF ? 3 : 4;
}

/// Whether pack() packs (Packing, affinities.hpp). automatic does not, for now: at 10^6 points a packed P
/// takes 218 MiB less, but even decoded 16 bytes at a time into a window the attraction over it ran
/// 10-32 % slower (benchmarks/RESULTS.md section 12, `treesne_iteration --packed 2`), and no run may be
/// slower for less memory.
bool packs(Packing packing);

/// P packed (where `packing` says so), row chunk by row chunk, the pages of p's columns given back as they
/// are consumed (its values are moved), so that p and its packed form are never held whole together. The
/// same P. threads: 0 = all; the result does not depend on it.
PackedAffinities pack(Affinities p, int threads = 0, Packing packing = Packing::automatic);

/// The SparseMatrix of a packed P (a copy).
Affinities unpack(const PackedAffinities& p);

/// Bytes of a packed P of N points and nnz entries whose rows take `width` bytes an offset (2 where
/// the order keeps every row within 65,535 labels, as embed()'s usually does).
double packed_affinities_bytes(double n, double nnz, double width = 2);

namespace detail {
/// Appends rows [first_row, first_row + count) of a P being packed, whose columns are columns[0, m)
/// (chunk-relative: row i's at offsets[i] - offsets[first_row]), to p.first, p.where and p.bytes (reserve
/// 4 nnz + packed_padding bytes first for no reallocation); p.offsets (n + 1) and p.values are written by
/// the caller. The rows are appended in order.
void pack_rows(PackedAffinities& p, index_t first_row, index_t count, const point_t* columns, int threads);
}  // namespace detail

}  // namespace treesne
