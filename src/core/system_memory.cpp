// What memory this process may still allocate (/proc/meminfo and the memory cgroup), and bytes for people.
#include "treesne/core/system_memory.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace treesne {
namespace {

// "MemAvailable:" of /proc/meminfo in bytes, or -1.
double meminfo_available() {
    std::ifstream meminfo("/proc/meminfo");
    std::string key, unit;
    double kib = 0;
    while (meminfo >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * 1024.0;
    return -1;
}

// The first number in a file, or -1 ("max" and unreadable files give -1).
double read_number(const std::string& path) {
    std::ifstream in(path);
    double v = -1;
    if (!(in >> v)) return -1;
    return v;
}

// The value of `key` in a cgroup memory.stat file, or 0.
double stat_value(const std::string& path, const std::string& key) {
    std::ifstream in(path);
    std::string name;
    double v = 0;
    while (in >> name >> v)
        if (name == key) return v;
    return 0;
}

// Room left under the memory cgroup's limit (v2, then v1), counting inactive page cache as free because
// the kernel reclaims it before it kills anything; -1 without a limit.
double cgroup_room() {
    struct Layout {
        const char *limit, *usage, *stat, *inactive;
    };
    static const Layout layouts[] = {
        {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.stat",
         "inactive_file"},
        {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
         "/sys/fs/cgroup/memory/memory.stat", "total_inactive_file"},
    };
    for (const Layout& l : layouts) {
        const double limit = read_number(l.limit);
        // cgroup v1 reports "no limit" as a huge page-aligned number.
        if (limit <= 0 || limit >= 0x1p60) continue;
        const double usage = read_number(l.usage);
        if (usage < 0) continue;
        const double reclaimable = stat_value(l.stat, l.inactive);
        return std::max(0.0, limit - usage + std::min(reclaimable, usage));
    }
    return -1;
}

}  // namespace

std::string format_bytes(double bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 8) {
        bytes /= 1024.0;
        ++u;
    }
    char buffer[48];
    if (u == 0) {
        std::snprintf(buffer, sizeof buffer, "%.0f B", bytes);
    } else {
        std::snprintf(buffer, sizeof buffer, bytes < 100 ? "%.1f %s" : "%.0f %s", bytes, units[u]);
    }
    return buffer;
}

std::optional<double> available_memory() {
    const double meminfo = meminfo_available();
    const double cgroup = cgroup_room();
    if (meminfo < 0 && cgroup < 0) return std::nullopt;
    if (meminfo < 0) return cgroup;
    if (cgroup < 0) return meminfo;
    return std::min(meminfo, cgroup);
}

void release_pages(const void* begin, const void* end) {
#if defined(__linux__) && defined(MADV_DONTNEED)
    static const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto first = (reinterpret_cast<std::uintptr_t>(begin) + page - 1) & ~(page - 1);
    const auto last = reinterpret_cast<std::uintptr_t>(end) & ~(page - 1);
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
#else
    (void)begin;
    (void)end;
#endif
}

}  // namespace treesne
