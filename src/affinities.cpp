// Input affinities (van der Maaten & Hinton 2008, sec. 2; van der Maaten 2014, sec. 4.1).
#include "treesne/affinities.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <limits>
#include <string>

#include "treesne/errors.hpp"
#include "treesne/memory.hpp"
#include "treesne/parallel.hpp"

namespace treesne {
namespace {

// Calibrates one row: finds beta with H(P_i) = log(perplexity), where p_j ∝ exp(-beta d_j).
// The search runs on unit-free distances s_j = (d_j - d_min) / (d_max - d_min) in [0, 1]: the shift
// cancels in the normalisation and gives the nearest neighbour weight 1 (no underflow of exp()), and the
// division makes the search the same for any units of the input (scaling X by 2^e gives the same P bit for
// bit) and keeps its moments, sums of w s and w s^2, far from overflow. The precision in the input's
// units is beta / (d_max - d_min).
// H(beta) = log sum_j e^{-beta s_j} + beta E[s] is decreasing with dH/dbeta = -beta Var[s], so a Newton
// step is taken whenever it stays inside the current bracket, and a bisection step (or doubling while no
// upper bound is known) otherwise: a few steps instead of bhtsne's ~50 bisections.
double calibrate_row(const double* dist, index_t k, double target_entropy, const AffinityOptions& options,
                     double* p) {
    double d_min = std::numeric_limits<double>::infinity(), d_max = 0.0;
    for (index_t j = 0; j < k; ++j) {
        d_min = std::min(d_min, dist[j]);
        d_max = std::max(d_max, dist[j]);
    }
    const double range = d_max - d_min;
    // All k distances equal: the row is uniform for every beta (entropy log k), nothing to search.
    if (!(range > 0)) {
        for (index_t j = 0; j < k; ++j) p[j] = 1.0 / static_cast<double>(k);
        return 0.0;
    }
    // A division, not a product with 1 / range: that reciprocal overflows for a subnormal range.
    auto unit = [&](index_t j) { return (dist[j] - d_min) / range; };
    double s_mean = 0.0;
    for (index_t j = 0; j < k; ++j) s_mean += unit(j);
    s_mean /= static_cast<double>(k);
    // Start where beta * E[s] ~ 1 (E[s] > 0: at least the farthest neighbour has s = 1).
    double beta = 1.0 / s_mean;
    double lo = 0.0;
    double hi = std::numeric_limits<double>::infinity();
    double best_beta = beta;
    double best_gap = std::numeric_limits<double>::infinity();

    for (int step = 0; step < options.max_steps; ++step) {
        double sum = 0.0, m1 = 0.0, m2 = 0.0;
        for (index_t j = 0; j < k; ++j) {
            const double s = unit(j);
            const double w = std::exp(-beta * s);
            sum += w;
            m1 += w * s;
            m2 += w * s * s;
        }
        const double mean = m1 / sum;
        const double entropy = std::log(sum) + beta * mean;
        const double gap = entropy - target_entropy;
        if (std::abs(gap) < best_gap) {
            best_gap = std::abs(gap);
            best_beta = beta;
        }
        if (std::abs(gap) < options.entropy_tolerance) break;
        if (gap > 0)
            lo = beta;  // too flat: sharpen
        else
            hi = beta;
        const double slope = -beta * (m2 / sum - mean * mean);
        double next = slope < 0 ? beta - gap / slope : std::numeric_limits<double>::quiet_NaN();
        if (!(next > lo && next < hi)) next = std::isinf(hi) ? 2.0 * beta : 0.5 * (lo + hi);
        if (!(next > 0) || !std::isfinite(next) || next == beta) break;
        beta = next;
    }
    double sum = 0.0;
    for (index_t j = 0; j < k; ++j) {
        p[j] = std::exp(-best_beta * unit(j));
        sum += p[j];
    }
    for (index_t j = 0; j < k; ++j) p[j] /= sum;
    return best_beta / range;
}

}  // namespace

std::vector<double> conditional_probabilities(const NeighborGraph& graph, const AffinityOptions& options,
                                              int threads, std::vector<double>* betas) {
    require(graph.k >= 1 && graph.n >= 2, "affinities need a neighbour graph with k >= 1; got n = ", graph.n,
            ", k = ", graph.k);
    require(options.perplexity > 0, "perplexity must be positive; got ", options.perplexity);
    const index_t n = graph.n;
    const index_t k = graph.k;
    std::vector<double> p(static_cast<std::size_t>(n * k));
    if (betas) betas->assign(static_cast<std::size_t>(n), 0.0);
    const double target = std::log(options.perplexity);
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            const double beta = calibrate_row(graph.row_distances(i), k, target, options, p.data() + i * k);
            if (betas) (*betas)[static_cast<std::size_t>(i)] = beta;
        }
    });
    return p;
}

Affinities symmetrize(const NeighborGraph& graph, const std::vector<double>& conditional, int threads) {
    const index_t n = graph.n;
    const index_t k = graph.k;
    require(static_cast<index_t>(conditional.size()) == n * k, "symmetrize: ", conditional.size(),
            " conditional values for a graph of ", n * k, " entries");
    // Reverse graph: for each j, the rows i that list j. Counting sort keeps it O(N k) and deterministic.
    std::vector<index_t> rev_offsets(static_cast<std::size_t>(n + 1), 0);
    for (index_t e = 0; e < n * k; ++e) ++rev_offsets[graph.indices[static_cast<std::size_t>(e)] + 1];
    for (index_t j = 0; j < n; ++j) rev_offsets[j + 1] += rev_offsets[j];
    std::vector<point_t> rev_rows(static_cast<std::size_t>(n * k));
    std::vector<double> rev_values(static_cast<std::size_t>(n * k));
    {
        std::vector<index_t> fill(rev_offsets.begin(), rev_offsets.end() - 1);
        for (index_t i = 0; i < n; ++i) {  // rows in increasing i: each reverse row ends up sorted by i
            for (index_t s = 0; s < k; ++s) {
                const point_t j = graph.indices[static_cast<std::size_t>(i * k + s)];
                const index_t at = fill[j]++;
                rev_rows[static_cast<std::size_t>(at)] = static_cast<point_t>(i);
                rev_values[static_cast<std::size_t>(at)] = conditional[static_cast<std::size_t>(i * k + s)];
            }
        }
    }
    // Row i of P is the union of i's forward row (sorted by column below) and its reverse row.
    // First pass: sizes; second pass: merge. Both parallel over rows, writing disjoint ranges.
    const double scale = 1.0 / (2.0 * static_cast<double>(n));
    Affinities out;
    out.n = n;
    out.offsets.assign(static_cast<std::size_t>(n + 1), 0);
    auto sorted_forward = [&](index_t i, std::vector<std::pair<point_t, double>>& buf) {
        buf.clear();
        for (index_t s = 0; s < k; ++s)
            buf.emplace_back(graph.indices[static_cast<std::size_t>(i * k + s)],
                             conditional[static_cast<std::size_t>(i * k + s)]);
        std::sort(buf.begin(), buf.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    };
    auto merge_row = [&](index_t i, std::vector<std::pair<point_t, double>>& buf, point_t* cols,
                         double* vals) -> index_t {
        sorted_forward(i, buf);
        index_t a = 0, count = 0;
        index_t b = rev_offsets[i];
        const index_t a_end = static_cast<index_t>(buf.size()), b_end = rev_offsets[i + 1];
        while (a < a_end || b < b_end) {
            point_t col;
            double v = 0.0;
            if (b >= b_end || (a < a_end && buf[a].first < rev_rows[b])) {
                col = buf[a].first;
                v = buf[a++].second;
            } else if (a >= a_end || rev_rows[b] < buf[a].first) {
                col = rev_rows[b];
                v = rev_values[b++];
            } else {
                col = buf[a].first;
                v = buf[a++].second + rev_values[b++];
            }
            if (cols) {
                cols[count] = col;
                vals[count] = v * scale;
            }
            ++count;
        }
        return count;
    };
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        std::vector<std::pair<point_t, double>> buf;
        for (index_t i = begin; i < end; ++i) out.offsets[i + 1] = merge_row(i, buf, nullptr, nullptr);
    });
    for (index_t i = 0; i < n; ++i) out.offsets[i + 1] += out.offsets[i];
    out.columns.resize(static_cast<std::size_t>(out.offsets[n]));
    out.values.resize(static_cast<std::size_t>(out.offsets[n]));
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        std::vector<std::pair<point_t, double>> buf;
        for (index_t i = begin; i < end; ++i)
            merge_row(i, buf, out.columns.data() + out.offsets[i], out.values.data() + out.offsets[i]);
    });
    assert(affinities_defect(out, threads).empty());
    return out;
}

namespace {

// The local defect of row i of a structurally sound CSR matrix (range, diagonal, order, value), or "".
std::string row_local_defect(const Affinities& p, index_t i) {
    for (index_t t = p.offsets[i]; t < p.offsets[i + 1]; ++t) {
        const auto e = static_cast<std::size_t>(t);
        const point_t j = p.columns[e];
        const double v = p.values[e];
        if (static_cast<index_t>(j) >= p.n)
            return concat("row ", i, " has column ", j, ", outside 0..", p.n - 1);
        if (static_cast<index_t>(j) == i) return concat("row ", i, " has an entry on the diagonal");
        if (t > p.offsets[i] && j <= p.columns[e - 1])
            return concat("the columns of row ", i, " are not strictly increasing (", p.columns[e - 1],
                          " then ", j, ")");
        if (!std::isfinite(v) || v < 0)
            return concat("p(", i, ", ", j, ") = ", v, " is not a finite non-negative number");
    }
    return {};
}

// Whether p(j, i) mirrors every p(i, j) of row i (rows already locally sound), else the defect.
std::string row_symmetry_defect(const Affinities& p, index_t i) {
    for (index_t t = p.offsets[i]; t < p.offsets[i + 1]; ++t) {
        const point_t j = p.columns[static_cast<std::size_t>(t)];
        const double v = p.values[static_cast<std::size_t>(t)];
        const point_t* first = p.columns.data() + p.offsets[j];
        const point_t* last = p.columns.data() + p.offsets[j + 1];
        const point_t* it = std::lower_bound(first, last, static_cast<point_t>(i));
        if (it == last || *it != static_cast<point_t>(i))
            return concat("P is not symmetric: p(", i, ", ", j, ") = ", v, " but p(", j, ", ", i,
                          ") is absent");
        const double w = p.values[static_cast<std::size_t>(it - p.columns.data())];
        if (std::abs(v - w) > 1e-9 * std::max(v, w))
            return concat("P is not symmetric: p(", i, ", ", j, ") = ", v, " but p(", j, ", ", i, ") = ", w);
    }
    return {};
}

// The defect of the lowest-numbered row that has one (the same whatever the thread count), or "".
template <class RowDefect>
std::string first_row_defect(const Affinities& p, int threads, RowDefect defect) {
    std::atomic<index_t> first{p.n};
    parallel_for(p.n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end && i < first.load(std::memory_order_relaxed); ++i)
            if (!defect(p, i).empty()) {
                index_t seen = first.load();
                while (i < seen && !first.compare_exchange_weak(seen, i)) {
                }
                return;
            }
    });
    return first.load() < p.n ? defect(p, first.load()) : std::string();
}

}  // namespace

std::string csr_defect(const SparseMatrix& p) {
    if (p.n == 0 && p.offsets.empty() && p.values.empty() && p.columns.empty()) return {};
    if (p.n < 0) return concat("n = ", p.n, " is negative");
    if (static_cast<index_t>(p.offsets.size()) != p.n + 1)
        return concat("n = ", p.n, " needs ", p.n + 1, " row offsets; got ", p.offsets.size());
    if (p.columns.size() != p.values.size())
        return concat(p.columns.size(), " column indices but ", p.values.size(), " values");
    if (p.offsets.front() != 0 || p.offsets.back() != p.nnz())
        return concat("row offsets must run from 0 to nnz = ", p.nnz(), "; got ", p.offsets.front(), " to ",
                      p.offsets.back());
    for (index_t i = 0; i < p.n; ++i)
        if (p.offsets[i + 1] < p.offsets[i])
            return concat("row offsets decrease at row ", i, " (", p.offsets[i], " then ", p.offsets[i + 1],
                          ")");
    return {};
}

std::string affinities_defect(const Affinities& p, int threads) {
    if (p.n < 2) return concat("need at least 2 points; got n = ", p.n);
    if (p.n > static_cast<index_t>(std::numeric_limits<point_t>::max()))
        return concat("at most ", std::numeric_limits<point_t>::max(), " points are supported; got ", p.n);
    std::string defect = csr_defect(p);
    if (defect.empty()) defect = first_row_defect(p, threads, row_local_defect);
    if (defect.empty()) defect = first_row_defect(p, threads, row_symmetry_defect);
    if (!defect.empty()) return defect;
    const double sum = parallel_sum(p.nnz(), threads, [&](index_t begin, index_t end) {
        double s = 0.0;
        for (index_t t = begin; t < end; ++t) s += p.values[static_cast<std::size_t>(t)];
        return s;
    });
    if (!(std::abs(sum - 1.0) <= 1e-6)) return concat("P must sum to 1; its entries sum to ", sum);
    return {};
}

void validate_affinities(const Affinities& p, int threads) {
    const std::string defect = affinities_defect(p, threads);
    if (!defect.empty()) throw InvalidArgument("affinities: " + defect);
}

Affinities compute_affinities(const NeighborGraph& graph, const AffinityOptions& options, int threads) {
    return symmetrize(graph, conditional_probabilities(graph, options, threads), threads);
}

void require_dense_fits(index_t n, int count, const char* what) {
    const double bytes = static_cast<double>(n) * static_cast<double>(n) * 8.0 * count;
    // What the machine (or the container's memory cgroup) has left; where unknown, assume it fits.
    const double available = available_memory().value_or(std::numeric_limits<double>::infinity());
    if (bytes > 0.8 * available || bytes > 1.8e19) {
        throw NumericalError(concat(what, " needs ", count, " dense ", n, " x ", n, " matrices (",
                                    bytes / 1073741824.0, " GiB) but only ", available / 1073741824.0,
                                    " GiB of memory is available; use method barnes_hut"));
    }
}

Matrix dense_conditional_probabilities(ConstMatrixView x, const AffinityOptions& options, int threads) {
    const index_t n = x.rows;
    require(n >= 2, "exact affinities need at least 2 points; got ", n);
    require_dense_fits(n, 3, "the exact method");
    Matrix p(n, n);
    const double target = std::log(options.perplexity);
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        std::vector<double> dist(static_cast<std::size_t>(n - 1));
        std::vector<double> row(static_cast<std::size_t>(n - 1));
        for (index_t i = begin; i < end; ++i) {
            index_t c = 0;
            for (index_t j = 0; j < n; ++j)
                if (j != i)
                    dist[static_cast<std::size_t>(c++)] = squared_distance(x.row(i), x.row(j), x.cols);
            calibrate_row(dist.data(), n - 1, target, options, row.data());
            c = 0;
            for (index_t j = 0; j < n; ++j) p(i, j) = j == i ? 0.0 : row[static_cast<std::size_t>(c++)];
        }
    });
    return p;
}

Matrix dense_joint_probabilities(const Matrix& conditional, int threads) {
    const index_t n = conditional.rows();
    Matrix p(n, n);
    const double scale = 1.0 / (2.0 * static_cast<double>(n));
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i)
            for (index_t j = 0; j < n; ++j) p(i, j) = (conditional(i, j) + conditional(j, i)) * scale;
    });
    return p;
}

}  // namespace treesne
