// Exact neighbours of sparse rows (CsrMatrix) by inverted lists, never densified.
//
// The reference is also kept by column (for each feature, the rows holding it and their values). A
// query walks the lists of its own features and accumulates, for every row it meets ("touched"), what
// the metric needs of the pair's shared features: the dot product (euclidean; cosine, on the rows
// scaled to unit length), or for jaccard and hamming the number of shared features and of those with
// equal values, from which the counts of count_coordinates() follow exactly (E = 0 below). From the dot, est = |q|^2 + |r|^2 - 2 q.r estimates the squared distance; a row the
// query never met shares no feature with it, its dot product is exactly 0 and its estimate |q|^2 + |r|^2.
// Such rows are visited in increasing |r|^2 (sorted once), so a query costs its lists' lengths plus
// O(k), not O(N): that is where inverted lists win over a sparse-dense product on text and counts,
// whose rows share few features.
//
// Exactness. The estimate and the exact squared distance (sparse_rank_distance: the sum of (a_j - b_j)^2
// over the union of the two rows' features in index order, which is squared_distance() of the dense rows
// bit for bit, since the zero terms add +0) are each sums of at most m = |q| + |r| (stored entries)
// terms; to first order in u = 2^-53 they differ by at most 2 (m + 3) u (|q|^2 + |r|^2). We use
// E(q, r) = 4 (m + 4) u (|q|^2 + |r|^2) + (m + 4) 2^-1060 (the absolute term covers underflow; inputs
// whose squares could overflow are searched by an exact scan instead). Let d_k be the k-th smallest
// exact distance among the k + extra rows of smallest estimate. Every one of the true k nearest has
// exact distance <= d_k, hence est - E <= d_k: the rows with est - E <= d_k are a superset of the
// answer, and their exact distances, ranked by (distance, tie key) as every backend ranks, give the
// graph of the dense search bit for bit, whatever the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "knn/internal.hpp"
#include "knn/sparse_internal.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/knn/neighbors.hpp"

namespace treesne::detail {
double sparse_rank_distance(Metric metric, ConstCsrView x, index_t a, ConstCsrView y, index_t b,
                            std::vector<double>& scratch) {
    if (counts_coordinates(metric)) {  // the counts of count_coordinates(), over the features either row holds
        index_t i = x.row_begin(a), j = y.row_begin(b), differ = 0, either = 0;
        const index_t i1 = x.row_end(a), j1 = y.row_end(b);
        while (i < i1 || j < j1) {
            ++either;
            if (j == j1 || (i < i1 && x.columns[i] < y.columns[j])) {
                ++i, ++differ;
            } else if (i == i1 || y.columns[j] < x.columns[i]) {
                ++j, ++differ;
            } else {
                differ += x.values[i++] != y.values[j++] ? 1 : 0;
            }
        }
        return metric == Metric::jaccard ? jaccard_ratio(differ, either) : hamming_ratio(differ, x.cols);
    }
    // euclidean and cosine (on unit rows): the sum of squared differences
    // The differences over the union of the rows' features, in column order (a - 0 and 0 - b are exact),
    // then squared_distance() itself against zeros: the very function, and so the very rounding (fused
    // multiply-adds or not, as the compiler chose for it), that the dense search applies; the features
    // neither row holds would only add +0.
    scratch.resize(static_cast<std::size_t>(2 * (x.row_size(a) + y.row_size(b))));
    double* diff = scratch.data();
    index_t i = x.row_begin(a), j = y.row_begin(b), m = 0;
    const index_t i1 = x.row_end(a), j1 = y.row_end(b);
    while (i < i1 || j < j1) {
        if (j == j1 || (i < i1 && x.columns[i] < y.columns[j])) {
            diff[m++] = x.values[i++];
        } else if (i == i1 || y.columns[j] < x.columns[i]) {
            diff[m++] = -y.values[j++];
        } else {
            diff[m++] = x.values[i++] - y.values[j++];
        }
    }
    double* zeros = diff + m;
    std::fill(zeros, zeros + m, 0.0);
    return squared_distance(diff, zeros, m);
}

void sparse_exact_row(ConstCsrView x, index_t q, index_t k, Metric metric, std::vector<double>& scratch,
                      std::vector<Neighbor>& row, NeighborGraph& graph) {
    row.clear();
    for (index_t r = 0; r < x.rows; ++r)
        if (r != q) row.push_back(candidate(q, static_cast<point_t>(r), sparse_rank_distance(metric, x, q, x, r, scratch)));
    write_row(row, q, k, graph, metric);
}

CsrMatrix sparse_unit_rows(ConstCsrView x, int threads) {
    CsrMatrix unit;
    unit.rows = x.rows;
    unit.cols = x.cols;
    unit.offsets.assign(x.offsets, x.offsets + x.rows + 1);
    unit.columns.assign(x.columns, x.columns + x.nnz());
    unit.values.resize(static_cast<std::size_t>(x.nnz()));
    std::vector<index_t> zero_rows;
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            // The steps of unit_rows() on the dense row: its zeros change neither the largest entry nor
            // the norm's sum, so the stored values come out bit for bit the same.
            double largest = 0.0;
            for (index_t e = x.row_begin(i); e < x.row_end(i); ++e) largest = std::max(largest, std::abs(x.values[e]));
            if (!(largest > 0.0)) continue;  // reported below, in row order
            int exponent = 0;
            std::frexp(largest, &exponent);
            double norm = 0.0;
            double* out = unit.values.data() + x.row_begin(i);
            for (index_t e = 0; e < x.row_size(i); ++e) {
                out[e] = std::ldexp(x.values[x.row_begin(i) + e], -exponent);
                norm += out[e] * out[e];
            }
            norm = std::sqrt(norm);
            for (index_t e = 0; e < x.row_size(i); ++e) out[e] /= norm;
        }
    });
    for (index_t i = 0; i < x.rows; ++i)
        require(x.row_size(i) > 0, "cosine distance is undefined for an all-zero row; row ", i + 1,
                " has no non-zero entry (remove it, or use another metric)");
    return unit;
}

namespace {

// Rows beyond k kept by estimate before the exact distances settle the query.
constexpr index_t extra_candidates = 8;
// Above this magnitude a value's square (summed over a row) could overflow: exact scan instead.
constexpr double largest_searchable = 0x1p500;

// The reference by column: for feature f, rows[offsets[f], offsets[f + 1]) hold it, with their values.
struct Columns {
    std::vector<index_t> offsets;
    std::vector<point_t> rows;
    std::vector<double> values;
};

Columns by_column(ConstCsrView x) {
    Columns c;
    c.offsets.assign(static_cast<std::size_t>(x.cols + 1), 0);
    for (index_t e = 0; e < x.nnz(); ++e) ++c.offsets[static_cast<std::size_t>(x.columns[e]) + 1];
    for (index_t f = 0; f < x.cols; ++f) c.offsets[static_cast<std::size_t>(f + 1)] += c.offsets[static_cast<std::size_t>(f)];
    c.rows.resize(static_cast<std::size_t>(x.nnz()));
    c.values.resize(static_cast<std::size_t>(x.nnz()));
    std::vector<index_t> next(c.offsets.begin(), c.offsets.end() - 1);
    for (index_t i = 0; i < x.rows; ++i) {
        for (index_t e = x.row_begin(i); e < x.row_end(i); ++e) {
            const auto at = static_cast<std::size_t>(next[x.columns[e]]++);
            c.rows[at] = static_cast<point_t>(i);
            c.values[at] = x.values[e];
        }
    }
    return c;
}

// A row's estimate (or, for the counting metrics, its exact rank distance).
struct Estimate {
    double value;
    point_t row;
};

// One thread's search. keys_[r] orders the rows that share no feature with a query: |r|^2 for the sums
// of squares (their estimate is |q|^2 + |r|^2), the row's entry count for jaccard and hamming (a row
// sharing nothing differs from q in |q| + |r| coordinates, all of them non-zero in one of the two).
class SparseSearch {
  public:
    SparseSearch(ConstCsrView x, const Columns& columns, const std::vector<double>& keys,
                 const std::vector<point_t>& by_key, index_t max_size, index_t k, Metric metric,
                 NeighborGraph& graph)
        : x_(x), columns_(columns), keys_(keys), by_key_(by_key), max_size_(max_size), k_(k),
          keep_(std::min(k + extra_candidates, x.rows - 1)), metric_(metric), counting_(counts_coordinates(metric)),
          graph_(graph), shared_(static_cast<std::size_t>(x.rows)),
          equal_(counting_ ? static_cast<std::size_t>(x.rows) : 0), stamp_(static_cast<std::size_t>(x.rows), 0) {}

    void query(index_t q) {
        if (++mark_ == 0) {  // wrapped after 2^32 - 1 queries: clear the stamps once
            std::fill(stamp_.begin(), stamp_.end(), 0);
            mark_ = 1;
        }
        accumulate(q);
        // The keep_ rows of smallest estimate: every touched row, and the first untouched ones.
        estimates_.clear();
        for (const point_t r : touched_)
            if (r != q) estimates_.push_back({touched_estimate(q, r), r});
        index_t untouched = 0;
        for (index_t p = 0; p < x_.rows && untouched < keep_; ++p) {
            const point_t r = by_key_[static_cast<std::size_t>(p)];
            if (r == q || stamp_[r] == mark_) continue;
            estimates_.push_back({untouched_estimate(q, r), r});
            ++untouched;
        }
        const auto by_value = [](const Estimate& a, const Estimate& b) { return a.value < b.value; };
        if (static_cast<index_t>(estimates_.size()) > keep_)
            std::nth_element(estimates_.begin(), estimates_.begin() + (keep_ - 1), estimates_.end(), by_value);
        candidates_.clear();
        for (index_t j = 0; j < keep_; ++j) candidates_.push_back(exact(q, estimates_[static_cast<std::size_t>(j)]));
        std::nth_element(candidates_.begin(), candidates_.begin() + (k_ - 1), candidates_.end());
        const double kth = candidates_[static_cast<std::size_t>(k_ - 1)].distance;
        gather_within(q, kth);
        write_row(candidates_, q, k_, graph_, metric_);
    }

  private:
    // For every row r sharing a feature with q (listed in touched_, stamped): shared_[r] = q.r, or for
    // the counting metrics the number of shared features and equal_[r] of those with equal values.
    void accumulate(index_t q) {
        touched_.clear();
        for (index_t e = x_.row_begin(q); e < x_.row_end(q); ++e) {
            const double v = x_.values[e];
            const point_t f = x_.columns[e];
            for (index_t p = columns_.offsets[f]; p < columns_.offsets[f + 1]; ++p) {
                const point_t r = columns_.rows[static_cast<std::size_t>(p)];
                if (stamp_[r] != mark_) {
                    stamp_[r] = mark_;
                    shared_[r] = 0.0;
                    if (counting_) equal_[r] = 0;
                    touched_.push_back(r);
                }
                const double w = columns_.values[static_cast<std::size_t>(p)];
                if (counting_) {
                    shared_[r] += 1.0;
                    equal_[r] += v == w ? 1 : 0;
                } else {
                    shared_[r] += v * w;
                }
            }
        }
    }

    // Jaccard's or hamming's rank distance from the counts (exact: the integers rank_distance counts).
    double ratio(index_t q, point_t r, index_t shared, index_t equal) const {
        const index_t either = x_.row_size(q) + x_.row_size(r) - shared;
        const index_t differ = either - equal;
        return metric_ == Metric::jaccard ? jaccard_ratio(differ, either) : hamming_ratio(differ, x_.cols);
    }

    double touched_estimate(index_t q, point_t r) const {
        if (counting_) return ratio(q, r, static_cast<index_t>(shared_[r]), equal_[r]);
        return keys_[static_cast<std::size_t>(q)] + keys_[r] - 2.0 * shared_[r];
    }

    double untouched_estimate(index_t q, point_t r) const {
        if (counting_) return ratio(q, r, 0, 0);
        return keys_[static_cast<std::size_t>(q)] + keys_[r];
    }

    // E(q, r) of the comment at the top for `size` = |q| + |r| entries (0 for the exact counts).
    double bound(double value, index_t size) const {
        if (counting_) return 0.0;
        const auto m = static_cast<double>(size + 4);
        return 4.0 * m * 0x1p-53 * value + m * 0x1p-1060;
    }

    Neighbor exact(index_t q, const Estimate& e) {
        const double r = counting_ ? e.value : sparse_rank_distance(metric_, x_, q, x_, e.row, scratch_);
        return candidate(q, e.row, r);
    }

    // candidates_ := the exact distances of every row whose estimate is within reach of kth. (For the
    // sums of squares, |q|^2 + |r|^2 bounds the bound's scale: the estimate of an untouched row is it,
    // and a touched row's is at most it.)
    void gather_within(index_t q, double kth) {
        candidates_.clear();
        const double nq = counting_ ? 0.0 : keys_[static_cast<std::size_t>(q)];
        for (const Estimate& e : estimates_) {  // the touched rows and the first untouched ones
            const double scale = counting_ ? 0.0 : nq + keys_[e.row];
            if (e.value - bound(scale, x_.row_size(q) + x_.row_size(e.row)) <= kth) candidates_.push_back(exact(q, e));
        }
        // The untouched rows not yet seen, in key order, while any could be within reach: every later
        // row's estimate is at least this one's, and the bound is at most the largest any row can have.
        index_t seen = 0;
        for (index_t p = 0; p < x_.rows; ++p) {
            const point_t r = by_key_[static_cast<std::size_t>(p)];
            if (r == q || stamp_[r] == mark_) continue;
            if (seen++ < keep_) continue;  // already among estimates_
            const double value = untouched_estimate(q, r);
            if (value - bound(value, x_.row_size(q) + max_size_) > kth) break;
            if (value - bound(value, x_.row_size(q) + x_.row_size(r)) <= kth) candidates_.push_back(exact(q, {value, r}));
        }
    }

    ConstCsrView x_;
    const Columns& columns_;
    const std::vector<double>& keys_;
    const std::vector<point_t>& by_key_;
    index_t max_size_;  // the most entries of any row
    index_t k_, keep_;
    Metric metric_;
    bool counting_;
    NeighborGraph& graph_;
    std::vector<double> shared_;
    std::vector<index_t> equal_;
    std::vector<std::uint32_t> stamp_;
    std::uint32_t mark_ = 0;  // stamp_[r] == mark_: r shares a feature with the current query
    std::vector<point_t> touched_;
    std::vector<Estimate> estimates_;
    std::vector<Neighbor> candidates_;
    std::vector<double> scratch_;
};

// Every row's k nearest by an exact scan of all rows (inputs too large for the estimates).
NeighborGraph sparse_exact_scan(ConstCsrView x, index_t k, Metric metric, int threads, const SearchProgress& progress) {
    NeighborGraph graph = allocate_graph(x.rows, k);
    parallel_for_reporting(
        x.rows, threads,
        [&](index_t begin, index_t end) {
            std::vector<double> scratch;
            std::vector<Neighbor> row;
            for (index_t q = begin; q < end; ++q) sparse_exact_row(x, q, k, metric, scratch, row, graph);
        },
        progress);
    return graph;
}

}  // namespace

NeighborGraph knn_sparse(ConstCsrView x, index_t k, Metric metric, int threads, const SearchProgress& progress) {
    double largest = 0.0;
    for (index_t e = 0; e < x.nnz(); ++e) largest = std::max(largest, std::abs(x.values[e]));
    if (!counts_coordinates(metric) && largest > largest_searchable) return sparse_exact_scan(x, k, metric, threads, progress);
    const Columns columns = by_column(x);
    std::vector<double> keys(static_cast<std::size_t>(x.rows));
    index_t max_size = 0;
    for (index_t i = 0; i < x.rows; ++i) {
        double sum = 0.0;
        for (index_t e = x.row_begin(i); e < x.row_end(i); ++e) sum += x.values[e] * x.values[e];
        keys[static_cast<std::size_t>(i)] = counts_coordinates(metric) ? static_cast<double>(x.row_size(i)) : sum;
        max_size = std::max(max_size, x.row_size(i));
    }
    std::vector<point_t> by_key(static_cast<std::size_t>(x.rows));
    std::iota(by_key.begin(), by_key.end(), point_t{0});
    std::stable_sort(by_key.begin(), by_key.end(), [&](point_t a, point_t b) { return keys[a] < keys[b]; });
    NeighborGraph graph = allocate_graph(x.rows, k);
    parallel_for_reporting(
        x.rows, threads,
        [&](index_t begin, index_t end) {
            SparseSearch search(x, columns, keys, by_key, max_size, k, metric, graph);
            for (index_t q = begin; q < end; ++q) search.query(q);
        },
        progress);
    return graph;
}

}  // namespace treesne::detail
