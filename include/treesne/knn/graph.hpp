// Neighbour graphs (NeighborGraph): the form every kNN backend returns and every precomputed input is
// brought to, its invariants and their check, and the locality order embed() relabels points in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "treesne/core/hash.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// The k nearest neighbours of every point, self excluded, by the metric of NeighborOptions.
/// Invariants: CSR with exactly k entries per row (row i is [i*k, (i+1)*k)), k distinct points other than
/// i; distances hold the squared metric distance d(x_i, x_j)^2 (for euclidean the squared Euclidean
/// distance, computed by squared_distance() below; the Gaussian affinities take exp(-beta d^2) for every
/// metric); each row sorted by distance, ties broken by tie_key(i, j) (distinct for distinct j). One
/// definition computes each metric's distance (summed in index order), so every exact backend returns
/// bit-identical graphs. The rows are ranked by the unsquared value: where two distinct values square to
/// the same double (underflow, below ~1e-154) they keep that order instead of the tie key's. The
/// approximate backends (hnsw, nndescent) keep every invariant but may hold a farther point in place of a
/// missed near one. neighbor_graph_defect() checks the invariants a stage relies on.
struct NeighborGraph {
    index_t n = 0;
    index_t k = 0;
    std::vector<point_t> indices;   ///< n*k neighbour indices
    std::vector<double> distances;  ///< n*k squared metric distances, same order, divided by 4^scale_exponent
    /// The distances' unit, as a power of two: they hold (d / 2^scale_exponent)^2 for metric distances d.
    /// 0, except where the input's largest distance or coordinate lies beyond 2^+-100, whose squares
    /// would overflow or underflow: the readers of precomputed distances then scale it to [0.5, 1) first
    /// (exactly, by a power of two). The perplexity and uniform affinities do not depend on the unit; the
    /// sigma kernel divides its width by 2^scale_exponent to match.
    int scale_exponent = 0;

    const point_t* row_indices(index_t i) const { return indices.data() + i * k; }
    const double* row_distances(index_t i) const { return distances.data() + i * k; }
};

/// The order among points j at equal distance from point `query`: smaller tie_key first. For a fixed
/// query it is a bijection of j (splitmix64's mixer is invertible), so two points never share a key.
/// Ties broken by index alone would give every copy of a duplicated point the same lowest-indexed copies
/// as neighbours: a star in P whose leaves have identical rows, never separate and pile up on one spot.
/// A fixed per-query pseudo-random order (splitmix64 of (query, j)) lets each copy pick its own k of
/// the others, so the copies of one point become one tight, ordinary cluster.
inline std::uint64_t tie_key(index_t query, point_t j) {
    return splitmix64_at(static_cast<std::uint64_t>(query) << 32 | j);
}

/// Bytes of a NeighborGraph of N rows of k neighbours: 4-byte indices and 8-byte squared distances.
double neighbor_graph_bytes(double n, double k);

/// What is wrong with a neighbour graph, in one line, or "" when nothing is: n >= 2 points (at most
/// 2^32 - 1), 1 <= k <= n - 1, n*k indices, and n*k distances or none (a graph whose distances were
/// released after the calibration, as compute_affinities does); then, row by row, each index in [0, n),
/// not the row's own point, distinct within the row, and each distance finite and >= 0. The defect
/// reported is the lowest row's, whatever the thread count; rows and points numbered from 0
/// ("row 7 lists point 12 but there are 10 points"). The order within a row is not checked: no stage
/// relies on it. O(n k log k) time (O(n k) where the rows are sorted by index), k indices of scratch a
/// thread. threads: 0 = all.
std::string neighbor_graph_defect(const NeighborGraph& graph, int threads = 0);

/// Throws InvalidArgument("neighbour graph: ...") naming the first defect neighbor_graph_defect() finds.
void validate_neighbor_graph(const NeighborGraph& graph, int threads = 0);

namespace detail {
/// The defect neighbor_graph_defect() reports for row i of a graph whose shape it found sound, or "";
/// rows are numbered from first_row in the text (1 for the rows of a file). scratch: reused storage.
/// For rows of a larger graph (a process's share): row i is point first_point + i (first_row counts
/// from it too) of n_points (0: graph.n).
std::string neighbor_row_defect(const NeighborGraph& graph, index_t i, index_t first_row,
                                std::vector<point_t>& scratch, index_t first_point = 0, index_t n_points = 0);
}  // namespace detail

/// An order of the points in which neighbours lie near each other: breadth-first over the symmetrised
/// graph (i ~ j when either lists the other: the pattern of the P that symmetrize() makes), each point's
/// neighbours taken in increasing index, from point 0, then from the lowest-numbered point not yet
/// reached, and so on. order[r] is the point that gets label r; a pure function of the graph, and the
/// same as locality_order() of its P (precomputed.hpp), so that a run from a saved P takes the order of
/// the run that computed it. The optimisation's attraction reads y_j for every entry of P: in this
/// order most of those reads hit rows already in cache (the attraction takes half the time at 1,000,000
/// points: benchmarks/RESULTS.md, section 10.7). O(nk) time, 4nk bytes besides the order. Throws InvalidArgument for a graph validate_neighbor_graph() refuses.
std::vector<point_t> locality_order(const NeighborGraph& graph);

namespace detail {
/// Marks a graph that treesne built itself or validated already (embed()'s search, embed_neighbors'
/// input), so that locality_order and relabel do not check it again: a check is a pass over every entry
/// (RESULTS.md, section 10.7), and embed()'s affinity stage would pay it twice. Debug builds still assert it.
struct ValidatedGraph {};
}  // namespace detail

/// locality_order() of a graph known to be valid (see detail::ValidatedGraph).
std::vector<point_t> locality_order(const NeighborGraph& graph, detail::ValidatedGraph);

/// Relabels the graph in place so that its point r is the old point order[r] (order: a permutation of
/// [0, n)): rows moved, entries renamed, each row's order kept (equal distances stay in the order of
/// the old labels' tie keys, so the result is not a graph a backend would return for relabelled input,
/// but the same neighbours, distances and P). Throws InvalidArgument if the graph is not valid
/// (validate_neighbor_graph) or order is not a permutation of [0, n).
void relabel(NeighborGraph& graph, const std::vector<point_t>& order);

/// relabel() of a graph known to be valid (see detail::ValidatedGraph); order is still checked.
void relabel(NeighborGraph& graph, const std::vector<point_t>& order, detail::ValidatedGraph);

}  // namespace treesne
