// Neighbour-graph oracles and data makers shared by the kNN tests (test_neighbors, test_distance_metrics,
// test_knn_approximate): one naive scan written from the metrics' definitions, one check of the
// NeighborGraph invariants, one recall, and the clustered, grid and equal-row data they run on.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "../test_helpers.hpp"
#include "treesne/knn/neighbors.hpp"

namespace treesne::testing {

/// Same n, k, indices and distances, bit for bit.
inline bool same_graph(const NeighborGraph& a, const NeighborGraph& b) {
    return a.n == b.n && a.k == b.k && a.indices == b.indices && a.distances == b.distances;
}

/// The squared metric distance of rows a and b, straight from the definitions (not through the library):
/// sum (a - b)^2; (1 - <a, b> / (|a| |b|))^2; (sum |a - b|)^2; (max |a - b|)^2; jaccard: (the share of
/// the coordinates where a or b is non-zero where a != b, 0 if there are none)^2; hamming: (the share of
/// all coordinates where a != b)^2; correlation: (1 - <a - mean a, b - mean b> / (|a - mean a| |b -
/// mean b|))^2.
inline double naive_distance(Metric metric, const double* a, const double* b, index_t d) {
    double s = 0, dot = 0, na = 0, nb = 0, ma = 0, mb = 0;
    switch (metric) {
        case Metric::jaccard: {
            double nonzero = 0, unequal = 0;
            for (index_t j = 0; j < d; ++j)
                if (a[j] != 0 || b[j] != 0) {
                    nonzero += 1;
                    unequal += a[j] != b[j] ? 1 : 0;
                }
            s = nonzero == 0 ? 0.0 : unequal / nonzero;
            return s * s;
        }
        case Metric::hamming:
            for (index_t j = 0; j < d; ++j) s += a[j] != b[j] ? 1 : 0;
            s /= static_cast<double>(d);
            return s * s;
        case Metric::correlation:
            for (index_t j = 0; j < d; ++j) {
                ma += a[j] / static_cast<double>(d);
                mb += b[j] / static_cast<double>(d);
            }
            for (index_t j = 0; j < d; ++j) {
                dot += (a[j] - ma) * (b[j] - mb);
                na += (a[j] - ma) * (a[j] - ma);
                nb += (b[j] - mb) * (b[j] - mb);
            }
            s = 1.0 - dot / (std::sqrt(na) * std::sqrt(nb));
            return s * s;
        case Metric::euclidean:
            for (index_t j = 0; j < d; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
            return s;
        case Metric::cosine:
            for (index_t j = 0; j < d; ++j) {
                dot += a[j] * b[j];
                na += a[j] * a[j];
                nb += b[j] * b[j];
            }
            s = 1.0 - dot / (std::sqrt(na) * std::sqrt(nb));
            return s * s;
        case Metric::manhattan:
            for (index_t j = 0; j < d; ++j) s += std::abs(a[j] - b[j]);
            return s * s;
        case Metric::chebyshev:
            for (index_t j = 0; j < d; ++j) s = std::max(s, std::abs(a[j] - b[j]));
            return s * s;
    }
    return 0;
}

/// Per point, every (squared distance, index) to every other point, fully sorted.
using Oracle = std::vector<std::vector<std::pair<double, point_t>>>;

/// The oracle of every kNN test, independent of the library's kNN code (squared_distance, write_row,
/// tie_key): naive_distance to every other point, summed in index order.
inline Oracle naive_scan(ConstMatrixView x, Metric metric) {
    Oracle all(static_cast<std::size_t>(x.rows));
    for (index_t i = 0; i < x.rows; ++i) {
        auto& row = all[static_cast<std::size_t>(i)];
        for (index_t j = 0; j < x.rows; ++j)
            if (j != i)
                row.emplace_back(naive_distance(metric, x.row(i), x.row(j), x.cols), static_cast<point_t>(j));
        std::sort(row.begin(), row.end());
    }
    return all;
}

/// Equal within a relative tolerance, or both below `floor` apart (a naive cosine of parallel rows is
/// ~1e-16, not 0). With tolerance and floor 0: equal.
inline bool close(double a, double b, double tolerance, double floor = 1e-300) {
    return std::abs(a - b) <= tolerance * std::max(std::abs(a), std::abs(b)) + floor;
}

/// Rows of g that are not a set of k nearest neighbours by the oracle (for data with ties): k distinct
/// points other than i, each with the oracle's distance (within the tolerance; exactly by default),
/// sorted by distance with exact ties in tie_key order, every point clearly nearer than the oracle's k-th
/// distance present and none clearly farther. So a row may differ from the oracle's first k only among
/// the points at the k-th distance. A graph of the wrong shape has every row wrong.
inline index_t rows_not_k_nearest(const NeighborGraph& g, const Oracle& oracle, double tolerance = 0.0,
                                  double floor = 0.0) {
    const auto n = static_cast<index_t>(oracle.size());
    if (g.n != n || static_cast<index_t>(g.indices.size()) != n * g.k ||
        static_cast<index_t>(g.distances.size()) != n * g.k)
        return n;
    index_t bad = 0;
    std::vector<double> distance_to(static_cast<std::size_t>(n));
    std::vector<char> in_row(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) {
        const auto& sorted = oracle[static_cast<std::size_t>(i)];
        for (const auto& [d, j] : sorted) distance_to[j] = d;
        std::fill(in_row.begin(), in_row.end(), 0);
        bool ok = true;
        for (index_t s = 0; s < g.k; ++s) {
            const point_t j = g.row_indices(i)[s];
            ok = ok && static_cast<index_t>(j) < n && static_cast<index_t>(j) != i && !in_row[j] &&
                 close(g.row_distances(i)[s], distance_to[j], tolerance, floor);
            if (static_cast<index_t>(j) < n) in_row[j] = 1;
            if (s > 0) {
                const double a = g.row_distances(i)[s - 1], b = g.row_distances(i)[s];
                ok = ok && (a < b || (a == b && tie_key(i, g.row_indices(i)[s - 1]) < tie_key(i, j)));
            }
        }
        const double kth = sorted[static_cast<std::size_t>(g.k - 1)].first;
        const double slack = tolerance * kth + floor;
        for (const auto& [d, j] : sorted) {
            if (d < kth - slack) ok = ok && in_row[j];
            if (d > kth + slack) ok = ok && !in_row[j];
        }
        bad += ok ? 0 : 1;
    }
    return bad;
}

/// Rows that break an invariant every backend keeps, exact or approximate: k distinct points other than
/// i, each with its exact squared_distance(), sorted by (distance, tie key). A graph of the wrong shape
/// has every row wrong.
inline index_t invalid_rows(ConstMatrixView x, const NeighborGraph& g, index_t k) {
    if (g.n != x.rows || g.k != k || static_cast<index_t>(g.indices.size()) != x.rows * k ||
        static_cast<index_t>(g.distances.size()) != x.rows * k)
        return x.rows;
    index_t bad = 0;
    std::vector<point_t> row;
    for (index_t i = 0; i < x.rows; ++i) {
        const point_t* idx = g.row_indices(i);
        const double* dist = g.row_distances(i);
        bool ok = true;
        for (index_t j = 0; j < k; ++j) {
            ok = ok && idx[j] != static_cast<point_t>(i) && static_cast<index_t>(idx[j]) < x.rows &&
                 dist[j] == squared_distance(x.row(i), x.row(idx[j]), x.cols);
            if (j > 0)
                ok = ok && (dist[j - 1] < dist[j] ||
                            (dist[j - 1] == dist[j] && tie_key(i, idx[j - 1]) < tie_key(i, idx[j])));
        }
        row.assign(idx, idx + k);
        std::sort(row.begin(), row.end());
        ok = ok && std::adjacent_find(row.begin(), row.end()) == row.end();
        bad += ok ? 0 : 1;
    }
    return bad;
}

/// Mean share of each row's neighbours that are within the exact k-th distance (ties at the k-th
/// distance count as found, whichever of the tied points is reported).
inline double recall(const NeighborGraph& approx, const NeighborGraph& exact) {
    double sum = 0;
    for (index_t i = 0; i < exact.n; ++i) {
        const double kth = exact.row_distances(i)[exact.k - 1];
        index_t hits = 0;
        for (index_t j = 0; j < exact.k; ++j) hits += approx.row_distances(i)[j] <= kth ? 1 : 0;
        sum += static_cast<double>(hits) / static_cast<double>(exact.k);
    }
    return sum / static_cast<double>(exact.n);
}

/// Eight Gaussian clusters of per_cluster points, of widths 0.2, 0.5 and 0.8, around centres ~N(0, 10^2).
inline Matrix clustered_data(index_t per_cluster, index_t d, std::uint64_t seed) {
    return blobs(random_matrix(8, d, seed, 10.0), per_cluster, seed + 1, {0.2, 0.5, 0.8});
}

/// Every distinct point repeated 3 to 5 times (in shuffled positions), plus a block of identical points.
inline Matrix duplicated_data(index_t distinct, index_t d, index_t block, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const Matrix base = random_matrix(distinct, d, seed + 1);
    std::vector<index_t> source;
    for (index_t i = 0; i < distinct; ++i)
        for (index_t r = 0, copies = 3 + static_cast<index_t>(rng() % 3); r < copies; ++r)
            source.push_back(i);
    for (index_t r = 0; r < block; ++r) source.push_back(distinct / 2);
    for (std::size_t i = source.size(); i > 1; --i) std::swap(source[i - 1], source[rng() % i]);
    Matrix x(static_cast<index_t>(source.size()), d);
    for (index_t i = 0; i < x.rows(); ++i)
        for (index_t j = 0; j < d; ++j) x(i, j) = base(source[static_cast<std::size_t>(i)], j);
    return x;
}

/// Integer coordinates offset + [0, levels): exact distances, many ties and duplicates.
inline Matrix grid_data(index_t n, index_t d, int levels, std::uint64_t seed, double offset = 0.0) {
    std::mt19937_64 rng(seed);
    Matrix x(n, d);
    for (index_t i = 0; i < x.size(); ++i)
        x.data()[i] = offset + static_cast<double>(rng() % static_cast<unsigned>(levels));
    return x;
}

}  // namespace treesne::testing
