// What the neighbour-recall benchmarks (knn_recall.cpp, nndescent_recall.cpp) share: timers, peak
// memory, and the exact reference distances of sampled rows. Header-only, benchmarks only.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "treesne/knn/neighbors.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/types.hpp"

namespace treesne::bench {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// CPU seconds of the whole process (every thread) so far.
inline double process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/// Peak resident set size of this process so far, in MiB (VmHWM), or -1 where /proc is missing.
inline double peak_rss_mib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return -1;
}

/// The k smallest squared distances of each query row to all other points (a scan in double, self
/// excluded), ascending: row s of the result is [s k, (s + 1) k).
inline std::vector<double> exact_smallest(ConstMatrixView x, const std::vector<index_t>& queries, index_t k,
                                          int threads) {
    std::vector<double> smallest(queries.size() * static_cast<std::size_t>(k));
    parallel_for(
        static_cast<index_t>(queries.size()), threads,
        [&](index_t begin, index_t end) {
            std::vector<double> d(static_cast<std::size_t>(x.rows - 1));
            for (index_t s = begin; s < end; ++s) {
                const index_t q = queries[static_cast<std::size_t>(s)];
                std::size_t c = 0;
                for (index_t j = 0; j < x.rows; ++j)
                    if (j != q) d[c++] = squared_distance(x.row(q), x.row(j), x.cols);
                std::partial_sort(d.begin(), d.begin() + k, d.end());
                std::copy_n(d.begin(), k, smallest.begin() + s * k);
            }
        },
        1);
    return smallest;
}

}  // namespace treesne::bench
