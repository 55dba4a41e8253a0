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

/// Above this many points, in at least approximate_knn_min_dims dimensions, KnnBackend::automatic picks
/// the approximate nndescent backend: near 250,000 x 50 it ties with the exact brute force at the same
/// final KL, and the brute force grows as N^2 (benchmarks/RESULTS.md, sections 6 and 10.1).
constexpr index_t approximate_knn_min_points = 300'000;
constexpr index_t approximate_knn_min_dims = 20;

/// Resolves KnnBackend::automatic for N points in D dimensions: the faster exact backend (kdtree or
/// brute), or nndescent above the crossover above. Other backends are returned as they are.
KnnBackend resolve_backend(KnnBackend backend, index_t n, index_t d, Metric metric = Metric::euclidean);

/// Bytes a resolved backend allocates beyond the graph it returns, for N points of D dimensions and k
/// neighbours (each backend's own model), plus the unit-length copy of the rows that Metric::cosine
/// searches. Counts times element sizes, like memory.hpp's estimate.
double neighbor_search_bytes(KnnBackend backend, double n, double d, double k, const NeighborOptions& options);

/// Whether a backend computes a metric (automatic: every metric, by resolve_backend's choice).
bool backend_supports(KnnBackend backend, Metric metric);

/// Throws InvalidArgument naming the field unless the hnsw and nndescent parameters are in their ranges
/// (checked for every backend, so a bad value never waits for the backend that reads it).
void validate(const NeighborOptions& options);

/// The ef of the hnsw queries for k neighbours: the option if set (at least k + 1), else the measured
/// default (neighbors.cpp).
index_t resolve_hnsw_ef_search(const NeighborOptions& options, index_t k);

/// Reference O(N^2 D) scan by a metric, single-threaded: the oracle the tests compare the backends with.
NeighborGraph nearest_neighbors_naive(ConstMatrixView x, index_t k, Metric metric = Metric::euclidean);

}  // namespace treesne
