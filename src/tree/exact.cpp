// Exact O(N^2) t-SNE and SNE objectives and gradients: the oracle every approximation is tested against.
#include "treesne/tree/exact.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/lanes.hpp"
#include "treesne/affinities/affinities.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/core/random.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/scale.hpp"

namespace treesne {
namespace {

void check_shapes(const Matrix& p, ConstMatrixView y, const char* what) {
    require(p.rows() == y.rows && p.cols() == y.rows, what, ": P is ", p.rows(), " x ", p.cols(),
            " but the embedding has ", y.rows, " points");
    require(y.rows >= 2, what, " needs at least 2 points; got ", y.rows);
}

// Z = sum_{k != l} w(|y_k - y_l|^2), w = (1 + d^2/alpha)^-alpha, added per row then rows in fixed order
// (alpha = 1 as it always was: (1 + d^2)^-1, no transcendental function).
double student_t_normaliser(ConstMatrixView y, int threads, double dof = 1.0) {
    const index_t n = y.rows;
    const StudentKernel kernel{dof};
    return parallel_sum(n, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        for (index_t i = begin; i < end; ++i) {
            double row = 0.0;
            if (dof == 1.0) {
                for (index_t j = 0; j < n; ++j)
                    if (j != i) row += 1.0 / (1.0 + squared_distance(y.row(i), y.row(j), y.cols));
            } else {
                for (index_t j = 0; j < n; ++j)
                    if (j != i) row += kernel.w(squared_distance(y.row(i), y.row(j), y.cols));
            }
            total += row;
        }
        return total;
    });
}

// log sum_{k != i} exp(-|y_i - y_k|^2), stabilised by the largest exponent (the nearest point).
double sne_log_normaliser(ConstMatrixView y, index_t i) {
    double d_min = INFINITY;
    for (index_t k = 0; k < y.rows; ++k)
        if (k != i) d_min = std::min(d_min, squared_distance(y.row(i), y.row(k), y.cols));
    double s = 0.0;
    for (index_t k = 0; k < y.rows; ++k)
        if (k != i) s += std::exp(-(squared_distance(y.row(i), y.row(k), y.cols) - d_min));
    return std::log(s) - d_min;
}

// -log w(d^2) = alpha log1p(d^2 / alpha) for d^2 = 4^e delta2 (delta2 the squared distance at the scale
// y 2^-e), without forming d^2 where it overflows: there the 1 is far below the rounding of d^2 / alpha,
// and -log w = alpha (log(delta2 / alpha) + 2e log 2).
struct ScaledKernel {
    double alpha;
    int e;
    double minus_log_w(double delta2) const {
        const double t = std::ldexp(delta2 / alpha, 2 * e);
        if (t <= std::numeric_limits<double>::max()) return alpha * std::log1p(t);
        return alpha * (std::log(delta2 / alpha) + 2.0 * e * std::log(2.0));
    }
};

// KL(P || Q) of an embedding of extreme magnitude (coordinates beyond 2^comfortable_exponent, e > 0 =
// extreme_exponent(y)), whose squared distances overflow and whose Z = sum w underflows: computed on
// y 2^-e in logarithms, log Z = -m + log sum_{k != l} exp(m - (-log w_kl)) with m the smallest -log w
// (the nearest pair's, so no term overflows and at least one is 1). entries(i, visit) calls visit(j,
// p_ij) for the entries of P's row i. Rows are added in a fixed order: the same for any thread count.
template <class Entries>
double extreme_scale_kl(ConstMatrixView y, int e, int threads, double dof, const Entries& entries) {
    const Matrix scaled = scaled_by_power_of_two(y, e);
    const ConstMatrixView ys = scaled.view();
    const index_t n = ys.rows;
    const ScaledKernel kernel{dof, e};
    std::vector<double> nearest(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i)
            for (index_t j = 0; j < n; ++j)
                if (j != i)
                    nearest[static_cast<std::size_t>(i)] =
                        std::min(nearest[static_cast<std::size_t>(i)],
                                 squared_distance(ys.row(i), ys.row(j), ys.cols));
    });
    const double m = kernel.minus_log_w(*std::min_element(nearest.begin(), nearest.end()));
    const double sum = parallel_sum(n, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        for (index_t i = begin; i < end; ++i)
            for (index_t j = 0; j < n; ++j)
                if (j != i)
                    total +=
                        std::exp(m - kernel.minus_log_w(squared_distance(ys.row(i), ys.row(j), ys.cols)));
        return total;
    });
    const double log_z = std::log(sum) - m;
    return parallel_sum(n, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        for (index_t i = begin; i < end; ++i)
            entries(i, [&](index_t j, double pij) {
                if (j == i || !(pij > 0)) return;
                const double d2 = squared_distance(ys.row(i), ys.row(j), ys.cols);
                total += pij * (std::log(pij) + log_z + kernel.minus_log_w(d2));  // log(p / q), q = w / Z
            });
        return total;
    });
}

}  // namespace

double exact_tsne_kl(const Matrix& p, ConstMatrixView y, int threads, double dof) {
    check_shapes(p, y, "exact t-SNE");
    require(dof > 0 && std::isfinite(dof), "exact t-SNE: dof must be finite and > 0; got ", dof);
    if (const int e = extreme_exponent(y); e > 0)
        return extreme_scale_kl(y, e, threads, dof, [&](index_t i, const auto& visit) {
            for (index_t j = 0; j < y.rows; ++j) visit(j, p(i, j));
        });
    const double z = student_t_normaliser(y, threads, dof);
    const index_t n = y.rows;
    const StudentKernel kernel{dof};
    return parallel_sum(n, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        for (index_t i = begin; i < end; ++i)
            for (index_t j = 0; j < n; ++j) {
                const double pij = p(i, j);
                if (j == i || pij <= 0) continue;
                const double d2 = squared_distance(y.row(i), y.row(j), y.cols);
                if (dof == 1.0) {
                    const double q = 1.0 / ((1.0 + d2) * z);
                    total += pij * std::log(pij / q);
                } else {  // log(p / q) = log(p Z) - log w
                    total += pij * (std::log(pij * z) + kernel.minus_log_w(d2));
                }
            }
        return total;
    });
}

namespace {

// One row of the exact t-SNE gradient, with the embedding dimension known at compile time. Cauchy: the
// kernel of alpha = 1, w = (1 + d^2)^-1, computed as t-SNE always did; otherwise any alpha (Kobak et al.
// 2019): with w = (1 + d^2/alpha)^-alpha, q = w / Z and C = sum p log(p / q) = sum p log p - sum p log w
// + log Z (P symmetric, summing to 1), d(-log w_ij)/dy_i = 2 u_ij (y_i - y_j) and dw_ij/dy_i =
// -2 w_ij u_ij (y_i - y_j) with u = w^(1/alpha) = (1 + d^2/alpha)^-1; each pair appears twice in both
// sums, so dC/dy_i = 4 sum_j (p_ij - q_ij) u_ij (y_i - y_j): the attraction keeps its cheap weight u.
template <int Dim, bool Cauchy>
double tsne_gradient_row(const Matrix& p, ConstMatrixView y, index_t i, double z, double exaggeration,
                         bool want_kl, [[maybe_unused]] const StudentKernel& kernel, double* g) {
    const double inv_z = 1.0 / z;
    const double* yi = y.row(i);
    const double* prow = p.row(i);
    double acc[Dim] = {};
    double kl = 0.0;
    for (index_t j = 0; j < y.rows; ++j) {
        if (j == i) continue;
        const double* yj = y.row(j);
        double diff[Dim];
        double dist2 = 0.0;
        for (int c = 0; c < Dim; ++c) {
            diff[c] = yi[c] - yj[c];
            dist2 += diff[c] * diff[c];
        }
        if constexpr (Cauchy) {
            const double w = 1.0 / (1.0 + dist2);
            const double mult = (exaggeration * prow[j] - w * inv_z) * w;
            for (int c = 0; c < Dim; ++c) acc[c] += mult * diff[c];
            if (want_kl && prow[j] > 0) kl += prow[j] * std::log(prow[j] * z / w);
        } else {
            const double minus_log_w = kernel.minus_log_w(dist2);
            const double w = std::exp(-minus_log_w);
            const double mult = (exaggeration * prow[j] - w * inv_z) * kernel.u(dist2);
            for (int c = 0; c < Dim; ++c) acc[c] += mult * diff[c];
            if (want_kl && prow[j] > 0) kl += prow[j] * (std::log(prow[j] * z) + minus_log_w);
        }
    }
    for (int c = 0; c < Dim; ++c) g[c] = 4.0 * acc[c];
    return kl;
}

}  // namespace

double exact_tsne_gradient(const Matrix& p, ConstMatrixView y, MatrixView grad, double exaggeration,
                           int threads, bool want_kl, double dof) {
    check_shapes(p, y, "exact t-SNE");
    require(dof > 0 && std::isfinite(dof), "exact t-SNE: dof must be finite and > 0; got ", dof);
    require(grad.rows == y.rows && grad.cols == y.cols, "gradient buffer has the wrong shape");
    require(y.cols >= 1 && y.cols <= 3, "exact t-SNE embeds in 1, 2 or 3 dimensions; got ", y.cols);
    const index_t n = y.rows;
    const double z = student_t_normaliser(y, threads, dof);
    // dC/dy_i = 4 sum_j (a p_ij - q_ij) w_ij (y_i - y_j), w_ij = (1+|y_i-y_j|^2)^-1, q_ij = w_ij / Z
    // (van der Maaten & Hinton 2008, eq. 5); for alpha != 1 see tsne_gradient_row.
    const auto row = dof == 1.0 ? (y.cols == 1   ? tsne_gradient_row<1, true>
                                   : y.cols == 2 ? tsne_gradient_row<2, true>
                                                 : tsne_gradient_row<3, true>)
                                : (y.cols == 1   ? tsne_gradient_row<1, false>
                                   : y.cols == 2 ? tsne_gradient_row<2, false>
                                                 : tsne_gradient_row<3, false>);
    const StudentKernel kernel{dof};
    const double kl = parallel_sum(n, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        for (index_t i = begin; i < end; ++i)
            total += row(p, y, i, z, exaggeration, want_kl, kernel, grad.row(i));
        return total;
    });
    return want_kl ? kl : std::numeric_limits<double>::quiet_NaN();
}

double exact_sne_kl(const Matrix& p, ConstMatrixView y, int threads) {
    check_shapes(p, y, "exact SNE");
    const index_t n = y.rows;
    return parallel_sum(n, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        for (index_t i = begin; i < end; ++i) {
            const double log_z = sne_log_normaliser(y, i);
            for (index_t j = 0; j < n; ++j) {
                const double pji = p(i, j);
                if (j == i || pji <= 0) continue;
                const double log_q = -squared_distance(y.row(i), y.row(j), y.cols) - log_z;
                total += pji * (std::log(pji) - log_q);
            }
        }
        return total;
    });
}

double exact_sne_gradient(const Matrix& p, ConstMatrixView y, MatrixView grad, double exaggeration,
                          int threads) {
    check_shapes(p, y, "exact SNE");
    require(grad.rows == y.rows && grad.cols == y.cols, "gradient buffer has the wrong shape");
    const index_t n = y.rows, dim = y.cols;
    // Row log-normalisers first: q_{j|i} = exp(-|y_i-y_j|^2 - log Z_i).
    std::vector<double> log_z(static_cast<std::size_t>(n));
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) log_z[static_cast<std::size_t>(i)] = sne_log_normaliser(y, i);
    });
    // dC/dy_i = 2 sum_j (p_{j|i} - q_{j|i} + p_{i|j} - q_{i|j})(y_i - y_j) (Hinton & Roweis 2002).
    // Row i of P holds p_{.|i}: p_{j|i} = P(i, j).
    return parallel_sum(n, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        std::vector<double> g(static_cast<std::size_t>(dim));
        for (index_t i = begin; i < end; ++i) {
            std::fill(g.begin(), g.end(), 0.0);
            for (index_t j = 0; j < n; ++j) {
                if (j == i) continue;
                const double d = squared_distance(y.row(i), y.row(j), dim);
                const double q_ji = std::exp(-d - log_z[static_cast<std::size_t>(i)]);
                const double q_ij = std::exp(-d - log_z[static_cast<std::size_t>(j)]);
                const double mult = exaggeration * (p(i, j) + p(j, i)) - q_ji - q_ij;
                for (index_t c = 0; c < dim; ++c) g[c] += mult * (y(i, c) - y(j, c));
                const double pji = p(i, j);
                if (pji > 0) total += pji * (std::log(pji) + d + log_z[static_cast<std::size_t>(i)]);
            }
            for (index_t c = 0; c < dim; ++c) grad(i, c) = 2.0 * g[c];
        }
        return total;
    });
}

// The sum over P's entries is sparse_kl's; only Z is exact here (O(N^2) time, no N x N matrix).
double exact_tsne_kl_sparse(const SparseMatrix& p, ConstMatrixView y, int threads, double dof) {
    require(p.n == y.rows, "exact KL: P has ", p.n, " rows but the embedding has ", y.rows, " points");
    require(dof > 0 && std::isfinite(dof), "exact KL: dof must be finite and > 0; got ", dof);
    // Beyond 2^100 the squared distances overflow and Z underflows (1e200: Z = 0 and a KL of NaN).
    if (const int e = extreme_exponent(y); e > 0) {
        require(csr_defect(p).empty(), "exact KL: ", csr_defect(p));
        return extreme_scale_kl(y, e, threads, dof, [&](index_t i, const auto& visit) {
            for (index_t k = p.offsets[i]; k < p.offsets[i + 1]; ++k)
                visit(static_cast<index_t>(p.columns[static_cast<std::size_t>(k)]),
                      static_cast<double>(p.values[static_cast<std::size_t>(k)]));
        });
    }
    return sparse_kl(p, y, student_t_normaliser(y, threads, dof), threads, dof);
}

}  // namespace treesne

namespace treesne {

namespace {

using detail::kLanes;
using detail::Lanes;
using detail::lane_sum;
using detail::load;

// Row i of the exact repulsion over the points' coordinates by column (cols[d][j] = y(j, d)), kLanes
// points j at a time in a fixed lane order; the pair i = j adds w = 1 and a zero force, so it is summed
// like any other and its 1 taken off Z.
template <int Dim>
void exact_repulsion_row(const std::vector<double>* cols, index_t n, index_t i, double* f, double* z) {
    Lanes acc[Dim] = {}, zsum = {};
    double yi[Dim];
    for (int d = 0; d < Dim; ++d) yi[d] = cols[d][static_cast<std::size_t>(i)];
    index_t j = 0;
    for (; j + kLanes <= n; j += kLanes) {
        Lanes diff[Dim], d2 = {};
        for (int d = 0; d < Dim; ++d) {
            diff[d] = yi[d] - load(cols[d].data() + j);
            d2 += diff[d] * diff[d];
        }
        const Lanes w = 1.0 / (1.0 + d2);
        zsum += w;
        for (int d = 0; d < Dim; ++d) acc[d] += (w * w) * diff[d];
    }
    double tail[Dim] = {}, tail_z = 0.0;
    for (; j < n; ++j) {
        double diff[Dim], d2 = 0.0;
        for (int d = 0; d < Dim; ++d) {
            diff[d] = yi[d] - cols[d][static_cast<std::size_t>(j)];
            d2 += diff[d] * diff[d];
        }
        const double w = 1.0 / (1.0 + d2);
        tail_z += w;
        for (int d = 0; d < Dim; ++d) tail[d] += w * w * diff[d];
    }
    for (int d = 0; d < Dim; ++d) f[d] = lane_sum(acc[d]) + tail[d];
    *z = (lane_sum(zsum) + tail_z) - 1.0;
}

// The same for any alpha, one j at a time: force sum_{j != i} w u (y_i - y_j), w = (1 + d^2/alpha)^-alpha,
// u = (1 + d^2/alpha)^-1, and Z = sum_{j != i} w.
template <int Dim>
void general_repulsion_row(const std::vector<double>* cols, index_t n, index_t i, const StudentKernel& kernel,
                           double* f, double* z) {
    double acc[Dim] = {}, zsum = 0.0;
    double yi[Dim];
    for (int d = 0; d < Dim; ++d) yi[d] = cols[d][static_cast<std::size_t>(i)];
    for (index_t j = 0; j < n; ++j) {
        if (j == i) continue;
        double diff[Dim], d2 = 0.0;
        for (int d = 0; d < Dim; ++d) {
            diff[d] = yi[d] - cols[d][static_cast<std::size_t>(j)];
            d2 += diff[d] * diff[d];
        }
        const double w = kernel.w(d2);
        zsum += w;
        const double wu = w * kernel.u(d2);
        for (int d = 0; d < Dim; ++d) acc[d] += wu * diff[d];
    }
    for (int d = 0; d < Dim; ++d) f[d] = acc[d];
    *z = zsum;
}

}  // namespace

void exact_repulsion_rows(ConstMatrixView y, const std::vector<index_t>& rows, MatrixView forces,
                          double* row_z, int threads, double dof) {
    const index_t dims = y.cols;
    require(dof > 0 && std::isfinite(dof), "exact_repulsion_rows: dof must be finite and > 0; got ", dof);
    const StudentKernel kernel{dof};
    require(dims >= 1 && dims <= 3, "exact_repulsion_rows: the embedding must have 1, 2 or 3 columns; got ",
            dims);
    require(forces.rows == static_cast<index_t>(rows.size()) && forces.cols == dims,
            "exact_repulsion_rows: the force buffer is ", forces.rows, " x ", forces.cols, "; expected ",
            rows.size(), " x ", dims);
    for (index_t i : rows)
        require(i >= 0 && i < y.rows, "exact_repulsion_rows: row ", i, " is out of range for ", y.rows,
                " points");
    std::vector<double> cols[3];
    for (index_t d = 0; d < dims; ++d) {
        cols[d].resize(static_cast<std::size_t>(y.rows));
        for (index_t j = 0; j < y.rows; ++j) cols[d][static_cast<std::size_t>(j)] = y(j, d);
    }
    parallel_for(
        static_cast<index_t>(rows.size()), threads,
        [&](index_t begin, index_t end) {
            for (index_t k = begin; k < end; ++k) {
                double z = 0.0;
                const index_t i = rows[static_cast<std::size_t>(k)];
                if (dof == 1.0) {
                    if (dims == 1) exact_repulsion_row<1>(cols, y.rows, i, forces.row(k), &z);
                    if (dims == 2) exact_repulsion_row<2>(cols, y.rows, i, forces.row(k), &z);
                    if (dims == 3) exact_repulsion_row<3>(cols, y.rows, i, forces.row(k), &z);
                } else {
                    if (dims == 1) general_repulsion_row<1>(cols, y.rows, i, kernel, forces.row(k), &z);
                    if (dims == 2) general_repulsion_row<2>(cols, y.rows, i, kernel, forces.row(k), &z);
                    if (dims == 3) general_repulsion_row<3>(cols, y.rows, i, kernel, forces.row(k), &z);
                }
                if (row_z) row_z[k] = z;
            }
        },
        1);
}

double relative_force_error(ConstMatrixView approx, const std::vector<index_t>& rows, ConstMatrixView exact) {
    require(exact.rows == static_cast<index_t>(rows.size()) && exact.cols == approx.cols,
            "relative_force_error: ", exact.rows, " x ", exact.cols, " exact forces for ", rows.size(),
            " rows of a ", approx.rows, " x ", approx.cols, " force matrix");
    double err2 = 0.0, ref2 = 0.0;
    for (std::size_t k = 0; k < rows.size(); ++k) {
        require(rows[k] >= 0 && rows[k] < approx.rows, "relative_force_error: row ", rows[k],
                " is out of range for ", approx.rows, " points");
        for (index_t d = 0; d < approx.cols; ++d) {
            const double e = exact(static_cast<index_t>(k), d);
            const double diff = approx(rows[k], d) - e;
            err2 += diff * diff;
            ref2 += e * e;
        }
    }
    if (ref2 == 0.0) return err2 == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
    return std::sqrt(err2 / ref2);
}

std::vector<index_t> seeded_sample(index_t n, index_t count, std::uint64_t seed) {
    require(n >= 0 && count >= 0, "seeded_sample: negative size (n ", n, ", count ", count, ")");
    count = std::min(count, n);
    std::vector<index_t> all(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
    Rng rng(seed);
    for (index_t i = 0; i < count; ++i) {  // partial Fisher-Yates
        const auto j = i + static_cast<index_t>(rng.next() % static_cast<std::uint64_t>(n - i));
        std::swap(all[static_cast<std::size_t>(i)], all[static_cast<std::size_t>(j)]);
    }
    all.resize(static_cast<std::size_t>(count));
    std::sort(all.begin(), all.end());
    return all;
}

}  // namespace treesne
