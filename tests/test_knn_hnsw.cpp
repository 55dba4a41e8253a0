// The approximate backend (--knn hnsw): recall against the naive scan, the same graph for every thread
// count, every NeighborGraph invariant on messy data (duplicates, ties, constant rows, k = N - 1,
// extreme magnitudes), and argument checks before any index is built.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/core/options.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using treesne::testing::random_matrix;

namespace {

NeighborOptions hnsw(int m = NeighborOptions{}.hnsw_m,
                     int ef_construction = NeighborOptions{}.hnsw_ef_construction, int ef_search = 0) {
    NeighborOptions o;
    o.backend = KnnBackend::hnsw;
    o.hnsw_m = m;
    o.hnsw_ef_construction = ef_construction;
    o.hnsw_ef_search = ef_search;
    return o;
}

bool same_graph(const NeighborGraph& a, const NeighborGraph& b) {
    return a.n == b.n && a.k == b.k && a.indices == b.indices && a.distances == b.distances;
}

// Rows that break an invariant every backend keeps: k distinct points other than i, each with its exact
// squared_distance(), sorted by (distance, tie key).
index_t invalid_rows(ConstMatrixView x, const NeighborGraph& g, index_t k) {
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

// Mean share of each row's neighbours that are within the exact k-th distance (ties at the k-th
// distance count as found, whichever of the tied points is reported).
double recall(const NeighborGraph& approx, const NeighborGraph& exact) {
    double sum = 0;
    for (index_t i = 0; i < exact.n; ++i) {
        const double kth = exact.row_distances(i)[exact.k - 1];
        index_t hits = 0;
        for (index_t j = 0; j < exact.k; ++j) hits += approx.row_distances(i)[j] <= kth ? 1 : 0;
        sum += static_cast<double>(hits) / static_cast<double>(exact.k);
    }
    return sum / static_cast<double>(exact.n);
}

// Checks the invariants and returns the recall against the naive scan.
double check(ConstMatrixView x, index_t k, const NeighborOptions& o = hnsw(), int threads = 2) {
    const NeighborGraph g = nearest_neighbors(x, k, o, threads);
    CHECK(invalid_rows(x, g, k) == 0);
    return recall(g, nearest_neighbors_naive(x, k));
}

// Eight Gaussian clusters of widths 0.2, 0.5 and 0.8 around centres ~N(0, 10^2).
Matrix clustered_data(index_t per_cluster, index_t d, std::uint64_t seed) {
    return testing::blobs(random_matrix(8, d, seed, 10.0), per_cluster, seed + 1, {0.2, 0.5, 0.8});
}

}  // namespace

TEST_CASE("hnsw: recall against the naive scan on clustered and Gaussian data") {
    const Matrix clustered = clustered_data(400, 20, 5);  // 3,200 points
    const double r = check(clustered, 30);
    MESSAGE("recall, clustered 3200 x 20, k = 30: " << r);
    CHECK(r >= 0.95);
    const Matrix gaussian = random_matrix(2000, 10, 6);
    const double g = check(gaussian, 20);
    MESSAGE("recall, Gaussian 2000 x 10, k = 20: " << g);
    CHECK(g >= 0.95);
    // A larger ef can only widen each query's candidates: recall does not drop.
    CHECK(check(gaussian, 20, hnsw(16, 200, 200)) >= g);
}

TEST_CASE("hnsw: the graph is the same bit for bit for 1, 2 and 4 threads") {
    const Matrix x = clustered_data(300, 12, 9);
    for (const NeighborOptions& o : {hnsw(), hnsw(4, 20, 40)}) {
        CAPTURE(o.hnsw_m);
        const NeighborGraph one = nearest_neighbors(x, 25, o, 1);
        CHECK(invalid_rows(x, one, 25) == 0);
        CHECK(same_graph(nearest_neighbors(x, 25, o, 2), one));
        CHECK(same_graph(nearest_neighbors(x, 25, o, 4), one));
        CHECK(same_graph(nearest_neighbors(x, 25, o, 0), one));
    }
}

TEST_CASE("hnsw: duplicates, ties and constant data give valid graphs") {
    SUBCASE("every point three to five times, and a block of 200 copies of one point") {
        std::mt19937_64 rng(3);
        const Matrix base = random_matrix(300, 8, 4);
        std::vector<index_t> source;
        for (index_t i = 0; i < base.rows(); ++i)
            for (index_t r = 0, copies = 3 + static_cast<index_t>(rng() % 3); r < copies; ++r)
                source.push_back(i);
        for (index_t r = 0; r < 200; ++r) source.push_back(7);
        std::shuffle(source.begin(), source.end(), rng);
        Matrix x(static_cast<index_t>(source.size()), base.cols());
        for (index_t i = 0; i < x.rows(); ++i)
            for (index_t j = 0; j < x.cols(); ++j) x(i, j) = base(source[static_cast<std::size_t>(i)], j);
        for (index_t k : {1, 10, 40}) {
            CAPTURE(k);
            CHECK(check(x, k) >= 0.9);
        }
    }
    SUBCASE("integer grid: many equal distances") {
        std::mt19937_64 rng(8);
        Matrix x(1500, 3);
        for (double& v : x.storage()) v = static_cast<double>(rng() % 5);  // 125 cells, ~12 points each
        for (index_t k : {5, 30}) {
            CAPTURE(k);
            CHECK(check(x, k) >= 0.9);
        }
    }
    SUBCASE("all rows equal") {
        const Matrix x(600, 5, -3.25);
        for (index_t k : {1, 30}) {
            CAPTURE(k);
            const NeighborGraph g = nearest_neighbors(x, k, hnsw(), 2);
            CHECK(invalid_rows(x, g, k) == 0);
            for (double d : g.distances) CHECK(d == 0.0);
        }
    }
}

TEST_CASE("hnsw: k = N - 1, tiny inputs and a small ef") {
    const Matrix x = random_matrix(150, 4, 12);
    CHECK(check(x, 149) == 1.0);  // every other point is a neighbour
    CHECK(check(random_matrix(2, 3, 13), 1) == 1.0);
    // ef below k + 1 acts as k + 1.
    CHECK(resolve_hnsw_ef_search(hnsw(16, 200, 5), 30) == 31);
    CHECK(resolve_hnsw_ef_search(hnsw(16, 200, 500), 30) == 500);
    CHECK(resolve_hnsw_ef_search(hnsw(), 30) >= 31);
    const Matrix y = clustered_data(150, 6, 14);
    CHECK(check(y, 30, hnsw(2, 1, 1)) > 0.1);  // the smallest parameters: poor recall, valid rows
}

TEST_CASE("hnsw: large offsets, tiny and huge magnitudes") {
    // The float index sees centred data scaled by a power of two; the reported distances stay exact.
    CHECK(check(random_matrix(800, 8, 21, 1.0, 1e7), 15) >= 0.95);
    CHECK(check(random_matrix(800, 8, 22, 1e-30), 15) >= 0.95);
    CHECK(check(random_matrix(800, 8, 23, 1e30), 15) >= 0.95);
    CHECK(check(random_matrix(800, 8, 24, 1e-160), 15) >= 0.95);
    CHECK(check(random_matrix(800, 8, 25, 1e-310), 15) >= 0.5);  // subnormal: coarse, still valid
    CHECK(check(random_matrix(800, 8, 26, 1e150), 15) >= 0.95);  // squares near 1e300
}

TEST_CASE("hnsw: invalid arguments and options throw InvalidArgument before any work") {
    Matrix x = random_matrix(300, 3, 31);
    CHECK_THROWS_AS(nearest_neighbors(x, 0, hnsw(), 1), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors(x, 300, hnsw(), 1), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors(x, 3, hnsw(), -1), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors(x, 3, hnsw(1), 1), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors(x, 3, hnsw(1001), 1), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors(x, 3, hnsw(16, 0), 1), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors(x, 3, hnsw(16, 200, -1), 1), InvalidArgument);
    CHECK_NOTHROW(nearest_neighbors(x, 3, hnsw(), 1));
    Options o;
    o.neighbors = hnsw(0);
    CHECK_THROWS_AS(validate(o, x.rows(), x.cols()), InvalidArgument);
    x(123, 2) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(nearest_neighbors(x, 3, hnsw(), 1), InvalidArgument);
    x(123, 2) = -std::numeric_limits<double>::infinity();
    CHECK_THROWS_AS(nearest_neighbors(x, 3, hnsw(), 1), InvalidArgument);
}

TEST_CASE("hnsw: names, and automatic stays exact") {
    CHECK(std::string(to_string(KnnBackend::hnsw)) == "hnsw");
    CHECK(parse_backend("hnsw") == KnnBackend::hnsw);
    for (index_t n : {1000, 100000, 10000000})
        CHECK(resolve_backend(KnnBackend::automatic, n, 50) != KnnBackend::hnsw);
}
