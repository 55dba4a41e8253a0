// Transform: neighbours of other points, Barnes-Hut repulsion at query points, the new points' P rows and
// start, and new points placed among their own clusters while the reference stays untouched.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/tree/space_tree.hpp"
#include "treesne/api/transform.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

// The exact k nearest rows of ref for each query, by (squared_distance, tie key): the oracle.
NeighborGraph naive_neighbors_of(ConstMatrixView ref, ConstMatrixView queries, index_t k) {
    NeighborGraph g;
    g.n = queries.rows;
    g.k = k;
    for (index_t i = 0; i < queries.rows; ++i) {
        std::vector<std::tuple<double, std::uint64_t, point_t>> all;
        for (index_t j = 0; j < ref.rows; ++j) {
            const auto p = static_cast<point_t>(j);
            all.emplace_back(squared_distance(queries.row(i), ref.row(j), ref.cols), tie_key(i, p), p);
        }
        std::sort(all.begin(), all.end());
        for (index_t e = 0; e < k; ++e) {
            g.indices.push_back(std::get<2>(all[static_cast<std::size_t>(e)]));
            g.distances.push_back(std::get<0>(all[static_cast<std::size_t>(e)]));
        }
    }
    return g;
}

Matrix rows_of(const Matrix& x, const std::vector<index_t>& rows) {
    Matrix out(static_cast<index_t>(rows.size()), x.cols());
    for (std::size_t r = 0; r < rows.size(); ++r)
        std::copy(x.row(rows[r]), x.row(rows[r]) + x.cols(), out.row(static_cast<index_t>(r)));
    return out;
}

// Rounded Gaussian coordinates: many equal distances, and duplicate rows.
Matrix rounded(index_t n, index_t d, std::uint64_t seed, double scale) {
    Matrix x = random_matrix(n, d, seed, scale);
    for (double& v : x.storage()) v = std::round(v);
    return x;
}

// Six clusters in 10-D: reference rows (80 a cluster) and held-out rows (20 a cluster) with their labels.
struct Split {
    Matrix x_ref, x_new;
    std::vector<int> labels_ref, labels_new;
};

Split six_clusters() {
    std::vector<int> labels;
    const Matrix x = clustered(6, 100, 10, 2024, 10.0, &labels);
    std::vector<index_t> ref, fresh;
    for (index_t i = 0; i < x.rows(); ++i) (i % 100 < 80 ? ref : fresh).push_back(i);
    Split s{rows_of(x, ref), rows_of(x, fresh), {}, {}};
    for (index_t i : ref) s.labels_ref.push_back(labels[static_cast<std::size_t>(i)]);
    for (index_t i : fresh) s.labels_new.push_back(labels[static_cast<std::size_t>(i)]);
    return s;
}

Options small_options(int threads) {
    Options o;
    o.threads = threads;
    o.report_every = 0;
    o.optimizer.iterations = 500;
    return o;
}

// The share of new points whose 10 nearest reference points in the embedding are mostly of their class.
double new_point_accuracy(const Matrix& y_ref, const Matrix& y_new, const std::vector<int>& labels_ref,
                          const std::vector<int>& labels_new) {
    const NeighborGraph g = nearest_neighbors_of(y_ref, y_new, 10, KnnBackend::kdtree, 1);
    index_t right = 0;
    for (index_t i = 0; i < g.n; ++i) {
        int own = 0;
        for (index_t e = 0; e < g.k; ++e)
            own += labels_ref[g.row_indices(i)[e]] == labels_new[static_cast<std::size_t>(i)];
        right += own > g.k / 2;
    }
    return static_cast<double>(right) / static_cast<double>(g.n);
}

// Z and force on the point x from every row of y, summed directly.
void direct(const Matrix& y, const double* x, double& z, std::vector<double>& f) {
    z = 0;
    f.assign(static_cast<std::size_t>(y.cols()), 0.0);
    for (index_t j = 0; j < y.rows(); ++j) {
        double d2 = 0;
        for (index_t a = 0; a < y.cols(); ++a) d2 += (x[a] - y(j, a)) * (x[a] - y(j, a));
        const double w = 1 / (1 + d2);
        z += w;
        for (index_t a = 0; a < y.cols(); ++a) f[static_cast<std::size_t>(a)] += w * w * (x[a] - y(j, a));
    }
}

}  // namespace

TEST_CASE(
    "nearest_neighbors_of: every backend equals an exact scan, ties, duplicates and far queries included") {
    for (const index_t d : {2, 7}) {
        CAPTURE(d);
        const Matrix ref = rounded(700, d, 11, 2.0);
        Matrix queries = rounded(150, d, 12, 2.0);
        for (index_t i = 0; i < 40; ++i)  // copies of reference rows: found at distance 0, not skipped
            std::copy(ref.row(3 * i), ref.row(3 * i) + d, queries.row(i));
        for (index_t a = 0; a < d; ++a) queries(149, a) = 1e6;  // far outside the reference
        const index_t k = 20;
        const NeighborGraph expected = naive_neighbors_of(ref, queries, k);
        for (const KnnBackend backend :
             {KnnBackend::kdtree, KnnBackend::brute, KnnBackend::automatic, KnnBackend::hnsw}) {
            for (const int threads : {1, 2}) {
                CAPTURE(to_string(backend));
                CAPTURE(threads);
                const NeighborGraph g = nearest_neighbors_of(ref, queries, k, backend, threads);
                CHECK(g.n == queries.rows());
                CHECK(g.k == k);
                CHECK(g.indices == expected.indices);
                CHECK(g.distances == expected.distances);
            }
        }
        for (index_t i = 0; i < 40; ++i) CHECK(expected.row_distances(i)[0] == 0.0);
    }
    const Matrix ref = random_matrix(30, 3, 1);
    const Matrix queries = random_matrix(5, 3, 2);
    CHECK(nearest_neighbors_of(ref, queries, 30, KnnBackend::brute, 1).indices ==
          naive_neighbors_of(ref, queries, 30).indices);  // k = N: every reference point
    CHECK_THROWS_AS(nearest_neighbors_of(ref, queries, 31, KnnBackend::brute, 1), InvalidArgument);
    CHECK_THROWS_AS(nearest_neighbors_of(ref, random_matrix(5, 4, 2), 3, KnnBackend::kdtree, 1),
                    InvalidArgument);
}

TEST_CASE_TEMPLATE("SpaceTree::repulsion_on: exact at theta 0, close at 0.5, the same for any thread count",
                   T, Dim1, Dim2, Dim3) {
    constexpr int Dim = T::value;
    Matrix y = clustered(4, 150, Dim, 31 + Dim, 6.0);
    for (index_t i = 1; i < 30; ++i)  // a stack of duplicates: one coincident leaf
        for (int a = 0; a < Dim; ++a) y(i, a) = y(0, a);
    Matrix q = random_matrix(250, Dim, 40 + Dim, 8.0);
    for (index_t i = 0; i < 20; ++i)  // query points on tree points, and one on the duplicates
        std::copy(y.row(5 * i + 1), y.row(5 * i + 1) + Dim, q.row(i));
    for (int a = 0; a < Dim; ++a) q(249, a) = 500.0;  // far away
    Matrix exact(q.rows(), Dim);
    std::vector<double> exact_z(static_cast<std::size_t>(q.rows()));
    for (index_t i = 0; i < q.rows(); ++i) {
        std::vector<double> f;
        direct(y, q.row(i), exact_z[static_cast<std::size_t>(i)], f);
        for (int a = 0; a < Dim; ++a) exact(i, a) = f[static_cast<std::size_t>(a)];
    }
    SpaceTree<Dim> tree, queries;
    tree.build(y, 2);
    queries.build(q, 2);
    auto max_z_error = [&](const std::vector<double>& z) {
        double worst = 0;
        for (std::size_t i = 0; i < z.size(); ++i)
            worst = std::max(worst, std::abs(z[i] - exact_z[i]) / exact_z[i]);
        return worst;
    };
    Matrix f(q.rows(), Dim);
    std::vector<double> z;
    tree.repulsion_on(queries, 0.0, f.view(), z, 2);
    CHECK(relative_error(f, exact) < 1e-10);
    CHECK(max_z_error(z) < 1e-10);
    // theta 0.5: a few per cent at worst, for query points just outside a dense cell (the criterion
    // measures the distance to the cell's centre of mass; 1e-3 at theta 0.35, 2e-5 at 0.1).
    tree.repulsion_on(queries, 0.5, f.view(), z, 2);
    CHECK(relative_error(f, exact) < 2e-2);
    CHECK(max_z_error(z) < 0.1);
    double total = 0, exact_total = 0;
    for (std::size_t i = 0; i < z.size(); ++i) total += z[i], exact_total += exact_z[i];
    CHECK(total == doctest::Approx(exact_total).epsilon(2e-3));
    Matrix f1(q.rows(), Dim);
    std::vector<double> z1;
    tree.repulsion_on(queries, 0.5, f1.view(), z1, 1);
    CHECK(f1 == f);
    CHECK(z1 == z);
    CHECK_THROWS_AS(tree.repulsion_on(queries, 0.5, Matrix(3, Dim).view(), z, 1), InvalidArgument);

    // point_z: each tree point's own Z, itself excluded.
    CHECK_THROWS_AS(tree.point_z(z), InvalidArgument);  // before any repulsion()
    Matrix own(y.rows(), Dim);
    tree.repulsion(0.0, own.view(), 2);
    tree.point_z(z);
    REQUIRE(z.size() == static_cast<std::size_t>(y.rows()));
    for (const index_t i : {index_t{0}, index_t{7}, index_t{300}}) {
        double zi = 0;
        std::vector<double> fi;
        direct(y, y.row(i), zi, fi);
        CHECK(z[static_cast<std::size_t>(i)] == doctest::Approx(zi - 1.0).epsilon(1e-10));
    }
}

TEST_CASE(
    "pca_project: the fitted data projects to pca()'s own scores bit for bit, other data by the same axes") {
    const Matrix x = random_matrix(300, 8, 5);
    const PcaResult fit = pca(x, 3, 2);
    CHECK(pca_project(fit, x, 1) == fit.projected);
    const Matrix other = random_matrix(10, 8, 6);
    const Matrix scores = pca_project(fit, other, 2);
    double expected = 0;
    for (index_t j = 0; j < 8; ++j)
        expected += (other(4, j) - fit.mean[static_cast<std::size_t>(j)]) * fit.components(1, j);
    CHECK(scores(4, 1) == doctest::Approx(expected).epsilon(1e-12));
    CHECK_THROWS_AS(pca_project(fit, random_matrix(10, 7, 6), 1), InvalidArgument);
}

TEST_CASE("transform_affinities: the nearest reference points, rows summing to 1 at the perplexity") {
    const Split s = six_clusters();
    Options o = small_options(2);
    TransformOptions t;
    CHECK(resolve_perplexity(t, o) == transform_auto_perplexity);
    t.perplexity = 7.5;
    const TransformAffinities a = transform_affinities(s.x_ref, s.x_new, o, t);
    REQUIRE(a.graph.n == s.x_new.rows());
    REQUIRE(a.graph.k == neighbor_count(7.5, s.x_ref.rows()));
    CHECK(a.graph.indices == naive_neighbors_of(s.x_ref, s.x_new, a.graph.k).indices);
    for (index_t i = 0; i < a.graph.n; ++i) {
        double sum = 0, entropy = 0;
        for (index_t e = 0; e < a.graph.k; ++e) {
            const double p = a.p[static_cast<std::size_t>(i * a.graph.k + e)];
            sum += p;
            if (p > 0) entropy -= p * std::log(p);
        }
        CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
        CHECK(entropy == doctest::Approx(std::log(7.5)).epsilon(1e-4));
    }
    t.perplexity = 500;  // at least N - 1
    CHECK_THROWS_AS(transform_affinities(s.x_ref, s.x_new, o, t), InvalidArgument);
}

TEST_CASE("transform_init: the weighted median of the neighbours, jittered apart") {
    const Matrix y_ref(4, 2, std::vector<double>{0, 0, 1, 10, 2, 20, 100, 100});
    TransformAffinities a;
    a.graph.n = 2;
    a.graph.k = 4;
    a.graph.indices = {0, 1, 2, 3, 0, 1, 2, 3};
    a.graph.distances.assign(8, 1.0);
    a.p = {0.1f, 0.3f, 0.3f, 0.3f, 0.1f, 0.3f, 0.3f, 0.3f};  // both new points alike
    const Matrix y = transform_init(a, y_ref, 42, 2);
    // Half the weight is reached at the third-smallest coordinate: (2, 20), not the mean's (30.9, 39);
    // the jitter is 1e-4 of the reference's spread.
    CHECK(y(0, 0) == doctest::Approx(2.0).epsilon(0.05));
    CHECK(y(0, 1) == doctest::Approx(20.0).epsilon(0.05));
    CHECK(y(0, 0) != y(1, 0));  // the jitter separates identical starts
    CHECK(transform_init(a, y_ref, 42, 1) == y);
}

TEST_CASE("transform: held-out points of six clusters land in their own cluster, the reference untouched") {
    const Split s = six_clusters();
    const Options o = small_options(2);
    const Matrix y_ref = embed(s.x_ref, o).y;
    const Matrix y_ref_copy = y_ref;
    int reports = 0;
    const Matrix y = transform(s.x_ref, y_ref, s.x_new, o, {}, [&](const IterationReport& r) {
        ++reports;
        CHECK(std::isfinite(r.kl));
        CHECK(r.embedding.rows == s.x_new.rows());
        return true;
    });
    CHECK(y_ref == y_ref_copy);  // bit for bit
    REQUIRE(y.rows() == s.x_new.rows());
    REQUIRE(y.cols() == 2);
    CHECK(reports == 1);  // report_every 0: the last iteration only
    const double accuracy = new_point_accuracy(y_ref, y, s.labels_ref, s.labels_new);
    CAPTURE(accuracy);
    CHECK(accuracy > 0.9);

    // The same bit for bit on one thread, and with the new points repelling each other too.
    CHECK(transform(s.x_ref, y_ref, s.x_new, small_options(1)) == y);
    TransformOptions repel;
    repel.repel_new = true;
    const Matrix y_repel = transform(s.x_ref, y_ref, s.x_new, o, repel);
    CHECK(transform(s.x_ref, y_ref, s.x_new, small_options(1), repel) == y_repel);
    CHECK(y_repel != y);
    CHECK(new_point_accuracy(y_ref, y_repel, s.labels_ref, s.labels_new) > 0.9);

    // A PCA of the reference is applied to the new points: the same as the stages on projected data.
    Options reduced = o;
    reduced.pca_dims = 4;
    TransformOptions quick;
    quick.iterations = 20;
    const PcaResult fit = pca(s.x_ref, 4, 2);
    const Matrix p_new = pca_project(fit, s.x_new, 2);
    Options plain = o;
    const TransformAffinities a = transform_affinities(fit.projected, p_new, plain, quick);
    CHECK(transform(s.x_ref, y_ref, s.x_new, reduced, quick) ==
          transform_optimize(a, y_ref, transform_init(a, y_ref, o.seed, 2), plain, quick));

    // An observer that says stop ends the run at its report.
    Options often = o;
    often.report_every = 5;
    reports = 0;
    const Matrix stopped = transform(s.x_ref, y_ref, s.x_new, often, quick, [&](const IterationReport& r) {
        ++reports;
        return r.iteration < 10;
    });
    CHECK(reports == 2);
    CHECK(stopped.rows() == s.x_new.rows());
}

TEST_CASE("transform: mismatched shapes and bad options are refused with one line naming them") {
    const Matrix x_ref = random_matrix(40, 5, 1);
    const Matrix y_ref = random_matrix(40, 2, 2);
    const Matrix x_new = random_matrix(6, 5, 3);
    auto message = [](auto&& call) {
        try {
            call();
        } catch (const InvalidArgument& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    const Options o = small_options(1);
    const std::string rows = message([&] { transform(x_ref, random_matrix(39, 2, 2), x_new, o); });
    CHECK(rows.find("reference embedding has 39 rows but the reference data 40") != std::string::npos);
    const std::string cols = message([&] { transform(x_ref, y_ref, random_matrix(6, 4, 3), o); });
    CHECK(cols.find("new points have 4 columns but the reference data 5") != std::string::npos);
    const std::string dims = message([&] { transform(x_ref, random_matrix(40, 4, 2), x_new, o); });
    CHECK(dims.find("1, 2 or 3 columns; got 4") != std::string::npos);
    for (const std::string& m : {rows, cols, dims}) CHECK(m.find('\n') == std::string::npos);
    Matrix bad = x_new;
    bad(2, 3) = std::nan("");
    CHECK(message([&] { transform(x_ref, y_ref, bad, o); }).find("new data") != std::string::npos);
    TransformOptions t;
    t.learning_rate = 0;
    CHECK(message([&] { transform(x_ref, y_ref, x_new, o, t); }).find("learning rate") != std::string::npos);
    t = {};
    t.momentum = 1;
    CHECK_THROWS_AS(transform(x_ref, y_ref, x_new, o, t), InvalidArgument);
}

TEST_CASE("transform: data of extreme magnitude is placed as the unscaled data is") {
    // 4ae5c90: the reference's PCA failed for data scaled by 2^660 ("did not converge"), and without PCA
    // the squared distances overflowed; embed() rescales such data by a power of two, and so must transform.
    const Split s = six_clusters();
    Options o = small_options(2);
    o.optimizer.iterations = 200;
    const Matrix y_ref = embed(s.x_ref, o).y;
    TransformOptions quick;
    quick.iterations = 40;
    for (const int pca_dims : {0, 4}) {
        CAPTURE(pca_dims);
        o.pca_dims = pca_dims;
        const Matrix want = transform(s.x_ref, y_ref, s.x_new, o, quick);
        for (const int exponent : {660, -660}) {
            CAPTURE(exponent);
            Matrix ref = s.x_ref, fresh = s.x_new;
            for (double& v : ref.storage()) v = std::ldexp(v, exponent);
            for (double& v : fresh.storage()) v = std::ldexp(v, exponent);
            CHECK(transform(ref, y_ref, fresh, o, quick) == want);
            if (pca_dims == 0) {
                const TransformAffinities a = transform_affinities(ref, fresh, o, quick);
                const TransformAffinities b = transform_affinities(s.x_ref, s.x_new, o, quick);
                CHECK(a.graph.indices == b.graph.indices);
                CHECK(a.p == b.p);
            }
        }
    }
}

TEST_CASE("transform: the reference's k is refused, like its other kernel options, not silently ignored") {
    // The new points' rows have their own perplexity and floor(3 perplexity) neighbours; 4ae5c90 refused
    // another kind or several perplexities but ignored a k.
    const Split s = six_clusters();
    Options o = small_options(1);
    o.optimizer.iterations = 50;
    const Matrix y_ref = embed(s.x_ref, o).y;
    o.affinities.k = 20;
    CHECK_THROWS_WITH_AS(transform(s.x_ref, y_ref, s.x_new, o),
                         doctest::Contains("(kind, several perplexities, k)"), InvalidArgument);
}
