// Neighbour graphs: their invariants and checks, and the locality order and relabelling that embed()
// uses to put neighbours near each other in memory.
#include "treesne/knn/graph.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <limits>

#include "core/permutation.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {
namespace {

// The defect of a graph's shape (n, k and the sizes of its arrays), or "".
std::string graph_shape_defect(const NeighborGraph& g) {
    if (g.n < 2) return concat("t-SNE needs at least 2 points; got n = ", g.n);
    if (g.n > static_cast<index_t>(std::numeric_limits<point_t>::max()))
        return concat("at most ", std::numeric_limits<point_t>::max(), " points are supported; got ", g.n);
    if (g.k < 1 || g.k > g.n - 1)
        return concat("k = ", g.k, " neighbours per point; need 1 <= k <= n - 1 = ", g.n - 1);
    // k < n <= 2^32 - 1: n k fits std::size_t (not index_t).
    const std::size_t entries = static_cast<std::size_t>(g.n) * static_cast<std::size_t>(g.k);
    if (g.indices.size() != entries)
        return concat(g.n, " points with k = ", g.k, " need ", entries, " indices; got ", g.indices.size());
    if (!g.distances.empty() && g.distances.size() != entries)
        return concat(g.n, " points with k = ", g.k, " need ", entries, " distances (or none); got ",
                      g.distances.size());
    return {};
}

}  // namespace

namespace detail {

std::string neighbor_row_defect(const NeighborGraph& g, index_t i, index_t first_row,
                                std::vector<point_t>& scratch, index_t first_point, index_t n_points) {
    const point_t* ids = g.row_indices(i);
    const index_t row = first_point + i + first_row, point = first_point + i;
    const index_t n = n_points > 0 ? n_points : g.n;
    for (index_t s = 0; s < g.k; ++s) {
        if (static_cast<index_t>(ids[s]) >= n)
            return concat("row ", row, " lists point ", ids[s], " but there are ", n, " points");
        if (static_cast<index_t>(ids[s]) == point)
            return concat("row ", row, " lists its own point ", ids[s],
                          " (a point is not its own neighbour)");
    }
    // Distinct: equal indices sit next to each other once sorted (the pipeline's rows are sorted by
    // index already, and need no copy).
    const point_t* sorted = ids;
    if (!std::is_sorted(ids, ids + g.k)) {
        scratch.assign(ids, ids + g.k);
        std::sort(scratch.begin(), scratch.end());
        sorted = scratch.data();
    }
    const point_t* repeat = std::adjacent_find(sorted, sorted + g.k);
    if (repeat != sorted + g.k)
        return concat("row ", row, " lists point ", *repeat, " twice (neighbours must be distinct)");
    if (!g.distances.empty()) {
        const double* d = g.row_distances(i);
        for (index_t s = 0; s < g.k; ++s)
            if (!(d[s] >= 0 && d[s] <= std::numeric_limits<double>::max()))
                return concat("row ", row, ": the distance to point ", ids[s], " is ", d[s],
                              "; distances must be finite and >= 0");
    }
    return {};
}

}  // namespace detail

double neighbor_graph_bytes(double n, double k) {
    return n * k * (4 + 8);
}

std::string neighbor_graph_defect(const NeighborGraph& graph, int threads) {
    std::string defect = graph_shape_defect(graph);
    if (!defect.empty()) return defect;
    // The lowest row with a defect: each range stops at its first and skips rows beyond the lowest found.
    std::atomic<index_t> first{graph.n};
    parallel_for(graph.n, threads, [&](index_t begin, index_t end) {
        std::vector<point_t> scratch;
        for (index_t i = begin; i < end && i < first.load(std::memory_order_relaxed); ++i)
            if (!detail::neighbor_row_defect(graph, i, 0, scratch).empty()) {
                index_t seen = first.load();
                while (i < seen && !first.compare_exchange_weak(seen, i)) {
                }
                return;
            }
    });
    if (first.load() == graph.n) return {};
    std::vector<point_t> scratch;
    return detail::neighbor_row_defect(graph, first.load(), 0, scratch);
}

void validate_neighbor_graph(const NeighborGraph& graph, int threads) {
    const std::string defect = neighbor_graph_defect(graph, threads);
    if (!defect.empty()) throw InvalidArgument("neighbour graph: " + defect);
}

std::vector<point_t> locality_order(const NeighborGraph& graph) {
    validate_neighbor_graph(graph);  // the in-degree counts below index with every entry
    return locality_order(graph, detail::ValidatedGraph{});
}

std::vector<point_t> locality_order(const NeighborGraph& graph, detail::ValidatedGraph) {
    assert(neighbor_graph_defect(graph).empty());
    const auto n = static_cast<std::size_t>(graph.n);
    const auto k = static_cast<std::size_t>(graph.k);
    // Who lists whom: in-neighbours of each point, in increasing order (rows are scanned in order).
    std::vector<index_t> in_offsets(n + 1, 0);
    for (point_t j : graph.indices) ++in_offsets[static_cast<std::size_t>(j) + 1];
    for (std::size_t i = 0; i < n; ++i) in_offsets[i + 1] += in_offsets[i];
    std::vector<point_t> in(graph.indices.size());
    {
        std::vector<index_t> next(in_offsets.begin(), in_offsets.end() - 1);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t s = 0; s < k; ++s)
                in[static_cast<std::size_t>(next[graph.indices[i * k + s]]++)] = static_cast<point_t>(i);
    }
    std::vector<point_t> order;
    order.reserve(n);
    std::vector<std::uint8_t> reached(n, 0);  // bytes: cheaper to test and set than bits
    std::vector<point_t> out(k);
    std::size_t head = 0;
    for (std::size_t start = 0; start < n; ++start) {
        if (reached[start]) continue;
        reached[start] = 1;
        order.push_back(static_cast<point_t>(start));
        for (; head < order.size(); ++head) {
            const std::size_t i = order[head];
            // The row of P: the union of i's own neighbours and the points that list i, increasing.
            const point_t* own = graph.indices.data() + i * k;
            if (!std::is_sorted(own, own + k)) {  // embed() sorts the rows by column beforehand
                std::copy_n(own, k, out.begin());
                std::sort(out.begin(), out.end());
                own = out.data();
            }
            std::size_t a = 0;
            auto b = static_cast<std::size_t>(in_offsets[i]);
            const auto b_end = static_cast<std::size_t>(in_offsets[i + 1]);
            while (a < k || b < b_end) {
                const point_t ca = a < k ? own[a] : std::numeric_limits<point_t>::max();
                const point_t cb = b < b_end ? in[b] : std::numeric_limits<point_t>::max();
                const point_t j = std::min(ca, cb);
                if (ca == j) ++a;
                if (cb == j) ++b;
                if (!reached[j]) {
                    reached[j] = 1;
                    order.push_back(j);
                }
            }
        }
    }
    return order;
}

void relabel(NeighborGraph& graph, const std::vector<point_t>& order) {
    validate_neighbor_graph(graph);  // label[j] below needs every j in [0, n)
    relabel(graph, order, detail::ValidatedGraph{});
}

void relabel(NeighborGraph& graph, const std::vector<point_t>& order, detail::ValidatedGraph) {
    assert(neighbor_graph_defect(graph).empty());
    const std::vector<point_t> label = detail::inverse_order(order, graph.n, "relabel: the order");
    for (point_t& j : graph.indices) j = label[j];
    detail::gather_rows_in_place(graph.indices.data(), graph.k, order);
    if (!graph.distances.empty()) detail::gather_rows_in_place(graph.distances.data(), graph.k, order);
}

}  // namespace treesne
