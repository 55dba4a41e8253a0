// The KL users see (progress reports, Result::kl) is sparse_kl: checked against the exact KL of the dense
// P, with the exact Z and with Barnes-Hut's; and the gradient module's refusals of mismatched shapes.
#include <doctest/doctest.h>

#include <cmath>

#include "test_helpers.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

TEST_CASE_TEMPLATE("sparse_kl with the exact Z is the exact KL of the dense P", T, Dim1, Dim2, Dim3) {
    constexpr int Dim = T::value;
    const Matrix x = clustered(4, 60, 8, 41);
    const Affinities p = affinities_of(x, 10);
    const Matrix y = random_matrix(x.rows(), Dim, 42, 3.0);
    const double exact = exact_tsne_kl(densify(p), y, 2);

    const double z = direct_z(y);
    CHECK(sparse_kl(p, y, z, 2) == doctest::Approx(exact).epsilon(1e-10));
    // The Z of a theta = 0 tree is exact too.
    SpaceTree<Dim> tree;
    tree.build(y, 2);
    Matrix forces(y.rows(), Dim);
    CHECK(sparse_kl(p, y, tree.repulsion(0.0, forces.view(), 2), 2) == doctest::Approx(exact).epsilon(1e-10));
    // exact_tsne_kl_sparse is sparse_kl with the library's exact Z.
    CHECK(exact_tsne_kl_sparse(p, y, 2) == doctest::Approx(sparse_kl(p, y, z, 2)).epsilon(1e-12));
    // The same bit for bit whatever the thread count.
    CHECK(sparse_kl(p, y, z, 1) == sparse_kl(p, y, z, 3));
}

TEST_CASE_TEMPLATE("the Barnes-Hut KL at theta 0.5 is within 5e-3 of the exact KL", T, Dim1, Dim2, Dim3) {
    constexpr int Dim = T::value;
    const Matrix x = clustered(5, 100, 10, 43);
    const Affinities p = affinities_of(x, 15);
    // A clustered embedding, where the tree summarises much.
    const Matrix y = clustered(5, 100, Dim, 44, 8.0);
    const double exact = exact_tsne_kl(densify(p), y, 2);

    SpaceTree<Dim> tree;
    Matrix grad(y.rows(), Dim);
    double kl = 0;
    const double z = barnes_hut_gradient<Dim>(p, y, tree, 0.5, 1.0, grad.view(), 2, &kl);
    MESSAGE("Dim ", Dim, ": KL exact ", exact, ", Barnes-Hut ", kl, " (Z relative error ",
            z / direct_z(y) - 1, ")");
    CHECK(std::abs(kl - exact) < 5e-3);
    // P sums to 1, so the whole error is log(Z_bh / Z).
    CHECK(kl - exact == doctest::Approx(std::log(z / direct_z(y))).epsilon(1e-6).scale(1e-12));
}

TEST_CASE("the gradient module refuses mismatched shapes with InvalidArgument") {
    const Affinities p = affinities_of(clustered(2, 30, 4, 45), 5);  // 60 points
    const Matrix y = random_matrix(60, 2, 46), short_y = random_matrix(59, 2, 46);
    Matrix out(60, 2), wrong(60, 3);
    SpaceTree<2> tree;
    CHECK_THROWS_AS(sparse_kl(p, short_y, 1.0, 1), InvalidArgument);
    CHECK_THROWS_AS(exact_tsne_kl_sparse(p, short_y, 1), InvalidArgument);
    CHECK_THROWS_AS(attractive_forces(p, short_y, out.view(), 1), InvalidArgument);
    CHECK_THROWS_AS(attractive_forces(p, y, wrong.view(), 1), InvalidArgument);
    CHECK_THROWS_AS(barnes_hut_gradient<2>(p, short_y, tree, 0.5, 1.0, out.view(), 1), InvalidArgument);
    CHECK_THROWS_AS(barnes_hut_gradient<2>(p, y, tree, 0.5, 1.0, wrong.view(), 1), InvalidArgument);
    CHECK_THROWS_AS(tree.build(random_matrix(60, 3, 47), 1), InvalidArgument);
    CHECK_THROWS_AS(tree.build(Matrix(0, 2), 1), InvalidArgument);
    tree.build(y, 1);
    CHECK_THROWS_AS(tree.repulsion(0.5, wrong.view(), 1), InvalidArgument);
    Matrix bad = y;
    bad(7, 1) = INFINITY;
    CHECK_THROWS_AS(tree.build(bad, 1), NumericalError);
    CHECK_THROWS_AS(tree.repulsion(0.5, out.view(), 1),
                    InvalidArgument);  // no stale tree after a failed build
}
