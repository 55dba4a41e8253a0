// Internal pieces shared by the nearest-neighbour backends (neighbors.cpp, knn_brute.cpp, knn_kdtree.cpp).
// Not installed; nothing here is part of the public API.
#pragma once

#include <vector>

#include "treesne/neighbors.hpp"
#include "treesne/types.hpp"

namespace treesne::detail {

/// A candidate neighbour of a query: squared distance from squared_distance(), the tie key and the
/// point's index. Ordered by (distance, tie), the one order every backend reports; for one query the
/// tie keys of different points differ (tie_key is a bijection of (query, index)), so that order is
/// total and the index never needs to break a tie.
struct Neighbor {
    double distance;
    std::uint64_t tie;
    point_t index;
};

inline Neighbor candidate(index_t query, point_t index, double distance) {
    return {distance, tie_key(query, index), index};
}

inline bool operator<(const Neighbor& a, const Neighbor& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.tie < b.tie);
}

/// Throws InvalidArgument unless 1 <= k <= N-1, N <= 2^32-1 and every entry of x is finite (a NaN would
/// break the strict weak order the selections rely on).
void check_knn_arguments(ConstMatrixView x, index_t k);

/// An n x k graph with its storage allocated.
NeighborGraph allocate_graph(index_t n, index_t k);

/// Exact neighbours of point `query` by a scan of all N points with squared_distance(), self excluded:
/// the k smallest by (distance, tie key), sorted, written to graph row `query`. scratch is reused storage.
void exact_scan_row(ConstMatrixView x, index_t query, index_t k, std::vector<Neighbor>& scratch,
                    NeighborGraph& graph);

/// Sorts candidates by (distance, tie key) and writes the first k to graph row `query`.
void write_row(std::vector<Neighbor>& candidates, index_t query, index_t k, NeighborGraph& graph);

/// Backends. Arguments are already checked; results equal nearest_neighbors_naive bit for bit.
NeighborGraph knn_kdtree(ConstMatrixView x, index_t k, int threads);
NeighborGraph knn_brute(ConstMatrixView x, index_t k, int threads);

}  // namespace treesne::detail
