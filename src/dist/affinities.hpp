// P across the ranks: symmetrised with one exchange, ordered for locality on rank 0, relabelled with a
// second exchange. Each function is collective.
#pragma once
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/collective.hpp"
#include "treesne/knn/graph.hpp"

namespace treesne::dist {

/// This rank's rows of P (rows.begin(rank) ..; columns global, sorted) from its rows of the graph
/// (sorted by column, global indices) and their conditionals: symmetrize()'s values bit for bit, since
/// each p_ij = (p_j|i + p_i|j) / (2N) is the same sum of the same two floats on whichever rank adds it.
/// The result's n is the number of own rows. n_total: the number of points.
Affinities symmetrize_rows(const NeighborGraph& graph, const std::vector<float>& conditional, index_t n_total,
                           const RowPartition& rows, Collective& collective);

/// locality_order() of the whole P from every rank's rows (own: rows.begin(rank) ..): rank 0 gathers
/// the pattern (columns only), orders it, and every rank receives the order.
std::vector<point_t> locality_order_rows(const Affinities& own, const RowPartition& rows, Collective& collective);

/// Every rank's rows (owned as `rows` says) moved to their new owners (as `to` says) under `order`
/// (point r of the result is point order[r]): the relabel() of the whole P, split by rows. Returns this rank's rows of the relabelled P as an
/// Affinities over all n points (other rows empty), as Session's distributed constructor takes it.
Affinities relabel_rows(Affinities own, const std::vector<point_t>& order, const RowPartition& rows,
                        const RowPartition& to, Collective& collective);

/// This rank's rows of a whole P (rank 0's copy) sent to every rank, as relabel_rows returns them; the
/// other ranks pass an empty P. n_total: the number of points.
Affinities scatter_rows(const Affinities& whole, index_t n_total, const RowPartition& rows, Collective& collective);

}  // namespace treesne::dist
