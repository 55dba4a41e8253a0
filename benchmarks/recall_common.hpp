// What the neighbour-recall benchmarks (knn_recall.cpp, nndescent_recall.cpp) share: timers, peak
// memory, loading the input, the exact reference (of every row or of a seeded sample) and the recall of
// a graph against it. Header-only, benchmarks only.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "args_common.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/types.hpp"
#include "treesne/io/io.hpp"
#include "treesne/knn/neighbors.hpp"

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

/// The options every recall benchmark takes: INPUT [--rows N] [--k 90] [--threads 0] [--sample S] [--seed 1].
struct RecallOptions {
    std::string input;
    index_t rows = 0;  // the first rows only (0: all)
    index_t k = 90;
    int threads = 0;
    index_t sample = 0;  // rows the recall is measured on (0: all, with the whole exact graph)
    std::uint64_t seed = 1;
};

/// `own`, the program's options, followed by those of RecallOptions (stored in o).
inline OptionTable recall_options(RecallOptions& o, OptionTable own) {
    own.insert(own.end(), {{"--rows", into(&o.rows)},
                           {"--k", into(&o.k)},
                           {"--threads", into(&o.threads)},
                           {"--sample", into(&o.sample)},
                           {"--seed", into(&o.seed)}});
    return own;
}

/// The input file, its first `rows` rows when 0 < rows < N.
inline Matrix read_first_rows(const std::string& path, index_t rows) {
    Matrix x = io::read_matrix(path);
    if (rows > 0 && rows < x.rows()) x = Matrix(ConstMatrixView{x.data(), rows, x.cols()});
    return x;
}

/// The exact neighbours' distances of the rows recall is measured on: every row, or a seeded sample.
struct Reference {
    std::vector<index_t> queries;  // the rows measured
    std::vector<double> kth;       // per query: the exact k-th squared distance
    std::vector<double> top_kth;   // per query: the exact `top`-th (top <= k)
    std::vector<double> sums;      // per query: the sum of the k smallest squared distances
};

/// The reference at k: with 0 < sample < N a seeded sample of rows scanned against all N points, O(S N D);
/// otherwise the whole exact graph (brute backend). Prints the time it took as a "#" line.
inline Reference exact_reference(ConstMatrixView x, index_t k, index_t top, index_t sample,
                                 std::uint64_t seed, int threads) {
    Reference r;
    const index_t n = x.rows;
    const auto start = std::chrono::steady_clock::now();
    auto add = [&](index_t q, const double* smallest) {
        r.queries.push_back(q);
        r.kth.push_back(smallest[k - 1]);
        r.top_kth.push_back(smallest[top - 1]);
        double sum = 0;
        for (index_t j = 0; j < k; ++j) sum += smallest[j];
        r.sums.push_back(sum);
    };
    if (sample > 0 && sample < n) {
        std::mt19937_64 rng(seed);
        std::vector<index_t> all(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
        for (index_t s = 0; s < sample; ++s)  // partial Fisher-Yates: the first `sample` are the draw
            std::swap(all[static_cast<std::size_t>(s)],
                      all[static_cast<std::size_t>(s + static_cast<index_t>(rng() % (n - s)))]);
        const std::vector<index_t> queries(all.begin(), all.begin() + sample);
        const std::vector<double> smallest = exact_smallest(x, queries, k, threads);
        for (std::size_t s = 0; s < queries.size(); ++s)
            add(queries[s], smallest.data() + s * static_cast<std::size_t>(k));
        std::printf("# exact scan of %lld sampled rows (seed %llu): %.2f s\n", static_cast<long long>(sample),
                    static_cast<unsigned long long>(seed), seconds_since(start));
    } else {
        const NeighborGraph exact = nearest_neighbors(x, k, KnnBackend::brute, threads);
        std::printf("# exact graph (brute): %.2f s\n", seconds_since(start));
        for (index_t i = 0; i < n; ++i) add(i, exact.row_distances(i));
    }
    return r;
}

/// Recall of a graph over the reference's rows. A row's recall is the share of its k reported neighbours
/// whose distance is at most the exact k-th (so any of points tied at the k-th distance counts).
struct Recall {
    double mean = 0;      // mean row recall
    double lowest = 1;    // lowest row recall
    index_t poor = 0;     // rows with recall below 0.5
    double excess = 0;    // mean of (sum of a row's k distances / the exact sum - 1)
    double top_mean = 0;  // mean recall of the first `top` neighbours against the exact top-th distance
};

inline Recall recall_of(const NeighborGraph& g, const Reference& ref, index_t k, index_t top) {
    Recall r;
    const auto rows = static_cast<double>(ref.queries.size());
    for (std::size_t s = 0; s < ref.queries.size(); ++s) {
        const double* d = g.row_distances(ref.queries[s]);
        index_t hits = 0, top_hits = 0;
        double found = 0;
        for (index_t j = 0; j < k; ++j) {
            hits += d[j] <= ref.kth[s] ? 1 : 0;
            found += d[j];
        }
        for (index_t j = 0; j < top; ++j) top_hits += d[j] <= ref.top_kth[s] ? 1 : 0;
        const double recall = static_cast<double>(hits) / static_cast<double>(k);
        r.mean += recall;
        r.lowest = std::min(r.lowest, recall);
        r.poor += recall < 0.5 ? 1 : 0;
        r.excess += ref.sums[s] > 0 ? found / ref.sums[s] - 1 : 0;
        r.top_mean += static_cast<double>(top_hits) / static_cast<double>(top);
    }
    r.mean /= rows;
    r.excess /= rows;
    r.top_mean /= rows;
    return r;
}

}  // namespace treesne::bench
