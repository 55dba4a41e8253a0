// The neighbour search on sparse rows: the same graph as the dense search of the same data, bit for bit,
// for every metric both take, any thread count, with empty rows, duplicates and extreme values; and its
// refusals.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "helpers/graphs.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/knn/pca.hpp"

namespace treesne {
namespace {

// rows x cols, each row ~`per_row` non-zeros; rows of a cluster share most of a prototype's features
// (text- or count-like), a few rows empty, some rows repeated.
CsrMatrix sparse_data(index_t rows, index_t cols, index_t per_row, std::uint64_t seed, bool counts = false) {
    std::mt19937_64 rng(seed);
    constexpr index_t clusters = 5;
    std::vector<std::vector<index_t>> prototypes(clusters);
    for (auto& p : prototypes)
        for (index_t e = 0; e < 2 * per_row; ++e) p.push_back(static_cast<index_t>(rng() % static_cast<std::uint64_t>(cols)));
    std::vector<Triplet> entries;
    for (index_t i = 0; i < rows; ++i) {
        if (i % 97 == 3) continue;  // an empty row
        const index_t source = (i % 41 == 7 && i > 0) ? i - 1 : i;  // some rows repeat the previous one
        std::mt19937_64 row_rng(seed * 1000003 + static_cast<std::uint64_t>(source));
        const auto& proto = prototypes[static_cast<std::size_t>(source % clusters)];
        for (index_t e = 0; e < per_row; ++e) {
            const bool own = row_rng() % 4 == 0;
            const index_t col = own ? static_cast<index_t>(row_rng() % static_cast<std::uint64_t>(cols))
                                    : proto[static_cast<std::size_t>(row_rng() % proto.size())];
            const double value = counts ? static_cast<double>(1 + row_rng() % 3)
                                        : std::ldexp(static_cast<double>(row_rng() % 1000 + 1), -7);
            entries.push_back({i, col, value});
        }
    }
    return from_triplets(rows, cols, std::move(entries));
}

NeighborOptions with(Metric metric) {
    NeighborOptions o;
    o.metric = metric;
    return o;
}

}  // namespace

TEST_CASE("sparse neighbours: the dense search's graph bit for bit (euclidean, cosine), any thread count") {
    for (const bool counts : {false, true}) {
        const CsrMatrix x = sparse_data(700, 300, 12, counts ? 5 : 6, counts);
        REQUIRE(csr_matrix_defect(x) == "");
        const Matrix dense = to_dense(x);
        for (const index_t k : {1, 10, 30}) {
            const NeighborGraph euclidean = nearest_neighbors_naive(dense, k, Metric::euclidean);
            CHECK(testing::same_graph(nearest_neighbors(x, k, with(Metric::euclidean), 1), euclidean));
            CHECK(testing::same_graph(nearest_neighbors(x, k, with(Metric::euclidean), 2), euclidean));
            // The dense brute force agrees too (the same graph from both inputs).
            CHECK(testing::same_graph(nearest_neighbors(dense, k, with(Metric::euclidean), 2), euclidean));
        }
    }
    // Cosine: no all-zero row.
    CsrMatrix x = sparse_data(500, 200, 10, 7);
    std::vector<Triplet> entries;
    for (index_t i = 0; i < x.rows; ++i) {
        entries.push_back({i, i % x.cols, 1.0 + static_cast<double>(i % 3)});
        for (index_t e = x.row_begin(i); e < x.row_end(i); ++e) entries.push_back({i, x.columns[e], x.values[e]});
    }
    // Gaussian values: products and norms that round (the unit rows must be summed as unit_rows() sums
    // them, fused multiply-adds or not, for the distances to agree).
    std::mt19937_64 rng(17);
    for (Triplet& t : entries) t.value = testing::gaussian(rng);
    x = from_triplets(x.rows, x.cols, entries);
    const NeighborGraph cosine = nearest_neighbors_naive(to_dense(x), 15, Metric::cosine);
    CHECK(testing::same_graph(nearest_neighbors(x, 15, with(Metric::cosine), 1), cosine));
    CHECK(testing::same_graph(nearest_neighbors(x, 15, with(Metric::cosine), 2), cosine));
}

TEST_CASE("sparse neighbours: jaccard and hamming give the dense search's graph, binary and counts") {
    for (const bool counts : {false, true}) {
        CsrMatrix x = sparse_data(600, 256, 14, counts ? 21 : 22, counts);
        if (!counts)
            for (double& v : x.values) v = 1.0;  // fingerprints: sets of bits
        const Matrix dense = to_dense(x);
        for (const Metric metric : {Metric::jaccard, Metric::hamming}) {
            const NeighborGraph naive = nearest_neighbors_naive(dense, 20, metric);
            CHECK(testing::same_graph(nearest_neighbors(x, 20, with(metric), 1), naive));
            CHECK(testing::same_graph(nearest_neighbors(x, 20, with(metric), 2), naive));
        }
    }
}

TEST_CASE("sparse neighbours: rows of very different norms and extreme magnitudes stay exact") {
    // Norms from 2^-600 to 2^600 (the largest are searched by the exact scan; the smallest underflow
    // when squared): still the naive graph.
    std::vector<Triplet> entries;
    std::mt19937_64 rng(11);
    for (index_t i = 0; i < 120; ++i)
        for (index_t e = 0; e < 4; ++e)
            entries.push_back({i, static_cast<index_t>(rng() % 40), std::ldexp(1.0 + static_cast<double>(rng() % 7), static_cast<int>(i % 5) * 3 - 6)});
    for (const int shift : {0, -600, 600}) {
        std::vector<Triplet> scaled = entries;
        for (auto& t : scaled) t.value = std::ldexp(t.value, shift);
        const CsrMatrix x = from_triplets(120, 40, scaled);
        CHECK(testing::same_graph(nearest_neighbors(x, 7, with(Metric::euclidean), 2),
                                  nearest_neighbors_naive(to_dense(x), 7, Metric::euclidean)));
    }
}

TEST_CASE("sparse neighbours: refusals name the problem") {
    const CsrMatrix x = sparse_data(50, 30, 4, 3);
    CHECK(testing::message_of([&] { nearest_neighbors(x, 50, with(Metric::euclidean), 1); }) ==
          "number of neighbours k must be in [1, N-1] = [1, 49]; got 50");
    CHECK(testing::message_of([&] { nearest_neighbors(x, 5, with(Metric::cosine), 1); }) ==
          "cosine distance is undefined for an all-zero row; row 4 has no non-zero entry (remove it, or use another metric)");
    CHECK(testing::message_of([&] { nearest_neighbors(x, 5, with(Metric::chebyshev), 1); }) ==
          "the chebyshev metric is not available for sparse input (sparse rows support euclidean, cosine, jaccard and hamming)");
    NeighborOptions hnsw;
    hnsw.backend = KnnBackend::hnsw;
    CHECK(testing::message_of([&] { nearest_neighbors(x, 5, hnsw, 1); }) ==
          "the hnsw backend does not take sparse input (use automatic, brute or nndescent)");
    CsrMatrix bad = x;
    bad.columns[1] = 30;
    CHECK(testing::message_of([&] { nearest_neighbors(bad, 5, with(Metric::euclidean), 1); }).find(
              "nearest neighbours: sparse input: row 0: column 30 outside [0, 30)") == 0);
}

}  // namespace treesne

namespace treesne {

TEST_CASE("sparse PCA: the dense PCA's axes, variances and scores on data with a decaying spectrum") {
    // 400 points near a 3-D subspace of 60 features (a few sparse directions plus small sparse noise).
    std::mt19937_64 rng(5);
    std::vector<Triplet> entries;
    for (index_t i = 0; i < 400; ++i) {
        const double a = testing::gaussian(rng) * 8, b = testing::gaussian(rng) * 4, c = testing::gaussian(rng) * 2;
        for (index_t j = 0; j < 10; ++j) entries.push_back({i, j, a + (j % 3 == 0 ? b : 0.0)});
        for (index_t j = 10; j < 20; ++j) entries.push_back({i, j, c});
        entries.push_back({i, 20 + static_cast<index_t>(rng() % 40), 0.01 * testing::gaussian(rng)});
    }
    const CsrMatrix x = from_triplets(400, 60, entries);
    const PcaResult dense = pca(to_dense(x), 3, 2);
    for (const int threads : {1, 2}) {
        const PcaResult sparse = pca(x.view(), 3, threads);
        for (index_t c = 0; c < 3; ++c) {
            CHECK(sparse.variance[static_cast<std::size_t>(c)] ==
                  doctest::Approx(dense.variance[static_cast<std::size_t>(c)]).epsilon(1e-9));
            for (index_t j = 0; j < 60; ++j)
                CHECK(sparse.components(c, j) == doctest::Approx(dense.components(c, j)).epsilon(1e-7).scale(1.0));
        }
        for (index_t i = 0; i < 400; i += 37)
            for (index_t c = 0; c < 3; ++c)
                CHECK(sparse.projected(i, c) == doctest::Approx(dense.projected(i, c)).epsilon(1e-7).scale(10.0));
    }
    CHECK(pca(x.view(), 2, 1).projected == pca(x.view(), 2, 2).projected);  // thread count changes no bit
}

}  // namespace treesne

namespace treesne {

TEST_CASE("sparse neighbours: nndescent on sparse rows finds the exact graph's neighbours, any thread count") {
    const CsrMatrix counts = sparse_data(3000, 2000, 20, 31, true);
    CsrMatrix binary = counts;
    for (double& v : binary.values) v = 1.0;
    for (const Metric metric : {Metric::euclidean, Metric::cosine, Metric::jaccard, Metric::hamming}) {
        CAPTURE(to_string(metric));
        CsrMatrix x = metric == Metric::jaccard || metric == Metric::hamming ? binary : counts;
        if (metric == Metric::cosine) {  // no empty rows
            std::vector<Triplet> entries;
            for (index_t i = 0; i < x.rows; ++i) {
                entries.push_back({i, 1999, 1.0});
                for (index_t e = x.row_begin(i); e < x.row_end(i); ++e) entries.push_back({i, x.columns[e], x.values[e]});
            }
            x = from_triplets(x.rows, x.cols, entries);
        }
        NeighborOptions o = with(metric);
        const NeighborGraph exact = nearest_neighbors(x, 15, o, 2);
        o.backend = KnnBackend::nndescent;
        const NeighborGraph one = nearest_neighbors(x, 15, o, 1);
        const NeighborGraph two = nearest_neighbors(x, 15, o, 2);
        CHECK(testing::same_graph(one, two));
        CHECK(testing::recall(two, exact) > 0.97);
        // Every row sorted by its exact distances, as the exact backends sort (tie key after distance).
        index_t unsorted = 0;
        for (index_t i = 0; i < x.rows; ++i)
            for (index_t p = 1; p < 15; ++p)
                unsorted += two.distances[static_cast<std::size_t>(i * 15 + p)] <
                            two.distances[static_cast<std::size_t>(i * 15 + p - 1)];
        CHECK(unsorted == 0);
    }
}

}  // namespace treesne
