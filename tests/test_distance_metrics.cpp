// Distance metrics of the neighbour search (NeighborOptions::metric): every backend against an
// independent naive scan per metric (written here, each metric computed directly from its definition,
// not through the library), the exact backends bit-identical to each other, the approximate ones
// accurate and thread-independent, and the usage errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "helpers/graphs.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/eval/metrics.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/core/options.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

const Metric all_metrics[] = {Metric::euclidean, Metric::cosine,  Metric::manhattan,  Metric::chebyshev,
                              Metric::jaccard,   Metric::hamming, Metric::correlation};
// The metrics of distances between positions: on Gaussian data every pair's jaccard and hamming
// distance is 1 (all coordinates non-zero and different), so those two are tested on their own data
// (test_metrics_binary.cpp).
const Metric geometric_metrics[] = {Metric::euclidean, Metric::cosine, Metric::manhattan, Metric::chebyshev,
                                    Metric::correlation};
// The metrics defined for the rows of the tie tests: every one but correlation, whose rows of 1-D data
// and many grid rows are constant.
const Metric tie_metrics[] = {Metric::euclidean, Metric::cosine,  Metric::manhattan,
                              Metric::chebyshev, Metric::jaccard, Metric::hamming};
const KnnBackend all_backends[] = {KnnBackend::automatic, KnnBackend::kdtree, KnnBackend::brute,
                                   KnnBackend::hnsw, KnnBackend::nndescent};

// Rows of g that differ from the oracle's first k: another index, or a distance off by more than the
// relative tolerance. For data without ties.
index_t rows_unlike_oracle(const NeighborGraph& g, const Oracle& oracle, double tolerance = 1e-12) {
    index_t bad = 0;
    for (index_t i = 0; i < g.n; ++i) {
        bool ok = true;
        for (index_t s = 0; s < g.k; ++s) {
            const auto& [d, j] = oracle[static_cast<std::size_t>(i)][static_cast<std::size_t>(s)];
            ok = ok && g.row_indices(i)[s] == j && close(g.row_distances(i)[s], d, tolerance);
        }
        bad += ok ? 0 : 1;
    }
    return bad;
}

NeighborGraph search(ConstMatrixView x, index_t k, KnnBackend backend, Metric metric, int threads) {
    NeighborOptions o;
    o.backend = backend;
    o.metric = metric;
    return nearest_neighbors(x, k, o, threads);
}

// The exact backends that compute a metric (automatic included).
std::vector<KnnBackend> exact_backends(Metric metric) {
    std::vector<KnnBackend> out;
    for (KnnBackend b : {KnnBackend::kdtree, KnnBackend::brute, KnnBackend::automatic})
        if (backend_supports(b, metric)) out.push_back(b);
    return out;
}

// Every row of `base` repeated `copies` times, interleaved.
Matrix repeated(const Matrix& base, index_t copies) {
    Matrix x(base.rows() * copies, base.cols());
    for (index_t i = 0; i < x.rows(); ++i)
        for (index_t j = 0; j < x.cols(); ++j) x(i, j) = base(i % base.rows(), j);
    return x;
}

}  // namespace

TEST_CASE("distance metrics: the naive distances of a hand-checked pair") {
    const double a[] = {1.0, 2.0, 2.0}, b[] = {4.0, 6.0, 2.0}, c[] = {2.0, 4.0, 4.0};
    CHECK(naive_distance(Metric::euclidean, a, b, 3) == 25.0);
    CHECK(naive_distance(Metric::manhattan, a, b, 3) == 49.0);
    CHECK(naive_distance(Metric::chebyshev, a, b, 3) == 16.0);
    CHECK(naive_distance(Metric::cosine, a, c, 3) == doctest::Approx(0.0).epsilon(1e-15));
    // cos = (4 + 12 + 4) / (3 sqrt(56)), so 1 - cos = 1 - 20 / (3 sqrt(56))
    const double d = 1.0 - 20.0 / (3.0 * std::sqrt(56.0));
    CHECK(naive_distance(Metric::cosine, a, b, 3) == doctest::Approx(d * d).epsilon(1e-14));
    // The library reports the same for the pair (a, c) and (a, b), as a 3-point graph.
    const Matrix x(3, 3, std::vector<double>{1, 2, 2, 4, 6, 2, 2, 4, 4});
    const NeighborGraph g = nearest_neighbors_naive(x, 2, Metric::manhattan);
    CHECK(g.row_indices(0)[0] == 2);  // |a - c|_1 = 5 < 7
    CHECK(g.row_distances(0)[0] == 25.0);
    CHECK(g.row_distances(0)[1] == 49.0);
    const NeighborGraph gc = nearest_neighbors_naive(x, 2, Metric::cosine);
    CHECK(gc.row_indices(0)[0] == 2);
    CHECK(gc.row_distances(0)[0] < 1e-30);
    CHECK(gc.row_distances(0)[1] == doctest::Approx(d * d).epsilon(1e-12));
}

TEST_CASE("distance metrics: exact backends equal the naive scan on Gaussian data, for any thread count") {
    const Matrix x = random_matrix(300, 7, 2024);
    for (Metric metric : geometric_metrics) {
        CAPTURE(std::string(to_string(metric)));
        const Oracle oracle = naive_scan(x, metric);
        for (index_t k : {1, 15, 90}) {
            CAPTURE(k);
            const NeighborGraph reference = nearest_neighbors_naive(x, k, metric);
            CHECK(rows_unlike_oracle(reference, oracle) == 0);
            for (KnnBackend backend : exact_backends(metric)) {
                CAPTURE(std::string(to_string(backend)));
                for (int threads : {1, 2, 4}) {
                    CAPTURE(threads);
                    const NeighborGraph g = search(x, k, backend, metric, threads);
                    CHECK(rows_unlike_oracle(g, oracle) == 0);
                    CHECK(same_graph(g, reference));
                }
            }
        }
    }
}

TEST_CASE("distance metrics: exact backends on 1-D and 2-D data with ties and duplicates") {
    struct Case {
        Matrix x;
        index_t k;
    };
    std::vector<Case> cases;
    cases.push_back({grid_data(200, 1, 12, 1, 1.0), 5});
    cases.push_back({grid_data(200, 1, 12, 2, 1.0), 40});
    cases.push_back({grid_data(300, 2, 6, 3, 1.0), 8});
    cases.push_back({grid_data(300, 2, 6, 4, 1.0), 30});
    cases.push_back({repeated(random_matrix(40, 2, 5), 6), 10});
    cases.push_back({repeated(random_matrix(30, 3, 6), 8), 20});
    cases.push_back({Matrix(60, 2, 1.5), 7});  // one point 60 times
    for (const Case& c : cases) {
        CAPTURE(c.x.rows());
        CAPTURE(c.x.cols());
        CAPTURE(c.k);
        for (Metric metric : tie_metrics) {
            CAPTURE(std::string(to_string(metric)));
            // Integer data: the naive distances are exact, but the cosine's rounding differs from the
            // library's (on unit rows), so near-equal cosines are compared with a tolerance.
            const double tolerance = metric == Metric::cosine ? 1e-9 : 0.0;
            const double floor = metric == Metric::cosine ? 1e-20 : 0.0;
            const Oracle oracle = naive_scan(c.x, metric);
            const NeighborGraph reference = nearest_neighbors_naive(c.x, c.k, metric);
            CHECK(rows_not_k_nearest(reference, oracle, tolerance, floor) == 0);
            for (KnnBackend backend : exact_backends(metric)) {
                CAPTURE(std::string(to_string(backend)));
                for (int threads : {1, 3}) {
                    const NeighborGraph g = search(c.x, c.k, backend, metric, threads);
                    CHECK(same_graph(g, reference));
                }
            }
        }
    }
}

TEST_CASE("distance metrics: kdtree and brute force are bit-identical for euclidean, cosine, correlation and "
          "manhattan") {
    // Clustered data in 3 and 12 dimensions (both of the kd-tree's tree types) and a scaled, offset
    // Gaussian, where nanoflann's own sums differ from the library's in the last bits.
    const Matrix sets[] = {testing::clustered(6, 80, 3, 11), testing::clustered(5, 80, 12, 12),
                           random_matrix(400, 4, 13, 1e-3, 5.0)};
    for (const Matrix& x : sets) {
        CAPTURE(x.cols());
        for (Metric metric : {Metric::euclidean, Metric::cosine, Metric::correlation, Metric::manhattan}) {
            CAPTURE(std::string(to_string(metric)));
            for (index_t k : {3, 45}) {
                const NeighborGraph kd = search(x, k, KnnBackend::kdtree, metric, 2);
                const NeighborGraph brute = search(x, k, KnnBackend::brute, metric, 2);
                CHECK(same_graph(kd, brute));
                CHECK(same_graph(kd, nearest_neighbors_naive(x, k, metric)));
            }
        }
    }
}

TEST_CASE(
    "distance metrics: approximate backends find the neighbours and do not depend on the thread count") {
    // Clusters of different widths in 10 dimensions: above every small-input shortcut of both backends.
    const Matrix x = testing::blobs(random_matrix(6, 10, 31, 4.0), 200, 32, {0.5, 1.0, 1.5});
    const index_t k = 15;
    for (KnnBackend backend : {KnnBackend::hnsw, KnnBackend::nndescent}) {
        CAPTURE(std::string(to_string(backend)));
        for (Metric metric : all_metrics) {
            if (!backend_supports(backend, metric)) continue;
            CAPTURE(std::string(to_string(metric)));
            const Oracle oracle = naive_scan(x, metric);
            const NeighborGraph g1 = search(x, k, backend, metric, 1);
            // Recall: the share of a row's entries within the exact k-th distance.
            index_t hits = 0;
            for (index_t i = 0; i < x.rows(); ++i) {
                const double kth = oracle[static_cast<std::size_t>(i)][static_cast<std::size_t>(k - 1)].first;
                for (index_t s = 0; s < k; ++s) hits += g1.row_distances(i)[s] <= kth * (1 + 1e-9) ? 1 : 0;
            }
            CHECK(static_cast<double>(hits) / static_cast<double>(x.rows() * k) >= 0.95);
            const double tolerance = metric == Metric::cosine || metric == Metric::correlation ? 1e-9 : 1e-12;
            // Every row is valid: k distinct others, their true distances, sorted.
            index_t bad = 0;
            for (index_t i = 0; i < x.rows(); ++i) {
                std::vector<point_t> row(g1.row_indices(i), g1.row_indices(i) + k);
                bool ok = std::find(row.begin(), row.end(), static_cast<point_t>(i)) == row.end();
                for (index_t s = 0; s < k; ++s)
                    ok = ok &&
                         close(g1.row_distances(i)[s],
                               naive_distance(metric, x.row(i), x.row(row[static_cast<std::size_t>(s)]),
                                              x.cols()),
                               tolerance) &&
                         (s == 0 || g1.row_distances(i)[s - 1] <= g1.row_distances(i)[s]);
                std::sort(row.begin(), row.end());
                ok = ok && std::adjacent_find(row.begin(), row.end()) == row.end();
                bad += ok ? 0 : 1;
            }
            CHECK(bad == 0);
            for (int threads : {2, 4}) {
                CAPTURE(threads);
                CHECK(same_graph(search(x, k, backend, metric, threads), g1));
            }
        }
    }
}

TEST_CASE("distance metrics: cosine refuses an all-zero row, naming it") {
    Matrix x = random_matrix(50, 4, 41);
    for (index_t j = 0; j < x.cols(); ++j) x(16, j) = 0.0;
    for (index_t j = 0; j < x.cols(); ++j) x(30, j) = 0.0;
    const std::string expected = "cosine distance is undefined for row 17 (all zeros)";
    CHECK(message_of<InvalidArgument>([&] { nearest_neighbors_naive(x, 5, Metric::cosine); }) == expected);
    for (KnnBackend backend : all_backends) {
        CAPTURE(std::string(to_string(backend)));
        CHECK(message_of<InvalidArgument>([&] { search(x, 5, backend, Metric::cosine, 2); }) == expected);
    }
    // The other metrics take the zero row as any point.
    CHECK_NOTHROW(search(x, 5, KnnBackend::brute, Metric::manhattan, 2));
    CHECK_NOTHROW(search(x, 5, KnnBackend::automatic, Metric::euclidean, 2));
}

TEST_CASE("distance metrics: cosine does not depend on the rows' lengths") {
    const Matrix x = random_matrix(300, 7, 51);
    std::mt19937_64 rng(52);
    Matrix powers = x, scaled = x;
    for (index_t i = 0; i < x.rows(); ++i) {
        const int e = static_cast<int>(rng() % 200) - 100;
        const double factor = std::exp(6.0 * (static_cast<double>(rng() >> 11) * 0x1p-53) - 3.0);
        for (index_t j = 0; j < x.cols(); ++j) {
            powers(i, j) = std::ldexp(x(i, j), e);
            scaled(i, j) = x(i, j) * factor;
        }
    }
    for (KnnBackend backend :
         {KnnBackend::kdtree, KnnBackend::brute, KnnBackend::hnsw, KnnBackend::nndescent}) {
        CAPTURE(std::string(to_string(backend)));
        const NeighborGraph g = search(x, 20, backend, Metric::cosine, 2);
        // Powers of two scale exactly: the same graph bit for bit.
        CHECK(same_graph(search(powers, 20, backend, Metric::cosine, 2), g));
        const NeighborGraph s = search(scaled, 20, backend, Metric::cosine, 2);
        CHECK(s.indices == g.indices);
        bool close_all = true;
        for (std::size_t e = 0; e < g.distances.size(); ++e)
            close_all = close_all && close(s.distances[e], g.distances[e], 1e-12);
        CHECK(close_all);
    }
    // And it is the angle only: the graph of the rows scaled to unit length is the same too.
    const Oracle oracle = naive_scan(scaled, Metric::cosine);
    CHECK(rows_unlike_oracle(search(x, 20, KnnBackend::brute, Metric::cosine, 2), oracle, 1e-11) == 0);
}

TEST_CASE("distance metrics: a backend that cannot compute a metric is refused, naming both") {
    const Matrix x = random_matrix(60, 3, 61);
    for (KnnBackend backend : all_backends)
        for (Metric metric : all_metrics) {
            CAPTURE(std::string(to_string(backend)));
            CAPTURE(std::string(to_string(metric)));
            NeighborOptions o;
            o.backend = backend;
            o.metric = metric;
            if (backend_supports(backend, metric)) {
                CHECK_NOTHROW(validate(o));
                CHECK_NOTHROW(nearest_neighbors(x, 5, o, 1));
                continue;
            }
            for (const std::string& m :
                 {message_of<InvalidArgument>([&] { validate(o); }), message_of<InvalidArgument>([&] { nearest_neighbors(x, 5, o, 1); })}) {
                CHECK(m.find(to_string(backend)) != std::string::npos);
                CHECK(m.find(to_string(metric)) != std::string::npos);
            }
        }
    // The support matrix as documented: hnsw has no manhattan, chebyshev, jaccard or hamming, the kd-tree
    // no chebyshev, jaccard or hamming.
    for (Metric metric : {Metric::chebyshev, Metric::jaccard, Metric::hamming}) {
        CHECK_FALSE(backend_supports(KnnBackend::hnsw, metric));
        CHECK_FALSE(backend_supports(KnnBackend::kdtree, metric));
    }
    CHECK_FALSE(backend_supports(KnnBackend::hnsw, Metric::manhattan));
    CHECK(backend_supports(KnnBackend::hnsw, Metric::correlation));
    CHECK(backend_supports(KnnBackend::kdtree, Metric::correlation));
    for (Metric metric : all_metrics) {
        CHECK(backend_supports(KnnBackend::brute, metric));
        CHECK(backend_supports(KnnBackend::nndescent, metric));
        CHECK(backend_supports(KnnBackend::automatic, metric));
    }
}

TEST_CASE("distance metrics: automatic never picks a backend that cannot compute the metric") {
    for (Metric metric : all_metrics)
        for (index_t n : {10, 2000, 200001, 300001, 10000000})
            for (index_t d : {1, 2, 3, 4, 5, 6, 10, 19, 20, 50, 784}) {
                const KnnBackend b = resolve_backend(KnnBackend::automatic, n, d, metric);
                CAPTURE(std::string(to_string(metric)));
                CAPTURE(n);
                CAPTURE(d);
                CHECK(b != KnnBackend::automatic);
                CHECK(backend_supports(b, metric));
                // Euclidean's choice where the metric allows it.
                if (backend_supports(KnnBackend::kdtree, metric))
                    CHECK(b == resolve_backend(KnnBackend::automatic, n, d));
            }
    // A named backend is returned as it is; the default metric is euclidean.
    CHECK(resolve_backend(KnnBackend::kdtree, 1000, 2, Metric::manhattan) == KnnBackend::kdtree);
    CHECK(resolve_backend(KnnBackend::automatic, 1000, 2, Metric::chebyshev) == KnnBackend::brute);
    CHECK(resolve_backend(KnnBackend::automatic, 1000, 2) == KnnBackend::kdtree);
}

namespace {

// A metric's distance written out here, independently of the library.
double naive_metric(treesne::Metric metric, const double* a, const double* b, treesne::index_t d) {
    double s = 0, na = 0, nb = 0, dot = 0;
    for (treesne::index_t j = 0; j < d; ++j) {
        const double diff = std::abs(a[j] - b[j]);
        switch (metric) {
            case treesne::Metric::manhattan: s += diff; break;
            case treesne::Metric::chebyshev: s = std::max(s, diff); break;
            default: s += diff * diff; break;
        }
        dot += a[j] * b[j];
        na += a[j] * a[j];
        nb += b[j] * b[j];
    }
    if (metric == treesne::Metric::cosine) return 1 - dot / std::sqrt(na * nb);
    if (metric == treesne::Metric::correlation) return std::sqrt(naive_distance(metric, a, b, d));
    return s;
}

// Trustworthiness and k-NN preservation by their definitions: x by the metric, y Euclidean, ranks by
// (distance, index).
std::pair<double, double> naive_neighbourhood_measures(const treesne::Matrix& x, const treesne::Matrix& y,
                                                        treesne::index_t k, treesne::Metric metric) {
    const treesne::index_t n = x.rows();
    double penalty = 0, shared = 0;
    for (treesne::index_t i = 0; i < n; ++i) {
        std::vector<std::pair<double, treesne::index_t>> in_x, in_y;
        for (treesne::index_t j = 0; j < n; ++j) {
            if (j == i) continue;
            in_x.emplace_back(naive_metric(metric, x.row(i), x.row(j), x.cols()), j);
            in_y.emplace_back(naive_metric(treesne::Metric::euclidean, y.row(i), y.row(j), y.cols()), j);
        }
        std::sort(in_x.begin(), in_x.end());
        std::sort(in_y.begin(), in_y.end());
        std::vector<treesne::index_t> rank(static_cast<std::size_t>(n), 0);
        for (std::size_t r = 0; r < in_x.size(); ++r) rank[static_cast<std::size_t>(in_x[r].second)] = static_cast<treesne::index_t>(r) + 1;
        for (treesne::index_t s = 0; s < k; ++s) {
            const treesne::index_t j = in_y[static_cast<std::size_t>(s)].second;
            if (rank[static_cast<std::size_t>(j)] > k) penalty += static_cast<double>(rank[static_cast<std::size_t>(j)] - k);
            else shared += 1;
        }
    }
    const double nd = static_cast<double>(n), kd = static_cast<double>(k);
    return {1 - 2 / (nd * kd * (2 * nd - 3 * kd - 1)) * penalty, shared / (nd * kd)};
}

}  // namespace

TEST_CASE("distance metrics: trustworthiness and k-NN preservation rank the input by the metric") {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal;
    treesne::Matrix x(80, 6), y(80, 2);
    for (double& v : x.storage()) v = normal(rng);
    for (treesne::index_t i = 0; i < 80; ++i) {  // a crude embedding: the first two coordinates, jittered
        y(i, 0) = x(i, 0) + 0.3 * normal(rng);
        y(i, 1) = x(i, 1) + 0.3 * normal(rng);
    }
    for (treesne::Metric metric : {treesne::Metric::euclidean, treesne::Metric::cosine, treesne::Metric::manhattan,
                                   treesne::Metric::chebyshev, treesne::Metric::correlation}) {
        CAPTURE(treesne::to_string(metric));
        const auto [trust, preservation] = naive_neighbourhood_measures(x, y, 7, metric);
        CHECK(treesne::trustworthiness(x, y, 7, 2, 0, metric) == doctest::Approx(trust).epsilon(1e-12));
        CHECK(treesne::knn_preservation(x, y, 7, 2, metric) == doctest::Approx(preservation).epsilon(1e-12));
    }
}
