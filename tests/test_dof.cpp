// The heavy-tailed output kernel w = (1 + d^2/alpha)^-alpha (OptimizerOptions::dof; Kobak et al. 2019):
// the exact gradient against finite differences of the exact KL, Barnes-Hut at theta 0 against the exact
// sums, the general quadrupole terms against a direct second-order expansion, the single-precision
// kernels, thread independence, the sparse KL, accuracy, and what the kernel does to clusters.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "helpers/oracles.hpp"
#include "test_helpers.hpp"
#include "treesne/eval/accuracy.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

// Exact unnormalised repulsion and Z of all points (exact_repulsion_rows over every row).
double exact_repulsion(const Matrix& y, Matrix& forces, double alpha, int threads = 2) {
    std::vector<index_t> all(static_cast<std::size_t>(y.rows()));
    for (index_t i = 0; i < y.rows(); ++i) all[static_cast<std::size_t>(i)] = i;
    std::vector<double> z(all.size());
    forces = Matrix(y.rows(), y.cols());
    exact_repulsion_rows(y, all, forces.view(), z.data(), threads, alpha);
    double total = 0;
    for (double v : z) total += v;
    return total;
}

}  // namespace

TEST_CASE("dof: the exact gradient equals a central finite difference of the exact KL, 1-3 D") {
    AffinityOptions aff;
    aff.perplexity = 4;
    for (const double alpha : {0.5, 1.0, 2.0, 100.0})
        for (int dims = 1; dims <= 3; ++dims) {
            CAPTURE(alpha);
            CAPTURE(dims);
            const Matrix x = random_matrix(25, 6, 7 + dims);
            const Matrix p = dense_joint_probabilities(dense_conditional_probabilities(x, aff, 1));
            check_gradient(
                random_matrix(25, dims, 100 + dims, 2.0),
                [&](const Matrix& y, Matrix& grad) {
                    return exact_tsne_gradient(p, y, grad.view(), 1.0, 1, true, alpha);
                },
                [&](const Matrix& y) { return exact_tsne_kl(p, y, 1, alpha); });
        }
}

TEST_CASE("dof: the general kernel's exact and Barnes-Hut sums tend to the Cauchy kernel's as alpha -> 1") {
    // alpha = 1 + 1e-9 runs the general code (log1p and exp, the general quadrupole terms); its results
    // differ from alpha = 1's (the Cauchy code) by O(1e-9).
    const Matrix x = clustered(3, 60, 5, 40);
    const Affinities p = affinities_of(x, 10);
    const Matrix y = random_matrix(x.rows(), 2, 41, 3.0);
    const double near_one = 1.0 + 1e-9;
    Matrix g1(y.rows(), 2), g2(y.rows(), 2);
    exact_tsne_gradient(densify(p), y, g1.view(), 1.0, 2, true, 1.0);
    exact_tsne_gradient(densify(p), y, g2.view(), 1.0, 2, true, near_one);
    CHECK(relative_error(g2, g1) < 1e-7);
    for (const double theta : {0.0, 0.5}) {
        CAPTURE(theta);
        SpaceTree<2> tree;
        barnes_hut_gradient<2>(p, y, tree, theta, 1.0, g1.view(), 2);
        tree.set_dof(near_one);
        barnes_hut_gradient<2>(p, y, tree, theta, 1.0, g2.view(), 2);
        CHECK(relative_error(g2, g1) < 1e-7);
    }
}

TEST_CASE_TEMPLATE("dof: Barnes-Hut at theta 0 equals the exact gradient, Z and repulsion_on", T, Dim1, Dim2,
                   Dim3) {
    constexpr int Dim = T::value;
    const Matrix x = clustered(4, 75, 10, 21);
    const Affinities p = affinities_of(x, 10);
    const Matrix dense = densify(p);
    const Matrix y = random_matrix(x.rows(), Dim, 22, 5.0);
    for (const double alpha : {0.5, 2.0, 100.0}) {
        CAPTURE(alpha);
        Matrix exact(y.rows(), Dim), bh(y.rows(), Dim);
        const double exact_kl = exact_tsne_gradient(dense, y, exact.view(), 1.0, 2, true, alpha);
        SpaceTree<Dim> tree;
        tree.set_dof(alpha);
        double kl = 0;
        const double z = barnes_hut_gradient<Dim>(p, y, tree, 0.0, 1.0, bh.view(), 2, &kl);
        CHECK(relative_error(bh, exact) < 1e-10);
        CHECK(kl == doctest::Approx(exact_kl).epsilon(1e-10));
        double z_direct = 0;
        for (index_t i = 0; i < y.rows(); ++i) z_direct += direct_sums(y, y.rows(), y.row(i), alpha, i).z;
        CHECK(z == doctest::Approx(z_direct).epsilon(1e-12));
        // exact_repulsion_rows (the controller's and accuracy's oracle) against the direct sums.
        Matrix forces;
        CHECK(exact_repulsion(y, forces, alpha) == doctest::Approx(z_direct).epsilon(1e-12));
        Matrix direct(y.rows(), Dim);
        for (index_t i = 0; i < y.rows(); ++i) {
            const PointSums s = direct_sums(y, y.rows(), y.row(i), alpha, i);
            for (int d = 0; d < Dim; ++d) direct(i, d) = s.force[d];
        }
        CHECK(relative_error(forces, direct) < 1e-12);

        // repulsion_on: the last 60 points as queries against a tree of the others.
        const index_t n_ref = y.rows() - 60;
        Matrix ref(n_ref, Dim), queries(60, Dim);
        for (index_t i = 0; i < y.rows(); ++i)
            for (int d = 0; d < Dim; ++d) (i < n_ref ? ref(i, d) : queries(i - n_ref, d)) = y(i, d);
        SpaceTree<Dim> ref_tree, query_tree;
        ref_tree.set_dof(alpha);
        ref_tree.build(ref, 2);
        query_tree.build(queries, 2);
        Matrix on(60, Dim), want(60, Dim);
        std::vector<double> z_on;
        ref_tree.repulsion_on(query_tree, 0.0, on.view(), z_on, 2);
        for (index_t i = 0; i < 60; ++i) {
            const PointSums s = direct_sums(ref, n_ref, queries.row(i), alpha);
            CHECK(z_on[static_cast<std::size_t>(i)] == doctest::Approx(s.z).epsilon(1e-10));
            for (int d = 0; d < Dim; ++d) want(i, d) = s.force[d];
        }
        CHECK(relative_error(on, want) < 1e-10);
    }
}

TEST_CASE_TEMPLATE("dof: a summarised cell is the second-order Taylor expansion of the general kernel", T,
                   Dim1, Dim2, Dim3) {
    constexpr int Dim = T::value;
    // As the alpha = 1 test in test_space_tree.cpp: a cell of 8 points (half-side s, leaves of 8) and a
    // query at distance 8; at theta 0.5 each leaf sees the other as one summarised cell.
    constexpr index_t m = 8;
    const double r = 8.0, theta = 0.5;
    for (const double alpha : {0.5, 2.0, 7.5}) {
        CAPTURE(alpha);
        CellErrors errors;  // per s
        for (const double s : {0.25, 0.125}) {
            CAPTURE(s);
            const Matrix y = cell_and_query<Dim>(m, s, r, 31);
            SpaceTree<Dim> tree;
            tree.set_dof(alpha);
            tree.set_leaf_capacity(static_cast<int>(m));
            tree.build(y, 1);
            REQUIRE(tree.nodes().size() == 3);
            // The cell points' own Z is exact (the query's leaf, one point, is an exact cell for them).
            double z_cell_points = 0;
            for (index_t i = 0; i < m; ++i) z_cell_points += direct_sums(y, m + 1, y.row(i), alpha, i).z;
            check_summarised_cell(tree, y, m, theta, alpha, z_cell_points, 1e-14, errors);
        }
        check_second_order(errors);
    }
}

TEST_CASE("dof: at theta 0.5 the quadrupole beats the monopole, and float kernels agree with double") {
    const Matrix y = clustered(8, 250, 2, 61, 12.0);  // 2,000 points in 8 clusters
    const Matrix y3 = clustered(8, 100, 3, 62, 12.0);
    const Matrix y1 = clustered(8, 100, 1, 63, 12.0);
    for (const double alpha : {0.5, 2.0}) {
        CAPTURE(alpha);
        Matrix exact;
        const double z_exact = exact_repulsion(y, exact, alpha);
        SpaceTree<2> tree;
        tree.set_dof(alpha);
        tree.build(y, 2);
        Matrix f(y.rows(), 2);
        double z_err[2], f_err[2];
        for (const bool quadrupole : {false, true}) {
            tree.set_quadrupole(quadrupole);
            const double z = tree.repulsion(0.5, f.view(), 2);
            z_err[quadrupole] = std::abs(z - z_exact) / z_exact;
            f_err[quadrupole] = relative_error(f, exact);
        }
        MESSAGE("alpha ", alpha, ", theta 0.5: Z error monopole ", z_err[0], ", quadrupole ", z_err[1],
                "; force error monopole ", f_err[0], ", quadrupole ", f_err[1]);
        CHECK(z_err[1] < 0.5 * z_err[0]);
        CHECK(f_err[1] < 0.5 * f_err[0]);
        CHECK(f_err[1] < 2e-2);

        // Single precision within ~1e-6 of double at the same theta, 1-3 D.
        auto single_vs_double = [&](auto& t, const Matrix& pts) {
            t.set_dof(alpha);
            t.build(pts, 2);
            Matrix fd(pts.rows(), pts.cols()), fs(pts.rows(), pts.cols());
            t.set_single_precision(false);
            const double zd = t.repulsion(0.5, fd.view(), 2);
            t.set_single_precision(true);
            const double zs = t.repulsion(0.5, fs.view(), 2);
            CHECK(std::abs(zs - zd) / zd < 1e-6);
            CHECK(relative_error(fs, fd) < 1e-6);
        };
        SpaceTree<1> t1;
        SpaceTree<2> t2;
        SpaceTree<3> t3;
        single_vs_double(t1, y1);
        single_vs_double(t2, y);
        single_vs_double(t3, y3);
    }
}

TEST_CASE("dof: results are the same bit for bit for any thread count") {
    const Matrix x = clustered(4, 100, 10, 71);
    const Affinities p = affinities_of(x, 10);
    const Matrix y = random_matrix(x.rows(), 2, 72, 5.0);
    for (const double alpha : {0.5, 3.0}) {
        CAPTURE(alpha);
        for (const double theta : {0.1, 0.5}) {
            Matrix g1(y.rows(), 2), g4(y.rows(), 2);
            SpaceTree<2> t1, t4;
            t1.set_dof(alpha);
            t4.set_dof(alpha);
            double kl1 = 0, kl4 = 0;
            CHECK(barnes_hut_gradient<2>(p, y, t1, theta, 1.0, g1.view(), 1, &kl1) ==
                  barnes_hut_gradient<2>(p, y, t4, theta, 1.0, g4.view(), 4, &kl4));
            CHECK(g1 == g4);
            CHECK(kl1 == kl4);
        }
        Matrix e1(y.rows(), 2), e3(y.rows(), 2);
        CHECK(exact_tsne_gradient(densify(p), y, e1.view(), 1.0, 1, true, alpha) ==
              exact_tsne_gradient(densify(p), y, e3.view(), 1.0, 3, true, alpha));
        CHECK(e1 == e3);
        Matrix r1, r3;
        CHECK(exact_repulsion(y, r1, alpha, 1) == exact_repulsion(y, r3, alpha, 3));
        CHECK(r1 == r3);
    }
}

TEST_CASE("dof: the sparse KL with the exact Z equals the dense exact KL") {
    AffinityOptions aff;
    aff.perplexity = 5;
    const Matrix x = random_matrix(40, 4, 9);
    const Affinities p = compute_affinities(nearest_neighbors_naive(x, 39), aff, 1);
    const Matrix y = random_matrix(40, 2, 10);
    for (const double alpha : {0.5, 2.0, 100.0}) {
        CAPTURE(alpha);
        const double dense = exact_tsne_kl(densify(p), y, 1, alpha);
        CHECK(exact_tsne_kl_sparse(p, y, 1, alpha) == doctest::Approx(dense).epsilon(1e-12));
        CHECK(dense != doctest::Approx(exact_tsne_kl(densify(p), y, 1, 1.0)).epsilon(1e-3));
    }
    CHECK_THROWS_AS(exact_tsne_kl_sparse(p, y, 1, 0.0), InvalidArgument);
    CHECK_THROWS_AS(SpaceTree<2>().set_dof(-1.0), InvalidArgument);
}

TEST_CASE("dof: Session gradient and KL under dof equal the exact oracle; exact_tsne uses dof") {
    const index_t n = 120;
    const Matrix x = clustered(3, n / 3, 5, 52);
    Options o = quick_options(30);
    o.optimizer.exaggeration_iterations = 10;
    o.optimizer.theta = 0.0;
    o.optimizer.dof = 0.6;
    const Affinities p = compute_affinities(nearest_neighbors(x, 30, KnnBackend::brute, 2), o.affinities, 2);
    const Matrix dense = densify(p);
    const Matrix y0 = random_matrix(n, 2, 3, 1e-2);
    Session bh(p, y0, o);
    Options exact_options = o;
    exact_options.optimizer.method = Method::exact_tsne;
    Session exact(dense, y0, exact_options);
    bh.run(30);
    exact.run(30);
    Matrix want(n, 2), got(n, 2);
    const double want_kl = exact_tsne_gradient(dense, bh.embedding(), want.view(), 1.0, 1, true, 0.6);
    CHECK(bh.gradient(got.view()) == doctest::Approx(want_kl).epsilon(1e-10));
    CHECK(relative_error(got, want) < 1e-10);
    CHECK(bh.kl() == doctest::Approx(exact_tsne_kl(dense, bh.embedding(), 1, 0.6)).epsilon(1e-10));
    exact_tsne_gradient(dense, exact.embedding(), want.view(), 1.0, 1, true, 0.6);
    exact.gradient(got.view());
    CHECK(got == want);
    CHECK(exact.kl() == exact_tsne_kl(dense, exact.embedding(), 1, 0.6));
    // The two sessions followed the same objective (theta 0 is exact up to rounding).
    CHECK(relative_error(bh.embedding(), exact.embedding()) < 1e-6);
}

TEST_CASE("dof: a heavier tail (dof 0.5) gives tighter, more separated clusters than dof 1") {
    std::vector<int> labels;
    const Matrix x = clustered(6, 60, 10, 81, 8.0, &labels);
    // Within-cluster RMS spread over the mean distance between cluster centres.
    auto tightness = [&](const Matrix& y) {
        const int clusters = 6;
        std::vector<std::array<double, 2>> centre(clusters, {0.0, 0.0});
        std::vector<double> count(clusters, 0.0);
        for (index_t i = 0; i < y.rows(); ++i) {
            const auto c = static_cast<std::size_t>(labels[static_cast<std::size_t>(i)]);
            for (int d = 0; d < 2; ++d) centre[c][d] += y(i, d);
            count[c] += 1;
        }
        for (int c = 0; c < clusters; ++c)
            for (int d = 0; d < 2; ++d) centre[c][d] /= count[c];
        double spread = 0;
        for (index_t i = 0; i < y.rows(); ++i) {
            const auto c = static_cast<std::size_t>(labels[static_cast<std::size_t>(i)]);
            for (int d = 0; d < 2; ++d) spread += (y(i, d) - centre[c][d]) * (y(i, d) - centre[c][d]);
        }
        spread = std::sqrt(spread / static_cast<double>(y.rows()));
        double between = 0;
        int pairs = 0;
        for (int a = 0; a < clusters; ++a)
            for (int b = a + 1; b < clusters; ++b, ++pairs)
                between += std::hypot(centre[a][0] - centre[b][0], centre[a][1] - centre[b][1]);
        return spread / (between / pairs);
    };
    Options o;
    o.threads = 2;
    o.optimizer.iterations = 500;
    const double t1 = tightness(embed(x, o).y);
    o.optimizer.dof = 0.5;
    const Result heavy = embed(x, o);
    const double t05 = tightness(heavy.y);
    MESSAGE("within-cluster spread / between-cluster distance: dof 1 ", t1, ", dof 0.5 ", t05);
    CHECK(t05 < 0.8 * t1);
    CHECK(knn_accuracy(heavy.y, labels, 10, 2) > 0.95);
}

TEST_CASE("dof: accuracy measures Barnes-Hut against the exact oracle under the same kernel") {
    const Matrix x = clustered(3, 50, 6, 91);
    Options o = quick_options(60);
    o.optimizer.exaggeration_iterations = 30;
    o.optimizer.dof = 0.5;
    AccuracyOptions a;
    a.thetas = {0.0, 0.5};
    a.monopole = false;
    a.timing_calls = 1;
    a.timing_seconds = 0;
    const AccuracyReport r = measure_accuracy(x, o, a);
    CHECK(r.dof == 0.5);
    REQUIRE(r.gradients.size() == 6);
    for (const auto& g : r.gradients) {
        CAPTURE(g.embedding);
        CAPTURE(g.theta);
        if (g.theta == 0.0) {
            CHECK(g.gradient_error < 1e-10);
            CHECK(g.z_error < 1e-12);
        } else {
            CHECK(g.gradient_error < 0.05);
        }
    }
    CHECK(format_accuracy_json(r).find("\"dof\": 0.5") != std::string::npos);
}

TEST_CASE("dof: every dof of the range converges with the default schedule on 200 and 2,000 points") {
    // The automatic learning rate max(N / 12, 200) made 200 points diverge at dof 5 to 1e6 (and oscillate
    // at dof 2): the floor of 200 exceeds N / exaggeration, which only tails as heavy as the Cauchy
    // kernel's tolerate. For dof > 1 the rate is N / exaggeration.
    for (const index_t per_cluster : {index_t{50}, index_t{500}}) {
        const Matrix x = clustered(4, per_cluster, 10, 301, 8.0);
        Options o;
        o.threads = 2;
        o.report_every = 0;
        const double kl1 = embed(x, o).kl;
        for (const double dof : {0.5, 2.0, 10.0, 100.0, 1e6}) {
            CAPTURE(x.rows());
            CAPTURE(dof);
            o.optimizer.dof = dof;
            Result r;
            REQUIRE_NOTHROW(r = embed(x, o));
            CHECK(std::isfinite(r.kl));
            // Each dof is its own objective (heavier tails cost KL: dof 0.5 gives 0.30 against 0.23 at 200
            // points); towards SNE's Gaussian the KL stays close to dof 1's (within 25 % here: 0.23 vs
            // 0.23 at 200 points, 1.06 vs 1.20 at 2,000).
            if (dof > 1) CHECK(r.kl < 1.25 * kl1);
            if (dof > 1) CHECK(r.learning_rate == doctest::Approx(static_cast<double>(x.rows()) / 12));
        }
    }
}
