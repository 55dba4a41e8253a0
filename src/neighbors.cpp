// The neighbour-search entry points: argument checks, backend choice and the naive reference scan.
#include "treesne/neighbors.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "knn_internal.hpp"
#include "treesne/errors.hpp"
#include "treesne/options.hpp"

namespace treesne {

double squared_distance(const double* a, const double* b, index_t d) {
    double sum = 0.0;
    for (index_t j = 0; j < d; ++j) {
        const double diff = a[j] - b[j];
        sum += diff * diff;
    }
    return sum;
}

// Crossover of the two exact backends, k = 90, 2 threads, AMD EPYC (Zen 4, -march=native), measured as
// total CPU seconds of the call (the machine was shared, so wall times were noisy); Gaussian / clustered
// (8 Gaussian clusters of different widths) data:
//
//             N = 2,000                 N = 10,000                N = 50,000
//    D    kdtree       brute        kdtree       brute        kdtree        brute
//    2   .024/.024   .027/.030    .093/.089   .135/.134     0.52/0.62    1.15/1.10
//    3   .027/.024   .039/.034    .144/.115   .171/.151     0.76/0.67    1.27/1.24
//    4   .029/.024   .036/.030    .201/.157   .184/.158     1.39/0.98    1.46/1.39
//    5   .044/.025   .032/.032    .275/.174   .198/.170     1.99/2.15    1.63/1.51
//   10   .068/.039   .037/.030    0.90/.256   .260/.192     17.6/5.5     2.43/1.98
//   20   .094/.048   .045/.034    1.76/.341   .332/.211     >150/7.6     3.85/2.78
//   50   .149/.080   .048/.042    3.42/.662   .458/.350     >150/21.4    6.47/4.99
//
// Larger N: kdtree at N = 200k: D = 3 3.9/5.1, D = 5 25.7/17.1, D = 8 >200/50; brute at N = 100k, D = 5:
// 5.0/4.8 (it grows as N^2: ~20 at 200k). Fashion-MNIST PCA-50, N = 70k: brute 8.8 s CPU (4.5 s wall on
// two idle cores). The kd-tree wins up to D = 4 at every N; brute from D = 5 up to N ~ 200k, where the
// kd-tree catches up at D = 5 (brute is O(N^2), the kd-tree's queries grow slowly with N).
KnnBackend resolve_backend(KnnBackend backend, index_t n, index_t d) {
    if (backend != KnnBackend::automatic) return backend;
    const bool low_dimension = d <= 4 || (d == 5 && n > 200'000);
    return low_dimension ? KnnBackend::kdtree : KnnBackend::brute;
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

NeighborGraph allocate_graph(index_t n, index_t k) {
    NeighborGraph graph;
    graph.n = n;
    graph.k = k;
    graph.indices.resize(static_cast<std::size_t>(n * k));
    graph.distances.resize(static_cast<std::size_t>(n * k));
    return graph;
}

void write_row(std::vector<Neighbor>& candidates, index_t query, index_t k, NeighborGraph& graph) {
    const auto kk = static_cast<std::ptrdiff_t>(k);
    if (static_cast<index_t>(candidates.size()) > k) {
        std::nth_element(candidates.begin(), candidates.begin() + kk, candidates.end());
    }
    std::sort(candidates.begin(), candidates.begin() + kk);
    point_t* indices = graph.indices.data() + query * k;
    double* distances = graph.distances.data() + query * k;
    for (index_t j = 0; j < k; ++j) {
        indices[j] = candidates[static_cast<std::size_t>(j)].index;
        distances[j] = candidates[static_cast<std::size_t>(j)].distance;
    }
}

void exact_scan_row(ConstMatrixView x, index_t query, index_t k, std::vector<Neighbor>& scratch,
                    NeighborGraph& graph) {
    scratch.clear();
    scratch.reserve(static_cast<std::size_t>(x.rows));
    const double* q = x.row(query);
    for (index_t j = 0; j < x.rows; ++j) {
        if (j == query) continue;
        scratch.push_back(candidate(query, static_cast<point_t>(j), squared_distance(q, x.row(j), x.cols)));
    }
    write_row(scratch, query, k, graph);
}

}  // namespace detail

NeighborGraph nearest_neighbors_naive(ConstMatrixView x, index_t k) {
    detail::check_knn_arguments(x, k);
    NeighborGraph graph = detail::allocate_graph(x.rows, k);
    std::vector<detail::Neighbor> scratch;
    for (index_t i = 0; i < x.rows; ++i) detail::exact_scan_row(x, i, k, scratch, graph);
    return graph;
}

NeighborGraph nearest_neighbors(ConstMatrixView x, index_t k, KnnBackend backend, int threads) {
    detail::check_knn_arguments(x, k);
    require(threads >= 0, "threads must be >= 0 (0 = all); got ", threads);
    switch (resolve_backend(backend, x.rows, x.cols)) {
        case KnnBackend::kdtree:
            return detail::knn_kdtree(x, k, threads);
        case KnnBackend::brute:
        default:
            return detail::knn_brute(x, k, threads);
    }
}

}  // namespace treesne
