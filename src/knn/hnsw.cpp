// Approximate backend: hnswlib's HNSW graph (Malkov & Yashunin 2018), the only file that includes hnswlib.
//
// Determinism. hnswlib's parallel insertion links each point to whatever is already in the graph when it
// arrives, so the graph (and every answer) would depend on the thread schedule. Here the points are
// inserted serially, in index order, with a fixed level seed: the same data and parameters build the same
// graph. The queries then only read the index (the search is const; its scratch lists come from a locked
// pool and do not change the answer), so they run in parallel and each row is the same whoever computes
// it. Serial insertion is the cost: see src/knn/neighbors.cpp for its time at N = 70,000 and 1,000,000.
//
// Metrics: euclidean, and cosine and correlation on the unit or centred unit rows the caller passes
// (there the Euclidean order is their order; only the reported distances differ, in write_row).
// hnswlib has no L1, maximum, jaccard or hamming space.
//
// Exact distances. hnswlib works in float on centred data scaled by a power of two (so float never
// overflows, and a large common offset does not eat the float mantissa). Each query takes all ef
// candidates of its search, drops itself, recomputes every distance with squared_distance() and keeps
// the k best by (distance, tie key), like the exact backends: the reported distances are exact, the
// order is the project's order, and only the membership of a row is approximate. A query that finds
// fewer than k other points (heavy duplicates can leave parts of the graph unreachable) is answered by an
// exact scan, so every row holds k distinct valid neighbours.
#include <hnswlib/hnswlib.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <new>
#include <stdexcept>
#include <vector>

#include "knn/internal.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::detail {
namespace {

// hnswlib draws each point's top layer from its own generator; a fixed seed (hnswlib's default) makes the
// graph a function of the data and the parameters only. Not Options::seed: a run resumed with another
// seed must rebuild the same P.
constexpr std::size_t level_seed = 100;

// The float image of the data that hnswlib indexes. Two exact power-of-two scalings around the centring:
// x' = x 2^-e0 with |x'| < 1 (so the mean and the differences cannot overflow, even near DBL_MAX), then
// (x' - mean') 2^-e1 with every |coordinate| < 1 (so float neither overflows nor wastes its exponent
// range, and a large common offset does not eat the float mantissa). Distances only change by the
// rounding, and they are recomputed exactly anyway.
struct FloatMap {
    std::vector<double> mean;  // mean of the x'
    int e0 = 0;
    int e1 = 0;

    void apply(const double* row, std::vector<float>& out) const {
        // ldexp, not products with 2^-e: such a power alone may overflow for subnormal or huge data.
        for (std::size_t j = 0; j < mean.size(); ++j)
            out[j] = static_cast<float>(std::ldexp(std::ldexp(row[j], -e0) - mean[j], -e1));
    }
};

FloatMap float_map(ConstMatrixView x) {
    FloatMap map;
    const auto d = static_cast<std::size_t>(x.cols);
    double max_abs = 0;
    for (index_t i = 0; i < x.size(); ++i) max_abs = std::max(max_abs, std::abs(x.data[i]));
    if (max_abs > 0) std::frexp(max_abs, &map.e0);  // max_abs in [2^(e0-1), 2^e0)
    map.mean.assign(d, 0.0);
    for (index_t i = 0; i < x.rows; ++i)
        for (std::size_t j = 0; j < d; ++j) map.mean[j] += std::ldexp(x.row(i)[j], -map.e0);
    for (double& m : map.mean) m /= static_cast<double>(x.rows);
    double spread = 0;
    for (index_t i = 0; i < x.rows; ++i)
        for (std::size_t j = 0; j < d; ++j)
            spread = std::max(spread, std::abs(std::ldexp(x.row(i)[j], -map.e0) - map.mean[j]));
    if (spread > 0) std::frexp(spread, &map.e1);  // constant data keeps e1 = 0: all zeros
    return map;
}

void exact_scan_all(ConstMatrixView x, index_t k, Metric metric, int threads, NeighborGraph& graph) {
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        std::vector<Neighbor> scratch;
        for (index_t i = begin; i < end; ++i) exact_scan_row(x, i, k, scratch, graph, metric);
    });
}

// Answers every row from the index; returns the number of rows that needed an exact scan.
//
// Each point is a member of the index, so its search starts at its own node on the bottom layer
// (searchBaseLayerST, public in hnswlib) instead of descending from the global entry point (searchKnn).
// On well-separated clusters the descent sometimes ends in the wrong cluster and the row's every
// neighbour is wrong; started at the point itself, the search cannot leave its neighbourhood unless the
// neighbourhood is worse (100,000 points of 20 clusters in 50-D, M 16, ef 91: rows with recall below
// 0.5 fell from 25 to 7 of 2,000, mean recall rose from 0.920 to 0.927, at no extra time).
// The share of the work the serial insertion takes, for progress (two thirds of the time at 70,000
// Fashion-MNIST points on two cores).
constexpr double hnsw_build_share = 0.65;

index_t search_all(ConstMatrixView x, index_t k, index_t ef, Metric metric, const FloatMap& map,
                   const hnswlib::HierarchicalNSW<float>& index, int threads, NeighborGraph& graph,
                   const SearchProgress& progress) {
    // The node of each point (its label is its index); read from the map once, before the threads.
    std::vector<hnswlib::tableint> node(static_cast<std::size_t>(x.rows));
    for (index_t i = 0; i < x.rows; ++i)
        node[static_cast<std::size_t>(i)] = index.label_lookup_.at(static_cast<hnswlib::labeltype>(i));
    std::atomic<index_t> exact_rows{0};
    parallel_for_reporting(x.rows, threads, [&](index_t begin, index_t end) {
        std::vector<float> query(static_cast<std::size_t>(x.cols));
        std::vector<Neighbor> candidates;
        candidates.reserve(static_cast<std::size_t>(ef));
        index_t exact = 0;
        for (index_t i = begin; i < end; ++i) {
            const double* q = x.row(i);
            map.apply(q, query);
            auto found = index.searchBaseLayerST<false>(node[static_cast<std::size_t>(i)], query.data(),
                                                        static_cast<std::size_t>(ef));
            candidates.clear();
            for (; !found.empty(); found.pop()) {
                const auto p = static_cast<point_t>(index.getExternalLabel(found.top().second));
                if (static_cast<index_t>(p) != i)
                    candidates.push_back(candidate(i, p, squared_distance(q, x.row(p), x.cols)));
            }
            if (static_cast<index_t>(candidates.size()) < k) {
                exact_scan_row(x, i, k, candidates, graph, metric);
                ++exact;
            } else {
                write_row(candidates, i, k, graph, metric);
            }
        }
        exact_rows += exact;
    }, progress, hnsw_build_share, 1.0);
    return exact_rows.load();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU seconds of the calling thread: the build's cost on a shared machine, where wall time is noise.
double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

double hnsw_bytes(double n, double d, const NeighborOptions& options) {
    // hnswlib: each point's float row and bottom-layer links (2 M of 4 bytes), and about 110 bytes more a
    // point (link count, label, upper-layer pointer and links, lock, visited lists, the search's results),
    // measured at 1,000,000 x 50 (benchmarks/RESULTS.md, section 6).
    const double m = options.hnsw_m;
    return n * (4 * d + 8 * m + 110);
}

NeighborGraph knn_hnsw(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                       HnswReport* report, const SearchProgress& progress) {
    require(options.metric == Metric::euclidean || searches_metric_rows(options.metric),
            "the hnsw backend cannot compute ", to_string(options.metric), " distances");
    HnswReport local;
    HnswReport& r = report ? *report : local;
    r = HnswReport{};
    const index_t n = x.rows;
    const index_t ef = resolve_hnsw_ef_search(options, k);
    NeighborGraph graph = allocate_graph(n, k);
    // A search with ef >= N - 1 would visit (nearly) every point: the exact scan costs no more and settles
    // tiny inputs and k = N - 1 exactly.
    if (ef >= n - 1) {
        const auto start = std::chrono::steady_clock::now();
        exact_scan_all(x, k, options.metric, threads, graph);
        r.search_seconds = seconds_since(start);
        r.exact_rows = n;
        return graph;
    }
    try {
        auto start = std::chrono::steady_clock::now();
        const double cpu_start = thread_cpu_seconds();
        const FloatMap map = float_map(x);
        hnswlib::L2Space space(static_cast<std::size_t>(x.cols));
        // Scoped: the index (about N (8 M + 4 D + 100) bytes) is freed as soon as the graph is complete.
        hnswlib::HierarchicalNSW<float> index(
            &space, static_cast<std::size_t>(n), static_cast<std::size_t>(options.hnsw_m),
            static_cast<std::size_t>(options.hnsw_ef_construction), level_seed);
        std::vector<float> row(static_cast<std::size_t>(x.cols));
        const index_t report_every = std::max<index_t>(1, n / 32);
        for (index_t i = 0; i < n; ++i) {
            map.apply(x.row(i), row);
            index.addPoint(row.data(), static_cast<hnswlib::labeltype>(i));
            if (progress && (i + 1) % report_every == 0)
                progress(hnsw_build_share * static_cast<double>(i + 1) / static_cast<double>(n));
        }
        r.build_seconds = seconds_since(start);
        r.build_cpu_seconds = thread_cpu_seconds() - cpu_start;
        start = std::chrono::steady_clock::now();
        // The bottom-layer search takes ef as an argument: no shared state is written during the queries
        // (searchKnn would read the index's ef member instead, set by setEf).
        r.exact_rows = search_all(x, k, ef, options.metric, map, index, threads, graph, progress);
        r.search_seconds = seconds_since(start);
    } catch (const Error&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw NumericalError(concat("hnsw index of ", n, " points (M ", options.hnsw_m, "): out of memory"));
    } catch (const std::runtime_error& e) {
        // hnswlib reports failed allocations (and internal inconsistencies) as runtime_error.
        throw NumericalError(concat("hnsw index of ", n, " points: ", e.what()));
    }
    return graph;
}

}  // namespace treesne::detail
