// Barnes-Hut t-SNE gradient (van der Maaten 2014, eqs. 11-14).
#include "treesne/tree/gradient.hpp"

#include <cassert>
#include <chrono>
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/lanes.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {
namespace {

// Seconds since construction or the last lap().
class Stopwatch {
  public:
    double lap() {
        const auto now = std::chrono::steady_clock::now();
        const double s = std::chrono::duration<double>(now - last_).count();
        last_ = now;
        return s;
    }

  private:
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

using detail::broadcast;
using detail::kLanes;
using detail::lane_sum;
using detail::Lanes;
using detail::load;

// The y_j of P's entries are read at random (at 10^6 points the embedding is far larger than the
// caches): each group of kLanes entries first asks for the rows of the group this many entries ahead,
// across row ends (the columns are one array). Only a hint: the results do not change.
constexpr index_t attraction_prefetch = 4 * kLanes;

template <int Dim>
[[gnu::always_inline]] inline void prefetch_rows(const double* y, const point_t* columns, index_t from,
                                                 index_t nnz) {
    if (from + kLanes > nnz) return;
    for (int l = 0; l < kLanes; ++l) __builtin_prefetch(y + std::size_t{columns[from + l]} * Dim);
}

// F_i = sum_j p_ij (1 + |y_i - y_j|^2)^-1 (y_i - y_j) over row i of P, kLanes entries at a time (the
// y_j gathered); a short last group is padded with zero-weight copies of i itself. The lanes are added
// in lane order, so the sum is the same whatever the thread count or instruction set. Scaled: the
// kernel with alpha degrees of freedom, whose attraction weight is w^(1/alpha) = (1 + d^2/alpha)^-1
// (inv_alpha = 1/alpha); unscaled (alpha = 1), the loop t-SNE always ran.
template <int Dim, bool Scaled = false>
inline void attractive_row(const SparseMatrix& p, ConstMatrixView y, index_t i, double* f,
                           [[maybe_unused]] double inv_alpha = 1.0) {
    const double* yi = y.row(i);
    const index_t begin = p.offsets[i], end = p.offsets[i + 1];
    const point_t* columns = p.columns.data();
    const float* values = p.values.data();
    Lanes yiv[Dim];
    for (int d = 0; d < Dim; ++d) yiv[d] = broadcast(yi[d]);
    Lanes acc[Dim] = {};
    const index_t nnz = p.offsets[p.n];
    for (index_t e = begin; e < end; e += kLanes) {
        prefetch_rows<Dim>(y.data, columns, e + attraction_prefetch, nnz);
        Lanes yj[Dim] = {};
        Lanes pij = {};
        if (e + kLanes <= end) {
            for (int l = 0; l < kLanes; ++l) {
                const double* row = y.data + std::size_t{columns[e + l]} * Dim;
                for (int d = 0; d < Dim; ++d) yj[d][l] = row[d];
            }
            pij = load(values + e);
        } else {
            for (int l = 0; l < kLanes; ++l) {
                const bool real = e + l < end;
                const double* row = real ? y.data + std::size_t{columns[e + l]} * Dim : yi;
                for (int d = 0; d < Dim; ++d) yj[d][l] = row[d];
                pij[l] = real ? static_cast<double>(values[e + l]) : 0.0;
            }
        }
        Lanes diff[Dim];
        Lanes dist2 = {};
        for (int d = 0; d < Dim; ++d) {
            diff[d] = yiv[d] - yj[d];
            dist2 += diff[d] * diff[d];
        }
        Lanes m;
        if constexpr (Scaled) {
            m = pij / (1.0 + dist2 * inv_alpha);
        } else {
            m = pij / (1.0 + dist2);
        }
        for (int d = 0; d < Dim; ++d) acc[d] += m * diff[d];
    }
    for (int d = 0; d < Dim; ++d) f[d] = lane_sum(acc[d]);
}

template <int Dim, bool Scaled>
void attractive_forces_dim(const SparseMatrix& p, ConstMatrixView y, MatrixView out, int threads,
                           double inv_alpha) {
    assert(csr_defect(p).empty());  // an invariant of the Affinities type
    parallel_for(
        p.n, threads,
        [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) {
                double f[Dim];
                attractive_row<Dim, Scaled>(p, y, i, f, inv_alpha);
                for (int d = 0; d < Dim; ++d) out(i, d) = f[d];
            }
        },
        512);
}

template <int Dim>
void attractive_forces_dim(const SparseMatrix& p, ConstMatrixView y, MatrixView out, int threads,
                           double dof) {
    if (dof == 1.0) {
        attractive_forces_dim<Dim, false>(p, y, out, threads, 1.0);
    } else {
        attractive_forces_dim<Dim, true>(p, y, out, threads, 1.0 / dof);
    }
}

void require_dof(double dof, const char* what) {
    require(std::isfinite(dof) && dof > 0, what, ": dof must be finite and > 0; got ", dof);
}

}  // namespace

void attractive_forces(const SparseMatrix& p, ConstMatrixView y, MatrixView out, int threads, double dof) {
    require(p.n == y.rows && out.rows == y.rows && out.cols == y.cols, "attractive_forces: P is ", p.n, " x ",
            p.n, ", the embedding ", y.rows, " x ", y.cols, " and the output ", out.rows, " x ", out.cols);
    require_dof(dof, "attractive_forces");
    switch (y.cols) {
        case 1:
            attractive_forces_dim<1>(p, y, out, threads, dof);
            break;
        case 2:
            attractive_forces_dim<2>(p, y, out, threads, dof);
            break;
        case 3:
            attractive_forces_dim<3>(p, y, out, threads, dof);
            break;
        default:
            throw InvalidArgument(concat("embedding dimension must be 1, 2 or 3; got ", y.cols));
    }
}

namespace {

// sum p_ij log(p_ij Z (1 + |y_i - y_j|^2)) over rows [begin, end), kLanes entries at a time with the
// vectorised logarithm (std::log does not vectorise, and at 10^8 entries was most of the KL's time); a
// short last group and non-positive p_ij get p = 0, x = 1. Lanes whose x is not a positive normal
// double (never seen from a valid P: kept for safety) take std::log. Scaled (alpha != 1): the kernel
// with alpha degrees of freedom, p log(p / q) = p (log(p Z) + alpha log1p(d^2/alpha)), the log1p lane
// by lane (the KL is computed only at reports).
template <int Dim, bool Scaled = false>
double sparse_kl_rows(const SparseMatrix& p, ConstMatrixView y, double z, index_t begin, index_t end,
                      [[maybe_unused]] double alpha = 1.0) {
    const point_t* columns = p.columns.data();
    const float* values = p.values.data();
    const index_t nnz = p.offsets[p.n];
    Lanes total = {};
    for (index_t i = begin; i < end; ++i) {
        const double* yi = y.row(i);
        const index_t row_end = p.offsets[i + 1];
        for (index_t e = p.offsets[i]; e < row_end; e += kLanes) {
            prefetch_rows<Dim>(y.data, columns, e + attraction_prefetch, nnz);
            Lanes pij = {}, dist2 = {};
            for (int l = 0; l < kLanes; ++l) {
                const bool real = e + l < row_end;
                const double v = real ? static_cast<double>(values[e + l]) : 0.0;
                const double* yj = real ? y.data + std::size_t{columns[e + l]} * Dim : yi;
                double d2 = 0.0;
                for (int d = 0; d < Dim; ++d) d2 += (yi[d] - yj[d]) * (yi[d] - yj[d]);
                pij[l] = v > 0 ? v : 0.0;
                dist2[l] = d2;
            }
            Lanes x;
            if constexpr (Scaled) {
                x = pij * z;
            } else {
                x = pij * z * (1.0 + dist2);
            }
            for (int l = 0; l < kLanes; ++l)
                if (pij[l] == 0) x[l] = 1.0;
            Lanes log_x = detail::log_normal_lanes(x);
            for (int l = 0; l < kLanes; ++l)
                if (!(x[l] >= std::numeric_limits<double>::min() && x[l] <= std::numeric_limits<double>::max()))
                    log_x[l] = std::log(x[l]);
            if constexpr (Scaled) {
                for (int l = 0; l < kLanes; ++l) log_x[l] += alpha * std::log1p(dist2[l] / alpha);
            }
            total += pij * log_x;
        }
    }
    return lane_sum(total);
}

}  // namespace

double gradient_workspace_bytes(double n, double dims) {
    return n * dims * 8;
}

std::vector<double> sparse_kl_blocks(const SparseMatrix& p, ConstMatrixView y, double z, int threads, double dof,
                                     index_t first_block, index_t last_block) {
    require(p.n == y.rows, "sparse_kl: P has ", p.n, " rows but the embedding has ", y.rows);
    require(y.cols >= 1 && y.cols <= 3, "sparse_kl: the embedding must have 1, 2 or 3 columns; got ", y.cols);
    require_dof(dof, "sparse_kl");
    assert(csr_defect(p).empty());  // an invariant of the Affinities type
    // KL = sum p_ij log(p_ij / q_ij), q_ij = w_ij / Z, w_ij = (1 + |y_i - y_j|^2/alpha)^-alpha.
    if (dof != 1.0)
        return parallel_block_sums(p.n, threads, first_block, last_block, [&](index_t begin, index_t end) {
            switch (y.cols) {
                case 1:
                    return sparse_kl_rows<1, true>(p, y, z, begin, end, dof);
                case 2:
                    return sparse_kl_rows<2, true>(p, y, z, begin, end, dof);
                default:
                    return sparse_kl_rows<3, true>(p, y, z, begin, end, dof);
            }
        });
    return parallel_block_sums(p.n, threads, first_block, last_block, [&](index_t begin, index_t end) {
        switch (y.cols) {
            case 1:
                return sparse_kl_rows<1>(p, y, z, begin, end);
            case 2:
                return sparse_kl_rows<2>(p, y, z, begin, end);
            default:
                return sparse_kl_rows<3>(p, y, z, begin, end);
        }
    });
}

double sparse_kl(const SparseMatrix& p, ConstMatrixView y, double z, int threads, double dof) {
    double total = 0.0;  // parallel_sum's order: 0.0, then the blocks in order
    for (const double v : sparse_kl_blocks(p, y, z, threads, dof, 0, (p.n + parallel_sum_block - 1) / parallel_sum_block))
        total += v;
    return total;
}

namespace {

// barnes_hut_gradient on 2 to tree_beside_max_threads threads: the tree on one thread, the attraction
// (which does not need it) on the others into the workspace, then the walk on all, then one light pass
// combines them. Returns Z.
template <int Dim, class Attraction, class Combine>
double gradient_tree_beside(ConstMatrixView y, SpaceTree<Dim>& tree, double theta, MatrixView grad, int threads,
                            GradientSeconds* seconds, GradientWorkspace* work, Stopwatch& clock,
                            const Attraction& attraction, const Combine& combine) {
    const index_t n = y.rows;
    GradientWorkspace local;
    Matrix& forces = (work ? *work : local).attraction;
    if (forces.rows() != n || forces.cols() != Dim) forces = Matrix(n, Dim);
    double build_seconds = 0;
    parallel_beside(
        [&] {
            Stopwatch build;
            tree.build(y, 1);
            build_seconds = build.lap();
        },
        n, threads,
        [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) attraction(i, forces.data() + i * Dim);
        },
        64);
    const double both = clock.lap();
    if (seconds) {
        seconds->tree += build_seconds;
        seconds->attraction += both - build_seconds;
    }
    const double z = tree.repulsion(theta, grad, threads);
    if (seconds) seconds->repulsion += clock.lap();
    const double inv_z = 1.0 / z;
    parallel_for_fixed(n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) combine(grad.row(i), forces.data() + i * Dim, inv_z);
    });
    if (seconds) seconds->attraction += clock.lap();
    return z;
}

// barnes_hut_gradient otherwise: the tree, then the walk, each on all threads; grad holds the repulsive
// part first, then is combined in place with each row's attraction. Returns Z.
template <int Dim, class Attraction, class Combine>
double gradient_in_turn(ConstMatrixView y, SpaceTree<Dim>& tree, double theta, MatrixView grad, int threads,
                        GradientSeconds* seconds, Stopwatch& clock, const Attraction& attraction,
                        const Combine& combine) {
    tree.build(y, threads);
    if (seconds) seconds->tree += clock.lap();
    const double z = tree.repulsion(theta, grad, threads);
    if (seconds) seconds->repulsion += clock.lap();
    const double inv_z = 1.0 / z;
    parallel_for_guided(
        y.rows, threads,
        [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) {
                double f[Dim];
                attraction(i, f);
                combine(grad.row(i), f, inv_z);
            }
        },
        64);
    if (seconds) seconds->attraction += clock.lap();
    return z;
}

}  // namespace

template <int Dim>
double barnes_hut_gradient(const SparseMatrix& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                           double exaggeration, MatrixView grad, int threads, double* kl,
                           GradientSeconds* seconds, GradientWorkspace* work) {
    require(p.n == y.rows && grad.rows == y.rows && grad.cols == Dim && y.cols == Dim, "barnes_hut_gradient<",
            Dim, ">: P is ", p.n, " x ", p.n, ", the embedding ", y.rows, " x ", y.cols, " and the gradient ",
            grad.rows, " x ", grad.cols);
    assert(csr_defect(p).empty());  // an invariant of the Affinities type
    const double dof = tree.dof();
    const double inv_alpha = 1.0 / dof;
    // Row i's attractive force into f; the kernel's scaling as a compile-time flag (dof 1 needs none).
    const auto attraction = [&](index_t i, double* f) {
        if (dof == 1.0) {
            attractive_row<Dim, false>(p, y, i, f, inv_alpha);
        } else {
            attractive_row<Dim, true>(p, y, i, f, inv_alpha);
        }
    };
    const auto combine = [&](double* g, const double* f, double inv_z) {
        for (int d = 0; d < Dim; ++d) g[d] = 4.0 * (exaggeration * f[d] - g[d] * inv_z);
    };
    Stopwatch clock;
    const int workers = resolve_threads(threads);
    const double z = workers >= 2 && workers <= tree_beside_max_threads
                         ? gradient_tree_beside(y, tree, theta, grad, threads, seconds, work, clock, attraction, combine)
                         : gradient_in_turn(y, tree, theta, grad, threads, seconds, clock, attraction, combine);
    if (kl) {
        *kl = sparse_kl(p, y, z, threads, dof);
        if (seconds) seconds->kl += clock.lap();
    }
    return z;
}

namespace {

// The repulsion of a distributed gradient: this rank's share of the tree's leaves (contiguous in tree
// order, so no leaf is walked twice), then every share gathered: Z_s and the force of each tree position
// s. Writes every point's repulsive force into its row of grad; returns Z.
// Each rank's walking speed this iteration (its points over its seconds), gathered, folded into the
// running speeds: the next walk's shares are sized to them, so that the ranks finish together (one
// rank's share of a dense region, another rank on a busier core). Halfway to the new speed each time:
// steady against one noisy iteration.
void balance_shares(double points, double seconds, Collective& collective, std::vector<double>& speed) {
    const std::vector<double> now =
        gather_each(collective, points > 0 ? points / std::max(seconds, 1e-7) : 0.0);
    double fastest = 0;
    for (const double s : now) fastest = std::max(fastest, s);
    if (!(fastest > 0)) return;
    const bool first = speed.size() != now.size();
    speed.resize(now.size());
    for (std::size_t r = 0; r < now.size(); ++r) {
        const double s = now[r] > 0 ? now[r] : fastest;  // a rank with an empty share: as fast as any
        speed[r] = first ? s : 0.5 * (speed[r] + s);
    }
}

template <int Dim>
double shared_repulsion(SpaceTree<Dim>& tree, double theta, MatrixView grad, int threads, Collective& collective,
                        GradientWorkspace* work, double* exchange_seconds) {
    const index_t n = grad.rows;
    constexpr std::size_t width = Dim + 1;
    // Kept from call to call: a fresh buffer each iteration costs its page faults again (milliseconds
    // on a virtual machine at 10^5 points, as much as half the walk).
    GradientWorkspace local;
    GradientWorkspace& w = work ? *work : local;
    std::vector<double>& packed = w.shared;
    packed.resize(static_cast<std::size_t>(n) * width);
    const std::vector<index_t> bounds =
        w.walk_speed.empty() ? tree.share_bounds(collective.size()) : tree.share_bounds(w.walk_speed);
    const auto rank = static_cast<std::size_t>(collective.rank());
    Stopwatch walk;
    tree.repulsion_share(theta, bounds, collective.rank(), grad, packed.data() + static_cast<std::size_t>(bounds[rank]) * width,
                         threads);
    balance_shares(static_cast<double>(bounds[rank + 1] - bounds[rank]), walk.lap(), collective, w.walk_speed);
    std::vector<std::size_t> share_bytes(bounds.size());
    for (std::size_t r = 0; r < bounds.size(); ++r)
        share_bytes[r] = static_cast<std::size_t>(bounds[r]) * width * sizeof(double);
    Stopwatch gather;
    collective.allgather(packed.data(), share_bytes);
    *exchange_seconds += gather.lap();
    // Z over tree positions in parallel_sum's blocks: the sum repulsion() returns, bit for bit.
    const double z = parallel_sum(n, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        for (index_t s = begin; s < end; ++s) total += packed[static_cast<std::size_t>(s) * width];
        return total;
    });
    const std::vector<point_t>& order = tree.order();
    for (index_t s = 0; s < n; ++s) {  // the repulsion of every point into its row
        double* g = grad.row(order[static_cast<std::size_t>(s)]);
        for (int d = 0; d < Dim; ++d) g[d] = packed[static_cast<std::size_t>(s) * width + 1 + d];
    }
    return z;
}

}  // namespace

template <int Dim>
double barnes_hut_gradient_shared(const SparseMatrix& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                                  double exaggeration, MatrixView grad, int threads, Collective& collective,
                                  const RowPartition& rows, double* kl, GradientSeconds* seconds,
                                  GradientWorkspace* work) {
    require(p.n == y.rows && grad.rows == y.rows && grad.cols == Dim && y.cols == Dim &&
                rows.ranks() == collective.size() && rows.first.back() == y.rows,
            "barnes_hut_gradient_shared<", Dim, ">: P is ", p.n, " x ", p.n, ", the embedding ", y.rows, " x ",
            y.cols, ", the gradient ", grad.rows, " x ", grad.cols, ", the partition ", rows.ranks(), " ranks");
    const double dof = tree.dof();
    const double inv_alpha = 1.0 / dof;
    const index_t first = rows.begin(collective.rank()), last = rows.end(collective.rank());
    Stopwatch clock;
    tree.build(y, threads);
    if (seconds) seconds->tree += clock.lap();
    double exchange = 0;
    const double z = shared_repulsion(tree, theta, grad, threads, collective, work, &exchange);
    if (seconds) seconds->repulsion += clock.lap();
    const double inv_z = 1.0 / z;
    parallel_for_guided(
        last - first, threads,
        [&](index_t begin, index_t end) {
            for (index_t i = first + begin; i < first + end; ++i) {
                double f[Dim];
                if (dof == 1.0) {
                    attractive_row<Dim, false>(p, y, i, f, inv_alpha);
                } else {
                    attractive_row<Dim, true>(p, y, i, f, inv_alpha);
                }
                double* g = grad.row(i);
                for (int d = 0; d < Dim; ++d) g[d] = 4.0 * (exaggeration * f[d] - g[d] * inv_z);
            }
        },
        64);
    Stopwatch gather;
    collective.allgather(grad.data, rows.byte_offsets(Dim * sizeof(double)));
    exchange += gather.lap();
    if (seconds) {
        seconds->attraction += clock.lap();
        seconds->exchange += exchange;
    }
    if (kl) {
        // Blocks of parallel_sum_block rows never straddle ranks (RowPartition's unit is a multiple).
        const index_t b0 = first / parallel_sum_block;
        const index_t b1 = last > first ? (last + parallel_sum_block - 1) / parallel_sum_block : b0;
        *kl = fold_in_rank_order(collective, sparse_kl_blocks(p, y, z, threads, dof, b0, b1));
        if (seconds) seconds->kl += clock.lap();
    }
    return z;
}

template double barnes_hut_gradient<1>(const SparseMatrix&, ConstMatrixView, SpaceTree<1>&, double, double,
                                       MatrixView, int, double*, GradientSeconds*, GradientWorkspace*);
template double barnes_hut_gradient<2>(const SparseMatrix&, ConstMatrixView, SpaceTree<2>&, double, double,
                                       MatrixView, int, double*, GradientSeconds*, GradientWorkspace*);
template double barnes_hut_gradient<3>(const SparseMatrix&, ConstMatrixView, SpaceTree<3>&, double, double,
                                       MatrixView, int, double*, GradientSeconds*, GradientWorkspace*);

template double barnes_hut_gradient_shared<1>(const SparseMatrix&, ConstMatrixView, SpaceTree<1>&, double, double,
                                              MatrixView, int, Collective&, const RowPartition&, double*,
                                              GradientSeconds*, GradientWorkspace*);
template double barnes_hut_gradient_shared<2>(const SparseMatrix&, ConstMatrixView, SpaceTree<2>&, double, double,
                                              MatrixView, int, Collective&, const RowPartition&, double*,
                                              GradientSeconds*, GradientWorkspace*);
template double barnes_hut_gradient_shared<3>(const SparseMatrix&, ConstMatrixView, SpaceTree<3>&, double, double,
                                              MatrixView, int, Collective&, const RowPartition&, double*,
                                              GradientSeconds*, GradientWorkspace*);

}  // namespace treesne
