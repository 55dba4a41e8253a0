// The approximate backends, --knn hnsw (hierarchical navigable small world) and --knn nndescent
// (random-projection forest + NN-descent), through one set of checks run for each: recall against the
// naive scan, the same graph for every thread count, every NeighborGraph invariant on messy data
// (duplicates, ties, constant rows, k = N - 1, extreme magnitudes), and argument checks before any work.
// What only one backend has (ef, the automatic crossover) is checked in that backend's own cases.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "helpers/graphs.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/options.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

NeighborOptions hnsw(int m = NeighborOptions{}.hnsw_m,
                     int ef_construction = NeighborOptions{}.hnsw_ef_construction, int ef_search = 0) {
    using N = NeighborOptions;
    return neighbor_options(
        KnnBackend::hnsw,
        {{&N::hnsw_m, m}, {&N::hnsw_ef_construction, ef_construction}, {&N::hnsw_ef_search, ef_search}});
}

NeighborOptions nndescent(int trees = 0, int leaf = 0, int rounds = 0) {
    using N = NeighborOptions;
    return neighbor_options(
        KnnBackend::nndescent,
        {{&N::nndescent_trees, trees}, {&N::nndescent_leaf_size, leaf}, {&N::nndescent_rounds, rounds}});
}

// Checks the invariants and returns the recall against the naive scan.
double check(ConstMatrixView x, index_t k, const NeighborOptions& o, int threads = 2) {
    const NeighborGraph g = nearest_neighbors(x, k, o, threads);
    CHECK(invalid_rows(x, g, k) == 0);
    return testing::recall(g, nearest_neighbors_naive(x, k));
}

// The recall of o on x at k, reported and checked against a floor.
double check_recall(const char* what, ConstMatrixView x, index_t k, const NeighborOptions& o, double floor) {
    const double r = check(x, k, o);
    MESSAGE("recall, " << what << ", k = " << k << ": " << r);
    CHECK(r >= floor);
    return r;
}

// Per backend: its default options, a second set for the thread test, its smallest parameters (poor
// recall, valid rows), option sets out of range, and the checks only it has (more_*).
struct Hnsw {
    static NeighborOptions defaults() { return hnsw(); }
    static NeighborOptions other() { return hnsw(4, 20, 40); }
    static NeighborOptions smallest() { return hnsw(2, 1, 1); }
    static std::vector<NeighborOptions> out_of_range() {
        return {hnsw(1), hnsw(1001), hnsw(16, 0), hnsw(16, 200, -1)};
    }
    // What validate() refuses in Options.
    static NeighborOptions invalid_in_options() { return hnsw(0); }
    // Recall on Gaussian data; a larger ef can only widen each query's candidates: recall does not drop.
    static void more_recall() {
        const Matrix gaussian = random_matrix(2000, 10, 6);
        const double g = check_recall("Gaussian 2000 x 10", gaussian, 20, hnsw(), 0.95);
        CHECK(check(gaussian, 20, hnsw(16, 200, 200)) >= g);
    }
    // ef below k + 1 acts as k + 1.
    static void more_small_parameters() {
        CHECK(resolve_hnsw_ef_search(hnsw(16, 200, 5), 30) == 31);
        CHECK(resolve_hnsw_ef_search(hnsw(16, 200, 500), 30) == 500);
        CHECK(resolve_hnsw_ef_search(hnsw(), 30) >= 31);
    }
    // Squares that underflow, and subnormal data (coarse, still valid).
    static void more_magnitudes() {
        CHECK(check(random_matrix(800, 8, 24, 1e-160), 15, hnsw()) >= 0.95);
        CHECK(check(random_matrix(800, 8, 25, 1e-310), 15, hnsw()) >= 0.5);
    }
};

struct NnDescent {
    static NeighborOptions defaults() { return nndescent(); }
    static NeighborOptions other() { return nndescent(3, 20, 2); }
    static NeighborOptions smallest() { return nndescent(1, 2, 1); }
    static std::vector<NeighborOptions> out_of_range() {
        return {nndescent(-1),        nndescent(1001),     nndescent(0, 1),
                nndescent(0, 100001), nndescent(0, 0, -1), nndescent(0, 0, 1001)};
    }
    static NeighborOptions invalid_in_options() { return nndescent(0, 1); }
    static void more_recall() {
        check_recall("clustered 2000 x 50", clustered_data(250, 50, 6), 90, nndescent(), 0.95);
        check_recall("Gaussian 2000 x 10", random_matrix(2000, 10, 7), 20, nndescent(), 0.95);
    }
    // A single round with large leaves.
    static void more_small_parameters() {
        CHECK(check(clustered_data(150, 6, 14), 30, nndescent(1, 200, 1)) > 0.5);
    }
    // Squares that underflow or overflow (then all tie): coarse, valid graphs.
    static void more_magnitudes() {
        CHECK(check(random_matrix(800, 8, 24, 1e-160), 15, nndescent()) >= 0.5);
        CHECK(check(random_matrix(800, 8, 27, 1e200), 15, nndescent()) >= 0.0);
    }
};

}  // namespace

TYPE_TO_STRING_AS("hnsw", Hnsw);
TYPE_TO_STRING_AS("nndescent", NnDescent);

TEST_CASE_TEMPLATE("approximate kNN: recall against the naive scan on clustered and Gaussian data", B, Hnsw,
                   NnDescent) {
    check_recall("clustered 3200 x 20", clustered_data(400, 20, 5), 30, B::defaults(), 0.95);
    B::more_recall();
}

TEST_CASE_TEMPLATE("approximate kNN: the graph is the same bit for bit for 1, 2 and 4 threads", B, Hnsw,
                   NnDescent) {
    const Matrix x = clustered_data(300, 12, 9);  // 2,400 points
    for (const NeighborOptions& o : {B::defaults(), B::other()}) {
        CAPTURE(o.hnsw_m);
        CAPTURE(o.nndescent_trees);
        const NeighborGraph one = nearest_neighbors(x, 25, o, 1);
        CHECK(invalid_rows(x, one, 25) == 0);
        CHECK(same_graph(nearest_neighbors(x, 25, o, 2), one));
        CHECK(same_graph(nearest_neighbors(x, 25, o, 4), one));
        CHECK(same_graph(nearest_neighbors(x, 25, o, 0), one));
    }
}

TEST_CASE_TEMPLATE("approximate kNN: duplicates, ties and constant data give valid graphs", B, Hnsw,
                   NnDescent) {
    SUBCASE("every point three to five times, and a block of 200 copies of one point") {
        const Matrix x = duplicated_data(300, 8, 200, 3);
        for (index_t k : {1, 10, 40}) {
            CAPTURE(k);
            CHECK(check(x, k, B::defaults()) >= 0.9);
        }
    }
    SUBCASE("integer grid: many equal distances") {
        const Matrix x = testing::grid_data(1500, 3, 5, 8);  // 125 cells, ~12 points each
        for (index_t k : {5, 30}) {
            CAPTURE(k);
            CHECK(check(x, k, B::defaults()) >= 0.9);
        }
    }
    SUBCASE("all rows equal") {
        const Matrix x(600, 5, -3.25);
        for (index_t k : {1, 30}) {
            CAPTURE(k);
            const NeighborGraph g = nearest_neighbors(x, k, B::defaults(), 2);
            CHECK(invalid_rows(x, g, k) == 0);
            for (double d : g.distances) CHECK(d == 0.0);
        }
    }
}

TEST_CASE_TEMPLATE("approximate kNN: k = N - 1, tiny inputs and small parameters", B, Hnsw, NnDescent) {
    const Matrix x = random_matrix(150, 4, 12);
    CHECK(check(x, 149, B::defaults()) == 1.0);  // every other point is a neighbour
    CHECK(check(random_matrix(2, 3, 13), 1, B::defaults()) == 1.0);
    const Matrix y = clustered_data(150, 6, 14);  // 1,200 points
    CHECK(check(y, 30, B::smallest()) > 0.1);     // poor recall, valid rows
    B::more_small_parameters();
}

TEST_CASE_TEMPLATE("approximate kNN: large offsets, tiny and huge magnitudes", B, Hnsw, NnDescent) {
    // hnsw's float index sees centred data scaled by a power of two, nndescent's working distances are
    // scaled into float's range; the reported distances stay exact.
    const NeighborOptions o = B::defaults();
    CHECK(check(random_matrix(800, 8, 21, 1.0, 1e7), 15, o) >= 0.95);
    CHECK(check(random_matrix(800, 8, 22, 1e-30), 15, o) >= 0.95);
    CHECK(check(random_matrix(800, 8, 23, 1e30), 15, o) >= 0.95);
    CHECK(check(random_matrix(800, 8, 26, 1e150), 15, o) >= 0.95);  // squares near 1e300
    B::more_magnitudes();
}

TEST_CASE_TEMPLATE("approximate kNN: invalid arguments and options throw InvalidArgument before any work", B,
                   Hnsw, NnDescent) {
    Matrix x = random_matrix(300, 3, 31);
    CHECK_THROWS_AS(nearest_neighbors(x, 0, B::defaults(), 1), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors(x, 300, B::defaults(), 1), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors(x, 3, B::defaults(), -1), InvalidArgument);
    for (const NeighborOptions& bad : B::out_of_range()) {
        CAPTURE(bad.hnsw_m);
        CAPTURE(bad.nndescent_trees);
        CHECK_THROWS_AS(nearest_neighbors(x, 3, bad, 1), InvalidArgument);
    }
    CHECK_NOTHROW(nearest_neighbors(x, 3, B::defaults(), 1));
    Options o;
    o.neighbors = B::invalid_in_options();
    CHECK_THROWS_AS(validate(o, x.rows(), x.cols()), InvalidArgument);
    x(123, 2) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(nearest_neighbors(x, 3, B::defaults(), 1), InvalidArgument);
    for (const double infinity :
         {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
        x(123, 2) = infinity;
        CHECK_THROWS_AS(nearest_neighbors(x, 3, B::defaults(), 1), InvalidArgument);
    }
}

TEST_CASE("hnsw: names, and automatic stays exact") {
    CHECK(std::string(to_string(KnnBackend::hnsw)) == "hnsw");
    CHECK(parse_backend("hnsw") == KnnBackend::hnsw);
    for (index_t n : {1000, 100000, 10000000})
        CHECK(resolve_backend(KnnBackend::automatic, n, 50) != KnnBackend::hnsw);
}

TEST_CASE("nndescent: names, and automatic is approximate only above the measured crossover") {
    CHECK(std::string(to_string(KnnBackend::nndescent)) == "nndescent");
    CHECK(parse_backend("nndescent") == KnnBackend::nndescent);
    for (index_t n : {1000, 100000, 300000})
        CHECK(resolve_backend(KnnBackend::automatic, n, 50) == KnnBackend::brute);
    CHECK(resolve_backend(KnnBackend::automatic, 300001, 50) == KnnBackend::nndescent);
    CHECK(resolve_backend(KnnBackend::automatic, 10000000, 784) == KnnBackend::nndescent);
    // Below 20 dimensions no crossover was measured: exact (kd-tree in low dimension).
    CHECK(resolve_backend(KnnBackend::automatic, 10000000, 10) == KnnBackend::brute);
    CHECK(resolve_backend(KnnBackend::automatic, 10000000, 3) == KnnBackend::kdtree);
    // An explicit choice is kept.
    CHECK(resolve_backend(KnnBackend::brute, 10000000, 50) == KnnBackend::brute);
}
