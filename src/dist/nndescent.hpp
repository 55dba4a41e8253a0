// The approximate neighbour search across ranks (`--knn nndescent` under mpirun): a random-projection
// forest and NN-descent's local joins over rows that stay with their owners. The graph is a pure
// function of the data, k and the parameters: the same for any number of ranks R >= 1 and any thread
// count (not the single process's nndescent graph, which is asynchronous within a round). Algorithm,
// determinism and memory in nndescent.cpp. Each function is collective.
#pragma once
#include <functional>
#include <string>

#include "knn/internal.hpp"
#include "treesne/core/collective.hpp"
#include "treesne/knn/graph.hpp"

namespace treesne::dist {

/// Whether n points, k neighbours are few enough that the exact search answers instead (as the single
/// process's nndescent answers them by an exact scan): then ring_search gives the same graph.
bool nndescent_exact(index_t n, index_t k, const detail::NndescentParameters& p);

/// The approximate k nearest neighbours of this rank's rows (own: rows [rows.begin(rank), rows.end(rank))
/// of the whole data; for cosine the unit rows): global indices, each distance the exact rank_distance()
/// of the pair as reported_distance() gives it, each row sorted by (distance, tie key). Rows of other
/// ranks are fetched in batches as the joins need them. progress: fractions in [0, 1], or empty.
NeighborGraph nndescent_rows(Collective& collective, ConstMatrixView own, const RowPartition& rows, index_t k,
                             const detail::NndescentParameters& p, int threads,
                             const std::function<void(double)>& progress);

/// Rank 0 writes every rank's rows of the graph's indices (in rank order: n x k, as doubles) to path
/// (io::write_matrix): the TREESNE_DIST_DUMP_GRAPH aid of embed_rows, for tests that compare graphs.
void write_graph_indices(Collective& collective, const NeighborGraph& own, index_t n, const std::string& path);

/// Bytes one rank holds beyond its rows of X while nndescent_rows runs, at its largest, for `rows` own
/// rows (of n) of d coordinates and k neighbours: O(rows k) for the graph, a phase's lists and kept
/// reverse links, plus the largest round of an exchange (bounded independently of N).
double nndescent_rank_bytes(double n, double rows, double d, double k, const detail::NndescentParameters& p);

}  // namespace treesne::dist
