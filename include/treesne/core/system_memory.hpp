// The memory this process may still allocate, and byte counts as people read them: the machine's side of
// the memory estimate (api/memory.hpp), also used by the exact methods' dense-matrix check.
#pragma once

#include <optional>
#include <string>

namespace treesne {

/// Bytes this process may still allocate: MemAvailable from /proc/meminfo, lowered to the memory cgroup's
/// limit minus its usage (less reclaimable page cache) where a limit is set, as in containers. nullopt
/// where neither can be read (not Linux); callers then assume the memory is there.
std::optional<double> available_memory();

/// Gives the whole pages inside [begin, end) back to the system at once (Linux: madvise MADV_DONTNEED),
/// for a buffer that is consumed front to back and freed later as a whole: its resident size then falls as
/// it is read instead of at its end. The bytes in those pages must not be read again (they read as zero);
/// a partial page at either end is kept. A no-op elsewhere, and for an empty or reversed range.
void release_pages(const void* begin, const void* end);

/// Bytes for people: "512 B", "12.0 KiB", "381 MiB", "31.2 GiB".
std::string format_bytes(double bytes);

}  // namespace treesne
