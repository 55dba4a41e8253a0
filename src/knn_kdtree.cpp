// kd-tree backend: nanoflann (the only file that includes it) over a zero-copy adaptor of the matrix.
//
// nanoflann sums the squared differences in its own order (unrolled by four) and breaks distance ties
// arbitrarily, so its raw answer can differ from nearest_neighbors_naive in the last bits and in the order
// of equidistant points. We therefore ask for a few more neighbours than needed, recompute every distance
// with squared_distance(), sort by (distance, index), and accept the answer only when it provably contains
// every point that could belong to the k nearest; otherwise we ask again for twice as many.
#include <algorithm>
#include <cstddef>
#include <limits>
#include <nanoflann.hpp>
#include <vector>

#include "knn_internal.hpp"
#include "treesne/parallel.hpp"

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

// Leaf size, measured at N = 20k, k = 90, one thread (seconds for leaves 8 / 16 / 32 / 64):
// Gaussian D = 5: 0.70 / 0.64 / 0.63 / 0.69; D = 10: 5.2 / 3.9 / 3.5 / 3.6; clustered D = 2: equal;
// clustered D = 20: 1.05 / 1.09 / 0.98.
constexpr std::size_t leaf_size = 32;
// Extra neighbours asked for beyond k + 1 (self), so that one query usually settles a point. Each one
// costs a little in every query (Gaussian D = 5: 1 / 4 / 8 / 16 extra: 0.62 / 0.65 / 0.66 / 0.72 s);
// a few make re-queries rare on data with ties.
constexpr index_t extra_neighbors = 4;
// nanoflann's distances and its pruning bounds are sums of at most D + tree depth rounded non-negative
// terms, so they differ from squared_distance() by a relative ~(D + 64) 2^-53. This margin (far larger)
// makes the acceptance test below safe for any D up to ~10^6.
constexpr double relative_margin = 1e-9;

// Sound acceptance test. nanoflann returns the m points with the smallest nanoflann distance d' (points
// left out have d' >= the largest returned d', or lie in pruned cells whose lower bound exceeds it). With
// d the squared_distance() values, |d' - d| <= eps d for tiny eps, so a point left out has
// d >= (1 - 2 eps) max_returned d. When max_returned d > (1 + margin) d_k + tiny, no point left out can
// reach d_k, the distance of the k-th neighbour, and ties at d_k are all among the returned ones: the k
// smallest by (d, index) of the returned set are the true k nearest.
bool settles(double kth, double largest) {
    return largest > kth * (1.0 + relative_margin) + 16.0 * std::numeric_limits<double>::min();
}

template <class Tree>
void query_rows(const Tree& tree, ConstMatrixView x, index_t k, index_t begin, index_t end,
                NeighborGraph& graph) {
    const index_t n = x.rows;
    std::vector<point_t> found;
    std::vector<double> found_distances;
    std::vector<Neighbor> candidates;
    for (index_t i = begin; i < end; ++i) {
        const double* q = x.row(i);
        bool done = false;
        for (index_t want = k + 1 + extra_neighbors; want < n; want *= 2) {
            found.resize(static_cast<std::size_t>(want));
            found_distances.resize(static_cast<std::size_t>(want));
            const auto got = static_cast<index_t>(
                tree.knnSearch(q, static_cast<std::size_t>(want), found.data(), found_distances.data()));
            if (got < want) break;  // cannot happen with finite data; fall back to the exact scan
            candidates.clear();
            for (index_t j = 0; j < got; ++j) {
                const point_t p = found[static_cast<std::size_t>(j)];
                if (static_cast<index_t>(p) == i) continue;
                candidates.push_back({squared_distance(q, x.row(p), x.cols), p});
            }
            std::sort(candidates.begin(), candidates.end());
            if (settles(candidates[static_cast<std::size_t>(k - 1)].distance, candidates.back().distance)) {
                write_row(candidates, i, k, graph);
                done = true;
                break;
            }
        }
        // Asking for all N points (heavy ties, tiny N) is no better than a scan, which is exact.
        if (!done) exact_scan_row(x, i, k, candidates, graph);
    }
}

template <class Tree>
NeighborGraph search(ConstMatrixView x, index_t k, int threads) {
    RowsAdaptor adaptor{x};
    const Tree tree(static_cast<int>(x.cols), adaptor, nanoflann::KDTreeSingleIndexAdaptorParams(leaf_size));
    NeighborGraph graph = allocate_graph(x.rows, k);
    // Const queries on a built nanoflann index are thread-safe (nanoflann's documentation).
    parallel_for(x.rows, threads,
                 [&](index_t begin, index_t end) { query_rows(tree, x, k, begin, end, graph); });
    return graph;
}

template <int Dim>
using FixedTree =
    nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, RowsAdaptor, double, point_t>,
                                        RowsAdaptor, Dim, point_t>;
using DynamicTree =
    nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Adaptor<double, RowsAdaptor, double, point_t>,
                                        RowsAdaptor, -1, point_t>;

}  // namespace

NeighborGraph knn_kdtree(ConstMatrixView x, index_t k, int threads) {
    // A compile-time dimension lets nanoflann unroll its distance loops where the kd-tree shines.
    switch (x.cols) {
        case 1:
            return search<FixedTree<1>>(x, k, threads);
        case 2:
            return search<FixedTree<2>>(x, k, threads);
        case 3:
            return search<FixedTree<3>>(x, k, threads);
        default:
            return search<DynamicTree>(x, k, threads);
    }
}

}  // namespace treesne::detail
