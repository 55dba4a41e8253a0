// Input affinities (van der Maaten & Hinton 2008, sec. 2; van der Maaten 2014, sec. 4.1).
#include "treesne/affinities/affinities.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>

#include "treesne/affinities/packed.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/system_memory.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {
namespace {

// affinities_defect() without the sum: what symmetrize() guarantees whatever its conditionals sum to.
std::string structure_defect(const Affinities& p, int threads);

// A squared distance the affinities can weigh: finite and >= 0 (-0 included).
inline bool usable_distance(double d) {
    return d >= 0 && d <= std::numeric_limits<double>::max();
}

// Lowers `first` to i if i is lower: the lowest index a parallel loop flags, whatever the thread count.
inline void lower_to(std::atomic<index_t>& first, index_t i) {
    index_t seen = first.load();
    while (i < seen && !first.compare_exchange_weak(seen, i)) {
    }
}

// The error for row i (k indices and distances) holding a distance usable_distance() refuses:
// NumericalError for an infinite one (the square of a distance beyond ~1.3e154 overflows),
// InvalidArgument for the others.
struct DistanceDefect {
    std::string message;
    bool numerical = false;

    [[noreturn]] void raise() const {
        if (numerical) throw NumericalError(message);
        throw InvalidArgument(message);
    }
};

DistanceDefect distance_defect(index_t i, const point_t* indices, const double* dist, index_t k) {
    index_t s = 0;
    while (s + 1 < k && usable_distance(dist[s])) ++s;
    const std::string where = concat("affinities: row ", i, "'s squared distance to point ", indices[s], " is ",
                                     dist[s]);
    if (std::isinf(dist[s]) && dist[s] > 0)
        return {where + " (squares of distances beyond ~1.3e154 overflow: scale the input down)", true};
    return {where + "; distances must be finite and >= 0", false};
}

// The smallest and largest of a row's k distances; throws NumericalError on an unusable one.
void distance_range(const double* dist, index_t k, double& d_min, double& d_max) {
    for (index_t j = 0; j < k; ++j) {
        if (!usable_distance(dist[j]))
            throw NumericalError(concat("affinities: a squared distance is ", dist[j],
                                        "; the calibration needs finite distances >= 0"));
        d_min = std::min(d_min, dist[j]);
        d_max = std::max(d_max, dist[j]);
    }
}

// Calibrates one row: finds beta with H(P_i) = log(perplexity), where p_j ∝ exp(-beta d_j).
// The search runs on unit-free distances s_j = (d_j - d_min) / (d_max - d_min) in [0, 1]: the shift
// cancels in the normalisation and gives the nearest neighbour weight 1 (no underflow of exp()), and the
// division makes the search the same for any units of the input (scaling X by 2^e gives the same P bit for
// bit) and keeps its moments, sums of w s and w s^2, far from overflow. The precision in the input's
// units is beta / (d_max - d_min).
// H(beta) = log sum_j e^{-beta s_j} + beta E[s] is decreasing with dH/dbeta = -beta Var[s], so a Newton
// step is taken whenever it stays inside the current bracket, and a bisection step (or doubling while no
// upper bound is known) otherwise: a few steps instead of bhtsne's ~50 bisections.
// Every distance must be finite and >= 0 (conditional_probabilities checks each row first and names it):
// an infinite one (an overflowed square) would make the range infinite and its unit distance inf / inf =
// NaN, and a NaN slips past std::min and std::max into every weight.
double calibrate_row(const double* dist, index_t k, double target_entropy, const AffinityOptions& options,
                     double* p) {
    double d_min = std::numeric_limits<double>::infinity(), d_max = 0.0;
    distance_range(dist, k, d_min, d_max);
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

// The entropies log(perplexity) of the perplexity scales (none for the other kinds), once the kind's
// parameters are checked.
std::vector<double> entropy_targets(const AffinityOptions& options) {
    std::vector<double> targets;
    switch (options.kind) {
        case AffinityKind::perplexity:
            require(options.perplexity > 0, "perplexity must be positive; got ", options.perplexity);
            targets.push_back(std::log(options.perplexity));
            for (double perplexity : options.more_perplexities) {
                require(perplexity > 0, "perplexity must be positive; got ", perplexity);
                targets.push_back(std::log(perplexity));
            }
            break;
        case AffinityKind::sigma:
            require(std::isfinite(options.sigma) && options.sigma > 0, "sigma must be > 0; got ", options.sigma);
            break;
        case AffinityKind::uniform:
            break;
    }
    return targets;
}

// A row calibrated to the first target entropy, or for several (multiscale) the mean of the rows of
// every scale (each sums to 1, so the mean does); returns the first scale's beta. mean: scratch.
double perplexity_row(const double* dist, index_t k, const std::vector<double>& targets,
                      const AffinityOptions& options, std::vector<double>& row, std::vector<double>& mean) {
    const double beta = calibrate_row(dist, k, targets[0], options, row.data());
    if (targets.size() > 1) {
        mean = row;
        for (std::size_t s = 1; s < targets.size(); ++s) {
            calibrate_row(dist, k, targets[s], options, row.data());
            for (index_t j = 0; j < k; ++j) mean[static_cast<std::size_t>(j)] += row[static_cast<std::size_t>(j)];
        }
        const double scales = static_cast<double>(targets.size());
        for (index_t j = 0; j < k; ++j) row[static_cast<std::size_t>(j)] = mean[static_cast<std::size_t>(j)] / scales;
    }
    return beta;
}

// A row of the sigma kernel, exp(-(d - d_min) / 2 sigma^2) normalised: the shift cancels in the
// normalisation and keeps the nearest neighbour's weight at 1, so a narrow sigma does not underflow the
// whole row to 0.
void sigma_row(const double* dist, index_t k, double sigma_beta, std::vector<double>& row) {
    double d_min = std::numeric_limits<double>::infinity();
    for (index_t j = 0; j < k; ++j) d_min = std::min(d_min, dist[j]);
    double sum = 0.0;
    for (index_t j = 0; j < k; ++j) {
        // The nearest (delta = 0) weigh exp(-0) = 1 for every sigma_beta: computed as 0 * inf, it would be
        // NaN where sigma_beta overflowed. Others get exp(-inf) = 0 there.
        const double delta = dist[j] - d_min;
        row[static_cast<std::size_t>(j)] = delta > 0 ? std::exp(-delta * sigma_beta) : 1.0;
        sum += row[static_cast<std::size_t>(j)];
    }
    for (index_t j = 0; j < k; ++j) row[static_cast<std::size_t>(j)] /= sum;
}

// One row of conditional_probabilities(): the same values wherever the row comes from.
class RowCalibration {
  public:
    struct Scratch {
        explicit Scratch(index_t k) : row(static_cast<std::size_t>(k)), mean(static_cast<std::size_t>(k)) {}
        std::vector<double> row, mean;
    };

    RowCalibration(const AffinityOptions& options, index_t k, int scale_exponent)
        : options_(options), k_(k), targets_(entropy_targets(options)) {  // targets: of the perplexity scales
        // sigma in the graph's unit (NeighborGraph::scale_exponent). A sigma below ~1e-154 makes sigma_beta
        // inf and one beyond ~1e154 makes it 0: the limits (all weight on the nearest, uniform) follow below.
        const double sigma = scale_exponent == 0 ? options.sigma : std::ldexp(options.sigma, -scale_exponent);
        sigma_beta_ = 1.0 / (2.0 * sigma * sigma);
    }

    // Row `dist` (k squared distances) into out[0, k) and its beta; false (nothing written) if a distance
    // is unusable.
    bool row(const double* dist, float* out, Scratch& scratch, double& beta) const {
        if (!std::all_of(dist, dist + k_, usable_distance)) return false;
        std::vector<double>& row = scratch.row;
        beta = 0.0;
        if (options_.kind == AffinityKind::perplexity) {
            beta = perplexity_row(dist, k_, targets_, options_, row, scratch.mean);
        } else if (options_.kind == AffinityKind::sigma) {
            beta = sigma_beta_;
            sigma_row(dist, k_, sigma_beta_, row);
        } else {
            for (index_t j = 0; j < k_; ++j) row[static_cast<std::size_t>(j)] = 1.0 / static_cast<double>(k_);
        }
        std::copy(row.begin(), row.end(), out);  // to float: 24 bits are plenty for P
        return true;
    }

  private:
    AffinityOptions options_;
    index_t k_;
    std::vector<double> targets_;
    double sigma_beta_ = 0;
};

}  // namespace

struct detail::ConditionalRows::State {
    State(const AffinityOptions& options, index_t k, int scale_exponent) : calibration(options, k, scale_exponent) {}
    RowCalibration calibration;
    std::mutex mutex;
    index_t bad_row = -1;  // the lowest row with an unusable distance, and its error
    DistanceDefect defect;
};

detail::ConditionalRows::ConditionalRows(const AffinityOptions& options, index_t k, int scale_exponent)
    : state_(std::make_shared<State>(options, k, scale_exponent)), k_(k) {}

void detail::ConditionalRows::operator()(index_t i, const point_t* indices, const double* distances,
                                         float* out) const {
    thread_local RowCalibration::Scratch scratch(0);
    scratch.row.resize(static_cast<std::size_t>(k_));
    scratch.mean.resize(static_cast<std::size_t>(k_));
    double beta = 0;
    if (state_->calibration.row(distances, out, scratch, beta)) return;
    std::fill(out, out + k_, 0.0f);
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->bad_row >= 0 && state_->bad_row < i) return;
    state_->bad_row = i;
    state_->defect = distance_defect(i, indices, distances, k_);
}

void detail::ConditionalRows::check() const {
    if (state_->bad_row >= 0) state_->defect.raise();
}

std::vector<float> conditional_probabilities(const NeighborGraph& graph, const AffinityOptions& options,
                                             int threads, std::vector<double>* betas) {
    // n = 1 is a graph of one new point's neighbours among reference points (transform).
    require(graph.k >= 1 && graph.n >= 1, "affinities need a neighbour graph with k >= 1; got n = ", graph.n,
            ", k = ", graph.k);
    const index_t n = graph.n;
    const index_t k = graph.k;
    // Only the distances are read (by row: n*k of them); the indices may name other points (transform).
    require(graph.distances.size() / static_cast<std::size_t>(k) == static_cast<std::size_t>(n) &&
                graph.distances.size() % static_cast<std::size_t>(k) == 0 &&
                graph.indices.size() == graph.distances.size(),
            "affinities: a graph of n = ", n, " rows of k = ", k,
            " neighbours needs n*k indices and distances; got ", graph.indices.size(), " and ",
            graph.distances.size());
    const RowCalibration calibration(options, k, graph.scale_exponent);
    std::vector<float> p(static_cast<std::size_t>(n * k));
    if (betas) betas->assign(static_cast<std::size_t>(n), 0.0);
    std::atomic<index_t> bad_row{n};  // the lowest row with an unusable distance
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        RowCalibration::Scratch scratch(k);
        for (index_t i = begin; i < end; ++i) {
            double beta = 0.0;
            if (!calibration.row(graph.row_distances(i), p.data() + i * k, scratch, beta)) {
                lower_to(bad_row, i);
                continue;
            }
            if (betas) (*betas)[static_cast<std::size_t>(i)] = beta;
        }
    });
    if (bad_row.load() < n) {
        const index_t i = bad_row.load();
        distance_defect(i, graph.row_indices(i), graph.row_distances(i), k).raise();
    }
    return p;
}

namespace detail {

void sort_rows_by_column(NeighborGraph& graph, std::vector<float>& conditional, int threads) {
    const index_t k = graph.k;
    require(graph.n >= 0 && k >= 0 &&
                graph.indices.size() == static_cast<std::size_t>(graph.n) * static_cast<std::size_t>(k) &&
                conditional.size() == graph.indices.size(),
            "sort_rows_by_column: ", graph.indices.size(), " indices and ", conditional.size(),
            " values for ", graph.n, " rows of ", k);
    parallel_for(graph.n, threads, [&](index_t begin, index_t end) {
        std::vector<std::pair<point_t, float>> row(static_cast<std::size_t>(k));
        for (index_t i = begin; i < end; ++i) {
            point_t* cols = graph.indices.data() + i * k;
            float* vals = conditional.data() + i * k;
            if (std::is_sorted(cols, cols + k)) continue;
            for (index_t s = 0; s < k; ++s) row[static_cast<std::size_t>(s)] = {cols[s], vals[s]};
            std::sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            for (index_t s = 0; s < k; ++s) {
                cols[s] = row[static_cast<std::size_t>(s)].first;
                vals[s] = row[static_cast<std::size_t>(s)].second;
            }
        }
    });
}

}  // namespace detail

namespace {

// Position of column j in graph row i (sorted by column), or -1.
inline index_t find_in_row(const NeighborGraph& graph, index_t i, point_t j) {
    const point_t* first = graph.indices.data() + i * graph.k;
    const point_t* last = first + graph.k;
    const point_t* it = std::lower_bound(first, last, j);
    return it != last && *it == j ? static_cast<index_t>(it - graph.indices.data()) : -1;
}

// A conditional symmetrize() can take: finite, >= 0 and without the sign bit (which pass 1 uses as its
// mark). One comparison: such floats are exactly the bit patterns below that of +inf.
inline bool usable_conditional(float c) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &c, sizeof bits);
    return bits < 0x7f800000u;
}

// The InvalidArgument for entry e, the first defect symmetrize's pass 1 met (the graph's rows are sorted
// by column; e itself is not yet marked).
[[noreturn]] void throw_symmetrize_defect(const NeighborGraph& graph, const std::vector<float>& conditional,
                                          index_t e) {
    const index_t j = e / graph.k;
    const point_t i = graph.indices[static_cast<std::size_t>(e)];
    std::vector<point_t> scratch;
    std::string defect = detail::neighbor_row_defect(graph, j, 0, scratch);
    if (defect.empty())
        defect = concat("row ", j, ": the conditional p(", i, " | ", j, ") is ",
                        conditional[static_cast<std::size_t>(e)], "; conditionals must be finite and >= +0");
    throw InvalidArgument("symmetrize: " + defect);
}

// The sources of symmetrize cut into `count` contiguous blocks of rows, each with a counter per point.
struct SourceBlocks {
    index_t n, k, count;
    index_t begin(index_t b) const { return n * b / count; }
    std::size_t slot(index_t b, index_t i) const { return static_cast<std::size_t>(b * n + i); }
};

// Pass 1: mark the one-sided entries (j lists i, i does not list j) and count them per block and row.
// Pass 2 scatters exactly the entries with the sign bit set, so every entry is checked here before it
// is used: an index outside [0, n) would be counted outside the counters, and a value that already
// had its sign bit (-0, a negative, or x86's default NaN, which 0 * inf makes) would be scattered
// without having been counted, past its row's end. A block stops at its first defect; the lowest
// block's is the lowest row's (blocks are contiguous), whatever the number of blocks.
void mark_one_sided(const NeighborGraph& graph, std::vector<float>& conditional, const SourceBlocks& blocks,
                    std::vector<std::uint32_t>& slot, int threads) {
    const index_t n = blocks.n, k = blocks.k;
    std::vector<index_t> defect(static_cast<std::size_t>(blocks.count), -1);  // per block: its first bad entry
    const auto mark_block = [&](index_t b) {
        for (index_t j = blocks.begin(b); j < blocks.begin(b + 1); ++j)
            for (index_t s = 0; s < k; ++s) {
                const auto e = static_cast<std::size_t>(j * k + s);
                const point_t i = graph.indices[e];
                // One rarely taken branch for all four checks (rows are sorted: a repeat follows its twin).
                if (static_cast<index_t>(i) >= n || static_cast<index_t>(i) == j ||
                    (s > 0 && i == graph.indices[e - 1]) || !usable_conditional(conditional[e])) {
                    defect[static_cast<std::size_t>(b)] = static_cast<index_t>(e);
                    return;
                }
                if (find_in_row(graph, i, static_cast<point_t>(j)) >= 0) continue;
                conditional[e] = -conditional[e];  // one-sided: the sign bit says so (also for 0)
                ++slot[blocks.slot(b, i)];
            }
    };
    parallel_for(
        blocks.count, threads,
        [&](index_t b0, index_t b1) {
            for (index_t b = b0; b < b1; ++b) mark_block(b);
        },
        1);
    for (const index_t e : defect)
        if (e >= 0) throw_symmetrize_defect(graph, conditional, e);
}

// Pass 2: every mutual pair's p_ij = p_ji, (p_{j|i} + p_{i|j}) / 2N, written over both of its conditionals.
// The pair {i, j} (i < j) belongs to row i: only row i's pass reads or writes its two slots, so the rows
// run in parallel, and each slot is read before it is written. The sum is the same whichever side adds it.
void pair_mutual_entries(const NeighborGraph& graph, std::vector<float>& conditional, double scale, int threads) {
    const index_t k = graph.k;
    parallel_for(graph.n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i)
            for (index_t s = 0; s < k; ++s) {
                const auto e = static_cast<std::size_t>(i * k + s);
                const point_t j = graph.indices[e];
                if (static_cast<index_t>(j) < i || std::signbit(conditional[e])) continue;
                const auto back = static_cast<std::size_t>(find_in_row(graph, j, static_cast<point_t>(i)));
                const double sum = static_cast<double>(conditional[e]) + static_cast<double>(conditional[back]);
                conditional[e] = conditional[back] = static_cast<float>(sum * scale);
            }
    });
}

// The one-sided entries of every row (p_{i|j} / 2N of the points j that list i alone), as a CSR of their
// own: about half of P's entries beside the graph, instead of the whole of P.
struct Tails {
    std::vector<index_t> offsets;
    std::vector<point_t> columns;
    std::vector<float> values;
};

// The tails' row offsets; each block's counter becomes the first slot of its entries in the row.
Tails tail_offsets(const SourceBlocks& blocks, std::vector<std::uint32_t>& slot) {
    const index_t n = blocks.n;
    Tails tails;
    tails.offsets.assign(static_cast<std::size_t>(n + 1), 0);
    for (index_t i = 0; i < n; ++i) {
        std::uint32_t next = 0;
        for (index_t b = 0; b < blocks.count; ++b) {
            const std::uint32_t count = slot[blocks.slot(b, i)];
            slot[blocks.slot(b, i)] = next;
            next += count;
        }
        tails.offsets[static_cast<std::size_t>(i + 1)] = tails.offsets[static_cast<std::size_t>(i)] + next;
    }
    tails.columns.resize(static_cast<std::size_t>(tails.offsets.back()));
    tails.values.resize(static_cast<std::size_t>(tails.offsets.back()));
    return tails;
}

// Pass 3: the one-sided entries into the tails; the blocks in parallel, rows in order, so every tail is
// sorted by column (blocks in order, sources in order within a block).
void scatter_one_sided(const NeighborGraph& graph, const std::vector<float>& conditional,
                       const SourceBlocks& blocks, double scale, std::vector<std::uint32_t>& slot, Tails& tails,
                       int threads) {
    const index_t k = blocks.k;
    parallel_for(
        blocks.count, threads,
        [&](index_t b0, index_t b1) {
            for (index_t b = b0; b < b1; ++b)
                for (index_t j = blocks.begin(b); j < blocks.begin(b + 1); ++j)
                    for (index_t s = 0; s < k; ++s) {
                        const auto e = static_cast<std::size_t>(j * k + s);
                        if (!std::signbit(conditional[e])) continue;
                        const point_t i = graph.indices[e];
                        const auto t = static_cast<std::size_t>(tails.offsets[i] + slot[blocks.slot(b, i)]++);
                        tails.columns[t] = static_cast<point_t>(j);
                        tails.values[t] = static_cast<float>(static_cast<double>(-conditional[e]) * scale);
                    }
        },
        1);
}

// Where merge_row writes: entry w's column at columns[w - column_shift], its value at values[w].
struct RowSink {
    point_t* columns;
    float* values;
    index_t column_shift;
};

// Row i of P: its own neighbours (sorted; mutual ones already paired, one-sided ones scaled here) merged
// with its tail, written from entry `offset` on.
void merge_row(const NeighborGraph& graph, const std::vector<float>& conditional, double scale,
               const Tails& tails, index_t i, index_t offset, const RowSink& out) {
    const index_t k = graph.k;
    auto w = static_cast<std::size_t>(offset);
    const auto shift = static_cast<std::size_t>(out.column_shift);
    auto t = static_cast<std::size_t>(tails.offsets[i]);
    const auto t_end = static_cast<std::size_t>(tails.offsets[i + 1]);
    for (index_t s = 0; s < k; ++s) {
        const auto e = static_cast<std::size_t>(i * k + s);
        const point_t j = graph.indices[e];
        for (; t < t_end && tails.columns[t] < j; ++t, ++w) {
            out.columns[w - shift] = tails.columns[t];
            out.values[w] = tails.values[t];
        }
        const float c = conditional[e];
        out.columns[w - shift] = j;
        out.values[w] = std::signbit(c) ? static_cast<float>(static_cast<double>(-c) * scale) : c;
        ++w;
    }
    for (; t < t_end; ++t, ++w) {
        out.columns[w - shift] = tails.columns[t];
        out.values[w] = tails.values[t];
    }
}

// P's row offsets: each row's k own entries and its tail.
std::vector<index_t> merged_offsets(const NeighborGraph& graph, const Tails& tails) {
    const index_t n = graph.n, k = graph.k;
    std::vector<index_t> offsets(static_cast<std::size_t>(n + 1), 0);
    for (index_t i = 0; i < n; ++i)
        offsets[static_cast<std::size_t>(i + 1)] = offsets[static_cast<std::size_t>(i)] + k +
                                                   tails.offsets[static_cast<std::size_t>(i + 1)] -
                                                   tails.offsets[static_cast<std::size_t>(i)];
    return offsets;
}

// Gives back the pages of the graph, the conditionals and the tails that rows [c0, c1) consumed.
void release_consumed(NeighborGraph& graph, std::vector<float>& conditional, Tails& tails, index_t c0, index_t c1) {
    const index_t k = graph.k;
    release_pages(graph.indices.data() + c0 * k, graph.indices.data() + c1 * k);
    release_pages(conditional.data() + c0 * k, conditional.data() + c1 * k);
    release_pages(tails.columns.data() + tails.offsets[c0], tails.columns.data() + tails.offsets[c1]);
    release_pages(tails.values.data() + tails.offsets[c0], tails.values.data() + tails.offsets[c1]);
}

// Pass 4: P's rows in order, a chunk of rows at a time (each chunk's rows in parallel). P is reserved
// whole but grows chunk by chunk, and the pages of the graph, the conditionals and the tails a chunk has
// consumed are given back at once: the stage never holds the graph and the whole of P together.
Affinities merge_rows(NeighborGraph& graph, std::vector<float>& conditional, double scale, Tails& tails,
                      int threads, index_t chunk_entries) {
    const index_t n = graph.n, k = graph.k;
    Affinities out;
    out.n = n;
    out.offsets = merged_offsets(graph, tails);
    out.columns.reserve(static_cast<std::size_t>(out.offsets.back()));
    out.values.reserve(static_cast<std::size_t>(out.offsets.back()));
    const index_t chunk = std::max<index_t>(1, chunk_entries / k);
    for (index_t c0 = 0; c0 < n; c0 += chunk) {
        const index_t c1 = std::min(n, c0 + chunk);
        out.columns.resize(static_cast<std::size_t>(out.offsets[c1]));  // within the capacity: no move
        out.values.resize(static_cast<std::size_t>(out.offsets[c1]));
        const RowSink sink{out.columns.data(), out.values.data(), 0};
        parallel_for(c1 - c0, threads, [&](index_t begin, index_t end) {
            for (index_t i = c0 + begin; i < c0 + end; ++i)
                merge_row(graph, conditional, scale, tails, i, out.offsets[i], sink);
        });
        release_consumed(graph, conditional, tails, c0, c1);
    }
    return out;
}

// merge_rows into a packed P: each chunk's columns go through a buffer of the chunk's size and are packed
// (pack_rows); the values are written in place.
PackedAffinities merge_rows_packed(NeighborGraph& graph, std::vector<float>& conditional, double scale,
                                   Tails& tails, int threads, index_t chunk_entries) {
    const index_t n = graph.n, k = graph.k;
    PackedAffinities out;
    out.n = n;
    out.offsets = merged_offsets(graph, tails);
    out.values.reserve(static_cast<std::size_t>(out.offsets.back()));
    // The most the rows can take: no reallocation.
    out.bytes.reserve(4 * static_cast<std::size_t>(out.offsets.back()) + packed_padding);
    out.first.reserve(static_cast<std::size_t>(n));
    out.where.reserve(static_cast<std::size_t>(n));
    std::vector<point_t> columns;
    const index_t chunk = std::max<index_t>(1, chunk_entries / k);
    for (index_t c0 = 0; c0 < n; c0 += chunk) {
        const index_t c1 = std::min(n, c0 + chunk);
        out.values.resize(static_cast<std::size_t>(out.offsets[c1]));  // within the capacity: no move
        columns.resize(static_cast<std::size_t>(out.offsets[c1] - out.offsets[c0]));
        const RowSink sink{columns.data(), out.values.data(), out.offsets[c0]};
        parallel_for(c1 - c0, threads, [&](index_t begin, index_t end) {
            for (index_t i = c0 + begin; i < c0 + end; ++i)
                merge_row(graph, conditional, scale, tails, i, out.offsets[i], sink);
        });
        detail::pack_rows(out, c0, c1 - c0, columns.data(), threads);
        release_consumed(graph, conditional, tails, c0, c1);
    }
    return out;
}

}  // namespace

// Entries of the symmetrised P per kNN edge: between 1 (every neighbourhood mutual) and 2 (none). The
// estimates cover the measured fills (benchmarks/RESULTS.md, section 6, and "Where the defaults come
// from"): about 1.5 with an exact graph, 1.73 with nndescent's (its misses are rarely mutual).
constexpr double symmetric_fill = 1.5;
constexpr double symmetric_fill_approximate = 1.75;

double conditional_bytes(double n, double k) {
    return n * k * 4;
}

double symmetrize_workspace_bytes(index_t n_points, double k, int threads, bool approximate_graph) {
    const double n = static_cast<double>(std::max<index_t>(n_points, 0));
    const double fill = approximate_graph ? symmetric_fill_approximate : symmetric_fill;
    const double tails = (fill - 1) * n * k * (4 + 4) + (n + 1) * 8;
    return conditional_bytes(n, k) + n * 4 * static_cast<double>(symmetrize_blocks(n_points, threads)) + tails;
}

double affinities_bytes(double n, double k, bool approximate_graph) {
    const double fill = approximate_graph ? symmetric_fill_approximate : symmetric_fill;
    const double offsets = (n + 1) * 8;
    return fill * n * k * (4 + 4) + offsets;
}

double packed_p_bytes(double n, double k, bool approximate_graph) {
    const double fill = approximate_graph ? symmetric_fill_approximate : symmetric_fill;
    if (!packs(Packing::automatic)) return affinities_bytes(n, k, approximate_graph);
    // Every row spans fewer than 65,536 labels up to that many points; beyond, in embed()'s order, about
    // half the rows take 3 bytes an offset (55 % took 2 at 10^6 clustered points, RESULTS.md section 12).
    const double width = n <= 65536 ? 2.0 : 2.5;
    return packed_affinities_bytes(n, fill * n * k, width);
}

double dense_p_bytes(double n) {
    return n * n * 8;
}

double dense_affinities_bytes(double n) {
    return 3 * n * n * 8;
}

index_t symmetrize_blocks(index_t n, int threads) {
    return std::max<index_t>(1, std::min<index_t>({resolve_threads(threads), symmetrize_max_blocks, n}));
}

// Row i of P holds i's own neighbours j (p_{j|i} + p_{i|j}, the second term where i is also j's
// neighbour) and the points j that list i without being listed by i (p_{i|j} alone), all scaled by
// 1/(2N). p_ij and p_ji are the same sum of the same two floats, hence equal bit for bit.
//
// The graph's rows are sorted by column in place, so mutual neighbours are found by binary search. The
// rows are cut into B = min(threads, symmetrize_max_blocks) contiguous blocks of sources. Pass 1 marks
// each one-sided entry (the sign bit of its conditional, which is >= 0) and counts, per block, how many
// land in each row; pass 2 writes each mutual pair's value over both its conditionals; pass 3 scatters the
// one-sided entries into a CSR of row tails, each block into its own slots of each row, so every tail is
// sorted by column (blocks in order, sources in order within a block) with no atomics and no sort; pass 4
// merges each row's own entries with its tail into P, row chunk by row chunk, giving back the consumed
// pages of the graph, the conditionals and the tails as P grows. The result does not depend on the thread
// count. Memory: the graph's indices and the conditionals, B counters a point and the tails (the one-sided
// entries, 8 bytes each); then about P alone.
Affinities symmetrize(NeighborGraph graph, std::vector<float> conditional, int threads) {
    // Chunks of ~4M entries (32 MiB of P): the memory P and the consumed buffers overlap by.
    return detail::symmetrize_in_chunks(std::move(graph), std::move(conditional), threads, index_t{1} << 22);
}

namespace {

// symmetrize_in_chunks' passes 1 to 3 (see symmetrize), then pass 4 by merge(graph, conditional, scale,
// tails).
template <class Merge>
auto symmetrize_with(NeighborGraph graph, std::vector<float> conditional, int threads, const Merge& merge) {
    const index_t n = graph.n;
    const index_t k = graph.k;
    // The graph's shape here; its rows (indices in range, not the row's point, distinct) and the values
    // are checked in pass 1, as it reads them. The distances are not read: free them (the row checks then
    // skip them too).
    graph.distances = std::vector<double>();
    require(n >= 2 && n <= static_cast<index_t>(std::numeric_limits<point_t>::max()) && k >= 1 && k <= n - 1,
            "symmetrize: a graph of n = ", n, " points with k = ", k,
            " neighbours each; need n >= 2 (at most 2^32 - 1) and 1 <= k <= n - 1");
    // n k < 2^64 fits std::size_t (not index_t).
    const std::size_t entries = static_cast<std::size_t>(n) * static_cast<std::size_t>(k);
    require(graph.indices.size() == entries && conditional.size() == entries,
            "symmetrize: ", conditional.size(), " conditional values and ", graph.indices.size(),
            " indices for a graph of ", entries, " entries");
    detail::sort_rows_by_column(graph, conditional, threads);
    const double scale = 1.0 / (2.0 * static_cast<double>(n));
    const SourceBlocks blocks{n, k, symmetrize_blocks(n, threads)};
    std::vector<std::uint32_t> slot(static_cast<std::size_t>(blocks.count * n), 0);
    mark_one_sided(graph, conditional, blocks, slot, threads);
    pair_mutual_entries(graph, conditional, scale, threads);
    Tails tails = tail_offsets(blocks, slot);
    scatter_one_sided(graph, conditional, blocks, scale, slot, tails, threads);
    slot = std::vector<std::uint32_t>();
    return merge(graph, conditional, scale, tails);
}

}  // namespace

Affinities detail::symmetrize_in_chunks(NeighborGraph graph, std::vector<float> conditional, int threads,
                                        index_t chunk_entries) {
    Affinities out = symmetrize_with(std::move(graph), std::move(conditional), threads,
                                     [&](NeighborGraph& g, std::vector<float>& c, double scale, Tails& tails) {
                                         return merge_rows(g, c, scale, tails, threads, chunk_entries);
                                     });
    assert(structure_defect(out, threads).empty());  // the sum is the conditionals' (1 when each row's is)
    return out;
}

PackedAffinities detail::symmetrize_packed(NeighborGraph graph, std::vector<float> conditional, int threads,
                                           Packing packing, index_t chunk_entries) {
    return symmetrize_with(std::move(graph), std::move(conditional), threads,
                           [&](NeighborGraph& g, std::vector<float>& c, double scale, Tails& tails) {
                               if (packs(packing)) return merge_rows_packed(g, c, scale, tails, threads, chunk_entries);
                               return pack(merge_rows(g, c, scale, tails, threads, chunk_entries), threads, Packing::never);
                           });
}

namespace {

// A stored value as the shortest text that reads back as the same float ("0.1", not 0.1000000015).
std::string shown(float v) {
    char text[32];
    const auto r = std::to_chars(text, text + sizeof text, v);
    return std::string(text, r.ptr);
}

// The local defect of row i of a structurally sound CSR matrix (range, diagonal, order, value), or "".
std::string row_local_defect(const Affinities& p, index_t i) {
    for (index_t t = p.offsets[i]; t < p.offsets[i + 1]; ++t) {
        const auto e = static_cast<std::size_t>(t);
        const point_t j = p.columns[e];
        const float v = p.values[e];
        if (static_cast<index_t>(j) >= p.n)
            return concat("row ", i, " has column ", j, ", outside 0..", p.n - 1);
        if (static_cast<index_t>(j) == i) return concat("row ", i, " has an entry on the diagonal");
        if (t > p.offsets[i] && j <= p.columns[e - 1])
            return concat("the columns of row ", i, " are not strictly increasing (", p.columns[e - 1],
                          " then ", j, ")");
        if (!std::isfinite(v) || v < 0)
            return concat("p(", i, ", ", j, ") = ", shown(v), " is not a finite non-negative number");
    }
    return {};
}

// Whether p(j, i) mirrors every p(i, j) of row i (rows already locally sound), else the defect.
std::string row_symmetry_defect(const Affinities& p, index_t i) {
    for (index_t t = p.offsets[i]; t < p.offsets[i + 1]; ++t) {
        const point_t j = p.columns[static_cast<std::size_t>(t)];
        const float v = p.values[static_cast<std::size_t>(t)];
        const point_t* first = p.columns.data() + p.offsets[j];
        const point_t* last = p.columns.data() + p.offsets[j + 1];
        const point_t* it = std::lower_bound(first, last, static_cast<point_t>(i));
        if (it == last || *it != static_cast<point_t>(i))
            return concat("P is not symmetric: p(", i, ", ", j, ") = ", shown(v), " but p(", j, ", ", i,
                          ") is absent");
        const float w = p.values[static_cast<std::size_t>(it - p.columns.data())];
        if (std::abs(static_cast<double>(v) - static_cast<double>(w)) >
            1e-6 * static_cast<double>(std::max(v, w)))
            return concat("P is not symmetric: p(", i, ", ", j, ") = ", shown(v), " but p(", j, ", ", i,
                          ") = ", shown(w));
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

namespace {

std::string structure_defect(const Affinities& p, int threads) {
    if (p.n < 2) return concat("need at least 2 points; got n = ", p.n);
    if (p.n > static_cast<index_t>(std::numeric_limits<point_t>::max()))
        return concat("at most ", std::numeric_limits<point_t>::max(), " points are supported; got ", p.n);
    std::string defect = csr_defect(p);
    if (defect.empty()) defect = first_row_defect(p, threads, row_local_defect);
    if (defect.empty()) defect = first_row_defect(p, threads, row_symmetry_defect);
    return defect;
}

}  // namespace

std::string affinities_defect(const Affinities& p, int threads) {
    const std::string defect = structure_defect(p, threads);
    if (!defect.empty()) return defect;
    const double sum = parallel_sum(p.nnz(), threads, [&](index_t begin, index_t end) {
        double s = 0.0;
        for (index_t t = begin; t < end; ++t) s += static_cast<double>(p.values[static_cast<std::size_t>(t)]);
        return s;
    });
    if (!(std::abs(sum - 1.0) <= 1e-6)) return concat("P must sum to 1; its entries sum to ", sum);
    return {};
}

void validate_affinities(const Affinities& p, int threads) {
    const std::string defect = affinities_defect(p, threads);
    if (!defect.empty()) throw InvalidArgument("affinities: " + defect);
}

Affinities compute_affinities(NeighborGraph graph, const AffinityOptions& options, int threads) {
    validate_neighbor_graph(graph, threads);  // all of it, lowest row first, before any work
    std::vector<float> conditional = conditional_probabilities(graph, options, threads);
    graph.distances = std::vector<double>();  // not needed any more: free it before P is allocated
    return symmetrize(std::move(graph), std::move(conditional), threads);
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

Matrix dense_conditional_probabilities(ConstMatrixView x, const AffinityOptions& options, int threads,
                                       const NeighborOptions& neighbors) {
    const index_t n = x.rows;
    require(n >= 2, "exact affinities need at least 2 points; got ", n);
    require_dense_fits(n, 3, "the exact method");
    // Each row over every other point (the exact P), or over the k nearest when k is given, and always for
    // uniform affinities, which are defined by their k: then the rows are those of the Barnes-Hut P.
    const bool every_point = options.k == 0 && options.kind != AffinityKind::uniform;
    const index_t k = every_point ? n - 1 : neighbor_count(options, n);
    require(k >= 1 && k <= n - 1, "exact affinities: k = ", k, " neighbours need more than ", k,
            " points; got ", n);
    // The rows come from the neighbour search and conditional_probabilities, as the Barnes-Hut P's do: the
    // same distances for every metric (squared; cosine on unit rows) and the same per-row kernels
    // (perplexity, multiscale, sigma, uniform), in float like that P. With every point a neighbour the
    // exact scan (brute) is used whatever the backend: the result is all points anyway.
    NeighborOptions search = neighbors;
    if (every_point) search.backend = KnnBackend::brute;
    NeighborGraph graph = nearest_neighbors(x, k, search, threads);
    const std::vector<float> conditional = conditional_probabilities(graph, options, threads);
    graph.distances = std::vector<double>();  // free N k doubles before the N x N matrix
    Matrix p(n, n);
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            const point_t* columns = graph.row_indices(i);
            const float* row = conditional.data() + i * k;
            for (index_t e = 0; e < k; ++e) p(i, columns[e]) = row[e];
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
