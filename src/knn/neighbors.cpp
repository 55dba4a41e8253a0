// The neighbour-search entry points: argument checks, backend choice and the naive reference scan.
#include "treesne/knn/neighbors.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "knn/internal.hpp"
#include "knn/sparse_internal.hpp"
#include "core/permutation.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {

double squared_distance(const double* a, const double* b, index_t d) {
    double sum = 0.0;
    for (index_t j = 0; j < d; ++j) {
        const double diff = a[j] - b[j];
        sum += diff * diff;
    }
    return sum;
}

// The exact backends' crossover (benchmarks/RESULTS.md, section 10.1): the kd-tree wins up to D = 4 at
// every N; the brute force from D = 5 up to N ~ 200k, where the kd-tree catches up at D = 5 (brute is
// O(N^2), the kd-tree's queries grow slowly with N).
//
// Other metrics (not measured separately): cosine is the Euclidean search on the unit rows, so it
// follows the Euclidean choice, and so does correlation (cosine on the centred rows); manhattan too (the
// kd-tree prunes by L1 bounds as well). chebyshev has no kd-tree (nanoflann's pruning sums
// per-coordinate bounds, which the maximum does not obey), and jaccard and hamming, which are not norms
// of differences, have neither a kd-tree nor an hnsw space: the brute force, or nndescent above the
// approximate crossover's N in any dimension (in low dimension the brute force's O(N^2) would otherwise
// be the only choice, and the graph search does well there).
double neighbor_search_bytes(KnnBackend backend, double n, double d, double k, const NeighborOptions& options) {
    double bytes = 0;
    switch (backend) {
        case KnnBackend::brute:
            bytes = options.metric == Metric::jaccard || options.metric == Metric::hamming
                        ? detail::count_scan_bytes(n, d)
                        : detail::brute_bytes(n, d);
            break;
        case KnnBackend::hnsw:
            bytes = detail::hnsw_bytes(n, d, options);
            break;
        case KnnBackend::nndescent:
            bytes = detail::nndescent_bytes(n, d, k, options);
            break;
        case KnnBackend::kdtree:
        default:
            bytes = detail::kdtree_bytes(n);
            break;
    }
    // cosine searches a unit-length copy of the rows, correlation a centred unit-length copy
    if (detail::searches_metric_rows(options.metric)) bytes += n * d * 8;
    return bytes;
}

namespace detail {

void check_knn_arguments(ConstMatrixView x, index_t k) {
    const index_t n = x.rows;
    require(n >= 2, "nearest neighbours need at least 2 points; got ", n);
    require(n <= static_cast<index_t>(std::numeric_limits<point_t>::max()),
            "nearest neighbours support at most 4294967295 points; got ", n);
    require(x.cols >= 1, "nearest neighbours need at least 1 dimension; got ", x.cols);
    require(k >= 1 && k <= n - 1, "number of neighbours k must be in [1, N-1] = [1, ", n - 1, "]; got ", k);
    require(x.data != nullptr, "nearest neighbours: null data");
    const index_t size = x.size();
    for (index_t i = 0; i < size; ++i) {
        if (!std::isfinite(x.data[i])) {
            require(false, "nearest neighbours need finite coordinates; row ", i / x.cols, ", column ",
                    i % x.cols, " is ", x.data[i]);
        }
    }
}

void check_query_arguments(ConstMatrixView reference, ConstMatrixView queries, index_t k) {
    const index_t n = reference.rows;
    require(n >= 1, "nearest neighbours need at least 1 reference point; got ", n);
    require(n <= static_cast<index_t>(std::numeric_limits<point_t>::max()),
            "nearest neighbours support at most 4294967295 reference points; got ", n);
    require(reference.cols >= 1, "nearest neighbours need at least 1 dimension; got ", reference.cols);
    require(queries.rows >= 1, "nearest neighbours need at least 1 query point; got ", queries.rows);
    require(queries.cols == reference.cols, "the query points have ", queries.cols,
            " columns but the reference points ", reference.cols);
    require(k >= 1 && k <= n, "number of neighbours k must be in [1, N] = [1, ", n, "]; got ", k);
    require(reference.data != nullptr && queries.data != nullptr, "nearest neighbours: null data");
    for (const auto& [m, what] : {std::pair{reference, "reference"}, std::pair{queries, "query"}}) {
        const index_t size = m.size();
        for (index_t i = 0; i < size; ++i)
            if (!std::isfinite(m.data[i]))
                require(false, "nearest neighbours need finite coordinates; ", what, " row ", i / m.cols,
                        ", column ", i % m.cols, " is ", m.data[i]);
    }
}

NeighborGraph allocate_graph(index_t n, index_t k) {
    NeighborGraph graph;
    graph.n = n;
    graph.k = k;
    graph.indices.resize(static_cast<std::size_t>(n * k));
    graph.distances.resize(static_cast<std::size_t>(n * k));
    return graph;
}

void write_row(std::vector<Neighbor>& candidates, index_t query, index_t k, NeighborGraph& graph,
               Metric metric) {
    write_row(candidates, k, graph.indices.data() + query * k, graph.distances.data() + query * k, metric);
}

void write_row(std::vector<Neighbor>& candidates, index_t k, point_t* indices, double* distances, Metric metric) {
    const auto kk = static_cast<std::ptrdiff_t>(k);
    if (static_cast<index_t>(candidates.size()) > k) {
        std::nth_element(candidates.begin(), candidates.begin() + kk, candidates.end());
    }
    std::sort(candidates.begin(), candidates.begin() + kk);
    for (index_t j = 0; j < k; ++j) {
        indices[j] = candidates[static_cast<std::size_t>(j)].index;
        distances[j] = reported_distance(metric, candidates[static_cast<std::size_t>(j)].distance);
    }
}

namespace {

// Scales row[0, d) to unit Euclidean length into out (which may be row): first exactly by the power of two
// that brings its largest |entry| into [1/2, 1), so that the norm neither overflows nor underflows, then
// divided by the norm, summed in index order. Returns false for an all-zero row (out unspecified).
bool to_unit_length(const double* row, double* out, index_t d) {
    double largest = 0.0;
    for (index_t j = 0; j < d; ++j) largest = std::max(largest, std::abs(row[j]));
    if (!(largest > 0.0)) return false;
    int exponent = 0;
    std::frexp(largest, &exponent);  // largest in [2^(e-1), 2^e)
    double norm = 0.0;
    for (index_t j = 0; j < d; ++j) {
        out[j] = std::ldexp(row[j], -exponent);
        norm += out[j] * out[j];
    }
    norm = std::sqrt(norm);
    for (index_t j = 0; j < d; ++j) out[j] /= norm;
    return true;
}

// Row i of the result is make(row i of x, its output row, d); make returns false for a row the metric
// cannot take, and the first such row (1-based) is refused: "<metric> distance is undefined for row i
// (<why>)". Rows in parallel; the first refused row is found whatever the thread count (each range
// records its first, the smallest wins).
template <class MakeRow>
Matrix rows_for_metric(ConstMatrixView x, int threads, const char* metric, const char* why, const MakeRow& make) {
    Matrix out(x.rows, x.cols);
    std::vector<index_t> refused;
    std::mutex refused_mutex;
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            if (!make(x.row(i), out.row(i), x.cols)) {
                const std::lock_guard<std::mutex> lock(refused_mutex);
                refused.push_back(i);
                return;
            }
        }
    });
    if (!refused.empty())
        require(false, metric, " distance is undefined for row ", *std::min_element(refused.begin(), refused.end()) + 1,
                " (", why, ")");
    return out;
}

}  // namespace

Matrix unit_rows(ConstMatrixView x, int threads) {
    return rows_for_metric(x, threads, "cosine", "all zeros", to_unit_length);
}

Matrix centred_unit_rows(ConstMatrixView x, int threads) {
    return rows_for_metric(x, threads, "correlation", "constant", [](const double* row, double* out, index_t d) {
        bool constant = true;
        for (index_t j = 1; j < d; ++j) constant = constant && row[j] == row[0];
        if (constant) return false;
        // Scaled first by the power of two of to_unit_length (exact), so that the sum cannot overflow.
        double largest = 0.0;
        for (index_t j = 0; j < d; ++j) largest = std::max(largest, std::abs(row[j]));
        int exponent = 0;
        std::frexp(largest, &exponent);
        double sum = 0.0;
        for (index_t j = 0; j < d; ++j) {
            out[j] = std::ldexp(row[j], -exponent);
            sum += out[j];
        }
        const double mean = sum / static_cast<double>(d);
        for (index_t j = 0; j < d; ++j) out[j] -= mean;
        // Not constant, so some entry differs from the mean: never all zeros.
        return to_unit_length(out, out, d);
    });
}

Matrix metric_rows(ConstMatrixView x, Metric metric, int threads) {
    if (metric == Metric::cosine) return unit_rows(x, threads);
    if (metric == Metric::correlation) return centred_unit_rows(x, threads);
    return Matrix();
}

bool is_binary(ConstMatrixView x) {
    const index_t size = x.size();
    for (index_t i = 0; i < size; ++i)
        if (x.data[i] != 0.0 && x.data[i] != 1.0) return false;
    return true;
}

void parallel_for_reporting(index_t n, int threads, const std::function<void(index_t, index_t)>& fn,
                            const SearchProgress& progress, double from, double to) {
    // Chunks of about 1/64 of a thread's share: the last to finish leaves the others idle briefly.
    const index_t grain = std::max<index_t>(1, n / (64 * static_cast<index_t>(resolve_threads(threads))));
    if (!progress) {
        parallel_for(n, threads, fn, grain);
        return;
    }
    // One loop, no barriers: the calling thread (thread 0 of the team) reports after each of its own
    // chunks once the work done has crossed the next 1/32. (Slices that each ended at a barrier left a
    // thread idle for up to a chunk per slice: RESULTS.md, section 10.7.)
    constexpr index_t reports = 32;
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<index_t> done{0};
    index_t next_report = (n + reports - 1) / reports;  // these two are read and written by the caller only
    bool reported_end = false;
    parallel_for(
        n, threads,
        [&](index_t begin, index_t end) {
            fn(begin, end);
            const index_t total = done.fetch_add(end - begin, std::memory_order_relaxed) + (end - begin);
            if (std::this_thread::get_id() != caller || total < next_report) return;
            next_report = total + (n + reports - 1) / reports;
            reported_end = total == n;
            progress(from + (to - from) * static_cast<double>(total) / static_cast<double>(n));
        },
        grain);
    if (!reported_end) progress(to);
}

void exact_scan_row(ConstMatrixView x, index_t query, index_t k, std::vector<Neighbor>& scratch,
                    NeighborGraph& graph, Metric metric) {
    exact_scan(x, x.row(query), query, query, k, scratch, graph, metric);
}

void exact_scan(ConstMatrixView x, const double* q, index_t query, index_t skip, index_t k,
                std::vector<Neighbor>& scratch, NeighborGraph& graph, Metric metric) {
    exact_candidates(x, q, query, skip, scratch, metric);
    write_row(scratch, query, k, graph, metric);
}

void exact_candidates(ConstMatrixView x, const double* q, index_t query, index_t skip,
                      std::vector<Neighbor>& scratch, Metric metric) {
    scratch.clear();
    scratch.reserve(static_cast<std::size_t>(x.rows));
    for (index_t j = 0; j < x.rows; ++j) {
        if (j == skip) continue;
        scratch.push_back(
            candidate(query, static_cast<point_t>(j), rank_distance(metric, q, x.row(j), x.cols)));
    }
}

}  // namespace detail

NeighborGraph nearest_neighbors_naive(ConstMatrixView x, index_t k, Metric metric) {
    detail::check_knn_arguments(x, k);
    const Matrix rows = detail::metric_rows(x, metric, 1);
    if (detail::searches_metric_rows(metric)) x = rows;
    NeighborGraph graph = detail::allocate_graph(x.rows, k);
    std::vector<detail::Neighbor> scratch;
    for (index_t i = 0; i < x.rows; ++i) detail::exact_scan_row(x, i, k, scratch, graph, metric);
    return graph;
}

namespace {

// A search's progress callback that remembers the last fraction it passed on, so that every path can
// end at 1 (finish()) whether or not the backend reported it.
struct TrackedProgress {
    explicit TrackedProgress(const std::function<void(double)>& to) : progress(to) {
        if (progress)
            callback = [this](double fraction) {
                last = fraction;
                progress(fraction);
            };
    }
    void finish() const {
        if (progress && last < 1.0) progress(1.0);
    }
    const std::function<void(double)>& progress;
    double last = 0.0;
    detail::SearchProgress callback;
};

// The backends that keep every distance until the end hand the finished graph's rows over at once.
void hand_rows_over(NeighborGraph& graph, RowValues& row_values, int threads) {
    const index_t k = graph.k;
    row_values.values.assign(static_cast<std::size_t>(graph.n * k), 0.0f);
    parallel_for(graph.n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i)
            row_values.compute(i, graph.row_indices(i), graph.row_distances(i), row_values.values.data() + i * k);
    });
    graph.distances = std::vector<double>();
}

NeighborGraph nearest_neighbors_impl(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                                     const std::function<void(double)>& progress, RowValues* row_values,
                                     double* reorderable) {
    // All checks before any work: hnsw must never build an index over NaN or Inf.
    detail::check_knn_arguments(x, k);
    require(threads >= 0, "threads must be >= 0 (0 = all); got ", threads);
    validate(options);
    // Every path ends at 1 (the small-input shortcuts report nothing on their way).
    TrackedProgress tracked(progress);
    const Metric metric = options.metric;
    // Cosine is the Euclidean search on the rows scaled to unit length, correlation on the rows centred
    // and scaled to unit length (the copy lives for the search).
    Matrix rows = detail::metric_rows(x, metric, threads);
    const ConstMatrixView data = detail::searches_metric_rows(metric) ? rows.view() : x;
    if (detail::searches_metric_rows(metric)) reorderable = rows.data();  // the search's own copy
    NeighborGraph graph;
    switch (resolve_backend(options.backend, x.rows, x.cols, metric)) {
        case KnnBackend::kdtree:
            graph = detail::knn_kdtree(data, k, metric, threads, tracked.callback);
            break;
        case KnnBackend::hnsw:
            graph = detail::knn_hnsw(data, k, options, threads, nullptr, tracked.callback);
            break;
        case KnnBackend::nndescent:
            graph = detail::knn_nndescent(data, k, options, threads, tracked.callback, row_values, reorderable);
            break;
        case KnnBackend::brute:
        default:
            graph = detail::knn_brute(data, k, metric, threads, tracked.callback);
            break;
    }
    if (row_values && !graph.distances.empty()) hand_rows_over(graph, *row_values, threads);
    tracked.finish();
    return graph;
}

}  // namespace

NeighborGraph nearest_neighbors(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                                const std::function<void(double)>& progress) {
    return nearest_neighbors_impl(x, k, options, threads, progress, nullptr, nullptr);
}

NeighborGraph nearest_neighbors(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                                const std::function<void(double)>& progress, RowValues& row_values) {
    require(static_cast<bool>(row_values.compute), "nearest_neighbors: RowValues without a compute function");
    return nearest_neighbors_impl(x, k, options, threads, progress, &row_values, nullptr);
}

NeighborGraph detail::nearest_neighbors_reordering(MatrixView x, index_t k, const NeighborOptions& options,
                                                   int threads, const std::function<void(double)>& progress,
                                                   RowValues& row_values) {
    require(static_cast<bool>(row_values.compute), "nearest_neighbors: RowValues without a compute function");
    return nearest_neighbors_impl(x, k, options, threads, progress, &row_values, x.data);
}

bool sparse_supports(Metric metric) {
    return metric == Metric::euclidean || metric == Metric::cosine || metric == Metric::jaccard ||
           metric == Metric::hamming;
}

KnnBackend resolve_sparse_backend(KnnBackend backend, index_t n) {
    if (backend != KnnBackend::automatic) return backend;
    return n > approximate_knn_min_points ? KnnBackend::nndescent : KnnBackend::brute;
}

double sparse_search_bytes(double n, double d, double nnz, double k, int threads, const NeighborOptions& options) {
    const double per_thread = static_cast<double>(resolve_threads(threads));
    double bytes = 0;
    if (resolve_sparse_backend(options.backend, static_cast<index_t>(n)) == KnnBackend::nndescent) {
        // nndescent_sparse.cpp: working distances and flags, reverse lists, locks and worst distances,
        // norms, a tree a point per tree (while the first graph is built), two dense rows a thread.
        const detail::NndescentParameters p = detail::resolve_nndescent(options, static_cast<index_t>(n),
                                                                        static_cast<index_t>(k));
        bytes = n * (4 * k + 2 * std::ceil(k / 8) + 4 * static_cast<double>(p.reverse_cap) + 4 + 5 + 8 +
                     4 * static_cast<double>(p.trees)) +
                per_thread * 16 * d;
    } else {
        bytes = 8.0 * (d + 1) + 12.0 * nnz + 12.0 * n + 20.0 * n * per_thread;
    }
    if (options.metric == Metric::cosine) bytes += csr_matrix_bytes(n, nnz);
    return bytes;
}

NeighborGraph nearest_neighbors(ConstCsrView x, index_t k, const NeighborOptions& options, int threads,
                                const std::function<void(double)>& progress) {
    const std::string defect = csr_matrix_defect(x);
    require(defect.empty(), "nearest neighbours: sparse input: ", defect);
    const index_t n = x.rows;
    require(n >= 2, "nearest neighbours need at least 2 points; got ", n);
    require(n <= static_cast<index_t>(std::numeric_limits<point_t>::max()),
            "nearest neighbours support at most 4294967295 points; got ", n);
    require(k >= 1 && k <= n - 1, "number of neighbours k must be in [1, N-1] = [1, ", n - 1, "]; got ", k);
    require(threads >= 0, "threads must be >= 0 (0 = all); got ", threads);
    validate(options);
    require(sparse_supports(options.metric), "the ", to_string(options.metric),
            " metric is not available for sparse input (sparse rows support euclidean, cosine, jaccard and hamming)");
    require(options.backend == KnnBackend::automatic || options.backend == KnnBackend::brute ||
                options.backend == KnnBackend::nndescent,
            "the ", to_string(options.backend), " backend does not take sparse input (use automatic, brute or nndescent)");
    TrackedProgress tracked(progress);
    CsrMatrix unit;
    ConstCsrView data = x;
    if (options.metric == Metric::cosine) {
        unit = detail::sparse_unit_rows(x, threads);
        data = unit;
    }
    const detail::NndescentParameters p = detail::resolve_nndescent(options, n, k);
    const KnnBackend backend = resolve_sparse_backend(options.backend, n);
    // Small inputs: the exact search costs about as much as a round of nndescent (as knn_nndescent).
    const bool small = n <= std::max<index_t>(4 * (k + 1), p.leaf_size);
    NeighborGraph graph = backend == KnnBackend::nndescent && !small
                              ? detail::knn_nndescent_sparse(data, k, p, threads, nullptr, tracked.callback)
                              : detail::knn_sparse(data, k, options.metric, threads, tracked.callback);
    tracked.finish();
    return graph;
}

NeighborGraph nearest_neighbors_of(ConstMatrixView reference, ConstMatrixView queries, index_t k,
                                   KnnBackend backend, int threads,
                                   const std::function<void(double)>& progress) {
    detail::check_query_arguments(reference, queries, k);
    require(threads >= 0, "threads must be >= 0 (0 = all); got ", threads);
    // automatic and the approximate backends answer with the exact backend automatic picks for the
    // reference (the kd-tree in up to 4 dimensions, else the brute force: the queries are usually few,
    // and an approximate index would have to be built over all N reference points first).
    if (backend != KnnBackend::kdtree && backend != KnnBackend::brute)
        backend = resolve_backend(KnnBackend::automatic, reference.rows, reference.cols) == KnnBackend::kdtree
                      ? KnnBackend::kdtree
                      : KnnBackend::brute;
    if (backend == KnnBackend::kdtree)
        return detail::knn_kdtree_queries(reference, queries, k, threads, progress);
    return detail::knn_brute_queries(reference, queries, k, threads, progress);
}

NeighborGraph nearest_neighbors(ConstMatrixView x, index_t k, KnnBackend backend, int threads) {
    NeighborOptions options;
    options.backend = backend;
    return nearest_neighbors(x, k, options, threads);
}

}  // namespace treesne
