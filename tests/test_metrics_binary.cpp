// The metrics jaccard, hamming and correlation (NeighborOptions::metric): rank_distance() against the
// definitions (scipy.spatial.distance's) on hand-checked and random vectors, the refusal of a constant
// row for correlation, the exact backends bit-identical to nearest_neighbors_naive on 0/1 rows (the
// popcount path), on other rows (the coordinate scan) and across both, for 1 and 2 threads, the block
// search, nndescent's rows and their exact distances, a clustered fingerprint data set, and the CLI.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "../src/knn/internal.hpp"
#include "helpers/graphs.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/options.hpp"
#include "treesne/knn/neighbors.hpp"

#ifdef TREESNE_CLI_PATH
#include "helpers/cli_runs.hpp"
#include "treesne/io/io.hpp"
#endif

using namespace treesne;
using namespace treesne::testing;

namespace {

// Rows of 0s and 1s, each entry 1 with probability `density`.
Matrix binary_matrix(index_t n, index_t d, double density, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution one(density);
    Matrix x(n, d);
    for (double& v : x.storage()) v = one(rng) ? 1.0 : 0.0;
    return x;
}

// Small integers 0..levels-1, zero with probability `zeros`: many zeros, ties and repeated values.
Matrix sparse_levels(index_t n, index_t d, double zeros, int levels, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution zero(zeros);
    Matrix x(n, d);
    for (double& v : x.storage())
        v = zero(rng) ? 0.0 : 1.0 + static_cast<double>(rng() % static_cast<unsigned>(levels - 1));
    return x;
}

// Fingerprints: `clusters` random prototypes of `bits` bits (each 1 with probability `density`), and
// per_cluster copies of each with every bit flipped with probability `flip`; labels[i] the prototype.
Matrix fingerprints(index_t clusters, index_t per_cluster, index_t bits, double density, double flip,
                    std::uint64_t seed, std::vector<int>& labels) {
    const Matrix prototypes = binary_matrix(clusters, bits, density, seed);
    std::mt19937_64 rng(seed + 1);
    std::bernoulli_distribution flipped(flip);
    Matrix x(clusters * per_cluster, bits);
    labels.clear();
    for (index_t c = 0; c < clusters; ++c)
        for (index_t p = 0; p < per_cluster; ++p) {
            const index_t i = c * per_cluster + p;
            labels.push_back(static_cast<int>(c));
            for (index_t j = 0; j < bits; ++j) x(i, j) = flipped(rng) ? 1.0 - prototypes(c, j) : prototypes(c, j);
        }
    return x;
}

NeighborGraph search(ConstMatrixView x, index_t k, KnnBackend backend, Metric metric, int threads) {
    NeighborOptions o;
    o.backend = backend;
    o.metric = metric;
    return nearest_neighbors(x, k, o, threads);
}

// The mean share of each row's neighbours with the row's own label.
double label_agreement(const NeighborGraph& g, const std::vector<int>& labels) {
    double agree = 0;
    for (index_t i = 0; i < g.n; ++i)
        for (index_t s = 0; s < g.k; ++s)
            agree += labels[g.row_indices(i)[s]] == labels[static_cast<std::size_t>(i)] ? 1 : 0;
    return agree / static_cast<double>(g.n * g.k);
}

// Rows of an approximate graph that are not valid: k distinct others, each distance exactly
// naive_distance() (jaccard and hamming: the same division of the same counts), sorted by (distance,
// tie key).
index_t invalid_metric_rows(ConstMatrixView x, const NeighborGraph& g, Metric metric) {
    index_t bad = 0;
    for (index_t i = 0; i < g.n; ++i) {
        std::vector<point_t> row(g.row_indices(i), g.row_indices(i) + g.k);
        bool ok = std::find(row.begin(), row.end(), static_cast<point_t>(i)) == row.end();
        for (index_t s = 0; s < g.k; ++s) {
            ok = ok && g.row_distances(i)[s] == naive_distance(metric, x.row(i), x.row(row[static_cast<std::size_t>(s)]), x.cols);
            if (s > 0) {
                const double a = g.row_distances(i)[s - 1], b = g.row_distances(i)[s];
                ok = ok && (a < b || (a == b && tie_key(i, row[static_cast<std::size_t>(s - 1)]) <
                                                    tie_key(i, row[static_cast<std::size_t>(s)])));
            }
        }
        std::sort(row.begin(), row.end());
        ok = ok && std::adjacent_find(row.begin(), row.end()) == row.end();
        bad += ok ? 0 : 1;
    }
    return bad;
}

// Recall: the share of a row's entries within the exact k-th distance.
double recall_against(const NeighborGraph& g, const NeighborGraph& exact) {
    index_t hits = 0;
    for (index_t i = 0; i < g.n; ++i) {
        const double kth = exact.row_distances(i)[exact.k - 1];
        for (index_t s = 0; s < g.k; ++s) hits += g.row_distances(i)[s] <= kth ? 1 : 0;
    }
    return static_cast<double>(hits) / static_cast<double>(g.n * g.k);
}

}  // namespace

TEST_CASE("binary metrics: rank distances of hand-checked vectors") {
    using detail::rank_distance;
    using detail::reported_distance;
    // scipy: jaccard([1, 0, 2, 0, 3], [1, 1, 0, 0, 3]) = 2 / 4 (coordinates 0, 1, 2, 4 non-zero in one;
    // 1 and 2 differ), hamming = 2 / 5.
    const double u[] = {1, 0, 2, 0, 3}, v[] = {1, 1, 0, 0, 3}, zero[] = {0, 0, 0, 0, 0}, minus_zero[] = {-0.0, 0, 0, 0, 0};
    CHECK(rank_distance(Metric::jaccard, u, v, 5) == 0.5);
    CHECK(rank_distance(Metric::hamming, u, v, 5) == 0.4);
    CHECK(reported_distance(Metric::jaccard, 0.5) == 0.25);
    CHECK(reported_distance(Metric::hamming, 0.4) == 0.4 * 0.4);
    // Two all-zero rows: jaccard 0 (scipy's convention), hamming 0; -0 is 0.
    CHECK(rank_distance(Metric::jaccard, zero, zero, 5) == 0.0);
    CHECK(rank_distance(Metric::jaccard, zero, minus_zero, 5) == 0.0);
    CHECK(rank_distance(Metric::hamming, zero, minus_zero, 5) == 0.0);
    // A zero row against any other: every non-zero coordinate differs.
    CHECK(rank_distance(Metric::jaccard, zero, u, 5) == 1.0);
    CHECK(rank_distance(Metric::hamming, zero, u, 5) == 0.6);
    // Fingerprints: A = {0, 2, 3}, B = {2, 3, 5}: 1 - |A and B| / |A or B| = 1 - 2 / 4.
    const double a[] = {1, 0, 1, 1, 0, 0, 0}, b[] = {0, 0, 1, 1, 0, 1, 0};
    CHECK(rank_distance(Metric::jaccard, a, b, 7) == 0.5);
    CHECK(rank_distance(Metric::hamming, a, b, 7) == 2.0 / 7.0);
    // Symmetric.
    CHECK(rank_distance(Metric::jaccard, v, u, 5) == rank_distance(Metric::jaccard, u, v, 5));

    // correlation on centred unit rows: r / 2 = 1 - corr. [1, 2, 3] and [1, 3, 2]: centred [-1, 0, 1] and
    // [-1, 1, 0], corr = 1 / 2.
    const Matrix x(4, 3, std::vector<double>{1, 2, 3, 1, 3, 2, 7, 9, 11, 3, 2, 1});
    const Matrix c = detail::centred_unit_rows(x, 1);
    auto correlation = [&](index_t i, index_t j) {
        return 0.5 * rank_distance(Metric::correlation, c.row(i), c.row(j), 3);
    };
    CHECK(correlation(0, 1) == doctest::Approx(0.5).epsilon(1e-15));
    CHECK(correlation(0, 2) == doctest::Approx(0.0).epsilon(1e-15));  // 2 u + 5: corr 1
    CHECK(correlation(0, 3) == doctest::Approx(2.0).epsilon(1e-15));  // reversed: corr -1
    CHECK(reported_distance(Metric::correlation, 1.0) == 0.25);
    for (index_t i = 0; i < 4; ++i) {  // unit length, mean 0
        double norm = 0, sum = 0;
        for (index_t j = 0; j < 3; ++j) {
            norm += c(i, j) * c(i, j);
            sum += c(i, j);
        }
        CHECK(norm == doctest::Approx(1.0).epsilon(1e-15));
        CHECK(std::abs(sum) < 1e-15);
    }
}

TEST_CASE("binary metrics: rank distances equal the definitions on random vectors") {
    for (index_t d : {1, 5, 8, 63, 64, 65, 130}) {
        CAPTURE(d);
        const Matrix x = sparse_levels(40, d, 0.5, 3, 100 + static_cast<std::uint64_t>(d));
        const Matrix bits = binary_matrix(40, d, 0.3, 200 + static_cast<std::uint64_t>(d));
        const Matrix g = random_matrix(40, d, 300 + static_cast<std::uint64_t>(d));
        const Matrix centred = d > 1 ? detail::centred_unit_rows(g, 2) : Matrix();
        index_t wrong = 0;
        for (index_t i = 0; i < 40; ++i)
            for (index_t j = 0; j < 40; ++j) {
                for (const Matrix* m : {&x, &bits})
                    for (Metric metric : {Metric::jaccard, Metric::hamming}) {
                        const double r = detail::rank_distance(metric, m->row(i), m->row(j), d);
                        wrong += r * r == naive_distance(metric, m->row(i), m->row(j), d) ? 0 : 1;
                    }
                if (d > 1) {  // correlation against its definition on the rows themselves
                    const double r = detail::rank_distance(Metric::correlation, centred.row(i), centred.row(j), d);
                    const double want = naive_distance(Metric::correlation, g.row(i), g.row(j), d);
                    wrong += close(detail::reported_distance(Metric::correlation, r), want, 1e-9, 1e-24) ? 0 : 1;
                }
            }
        CHECK(wrong == 0);
    }
}

TEST_CASE("binary metrics: correlation refuses a constant row, naming it") {
    Matrix x = random_matrix(50, 4, 41);
    for (index_t j = 0; j < x.cols(); ++j) x(22, j) = 0.1;  // its float mean is not exactly 0.1
    for (index_t j = 0; j < x.cols(); ++j) x(40, j) = -3.0;
    const std::string expected = "correlation distance is undefined for row 23 (constant)";
    CHECK(message_of<InvalidArgument>([&] { nearest_neighbors_naive(x, 5, Metric::correlation); }) == expected);
    CHECK(message_of<InvalidArgument>([&] { detail::centred_unit_rows(x, 3); }) == expected);
    for (KnnBackend backend : {KnnBackend::automatic, KnnBackend::kdtree, KnnBackend::brute, KnnBackend::hnsw,
                               KnnBackend::nndescent}) {
        CAPTURE(std::string(to_string(backend)));
        CHECK(message_of<InvalidArgument>([&] { search(x, 5, backend, Metric::correlation, 2); }) == expected);
    }
    // The other metrics take the constant row as any point; an all-zero row too.
    for (index_t j = 0; j < x.cols(); ++j) x(22, j) = 0.0;
    CHECK_NOTHROW(search(x, 5, KnnBackend::brute, Metric::jaccard, 2));
    CHECK_NOTHROW(search(x, 5, KnnBackend::brute, Metric::hamming, 2));
}

TEST_CASE("binary metrics: brute equals the naive scan on 0/1 rows and on other rows, for 1 and 2 threads") {
    // N above one panel (256) and one query block (64), not a multiple of either; D below, at and above
    // one word (64) and one lane group (8).
    for (index_t d : {3, 64, 100}) {
        const auto seed = 500 + static_cast<std::uint64_t>(d);
        const Matrix bits = binary_matrix(601, d, 0.2, seed);
        Matrix doubled = bits;  // the same distances, not 0/1: the coordinate scan
        for (double& v : doubled.storage()) v *= 2.0;
        const Matrix levels = sparse_levels(601, d, 0.6, 4, seed + 1);
        for (Metric metric : {Metric::jaccard, Metric::hamming}) {
            for (index_t k : {1, 15, 90}) {
                CAPTURE(d);
                CAPTURE(std::string(to_string(metric)));
                CAPTURE(k);
                const NeighborGraph reference = nearest_neighbors_naive(bits, k, metric);
                CHECK(rows_not_k_nearest(reference, naive_scan(bits, metric)) == 0);
                for (int threads : {1, 2}) {
                    CHECK(same_graph(search(bits, k, KnnBackend::brute, metric, threads), reference));
                    CHECK(same_graph(search(doubled, k, KnnBackend::brute, metric, threads), reference));
                    CHECK(same_graph(search(bits, k, KnnBackend::automatic, metric, threads), reference));
                }
                const NeighborGraph other = nearest_neighbors_naive(levels, k, metric);
                CHECK(rows_not_k_nearest(other, naive_scan(levels, metric)) == 0);
                for (int threads : {1, 2})
                    CHECK(same_graph(search(levels, k, KnnBackend::brute, metric, threads), other));
            }
        }
    }
}

TEST_CASE("binary metrics: jaccard and hamming with all-zero and duplicate rows") {
    // Rows 0..9 all zeros (jaccard 0 among them, 1 to any other), rows 10..29 copies of row 10: ties
    // everywhere, settled by the tie key as for the other metrics.
    Matrix x = binary_matrix(300, 70, 0.1, 61);
    for (index_t i = 0; i < 10; ++i) std::fill(x.row(i), x.row(i) + x.cols(), 0.0);
    for (index_t i = 11; i < 30; ++i) std::copy(x.row(10), x.row(10) + x.cols(), x.row(i));
    for (Metric metric : {Metric::jaccard, Metric::hamming})
        for (index_t k : {5, 25}) {
            CAPTURE(std::string(to_string(metric)));
            CAPTURE(k);
            const NeighborGraph reference = nearest_neighbors_naive(x, k, metric);
            CHECK(rows_not_k_nearest(reference, naive_scan(x, metric)) == 0);
            for (int threads : {1, 2}) CHECK(same_graph(search(x, k, KnnBackend::brute, metric, threads), reference));
        }
    const NeighborGraph g = search(x, 5, KnnBackend::brute, Metric::jaccard, 1);
    for (index_t s = 0; s < 5; ++s) {
        CHECK(g.row_indices(0)[s] < 10);  // a zero row's nearest are the other zero rows, at 0
        CHECK(g.row_distances(0)[s] == 0.0);
    }
}

TEST_CASE("binary metrics: correlation is exact on every exact backend and found by the approximate ones") {
    const Matrix x = testing::blobs(random_matrix(6, 12, 71, 4.0), 100, 72, {0.5, 1.0, 1.5});
    const Oracle oracle = naive_scan(x, Metric::correlation);
    for (index_t k : {1, 15, 60}) {
        CAPTURE(k);
        const NeighborGraph reference = nearest_neighbors_naive(x, k, Metric::correlation);
        CHECK(rows_not_k_nearest(reference, oracle, 1e-9, 1e-20) == 0);
        for (KnnBackend backend : {KnnBackend::brute, KnnBackend::kdtree, KnnBackend::automatic})
            for (int threads : {1, 2}) {
                CAPTURE(std::string(to_string(backend)));
                CHECK(same_graph(search(x, k, backend, Metric::correlation, threads), reference));
            }
    }
    // Correlation is cosine of the centred rows, reported the same way.
    Matrix centred = x;
    for (index_t i = 0; i < x.rows(); ++i) {
        double mean = 0;
        for (index_t j = 0; j < x.cols(); ++j) mean += x(i, j);
        mean /= static_cast<double>(x.cols());
        for (index_t j = 0; j < x.cols(); ++j) centred(i, j) -= mean;
    }
    const NeighborGraph as_cosine = search(centred, 15, KnnBackend::brute, Metric::cosine, 2);
    const NeighborGraph as_correlation = search(x, 15, KnnBackend::brute, Metric::correlation, 2);
    CHECK(as_cosine.indices == as_correlation.indices);
    for (KnnBackend backend : {KnnBackend::hnsw, KnnBackend::nndescent}) {
        CAPTURE(std::string(to_string(backend)));
        const NeighborGraph g = search(x, 15, backend, Metric::correlation, 1);
        CHECK(recall_against(g, as_correlation) >= 0.95);
        CHECK(same_graph(search(x, 15, backend, Metric::correlation, 2), g));
        bool exact = true;
        for (index_t i = 0; i < g.n; ++i)
            for (index_t s = 0; s < g.k; ++s)
                exact = exact && close(g.row_distances(i)[s],
                                       naive_distance(Metric::correlation, x.row(i), x.row(g.row_indices(i)[s]), x.cols()),
                                       1e-9, 1e-20);
        CHECK(exact);
    }
}

TEST_CASE("binary metrics: nndescent's rows carry the exact distances and do not depend on the thread count") {
    // Above nndescent's small-input shortcut (max(4 (k + 1), leaf size 100) points).
    std::vector<int> labels;
    const Matrix bits = fingerprints(8, 125, 200, 0.3, 0.1, 81, labels);
    const Matrix levels = sparse_levels(1000, 40, 0.6, 4, 82);
    for (const Matrix* x : {&bits, &levels})
        for (Metric metric : {Metric::jaccard, Metric::hamming}) {
            CAPTURE(x->cols());
            CAPTURE(std::string(to_string(metric)));
            const NeighborGraph g = search(*x, 15, KnnBackend::nndescent, metric, 1);
            CHECK(invalid_metric_rows(*x, g, metric) == 0);
            CHECK(same_graph(search(*x, 15, KnnBackend::nndescent, metric, 2), g));
            const NeighborGraph exact = search(*x, 15, KnnBackend::brute, metric, 2);
            CHECK(recall_against(g, exact) >= 0.9);
        }
}

TEST_CASE("binary metrics: fingerprints of 5 prototypes, bits flipped at 10 %: the jaccard 10-NN share labels") {
    std::vector<int> labels;
    const Matrix x = fingerprints(5, 200, 1024, 0.2, 0.1, 91, labels);
    const NeighborGraph brute = search(x, 10, KnnBackend::brute, Metric::jaccard, 2);
    CHECK(same_graph(brute, nearest_neighbors_naive(x, 10, Metric::jaccard)));
    CHECK(label_agreement(brute, labels) > 0.9);
    const NeighborGraph approximate = search(x, 10, KnnBackend::nndescent, Metric::jaccard, 2);
    CHECK(label_agreement(approximate, labels) > 0.9);
    // The rows are fingerprints of their own prototype: every one of the first neighbours.
    index_t first_right = 0;
    for (index_t i = 0; i < x.rows(); ++i)
        first_right += labels[brute.row_indices(i)[0]] == labels[static_cast<std::size_t>(i)] ? 1 : 0;
    CHECK(first_right == x.rows());
}

TEST_CASE("binary metrics: the block search gives each block's k best, popcounts or not") {
    // Query rows [0, 150) and reference rows [100, 400) (overlapping), of 0/1 rows, of other rows, and
    // of 0/1 queries among other references (the count scan for the pair).
    const Matrix bits = binary_matrix(400, 80, 0.25, 95);
    Matrix mixed = bits;
    for (index_t i = 200; i < 400; ++i) mixed(i, 3) = 2.0;  // the reference block is no longer 0/1
    for (const Matrix* x : {&bits, static_cast<const Matrix*>(&mixed)})
        for (Metric metric : {Metric::jaccard, Metric::hamming}) {
            CAPTURE(std::string(to_string(metric)));
            const ConstMatrixView queries{x->row(0), 150, x->cols()}, reference{x->row(100), 300, x->cols()};
            const auto c = detail::knn_block_candidates(queries, 0, reference, 100, 12, metric, 2);
            index_t wrong = 0;
            for (index_t i = 0; i < 150; ++i) {
                std::vector<detail::Neighbor> all;
                for (index_t j = 0; j < 300; ++j)
                    if (100 + j != i)
                        all.push_back(detail::candidate(i, static_cast<point_t>(100 + j),
                                                        detail::rank_distance(metric, queries.row(i), reference.row(j), 80)));
                std::sort(all.begin(), all.end());
                bool same = c.count[static_cast<std::size_t>(i)] == 12;
                for (index_t s = 0; same && s < 12; ++s)
                    same = c.row(i)[s].index == all[static_cast<std::size_t>(s)].index &&
                           c.row(i)[s].distance == all[static_cast<std::size_t>(s)].distance;
                wrong += same ? 0 : 1;
            }
            CHECK(wrong == 0);
        }
}

TEST_CASE("binary metrics: backends, automatic choice, names and the memory model") {
    for (Metric metric : {Metric::jaccard, Metric::hamming}) {
        CAPTURE(std::string(to_string(metric)));
        CHECK(backend_supports(KnnBackend::brute, metric));
        CHECK(backend_supports(KnnBackend::nndescent, metric));
        CHECK(backend_supports(KnnBackend::automatic, metric));
        CHECK_FALSE(backend_supports(KnnBackend::kdtree, metric));
        CHECK_FALSE(backend_supports(KnnBackend::hnsw, metric));
        CHECK(resolve_backend(KnnBackend::automatic, 1000, 2, metric) == KnnBackend::brute);
        CHECK(resolve_backend(KnnBackend::automatic, 1000, 1024, metric) == KnnBackend::brute);
        CHECK(resolve_backend(KnnBackend::automatic, 1'000'000, 1024, metric) == KnnBackend::nndescent);
        CHECK_FALSE(metric_scales_with_data(metric));
        // The kernels refuse too, in one line naming the metric.
        const Matrix x = binary_matrix(50, 8, 0.5, 3);
        CHECK(message_of<InvalidArgument>([&] { detail::knn_kdtree(x, 3, metric, 1); }) ==
              "the kdtree backend cannot compute " + std::string(to_string(metric)) + " distances");
        NeighborOptions o;
        o.metric = metric;
        CHECK(message_of<InvalidArgument>([&] { detail::knn_hnsw(x, 3, o, 1); }) ==
              "the hnsw backend cannot compute " + std::string(to_string(metric)) + " distances");
        // The bit-packed copy: ceil(D / 64) words and a count a point, far below the rows themselves.
        CHECK(neighbor_search_bytes(KnnBackend::brute, 1000, 1024, 30, o) == 1000 * (16 * 8 + 8));
        CHECK(neighbor_search_bytes(KnnBackend::brute, 1000, 65, 30, o) == 1000 * (2 * 8 + 8));
    }
    for (KnnBackend b : {KnnBackend::automatic, KnnBackend::kdtree, KnnBackend::brute, KnnBackend::hnsw,
                         KnnBackend::nndescent})
        CHECK(backend_supports(b, Metric::correlation));
    CHECK(resolve_backend(KnnBackend::automatic, 1000, 3, Metric::correlation) == KnnBackend::kdtree);
    CHECK_FALSE(metric_scales_with_data(Metric::correlation));
    CHECK(metric_scales_with_data(Metric::manhattan));
    NeighborOptions euclidean, correlation;
    correlation.metric = Metric::correlation;
    CHECK(neighbor_search_bytes(KnnBackend::brute, 1000, 50, 30, correlation) -
              neighbor_search_bytes(KnnBackend::brute, 1000, 50, 30, euclidean) ==
          1000 * 50 * 8);
    for (const char* name : {"jaccard", "hamming", "correlation"}) {
        CAPTURE(name);
        REQUIRE(parse_metric(name).has_value());
        CHECK(std::string(to_string(*parse_metric(name))) == name);
    }
}

#ifdef TREESNE_CLI_PATH
TEST_CASE("binary metrics: the CLI embeds with --metric jaccard and evaluates with it") {
    TempDir dir;
    std::vector<int> labels;
    const Matrix x = fingerprints(3, 40, 96, 0.3, 0.1, 101, labels);
    std::vector<std::vector<double>> rows;
    for (index_t i = 0; i < x.rows(); ++i) rows.emplace_back(x.row(i), x.row(i) + x.cols());
    const std::string in = dir / "bits.csv", y = dir / "y.csv", lab = dir / "labels.txt";
    write_csv(in, rows);
    write_labels(lab, labels);
    const Run embed = run_cli(dir, "embed " + quote(in) + " -o " + quote(y) + " --metric jaccard --knn brute" +
                                       quick_runs::fast);
    CAPTURE(embed.err);
    REQUIRE(embed.status == 0);
    check_embedding(y, 120, 2);
    const Run evaluate = run_cli(dir, "evaluate " + quote(in) + " " + quote(y) + " --labels " + quote(lab) +
                                          " --metric jaccard --perplexity 5 --json --threads 1");
    CAPTURE(evaluate.err);
    CHECK(evaluate.status == 0);
    CHECK(contains(evaluate.out, "\"metric\": \"jaccard\""));
    // kdtree cannot: a usage error in one line naming both.
    const Run refused = run_cli(dir, "embed " + quote(in) + " -o " + quote(y) + " --metric hamming --knn kdtree" +
                                         quick_runs::fast);
    CHECK(refused.status != 0);
    check_one_error_line(refused);
    CHECK(contains(refused.err, "hamming"));
    CHECK(contains(refused.err, "kdtree"));
}
#endif
