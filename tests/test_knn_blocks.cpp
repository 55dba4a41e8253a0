// The exact neighbour search in blocks (detail::knn_block_candidates, merge_candidates, write_candidates),
// as a distributed run uses it: rank r holds rows [b_r, b_{r+1}) and sees the blocks one at a time
// around a ring (its own first, then r+1, r+2, ...). The merged graph must equal the single-process
// exact graph bit for bit, for any split, on continuous data and on data full of ties and duplicates.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../src/knn/internal.hpp"
#include "helpers/graphs.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/options.hpp"
#include "treesne/knn/neighbors.hpp"

using namespace treesne;
using namespace treesne::testing;
using detail::BlockCandidates;
using detail::Neighbor;

namespace {

// Rows [first, last) of x as a view.
ConstMatrixView rows_of(ConstMatrixView x, index_t first, index_t last) {
    return {x.row(first), last - first, x.cols};
}

// The boundaries of r contiguous blocks of uneven sizes (weights 3:1, 1:6:2, 2:1:5:3): with N = 50 and
// four blocks, one block of 4 rows, fewer than k = 5 or 30.
std::vector<index_t> split_rows(index_t n, index_t r) {
    static const std::vector<std::vector<index_t>> weights = {{1}, {3, 1}, {1, 6, 2}, {2, 1, 5, 3}};
    const std::vector<index_t>& w = weights[static_cast<std::size_t>(r - 1)];
    index_t total = 0;
    for (index_t v : w) total += v;
    std::vector<index_t> bounds{0};
    index_t sum = 0;
    for (index_t v : w) {
        sum += v;
        bounds.push_back(n * sum / total);
    }
    return bounds;
}

// The graph a distributed run builds: each rank's rows' candidates among its own block, then among
// the others in ring order, merged, written, and the ranks' rows put one after the other. known: each
// search is given the rank's candidates so far (the fast way), or not.
NeighborGraph ring_graph(ConstMatrixView x, index_t k, Metric metric, const std::vector<index_t>& bounds,
                         bool known = true, int threads = 1) {
    const auto ranks = static_cast<index_t>(bounds.size()) - 1;
    auto block = [&](index_t r) {
        return rows_of(x, bounds[static_cast<std::size_t>(r)], bounds[static_cast<std::size_t>(r + 1)]);
    };
    NeighborGraph whole;
    whole.n = x.rows;
    whole.k = k;
    for (index_t rank = 0; rank < ranks; ++rank) {
        const index_t first = bounds[static_cast<std::size_t>(rank)];
        BlockCandidates c =
            detail::knn_block_candidates(block(rank), first, block(rank), first, k, metric, threads);
        for (index_t step = 1; step < ranks; ++step) {
            const index_t other = (rank + step) % ranks;
            detail::merge_candidates(
                c, detail::knn_block_candidates(block(rank), first, block(other),
                                                bounds[static_cast<std::size_t>(other)], k, metric, threads,
                                                known ? &c : nullptr));
        }
        NeighborGraph part;
        detail::write_candidates(c, k, metric, part);
        REQUIRE(part.n == c.rows);
        whole.indices.insert(whole.indices.end(), part.indices.begin(), part.indices.end());
        whole.distances.insert(whole.distances.end(), part.distances.begin(), part.distances.end());
    }
    return whole;
}

// Splits into `ranks` blocks (1..4 by default) give the graph knn_brute gives, each search given the
// candidates so far, and without them for the last split of the list; with `backends`, first
// check that nearest_neighbors with the exact backends gives it too (they are compared with the naive
// scan in test_neighbors and test_distance_metrics; here once more on these data). x holds the caller's
// rows (for cosine the search runs on unit_rows()).
void check_splits(const Matrix& x, index_t k, Metric metric, bool backends = true,
                  std::initializer_list<index_t> ranks = {1, 2, 3, 4}) {
    const Matrix unit = metric == Metric::cosine ? detail::unit_rows(x, 1) : Matrix();
    const ConstMatrixView data = metric == Metric::cosine ? unit.view() : x.view();
    const NeighborGraph brute = detail::knn_brute(data, k, metric, 1);
    if (backends) {
        NeighborOptions options;
        options.metric = metric;
        options.backend = KnnBackend::brute;
        REQUIRE(same_graph(nearest_neighbors(x, k, options, 1), brute));
        if (metric != Metric::chebyshev) {  // the kd-tree has no chebyshev
            options.backend = KnnBackend::kdtree;
            REQUIRE(same_graph(nearest_neighbors(x, k, options, 1), brute));
        }
    }
    for (index_t r : ranks) {
        CAPTURE(r);
        CHECK(same_graph(ring_graph(data, k, metric, split_rows(x.rows(), r)), brute));
    }
    const index_t last = *(ranks.end() - 1);
    CHECK(same_graph(ring_graph(data, k, metric, split_rows(x.rows(), last), false), brute));
}

// Gaussian rows, the last third of them copies of row 0 (the last block of every split_rows split lies
// inside them: a block that holds only duplicates of query 0, and of each of its own rows), and row 1
// repeated in rows 2..5.
Matrix with_duplicates(index_t n, index_t d, std::uint64_t seed) {
    Matrix x = random_matrix(n, d, seed);
    auto copy_row = [&](index_t from, index_t to) { std::copy(x.row(from), x.row(from) + d, x.row(to)); };
    for (index_t i = n - n / 3; i < n; ++i) copy_row(0, i);
    for (index_t i = 2; i < 6; ++i) copy_row(1, i);
    return x;
}

// Two groups far apart and of very different spreads: the first half ~N(0, 1e-3^2), the second
// ~N(1e5, 10^2). A block of one group searched among a block of the other: the float frame, centred on
// the reference, must scale to cover the queries too.
Matrix far_groups(index_t n, index_t d, std::uint64_t seed) {
    Matrix x = random_matrix(n, d, seed, 1e-3);
    const Matrix far = random_matrix(n - n / 2, d, seed + 1, 10.0, 1e5);
    std::copy(far.data(), far.data() + far.size(), x.row(n / 2));
    return x;
}

// The candidates one block search must give, straight from the definition: every reference row whose
// global index differs from the query's, by (rank_distance, tie_key of the global indices), the first
// min(k, available).
std::vector<Neighbor> expected_row(ConstMatrixView queries, index_t query_first, index_t i,
                                   ConstMatrixView reference, index_t reference_first, index_t k,
                                   Metric metric) {
    std::vector<Neighbor> all;
    const index_t query = query_first + i;
    for (index_t j = 0; j < reference.rows; ++j) {
        if (reference_first + j == query) continue;
        all.push_back(
            detail::candidate(query, static_cast<point_t>(reference_first + j),
                              detail::rank_distance(metric, queries.row(i), reference.row(j), queries.cols)));
    }
    const auto kept = std::min(all.size(), static_cast<std::size_t>(k));
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kept), all.end());
    all.resize(kept);
    return all;
}

bool same_neighbor(const Neighbor& a, const Neighbor& b) {
    return a.distance == b.distance && a.tie == b.tie && a.index == b.index;
}

// One block search equals expected_row for every query row.
index_t rows_not_expected(ConstMatrixView x, index_t q0, index_t q1, index_t r0, index_t r1, index_t k,
                          Metric metric, int threads = 2) {
    const ConstMatrixView queries = rows_of(x, q0, q1), reference = rows_of(x, r0, r1);
    const BlockCandidates c = detail::knn_block_candidates(queries, q0, reference, r0, k, metric, threads);
    REQUIRE(c.rows == q1 - q0);
    REQUIRE(c.first == q0);
    index_t wrong = 0;
    for (index_t i = 0; i < c.rows; ++i) {
        const std::vector<Neighbor> want = expected_row(queries, q0, i, reference, r0, k, metric);
        const index_t count = c.count[static_cast<std::size_t>(i)];
        const bool same = count == static_cast<index_t>(want.size()) &&
                          std::equal(want.begin(), want.end(), c.row(i), same_neighbor);
        wrong += same ? 0 : 1;
    }
    return wrong;
}

const std::initializer_list<Metric> all_metrics = {Metric::euclidean, Metric::cosine, Metric::manhattan,
                                                   Metric::chebyshev};

// Gaussian rows and rows full of ties (integer grid points, offset 1 so that no row is zero for
// cosine; and repeated rows with a block of copies of row 0), D = 2, 10, 50, k = 1, 5, 30, the
// metrics given, each split into `ranks` blocks.
void check_data(index_t n, std::uint64_t seed, std::initializer_list<Metric> metrics, bool backends,
                std::initializer_list<index_t> ranks) {
    for (index_t d : {2, 10, 50}) {
        const auto s = seed + static_cast<std::uint64_t>(d);
        const Matrix gaussian = random_matrix(n, d, s), grid = grid_data(n, d, 3, s + 1, 1.0);
        const Matrix copies = with_duplicates(n, d, s + 2);
        for (Metric metric : metrics) {
            for (index_t k : {1, 5, 30}) {
                CAPTURE(d);
                CAPTURE(std::string(to_string(metric)));
                CAPTURE(k);
                check_splits(gaussian, k, metric, backends, ranks);
                check_splits(grid, k, metric, backends, ranks);
                check_splits(copies, k, metric, backends, ranks);
            }
        }
    }
}

}  // namespace

TEST_CASE("knn blocks: a ring of block searches equals the exact graph, N = 50 and 333") {
    for (index_t n : {50, 333})
        check_data(n, 100 + static_cast<std::uint64_t>(n), all_metrics, true, {1, 2, 3, 4});
}

// Several query and reference blocks of the float search (euclidean, and cosine: the same search on the
// unit rows), its visiting order and its rescans of heavy ties; the exact panel scan of manhattan and
// chebyshev has no more to show at this size than at N = 333.
TEST_CASE("knn blocks: a ring of block searches equals the exact graph, N = 2000") {
    check_data(2000, 300, {Metric::euclidean, Metric::cosine}, false, {3});
}

TEST_CASE("knn blocks: groups far apart and of different spreads, split between blocks") {
    for (index_t d : {2, 10, 50}) {
        CAPTURE(d);
        const Matrix x = far_groups(900, d, 60 + static_cast<std::uint64_t>(d));
        for (Metric metric : {Metric::euclidean, Metric::cosine})
            for (index_t k : {5, 30}) check_splits(x, k, metric);
    }
}

TEST_CASE("knn blocks: one block search keeps the min(k, available) best by the definition") {
    // Disjoint, equal, overlapping and nested blocks; blocks smaller than k, a block of one row (the
    // query itself: nothing left), large ones (the float prefilter), on Gaussian and grid data.
    const Matrix gaussian = random_matrix(800, 12, 70);
    const Matrix grid = grid_data(800, 3, 4, 71, 1.0);
    for (const Matrix* x : {&gaussian, &grid}) {
        for (Metric metric : all_metrics) {
            CAPTURE(std::string(to_string(metric)));
            for (index_t k : {1, 30}) {
                CAPTURE(k);
                CHECK(rows_not_expected(*x, 0, 350, 350, 800, k, metric) == 0);    // disjoint
                CHECK(rows_not_expected(*x, 100, 450, 100, 450, k, metric) == 0);  // the same rows
                CHECK(rows_not_expected(*x, 100, 450, 300, 700, k, metric) == 0);  // overlapping
                CHECK(rows_not_expected(*x, 50, 750, 300, 450, k, metric) == 0);   // reference inside
                CHECK(rows_not_expected(*x, 300, 450, 50, 750, k, metric) == 0);   // queries inside
                CHECK(rows_not_expected(*x, 0, 150, 600, 610, k, metric) == 0);    // fewer than k + 16
                CHECK(rows_not_expected(*x, 40, 41, 40, 41, k, metric) == 0);      // only itself
                CHECK(rows_not_expected(*x, 40, 60, 45, 46, k, metric) == 0);      // one row
            }
        }
    }
    // A block of one row yields an empty row for that row's own query.
    const BlockCandidates one = detail::knn_block_candidates(
        rows_of(gaussian, 7, 8), 7, rows_of(gaussian, 7, 8), 7, 3, Metric::euclidean, 1);
    CHECK(one.count == std::vector<index_t>{0});
}

TEST_CASE("knn blocks: knn_block_self keeps a block's own candidates compactly, as knn_block_candidates") {
    // The same candidates (distance, index, count) as the BlockCandidates of the block against itself,
    // and expand_candidates gives that BlockCandidates back (tie keys recomputed), for every metric, on
    // data with and without ties, blocks of fewer than k rows and large ones, 1 and 2 threads.
    const Matrix gaussian = random_matrix(700, 9, 72);
    const Matrix grid = grid_data(700, 3, 4, 73, 1.0);
    for (const Matrix* x : {&gaussian, &grid}) {
        for (Metric metric : all_metrics) {
            CAPTURE(std::string(to_string(metric)));
            for (const auto& [first, last] : std::vector<std::pair<index_t, index_t>>{{100, 600}, {0, 20}, {5, 6}}) {
                const index_t f = first, l = last;
                CAPTURE(f);
                for (int threads : {1, 2}) {
                    const ConstMatrixView block = rows_of(*x, f, l);
                    const BlockCandidates full = detail::knn_block_candidates(block, f, block, f, 30, metric, threads);
                    const detail::CompactCandidates compact = detail::knn_block_self(block, f, 30, metric, threads);
                    REQUIRE(compact.count == full.count);
                    const BlockCandidates back = detail::expand_candidates(compact, 0, l - f);
                    bool same = back.first == full.first && back.count == full.count;
                    for (std::size_t i = 0; same && i < full.count.size(); ++i)
                        for (index_t j = 0; j < full.count[i]; ++j) {
                            const Neighbor& a = full.best[i * 30 + static_cast<std::size_t>(j)];
                            const Neighbor& b = back.best[i * 30 + static_cast<std::size_t>(j)];
                            same = same && a.distance == b.distance && a.tie == b.tie && a.index == b.index;
                        }
                    CHECK(same);
                    detail::CompactCandidates again = detail::allocate_compact(f, l - f, 30);
                    detail::compress_candidates(back, 0, again);
                    CHECK(again.distance == compact.distance);
                    CHECK(again.index == compact.index);
                }
            }
        }
    }
}

TEST_CASE("knn blocks: knn_block_merge equals merging knn_block_candidates given the known ones") {
    // Rows [100, 400) hold their own block's candidates; a disjoint block (before or after them, small
    // or large, with ties on the grid) is merged in by both routes, in chunks of 1, 37 and all rows, on
    // 1 and 2 threads: the same rows bit for bit, for every metric.
    const Matrix gaussian = random_matrix(700, 9, 74);
    const Matrix grid = grid_data(700, 3, 4, 75, 1.0);
    for (const Matrix* x : {&gaussian, &grid}) {
        const ConstMatrixView own = rows_of(*x, 100, 400);
        for (Metric metric : all_metrics) {
            CAPTURE(std::string(to_string(metric)));
            for (const auto& [first, last] : std::vector<std::pair<index_t, index_t>>{{400, 700}, {0, 100}, {95, 100}}) {
                const index_t f = first, l = last;
                CAPTURE(f);
                const ConstMatrixView other = rows_of(*x, f, l);
                detail::CompactCandidates want = detail::knn_block_self(own, 100, 30, metric, 1);
                BlockCandidates known = detail::expand_candidates(want, 0, own.rows);
                detail::merge_candidates(known, detail::knn_block_candidates(own, 100, other, f, 30, metric, 1, &known));
                detail::compress_candidates(known, 0, want);
                for (const index_t chunk : {index_t{1}, index_t{37}, index_t{300}})
                    for (int threads : {1, 2}) {
                        CAPTURE(chunk);
                        detail::CompactCandidates got = detail::knn_block_self(own, 100, 30, metric, threads);
                        detail::knn_block_merge(got, own, other, f, metric, threads, chunk);
                        CHECK(got.count == want.count);
                        CHECK(got.distance == want.distance);
                        CHECK(got.index == want.index);
                    }
            }
        }
    }
    detail::CompactCandidates c = detail::knn_block_self(rows_of(gaussian, 100, 400), 100, 30, Metric::euclidean, 1);
    CHECK_THROWS_AS(detail::knn_block_merge(c, rows_of(gaussian, 100, 400), rows_of(gaussian, 300, 500), 300,
                                            Metric::euclidean, 1, 64),
                    InvalidArgument);
}

TEST_CASE("knn blocks: the result depends neither on the thread count nor on the merge order") {
    const Matrix x = grid_data(700, 6, 3, 80, 1.0);
    const std::vector<index_t> bounds = split_rows(x.rows(), 4);
    for (Metric metric : {Metric::euclidean, Metric::manhattan}) {
        CAPTURE(std::string(to_string(metric)));
        const NeighborGraph one = ring_graph(x, 20, metric, bounds, true, 1);
        CHECK(same_graph(ring_graph(x, 20, metric, bounds, true, 3), one));
        CHECK(same_graph(ring_graph(x, 20, metric, bounds, true, 0), one));
        CHECK(same_graph(ring_graph(x, 20, metric, bounds, false, 3), one));
        // Rank 1's rows: the blocks merged in reverse order instead of ring order.
        const ConstMatrixView own = rows_of(x, bounds[1], bounds[2]);
        BlockCandidates reversed = detail::allocate_candidates(bounds[1], own.rows, 20);
        for (index_t r = 3; r >= 0; --r)
            detail::merge_candidates(
                reversed, detail::knn_block_candidates(own, bounds[1],
                                                       rows_of(x, bounds[static_cast<std::size_t>(r)],
                                                               bounds[static_cast<std::size_t>(r + 1)]),
                                                       bounds[static_cast<std::size_t>(r)], 20, metric, 2));
        NeighborGraph part;
        detail::write_candidates(reversed, 20, metric, part);
        const auto begin = static_cast<std::ptrdiff_t>(bounds[1] * 20),
                   end = static_cast<std::ptrdiff_t>(bounds[2] * 20);
        CHECK(std::equal(part.indices.begin(), part.indices.end(), one.indices.begin() + begin,
                         one.indices.begin() + end));
        CHECK(std::equal(part.distances.begin(), part.distances.end(), one.distances.begin() + begin,
                         one.distances.begin() + end));
    }
}

TEST_CASE("knn blocks: a search given the known candidates keeps only rows that can enter the k best") {
    const Matrix gaussian = random_matrix(900, 10, 95), grid = grid_data(900, 4, 3, 96, 1.0);
    for (const Matrix* x : {&gaussian, &grid}) {
        for (Metric metric : all_metrics) {
            CAPTURE(std::string(to_string(metric)));
            const ConstMatrixView own = rows_of(*x, 300, 600), other = rows_of(*x, 0, 300);
            const BlockCandidates known = detail::knn_block_candidates(own, 300, own, 300, 25, metric, 1);
            const BlockCandidates all = detail::knn_block_candidates(own, 300, other, 0, 25, metric, 1);
            const BlockCandidates some =
                detail::knn_block_candidates(own, 300, other, 0, 25, metric, 1, &known);
            // Every row kept is within the row's known k-th, and the merges agree element by element.
            index_t farther = 0, fewer = 0;
            for (index_t i = 0; i < some.rows; ++i) {
                const double kth = known.row(i)[24].distance;
                for (index_t j = 0; j < some.count[static_cast<std::size_t>(i)]; ++j)
                    farther += some.row(i)[j].distance > kth ? 1 : 0;
                fewer +=
                    some.count[static_cast<std::size_t>(i)] < all.count[static_cast<std::size_t>(i)] ? 1 : 0;
            }
            CHECK(farther == 0);
            if (x == &gaussian) CHECK(fewer > 0);  // it did skip rows (on the grid, ties may fill every row)
            BlockCandidates a = known, b = known;
            detail::merge_candidates(a, all);
            detail::merge_candidates(b, some);
            CHECK(a.count == b.count);
            CHECK(std::equal(a.best.begin(), a.best.end(), b.best.begin(), same_neighbor));
        }
    }
}

TEST_CASE("knn blocks: bad k, shapes, labels and rows shorter than k throw InvalidArgument") {
    const Matrix x = random_matrix(40, 3, 90);
    const ConstMatrixView a = rows_of(x, 0, 20), b = rows_of(x, 20, 40);
    constexpr index_t last = std::numeric_limits<point_t>::max();
    CHECK_THROWS_AS(detail::knn_block_candidates(a, 0, b, 20, 0, Metric::euclidean, 1), InvalidArgument);
    CHECK_THROWS_AS(
        detail::knn_block_candidates(a, 0, ConstMatrixView{x.data(), 20, 2}, 20, 3, Metric::euclidean, 1),
        InvalidArgument);
    CHECK_THROWS_AS(detail::knn_block_candidates(a, -1, b, 20, 3, Metric::euclidean, 1), InvalidArgument);
    CHECK_THROWS_AS(detail::knn_block_candidates(a, 0, b, last - 18, 3, Metric::euclidean, 1),
                    InvalidArgument);
    CHECK_NOTHROW(detail::knn_block_candidates(a, 0, b, last - 19, 3, Metric::euclidean, 1));
    // Rows 0..19 among rows 20..39 only: 20 candidates each, enough for k = 20, not for k = 21.
    const BlockCandidates c = detail::knn_block_candidates(a, 0, b, 20, 25, Metric::euclidean, 1);
    CHECK(c.count == std::vector<index_t>(20, 20));
    NeighborGraph graph;
    CHECK_NOTHROW(detail::write_candidates(c, 20, Metric::euclidean, graph));
    CHECK(graph.n == 20);
    CHECK(graph.k == 20);
    CHECK_THROWS_AS(detail::write_candidates(c, 21, Metric::euclidean, graph), InvalidArgument);
    CHECK_THROWS_AS(detail::write_candidates(c, 26, Metric::euclidean, graph), InvalidArgument);
    BlockCandidates other = detail::allocate_candidates(20, 20, 25);
    CHECK_THROWS_AS(detail::merge_candidates(other, c), InvalidArgument);
    BlockCandidates fewer = detail::allocate_candidates(0, 20, 10);
    CHECK_THROWS_AS(detail::merge_candidates(fewer, c), InvalidArgument);
    // Known candidates of other rows or another k.
    CHECK_THROWS_AS(detail::knn_block_candidates(a, 0, b, 20, 25, Metric::euclidean, 1, &other),
                    InvalidArgument);
    CHECK_THROWS_AS(detail::knn_block_candidates(a, 0, b, 20, 25, Metric::euclidean, 1, &fewer),
                    InvalidArgument);
    CHECK_NOTHROW(detail::knn_block_candidates(a, 0, b, 20, 25, Metric::euclidean, 1, &c));
}

TEST_CASE("knn blocks: block_candidates_bytes is the candidates' storage") {
    const BlockCandidates c = detail::allocate_candidates(100, 333, 30);
    const double held =
        static_cast<double>(c.best.size() * sizeof(Neighbor) + c.count.size() * sizeof(index_t));
    CHECK(detail::block_candidates_bytes(333, 30) == held);
    CHECK(detail::block_candidates_bytes(1e6, 90) == 1e6 * (90 * 24 + 8));
}
