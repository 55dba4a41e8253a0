// Input affinities: per-row perplexity, the joint P's invariants, agreement with the dense P of the exact
// methods, robustness to duplicates, and independence of the units of the data.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "test_helpers.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using treesne::testing::clustered;
using treesne::testing::random_matrix;

namespace {

double row_entropy(const float* p, index_t k) {
    double h = 0;
    for (index_t j = 0; j < k; ++j)
        if (p[j] > 0) h -= static_cast<double>(p[j]) * std::log(static_cast<double>(p[j]));
    return h;
}

void check_joint_invariants(const Affinities& p) {
    double total = 0;
    for (index_t i = 0; i < p.n; ++i)
        for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) {
            const point_t j = p.columns[e];
            REQUIRE(j != i);
            REQUIRE(p.values[e] >= 0);
            if (e > p.offsets[i]) REQUIRE(p.columns[e - 1] < j);
            total += static_cast<double>(p.values[e]);
            // the transposed entry exists with the same value, bit for bit
            const auto* first = p.columns.data() + p.offsets[j];
            const auto* last = p.columns.data() + p.offsets[j + 1];
            const auto* at = std::lower_bound(first, last, static_cast<point_t>(i));
            REQUIRE(at != last);
            REQUIRE(*at == i);
            REQUIRE(p.values[at - p.columns.data()] == p.values[e]);
        }
    // float entries (each within half an ulp, 2^-24 relative) summed in double
    CHECK(total == doctest::Approx(1.0).epsilon(1e-6));
}

}  // namespace

TEST_CASE("every row of the conditional P hits its perplexity") {
    for (double perplexity : {2.0, 5.0, 15.0, 30.0}) {
        CAPTURE(perplexity);
        const Matrix x = clustered(5, 60, 10, 11);
        const NeighborGraph g =
            nearest_neighbors(x, neighbor_count(perplexity, x.rows()), KnnBackend::automatic, 2);
        AffinityOptions o;
        o.perplexity = perplexity;
        std::vector<double> betas;
        const std::vector<float> p = conditional_probabilities(g, o, 2, &betas);
        for (index_t i = 0; i < g.n; ++i) {
            double sum = 0;
            for (index_t j = 0; j < g.k; ++j) sum += static_cast<double>(p[i * g.k + j]);
            REQUIRE(sum == doctest::Approx(1.0).epsilon(1e-6));  // float entries
            REQUIRE(std::abs(row_entropy(p.data() + i * g.k, g.k) - std::log(perplexity)) < 1e-5);
            REQUIRE(betas[i] > 0);
        }
    }
}

TEST_CASE("joint P is symmetric, non-negative and sums to one") {
    const Matrix x = random_matrix(300, 8, 12);
    AffinityOptions o;
    o.perplexity = 10;
    const NeighborGraph g = nearest_neighbors(x, 30, KnnBackend::automatic, 2);
    check_joint_invariants(compute_affinities(g, o, 2));
}

TEST_CASE("with k = N-1 the sparse P equals the exact method's dense P") {
    const Matrix x = random_matrix(60, 5, 13);
    AffinityOptions o;
    o.perplexity = 8;
    const Affinities sparse = compute_affinities(nearest_neighbors_naive(x, 59), o, 1);
    const Matrix dense = dense_joint_probabilities(dense_conditional_probabilities(x, o, 1));
    const Matrix from_sparse = testing::densify(sparse);
    for (index_t i = 0; i < dense.size(); ++i)
        // P is stored in float: each entry within 2^-23 of the double computation
        REQUIRE(from_sparse.data()[i] == doctest::Approx(dense.data()[i]).epsilon(2.4e-7).scale(1e-15));
}

TEST_CASE("calibration survives duplicates and all-equal distances") {
    SUBCASE("half the points are one duplicated point") {
        Matrix x = random_matrix(200, 4, 14);
        for (index_t i = 0; i < 100; ++i)
            for (index_t d = 0; d < 4; ++d) x(i, d) = x(0, d);
        AffinityOptions o;
        o.perplexity = 10;
        const Affinities p = compute_affinities(nearest_neighbors(x, 30, KnnBackend::automatic, 2), o, 2);
        check_joint_invariants(p);
        for (double v : p.values) REQUIRE(std::isfinite(v));
    }
    SUBCASE("every point identical: rows become uniform") {
        const Matrix x(50, 3, 1.5);
        AffinityOptions o;
        o.perplexity = 5;
        const NeighborGraph g = nearest_neighbors(x, 15, KnnBackend::automatic, 1);
        const std::vector<float> p = conditional_probabilities(g, o, 1);
        for (double v : p) REQUIRE(v == doctest::Approx(1.0 / 15));
        check_joint_invariants(symmetrize(g, p, 1));
    }
}

TEST_CASE("P does not depend on the units: scaling the data leaves P unchanged") {
    // Scaling x by s scales every squared distance by s^2, the precisions by s^-2, and leaves each p_j|i,
    // hence P, as it was: the same neighbours (the same sparsity pattern) and the same values up to the
    // rounding of the distances and of the calibration.
    const Matrix x = random_matrix(100, 3, 15);
    AffinityOptions o;
    o.perplexity = 5;
    const Affinities reference = compute_affinities(nearest_neighbors(x, 15, KnnBackend::automatic, 1), o, 1);
    check_joint_invariants(reference);
    auto scaled_p = [&](double scale) {
        Matrix scaled = x;
        for (double& v : scaled.storage()) v *= scale;
        const NeighborGraph g = nearest_neighbors(scaled, 15, KnnBackend::automatic, 1);
        const std::vector<float> conditional = conditional_probabilities(g, o, 1);
        for (index_t i = 0; i < g.n; ++i)  // every row still hits its perplexity
            REQUIRE(std::abs(row_entropy(conditional.data() + i * g.k, g.k) - std::log(o.perplexity)) < 1e-5);
        return compute_affinities(g, o, 1);
    };
    // Values off by more than `relative` from the reference; the pattern must be identical.
    auto count_different = [&](const Affinities& p, double relative) {
        REQUIRE(p.n == reference.n);
        REQUIRE(p.offsets == reference.offsets);
        REQUIRE(p.columns == reference.columns);
        index_t different = 0;
        for (std::size_t e = 0; e < p.values.size(); ++e)
            different +=
                std::abs(static_cast<double>(p.values[e]) - static_cast<double>(reference.values[e])) <=
                        relative * static_cast<double>(reference.values[e])
                    ? 0
                    : 1;
        return different;
    };
    // A power of two scales every distance exactly, and the calibration works on unit-free distances:
    // the same P bit for bit, however far from 1 the scale is.
    for (int e : {-500, -190, -1, 1, 180, 500}) {
        CAPTURE(e);
        CHECK(count_different(scaled_p(std::ldexp(1.0, e)), 0.0) == 0);
    }
    // Other scales round the distances differently: the same P up to that rounding.
    for (double scale : {1e-150, 1e-50, 1e-3, 1e3, 1e50, 1e150}) {
        CAPTURE(scale);
        CHECK(count_different(scaled_p(scale), 1e-9) == 0);
    }
}
