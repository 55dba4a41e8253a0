// k-nearest-neighbour graphs: exact (kd-tree, brute force) and approximate (HNSW). nanoflann is included
// by knn/kdtree.cpp only, hnswlib by knn/hnsw.cpp only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "treesne/core/hash.hpp"
#include "treesne/knn/graph.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// Squared Euclidean distance, summed in index order: the one definition every backend reports for the
/// euclidean metric.
double squared_distance(const double* a, const double* b, index_t d);

/// k-nearest-neighbour graph of the rows of X by options.metric with the chosen backend (automatic
/// resolved by resolve_backend for the metric: exact unless it is hnsw or nndescent, which automatic
/// picks only for large N), with that backend's parameters. Requires 1 <= k <= N-1, N <= 2^32-1, finite
/// X, valid options (validate(NeighborOptions), which refuses a backend that cannot compute the metric)
/// and, for cosine, no all-zero row (the search then runs on a unit-length copy of the rows, N D doubles
/// more). threads: 0 = all; the graph does not depend on it. progress, if given, is called from the
/// calling thread with the fraction of the search done (increasing, up to 1; for nndescent, whose rounds
/// stop when the graph settles, the rounds count as if all were run, and the end jumps to 1).
NeighborGraph nearest_neighbors(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                                const std::function<void(double)>& progress = {});

/// k float values made from each row of a finished graph (embed(): its conditional probabilities), so
/// that a search that settles its rows' exact distances one row at a time never holds all N k of them
/// (nndescent: 8 N k bytes, 687 MiB at 10^6 points and k = 90). compute(i, indices, distances, out) gets
/// row i as the graph holds it (sorted by distance) and writes k values to out; it is called once a row,
/// from any of the search's threads, in no fixed order (the values may not depend on it).
struct RowValues {
    std::function<void(index_t, const point_t*, const double*, float*)> compute;
    std::vector<float> values;  ///< n*k, row i's from compute (filled by nearest_neighbors)
};

/// nearest_neighbors() that hands every row to row_values.compute instead of keeping its distances: the
/// graph returned has its indices and no distances (as after compute_affinities), and row_values.values
/// holds the n*k values. The same indices, and the values of the same distances, as the search without it.
NeighborGraph nearest_neighbors(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                                const std::function<void(double)>& progress, RowValues& row_values);

namespace detail {
/// nearest_neighbors(x, ..., row_values) for a caller that owns x and lets the search move its rows while it
/// runs (they are back in place when it returns, or throws): nndescent then reads them instead of making
/// a float copy (4 N D bytes less at its peak, 191 MiB at 10^6 x 50). The same graph and values.
NeighborGraph nearest_neighbors_reordering(MatrixView x, index_t k, const NeighborOptions& options, int threads,
                                           const std::function<void(double)>& progress, RowValues& row_values);
}  // namespace detail

/// k-nearest-neighbour graph of sparse rows (CSR, csr_matrix_defect() must find nothing), never
/// densified, for the metrics sparse_supports() lists (euclidean; cosine, with no all-zero row; jaccard;
/// hamming). Backends (resolve_sparse_backend): brute, an exact search on inverted lists whose graph
/// equals nearest_neighbors(to_dense(x), k, options) bit for bit; nndescent, the approximate search on
/// the sparse rows (the rows the nearest found, with exact distances, sorted as every backend sorts);
/// kdtree and hnsw are refused with InvalidArgument. Either gives the same graph for any thread count.
/// Extra memory: sparse_search_bytes() (brute) or the nndescent working graph; for cosine a unit-length
/// copy of the rows too.
NeighborGraph nearest_neighbors(ConstCsrView x, index_t k, const NeighborOptions& options, int threads,
                                const std::function<void(double)>& progress = {});

/// Bytes of the sparse search's buffers for N rows, D features, nnz entries and k neighbours, by the
/// backend resolve_sparse_backend() picks: brute, the rows by column (8 (D + 1) + 12 nnz), a key and an
/// order a row (12 N) and per thread 20 bytes a row (threads: 0 = all); nndescent, its working graph
/// (about N (4.25 k + 4 reverse_cap + 17 + 4 trees)) and two dense rows of D doubles a thread; for cosine
/// a unit-length copy of the rows too.
double sparse_search_bytes(double n, double d, double nnz, double k, int threads, const NeighborOptions& options);

/// The backend nearest_neighbors() uses for sparse rows: as asked, or for automatic the exact search up
/// to approximate_knn_min_points rows (its cost grows as N^2 on rows that share features) and nndescent
/// beyond.
KnnBackend resolve_sparse_backend(KnnBackend backend, index_t n);

/// Whether nearest_neighbors() takes sparse rows with this metric.
bool sparse_supports(Metric metric);

/// The same with the backend's default parameters, euclidean.
NeighborGraph nearest_neighbors(ConstMatrixView x, index_t k, KnnBackend backend, int threads);

/// The k nearest reference points of each query point by the Euclidean distance (the queries need not
/// be reference points, and no point is skipped as "self"): an M x k graph whose row i holds indices of
/// rows of `reference`, with NeighborGraph's invariants otherwise (rows sorted by squared_distance(),
/// ties by tie_key(i, j)), equal to an exact scan bit for bit whatever the backend or thread count.
/// Backends: kdtree and brute as asked; automatic, hnsw and nndescent use the exact one automatic picks for
/// the reference alone (kdtree in up to 4 dimensions, else brute: queries are usually few next to N, and an
/// approximate index would first have to be built over all N points). Requires 1 <= k <= N, N <= 2^32-1, M >=
/// 1, as many columns in both, finite values. threads: 0 = all. progress as for nearest_neighbors().
NeighborGraph nearest_neighbors_of(ConstMatrixView reference, ConstMatrixView queries, index_t k,
                                   KnnBackend backend, int threads,
                                   const std::function<void(double)>& progress = {});

/// Reference O(N^2 D) scan by a metric, single-threaded: the oracle the tests compare the backends with.
NeighborGraph nearest_neighbors_naive(ConstMatrixView x, index_t k, Metric metric = Metric::euclidean);

}  // namespace treesne
