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

/// Bytes for people: "512 B", "12.0 KiB", "381 MiB", "31.2 GiB".
std::string format_bytes(double bytes);

}  // namespace treesne
