// Embedding quality measures: identities, a reference implementation of trustworthiness, and the
// behaviour on good, random and shuffled inputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/tree/exact.hpp"
#include "treesne/eval/metrics.hpp"
#include "treesne/knn/neighbors.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

// Trustworthiness straight from the definition: full sorted rank lists in x and y for every point.
double reference_trustworthiness(ConstMatrixView x, ConstMatrixView y, index_t k) {
    const index_t n = x.rows;
    auto ranking = [n](ConstMatrixView m, index_t i) {
        std::vector<std::pair<double, index_t>> order;
        for (index_t j = 0; j < n; ++j)
            if (j != i) order.push_back({squared_distance(m.row(i), m.row(j), m.cols), j});
        std::sort(order.begin(), order.end());
        return order;
    };
    double sum = 0;
    for (index_t i = 0; i < n; ++i) {
        const auto in_x = ranking(x, i), in_y = ranking(y, i);
        std::vector<index_t> rank(static_cast<std::size_t>(n), 0);
        for (std::size_t r = 0; r < in_x.size(); ++r)
            rank[static_cast<std::size_t>(in_x[r].second)] = static_cast<index_t>(r) + 1;
        for (index_t r = 0; r < k; ++r) {
            const index_t j = in_y[static_cast<std::size_t>(r)].second;
            if (rank[static_cast<std::size_t>(j)] > k)
                sum += static_cast<double>(rank[static_cast<std::size_t>(j)] - k);
        }
    }
    const double nd = static_cast<double>(n), kd = static_cast<double>(k);
    return 1.0 - 2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0)) * sum;
}

}  // namespace

TEST_CASE("metrics: an embedding identical to the data is perfect") {
    const Matrix x = random_matrix(400, 6, 1);
    CHECK(knn_preservation(x, x, 10, 2) == 1.0);
    CHECK(trustworthiness(x, x, 10, 2) == 1.0);
    // Scaling by a power of two changes no ranking.
    Matrix doubled = x;
    for (double& v : doubled.storage()) v *= 2.0;
    CHECK(knn_preservation(x, doubled, 10, 2) == 1.0);
    CHECK(trustworthiness(x, doubled, 10, 2) == 1.0);
}

TEST_CASE("metrics: trustworthiness equals the definition") {
    const Matrix x = random_matrix(150, 5, 2);
    const Matrix random_y = random_matrix(150, 2, 3);
    Matrix projected(150, 2);  // the first two coordinates: a partly faithful embedding
    for (index_t i = 0; i < 150; ++i) projected(i, 0) = x(i, 0), projected(i, 1) = x(i, 1);
    for (index_t k : {1, 5, 20, 74}) {
        CAPTURE(k);
        CHECK(trustworthiness(x, random_y, k, 2) ==
              doctest::Approx(reference_trustworthiness(x, random_y, k)).epsilon(1e-12));
        CHECK(trustworthiness(x, projected, k, 2) ==
              doctest::Approx(reference_trustworthiness(x, projected, k)).epsilon(1e-12));
    }
}

TEST_CASE("metrics: trustworthiness of a random embedding is clearly below that of a faithful one") {
    std::mt19937_64 rng(4);
    Matrix x(600, 3);  // nearly planar data: the first two coordinates are a faithful embedding
    Matrix plane(600, 2);
    for (index_t i = 0; i < 600; ++i) {
        x(i, 0) = plane(i, 0) = gaussian(rng);
        x(i, 1) = plane(i, 1) = gaussian(rng);
        x(i, 2) = 0.01 * gaussian(rng);
    }
    const Matrix random_y = random_matrix(600, 2, 5);
    const double faithful = trustworthiness(x, plane, 12, 2);
    const double random = trustworthiness(x, random_y, 12, 2);
    CHECK(faithful > 0.99);
    CHECK(random < 0.6);
    CHECK(random > 0.4);  // a random embedding scores about 0.5
    CHECK(knn_preservation(x, plane, 12, 2) > 0.8);
    CHECK(knn_preservation(x, random_y, 12, 2) < 0.1);
}

TEST_CASE("metrics: sampled trustworthiness is close to the full value and thread-independent") {
    const Matrix x = random_matrix(800, 4, 6);
    Matrix y(800, 2);
    for (index_t i = 0; i < 800; ++i) y(i, 0) = x(i, 0), y(i, 1) = x(i, 1) + 0.3 * x(i, 2);
    const double full = trustworthiness(x, y, 10, 2, 0);
    CHECK(trustworthiness(x, y, 10, 2, 800) == full);
    CHECK(trustworthiness(x, y, 10, 2, 5000) == full);
    const double sampled = trustworthiness(x, y, 10, 1, 200);
    CHECK(sampled == doctest::Approx(full).epsilon(0.03));
    CHECK(trustworthiness(x, y, 10, 2, 200) == sampled);
    CHECK(trustworthiness(x, y, 10, 4, 200) == sampled);
    CHECK(trustworthiness(x, y, 10, 3, 0) == full);
}

TEST_CASE("metrics: kNN accuracy on separated clusters and on shuffled labels") {
    std::vector<int> labels;  // 5 unit-sd clusters of 200 around centres ~N(0, 50^2): far apart
    const Matrix y = clustered(5, 200, 3, 7, 50.0, &labels);
    CHECK(knn_accuracy(y, labels, 10, 2) > 0.99);
    std::mt19937_64 rng(8);
    std::vector<int> shuffled = labels;
    for (std::size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[rng() % i]);
    const double chance = knn_accuracy(y, shuffled, 10, 2);
    CHECK(chance > 0.12);  // chance is about 1/5
    CHECK(chance < 0.30);
}

TEST_CASE("metrics: kNN accuracy breaks ties towards the smaller label") {
    // Points 0, 1, 2, 3 at 0, 1, 3, 4 on a line. With k = 2 the neighbours are
    //   0: {1, 2}   1: {0, 2}   2: {3, 1}   3: {2, 1}   (nearest first).
    const Matrix y(4, 1, std::vector<double>{0.0, 1.0, 3.0, 4.0});
    // Labels {1, 1, 0, 2}: every vote is a tie. Smallest label: 0, 0, 1, 0 -> no point right
    // (the nearest neighbour's label would get two right, the largest label two as well).
    CHECK(knn_accuracy(y, std::vector<int>{1, 1, 0, 2}, 2, 1) == 0.0);
    // Labels {0, 0, 1, 2}: smallest label gives 0, 0, 0, 0 -> points 0 and 1 right.
    CHECK(knn_accuracy(y, std::vector<int>{0, 0, 1, 2}, 2, 1) == 0.5);
    // k = 1, labels {0, 0, 1, 1}: every point's nearest neighbour shares its label.
    CHECK(knn_accuracy(y, std::vector<int>{0, 0, 1, 1}, 1, 1) == 1.0);
    // k = 3, labels {1, 0, 2, 0}: point 0 votes {0, 2, 0} -> 0 (wrong); point 1 votes {1, 2, 0}, a
    // three-way tie -> 0 (right); point 2 votes {0, 0, 1} -> 0 (wrong); point 3 votes {2, 0, 1} -> 0 (right).
    CHECK(knn_accuracy(y, std::vector<int>{1, 0, 2, 0}, 3, 1) == 0.5);
}

TEST_CASE("metrics: invalid arguments throw InvalidArgument") {
    const Matrix x = random_matrix(20, 3, 9);
    const Matrix y = random_matrix(20, 2, 10);
    const Matrix short_y = random_matrix(19, 2, 11);
    CHECK_THROWS_AS(knn_preservation(x, short_y, 3, 1), InvalidArgument);
    CHECK_THROWS_AS(knn_preservation(x, y, 0, 1), InvalidArgument);
    CHECK_THROWS_AS(knn_preservation(x, y, 20, 1), InvalidArgument);
    CHECK_THROWS_AS(trustworthiness(x, short_y, 3, 1), InvalidArgument);
    CHECK_THROWS_AS(trustworthiness(x, y, 0, 1), InvalidArgument);
    CHECK_THROWS_AS(trustworthiness(x, y, 10, 1), InvalidArgument);  // needs k < N/2
    CHECK_NOTHROW(trustworthiness(x, y, 9, 1));
    CHECK_THROWS_AS(knn_accuracy(y, std::vector<int>(19, 0), 3, 1), InvalidArgument);
    CHECK_THROWS_AS(knn_accuracy(y, std::vector<int>(20, 0), 0, 1), InvalidArgument);
}

namespace {

Matrix times(const Matrix& m, double factor) {
    Matrix out = m;
    for (double& v : out.storage()) v *= factor;
    return out;
}

// The KL of P against q_ij = |y_i - y_j|^(-2 dof) / sum_{k != l} |y_k - y_l|^(-2 dof): the limit of the
// Student-t kernel's KL for an embedding scaled up without bound, where (1 + d^2/dof)^-dof tends to
// (d^2/dof)^-dof. Straight from the definition, in logarithms.
double power_law_kl(const Affinities& p, const Matrix& y, double dof) {
    const index_t n = y.rows();
    auto log_w = [&](index_t i, index_t j) {
        return -dof * std::log(squared_distance(y.row(i), y.row(j), y.cols()));
    };
    double m = -INFINITY;
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j)
            if (j != i) m = std::max(m, log_w(i, j));
    double z = 0;
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j)
            if (j != i) z += std::exp(log_w(i, j) - m);
    const double log_z = std::log(z) + m;
    double kl = 0;
    for (index_t i = 0; i < n; ++i)
        for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) {
            const double pij = p.values[static_cast<std::size_t>(e)];
            if (pij > 0)
                kl += pij * (std::log(pij) - log_w(i, p.columns[static_cast<std::size_t>(e)]) + log_z);
        }
    return kl;
}

}  // namespace

TEST_CASE("metrics: data and embeddings of extreme magnitude give the measures of the unscaled ones") {
    // 4ae5c90: an embedding scaled by 1e200 had squared distances of +inf (every rank a tie) and a KL of
    // NaN (Z = 0 times an infinite 1 + d^2); data scaled by 2^660 likewise.
    std::vector<int> labels;
    const Matrix x = clustered(4, 40, 5, 71, 6.0, &labels);
    Matrix y(x.rows(), 2);  // a faithful-ish embedding: two input coordinates plus noise
    const Matrix noise = random_matrix(x.rows(), 2, 72, 0.5);
    for (index_t i = 0; i < x.rows(); ++i)
        for (index_t d = 0; d < 2; ++d) y(i, d) = x(i, d) + noise(i, d);
    const double preservation = knn_preservation(x, y, 10, 2);
    const double trust = trustworthiness(x, y, 10, 2);
    const double accuracy = knn_accuracy(y, labels, 10, 2);
    REQUIRE(preservation > 0.3);
    for (const double scale : {0x1p660, 0x1p-660, 0x1p-900}) {
        CAPTURE(scale);
        const Matrix xs = times(x, scale), ys = times(y, scale);  // exact: powers of two
        CHECK(knn_preservation(xs, ys, 10, 2) == preservation);
        CHECK(knn_preservation(xs, y, 10, 2, Metric::manhattan) ==
              knn_preservation(x, y, 10, 2, Metric::manhattan));
        CHECK(trustworthiness(xs, ys, 10, 2) == trust);
        CHECK(trustworthiness(xs, y, 10, 2, 5000, Metric::cosine) ==
              trustworthiness(x, y, 10, 2, 5000, Metric::cosine));
        CHECK(knn_accuracy(ys, labels, 10, 2) == accuracy);
    }
    const Matrix y_e200 = times(y, 1e200);  // decimal: rounded, the same ranks here
    CHECK(knn_preservation(x, y_e200, 10, 2) == preservation);
    CHECK(trustworthiness(x, y_e200, 10, 2) == trust);
    CHECK(knn_accuracy(y_e200, labels, 10, 2) == accuracy);

    // The KL is not scale-invariant: far out it is the KL of the kernel's power-law tail.
    const Affinities p = testing::affinities_of(x, 10);
    for (const double dof : {1.0, 0.5, 3.0}) {
        CAPTURE(dof);
        const double limit = power_law_kl(p, y, dof);
        REQUIRE(std::isfinite(limit));
        // 2^90 is still computed directly (1 + d^2 is d^2 to rounding there), the others in logarithms.
        for (const double scale : {0x1p90, 0x1p400, 1e200, 0x1p1000}) {
            CAPTURE(scale);
            const Matrix ys = times(y, scale);
            CHECK(exact_tsne_kl_sparse(p, ys, 2, dof) == doctest::Approx(limit).epsilon(1e-9));
            CHECK(exact_tsne_kl(testing::densify(p), ys, 2, dof) == doctest::Approx(limit).epsilon(1e-9));
        }
        // Thread-independent, like the direct computation.
        const Matrix far = times(y, 1e200);
        CHECK(exact_tsne_kl_sparse(p, far, 1, dof) == exact_tsne_kl_sparse(p, far, 3, dof));
    }
}
