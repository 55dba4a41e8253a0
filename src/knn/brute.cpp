// Brute-force backend: blocked float dot products for candidate selection, exact double re-ranking (euclidean,
// and cosine and correlation on the unit or centred unit rows the caller passes: the same search, other
// reported distances); for manhattan, chebyshev, jaccard and hamming an exact blocked scan
// (coordinate_search, below; popcounts of bit-packed rows for jaccard and hamming on 0/1 data).
//
// The points are centred, scaled by a power of two, rounded to float and put in a spatial order
// (recursive median splits), so that consecutive blocks are compact. For a block of queries Q and a block
// of references R, the float estimate of |q - r|^2 is |q|^2 + (|r|^2 - 2 q . r); the float pass
// (knn/estimates.hpp, compiled per instruction set and chosen at run time) computes |r|^2 - 2 q . r for
// a tile of queries against a panel of references in registers and compares it with each query's
// threshold at once, so no block of G = -2 Q R^T is ever stored. Each query keeps the k + m references
// with the smallest estimates (self skipped); references are visited from the queries' own block
// outwards, so the selection threshold drops after the first blocks and the rest is a vectorised
// comparison. Then the candidates' distances are recomputed exactly with squared_distance() and sorted
// by (distance, tie key).
//
// Exactness. Let u = 2^-24 and work on the centred data (translation does not change distances, and it
// shrinks the norms that the float error scales with), scaled so that every |coordinate| < 1 (exact; it
// keeps float far from overflow and underflow). For a query q and any reference r, the float estimate
// e(q, r) and the exact squared distance d(q, r) obey, to first order in u,
//   |e - d| <= u [4 (|q|^2 + |r|^2)            rounding the coordinates to float
//               + D (|q|^2 + |r|^2)            the dot product (any summation order, FMA or not)
//               + 3 (|q|^2 + |r|^2)]           rounding |r|^2 and the sum |r|^2 + G_qr
//          <= (D + 7) u (|q|^2 + |r|^2),
// while squared_distance() and the centring are within ~(D + 3) 2^-53 of exact. We use the bound
//   E(q) = 4 (D + 2) u (|q|^2 + max_r |r|^2) + D 2^-100,
// at least 1.5 times the first-order bound for every D >= 1 (3.5 times at D = 50); the absolute term
// covers float subnormals and double underflow. Every reference left out of q's candidates has an
// estimate at least the final selection threshold t (the threshold only ever decreases, and only values
// >= it are rejected or evicted). So when |q|^2 + t - E(q) > d_k, the exact distance of the k-th best
// candidate, every point left out has d > d_k strictly and cannot be among the k nearest even with index
// tie-breaking: the answer is exact. When the test fails (duplicate or equidistant points around the
// k-th neighbour), the query is rescanned: one float pass over all N points collects every point whose
// estimate is within d_k + E(q), a superset of the k nearest, and their exact distances settle it. So
// the result always equals the naive scan bit for bit, whatever the data or the thread count.
//
// Queries of other points (knn_brute_queries, for transform): the queries are centred by the reference's
// mean and scaled with the reference into one frame (the power of two covers both sets, so every
// |coordinate| < 1 still holds and the bound above applies unchanged), nothing is skipped as self, and
// each query block visits the reference blocks in order from the first (there is no "own" block; the
// threshold still drops after the first blocks).
//
// Blocks (knn_block_candidates, for a search spread over processes): the queries and the reference are
// blocks of rows of one data set, and every row carries its index in the whole set (Output), so the tie
// keys, the skipped self and the indices are those of one search over all of it. Two equal blocks are
// the search above; other blocks (disjoint, or sharing some rows) are searched as queries of other
// points, in a frame centred on the reference whose power of two covers both blocks: every |coordinate|
// < 1 again, so the bound above holds for any split, and each block's k best are exact.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "knn/estimates.hpp"
#include "knn/internal.hpp"
#include "core/lanes.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::detail {
namespace {

using FloatRows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Extra candidates kept beyond k: the gap between the k-th and (k+m)-th float distances must exceed
// the error bound for a query to be settled without a rescan.
constexpr index_t extra_candidates = 16;
// Queries and references per block: the block's references (512 x D floats, 100 KiB at D = 50) stay in
// L2 while the queries' tiles walk them. Fixed, not derived from the thread count (the answer is exact
// anyway).
constexpr index_t query_block = 256;
constexpr index_t reference_block = 512;
// Leaves of the spatial ordering.
constexpr index_t order_leaf = 32;

// The data prepared for the float pass: centred, scaled by 2^-e, rounded to float, in a spatial order.
struct FloatData {
    std::vector<point_t> order;       // position -> original index
    FloatRows points;                 // N x D, row p is point order[p]
    std::vector<float> panels;        // the same rows in the float pass's panels (estimates.hpp)
    std::vector<float> norms;         // |r|^2 of the float rows, rounded to float, by position, padded
                                      // to whole panels with +inf
    std::vector<double> norms_exact;  // the same in double
    double max_norm = 0;              // max_r |r|^2
    double scale_squared = 1;         // (2^-e)^2: exact distances times this are in float units
};

// One split of spatial_order: [first, last) cut at its middle along the coordinate of largest range;
// returns the middle.
point_t* spatial_split(const FloatRows& p, point_t* first, point_t* last) {
    const index_t n = last - first;
    const index_t d = p.cols();
    std::vector<float> lo(static_cast<std::size_t>(d), std::numeric_limits<float>::infinity());
    std::vector<float> hi(static_cast<std::size_t>(d), -std::numeric_limits<float>::infinity());
    for (const point_t* it = first; it != last; ++it) {
        const float* row = p.data() + static_cast<index_t>(*it) * d;
        for (index_t j = 0; j < d; ++j) {
            lo[static_cast<std::size_t>(j)] = std::min(lo[static_cast<std::size_t>(j)], row[j]);
            hi[static_cast<std::size_t>(j)] = std::max(hi[static_cast<std::size_t>(j)], row[j]);
        }
    }
    index_t dim = 0;
    for (index_t j = 1; j < d; ++j) {
        const auto sj = static_cast<std::size_t>(j), sd = static_cast<std::size_t>(dim);
        if (hi[sj] - lo[sj] > hi[sd] - lo[sd]) dim = j;
    }
    point_t* mid = first + n / 2;
    std::nth_element(first, mid, last, [&](point_t a, point_t b) {
        const float va = p(a, dim), vb = p(b, dim);
        return va < vb || (va == vb && a < b);
    });
    return mid;
}

// Recursive median split along the coordinate of largest range, so that consecutive positions are
// close in space. Only a heuristic for speed: the results do not depend on it.
void spatial_order(const FloatRows& p, point_t* first, point_t* last) {
    if (last - first <= order_leaf) return;
    point_t* mid = spatial_split(p, first, last);
    spatial_order(p, first, mid);
    spatial_order(p, mid, last);
}

// The same order, the levels near the root split in parallel (the segments of a level are
// independent), then each segment finished on its own: the same splits as the serial recursion.
void spatial_order(const FloatRows& p, point_t* first, point_t* last, int threads) {
    using Segment = std::pair<point_t*, point_t*>;
    std::vector<Segment> segments{{first, last}};
    const auto wanted = static_cast<std::size_t>(8 * resolve_threads(threads));
    while (segments.size() < wanted && segments.front().second - segments.front().first > order_leaf) {
        std::vector<Segment> next(2 * segments.size());
        parallel_for(
            static_cast<index_t>(segments.size()), threads,
            [&](index_t b, index_t e) {
                for (index_t s = b; s < e; ++s) {
                    const auto [lo, hi] = segments[static_cast<std::size_t>(s)];
                    point_t* mid = hi - lo > order_leaf ? spatial_split(p, lo, hi) : hi;
                    next[static_cast<std::size_t>(2 * s)] = {lo, mid};
                    next[static_cast<std::size_t>(2 * s + 1)] = {mid, hi};
                }
            },
            1);
        segments = std::move(next);
    }
    parallel_for(
        static_cast<index_t>(segments.size()), threads,
        [&](index_t b, index_t e) {
            for (index_t s = b; s < e; ++s) {
                const auto [lo, hi] = segments[static_cast<std::size_t>(s)];
                spatial_order(p, lo, hi);
            }
        },
        1);
}

// The frame of the float pass: the reference's column means and the power of two that brings every
// centred coordinate, of the reference and of the queries (if any), below 1 in magnitude.
struct Frame {
    std::vector<double> mean;
    double scale = 1;
};

// Returns false when the data's range makes the float pass pointless (all points equal, or the
// coordinates so large or tiny that scaling by a power of two would over- or underflow doubles).
bool make_frame(ConstMatrixView x, ConstMatrixView queries, Frame& frame) {
    const index_t n = x.rows, d = x.cols;
    // Column means, summed in row order (serial: O(N D), negligible next to the search).
    frame.mean.assign(static_cast<std::size_t>(d), 0.0);
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < d; ++j) frame.mean[static_cast<std::size_t>(j)] += x(i, j);
    for (double& m : frame.mean) m /= static_cast<double>(n);
    double max_abs = 0;
    for (const ConstMatrixView& m : {x, queries})
        for (index_t i = 0; i < m.rows; ++i)
            for (index_t j = 0; j < d; ++j)
                max_abs = std::max(max_abs, std::abs(m(i, j) - frame.mean[static_cast<std::size_t>(j)]));
    if (!(max_abs > 0) || !std::isfinite(max_abs)) return false;
    int exponent = 0;
    std::frexp(max_abs, &exponent);  // max_abs in [2^(e-1), 2^e)
    if (exponent < -400 || exponent > 400) return false;
    frame.scale = std::ldexp(1.0, -exponent);
    return true;
}

// The rows of x in the frame, rounded to float, in a spatial order, with their norms; as references
// (the default) also in the float pass's panels, which queries of other points do not need.
enum class FloatRole { reference, queries };
void to_float(ConstMatrixView x, const Frame& frame, FloatData& out, int threads,
              FloatRole role = FloatRole::reference) {
    const index_t n = x.rows, d = x.cols;
    out.scale_squared = frame.scale * frame.scale;
    FloatRows scaled(n, d);
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i)
            for (index_t j = 0; j < d; ++j)
                scaled(i, j) =
                    static_cast<float>((x(i, j) - frame.mean[static_cast<std::size_t>(j)]) * frame.scale);
    });
    out.order.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) out.order[static_cast<std::size_t>(i)] = static_cast<point_t>(i);
    spatial_order(scaled, out.order.data(), out.order.data() + n, threads);
    out.points.resize(n, d);
    out.norms.resize(static_cast<std::size_t>(n));
    out.norms_exact.resize(static_cast<std::size_t>(n));
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        for (index_t q = begin; q < end; ++q) {
            out.points.row(q) = scaled.row(out.order[static_cast<std::size_t>(q)]);
            double norm = 0;
            for (index_t j = 0; j < d; ++j) norm += static_cast<double>(out.points(q, j)) * out.points(q, j);
            out.norms[static_cast<std::size_t>(q)] = static_cast<float>(norm);
            out.norms_exact[static_cast<std::size_t>(q)] = norm;
        }
    });
    FloatRows().swap(scaled);  // before the panels: two float copies at most, as brute_bytes() counts
    if (role == FloatRole::reference) out.panels = estimate_panels(out.points.data(), n, d, threads);
    const index_t padded = (n + estimate_panel_width - 1) / estimate_panel_width * estimate_panel_width;
    out.norms.resize(static_cast<std::size_t>(padded), std::numeric_limits<float>::infinity());
    out.max_norm = 0;  // a maximum: the same in any order
    for (const double norm : out.norms_exact) out.max_norm = std::max(out.max_norm, norm);
}

// Where a search's rows go, and the labels they carry. A whole-data search (knn_brute,
// knn_brute_queries) labels every row by its own index and writes graph rows (write_row); a block search
// (knn_block_candidates) labels query row i as query_first + i and reference row j as reference_first +
// j, their indices in the whole data, so that the tie keys and the indices are those of one search over
// all of it, and keeps each row's ranked candidates (store_row). skip_own: the reference row with the
// query's label is the query itself and is left out (not so for queries of other points).
struct Output {
    index_t k;
    Metric metric;
    bool skip_own;
    NeighborGraph* graph = nullptr;
    BlockCandidates* block = nullptr;
    index_t query_first = 0;
    index_t reference_first = 0;
    // The candidates already held for these query rows (the running result of a block search), or
    // none: a reference row farther than a query's k-th known candidate cannot change its k best.
    const BlockCandidates* known = nullptr;
    CompactCandidates* compact = nullptr;  // else block or graph
    // With compact: query i is row compact_row0 + i of it, and merge: the candidates it holds are the
    // known ones, and each query's new candidates are merged into its row (knn_block_merge).
    index_t compact_row0 = 0;
    bool merge = false;

    // The rank distance beyond which a reference row cannot matter to query `query`: the k-th known
    // candidate's, or +inf.
    double reach(index_t query) const {
        if (merge) {
            const auto row = static_cast<std::size_t>(compact_row0 + query);
            if (compact->count[row] < k) return std::numeric_limits<double>::infinity();
            return compact->distance[row * static_cast<std::size_t>(k) + static_cast<std::size_t>(k - 1)];
        }
        if (known == nullptr || known->count[static_cast<std::size_t>(query)] < k)
            return std::numeric_limits<double>::infinity();
        return known->row(query)[k - 1].distance;
    }
    Neighbor label(index_t query, index_t reference, double distance) const {
        return candidate(query_first + query, static_cast<point_t>(reference_first + reference), distance);
    }
    // The reference row that is query `query` itself (outside [0, N) when none is), or -1.
    index_t own_row(index_t query) const { return skip_own ? query + query_first - reference_first : -1; }
    void emit(std::vector<Neighbor>& candidates, index_t query) const {
        if (graph != nullptr)
            write_row(candidates, query, k, *graph, metric);
        else if (compact != nullptr && merge)
            merge_row(candidates, compact_row0 + query, *compact);
        else if (compact != nullptr)
            store_row(candidates, compact_row0 + query, *compact);
        else
            store_row(candidates, query, *block);
    }
    // Query `query` (coordinates q) by an exact scan of all rows of x, its own row left out.
    void scan(ConstMatrixView x, const double* q, index_t query, std::vector<Neighbor>& scratch) const {
        scratch.clear();
        scratch.reserve(static_cast<std::size_t>(x.rows));
        const index_t skip = own_row(query);
        for (index_t j = 0; j < x.rows; ++j)
            if (j != skip) scratch.push_back(label(query, j, rank_distance(metric, q, x.row(j), x.cols)));
        emit(scratch, query);
    }
};

// A query's candidate buffer holds the best `keep` estimates so far plus room for about `keep` more
// (EstimateScan, estimates.hpp). An append per accepted estimate and an O(capacity) selection every
// ~keep appends is several times cheaper than a heap's sift-down.
using Candidate = EstimateCandidate;

// The search of one set of queries among the reference points: the reference's own points (self
// skipped), or other points (queries and query_data distinct from x and data), of which those listed in
// skip_positions (by query position: the reference position of the query's own row, or -1) skip a row.
// out.metric: euclidean, or cosine on unit rows (the same search; only the reported distances differ).
class BlockSearch {
  public:
    BlockSearch(ConstMatrixView x, const FloatData& data, const Output& out)
        : BlockSearch(x, data, x, data, true, nullptr, out) {}
    BlockSearch(ConstMatrixView x, const FloatData& data, ConstMatrixView queries,
                const FloatData& query_data, const index_t* skip_positions, const Output& out)
        : BlockSearch(x, data, queries, query_data, false, skip_positions, out) {}

    // Queries at positions [q0, q1). References are visited from the block around the queries outwards:
    // with the spatial order, the first blocks hold most neighbours, the thresholds drop at once and
    // the remaining blocks are almost pure vectorised comparisons. Queries of other points start at
    // the first block.
    void run(index_t q0, index_t q1) {
        const index_t rows = q1 - q0;
        std::fill(count_.begin(), count_.end(), 0);
        for (index_t i = 0; i < rows; ++i) threshold_[static_cast<std::size_t>(i)] = first_threshold(q0 + i);
        const index_t n = x_.rows;
        const index_t blocks = (n + reference_block - 1) / reference_block;
        const index_t home = self_ ? ((q0 + q1) / 2) / reference_block : 0;
        for (index_t step = 0, visited = 0; visited < blocks; ++step) {
            const index_t b = step % 2 == 0 ? home + step / 2 : home - (step + 1) / 2;
            if (b < 0 || b >= blocks) continue;
            ++visited;
            scan_block(q0, rows, b * reference_block, std::min(n, (b + 1) * reference_block));
        }
        for (index_t i = 0; i < rows; ++i) finish(q0 + i, i);
    }

  private:
    BlockSearch(ConstMatrixView x, const FloatData& data, ConstMatrixView queries,
                const FloatData& query_data, bool self, const index_t* skip_positions, const Output& out)
        : x_(x),
          data_(data),
          queries_(queries),
          query_data_(query_data),
          self_(self),
          skip_positions_(skip_positions),
          k_(out.k),
          keep_(k_ + extra_candidates),
          stride_(2 * keep_ + estimate_panel_width),
          out_(out) {
        own_.resize(static_cast<std::size_t>(query_block));
        buffer_.resize(static_cast<std::size_t>(query_block * stride_));
        count_.resize(static_cast<std::size_t>(query_block));
        threshold_.resize(static_cast<std::size_t>(query_block));
    }

    // The float pass over references [r0, r1) for the queries at positions [q0, q0 + rows)
    // (estimates.hpp, compiled per instruction set).
    void scan_block(index_t q0, index_t rows, index_t r0, index_t r1) {
        for (index_t i = 0; i < rows; ++i) own_[static_cast<std::size_t>(i)] = own_position(q0 + i);
        const EstimateScan scan{query_data_.points.data() + q0 * x_.cols,
                                own_.data(),
                                rows,
                                x_.cols,
                                data_.panels.data(),
                                data_.norms.data(),
                                r0,
                                r1,
                                buffer_.data(),
                                stride_,
                                keep_,
                                count_.data(),
                                threshold_.data()};
        scan_estimates(scan);
    }

    void finish(index_t position, index_t slot) {
        const auto s = static_cast<std::size_t>(slot);
        const index_t query = query_data_.order[static_cast<std::size_t>(position)];
        const double* q = queries_.row(query);
        Candidate* buffer = buffer_.data() + slot * stride_;
        index_t count = count_[s];
        if (count < keep_ && std::isinf(out_.reach(query))) {  // cannot happen with N - 1 > keep, finite data
            out_.scan(x_, q, query, candidates_);
            return;
        }
        if (count < keep_) {  // every point left out is farther than the query's known k-th (first_threshold)
            rank_exactly(buffer, count, query);
            out_.emit(candidates_, query);
            return;
        }
        const float threshold = keep_best_estimates(buffer, count, keep_);
        rank_exactly(buffer, keep_, query);
        std::nth_element(candidates_.begin(), candidates_.begin() + (k_ - 1), candidates_.end());
        const double kth = candidates_[static_cast<std::size_t>(k_ - 1)].distance;
        const double qn = query_data_.norms_exact[static_cast<std::size_t>(position)];
        const double bound = error_bound(qn);
        // Every point left out has an estimate >= qn + threshold (see the comment at the top).
        if (qn + static_cast<double>(threshold) - bound > kth * data_.scale_squared) {
            out_.emit(candidates_, query);
        } else {
            rescan(position, query, kth * data_.scale_squared + bound - qn);
        }
    }

    // The exact distances of the first `count` candidates of a buffer, into candidates_.
    void rank_exactly(const Candidate* buffer, index_t count, index_t query) {
        const double* q = queries_.row(query);
        candidates_.clear();
        for (index_t j = 0; j < count; ++j) {
            const point_t p = data_.order[buffer[j].position];
            candidates_.push_back(out_.label(query, p, squared_distance(q, x_.row(p), x_.cols)));
        }
    }

    // E(q) of the comment at the top, for a query of float norm qn (in the frame's units).
    double error_bound(double qn) const {
        const double dims = static_cast<double>(x_.cols);
        return 4.0 * (dims + 2.0) * 0x1p-24 * (qn + data_.max_norm) + dims * 0x1p-100;
    }

    // The first selection threshold of the query at `position`: +inf, or, when the query already holds
    // k candidates (Output::known) of which the k-th has rank distance r, the smallest float above
    // r + E(q) - |q|^2 (frame units): an estimate s at or above it has qn + s - E(q) > r, so the point's
    // exact distance exceeds r and it cannot displace any of the k (not even at equal distance with a
    // smaller tie key).
    float first_threshold(index_t position) const {
        constexpr float infinity = std::numeric_limits<float>::infinity();
        const double r = out_.reach(query_data_.order[static_cast<std::size_t>(position)]);
        if (std::isinf(r)) return infinity;
        const double qn = query_data_.norms_exact[static_cast<std::size_t>(position)];
        const double value = r * data_.scale_squared + error_bound(qn) - qn;
        if (!(value < static_cast<double>(std::numeric_limits<float>::max()))) return infinity;
        float threshold = static_cast<float>(value);
        if (!(static_cast<double>(threshold) > value)) threshold = std::nextafter(threshold, infinity);
        return threshold;
    }

    // The k nearest all have exact distance <= kth, hence a float estimate qn + s <= kth + bound: one
    // float pass over all points collects a superset of them (any summation order obeys the same bound),
    // and the exact distances of that superset settle the query. O(N D) in float plus one
    // squared_distance() per point within reach (many only with heavy ties).
    void rescan(index_t position, index_t query, double reach) {
        const index_t n = x_.rows;
        estimates_.noalias() = data_.points * (-2.0f * query_data_.points.row(position).transpose());
        candidates_.clear();
        const double* q = queries_.row(query);
        const index_t own = own_position(position);
        for (index_t p = 0; p < n; ++p) {
            if (p == own) continue;
            const double s = static_cast<double>(data_.norms[static_cast<std::size_t>(p)] + estimates_[p]);
            if (s <= reach) {
                const point_t i = data_.order[static_cast<std::size_t>(p)];
                candidates_.push_back(out_.label(query, i, squared_distance(q, x_.row(i), x_.cols)));
            }
        }
        if (static_cast<index_t>(candidates_.size()) < k_) {  // only if the bound were violated
            out_.scan(x_, q, query, candidates_);
            return;
        }
        out_.emit(candidates_, query);
    }

    // The reference position the query at `position` skips (itself), or -1.
    index_t own_position(index_t position) const {
        if (self_) return position;
        return skip_positions_ != nullptr ? skip_positions_[position] : -1;
    }

    ConstMatrixView x_;  // the reference points
    const FloatData& data_;
    ConstMatrixView queries_;  // x_ itself, or the other points
    const FloatData& query_data_;
    bool self_;
    const index_t* skip_positions_;
    index_t k_;
    index_t keep_;
    index_t stride_;
    const Output out_;
    std::vector<index_t> own_;  // own_position() of the block's queries
    std::vector<Candidate> buffer_;
    std::vector<index_t> count_;
    std::vector<float> threshold_;
    std::vector<Neighbor> candidates_;
    Eigen::VectorXf estimates_;
};

// Every query by an exact scan of all rows of x (Output::scan).
void exact_scan_all(ConstMatrixView x, ConstMatrixView queries, const Output& out, int threads) {
    parallel_for(queries.rows, threads, [&](index_t begin, index_t end) {
        std::vector<Neighbor> scratch;
        for (index_t i = begin; i < end; ++i) out.scan(x, queries.row(i), i, scratch);
    });
}

// The float search of m queries in blocks of query_block positions, one search per thread (make()
// returns one).
template <class MakeSearch>
void search_blocks(index_t m, int threads, const SearchProgress& progress, const MakeSearch& make) {
    const index_t blocks = (m + query_block - 1) / query_block;
    parallel_for_reporting(
        blocks, threads,
        [&](index_t b0, index_t b1) {
            BlockSearch search = make();
            for (index_t b = b0; b < b1; ++b) search.run(b * query_block, std::min(m, (b + 1) * query_block));
        },
        progress);
}

// --- manhattan, chebyshev, jaccard and hamming: an exact blocked scan ------------------------------
//
// No GEMM identity exists for these metrics, so every distance is computed exactly. A block of queries
// walks the references panel_width at a time (each panel is read from cache by all of them), and a
// Scorer gives the distances of a group of queries to a panel's references, every one bit-equal to
// rank_distance(), so no rescan is needed; each query keeps the candidates whose distance is at most its
// threshold, and when it holds 2k of them a selection keeps the k best by (distance, tie key) and lowers
// the threshold to the k-th distance: a point farther than that can never be among the k nearest, while
// ties at the threshold are kept.
//
// manhattan and chebyshev (PanelScorer): the references are stored in panels of panel_width points,
// transposed (coordinate j of a panel's column c at panel[j * panel_width + c]), and each lane
// accumulates one pair in index order, the same operations as rank_distance() (|a - b| by clearing the
// sign bit, as std::abs does; then a sum or std::max's select).
//
// jaccard and hamming count coordinates: integers, exact in any order, so each pair's counts may be
// summed across lanes and only the final division must be rank_distance()'s (jaccard_ratio,
// hamming_ratio). Rows of 0s and 1s (checked once, is_binary) are packed 64 coordinates a word
// (BitScorer): |A and B| is a sum of popcounts, |A or B| = |A| + |B| - |A and B| and the differing
// coordinates |A or B| - |A and B|. Other rows are compared coordinate by coordinate in place, kLanes at
// a time (CountScorer).

constexpr index_t panel_width = 256;   // references per panel, a multiple of kLanes
constexpr index_t panel_queries = 64;  // queries that walk the panels together

// The reference rows in transposed panels; columns past N are zeros (their distances are never read).
std::vector<double> make_panels(ConstMatrixView x, int threads) {
    return transposed_panels(x.data, x.rows, x.cols, panel_width, threads);
}

using LaneBits = std::int64_t __attribute__((vector_size(kLanes * sizeof(double))));

[[gnu::always_inline]] inline Lanes abs_lanes(Lanes v) {
    LaneBits bits;
    __builtin_memcpy(&bits, &v, sizeof bits);
    bits &= std::numeric_limits<std::int64_t>::max();
    __builtin_memcpy(&v, &bits, sizeof v);
    return v;
}

// Queries scored against one panel load: each coordinate loaded from the panel serves all of them.
constexpr index_t query_group = 4;

// Rank distances from the queries q[0, Q) to the panel's columns [0, groups kLanes), into
// out[s * panel_width + c]. Each lane of each accumulator is one pair, summed in index order.
template <Metric M, index_t Q>
void panel_rank_distances(const double* const* q, const double* panel, index_t d, index_t groups,
                          double* out) {
    for (index_t g = 0; g < groups; ++g) {
        Lanes acc[Q] = {};
        const double* column = panel + g * kLanes;
        for (index_t j = 0; j < d; ++j) {
            const Lanes r = load(column + j * panel_width);
            for (index_t s = 0; s < Q; ++s) {
                const Lanes diff = abs_lanes(broadcast(q[s][j]) - r);
                if constexpr (M == Metric::manhattan)
                    acc[s] += diff;
                else
                    acc[s] = acc[s] < diff ? diff : acc[s];
            }
        }
        for (index_t s = 0; s < Q; ++s)
            __builtin_memcpy(out + s * panel_width + g * kLanes, &acc[s], sizeof acc[s]);
    }
}

// manhattan and chebyshev: the transposed panels of the reference.
template <Metric M>
class PanelScorer {
  public:
    PanelScorer(ConstMatrixView x, ConstMatrixView queries, int threads)
        : queries_(queries), panels_(make_panels(x, threads)) {}

    // Distances of queries [q, q + Q) to references [r0, r0 + cols), into out[s * panel_width + c].
    template <index_t Q>
    void score(index_t q, index_t r0, index_t cols, double* out) const {
        const double* rows[Q];
        for (index_t s = 0; s < Q; ++s) rows[s] = queries_.row(q + s);
        panel_rank_distances<M, Q>(rows, panels_.data() + r0 * queries_.cols, queries_.cols,
                                   (cols + kLanes - 1) / kLanes, out);
    }

  private:
    ConstMatrixView queries_;
    std::vector<double> panels_;
};

// rank_distance() of jaccard or hamming from the counts of a pair.
template <Metric M>
double count_distance(index_t differ, index_t either, index_t d) {
    if constexpr (M == Metric::jaccard)
        return jaccard_ratio(differ, either);
    else
        return hamming_ratio(differ, d);
}

// jaccard and hamming on any rows: each pair's counts, kLanes coordinates at a time (a lane's count is
// -1 per hit: a comparison's true is all ones), then the lanes and the remaining coordinates added.
template <Metric M>
class CountScorer {
  public:
    CountScorer(ConstMatrixView x, ConstMatrixView queries, int /*threads*/) : x_(x), queries_(queries) {}

    template <index_t Q>
    void score(index_t q, index_t r0, index_t cols, double* out) const {
        const index_t d = x_.cols, full = d / kLanes * kLanes;
        const double* rows[Q];
        for (index_t s = 0; s < Q; ++s) rows[s] = queries_.row(q + s);
        for (index_t c = 0; c < cols; ++c) {
            const double* r = x_.row(r0 + c);
            LaneBits differ[Q] = {}, either[Q] = {};
            for (index_t j = 0; j < full; j += kLanes) {
                const Lanes b = load(r + j);
                const LaneBits b_set = b != Lanes{};
                for (index_t s = 0; s < Q; ++s) {
                    const Lanes a = load(rows[s] + j);
                    differ[s] += a != b;
                    if constexpr (M == Metric::jaccard) either[s] += (a != Lanes{}) | b_set;
                }
            }
            for (index_t s = 0; s < Q; ++s) {
                index_t ne = 0, nz = 0;
                for (int l = 0; l < kLanes; ++l) {
                    ne -= differ[s][l];
                    nz -= either[s][l];
                }
                for (index_t j = full; j < d; ++j) {
                    ne += rows[s][j] != r[j] ? 1 : 0;
                    nz += ((rows[s][j] != 0.0) | (r[j] != 0.0)) ? 1 : 0;
                }
                out[s * panel_width + c] = count_distance<M>(ne, nz, d);
            }
        }
    }

  private:
    ConstMatrixView x_, queries_;
};

// Rows of 0s and 1s packed 64 coordinates a word (coordinate j: bit j % 64 of word j / 64; the last
// word's unused bits 0), kLanes rows side by side: word w of row i at ((i / kLanes) words + w) kLanes +
// i % kLanes, so that one load holds word w of kLanes rows (rows past N are zeros); with each row's
// number of ones.
struct BitRows {
    index_t words = 0;
    std::vector<std::uint64_t> bits;
    std::vector<index_t> ones;  // padded like the rows

    BitRows(ConstMatrixView x, int threads) : words((x.cols + 63) / 64) {
        const index_t groups = (x.rows + kLanes - 1) / kLanes;
        bits.assign(static_cast<std::size_t>(groups * words * kLanes), 0);
        ones.assign(static_cast<std::size_t>(groups * kLanes), 0);
        parallel_for(groups, threads, [&](index_t g0, index_t g1) {
            for (index_t i = g0 * kLanes; i < std::min(x.rows, g1 * kLanes); ++i) {
                std::uint64_t* out = bits.data() + (i / kLanes) * words * kLanes + i % kLanes;
                const double* row = x.row(i);
                for (index_t j = 0; j < x.cols; ++j)
                    out[j / 64 * kLanes] |= static_cast<std::uint64_t>(row[j] != 0.0) << (j % 64);
                index_t count = 0;
                for (index_t w = 0; w < words; ++w) count += __builtin_popcountll(out[w * kLanes]);
                ones[static_cast<std::size_t>(i)] = count;
            }
        });
    }
    // Word 0 of row i; word w is at [w kLanes].
    const std::uint64_t* row(index_t i) const { return bits.data() + (i / kLanes) * words * kLanes + i % kLanes; }
    // Word 0 of the kLanes rows from i (a multiple of kLanes); word w of them at [w kLanes, (w + 1) kLanes).
    const std::uint64_t* group(index_t i) const { return bits.data() + i * words; }
};

// |A and B| of the queries q[0, Q) and the kLanes rows of `group`: each lane one pair, summed over the
// words (popcounts of integers: exact in any order; the lane loop vectorises, to vpopcntq where the
// target has it).
template <index_t Q>
[[gnu::always_inline]] inline void common_ones(const std::uint64_t* const* q, const std::uint64_t* group,
                                               index_t words, std::uint64_t (&both)[Q][kLanes]) {
    for (index_t s = 0; s < Q; ++s)
        for (int l = 0; l < kLanes; ++l) both[s][l] = 0;
    for (index_t w = 0; w < words; ++w) {
        const std::uint64_t* r = group + w * kLanes;
        for (index_t s = 0; s < Q; ++s) {
            const std::uint64_t qw = q[s][w * kLanes];
            for (int l = 0; l < kLanes; ++l)
                both[s][l] += static_cast<std::uint64_t>(__builtin_popcountll(qw & r[l]));
        }
    }
}

// jaccard and hamming on rows of 0s and 1s: popcounts of the packed rows, kLanes references at a time.
// The queries' rows are packed too, unless they are the reference's own rows.
template <Metric M>
class BitScorer {
  public:
    BitScorer(ConstMatrixView x, ConstMatrixView queries, int threads)
        : d_(x.cols),
          reference_(x, threads),
          own_(queries.data == x.data && queries.rows == x.rows ? std::optional<BitRows>()
                                                                  : std::optional<BitRows>(std::in_place, queries, threads)),
          queries_(own_ ? *own_ : reference_) {}
    BitScorer(const BitScorer&) = delete;
    BitScorer& operator=(const BitScorer&) = delete;

    // r0 is a multiple of panel_width, so of kLanes.
    template <index_t Q>
    void score(index_t q, index_t r0, index_t cols, double* out) const {
        const index_t words = reference_.words;
        const std::uint64_t* rows[Q];
        for (index_t s = 0; s < Q; ++s) rows[s] = queries_.row(q + s);
        std::uint64_t both[Q][kLanes];
        for (index_t c0 = 0; c0 < cols; c0 += kLanes) {
            common_ones<Q>(rows, reference_.group(r0 + c0), words, both);
            const index_t* r_ones = reference_.ones.data() + r0 + c0;
            for (index_t s = 0; s < Q; ++s) {
                const index_t q_ones = queries_.ones[static_cast<std::size_t>(q + s)];
                for (int l = 0; l < kLanes; ++l) {
                    const auto common = static_cast<index_t>(both[s][l]);
                    const index_t either = q_ones + r_ones[l] - common;
                    out[s * panel_width + c0 + l] = count_distance<M>(either - common, either, d_);
                }
            }
        }
    }

  private:
    index_t d_;
    BitRows reference_;
    std::optional<BitRows> own_;
    const BitRows& queries_;
};

template <class Scorer>
class ExactSearch {
  public:
    // The queries' rows among x's (the same rows, or another block of them: out's labels say which
    // row of x, if any, is a query's own), scored by `scorer`.
    ExactSearch(const Scorer& scorer, index_t references, const Output& out)
        : scorer_(scorer), references_(references), k_(out.k), capacity_(2 * k_ + panel_width), out_(out) {
        buffer_.resize(static_cast<std::size_t>(panel_queries * capacity_));
        count_.resize(static_cast<std::size_t>(panel_queries));
        threshold_.resize(static_cast<std::size_t>(panel_queries));
        distances_.resize(static_cast<std::size_t>(query_group * panel_width));
    }

    // Queries [q0, q1), at most panel_queries of them.
    void run(index_t q0, index_t q1) {
        std::fill(count_.begin(), count_.end(), 0);
        for (index_t q = q0; q < q1; ++q) threshold_[static_cast<std::size_t>(q - q0)] = out_.reach(q);
        for (index_t r0 = 0; r0 < references_; r0 += panel_width) {
            const index_t cols = std::min(panel_width, references_ - r0);
            index_t q = q0;
            for (; q + query_group <= q1; q += query_group) {
                scorer_.template score<query_group>(q, r0, cols, distances_.data());
                for (index_t s = 0; s < query_group; ++s)
                    scan(q + s, q + s - q0, r0, cols, distances_.data() + s * panel_width);
            }
            for (; q < q1; ++q) {
                scorer_.template score<1>(q, r0, cols, distances_.data());
                scan(q, q - q0, r0, cols, distances_.data());
            }
        }
        for (index_t q = q0; q < q1; ++q) {
            const auto s = static_cast<std::size_t>(q - q0);
            Neighbor* buffer = buffer_.data() + s * static_cast<std::size_t>(capacity_);
            row_.assign(buffer, buffer + count_[s]);
            out_.emit(row_, q);
        }
    }

  private:
    void scan(index_t q, index_t slot, index_t r0, index_t cols, const double* dist) {
        const auto s = static_cast<std::size_t>(slot);
        Neighbor* buffer = buffer_.data() + s * static_cast<std::size_t>(capacity_);
        index_t count = count_[s];
        const double threshold = threshold_[s];
        int hits = 0;  // branch-free count first: once the threshold has dropped most panels have none
        for (index_t c = 0; c < cols; ++c) hits += dist[c] <= threshold;
        if (hits == 0) return;
        const index_t own = out_.own_row(q);
        for (index_t c = 0; c < cols; ++c)
            if (dist[c] <= threshold && r0 + c != own) buffer[count++] = out_.label(q, r0 + c, dist[c]);
        if (count >= 2 * k_) {
            std::nth_element(buffer, buffer + (k_ - 1), buffer + count);
            count = k_;
            threshold_[s] = buffer[k_ - 1].distance;
        }
        count_[s] = count;
    }

    const Scorer& scorer_;
    index_t references_, k_, capacity_;
    const Output out_;
    std::vector<Neighbor> buffer_, row_;
    std::vector<index_t> count_;
    std::vector<double> threshold_, distances_;
};

// The queries' rows among x's by Scorer, written to out.
template <class Scorer>
void exact_search(ConstMatrixView x, ConstMatrixView queries, const Output& out, int threads,
                  const SearchProgress& progress) {
    const Scorer scorer(x, queries, threads);
    const index_t m = queries.rows;
    const index_t blocks = (m + panel_queries - 1) / panel_queries;
    parallel_for_reporting(
        blocks, threads,
        [&](index_t b0, index_t b1) {
            ExactSearch<Scorer> search(scorer, x.rows, out);
            for (index_t b = b0; b < b1; ++b)
                search.run(b * panel_queries, std::min(m, (b + 1) * panel_queries));
        },
        progress);
}

// The metrics searched by the exact scan rather than the float prefilter.
bool scanned_exactly(Metric metric) {
    return metric == Metric::manhattan || metric == Metric::chebyshev || metric == Metric::jaccard ||
           metric == Metric::hamming;
}

// jaccard or hamming: popcounts when every row of both is 0/1, else coordinate counts.
template <Metric M>
void count_search(ConstMatrixView x, ConstMatrixView queries, const Output& out, int threads,
                  const SearchProgress& progress) {
    const bool same = queries.data == x.data && queries.rows == x.rows;
    if (is_binary(x) && (same || is_binary(queries)))
        exact_search<BitScorer<M>>(x, queries, out, threads, progress);
    else
        exact_search<CountScorer<M>>(x, queries, out, threads, progress);
}

void coordinate_search(ConstMatrixView x, ConstMatrixView queries, const Output& out, int threads,
                       const SearchProgress& progress) {
    switch (out.metric) {
        case Metric::manhattan:
            return exact_search<PanelScorer<Metric::manhattan>>(x, queries, out, threads, progress);
        case Metric::jaccard:
            return count_search<Metric::jaccard>(x, queries, out, threads, progress);
        case Metric::hamming:
            return count_search<Metric::hamming>(x, queries, out, threads, progress);
        case Metric::chebyshev:
        default:
            return exact_search<PanelScorer<Metric::chebyshev>>(x, queries, out, threads, progress);
    }
}

// The float search of queries among reference rows that are not the same block (they may share some
// rows), both in the frame, which covers both sets (make_frame(reference, queries)), so the bound of
// BlockSearch::finish holds for every pair. A query that is also a reference row skips that row's
// position.
void float_block_search(ConstMatrixView queries, ConstMatrixView reference, const Frame& frame, bool overlap,
                        const Output& out, int threads) {
    FloatData data, query_data;
    to_float(reference, frame, data, threads);
    to_float(queries, frame, query_data, threads, FloatRole::queries);
    std::vector<index_t> own;  // by query position: the position of its own reference row, or -1
    if (overlap) {
        std::vector<index_t> position(static_cast<std::size_t>(reference.rows));
        for (index_t p = 0; p < reference.rows; ++p) position[data.order[static_cast<std::size_t>(p)]] = p;
        own.assign(static_cast<std::size_t>(queries.rows), -1);
        for (index_t p = 0; p < queries.rows; ++p) {
            const index_t row = out.own_row(query_data.order[static_cast<std::size_t>(p)]);
            if (row >= 0 && row < reference.rows)
                own[static_cast<std::size_t>(p)] = position[static_cast<std::size_t>(row)];
        }
    }
    const index_t* skip = own.empty() ? nullptr : own.data();
    search_blocks(queries.rows, threads, {},
                  [&] { return BlockSearch(reference, data, queries, query_data, skip, out); });
}

void check_block_arguments(ConstMatrixView queries, index_t query_first, ConstMatrixView reference,
                           index_t reference_first, index_t k) {
    constexpr auto last = static_cast<index_t>(std::numeric_limits<point_t>::max());
    require(k >= 1, "block search: k must be >= 1; got ", k);
    require(queries.cols == reference.cols, "block search: the query rows have ", queries.cols,
            " columns but the reference rows ", reference.cols);
    require(query_first >= 0 && query_first + queries.rows - 1 <= last, "block search: query rows [",
            query_first, ", ", query_first + queries.rows, ") must lie in [0, 4294967295]");
    require(reference_first >= 0 && reference_first + reference.rows - 1 <= last,
            "block search: reference rows [", reference_first, ", ", reference_first + reference.rows,
            ") must lie in [0, 4294967295]");
}

}  // namespace

double brute_bytes(double n, double d) {
    return n * (8 * d + 16);  // a float copy of the rows, twice, and their norms
}

double count_scan_bytes(double n, double d) {
    return n * (8 * std::ceil(d / 64) + 8);  // BitRows: the packed words and the counts of ones
}

NeighborGraph knn_brute(ConstMatrixView x, index_t k, Metric metric, int threads,
                        const SearchProgress& progress) {
    const index_t n = x.rows;
    NeighborGraph graph = allocate_graph(n, k);
    const Output out{k, metric, true, &graph};
    if (scanned_exactly(metric)) {
        coordinate_search(x, x, out, threads, progress);
        return graph;
    }
    FloatData data;
    Frame frame;
    // With N - 1 <= k + m every point is a candidate anyway: the exact scan is the whole job.
    if (n - 1 <= k + extra_candidates || !make_frame(x, {}, frame)) {
        exact_scan_all(x, x, out, threads);
        return graph;
    }
    to_float(x, frame, data, threads);
    search_blocks(n, threads, progress, [&] { return BlockSearch(x, data, out); });
    return graph;
}

NeighborGraph knn_brute_queries(ConstMatrixView x, ConstMatrixView queries, index_t k, int threads,
                                const SearchProgress& progress) {
    const index_t m = queries.rows;
    NeighborGraph graph = allocate_graph(m, k);
    const Output out{k, Metric::euclidean, false, &graph};
    Frame frame;
    // With N <= k + m every reference point is a candidate anyway: the exact scan is the whole job.
    if (x.rows <= k + extra_candidates || !make_frame(x, queries, frame)) {
        exact_scan_all(x, queries, out, threads);
        return graph;
    }
    FloatData data, query_data;
    to_float(x, frame, data, threads);
    to_float(queries, frame, query_data, threads, FloatRole::queries);
    search_blocks(m, threads, progress,
                  [&] { return BlockSearch(x, data, queries, query_data, nullptr, out); });
    return graph;
}

namespace {

// The search of knn_block_candidates and knn_block_self, into out's candidates.
void block_search(ConstMatrixView queries, index_t query_first, ConstMatrixView reference, index_t reference_first,
                  const Output& out, int threads) {
    if (queries.rows == 0 || reference.rows == 0) return;
    if (scanned_exactly(out.metric)) {
        coordinate_search(reference, queries, out, threads, {});
        return;
    }
    // The same rows: knn_brute's search, labelled. Otherwise every query has at least `available`
    // other reference rows; with no more than k + m of them each is a candidate anyway.
    const bool same = query_first == reference_first && queries.rows == reference.rows;
    const bool overlap =
        query_first < reference_first + reference.rows && reference_first < query_first + queries.rows;
    const index_t available = reference.rows - (overlap ? 1 : 0);
    Frame frame;
    if (available <= out.k + extra_candidates ||
        !make_frame(reference, same ? ConstMatrixView{} : queries, frame)) {
        exact_scan_all(reference, queries, out, threads);
    } else if (same) {
        FloatData data;
        to_float(reference, frame, data, threads);
        search_blocks(reference.rows, threads, {}, [&] { return BlockSearch(reference, data, out); });
    } else {
        float_block_search(queries, reference, frame, overlap, out, threads);
    }
}

}  // namespace

BlockCandidates knn_block_candidates(ConstMatrixView queries, index_t query_first, ConstMatrixView reference,
                                     index_t reference_first, index_t k, Metric metric, int threads,
                                     const BlockCandidates* known) {
    check_block_arguments(queries, query_first, reference, reference_first, k);
    require(known == nullptr || (known->first == query_first && known->rows == queries.rows && known->k == k),
            "block search: the known candidates are not those of these query rows and k");
    BlockCandidates candidates = allocate_candidates(query_first, queries.rows, k);
    block_search(queries, query_first, reference, reference_first,
                 Output{k, metric, true, nullptr, &candidates, query_first, reference_first, known}, threads);
    return candidates;
}

void knn_block_merge(CompactCandidates& c, ConstMatrixView queries, ConstMatrixView reference,
                     index_t reference_first, Metric metric, int threads, index_t query_chunk) {
    check_block_arguments(queries, c.first, reference, reference_first, c.k);
    require(queries.rows == c.rows && query_chunk >= 1, "block merge: ", queries.rows, " query rows for ", c.rows,
            " rows of candidates, chunk ", query_chunk);
    require(c.first + c.rows <= reference_first || reference_first + reference.rows <= c.first,
            "block merge: the query rows [", c.first, ", ", c.first + c.rows, ") and the reference rows [",
            reference_first, ", ", reference_first + reference.rows, ") overlap");
    if (queries.rows == 0 || reference.rows == 0) return;
    Frame frame;
    if (scanned_exactly(metric) || reference.rows <= c.k + extra_candidates || !make_frame(reference, queries, frame)) {
        for (index_t q0 = 0; q0 < queries.rows; q0 += query_chunk) {  // each chunk searched given what it holds
            const index_t rows = std::min(query_chunk, queries.rows - q0);
            BlockCandidates known = expand_candidates(c, q0, rows);
            merge_candidates(known, knn_block_candidates({queries.row(q0), rows, queries.cols}, c.first + q0,
                                                         reference, reference_first, c.k, metric, threads, &known));
            compress_candidates(known, q0, c);
        }
        return;
    }
    FloatData data, query_data;
    to_float(reference, frame, data, threads);
    for (index_t q0 = 0; q0 < queries.rows; q0 += query_chunk) {
        const ConstMatrixView part{queries.row(q0), std::min(query_chunk, queries.rows - q0), queries.cols};
        to_float(part, frame, query_data, threads, FloatRole::queries);  // the frame covers every query row
        Output out{c.k, metric, true, nullptr, nullptr, c.first + q0, reference_first, nullptr};
        out.compact = &c;
        out.compact_row0 = q0;
        out.merge = true;
        search_blocks(part.rows, threads, {},
                      [&] { return BlockSearch(reference, data, part, query_data, nullptr, out); });
    }
}

CompactCandidates knn_block_self(ConstMatrixView x, index_t first, index_t k, Metric metric, int threads) {
    check_block_arguments(x, first, x, first, k);
    CompactCandidates candidates = allocate_compact(first, x.rows, k);
    Output out{k, metric, true, nullptr, nullptr, first, first, nullptr};
    out.compact = &candidates;
    block_search(x, first, x, first, out, threads);
    return candidates;
}

}  // namespace treesne::detail
