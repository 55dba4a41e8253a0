// Oracles for the gradient and Barnes-Hut tests (test_exact, test_dof, test_space_tree): central finite
// differences of a KL, the direct sums of the repulsion at one query point, and their second-order
// Taylor expansion about a cell's centre, written out independently of the tree's moment contractions.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "treesne/core/types.hpp"

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

}  // namespace treesne::testing
