// pca() on its own, against data built from a known decomposition: orthonormal directions, exact
// variances (Walsh functions are exactly orthogonal and centred), and a known mean.
#include <doctest/doctest.h>

#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/knn/pca.hpp"

using namespace treesne;
using treesne::testing::random_matrix;

namespace {

// Walsh function `mask` at i: (-1)^popcount(i & mask). Over i in [0, 2^m) distinct non-zero masks give
// mutually orthogonal +-1 vectors with mean 0.
double walsh(index_t i, std::uint64_t mask) {
    return std::bitset<64>(static_cast<std::uint64_t>(i) & mask).count() % 2 == 0 ? 1.0 : -1.0;
}

// A d x d orthonormal matrix (rows), by Gram-Schmidt on seeded Gaussian rows.
Matrix orthonormal_rows(index_t d, std::uint64_t seed) {
    Matrix q = random_matrix(d, d, seed);
    for (index_t r = 0; r < d; ++r) {
        for (int pass = 0; pass < 2; ++pass)  // twice is enough for full double precision
            for (index_t s = 0; s < r; ++s) {
                double dot = 0;
                for (index_t j = 0; j < d; ++j) dot += q(r, j) * q(s, j);
                for (index_t j = 0; j < d; ++j) q(r, j) -= dot * q(s, j);
            }
        double norm = 0;
        for (index_t j = 0; j < d; ++j) norm += q(r, j) * q(r, j);
        for (index_t j = 0; j < d; ++j) q(r, j) /= std::sqrt(norm);
    }
    return q;
}

// x_i = mean + sum_c sigma_c walsh(i, mask_c) q_c: along direction q_c the scores are +-sigma_c, so the
// sample variance (divisor N-1) is sigma_c^2 N / (N-1), and nothing varies outside span{q_c}.
struct Known {
    index_t n = 4096;  // two of pca()'s 2048-row covariance blocks
    index_t d = 7;
    std::vector<double> sigma{4.0, 2.5, 1.5, 0.5};
    std::vector<std::uint64_t> masks{0xB, 0x61, 0x104, 0xF00};
    std::vector<double> mean{1.0, -2.0, 3.0, 0.5, 100.0, -7.0, 0.25};
    Matrix q = orthonormal_rows(7, 3);
    Matrix x;

    Known() {
        x = Matrix(n, d);
        for (index_t i = 0; i < n; ++i)
            for (index_t j = 0; j < d; ++j) {
                double v = mean[static_cast<std::size_t>(j)];
                for (std::size_t c = 0; c < sigma.size(); ++c)
                    v += sigma[c] * walsh(i, masks[c]) * q(static_cast<index_t>(c), j);
                x(i, j) = v;
            }
    }
};

}  // namespace

TEST_CASE("pca recovers known directions, variances, mean and scores, up to sign") {
    const Known data;
    const index_t k = 3;
    const PcaResult r = pca(data.x, k, 2);
    REQUIRE(r.components.rows() == k);
    REQUIRE(r.components.cols() == data.d);
    REQUIRE(r.projected.rows() == data.n);
    REQUIRE(r.projected.cols() == k);
    REQUIRE(r.variance.size() == static_cast<std::size_t>(k));
    REQUIRE(r.mean.size() == static_cast<std::size_t>(data.d));

    for (index_t j = 0; j < data.d; ++j)
        CHECK(r.mean[static_cast<std::size_t>(j)] ==
              doctest::Approx(data.mean[static_cast<std::size_t>(j)]).epsilon(1e-12).scale(1.0));
    const double nd = static_cast<double>(data.n);
    for (index_t c = 0; c < k; ++c) {
        CAPTURE(c);
        const double sigma = data.sigma[static_cast<std::size_t>(c)];
        CHECK(r.variance[static_cast<std::size_t>(c)] ==
              doctest::Approx(sigma * sigma * nd / (nd - 1)).epsilon(1e-10));
        // The axis is +-q_c; its sign puts the largest-magnitude entry positive.
        double dot = 0, largest = 0, largest_value = 0;
        for (index_t j = 0; j < data.d; ++j) {
            dot += r.components(c, j) * data.q(c, j);
            if (std::abs(r.components(c, j)) > largest) {
                largest = std::abs(r.components(c, j));
                largest_value = r.components(c, j);
            }
        }
        const double sign = dot > 0 ? 1.0 : -1.0;
        double axis_error = 0;
        for (index_t j = 0; j < data.d; ++j)
            axis_error = std::max(axis_error, std::abs(r.components(c, j) - sign * data.q(c, j)));
        CHECK(axis_error < 1e-10);
        CHECK(largest_value > 0);
        // Scores: +-sigma_c walsh(i, mask_c), and (x_i - mean) . axis.
        double score_error = 0, projection_error = 0;
        for (index_t i = 0; i < data.n; ++i) {
            const double want = sign * sigma * walsh(i, data.masks[static_cast<std::size_t>(c)]);
            score_error = std::max(score_error, std::abs(r.projected(i, c) - want));
            double p = 0;
            for (index_t j = 0; j < data.d; ++j)
                p += (data.x(i, j) - r.mean[static_cast<std::size_t>(j)]) * r.components(c, j);
            projection_error = std::max(projection_error, std::abs(r.projected(i, c) - p));
        }
        CHECK(score_error < 1e-9);
        CHECK(projection_error < 1e-12);
    }
    // Variances largest first.
    CHECK(r.variance[0] > r.variance[1]);
    CHECK(r.variance[1] > r.variance[2]);
}

TEST_CASE("pca: all components of rank-deficient data, and the result does not depend on threads") {
    const Known data;
    const PcaResult all = pca(data.x, data.d, 1);
    // Components form an orthonormal basis; the directions outside span{q_c} carry no variance.
    for (index_t a = 0; a < data.d; ++a)
        for (index_t b = 0; b < data.d; ++b) {
            double dot = 0;
            for (index_t j = 0; j < data.d; ++j) dot += all.components(a, j) * all.components(b, j);
            CHECK(dot == doctest::Approx(a == b ? 1.0 : 0.0).scale(1.0).epsilon(1e-12));
        }
    for (index_t c = 4; c < data.d; ++c) {
        CHECK(all.variance[static_cast<std::size_t>(c)] >= 0);
        CHECK(all.variance[static_cast<std::size_t>(c)] < 1e-12);
    }
    CHECK(all.variance[3] == doctest::Approx(0.25 * 4096.0 / 4095.0).epsilon(1e-10));
    for (int threads : {2, 4}) {
        CAPTURE(threads);
        const PcaResult t = pca(data.x, data.d, threads);
        CHECK(t.projected == all.projected);
        CHECK(t.components == all.components);
        CHECK(t.variance == all.variance);
        CHECK(t.mean == all.mean);
    }
}

TEST_CASE("pca: invalid arguments throw InvalidArgument") {
    const Matrix x = random_matrix(10, 4, 1);
    CHECK_THROWS_AS(pca(x, 0, 1), InvalidArgument);
    CHECK_THROWS_AS(pca(x, 5, 1), InvalidArgument);
    CHECK_THROWS_AS(pca(Matrix(1, 4, 1.0), 2, 1), InvalidArgument);
    CHECK_NOTHROW(pca(x, 4, 1));
}
