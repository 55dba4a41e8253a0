// The search that hands its rows over (nearest_neighbors' RowValues, detail::ConditionalRows) and the one
// that may move the caller's rows (detail::nearest_neighbors_reordering): embed()'s way of keeping the
// nndescent search's peak low. Each must give exactly what the plain search and conditional_probabilities
// give, leave the caller's rows as they were, and report a bad row as conditional_probabilities does.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "helpers/graphs.hpp"
#include "knn/nndescent_internal.hpp"
#include "test_helpers.hpp"
#include "treesne/affinities/affinities.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

NeighborOptions backend(KnnBackend b, Metric m = Metric::euclidean) {
    NeighborOptions o;
    o.backend = b;
    o.metric = m;
    return o;
}

}  // namespace

TEST_CASE("row values: the conditionals made as the search finishes each row are conditional_probabilities'") {
    const Matrix x = clustered_data(250, 10, 31);  // 2,250 points: nndescent runs its rounds
    for (KnnBackend b : {KnnBackend::nndescent, KnnBackend::brute, KnnBackend::hnsw}) {
        for (Metric m : {Metric::euclidean, Metric::cosine}) {
            for (AffinityKind kind : {AffinityKind::perplexity, AffinityKind::sigma}) {
                CAPTURE(static_cast<int>(b));
                CAPTURE(static_cast<int>(m));
                CAPTURE(static_cast<int>(kind));
                AffinityOptions a;
                a.kind = kind;
                a.perplexity = {10};
                a.sigma = m == Metric::cosine ? 0.05 : 1.5;
                const index_t k = 30;
                const NeighborOptions o = backend(b, m);
                const NeighborGraph plain = nearest_neighbors(x, k, o, 2);
                const std::vector<float> expected = conditional_probabilities(plain, a, 2);
                for (int threads : {1, 2, 3}) {
                    CAPTURE(threads);
                    const detail::ConditionalRows rows(a, k, 0);
                    RowValues values{rows, {}};
                    const NeighborGraph g = nearest_neighbors(x, k, o, threads, {}, values);
                    rows.check();
                    CHECK(g.indices == plain.indices);
                    CHECK(g.distances.empty());
                    CHECK(values.values == expected);

                    Matrix copy = x;
                    const detail::ConditionalRows rows2(a, k, 0);
                    RowValues values2{rows2, {}};
                    const NeighborGraph g2 =
                        detail::nearest_neighbors_reordering(copy.view(), k, o, threads, {}, values2);
                    CHECK(copy == x);  // the rows are back in place, bit for bit
                    CHECK(g2.indices == plain.indices);
                    CHECK(values2.values == expected);
                }
            }
        }
    }
}

TEST_CASE("row values: nndescent reading the caller's rows in place finds the float copy's graph") {
    // Extreme offsets and magnitudes: the rows are converted exactly as the copy is made (centred, scaled
    // by a power of two, to float), including where 2^-e is not a normal double.
    for (double scale : {1.0, 1e-300, 1e300, 1e-310}) {
        CAPTURE(scale);
        Matrix x = random_matrix(1500, 6, 41, scale);
        for (index_t i = 0; i < x.rows(); ++i) x(i, 0) += 1e6 * scale;
        const NeighborOptions o = backend(KnnBackend::nndescent);
        const NeighborGraph plain = nearest_neighbors(x, 12, o, 2);
        AffinityOptions a;
        a.perplexity = {4};
        const detail::ConditionalRows rows(a, 12, 0);
        RowValues values{rows, {}};
        Matrix copy = x;
        const NeighborGraph g = detail::nearest_neighbors_reordering(copy.view(), 12, o, 2, {}, values);
        CHECK(copy == x);
        CHECK(g.indices == plain.indices);
        CHECK(recall(plain, nearest_neighbors_naive(x, 12)) >= 0.9);  // the floats are the data's
    }
}

TEST_CASE("row values: nndescent's float rows, copied or converted as read, are the rounded scaled data") {
    for (double scale : {1.0, 1e-300, 1e300, 1e-310, 3e-320, 1e-3}) {
        for (Metric m : {Metric::euclidean, Metric::hamming}) {
            CAPTURE(scale);
            Matrix x = random_matrix(300, 5, 43, scale, m == Metric::hamming ? 0.0 : 7.0 * scale);
            const detail::nndescent::Points copy(x.view(), m, 2);
            const detail::nndescent::Points read(x.view(), m, 2, x.data());
            CHECK(read.data.empty());
            // The definition: centred on the middle of each column's range (not for hamming), scaled by
            // 2^-e with the largest half-range in [2^(e-1), 2^e), rounded once to float.
            std::vector<double> middle(5);
            double half = 0;
            for (index_t j = 0; j < 5; ++j) {
                double lo = x(0, j), hi = x(0, j);
                for (index_t i = 1; i < 300; ++i) {
                    lo = std::min(lo, x(i, j));
                    hi = std::max(hi, x(i, j));
                }
                if (m == Metric::hamming) {
                    half = std::max({half, std::abs(lo), std::abs(hi)});
                } else {
                    middle[static_cast<std::size_t>(j)] = lo / 2 + hi / 2;
                    half = std::max(half, hi / 2 - lo / 2);
                }
            }
            int e = 0;
            std::frexp(half, &e);
            std::vector<float> scratch(5);
            index_t wrong = 0;
            for (index_t i = 0; i < 300; ++i) {
                const float* a = copy.row(i, scratch.data());
                for (index_t j = 0; j < 5; ++j)
                    wrong += a[j] != static_cast<float>(std::ldexp(x(i, j) - middle[static_cast<std::size_t>(j)], -e));
                std::vector<float> a_copy(a, a + 5);
                const float* b = read.row(i, scratch.data());
                for (index_t j = 0; j < 5; ++j) wrong += b[j] != a_copy[static_cast<std::size_t>(j)];
            }
            CHECK(wrong == 0);
        }
    }
}

TEST_CASE("row values: a row with an unusable distance is reported as conditional_probabilities reports it") {
    const index_t k = 3;
    AffinityOptions a;
    a.perplexity = {2};
    const point_t idx[k] = {4, 5, 6};
    const double good[k] = {1.0, 2.0, 3.0};
    const double overflowed[k] = {1.0, std::numeric_limits<double>::infinity(), 3.0};
    const double negative[k] = {1.0, 2.0, -1.0};
    const detail::ConditionalRows rows(a, k, 0);
    float out[k];
    rows(7, idx, negative, out);
    rows(2, idx, good, out);
    CHECK(out[0] > out[1]);
    CHECK_NOTHROW(rows(9, idx, good, out));
    rows(3, idx, overflowed, out);  // lower than 7: this one is reported
    for (float v : out) CHECK(v == 0.0f);
    CHECK_THROWS_WITH_AS(rows.check(),
                         "affinities: row 3's squared distance to point 5 is inf (squares of distances beyond "
                         "~1.3e154 overflow: scale the input down)",
                         NumericalError);
    // The same row through conditional_probabilities, for the same message.
    NeighborGraph g;
    g.n = 1;
    g.k = k;
    g.indices.assign(idx, idx + k);
    g.distances.assign(negative, negative + k);
    try {
        (void)conditional_probabilities(g, a, 1);
        FAIL("no error");
    } catch (const InvalidArgument& e) {
        const detail::ConditionalRows only(a, k, 0);
        only(0, idx, negative, out);
        CHECK_THROWS_WITH_AS(only.check(), e.what(), InvalidArgument);
    }
}

TEST_CASE("row values: embed() from its own input and from a view give the same embedding (nndescent)") {
    const Matrix x = clustered_data(200, 12, 17);
    Options o;
    o.threads = 2;
    o.neighbors.backend = KnnBackend::nndescent;
    o.affinities.perplexity = {10};
    o.optimizer.iterations = 60;
    o.optimizer.exaggeration_iterations = 30;
    Callbacks keep;
    keep.keep_affinities = true;
    const Result from_view = embed(x.view(), o, keep);
    Matrix owned = x;
    const Result from_own = embed(std::move(owned), o, keep);
    CHECK(from_view.backend == KnnBackend::nndescent);
    CHECK(from_own.y == from_view.y);
    // And P is the one the plain search and compute_affinities make, bit for bit.
    const Affinities p = compute_affinities(nearest_neighbors(x, 30, o.neighbors, 2), o.affinities, 2);
    for (const Result* r : {&from_view, &from_own}) {
        CHECK(r->affinities.offsets == p.offsets);
        CHECK(r->affinities.columns == p.columns);
        CHECK(r->affinities.values == p.values);
    }
}
