// Oracles for the gradient and Barnes-Hut tests (test_exact, test_dof, test_space_tree): central finite
// differences of a KL, the direct sums of the repulsion at one query point, and their second-order
// Taylor expansion about a cell's centre, written out independently of the tree's moment contractions.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "../test_helpers.hpp"
#include "treesne/core/types.hpp"
#include "treesne/tree/space_tree.hpp"

namespace treesne::testing {

/// Central finite difference (kl(y + h e_i) - kl(y - h e_i)) / 2h of kl at every coordinate of y.
template <class Kl>
Matrix finite_difference(const Matrix& y, Kl kl, double h) {
    Matrix g(y.rows(), y.cols());
    Matrix yy = y;
    for (index_t i = 0; i < y.size(); ++i) {
        const double keep = yy.data()[i];
        yy.data()[i] = keep + h;
        const double up = kl(yy);
        yy.data()[i] = keep - h;
        const double down = kl(yy);
        yy.data()[i] = keep;
        g.data()[i] = (up - down) / (2 * h);
    }
    return g;
}

/// An analytic gradient against its KL at y: gradient(y, grad) fills grad and returns the KL, which must
/// equal kl(y) to 1e-12 relative; grad must equal the central finite difference of kl (h = 1e-5) to 1e-6
/// relative in the Frobenius norm.
template <class Gradient, class Kl>
void check_gradient(const Matrix& y, Gradient gradient, Kl kl) {
    Matrix grad(y.rows(), y.cols());
    const double value = gradient(y, grad);
    CHECK(value == doctest::Approx(kl(y)).epsilon(1e-12));
    CHECK(relative_error(grad, finite_difference(y, kl, 1e-5)) < 1e-6);
}

/// m points uniform in the cube [-s, s]^Dim (rows 0..m-1) and a query point (row m) at distance r from
/// the origin along the diagonal.
template <int Dim>
Matrix cell_and_query(index_t m, double s, double r, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Matrix y(m + 1, Dim);
    for (index_t i = 0; i < m; ++i)
        for (int d = 0; d < Dim; ++d)
            y(i, d) = s * (2.0 * static_cast<double>(rng() >> 11) * 0x1.0p-53 - 1.0);
    for (int d = 0; d < Dim; ++d) y(m, d) = r / std::sqrt(static_cast<double>(Dim));
    return y;
}

/// The output kernel w(d^2) = (1 + d^2/alpha)^-alpha: for alpha = 1 the Cauchy kernel 1 / (1 + d^2) as
/// the t-SNE tests have always computed it, otherwise by std::pow (a formula independent of the
/// library's log1p and vector exp).
inline double kernel_w(double d2, double alpha) {
    return alpha == 1.0 ? 1 / (1 + d2) : std::pow(1.0 + d2 / alpha, -alpha);
}

/// Z and force of a query point: sum_j w_j and sum_j w_j^(1+1/alpha) (x - y_j) (w_j^2 for alpha = 1).
struct PointSums {
    double z = 0;
    std::vector<double> force;
};

/// The direct sums of the query x over the points y_j, rows [0, m) of y but row `skip`.
inline PointSums direct_sums(const Matrix& y, index_t m, const double* x, double alpha = 1.0,
                             index_t skip = -1) {
    PointSums out{0.0, std::vector<double>(static_cast<std::size_t>(y.cols()), 0.0)};
    for (index_t j = 0; j < m; ++j) {
        if (j == skip) continue;
        double d2 = 0;
        for (index_t a = 0; a < y.cols(); ++a) d2 += (x[a] - y(j, a)) * (x[a] - y(j, a));
        const double w = kernel_w(d2, alpha);
        const double fw = alpha == 1.0 ? w * w : std::pow(w, 1.0 + 1.0 / alpha);
        out.z += w;
        for (index_t a = 0; a < y.cols(); ++a)
            out.force[static_cast<std::size_t>(a)] += fw * (x[a] - y(j, a));
    }
    return out;
}

/// The same sums expanded about the centre c of the points y_j = c + e_j, term by term, to order `order`
/// (0: monopole, 2: second order), with the full derivatives at d = x - c of w(x) = (1 + |x|^2/a)^-a and
/// g(x) = w u x, u = (1 + |x|^2/a)^-1, a1 = (a + 1)/a, a2 = (a + 2)/a (for a = 1: u = w, a1 = 2, a2 = 3):
///   dw/dx_a = -2 w u x_a,                       d2w/dx_a dx_b = -2 w u [a=b] + 4 a1 w u^2 x_a x_b,
///   dg_k/dx_a = w u [k=a] - 2 a1 w u^2 x_k x_a, d2g_k/dx_a dx_b = 4 a1 a2 w u^3 x_a x_b x_k
///                                                   - 2 a1 w u^2 ([a=b] x_k + [k=a] x_b + [k=b] x_a),
/// and f(d - e) ~ f(d) - sum_a f_a e_a + 1/2 sum_ab f_ab e_a e_b for each j.
inline PointSums taylor_sums(const Matrix& y, index_t m, const double* x, double alpha, int order) {
    const auto dims = static_cast<int>(y.cols());
    std::vector<double> c(static_cast<std::size_t>(dims), 0.0), d(c.size());
    for (index_t j = 0; j < m; ++j)
        for (int a = 0; a < dims; ++a) c[a] += y(j, a) / static_cast<double>(m);
    double d2 = 0;
    for (int a = 0; a < dims; ++a) {
        d[a] = x[a] - c[a];
        d2 += d[a] * d[a];
    }
    const double w = kernel_w(d2, alpha), u = 1 / (1 + d2 / alpha);
    const double a1 = (alpha + 1) / alpha, a2 = (alpha + 2) / alpha;
    const double wu = w * u, wu2 = wu * u, wu3 = wu2 * u;
    auto delta = [](int a, int b) { return a == b ? 1.0 : 0.0; };
    PointSums out{0.0, std::vector<double>(c.size(), 0.0)};
    for (index_t j = 0; j < m; ++j) {
        std::vector<double> e(c.size());
        for (int a = 0; a < dims; ++a) e[a] = y(j, a) - c[a];
        out.z += w;
        for (int k = 0; k < dims; ++k) out.force[k] += wu * d[k];
        if (order < 2) continue;
        for (int a = 0; a < dims; ++a) {
            out.z -= -2 * wu * d[a] * e[a];
            for (int k = 0; k < dims; ++k)
                out.force[k] -= (wu * delta(k, a) - 2 * a1 * wu2 * d[k] * d[a]) * e[a];
            for (int b = 0; b < dims; ++b) {
                const double ee = 0.5 * e[a] * e[b];
                out.z += (-2 * wu * delta(a, b) + 4 * a1 * wu2 * d[a] * d[b]) * ee;
                for (int k = 0; k < dims; ++k) {
                    const double sym = delta(a, b) * d[k] + delta(k, a) * d[b] + delta(k, b) * d[a];
                    out.force[k] += (4 * a1 * a2 * wu3 * d[a] * d[b] * d[k] - 2 * a1 * wu2 * sym) * ee;
                }
            }
        }
    }
    return out;
}

/// |f - exact| / |exact| of one point's force.
inline double force_error(const std::vector<double>& f, const std::vector<double>& exact) {
    double diff = 0, norm = 0;
    for (std::size_t a = 0; a < f.size(); ++a) {
        diff += (f[a] - exact[a]) * (f[a] - exact[a]);
        norm += exact[a] * exact[a];
    }
    return std::sqrt(diff / norm);
}

/// Relative errors of a summarised cell against the exact sums in double precision, one per cell size:
/// [0] monopole, [1] quadrupole.
struct CellErrors {
    std::vector<double> z[2], f[2];
};

/// A tree built over a cell of m points (rows [0, m) of y) and a query (row m) that sees the cell as one
/// summarised node at theta, checked against the Taylor expansions of the kernel with this alpha: for the
/// monopole and the quadrupole, in double and single precision, the query's Z (the tree's total less
/// z_cell_points, the cell points' own exact sums) and force equal the expansion's to 1e-12 relative in
/// double (plus double_rounding times z_cell_points for that subtraction) and 1e-6 in single. The double
/// errors against the exact sums are appended to errors, and the quadrupole's must be under a fifth of
/// the monopole's.
template <int Dim>
void check_summarised_cell(SpaceTree<Dim>& tree, const Matrix& y, index_t m, double theta, double alpha,
                           double z_cell_points, double double_rounding, CellErrors& errors) {
    const double* x = y.row(m);
    const PointSums exact = direct_sums(y, m, x, alpha);
    const PointSums mono = taylor_sums(y, m, x, alpha, 0), hand = taylor_sums(y, m, x, alpha, 2);
    Matrix f(y.rows(), Dim);
    std::vector<double> tree_force(Dim);
    for (const bool quadrupole : {false, true}) {
        CAPTURE(quadrupole);
        tree.set_quadrupole(quadrupole);
        const PointSums& expected = quadrupole ? hand : mono;
        for (const bool single : {false, true}) {
            CAPTURE(single);
            tree.set_single_precision(single);
            const double z_tree = tree.repulsion(theta, f.view(), 1) - z_cell_points;
            for (int d = 0; d < Dim; ++d) tree_force[d] = f(m, d);
            const double tolerance = single ? 1e-6 : 1e-12, total_rounding = single ? 1e-6 : double_rounding;
            CHECK(std::abs(z_tree - expected.z) < tolerance * expected.z + total_rounding * z_cell_points);
            CHECK(force_error(tree_force, expected.force) < tolerance);
            if (!single) {
                errors.z[quadrupole].push_back(std::abs(z_tree - exact.z) / exact.z);
                errors.f[quadrupole].push_back(force_error(tree_force, exact.force));
            }
        }
    }
    CHECK(errors.z[1].back() < 0.2 * errors.z[0].back());
    CHECK(errors.f[1].back() < 0.2 * errors.f[0].back());
}

/// After check_summarised_cell at half-sides s and s/2: halving the cell divides the monopole error by ~4
/// (second order) and the quadrupole's by more than 6.5 (third): the expansion is complete to second order.
inline void check_second_order(const CellErrors& e) {
    CHECK(e.z[0][0] / e.z[0][1] == doctest::Approx(4).epsilon(0.15));
    CHECK(e.f[0][0] / e.f[0][1] == doctest::Approx(4).epsilon(0.15));
    CHECK(e.z[1][0] / e.z[1][1] > 6.5);
    CHECK(e.f[1][0] / e.f[1][1] > 6.5);
}

}  // namespace treesne::testing
