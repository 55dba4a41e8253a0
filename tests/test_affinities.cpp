// Input affinities: per-row perplexity, the joint P's invariants, agreement with the dense P of the exact
// methods, robustness to duplicates, and independence of the units of the data.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

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

namespace {

// A random directed graph of n rows of k and its conditionals (each row sums to 1): many entries
// one-sided, some mutual (near neighbours half the time), some conditionals exactly zero.
void random_directed_graph(index_t n, index_t k, NeighborGraph& g, std::vector<float>& c) {
    g.n = n;
    g.k = k;
    g.indices.resize(static_cast<std::size_t>(n * k));
    g.distances.assign(static_cast<std::size_t>(n * k), 1.0);
    c.resize(static_cast<std::size_t>(n * k));
    std::uint64_t state = 12345;
    const auto next = [&] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return state >> 33;
    };
    for (index_t i = 0; i < n; ++i) {
        std::vector<point_t> row;
        while (static_cast<index_t>(row.size()) < k) {
            const auto j = static_cast<point_t>(next() % 2 ? (i + 1 + next() % 4) % n : next() % n);
            if (j != i && std::find(row.begin(), row.end(), j) == row.end()) row.push_back(j);
        }
        float sum = 0;
        for (index_t s = 0; s < k; ++s) {
            g.indices[static_cast<std::size_t>(i * k + s)] = row[static_cast<std::size_t>(s)];
            c[static_cast<std::size_t>(i * k + s)] =
                next() % 7 == 0 ? 0.0f : static_cast<float>(1 + next() % 1000) / 7e3f;
            sum += c[static_cast<std::size_t>(i * k + s)];
        }
        // Conditional probabilities: each row sums to 1 (symmetrize's precondition, asserted in debug
        // builds through the validity of its result).
        if (sum == 0) c[static_cast<std::size_t>(i * k)] = sum = 1;
        for (index_t s = 0; s < k; ++s) c[static_cast<std::size_t>(i * k + s)] /= sum;
    }
}

}  // namespace

TEST_CASE("symmetrize: (p_j|i + p_i|j) / 2N over the union of both patterns, the same bits on any threads") {
    const index_t n = 257, k = 6;
    NeighborGraph g;
    std::vector<float> c;
    random_directed_graph(n, k, g, c);
    // The definition, entry by entry.
    std::map<std::pair<point_t, point_t>, std::pair<float, float>> both;  // (i, j) -> (p_j|i, p_i|j)
    for (index_t i = 0; i < n; ++i)
        for (index_t s = 0; s < k; ++s) {
            const point_t j = g.indices[static_cast<std::size_t>(i * k + s)];
            const float v = c[static_cast<std::size_t>(i * k + s)];
            both[{static_cast<point_t>(i), j}].first = v;
            both[{j, static_cast<point_t>(i)}].second = v;
        }
    const double scale = 1.0 / (2.0 * static_cast<double>(n));
    index_t one_sided = 0;
    for (const auto& [ij, v] : both) one_sided += (v.first == 0.0f) != (v.second == 0.0f);
    REQUIRE(one_sided > n);  // the test exercises the one-sided tails

    const Affinities p1 = symmetrize(g, c, 1);
    REQUIRE(p1.nnz() == static_cast<index_t>(both.size()));
    index_t e = 0;
    for (const auto& [ij, v] : both) {  // the map runs in row-major order, as CSR does
        REQUIRE(p1.offsets[ij.first] <= e);
        REQUIRE(e < p1.offsets[ij.first + 1]);
        REQUIRE(p1.columns[static_cast<std::size_t>(e)] == ij.second);
        const float expected =
            static_cast<float>((static_cast<double>(v.first) + static_cast<double>(v.second)) * scale);
        REQUIRE(p1.values[static_cast<std::size_t>(e)] == expected);
        ++e;
    }
    for (const int threads : {2, 3, 4, 16, 17}) {
        CAPTURE(threads);
        const Affinities p = symmetrize(g, c, threads);
        CHECK(p.offsets == p1.offsets);
        CHECK(p.columns == p1.columns);
        CHECK(p.values == p1.values);
    }
    // 17 threads: symmetrize_max_blocks blocks, unless fewer threads run (thread_limit(): 4 x the cores).
    CHECK(symmetrize_blocks(n, 17) == std::min(symmetrize_max_blocks, treesne::thread_limit()));
    CHECK(symmetrize_blocks(3, 8) == 3);
}

TEST_CASE("symmetrize: P written in row chunks, the consumed pages given back, is the same P") {
    // 1.2 MB of indices and as many conditionals: chunks of 700 rows release whole pages as they go.
    // A page given back too early would read as zeros in a later chunk.
    const index_t n = 20000, k = 15;
    NeighborGraph g;
    std::vector<float> c;
    random_directed_graph(n, k, g, c);
    const Affinities whole = symmetrize(g, c, 2);  // one chunk (fewer than 2^22 entries)
    CHECK(affinities_defect(whole, 2).empty());
    for (const int threads : {1, 2}) {
        for (const index_t chunk_entries : {index_t{1}, 700 * k, 4096 * k + 3}) {
            CAPTURE(threads);
            CAPTURE(chunk_entries);
            const Affinities p = detail::symmetrize_in_chunks(g, c, threads, chunk_entries);
            CHECK(p.offsets == whole.offsets);
            CHECK(p.columns == whole.columns);
            CHECK(p.values == whole.values);
        }
    }
}
