// Approximate backend: a random-projection forest for a first graph, refined by NN-descent's local join
// (Dong, Moses & Li 2011: a neighbour of a neighbour is likely a neighbour), arranged so that the graph
// is a pure function of the data, k and the parameters: the same for every thread count, and parallel
// throughout.
//
// 1. Forest. Each tree splits the points recursively by the perpendicular bisector of two points drawn
//    from the node until a node holds at most `leaf_size` points. The draws are hashes of (seed, tree,
//    node), never thread state, so each tree is a pure function of the data: they are built in parallel.
//    The search itself runs on a float copy of the points (Points: centred, scaled by a power of two)
//    relabelled in the first tree's order, so that the rows and points one local join touches tend to
//    lie near each other in memory; the graph is mapped back to the input's labels at the end.
// 2. First graph. Each point gets its nearest leaf-mates in every tree (LeafSearch: a float GEMM
//    screens the pairs of a leaf). The leaves of one tree are disjoint, so they are processed in
//    parallel, each writing only its own points' rows.
// 3. Refinement rounds: NN-descent's local join. For each point v, a list of "new" and one of "old"
//    candidates is drawn from v's row and its reverse neighbours (at most `candidates` each, chosen by a
//    hash of (round, v, u), not at random); every pair of them with at least one new member is compared,
//    and each of the two is offered to the other's row. An entry is new until its row's owner has put it
//    in a new list, so later rounds only look at what changed. The points are processed in blocks of a
//    fixed size, in the spatial order of the first tree: first the lists of the whole block are drawn
//    (this marks the drawn entries old), then the block's joins run in parallel, offering into any row
//    under that row's lock.
// 4. Exact distances. While the graph is built, it is ranked by a vectorised working distance (the
//    metric's: squared Euclidean, L1 or maximum, jaccard's or hamming's counts of the float points;
//    fixed lane order: deterministic and symmetric, but not bit-equal to rank_distance()), scaled by a power of two and stored as float. At the end every
//    row's distances are recomputed with rank_distance() and the row is sorted by (distance, tie key),
//    like the exact backends: only the membership of a row is approximate. A row with fewer than k
//    entries (tiny or heavily duplicated data) is answered by an exact scan.
//
// Metrics. Euclidean, cosine and correlation (the caller passes the unit or centred unit rows: the
// Euclidean search on them), manhattan, chebyshev, jaccard and hamming. The forest's bisector splits and
// the leaf search's Euclidean GEMM screen only propose candidates: a leaf's points are offered to each
// other by the metric's working distance, and the local joins compare pairs by it alone, so the rows
// are the metric's nearest found. (Euclidean candidates are good candidates for manhattan and
// chebyshev: the three norms are within a factor sqrt(D); and for jaccard and hamming on 0/1 rows, where
// the squared Euclidean distance counts the differing coordinates.)
//
// Determinism. A row always holds the k best of everything ever offered to it, under a total order
// ((distance, tie key): distinct points have distinct keys), so its content does not depend on the order
// of the offers, only on their set. The offers of a block are a pure function of the rows at the start
// of the block (the lists are drawn before any join of the block runs), except that an offer is skipped
// when it is not better than the row's current worst entry: such an offer would be rejected whenever it
// came, because a row's worst entry only ever improves. So every row after a block, and the graph after
// each round, is the same for any thread count. The "new" flags follow: an entry present at the start
// of a block keeps its flag (unless its owner drew it), an entry inserted during the block is new. The
// rounds stop after `rounds` or when fewer than a fraction `stop_fraction` of the N k entries are new
// since the round began (a count over the graph: deterministic too).
//
// Memory, besides the output (N k (4 + 8) bytes): while the graph is built its distances are floats
// (4 N k bytes, freed before the exact distances are allocated) and each entry has two flag bits (N k / 4,
// rows padded to bytes); the float points take 4 N D bytes, the reverse lists 4 N reverse_cap bytes and
// a 4-byte mask of fresh links a point, the labels 8 N, the forest 4 N bytes per tree during step 2 (the
// model: nndescent_bytes below). embed() saves two of these (RowValues, `reorderable`): each row's exact
// distances go to its calibration as step 4 settles them (4 N k bytes of conditionals instead of 8 N k of
// distances), and its own rows are read in place instead of the float copy.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "core/lanes.hpp"
#include "core/permutation.hpp"
#include "knn/internal.hpp"
#include "knn/nndescent_internal.hpp"
#include "knn/working_distances.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::detail {

using namespace nndescent;

namespace {

// Leaf search (LeafSearch): candidates kept per point beyond k, the query and reference blocks of one
// float GEMM (a 256 x 512 block of estimates, 512 KiB, stays in cache), estimates tested at once.
constexpr index_t leaf_extra = 16;
constexpr index_t leaf_query_block = 256;
constexpr index_t leaf_reference_block = 512;
constexpr index_t leaf_chunk = 64;

}  // namespace

namespace nndescent {

// --- arithmetic -----------------------------------------------------------------------------------

// The working distances of euclidean (also cosine's and correlation's), manhattan and chebyshev are
// knn/working_distances.hpp's, compiled once per instruction set. Each lane is one pair, so no lanes
// are added together: every pair is summed the same way, whatever its lane or panel. One function per
// metric (never inlined, so one piece of machine code in a process) computes every working distance,
// which makes the working distance of a pair a pure function of the two points, and symmetric (the
// differences only change sign): a row compares the keys of the same point offered twice. It is not
// bit-equal to rank_distance(), which the final rows use.
// jaccard's and hamming's working distances: their counts per lane (a comparison's true is all ones,
// so a lane's count goes down by one per hit), then jaccard_ratio or hamming_ratio, on the float points
// (jaccard's zeros stay zeros there: Points does not centre them).
template <Metric M>
[[gnu::noinline]] void panel_counts(const double* a, const double* panel, index_t stride, index_t d, index_t first,
                                    index_t last, double* out) {
    using Bits = std::int64_t __attribute__((vector_size(kLanes * sizeof(double))));
    for (index_t g = first; g < last; ++g) {
        Bits differ{}, either{};
        const double* column = panel + g * kLanes;
        for (index_t j = 0; j < d; ++j) {
            const Lanes b = load(column + j * stride);
            differ += broadcast(a[j]) != b;
            if constexpr (M == Metric::jaccard) either += (broadcast(a[j]) != Lanes{}) | (b != Lanes{});
        }
        for (int l = 0; l < kLanes; ++l)
            out[g * kLanes + l] = M == Metric::jaccard ? jaccard_ratio(-differ[l], -either[l]) : hamming_ratio(-differ[l], d);
    }
}

void panel_distances(Metric metric, const double* a, const double* panel, index_t stride, index_t d,
                     index_t first, index_t last, double* out) {
    switch (metric) {
        case Metric::jaccard:
            return panel_counts<Metric::jaccard>(a, panel, stride, d, first, last, out);
        case Metric::hamming:
            return panel_counts<Metric::hamming>(a, panel, stride, d, first, last, out);
        default:
            return working_distances(metric, a, panel, stride, d, first, last, out);
    }
}

}  // namespace nndescent

namespace {

// An upper bound of the squared Euclidean distance of a pair whose working distance is w: w itself,
// w^2 (|v|_2 <= |v|_1) or D w^2 (|v|_2^2 <= D |v|_max^2); none (+inf) for jaccard and hamming, which
// say which coordinates differ, not by how much.
double euclidean_bound(Metric metric, double w, index_t d) {
    switch (metric) {
        case Metric::manhattan:
            return w * w;
        case Metric::chebyshev:
            return static_cast<double>(d) * w * w;
        case Metric::jaccard:
        case Metric::hamming:
            return std::numeric_limits<double>::infinity();
        case Metric::euclidean:
        case Metric::cosine:
        case Metric::correlation:
        default:
            return w;
    }
}

// --- 2. the first graph ---------------------------------------------------------------------------

// The k nearest neighbours of each point of a leaf among the leaf's points, offered to their rows. A
// leaf holds up to thousands of points: their pairs are screened by blocked float GEMM (as in
// knn/brute.cpp: the leaf centred on its mean and scaled by a power of two, then |q|^2 + |r|^2 - 2 q.r
// estimated for a block of queries against a block of references at once), each query keeps the
// `keep` best estimates, and only those get a working distance (panel_distances) and are offered. The
// float estimates only choose the candidates; the choice is a fixed function of the leaf (one thread
// runs it; Eigen's kernels are deterministic), so the graph stays the same for any thread count.
class LeafSearch {
  public:
    LeafSearch(const Points& x, index_t k, Rows& rows) : x_(x), keep_(k + leaf_extra), rows_(rows) {
        g_.resize(leaf_query_block, leaf_reference_block);
        buffer_.resize(static_cast<std::size_t>(leaf_query_block * stride()));
        count_.resize(static_cast<std::size_t>(leaf_query_block));
        threshold_.resize(static_cast<std::size_t>(leaf_query_block));
    }

    void run(const point_t* members, index_t m) {
        members_ = members;
        prepare(m);
        for (index_t q0 = 0; q0 < m; q0 += leaf_query_block) {
            const index_t q1 = std::min(m, q0 + leaf_query_block);
            std::fill(count_.begin(), count_.end(), 0);
            // A point whose row is already full (from earlier trees) only wants leaf-mates nearer than its
            // worst entry: start its threshold there (as a bound on the squared Euclidean distance, in
            // the leaf's units, with a margin for rounding), so that most of its estimates are rejected
            // at once.
            for (index_t q = q0; q < q1; ++q) {
                const double worst =
                    euclidean_bound(x_.metric, static_cast<double>(rows_.worst(members_[q])), x_.cols);
                const double limit = worst * leaf_units_ * (1 + 1e-3) - static_cast<double>(norms_[static_cast<std::size_t>(q)]);
                threshold_[static_cast<std::size_t>(q - q0)] =
                    std::isfinite(limit) && limit < 4.0 * static_cast<double>(x_.cols) ? static_cast<float>(limit) : std::numeric_limits<float>::infinity();
            }
            // Reference blocks from the queries' own block outwards: the leaf is in a spatial order, so
            // the nearest come first, the thresholds drop at once and the rest are mostly skipped.
            const index_t blocks = (m + leaf_reference_block - 1) / leaf_reference_block;
            const index_t home = ((q0 + q1) / 2) / leaf_reference_block;
            for (index_t step = 0, visited = 0; visited < blocks; ++step) {
                const index_t b = step % 2 == 0 ? home + step / 2 : home - (step + 1) / 2;
                if (b < 0 || b >= blocks) continue;
                ++visited;
                scan(q0, q1 - q0, b * leaf_reference_block, std::min(m, (b + 1) * leaf_reference_block));
            }
            for (index_t q = q0; q < q1; ++q) offer(q, q - q0);
        }
    }

  private:
    using FloatRows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    struct Estimate {
        float value;
        index_t column;
    };

    index_t stride() const { return 2 * keep_ + leaf_chunk; }

    // The leaf's points in float: centred on their mean and scaled by a power of two so that every
    // |coordinate| < 1 (exact, and far from float's overflow and underflow whatever the data's scale).
    void prepare(index_t m) {
        const index_t d = x_.cols;
        // The members' rows as the points give them (a view of the copy, or converted from the source).
        raw_.resize(static_cast<std::size_t>(m * d));
        for (index_t a = 0; a < m; ++a) {
            float* out = raw_.data() + a * d;
            const float* row = x_.row(members_[a], out);
            if (row != out) std::copy_n(row, d, out);
        }
        auto at = [&](index_t a, index_t j) { return static_cast<double>(raw_[static_cast<std::size_t>(a * d + j)]); };
        mean_.assign(static_cast<std::size_t>(d), 0.0);
        for (index_t a = 0; a < m; ++a)
            for (index_t j = 0; j < d; ++j) mean_[static_cast<std::size_t>(j)] += at(a, j);
        for (double& v : mean_) v /= static_cast<double>(m);
        double spread = 0;
        for (index_t a = 0; a < m; ++a)
            for (index_t j = 0; j < d; ++j)
                spread = std::max(spread, std::abs(at(a, j) - mean_[static_cast<std::size_t>(j)]));
        int e = 0;
        if (spread > 0 && std::isfinite(spread)) std::frexp(spread, &e);
        leaf_units_ = std::ldexp(1.0, -2 * e);  // squared distances in the leaf's float units
        points_.resize(m, d);
        norms_.resize(static_cast<std::size_t>(m));
        for (index_t a = 0; a < m; ++a) {
            float norm = 0;
            for (index_t j = 0; j < d; ++j) {
                const auto v = static_cast<float>(std::ldexp(at(a, j) - mean_[static_cast<std::size_t>(j)], -e));
                points_(a, j) = v;
                norm += v * v;
            }
            norms_[static_cast<std::size_t>(a)] = norm;
        }
    }

    // Estimates |q - r|^2 - |q|^2 = |r|^2 - 2 q.r for queries [q0, q0 + rows) against references
    // [r0, r1); each query keeps those below its threshold, compacting to the best `keep` when full.
    void scan(index_t q0, index_t rows, index_t r0, index_t r1) {
        const index_t cols = r1 - r0;
        auto g = g_.topLeftCorner(rows, cols);
        g.noalias() = (-2.0f * points_.middleRows(q0, rows)) * points_.middleRows(r0, cols).transpose();
        const float* norms = norms_.data() + r0;
        for (index_t i = 0; i < rows; ++i) {
            const float* row = g_.data() + i * leaf_reference_block;
            const index_t self = q0 + i - r0;
            Estimate* buffer = buffer_.data() + i * stride();
            index_t count = count_[static_cast<std::size_t>(i)];
            float threshold = threshold_[static_cast<std::size_t>(i)];
            for (index_t j0 = 0; j0 < cols; j0 += leaf_chunk) {
                const index_t j1 = std::min(cols, j0 + leaf_chunk);
                int hits = 0;  // branch-free count first: once the threshold has dropped most chunks have none
                for (index_t j = j0; j < j1; ++j) hits += norms[j] + row[j] < threshold;
                if (hits == 0) continue;
                for (index_t j = j0; j < j1; ++j) {
                    const float estimate = norms[j] + row[j];
                    buffer[count] = {estimate, r0 + j};
                    count += static_cast<index_t>(estimate < threshold) & static_cast<index_t>(j != self);
                }
                if (count >= 2 * keep_) threshold = compact(buffer, count);
            }
            count_[static_cast<std::size_t>(i)] = count;
            threshold_[static_cast<std::size_t>(i)] = threshold;
        }
    }

    // Keeps the best `keep` estimates (ties by column, so the choice is a fixed function of the leaf);
    // returns the largest kept one, the new threshold.
    float compact(Estimate* buffer, index_t& count) const {
        std::nth_element(buffer, buffer + (keep_ - 1), buffer + count, [](const Estimate& a, const Estimate& b) {
            return a.value < b.value || (a.value == b.value && a.column < b.column);
        });
        count = keep_;
        return buffer[keep_ - 1].value;
    }

    // Working distances of query q's kept candidates, offered to its row.
    void offer(index_t q, index_t slot) {
        Estimate* buffer = buffer_.data() + slot * stride();
        index_t count = count_[static_cast<std::size_t>(slot)];
        if (count > keep_) compact(buffer, count);
        const point_t i = members_[q];
        chosen_.clear();
        for (index_t c = 0; c < count; ++c) chosen_.push_back(members_[buffer[c].column]);
        panel_.gather(x_, chosen_.data(), count);
        query_.resize(static_cast<std::size_t>(x_.cols));
        const double* distance = panel_.distances(x_.row(i, query_.data()), 0);
        const float worst = rows_.worst(i);
        offers_.clear();
        for (index_t c = 0; c < count; ++c) {
            const auto d = static_cast<float>(distance[c]);
            if (d <= worst) offers_.push_back({d, chosen_[static_cast<std::size_t>(c)]});
        }
        if (!offers_.empty()) rows_.merge(i, offers_, scratch_);
    }

    const Points& x_;
    index_t keep_;
    Rows& rows_;
    const point_t* members_ = nullptr;
    std::vector<double> mean_;
    std::vector<float> raw_, query_;  // the leaf's rows; a query's row
    double leaf_units_ = 1;
    FloatRows points_, g_;
    std::vector<float> norms_;
    std::vector<Estimate> buffer_;
    std::vector<index_t> count_;
    std::vector<float> threshold_;
    std::vector<point_t> chosen_;
    Panel panel_;
    std::vector<Offer> offers_;
    MergeScratch scratch_;
};

// Offers every point of each leaf of `tree` its nearest leaf-mates. Leaves are disjoint, so each task
// owns its points' rows.
void merge_tree(const Points& x, const Tree& tree, int threads, Rows& rows) {
    const auto leaves = static_cast<index_t>(tree.leaf_begin.size()) - 1;
    parallel_for(
        leaves, threads,
        [&](index_t l0, index_t l1) {
            LeafSearch search(x, rows.k(), rows);
            for (index_t l = l0; l < l1; ++l) {
                const index_t first = tree.leaf_begin[static_cast<std::size_t>(l)];
                search.run(tree.order.data() + first, tree.leaf_begin[static_cast<std::size_t>(l + 1)] - first);
            }
        });
}

// --- 4. exact distances ---------------------------------------------------------------------------

// Replaces every row's working distances by rank_distance() and sorts it by (distance, tie key); a
// row that never filled up is answered by an exact scan. With row_values, each row's distances go to it
// and are not kept (graph.distances stays empty). Returns the number of rows scanned.
index_t finish(ConstMatrixView x, Metric metric, int threads, NeighborGraph& graph, RowValues* row_values) {
    const index_t k = graph.k;
    std::atomic<index_t> exact_rows{0};
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        std::vector<Neighbor> row;
        std::vector<double> scratch(row_values ? static_cast<std::size_t>(k) : 0);
        index_t exact = 0;
        for (index_t i = begin; i < end; ++i) {
            point_t* indices = graph.indices.data() + i * k;
            if (indices[k - 1] == no_point) {
                exact_candidates(x, x.row(i), i, i, row, metric);
                ++exact;
            } else {
                row.clear();
                for (index_t p = 0; p < k; ++p)
                    row.push_back(
                        candidate(i, indices[p], rank_distance(metric, x.row(i), x.row(indices[p]), x.cols)));
            }
            double* distances = row_values ? scratch.data() : graph.distances.data() + i * k;
            write_row(row, k, indices, distances, metric);
            if (row_values) row_values->compute(i, indices, distances, row_values->values.data() + i * k);
        }
        exact_rows += exact;
    });
    return exact_rows.load();
}

void exact_scan_all(ConstMatrixView x, index_t k, Metric metric, int threads, NeighborGraph& graph) {
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        std::vector<Neighbor> scratch;
        for (index_t i = begin; i < end; ++i) exact_scan_row(x, i, k, scratch, graph, metric);
    });
}

// Shares of the time for progress, from one measured run (RESULTS.md, section 10.3); the rounds count as
// if all p.rounds were run, so the estimate is pessimistic when the graph settles early.
constexpr double forest_end = 0.03, first_graph_end = 0.18, rounds_end = 0.93;

// Relabels the search by the first tree's order: label[order[s]] = s; the float points are put in that
// order and every tree's order is rewritten in labels.
void relabel(Points& points, std::vector<Tree>& trees, const std::vector<point_t>& order,
             std::vector<point_t>& label, int threads) {
    const index_t n = points.rows;
    for (index_t s = 0; s < n; ++s) label[order[static_cast<std::size_t>(s)]] = static_cast<point_t>(s);
    points.reorder(order);
    for (Tree& tree : trees)
        parallel_for(n, threads, [&](index_t begin, index_t end) {
            for (index_t s = begin; s < end; ++s)
                tree.order[static_cast<std::size_t>(s)] = label[tree.order[static_cast<std::size_t>(s)]];
        });
}

// 2. The first graph, tree by tree (each tree freed once merged); then every entry is fresh.
void first_graph(const Points& points, std::vector<Tree>& trees, int threads, Rows& rows,
                 const std::function<void(double)>& report_progress) {
    for (std::size_t t = 0; t < trees.size(); ++t) {
        merge_tree(points, trees[t], threads, rows);
        std::vector<point_t>().swap(trees[t].order);
        report_progress(forest_end + (first_graph_end - forest_end) * static_cast<double>(t + 1) /
                                         static_cast<double>(trees.size()));
    }
    trees.clear();
    rows.mark_all_fresh();
}

// Back to the input's labels: the entries, then the rows (in place: no second N k array).
void to_input_labels(NeighborGraph& graph, const std::vector<point_t>& order, const std::vector<point_t>& label,
                     int threads) {
    parallel_for(graph.n * graph.k, threads, [&](index_t begin, index_t end) {
        for (index_t e = begin; e < end; ++e) {
            point_t& entry = graph.indices[static_cast<std::size_t>(e)];
            if (entry != no_point) entry = order[entry];
        }
    });
    gather_rows_in_place(graph.indices.data(), graph.k, label);
}

// Steps 1 to 3: the forest, the first graph and the refinement, into graph.indices (in labels), order and
// label (label[order[s]] = s). A reordered source is back in the input's order on return, or when it throws.
void search(ConstMatrixView x, const NndescentParameters& p, int threads, double* reorderable, NeighborGraph& graph,
            std::vector<point_t>& order, std::vector<point_t>& label, NndescentReport& r,
            const std::function<void(double)>& report_progress) {
    const index_t n = x.rows, k = graph.k;
    auto start = std::chrono::steady_clock::now();
    // A reordered source is put back in the input's order when the search is done (or throws).
    struct Restore {
        double* rows;
        index_t cols;
        const std::vector<point_t>& label;
        bool moved = false;
        ~Restore() {
            if (moved) gather_rows_in_place(rows, cols, label);
        }
    } restore{reorderable, x.cols, label};
    Points points(x, p.metric, threads, reorderable);
    // 1. The forest, one task per tree, over the input's labels; then everything is relabelled.
    std::vector<Tree> trees = build_forest(points, p, threads);
    order = trees.front().order;
    relabel(points, trees, order, label, threads);
    restore.moved = reorderable != nullptr;
    r.forest_seconds = seconds_since(start);
    report_progress(forest_end);

    Rows rows(graph.indices, n, k);
    start = std::chrono::steady_clock::now();
    first_graph(points, trees, threads, rows, report_progress);
    r.init_seconds = seconds_since(start);

    start = std::chrono::steady_clock::now();
    refine(points, rows, p, threads, r, [&](index_t round) {
        report_progress(first_graph_end + (rounds_end - first_graph_end) * static_cast<double>(round + 1) /
                                              static_cast<double>(p.rounds));
    });
    r.refine_seconds = seconds_since(start);
}

}  // namespace

// Defaults: 8 trees and 60 candidates (benchmarks/RESULTS.md, section 10.3): fewer candidates need more
// rounds, and a round's cost is mostly memory traffic, not distances, so 60 is no slower and finds more.
NndescentParameters resolve_nndescent(const NeighborOptions& options, index_t n, index_t k) {
    (void)n;
    (void)k;
    NndescentParameters p;
    p.trees = options.nndescent_trees > 0 ? options.nndescent_trees : 8;
    p.leaf_size = options.nndescent_leaf_size > 0 ? options.nndescent_leaf_size : 100;
    p.rounds = options.nndescent_rounds > 0 ? options.nndescent_rounds : 10;
    p.candidates = 60;
    p.reverse_cap = 32;
    p.stop_fraction = 0.001;
    p.block = 4096;
    p.metric = options.metric;
    return p;
}

double nndescent_bytes(double n, double d, double k, const NeighborOptions& options) {
    // While the graph is refined: the output's indices (4 N k, part of the graph's 12 N k), the working
    // float distances (4 N k) and flags (2 ceil(k / 8) a point), the float copy of the points (4 N D), the
    // reverse lists (4 bytes a slot, reverse_cap a point, and a 4-byte mask), labels, locks and worst
    // distances (17 N); while the first graph is built, 4 N per tree as well. The exact distances (8 N k)
    // are allocated after the working buffers are freed.
    const NndescentParameters p = resolve_nndescent(options, static_cast<index_t>(n), static_cast<index_t>(k));
    const double trees = static_cast<double>(p.trees);
    const double flags = 2 * std::ceil(k / 8);
    const double reverse = 4 * static_cast<double>(p.reverse_cap) + 4;
    const double working = n * (8 * k + flags + 4 * d + reverse + 17 + 4 * trees);
    return std::max(0.0, working - 12 * n * k);
}

NeighborGraph knn_nndescent(ConstMatrixView x, index_t k, const NndescentParameters& p, int threads,
                            NndescentReport* report, const SearchProgress& progress, RowValues* row_values,
                            double* reorderable) {
    require(reorderable == nullptr || reorderable == x.data, "knn_nndescent: the rows to reorder must be x's");
    auto report_progress = [&](double fraction) {
        if (progress) progress(fraction);
    };
    NndescentReport local;
    NndescentReport& r = report ? *report : local;
    r = NndescentReport{};
    const index_t n = x.rows;
    auto start = std::chrono::steady_clock::now();
    // Small inputs: the exact scan costs about as much as one round, and settles k close to N exactly.
    if (n <= std::max<index_t>(4 * (k + 1), p.leaf_size)) {
        NeighborGraph graph = allocate_graph(n, k);
        exact_scan_all(x, k, p.metric, threads, graph);
        r.exact_rows = n;
        r.finish_seconds = seconds_since(start);
        return graph;
    }
    NeighborGraph graph;
    graph.n = n;
    graph.k = k;
    reserve_huge(graph.indices, static_cast<std::size_t>(n * k));
    graph.indices.resize(static_cast<std::size_t>(n * k));
    // The search runs on relabelled points: label s is input point order[s], in the first tree's order.
    std::vector<point_t> order;
    std::vector<point_t> label(static_cast<std::size_t>(n));  // input point -> label
    search(x, p, threads, reorderable, graph, order, label, r, report_progress);
    start = std::chrono::steady_clock::now();
    to_input_labels(graph, order, label, threads);
    // 4. Exact distances and the project's order (the working rows are freed first), or the row values
    // made from them (4 bytes an entry instead of 8).
    if (row_values)
        row_values->values.assign(static_cast<std::size_t>(n * k), 0.0f);
    else
        graph.distances.resize(static_cast<std::size_t>(n * k));
    r.exact_rows = finish(x, p.metric, threads, graph, row_values);
    r.finish_seconds = seconds_since(start);
    report_progress(1.0);
    return graph;
}

NeighborGraph knn_nndescent(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                            const SearchProgress& progress, RowValues* row_values, double* reorderable) {
    return knn_nndescent(x, k, resolve_nndescent(options, x.rows, k), threads, nullptr, progress, row_values,
                         reorderable);
}

}  // namespace treesne::detail
