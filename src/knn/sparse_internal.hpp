// The sparse-row neighbour search (sparse.cpp), private to src/knn.
#pragma once

#include <vector>

#include "knn/internal.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/knn/graph.hpp"

namespace treesne::detail {

/// rank_distance() of rows a of x and b of y, from their stored entries alone (merged in column order):
/// equal bit for bit to rank_distance() of the dense rows, whose zero terms add nothing. scratch: reused
/// storage.
double sparse_rank_distance(Metric metric, ConstCsrView x, index_t a, ConstCsrView y, index_t b,
                            std::vector<double>& scratch);

/// Whether the metric's rank distance is a ratio of coordinate counts (jaccard, hamming): exact from
/// integer counts, so the sparse searches need no error bound or float scale for it.
inline bool counts_coordinates(Metric metric) {
    return metric == Metric::jaccard || metric == Metric::hamming;
}

/// Row q of the exact graph by a scan of every row of x (self skipped): the k nearest by
/// (sparse_rank_distance, tie key), written to graph row q. scratch and row are reused storage.
void sparse_exact_row(ConstCsrView x, index_t q, index_t k, Metric metric, std::vector<double>& scratch,
                      std::vector<Neighbor>& row, NeighborGraph& graph);

/// unit_rows() of the sparse rows: the same stored values as its dense rows' non-zeros, bit for bit.
/// Throws InvalidArgument naming the first all-zero row (1-based), as unit_rows() does.
CsrMatrix sparse_unit_rows(ConstCsrView x, int threads);

/// The exact graph of sparse rows (checked; for cosine, x holds sparse_unit_rows()) by inverted lists:
/// equal to nearest_neighbors_naive(to_dense(x), k, metric) bit for bit, for any thread count.
NeighborGraph knn_sparse(ConstCsrView x, index_t k, Metric metric, int threads, const SearchProgress& progress);

/// The nndescent backend on sparse rows (nndescent_sparse.cpp): the graph's rows are approximate (the
/// nearest found), their distances sparse_rank_distance()'s, sorted as every backend sorts; the same
/// graph for any thread count. For cosine, x holds sparse_unit_rows(). report may be null.
NeighborGraph knn_nndescent_sparse(ConstCsrView x, index_t k, const NndescentParameters& p, int threads,
                                   NndescentReport* report, const SearchProgress& progress);

}  // namespace treesne::detail
