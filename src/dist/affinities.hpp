// P across the ranks: its pattern, the locality order, then its values at their final owners; every
// exchange in bounded rounds, so no rank holds more than its rows and a round's buffers. Each function
// is collective.
#pragma once
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/collective.hpp"
#include "treesne/knn/graph.hpp"

namespace treesne::dist {

/// This rank's rows of the pattern of P = the union of the kNN graph and its transpose (rows
/// rows.begin(rank) ..; offsets local, from 0; columns global and sorted).
struct PatternRows {
    std::vector<index_t> offsets;
    std::vector<point_t> columns;
};

/// This rank's rows of P's pattern from its rows of the graph (sorted by column, global indices): each
/// (j, i) of the graph goes to the owner of row j, in rounds of about 8 MiB.
PatternRows symmetric_pattern_rows(const NeighborGraph& graph, const RowPartition& rows, Collective& collective);

/// locality_order_of_pattern() of the whole pattern, the same on every rank, by a level-synchronous
/// breadth-first search: each level, every rank lists the unreached neighbours of the level's points it
/// owns and every rank merges the lists in the level's order, so no rank holds more than its own rows
/// (and the order and a reached flag per point).
std::vector<point_t> locality_order_rows(const PatternRows& own, const RowPartition& rows, Collective& collective);

/// This rank's rows (as `to` owns them) of relabel(symmetrize(graph, conditional), order), built where
/// they end: each kNN edge is sent, relabelled, to the owner of its source's row and of its target's
/// row, in rounds of about 8 MiB, and each row adds what it receives as symmetrize() does (bit for bit:
/// p_ij = (p_j|i + p_i|j) / (2N), the same two floats on whichever rank adds them). graph: this rank's
/// rows under `rows`, global indices; it and the conditionals are relabelled and reordered in place (hence
/// taken by value). Returns an
/// Affinities over all n points (other rows empty), as Session's distributed constructor takes it.
Affinities affinities_in_order(NeighborGraph graph, std::vector<float> conditional,
                               const std::vector<point_t>& order, const RowPartition& rows, const RowPartition& to,
                               Collective& collective);

/// This rank's rows of a whole P (rank 0's copy) sent to every rank, as affinities_in_order returns them; the
/// other ranks pass an empty P. n_total: the number of points.
Affinities scatter_rows(const Affinities& whole, index_t n_total, const RowPartition& rows, Collective& collective);

}  // namespace treesne::dist
