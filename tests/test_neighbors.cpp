// Exact k-nearest-neighbour graphs: every backend equals the naive scan bit for bit, on continuous data,
// on data full of duplicates and ties, for every thread count.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "helpers/graphs.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/core/options.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

// The oracle of the exact backends, independent of the library's kNN code (squared_distance, write_row,
// tie_key): for each point, every squared distance to every other point, summed in index order, fully
// sorted. Kept in this file, with this exact expression: the backends' distances must equal it bit for
// bit, and the compiler's contraction of the sum into fused multiply-adds depends on the surrounding code
// (the same loop as an inline function of helpers/graphs.hpp differed from squared_distance in the last bit).
Oracle sorted_distances(ConstMatrixView x) {
    Oracle all(static_cast<std::size_t>(x.rows));
    for (index_t i = 0; i < x.rows; ++i) {
        auto& row = all[static_cast<std::size_t>(i)];
        for (index_t j = 0; j < x.rows; ++j) {
            if (j == i) continue;
            double s = 0.0;
            for (index_t c = 0; c < x.cols; ++c) s += (x(i, c) - x(j, c)) * (x(i, c) - x(j, c));
            row.emplace_back(s, static_cast<point_t>(j));
        }
        std::sort(row.begin(), row.end());
    }
    return all;
}

// The naive graph is itself checked for the invariants; then every backend must equal it exactly, and
// every graph must hold, per point, a set of k nearest neighbours by the independent oracle.
void check_backends(ConstMatrixView x, index_t k, int threads = 2) {
    const NeighborGraph naive = nearest_neighbors_naive(x, k);
    const Oracle oracle = sorted_distances(x);
    CHECK(rows_not_k_nearest(naive, oracle) == 0);
    REQUIRE(invalid_rows(x, naive, k) == 0);
    for (KnnBackend backend : {KnnBackend::kdtree, KnnBackend::brute, KnnBackend::automatic}) {
        CAPTURE(std::string(to_string(backend)));
        const NeighborGraph graph = nearest_neighbors(x, k, backend, threads);
        CHECK(rows_not_k_nearest(graph, oracle) == 0);
        CHECK(same_graph(graph, naive));
    }
}

}  // namespace

TEST_CASE("neighbors: naive scan on a hand-checked line, ties in tie_key order") {
    const Matrix x(5, 1, std::vector<double>{0.0, 1.0, 2.0, 4.0, 1.0});
    const NeighborGraph g = nearest_neighbors_naive(x, 2);
    // The tie key is a fixed order, neither index order nor its reverse for every query.
    auto first_of = [](index_t query, point_t a, point_t b) {
        return tie_key(query, a) < tie_key(query, b) ? a : b;
    };
    auto other = [](point_t chosen, point_t a, point_t b) { return chosen == a ? b : a; };
    // Point 1 (at 1): point 4 at distance 0, then points 0 and 2 at distance 1.
    CHECK(std::vector<point_t>(g.row_indices(1), g.row_indices(1) + 2) ==
          std::vector<point_t>{4, first_of(1, 0, 2)});
    CHECK(std::vector<double>(g.row_distances(1), g.row_distances(1) + 2) == std::vector<double>{0.0, 1.0});
    // Point 3 (at 4): point 2 at distance 4, then points 1 and 4 at distance 9.
    CHECK(std::vector<point_t>(g.row_indices(3), g.row_indices(3) + 2) ==
          std::vector<point_t>{2, first_of(3, 1, 4)});
    CHECK(std::vector<double>(g.row_distances(3), g.row_distances(3) + 2) == std::vector<double>{4.0, 9.0});
    // Point 0 (at 0): points 1 and 4 at distance 1, both kept, in tie order.
    const point_t a = first_of(0, 1, 4);
    CHECK(std::vector<point_t>(g.row_indices(0), g.row_indices(0) + 2) ==
          std::vector<point_t>{a, other(a, 1, 4)});
    // Copies of one point do not all choose the same neighbours: 40 copies, k = 5, by index alone every
    // row would be {0..5} minus itself.
    const Matrix copies(40, 2, 1.5);
    const NeighborGraph c = nearest_neighbors_naive(copies, 5);
    std::vector<int> chosen(40, 0);
    for (point_t j : c.indices) ++chosen[j];
    CHECK(*std::max_element(chosen.begin(), chosen.end()) < 20);
    CHECK(std::count(chosen.begin(), chosen.end(), 0) < 10);
    check_backends(x, 2);
    check_backends(x, 4);
    check_backends(copies, 5);
    check_backends(copies, 39);
}

TEST_CASE("neighbors: the oracle rejects a graph that misses a nearer point or reports a wrong distance") {
    const Matrix x = random_matrix(200, 3, 7);
    const Oracle oracle = sorted_distances(x);
    const NeighborGraph good = nearest_neighbors_naive(x, 10);
    REQUIRE(rows_not_k_nearest(good, oracle) == 0);
    // Row 5 ends with its 11th nearest instead of its 10th: right distance, sorted, but not the k nearest.
    NeighborGraph missing = good;
    const auto& row5 = oracle[5];
    missing.indices[5 * 10 + 9] = row5[10].second;
    missing.distances[5 * 10 + 9] = row5[10].first;
    CHECK(rows_not_k_nearest(missing, oracle) == 1);
    // Row 7 reports a distance one ulp off.
    NeighborGraph off = good;
    off.distances[7 * 10 + 3] = std::nextafter(off.distances[7 * 10 + 3], 1e300);
    CHECK(rows_not_k_nearest(off, oracle) == 1);
    // Row 9 lists a point twice.
    NeighborGraph twice = good;
    twice.indices[9 * 10 + 1] = twice.indices[9 * 10];
    twice.distances[9 * 10 + 1] = twice.distances[9 * 10];
    CHECK(rows_not_k_nearest(twice, oracle) == 1);
}

TEST_CASE("neighbors: backends equal the naive scan on Gaussian data") {
    struct Case {
        index_t n, d, k;
    };
    const Case cases[] = {{40, 1, 1},   {40, 1, 39},   {300, 1, 17},   {500, 2, 1},   {500, 2, 30},
                          {400, 3, 90}, {90, 3, 89},   {600, 10, 1},   {600, 10, 45}, {300, 10, 299},
                          {500, 50, 1}, {800, 50, 90}, {200, 50, 199}, {2500, 5, 20}, {1500, 20, 60}};
    for (const Case& c : cases) {
        CAPTURE(c.n);
        CAPTURE(c.d);
        CAPTURE(c.k);
        check_backends(random_matrix(c.n, c.d, 1000 + static_cast<std::uint64_t>(c.n * 7 + c.d)), c.k);
    }
}

TEST_CASE("neighbors: backends equal the naive scan on clustered data") {
    for (index_t d : {2, 10, 50}) {
        CAPTURE(d);
        check_backends(clustered_data(250, d, 77 + static_cast<std::uint64_t>(d)), 90);
    }
}

TEST_CASE("neighbors: duplicates and a block of identical points") {
    for (index_t d : {1, 2, 3, 10, 50}) {
        CAPTURE(d);
        const Matrix x = duplicated_data(150, d, 60, 5 + static_cast<std::uint64_t>(d));
        for (index_t k : {1, 4, 30, 90}) {
            CAPTURE(k);
            check_backends(x, k);
        }
    }
}

TEST_CASE("neighbors: all points identical") {
    const Matrix x(120, 4, 2.5);
    check_backends(x, 1);
    check_backends(x, 50);
    // Every row: the 3 other points with the smallest tie keys.
    const NeighborGraph g = nearest_neighbors(x, 3, KnnBackend::brute, 2);
    for (index_t i : {0, 2, 119}) {
        std::vector<point_t> others;
        for (point_t j = 0; j < 120; ++j)
            if (j != static_cast<point_t>(i)) others.push_back(j);
        std::sort(others.begin(), others.end(),
                  [i](point_t a, point_t b) { return tie_key(i, a) < tie_key(i, b); });
        others.resize(3);
        CHECK(std::vector<point_t>(g.row_indices(i), g.row_indices(i) + 3) == others);
    }
}

TEST_CASE("neighbors: integer grid data full of ties") {
    for (index_t d : {1, 2, 3, 5}) {
        CAPTURE(d);
        const Matrix x = grid_data(700, d, 5, 31 + static_cast<std::uint64_t>(d));
        for (index_t k : {1, 10, 60}) {
            CAPTURE(k);
            check_backends(x, k);
        }
    }
}

TEST_CASE("neighbors: large offsets, tiny and huge scales") {
    check_backends(random_matrix(600, 8, 11, 1.0, 1e7), 25);  // centring matters for the float pass
    check_backends(random_matrix(600, 8, 12, 1e-30), 25);
    check_backends(random_matrix(600, 8, 13, 1e30), 25);
    check_backends(random_matrix(600, 8, 14, 1e-160), 25);  // squares underflow to subnormals
}

TEST_CASE("neighbors: the result does not depend on the thread count") {
    const Matrix x = clustered_data(375, 12, 99);
    for (KnnBackend backend : {KnnBackend::kdtree, KnnBackend::brute}) {
        CAPTURE(std::string(to_string(backend)));
        const NeighborGraph one = nearest_neighbors(x, 30, backend, 1);
        CHECK(same_graph(nearest_neighbors(x, 30, backend, 2), one));
        CHECK(same_graph(nearest_neighbors(x, 30, backend, 4), one));
        CHECK(same_graph(nearest_neighbors(x, 30, backend, 0), one));
    }
}

TEST_CASE("neighbors: invalid arguments throw InvalidArgument") {
    const Matrix x = random_matrix(10, 3, 3);
    for (KnnBackend backend : {KnnBackend::kdtree, KnnBackend::brute, KnnBackend::automatic}) {
        CAPTURE(std::string(to_string(backend)));
        CHECK_THROWS_AS(nearest_neighbors(x, 0, backend, 1), InvalidArgument);
        CHECK_THROWS_AS(nearest_neighbors(x, 10, backend, 1), InvalidArgument);
        CHECK_THROWS_AS(nearest_neighbors(x, -1, backend, 1), InvalidArgument);
        CHECK_THROWS_AS(nearest_neighbors(x, 3, backend, -1), InvalidArgument);
        CHECK_NOTHROW(nearest_neighbors(x, 9, backend, 1));
    }
    CHECK_THROWS_AS(nearest_neighbors_naive(x, 0), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors_naive(x, 10), InvalidArgument);
    const Matrix one(1, 3, 0.0);
    CHECK_THROWS_AS(nearest_neighbors(one, 1, KnnBackend::brute, 1), InvalidArgument);
    Matrix bad = random_matrix(10, 3, 4);
    bad(4, 1) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(nearest_neighbors(bad, 3, KnnBackend::kdtree, 1), InvalidArgument);
    bad(4, 1) = std::numeric_limits<double>::infinity();
    CHECK_THROWS_AS(nearest_neighbors(bad, 3, KnnBackend::brute, 1), InvalidArgument);
}

TEST_CASE("neighbors: automatic resolves to kdtree in low and brute in high dimension") {
    CHECK(resolve_backend(KnnBackend::kdtree, 100000, 50) == KnnBackend::kdtree);
    CHECK(resolve_backend(KnnBackend::brute, 100000, 2) == KnnBackend::brute);
    for (index_t n : {1000, 10000, 100000, 1000000}) {
        CAPTURE(n);
        CHECK(resolve_backend(KnnBackend::automatic, n, 2) == KnnBackend::kdtree);
        // Exact up to the approximate backend's measured crossover (test_knn_nndescent.cpp).
        const KnnBackend high = n > approximate_knn_min_points ? KnnBackend::nndescent : KnnBackend::brute;
        CHECK(resolve_backend(KnnBackend::automatic, n, 50) == high);
        CHECK(resolve_backend(KnnBackend::automatic, n, 784) == high);
    }
}

TEST_CASE("locality_order puts neighbours near each other, and relabel moves and renames the rows") {
    // 8 clusters whose points are interleaved in the input (point i in cluster i % 8): neighbours are
    // 8 labels apart at best, ~N/3 on average.
    const index_t n = 800, k = 10;
    Matrix x(n, 3);
    std::mt19937_64 rng(91);
    std::normal_distribution<double> noise(0.0, 0.1);
    for (index_t i = 0; i < n; ++i)
        for (index_t d = 0; d < 3; ++d) x(i, d) = 10.0 * static_cast<double>((i % 8) >> d & 1) + noise(rng);
    const NeighborGraph graph = nearest_neighbors(x, k, KnnBackend::brute, 2);
    const std::vector<point_t> order = locality_order(graph);
    REQUIRE(order.size() == static_cast<std::size_t>(n));
    std::vector<point_t> label(static_cast<std::size_t>(n), ~point_t{0});
    for (std::size_t r = 0; r < order.size(); ++r) {
        REQUIRE(order[r] < n);
        REQUIRE(label[order[r]] == ~point_t{0});  // a permutation
        label[order[r]] = static_cast<point_t>(r);
    }
    CHECK(locality_order(graph) == order);  // a pure function of the graph

    NeighborGraph moved = graph;
    relabel(moved, order);
    double before = 0, after = 0;
    for (index_t r = 0; r < n; ++r) {
        const index_t i = order[static_cast<std::size_t>(r)];
        for (index_t e = 0; e < k; ++e) {
            CHECK(moved.row_indices(r)[e] == label[graph.row_indices(i)[e]]);
            CHECK(moved.row_distances(r)[e] == graph.row_distances(i)[e]);
            before += std::abs(static_cast<double>(graph.row_indices(i)[e]) - static_cast<double>(i));
            after += std::abs(static_cast<double>(moved.row_indices(r)[e]) - static_cast<double>(r));
        }
    }
    MESSAGE("mean label distance of neighbours: input ", before / double(n * k), ", relabelled ",
            after / double(n * k));
    CHECK(after < 0.2 * before);

    std::vector<point_t> bad = order;
    bad[3] = bad[4];
    CHECK_THROWS_AS(relabel(moved, bad), InvalidArgument);
    CHECK_THROWS_AS(relabel(moved, std::vector<point_t>(order.begin(), order.end() - 1)), InvalidArgument);
}

TEST_CASE("every backend reports its progress, increasing to 1, from the calling thread") {
    const auto caller = std::this_thread::get_id();
    for (const index_t n : {40, 3000})  // small inputs take the backends' exact-scan shortcuts
    for (const KnnBackend backend : {KnnBackend::brute, KnnBackend::kdtree, KnnBackend::hnsw, KnnBackend::nndescent}) {
        CAPTURE(n);
        CAPTURE(to_string(backend));
        const Matrix x = random_matrix(n, 8, 95);
        NeighborOptions options;
        options.backend = backend;
        std::vector<double> seen;
        bool same_thread = true;
        const NeighborGraph graph = nearest_neighbors(x, 15, options, 2, [&](double f) {
            seen.push_back(f);
            same_thread = same_thread && std::this_thread::get_id() == caller;
        });
        REQUIRE(!seen.empty());
        CHECK(same_thread);
        CHECK(std::is_sorted(seen.begin(), seen.end()));
        CHECK(seen.front() > 0);
        CHECK(seen.back() == 1.0);
        // The graph is the one a search without progress returns.
        CHECK(graph.indices == nearest_neighbors(x, 15, options, 2).indices);
    }
}
