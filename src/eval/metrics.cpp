// Quality measures of an embedding: neighbourhood preservation, trustworthiness, kNN accuracy.
#include "treesne/eval/metrics.hpp"

#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "knn/internal.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/scale.hpp"

namespace treesne {
namespace {

// A point at a distance, ordered by (distance, index): the textbook ranks the metrics are defined with.
struct Ranked {
    double distance;
    point_t index;
};
bool operator<(const Ranked& a, const Ranked& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.index < b.index);
}

void require_same_points(ConstMatrixView x, ConstMatrixView y) {
    require(x.rows == y.rows, "data and embedding must have the same number of points; got ", x.rows, " and ",
            y.rows);
}

// Distances from a group of queries to every point. The 8 queries of a tile share SIMD lanes; 8 points
// are processed together for instruction-level parallelism; a block of points stays in cache while
// every tile of the group passes over it.
constexpr index_t lanes = 8;
constexpr index_t group = 16;
constexpr index_t block_rows = 256;
using Lane = Eigen::Array<double, lanes, 1>;

// out[q * n + j] = squared distance from point queries[q] to point j, for q < count <= group, summed over
// the coordinates in index order, each lane on its own: the same arithmetic for the data and the
// embedding, so identical inputs give identical neighbourhoods and ranks.
void group_distances(ConstMatrixView x, const index_t* queries, index_t count, std::vector<double>& out) {
    const index_t n = x.rows, d = x.cols;
    const index_t tiles = (count + lanes - 1) / lanes;
    std::vector<double> qt(static_cast<std::size_t>(tiles * d * lanes));  // [tile][t][lane]
    for (index_t q = 0; q < tiles * lanes; ++q) {
        const double* row = x.row(queries[std::min(q, count - 1)]);  // spare lanes repeat the last query
        for (index_t t = 0; t < d; ++t)
            qt[static_cast<std::size_t>(((q / lanes) * d + t) * lanes + q % lanes)] = row[t];
    }
    out.resize(static_cast<std::size_t>(count * n));
    for (index_t b0 = 0; b0 < n; b0 += block_rows) {
        const index_t b1 = std::min(n, b0 + block_rows);
        for (index_t tile = 0; tile < tiles; ++tile) {
            const double* qtile = qt.data() + tile * d * lanes;
            const index_t used = std::min(lanes, count - tile * lanes);
            for (index_t j0 = b0; j0 < b1; j0 += lanes) {
                const index_t points = std::min(lanes, b1 - j0);
                const double* rows[lanes];
                for (index_t p = 0; p < lanes; ++p) rows[p] = x.row(j0 + std::min(p, points - 1));
                Lane sum[lanes];  // sum[p][q]: point j0 + p, query tile * lanes + q
                for (Lane& v : sum) v.setZero();
                for (index_t t = 0; t < d; ++t) {
                    const Lane qv = Eigen::Map<const Lane>(qtile + t * lanes);
                    for (index_t p = 0; p < lanes; ++p) sum[p] += (qv - rows[p][t]).square();
                }
                for (index_t p = 0; p < points; ++p)
                    for (index_t q = 0; q < used; ++q)
                        out[static_cast<std::size_t>((tile * lanes + q) * n + j0 + p)] = sum[p][q];
            }
        }
    }
}

// The same by a metric's rank distance (manhattan, chebyshev, jaccard, hamming), pair by pair: out[q * n + j] =
// rank_distance(metric, x_{queries[q]}, x_j).
void group_distances(ConstMatrixView x, Metric metric, const index_t* queries, index_t count,
                     std::vector<double>& out) {
    if (metric == Metric::euclidean || detail::searches_metric_rows(metric)) return group_distances(x, queries, count, out);
    const index_t n = x.rows;
    out.resize(static_cast<std::size_t>(count * n));
    for (index_t q = 0; q < count; ++q)
        for (index_t j = 0; j < n; ++j)
            out[static_cast<std::size_t>(q * n + j)] = detail::rank_distance(metric, x.row(queries[q]), x.row(j), x.cols);
}

// The k points other than `self` with the smallest (distance, index), by a bounded max-heap: one
// comparison per point once the heap has settled. Points come in index order, so an equal distance
// never displaces an earlier point and ties go to the smaller index.
void smallest(const double* distance, index_t n, index_t self, index_t k, std::vector<Ranked>& heap,
              std::vector<point_t>& out) {
    heap.clear();
    index_t j = 0;
    for (; j < n && static_cast<index_t>(heap.size()) < k; ++j) {
        if (j == self) continue;
        heap.push_back({distance[j], static_cast<point_t>(j)});
        std::push_heap(heap.begin(), heap.end());
    }
    for (; j < n; ++j) {
        if (j == self || !(distance[j] < heap.front().distance)) continue;
        std::pop_heap(heap.begin(), heap.end());
        heap.back() = {distance[j], static_cast<point_t>(j)};
        std::push_heap(heap.begin(), heap.end());
    }
    out.clear();
    for (const Ranked& e : heap) out.push_back(e.index);
}

// Rank of point u by (distance, index) from `self` (1 = nearest, self not counted).
index_t rank_of(const double* distance, index_t n, index_t self, index_t u) {
    const double du = distance[u];
    index_t before = 0;
    for (index_t j = 0; j < u; ++j) before += distance[j] <= du;  // vectorises
    for (index_t j = u + 1; j < n; ++j) before += distance[j] < du;
    const bool self_before = distance[self] < du || (distance[self] == du && self < u);
    return before - (self_before ? 1 : 0) + 1;
}

struct TrustScratch {
    std::vector<double> dx, dy;
    std::vector<Ranked> heap;
    std::vector<point_t> near_x, near_y;
    std::vector<char> in_x;
};

// Sum over the neighbours u of i in y that are not neighbours of i in x of (rank of u from i in x) - k.
std::int64_t trust_penalty(index_t i, const double* dx, const double* dy, index_t n, index_t k,
                           TrustScratch& s) {
    smallest(dx, n, i, k, s.heap, s.near_x);
    smallest(dy, n, i, k, s.heap, s.near_y);
    for (point_t j : s.near_x) s.in_x[j] = 1;
    std::int64_t penalty = 0;
    for (point_t u : s.near_y)
        if (!s.in_x[u]) penalty += rank_of(dx, n, i, static_cast<index_t>(u)) - k;
    for (point_t j : s.near_x) s.in_x[j] = 0;
    return penalty;
}

}  // namespace

double knn_preservation(ConstMatrixView x, ConstMatrixView y, index_t k, int threads, Metric metric) {
    require_same_points(x, y);
    // Ranks do not change under a power-of-two scale; at extreme magnitudes the squared distances would
    // overflow (every distance infinite, every rank a tie) or underflow.
    const ComfortableScale xs = comfortable_scale(x), ys = comfortable_scale(y);
    x = xs.view;
    y = ys.view;
    NeighborOptions by_metric;
    by_metric.metric = metric;
    const NeighborGraph gx = nearest_neighbors(x, k, by_metric, threads);
    const NeighborGraph gy = nearest_neighbors(y, k, KnnBackend::automatic, threads);
    const index_t n = x.rows;
    const double shared = parallel_sum(n, threads, [&](index_t begin, index_t end) {
        std::vector<point_t> a, b;
        double count = 0;
        for (index_t i = begin; i < end; ++i) {
            a.assign(gx.row_indices(i), gx.row_indices(i) + k);
            b.assign(gy.row_indices(i), gy.row_indices(i) + k);
            std::sort(a.begin(), a.end());
            std::sort(b.begin(), b.end());
            index_t common = 0;
            for (auto p = a.begin(), q = b.begin(); p != a.end() && q != b.end();) {
                if (*p < *q) {
                    ++p;
                } else if (*q < *p) {
                    ++q;
                } else {
                    ++common, ++p, ++q;
                }
            }
            count += static_cast<double>(common);
        }
        return count;
    });
    return shared / (static_cast<double>(n) * static_cast<double>(k));
}

// Venna & Kaski (2001): T(k) = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in U_k(i)} (r(i, j) - k), where
// U_k(i) holds i's k nearest neighbours in y that are not among its k nearest in x and r(i, j) is j's
// rank by distance from i in x. For a sample of m queries the outer n becomes m (a mean over queries).
// Ranks are exact: each query scans all N points in x and in y, O(N (D + dims)) per query.
double trustworthiness(ConstMatrixView x, ConstMatrixView y, index_t k, int threads, index_t max_queries,
                       Metric metric) {
    require_same_points(x, y);
    const ComfortableScale xs = comfortable_scale(x), ys = comfortable_scale(y);  // as knn_preservation
    x = xs.view;
    y = ys.view;
    // cosine and correlation: the Euclidean ranks of the (centred) unit rows are their ranks
    const Matrix rows = detail::metric_rows(x, metric, threads);
    if (detail::searches_metric_rows(metric)) x = rows.view();
    const index_t n = x.rows;
    require(k >= 1 && 2 * k < n, "trustworthiness needs 1 <= k < N/2; got k = ", k, " for N = ", n);
    require(threads >= 0, "threads must be >= 0 (0 = all); got ", threads);
    const index_t m = (max_queries <= 0 || max_queries >= n) ? n : max_queries;
    // Evenly spaced queries: floor(t n / m), without overflowing t n.
    std::vector<index_t> queries(static_cast<std::size_t>(m));
    for (index_t t = 0; t < m; ++t) queries[static_cast<std::size_t>(t)] = t * (n / m) + (t * (n % m)) / m;
    std::vector<std::int64_t> penalty(static_cast<std::size_t>(m), 0);
    const index_t groups = (m + group - 1) / group;
    parallel_for(groups, threads, [&](index_t g0, index_t g1) {
        TrustScratch s;
        s.in_x.assign(static_cast<std::size_t>(n), 0);
        for (index_t g = g0; g < g1; ++g) {
            const index_t first = g * group, count = std::min(group, m - first);
            const index_t* ids = queries.data() + first;
            group_distances(x, metric, ids, count, s.dx);
            group_distances(y, ids, count, s.dy);
            for (index_t q = 0; q < count; ++q) {
                penalty[static_cast<std::size_t>(first + q)] =
                    trust_penalty(ids[q], s.dx.data() + q * n, s.dy.data() + q * n, n, k, s);
            }
        }
    });
    double total = 0;  // per-query integers added in query order: independent of the thread count
    for (std::int64_t p : penalty) total += static_cast<double>(p);
    const double kd = static_cast<double>(k), nd = static_cast<double>(n);
    return 1.0 - 2.0 / (static_cast<double>(m) * kd * (2.0 * nd - 3.0 * kd - 1.0)) * total;
}

double knn_accuracy(ConstMatrixView y, const std::vector<int>& labels, index_t k, int threads) {
    const index_t n = y.rows;
    require(static_cast<index_t>(labels.size()) == n, "need one label per point: ", n, " points, ",
            labels.size(), " labels");
    const ComfortableScale ys = comfortable_scale(y);  // as knn_preservation
    const NeighborGraph graph = nearest_neighbors(ys.view, k, KnnBackend::automatic, threads);
    const double correct = parallel_sum(n, threads, [&](index_t begin, index_t end) {
        std::vector<int> votes;
        double hits = 0;
        for (index_t i = begin; i < end; ++i) {
            votes.clear();
            for (index_t j = 0; j < k; ++j) votes.push_back(labels[graph.row_indices(i)[j]]);
            std::sort(votes.begin(), votes.end());
            // Majority label; scanning in increasing order and replacing only on a strictly larger
            // count sends ties to the smallest label.
            int best = votes.front();
            index_t best_count = 0;
            for (std::size_t a = 0; a < votes.size();) {
                std::size_t b = a;
                while (b < votes.size() && votes[b] == votes[a]) ++b;
                if (static_cast<index_t>(b - a) > best_count)
                    best = votes[a], best_count = static_cast<index_t>(b - a);
                a = b;
            }
            hits += best == labels[static_cast<std::size_t>(i)] ? 1.0 : 0.0;
        }
        return hits;
    });
    return correct / static_cast<double>(n);
}

}  // namespace treesne
