// kd-tree backend: nanoflann (the only file that includes it) over a zero-copy adaptor of the matrix.
// Metrics: euclidean, cosine and correlation (the caller passes the unit or centred unit rows) with
// nanoflann's L2 distances, which are squared, like our rank distance; manhattan with its L1 distances
// (the pruning bound of a cell is the sum of the per-coordinate gaps, a lower bound of the L1 distance).
// Not chebyshev: nanoflann adds per-coordinate bounds, which the maximum does not obey, so its pruning
// would be wrong; not jaccard or hamming, which no bound on coordinate gaps describes.
//
// nanoflann sums the (squared) differences in its own order (unrolled by four) and breaks distance ties
// arbitrarily, so its raw answer can differ from nearest_neighbors_naive in the last bits and in the order
// of equidistant points. We therefore ask for a few more neighbours than needed, recompute every distance
// with rank_distance(), sort by (distance, tie key), and accept the answer only when it provably
// contains every point that could belong to the k nearest. Otherwise (equidistant or duplicate points
// around the k-th neighbour) one radius search collects every point within the k-th distance, ties
// included, which settles the query: O(number of ties), where asking again for more neighbours costs
// O(m^2) in nanoflann's sorted result set (RESULTS.md, section 10.5).
#include <algorithm>
#include <cstddef>
#include <limits>
#include <nanoflann.hpp>
#include <vector>

#include "knn/internal.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::detail {
namespace {

// Zero-copy view of the rows for nanoflann. The index keeps a reference to it: it lives on the stack of
// knn_kdtree() for the whole search and is never copied or moved.
struct RowsAdaptor {
    ConstMatrixView x;

    std::size_t kdtree_get_point_count() const { return static_cast<std::size_t>(x.rows); }
    double kdtree_get_pt(point_t i, std::size_t dim) const {
        return x.data[static_cast<index_t>(i) * x.cols + static_cast<index_t>(dim)];
    }
    template <class Box>
    bool kdtree_get_bbox(Box& /*box*/) const {
        return false;  // let nanoflann compute it
    }
};

// Leaf size: 32 was fastest or within noise of it on every data set tried (RESULTS.md, section 10.5).
constexpr std::size_t leaf_size = 32;
// Extra neighbours asked for beyond k + 1 (self), so that one query usually settles a point. Each one
// costs a little in every query (RESULTS.md, section 10.5); a few make re-queries rare on data with ties.
constexpr index_t extra_neighbors = 4;
// nanoflann's distances and its pruning bounds are sums of at most D + tree depth rounded non-negative
// terms, so they differ from rank_distance() by a relative ~(D + 64) 2^-53. This margin (far larger)
// makes the acceptance test below safe for any D up to ~10^6.
constexpr double relative_margin = 1e-9;

// Sound acceptance test. nanoflann returns the m points with the smallest nanoflann distance d' (points
// left out have d' >= the largest returned d', or lie in pruned cells whose lower bound exceeds it). With
// d the rank_distance() values, |d' - d| <= eps d for tiny eps, so a point left out has
// d >= (1 - 2 eps) max_returned d. When max_returned d > (1 + margin) d_k + tiny, no point left out can
// reach d_k, the distance of the k-th neighbour, and ties at d_k are all among the returned ones: the k
// smallest by (d, tie key) of the returned set are the true k nearest.
bool settles(double kth, double largest) {
    return largest > kth * (1.0 + relative_margin) + 16.0 * std::numeric_limits<double>::min();
}

// nanoflann result set collecting every point whose nanoflann distance is below `radius`, unsorted.
struct WithinRadius {
    double radius;
    std::vector<point_t>& found;

    void init() { found.clear(); }
    std::size_t size() const { return found.size(); }
    bool full() const { return true; }
    bool addPoint(double distance, point_t index) {
        if (distance < radius) found.push_back(index);
        return true;
    }
    double worstDist() const { return radius; }
};

// Queries [begin, end) of `queries` against the tree over x: x's own points (self = true, each skips
// itself) or other points (self = false, nothing skipped).
// Rank: the metric whose rank_distance() the tree's distances approximate (euclidean for cosine too), a
// compile-time constant so that the recomputation of the candidates' distances is a direct call.
template <class Tree, Metric Rank>
void query_rows(const Tree& tree, ConstMatrixView x, ConstMatrixView queries, bool self, index_t k,
                Metric metric, index_t begin, index_t end, NeighborGraph& graph) {
    const index_t n = x.rows;
    const index_t skip_none = -1;
    const index_t want = std::min(n, k + (self ? 1 : 0) + extra_neighbors);
    std::vector<point_t> found(static_cast<std::size_t>(want));
    std::vector<double> found_distances(static_cast<std::size_t>(want));
    std::vector<Neighbor> candidates;
    auto collect = [&](index_t i, const double* q, index_t count) {
        candidates.clear();
        for (index_t j = 0; j < count; ++j) {
            const point_t p = found[static_cast<std::size_t>(j)];
            if (!self || static_cast<index_t>(p) != i)
                candidates.push_back(candidate(i, p, rank_distance(Rank, q, x.row(p), x.cols)));
        }
    };
    for (index_t i = begin; i < end; ++i) {
        const double* q = queries.row(i);
        const index_t skip = self ? i : skip_none;
        found.resize(static_cast<std::size_t>(want));
        const auto got = static_cast<index_t>(
            tree.knnSearch(q, static_cast<std::size_t>(want), found.data(), found_distances.data()));
        collect(i, q, got);
        if (static_cast<index_t>(candidates.size()) < k) {  // cannot happen with finite data
            exact_scan(x, q, i, skip, k, candidates, graph, metric);
            continue;
        }
        std::nth_element(candidates.begin(), candidates.begin() + (k - 1), candidates.end());
        const double kth = candidates[static_cast<std::size_t>(k - 1)].distance;
        double largest = 0.0;
        for (const Neighbor& c : candidates) largest = std::max(largest, c.distance);
        if (want < n && !settles(kth, largest)) {
            // Every point of the k nearest has d <= kth (the k-th distance of a subset is at least the
            // true one), so nanoflann distance d' <= (1 + eps) kth < radius: all are collected.
            WithinRadius within{
                kth * (1.0 + 4.0 * relative_margin) + 32.0 * std::numeric_limits<double>::min(), found};
            within.init();
            tree.findNeighbors(within, q, {});
            collect(i, q, static_cast<index_t>(found.size()));
            if (static_cast<index_t>(candidates.size()) < k) {  // only if the error bound were violated
                exact_scan(x, q, i, skip, k, candidates, graph, metric);
                continue;
            }
        }
        write_row(candidates, i, k, graph, metric);
    }
}

template <class Tree, Metric Rank>
NeighborGraph search(ConstMatrixView x, ConstMatrixView queries, bool self, index_t k, Metric metric,
                     int threads, const SearchProgress& progress) {
    RowsAdaptor adaptor{x};
    const Tree tree(static_cast<int>(x.cols), adaptor, nanoflann::KDTreeSingleIndexAdaptorParams(leaf_size));
    NeighborGraph graph = allocate_graph(queries.rows, k);
    // Const queries on a built nanoflann index are thread-safe (nanoflann's documentation).
    parallel_for_reporting(
        queries.rows, threads,
        [&](index_t begin, index_t end) {
            query_rows<Tree, Rank>(tree, x, queries, self, k, metric, begin, end, graph);
        },
        progress);
    return graph;
}

using L2Simple = nanoflann::L2_Simple_Adaptor<double, RowsAdaptor, double, point_t>;
using L2 = nanoflann::L2_Adaptor<double, RowsAdaptor, double, point_t>;
using L1 = nanoflann::L1_Adaptor<double, RowsAdaptor, double, point_t>;
template <class Distance, int Dim>
using KdTree = nanoflann::KDTreeSingleIndexAdaptor<Distance, RowsAdaptor, Dim, point_t>;

// The tree type by the dimension: a compile-time one lets nanoflann unroll its distance loops where the
// kd-tree shines.
template <class Fixed, class Dynamic, Metric Rank>
NeighborGraph search_any(ConstMatrixView x, ConstMatrixView queries, bool self, index_t k, Metric metric,
                         int threads, const SearchProgress& progress) {
    switch (x.cols) {
        case 1:
            return search<KdTree<Fixed, 1>, Rank>(x, queries, self, k, metric, threads, progress);
        case 2:
            return search<KdTree<Fixed, 2>, Rank>(x, queries, self, k, metric, threads, progress);
        case 3:
            return search<KdTree<Fixed, 3>, Rank>(x, queries, self, k, metric, threads, progress);
        default:
            return search<KdTree<Dynamic, -1>, Rank>(x, queries, self, k, metric, threads, progress);
    }
}

NeighborGraph search_metric(ConstMatrixView x, ConstMatrixView queries, bool self, index_t k, Metric metric,
                            int threads, const SearchProgress& progress) {
    require(metric != Metric::chebyshev && metric != Metric::jaccard && metric != Metric::hamming,
            "the kdtree backend cannot compute ", to_string(metric), " distances");
    if (metric == Metric::manhattan)
        return search_any<L1, L1, Metric::manhattan>(x, queries, self, k, metric, threads, progress);
    return search_any<L2Simple, L2, Metric::euclidean>(x, queries, self, k, metric, threads, progress);
}

}  // namespace

double kdtree_bytes(double n) {
    return n * 16;
}

NeighborGraph knn_kdtree(ConstMatrixView x, index_t k, Metric metric, int threads,
                         const SearchProgress& progress) {
    return search_metric(x, x, true, k, metric, threads, progress);
}

NeighborGraph knn_kdtree_queries(ConstMatrixView x, ConstMatrixView queries, index_t k, int threads,
                                 const SearchProgress& progress) {
    return search_metric(x, queries, false, k, Metric::euclidean, threads, progress);
}

}  // namespace treesne::detail
