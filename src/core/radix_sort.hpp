// Stable parallel sort of (key, value) pairs by key, for the space tree's Morton codes (internal).
//
// One run per thread: the range is cut into equal runs, each run is sorted by an LSD radix sort inside
// its own part of the arrays (one counting pass gives every digit's histogram; a digit that is the same
// for the whole run is skipped), then the runs are merged pairwise, each merge split by the merge path
// into pieces that write disjoint ranges of the output. Before this, the radix passes scattered the
// whole range from every thread at once: with 2048 digits and two blocks, the two threads wrote the
// same cache lines, and two threads sorted 20,000 codes more slowly than one.
//
// A stable sort has exactly one result, so neither the number of runs nor the thread count can change
// the order; merges take from the left run on equal keys, which keeps equal keys in their input order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace treesne::detail {

/// Sorts keys (and values alongside) by the low `bits` bits of the keys (bits in 1..64; the keys must
/// have no higher bits set), stably, on up to `threads` threads (0 = all). The scratch vectors and the
/// digit counts are workspace, grown as needed and kept by the caller so that repeated sorts do not
/// allocate; on return they hold nothing of use.
/// borrowed (optional): memory of another buffer that is idle during the sort, of borrowed_bytes bytes.
/// Where the sort is one run (one thread, or fewer than 2 sort_min_run keys) and borrowed holds 12 bytes a
/// key, the run is sorted through it instead of the scratch vectors, which are then left as they are:
/// no memory of the sort's own. Its bytes are read and written with memcpy (any object type may lie
/// there; its values are lost).
void sort_by_key(std::vector<std::uint64_t>& keys, std::vector<std::uint32_t>& values, int bits, int threads,
                 std::vector<std::uint64_t>& scratch_keys, std::vector<std::uint32_t>& scratch_values,
                 std::vector<std::uint32_t>& counts, unsigned char* borrowed = nullptr,
                 std::size_t borrowed_bytes = 0);

/// Bytes of borrowed memory sort_by_key sorts n keys through.
inline constexpr std::size_t sort_borrowed_bytes(std::size_t n) {
    return n * (sizeof(std::uint64_t) + sizeof(std::uint32_t));
}

/// The smallest run worth a thread of its own.
inline constexpr std::size_t sort_min_run = 8192;

}  // namespace treesne::detail
