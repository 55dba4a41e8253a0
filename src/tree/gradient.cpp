// Barnes-Hut t-SNE gradient (van der Maaten 2014, eqs. 11-14).
#include "treesne/tree/gradient.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>

#include "tree/simd.hpp"
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

template <int Dim>
void attractive_forces_dim(const PackedAffinities& p, ConstMatrixView y, MatrixView out, int threads, double dof) {
    assert(out.cols == Dim);
    parallel_for(
        p.n, threads,
        [&](index_t begin, index_t end) { detail::attraction_rows<Dim>(p, y, dof, begin, end, out.row(begin)); },
        512);
}

void require_dof(double dof, const char* what) {
    require(std::isfinite(dof) && dof > 0, what, ": dof must be finite and > 0; got ", dof);
}

}  // namespace

void attractive_forces(const PackedAffinities& p, ConstMatrixView y, MatrixView out, int threads, double dof) {
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

double gradient_workspace_bytes(double n, double dims) {
    return n * dims * 8;
}

std::vector<double> sparse_kl_blocks(const PackedAffinities& p, ConstMatrixView y, double z, int threads, double dof,
                                     index_t first_block, index_t last_block) {
    require(p.n == y.rows, "sparse_kl: P has ", p.n, " rows but the embedding has ", y.rows);
    require(y.cols >= 1 && y.cols <= 3, "sparse_kl: the embedding must have 1, 2 or 3 columns; got ", y.cols);
    require_dof(dof, "sparse_kl");
    // KL = sum p_ij log(p_ij / q_ij), q_ij = w_ij / Z, w_ij = (1 + |y_i - y_j|^2/alpha)^-alpha.
    return parallel_block_sums(p.n, threads, first_block, last_block, [&](index_t begin, index_t end) {
        switch (y.cols) {
            case 1:
                return detail::kl_rows<1>(p, y, z, dof, begin, end);
            case 2:
                return detail::kl_rows<2>(p, y, z, dof, begin, end);
            default:
                return detail::kl_rows<3>(p, y, z, dof, begin, end);
        }
    });
}

double sparse_kl(const PackedAffinities& p, ConstMatrixView y, double z, int threads, double dof) {
    double total = 0.0;  // parallel_sum's order: 0.0, then the blocks in order
    for (const double v : sparse_kl_blocks(p, y, z, threads, dof, 0, (p.n + parallel_sum_block - 1) / parallel_sum_block))
        total += v;
    return total;
}

namespace {

// The gradient is written (and the tree sorts through its buffer) while y is read: they must not overlap.
void require_apart(ConstMatrixView y, MatrixView grad, const char* who) {
    require(!overlap(y, grad), who, ": the gradient buffer overlaps the embedding");
}

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
            tree.build(y, 1, grad);  // the gradient's buffer is idle until the walk
            build_seconds = build.lap();
        },
        n, threads,
        [&](index_t begin, index_t end) {
            attraction(begin, end, forces.data() + begin * Dim);
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
    tree.build(y, threads, grad);  // the gradient's buffer is idle until the walk
    if (seconds) seconds->tree += clock.lap();
    const double z = tree.repulsion(theta, grad, threads);
    if (seconds) seconds->repulsion += clock.lap();
    const double inv_z = 1.0 / z;
    parallel_for_guided(
        y.rows, threads,
        [&](index_t begin, index_t end) {
            constexpr index_t rows = 64;  // the attraction a block of rows at a time
            double f[rows * Dim];
            for (index_t at = begin; at < end; at += rows) {
                const index_t stop = std::min(end, at + rows);
                attraction(at, stop, f);
                for (index_t i = at; i < stop; ++i) combine(grad.row(i), f + (i - at) * Dim, inv_z);
            }
        },
        64);
    if (seconds) seconds->attraction += clock.lap();
    return z;
}

}  // namespace

template <int Dim>
double barnes_hut_gradient(const PackedAffinities& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                           double exaggeration, MatrixView grad, int threads, double* kl,
                           GradientSeconds* seconds, GradientWorkspace* work) {
    require(p.n == y.rows && grad.rows == y.rows && grad.cols == Dim && y.cols == Dim, "barnes_hut_gradient<",
            Dim, ">: P is ", p.n, " x ", p.n, ", the embedding ", y.rows, " x ", y.cols, " and the gradient ",
            grad.rows, " x ", grad.cols);
    require_apart(y, grad, "barnes_hut_gradient");
    const double dof = tree.dof();
    // Rows [begin, end) of the attraction, row i's at out + (i - begin) Dim.
    const auto attraction = [&](index_t begin, index_t end, double* out) {
        detail::attraction_rows<Dim>(p, y, dof, begin, end, out);
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

// A distributed gradient in one gather. Each rank computes the attraction of its rows of P and walks a
// contiguous share of the tree's leaves (in tree order, so no leaf is walked twice), and sends one
// segment: its share's Z_s and force by tree position, its rows' attractive forces, and the seconds both
// took. Every rank then adds Z over tree positions (as repulsion() does, bit for bit) and combines every
// row's gradient, as barnes_hut_gradient does. The shares of the next walk are sized from the seconds
// (the same on every rank: they are gathered), so that the ranks finish together, whatever each rank's
// attraction costs (P's rows are not split by their entries) and however fast its core is.
template <int Dim>
class SharedGradient {
  public:
    static constexpr std::size_t width = Dim + 1;  // Z_s and the force, per tree position
    static constexpr std::size_t timing = 2;       // attraction and walk seconds, per segment

    SharedGradient(const SpaceTree<Dim>& tree, const RowPartition& rows, GradientWorkspace& work)
        : rows_(rows), work_(work) {
        const int ranks = rows.ranks();
        bounds_ = work.walk_speed.empty() ? tree.share_bounds(ranks) : tree.share_bounds(targets());
        at_.assign(static_cast<std::size_t>(ranks) + 1, 0);
        for (int r = 0; r < ranks; ++r)
            at_[static_cast<std::size_t>(r) + 1] = at_[static_cast<std::size_t>(r)] + share(r) * width +
                                                    static_cast<std::size_t>(rows.end(r) - rows.begin(r)) * Dim + timing;
        work.shared.resize(at_.back());
    }
    const std::vector<index_t>& bounds() const { return bounds_; }
    // Rank r's segment: its share, then its rows' attraction, then its seconds.
    double* share_of(int r) { return work_.shared.data() + at_[static_cast<std::size_t>(r)]; }
    double* attraction_of(int r) { return share_of(r) + share(r) * width; }
    double* seconds_of(int r) { return attraction_of(r) + static_cast<std::size_t>(rows_.end(r) - rows_.begin(r)) * Dim; }

    void gather(Collective& collective) {
        std::vector<std::size_t> bytes(at_.size());
        for (std::size_t r = 0; r < at_.size(); ++r) bytes[r] = at_[r] * sizeof(double);
        collective.allgather(work_.shared.data(), bytes);
        learn();
    }
    // Tree position s's Z_s, followed by its force; r: the rank whose share holds it, or one before
    // (positions visited in increasing order advance it).
    const double* position(index_t s, int& r) const {
        while (s >= bounds_[static_cast<std::size_t>(r) + 1]) ++r;
        return work_.shared.data() + at_[static_cast<std::size_t>(r)] +
               static_cast<std::size_t>(s - bounds_[static_cast<std::size_t>(r)]) * width;
    }

  private:
    std::size_t share(int r) const {
        return static_cast<std::size_t>(bounds_[static_cast<std::size_t>(r) + 1] - bounds_[static_cast<std::size_t>(r)]);
    }
    // Folds the gathered seconds into the running walk speeds and attraction seconds (halfway each
    // time: steady against one noisy iteration).
    void learn() {
        const int ranks = rows_.ranks();
        const bool first = work_.walk_speed.size() != static_cast<std::size_t>(ranks);
        work_.walk_speed.resize(static_cast<std::size_t>(ranks));
        work_.attraction_seconds.resize(static_cast<std::size_t>(ranks));
        std::vector<double> speed(static_cast<std::size_t>(ranks), 0.0);  // 0: an empty share
        for (int r = 0; r < ranks; ++r)
            if (share(r) > 0) speed[static_cast<std::size_t>(r)] = static_cast<double>(share(r)) / std::max(seconds_of(r)[1], 1e-7);
        const double fastest = *std::max_element(speed.begin(), speed.end());
        for (std::size_t u = 0; u < speed.size(); ++u) {
            const double now = speed[u] > 0 ? speed[u] : fastest;  // a rank with an empty share: as fast as any
            const double attraction = seconds_of(static_cast<int>(u))[0];
            work_.walk_speed[u] = first ? now : 0.5 * (work_.walk_speed[u] + now);
            work_.attraction_seconds[u] = first ? attraction : 0.5 * (work_.attraction_seconds[u] + attraction);
        }
    }
    // Points of the next walk per rank: rank r walks n_r = s_r (C - a_r) so that a_r + n_r / s_r is the
    // same C for all, sum n_r = N; a rank whose attraction alone takes longer still walks a sliver.
    std::vector<double> targets() const {
        const double n = static_cast<double>(rows_.first.back());
        double speeds = 0, weighted = 0;
        for (std::size_t r = 0; r < work_.walk_speed.size(); ++r) {
            speeds += work_.walk_speed[r];
            weighted += work_.walk_speed[r] * work_.attraction_seconds[r];
        }
        const double c = (n + weighted) / speeds;
        std::vector<double> points(work_.walk_speed.size());
        for (std::size_t r = 0; r < points.size(); ++r)
            points[r] = std::max(work_.walk_speed[r] * (c - work_.attraction_seconds[r]), 1e-3 * n / static_cast<double>(points.size()) + 1);
        return points;
    }

    const RowPartition& rows_;
    GradientWorkspace& work_;
    std::vector<index_t> bounds_;
    std::vector<std::size_t> at_;  // segment offsets, in doubles
};

// Rows [first, last) of P's attractive forces, row i's Dim values at out + (i - first) Dim.
template <int Dim>
void attraction_share(const PackedAffinities& p, ConstMatrixView y, double dof, index_t first, index_t last,
                      double* out, int threads) {
    parallel_for_guided(
        last - first, threads,
        [&](index_t begin, index_t end) {
            detail::attraction_rows<Dim>(p, y, dof, first + begin, first + end,
                                         out + static_cast<std::size_t>(begin) * Dim);
        },
        64);
}

// Z (over tree positions in parallel_sum's blocks: the sum repulsion() returns, bit for bit), then every
// row's gradient from its gathered repulsion and attraction.
template <int Dim>
double combine_shared(const SpaceTree<Dim>& tree, SharedGradient<Dim>& shared, const RowPartition& rows,
                      double exaggeration, MatrixView grad, int threads) {
    const index_t n = grad.rows;
    const double z = parallel_sum(n, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        int r = 0;
        for (index_t s = begin; s < end; ++s) total += *shared.position(s, r);
        return total;
    });
    const double inv_z = 1.0 / z;
    const std::vector<point_t>& order = tree.order();
    int r = 0;
    for (index_t s = 0; s < n; ++s) {  // the repulsion of every point into its row
        double* g = grad.row(order[static_cast<std::size_t>(s)]);
        const double* force = shared.position(s, r) + 1;
        for (int d = 0; d < Dim; ++d) g[d] = force[d];
    }
    for (int q = 0; q < rows.ranks(); ++q) {
        const double* f = shared.attraction_of(q);
        for (index_t i = rows.begin(q); i < rows.end(q); ++i, f += Dim) {
            double* g = grad.row(i);
            for (int d = 0; d < Dim; ++d) g[d] = 4.0 * (exaggeration * f[d] - g[d] * inv_z);
        }
    }
    return z;
}

}  // namespace

template <int Dim>
double barnes_hut_gradient_shared(const PackedAffinities& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                                  double exaggeration, MatrixView grad, int threads, Collective& collective,
                                  const RowPartition& rows, double* kl, GradientSeconds* seconds,
                                  GradientWorkspace* work) {
    require(p.n == y.rows && grad.rows == y.rows && grad.cols == Dim && y.cols == Dim &&
                rows.ranks() == collective.size() && rows.first.back() == y.rows,
            "barnes_hut_gradient_shared<", Dim, ">: P is ", p.n, " x ", p.n, ", the embedding ", y.rows, " x ",
            y.cols, ", the gradient ", grad.rows, " x ", grad.cols, ", the partition ", rows.ranks(), " ranks");
    require_apart(y, grad, "barnes_hut_gradient_shared");
    const int rank = collective.rank();
    const index_t first = rows.begin(rank), last = rows.end(rank);
    GradientWorkspace local;
    Stopwatch clock;
    tree.build(y, threads, grad);  // the gradient's buffer is idle until the combination
    if (seconds) seconds->tree += clock.lap();
    SharedGradient<Dim> shared(tree, rows, work ? *work : local);
    double* mine = shared.seconds_of(rank);
    attraction_share<Dim>(p, y, tree.dof(), first, last, shared.attraction_of(rank), threads);
    mine[0] = clock.lap();
    tree.repulsion_share(theta, shared.bounds(), rank, grad, shared.share_of(rank), threads);
    mine[1] = clock.lap();
    shared.gather(collective);
    const double exchange = clock.lap();
    const double z = combine_shared(tree, shared, rows, exaggeration, grad, threads);
    if (seconds) {
        seconds->attraction += mine[0] + clock.lap();
        seconds->repulsion += mine[1] + exchange;
        seconds->exchange += exchange;
    }
    if (kl) {
        // Blocks of parallel_sum_block rows never straddle ranks (RowPartition's unit is a multiple).
        const index_t b0 = first / parallel_sum_block;
        const index_t b1 = last > first ? (last + parallel_sum_block - 1) / parallel_sum_block : b0;
        *kl = fold_in_rank_order(collective, sparse_kl_blocks(p, y, z, threads, tree.dof(), b0, b1));
        if (seconds) seconds->kl += clock.lap();
    }
    return z;
}

template double barnes_hut_gradient<1>(const PackedAffinities&, ConstMatrixView, SpaceTree<1>&, double, double,
                                       MatrixView, int, double*, GradientSeconds*, GradientWorkspace*);
template double barnes_hut_gradient<2>(const PackedAffinities&, ConstMatrixView, SpaceTree<2>&, double, double,
                                       MatrixView, int, double*, GradientSeconds*, GradientWorkspace*);
template double barnes_hut_gradient<3>(const PackedAffinities&, ConstMatrixView, SpaceTree<3>&, double, double,
                                       MatrixView, int, double*, GradientSeconds*, GradientWorkspace*);

template double barnes_hut_gradient_shared<1>(const PackedAffinities&, ConstMatrixView, SpaceTree<1>&, double, double,
                                              MatrixView, int, Collective&, const RowPartition&, double*,
                                              GradientSeconds*, GradientWorkspace*);
template double barnes_hut_gradient_shared<2>(const PackedAffinities&, ConstMatrixView, SpaceTree<2>&, double, double,
                                              MatrixView, int, Collective&, const RowPartition&, double*,
                                              GradientSeconds*, GradientWorkspace*);
template double barnes_hut_gradient_shared<3>(const PackedAffinities&, ConstMatrixView, SpaceTree<3>&, double, double,
                                              MatrixView, int, Collective&, const RowPartition&, double*,
                                              GradientSeconds*, GradientWorkspace*);


// The SparseMatrix forms: P packed once per call (an O(nnz) copy), then the same code, the same bits.
void attractive_forces(const SparseMatrix& p, ConstMatrixView y, MatrixView out, int threads, double dof) {
    attractive_forces(pack(p, threads), y, out, threads, dof);
}

double sparse_kl(const SparseMatrix& p, ConstMatrixView y, double z, int threads, double dof) {
    return sparse_kl(pack(p, threads), y, z, threads, dof);
}

std::vector<double> sparse_kl_blocks(const SparseMatrix& p, ConstMatrixView y, double z, int threads, double dof,
                                     index_t first_block, index_t last_block) {
    return sparse_kl_blocks(pack(p, threads), y, z, threads, dof, first_block, last_block);
}

template <int Dim>
double barnes_hut_gradient(const SparseMatrix& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                           double exaggeration, MatrixView grad, int threads, double* kl,
                           GradientSeconds* seconds, GradientWorkspace* work) {
    return barnes_hut_gradient<Dim>(pack(p, threads), y, tree, theta, exaggeration, grad, threads, kl, seconds,
                                    work);
}

template <int Dim>
double barnes_hut_gradient_shared(const SparseMatrix& p, ConstMatrixView y, SpaceTree<Dim>& tree, double theta,
                                  double exaggeration, MatrixView grad, int threads, Collective& collective,
                                  const RowPartition& rows, double* kl, GradientSeconds* seconds,
                                  GradientWorkspace* work) {
    return barnes_hut_gradient_shared<Dim>(pack(p, threads), y, tree, theta, exaggeration, grad, threads,
                                           collective, rows, kl, seconds, work);
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
