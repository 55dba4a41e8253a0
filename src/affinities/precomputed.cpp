// Precomputed inputs: neighbour lists, sparse neighbour matrices, dense distance matrices and joint
// affinities, validated and brought into the forms the stages take; the locality orders of P.
#include "treesne/affinities/precomputed.hpp"
#include "treesne/core/scale.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>

#include "core/permutation.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {
namespace {

// One row's neighbours sorted as NeighborGraph wants them: by squared distance, ties by tie_key().
void sort_row(index_t i, std::vector<std::pair<double, point_t>>& row) {
    std::sort(row.begin(), row.end(), [i](const auto& a, const auto& b) {
        return a.first < b.first || (a.first == b.first && tie_key(i, a.second) < tie_key(i, b.second));
    });
}

// Shared by the list and sparse readers: row i's (squared distance, index) pairs into graph row i,
// validated by the graph's own row check (rows numbered from 1, as in the file).
// For rows of a larger graph, row i of g is point first + i of n (0: g.n).
void fill_row(NeighborGraph& g, index_t i, std::vector<std::pair<double, point_t>>& row, const char* what,
              std::vector<point_t>& scratch, index_t first = 0, index_t n = 0) {
    sort_row(first + i, row);
    for (std::size_t s = 0; s < row.size(); ++s) {
        g.indices[static_cast<std::size_t>(i * g.k) + s] = row[s].second;
        g.distances[static_cast<std::size_t>(i * g.k) + s] = row[s].first;
    }
    const std::string defect = detail::neighbor_row_defect(g, i, 1, scratch, first, n);
    require(defect.empty(), what, ": ", defect);
}

// Distances beyond 2^+-100 are scaled by the power of two of scale.hpp's extreme_exponent() (the rule
// coordinates follow) before they are squared: d / 2^e squares without overflow or underflow, exactly
// 4^-e times the squares of d where those are representable, so the graph (and P) is the same bit for bit
// for the same distances at any scale 2^j.

// d^2 in the graph's unit 4^e (see NeighborGraph::scale_exponent); with e = 0, d * d as it always was.
double squared_in_unit(double d, int exponent) {
    if (exponent != 0) d = std::ldexp(d, -exponent);  // ldexp: 2^-e itself may not be representable
    return d * d;
}

// Raises `largest` to d when d is a larger finite value (the readers refuse the others).
void keep_largest(double& largest, double d) {
    if (d > largest && d <= std::numeric_limits<double>::max()) largest = d;
}

}  // namespace

NeighborGraph neighbors_from_lists(index_t n, index_t k, const std::vector<double>& indices,
                                   const std::vector<double>& distances) {
    const char* what = "neighbours";
    require(n >= 2, what, ": t-SNE needs at least 2 points; got ", n);
    require(k >= 1, what, ": need at least 1 neighbour per point; got ", k);
    require(indices.size() == static_cast<std::size_t>(n * k), what, ": ", indices.size(),
            " indices for ", n, " x ", k);
    require(distances.size() == indices.size(), what, ": the indices are ", n, " x ", k, " but there are ",
            distances.size(), " distances (they must have the same shape)");
    const index_t skip = detail::lists_start_with_self(0, n, k, indices) ? 1 : 0;
    const int exponent = extreme_exponent(detail::largest_listed_distance(n, k, skip, distances));
    return detail::neighbor_list_rows(n, 0, n, k, skip, exponent, indices, distances);
}

namespace detail {

bool lists_start_with_self(index_t first, index_t rows, index_t k, const std::vector<double>& indices) {
    // A search over the data that did not skip the query lists each point first, at distance 0.
    bool self_first = k >= 2;
    for (index_t i = 0; i < rows && self_first; ++i)
        self_first = indices[static_cast<std::size_t>(i * k)] == static_cast<double>(first + i);
    return self_first;
}

double largest_listed_distance(index_t rows, index_t k, index_t skip, const std::vector<double>& distances) {
    double largest = 0.0;
    for (index_t i = 0; i < rows; ++i)
        for (index_t s = skip; s < k; ++s) keep_largest(largest, distances[static_cast<std::size_t>(i * k + s)]);
    return largest;
}

NeighborGraph neighbor_list_rows(index_t n, index_t first, index_t rows, index_t k, index_t skip, int exponent,
                                 const std::vector<double>& indices, const std::vector<double>& distances) {
    const char* what = "neighbours";
    auto at = [k](index_t i, index_t s) { return static_cast<std::size_t>(i * k + s); };
    NeighborGraph g;
    g.n = rows;
    g.k = k - skip;
    g.scale_exponent = exponent;
    g.indices.resize(static_cast<std::size_t>(rows * g.k));
    g.distances.resize(static_cast<std::size_t>(rows * g.k));
    std::vector<std::pair<double, point_t>> row;
    std::vector<point_t> scratch;
    for (index_t r = 0; r < rows; ++r) {
        const index_t i = first + r;
        row.clear();
        for (index_t s = skip; s < k; ++s) {
            const double v = indices[at(r, s)], d = distances[at(r, s)];
            require(std::isfinite(v) && v == std::floor(v) && v >= 0 && v < static_cast<double>(n), what,
                    ": row ", i + 1, ", column ", s + 1, ": ", v, " is not a point index in 0..", n - 1);
            require(v != static_cast<double>(i), what, ": row ", i + 1, ", column ", s + 1,
                    ": the point itself (list other points only, or the point itself first in every row)");
            require(std::isfinite(d) && d >= 0, what, ": row ", i + 1, ", column ", s + 1, ": distance ", d,
                    " is not a finite number >= 0");
            row.emplace_back(squared_in_unit(d, g.scale_exponent), static_cast<point_t>(v));
        }
        fill_row(g, r, row, what, scratch, first, n);
    }
    return g;
}

}  // namespace detail

NeighborGraph neighbors_from_sparse(const SparseMatrix& m) {
    const char* what = "neighbours";
    const std::string defect = csr_defect(m);
    require(defect.empty(), what, ": ", defect);
    require(m.n >= 2, what, ": t-SNE needs at least 2 points; got ", m.n);
    const index_t k = m.offsets[1] - m.offsets[0];
    NeighborGraph g;
    g.n = m.n;
    g.k = k;
    require(k >= 1, what, ": row 1 has no neighbours");
    double largest = 0.0;
    for (const float v : m.values) keep_largest(largest, v);
    g.scale_exponent = extreme_exponent(largest);
    g.indices.resize(static_cast<std::size_t>(m.n * k));
    g.distances.resize(static_cast<std::size_t>(m.n * k));
    std::vector<std::pair<double, point_t>> row;
    std::vector<point_t> scratch;
    for (index_t i = 0; i < m.n; ++i) {
        const index_t count = m.offsets[i + 1] - m.offsets[i];
        require(count == k, what, ": row ", i + 1, " has ", count, " neighbours but row 1 has ", k,
                " (every point needs the same number)");
        row.clear();
        for (index_t e = m.offsets[i]; e < m.offsets[i + 1]; ++e) {
            const point_t j = m.columns[static_cast<std::size_t>(e)];
            const double d = m.values[static_cast<std::size_t>(e)];
            require(index_t{j} < m.n, what, ": row ", i + 1, ": column ", index_t{j} + 1, " is beyond ", m.n);
            require(index_t{j} != i, what, ": row ", i + 1, " lists the point itself (self is never a neighbour)");
            require(std::isfinite(d) && d >= 0, what, ": row ", i + 1, ", column ", index_t{j} + 1,
                    ": distance ", d, " is not a finite number >= 0");
            row.emplace_back(squared_in_unit(d, g.scale_exponent), j);
        }
        fill_row(g, i, row, what, scratch);
    }
    return g;
}

NeighborGraph neighbors_from_distances(ConstMatrixView d, index_t k, int threads) {
    const char* what = "distance matrix";
    const index_t n = d.rows;
    require(d.data != nullptr && d.cols == n, what, ": must be square; got ", d.rows, " x ", d.cols);
    require(n >= 2, what, ": t-SNE needs at least 2 points; got ", n);
    require(k >= 1 && k <= n - 1, what, ": k = ", k, " neighbours need 1 <= k <= N - 1 = ", n - 1);
    // Validation first, row by row, so that the first defect in reading order is the one reported.
    double largest = 0.0;
    for (index_t i = 0; i < n; ++i) {
        require(d(i, i) == 0, what, ": the diagonal must be 0 (a point's distance to itself); row ", i + 1,
                " has ", d(i, i));
        for (index_t j = 0; j < n; ++j) {
            const double v = d(i, j);
            require(std::isfinite(v) && v >= 0, what, ": row ", i + 1, ", column ", j + 1, ": ", v,
                    " is not a finite distance >= 0");
            keep_largest(largest, v);
            if (j < i) {
                const double w = d(j, i);
                require(std::abs(v - w) <= 1e-9 * std::max(v, w), what, ": not symmetric: row ", i + 1,
                        ", column ", j + 1, " is ", v, " but row ", j + 1, ", column ", i + 1, " is ", w);
            }
        }
    }
    NeighborGraph g;
    g.n = n;
    g.k = k;
    g.scale_exponent = extreme_exponent(largest);
    g.indices.resize(static_cast<std::size_t>(n * k));
    g.distances.resize(static_cast<std::size_t>(n * k));
    parallel_for(n, threads, [&](index_t begin, index_t end) {
        std::vector<std::pair<double, point_t>> row;
        for (index_t i = begin; i < end; ++i) {
            row.clear();
            for (index_t j = 0; j < n; ++j)
                if (j != i)
                    row.emplace_back(squared_in_unit(d(i, j), g.scale_exponent), static_cast<point_t>(j));
            auto before = [i](const auto& a, const auto& b) {
                return a.first < b.first || (a.first == b.first && tie_key(i, a.second) < tie_key(i, b.second));
            };
            std::nth_element(row.begin(), row.begin() + (k - 1), row.end(), before);
            std::sort(row.begin(), row.begin() + k, before);
            for (index_t s = 0; s < k; ++s) {
                g.indices[static_cast<std::size_t>(i * k + s)] = row[static_cast<std::size_t>(s)].second;
                g.distances[static_cast<std::size_t>(i * k + s)] = row[static_cast<std::size_t>(s)].first;
            }
        }
    });
    return g;
}

namespace {

// P^T: row j lists the rows i with an entry (i, j), in increasing i.
SparseMatrix transpose(const SparseMatrix& p) {
    SparseMatrix t;
    t.n = p.n;
    t.offsets.assign(static_cast<std::size_t>(p.n) + 1, 0);
    for (point_t c : p.columns) ++t.offsets[static_cast<std::size_t>(c) + 1];
    for (std::size_t i = 0; i < static_cast<std::size_t>(p.n); ++i) t.offsets[i + 1] += t.offsets[i];
    t.columns.resize(p.columns.size());
    t.values.resize(p.values.size());
    std::vector<index_t> next(t.offsets.begin(), t.offsets.end() - 1);
    for (index_t i = 0; i < p.n; ++i)
        for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) {
            const auto at = static_cast<std::size_t>(next[p.columns[static_cast<std::size_t>(e)]]++);
            t.columns[at] = static_cast<point_t>(i);
            t.values[at] = p.values[static_cast<std::size_t>(e)];
        }
    return t;
}

bool same_matrix(const SparseMatrix& a, const SparseMatrix& b) {
    return a.offsets == b.offsets && a.columns == b.columns && a.values == b.values;
}

// The sum of P's entries, once each is checked: its column in range and increasing along the row, its
// value finite and >= 0 (InvalidArgument naming the row and column otherwise).
double checked_sum(const SparseMatrix& p, const char* what) {
    double sum = 0;
    for (index_t i = 0; i < p.n; ++i) {
        for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) {
            const auto at = static_cast<std::size_t>(e);
            require(index_t{p.columns[at]} < p.n, what, ": row ", i + 1, ": column ", index_t{p.columns[at]} + 1,
                    " is beyond ", p.n);
            require(e == p.offsets[i] || p.columns[at] > p.columns[at - 1], what, ": row ", i + 1,
                    ": columns must increase (column ", index_t{p.columns[at]} + 1, " is repeated or out of order)");
            const double v = p.values[at];
            require(std::isfinite(v) && v >= 0, what, ": row ", i + 1, ", column ", index_t{p.columns[at]} + 1,
                    ": ", v, " is not a finite value >= 0");
            sum += v;
        }
    }
    return sum;
}

// Removes P's diagonal entries (p is left as it was when it has none); returns how many there were.
index_t drop_diagonal(SparseMatrix& p) {
    index_t diagonal = 0;
    SparseMatrix q;
    q.n = p.n;
    q.offsets.assign(static_cast<std::size_t>(p.n) + 1, 0);
    for (index_t i = 0; i < p.n; ++i) {
        for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) {
            const auto at = static_cast<std::size_t>(e);
            if (index_t{p.columns[at]} == i) {
                ++diagonal;
                continue;
            }
            q.columns.push_back(p.columns[at]);
            q.values.push_back(p.values[at]);
        }
        q.offsets[static_cast<std::size_t>(i) + 1] = q.nnz();
    }
    if (diagonal > 0) p = std::move(q);
    return diagonal;
}

// (P + P^T) / 2 over the union of the two patterns (t = P^T), in double, rounded once.
SparseMatrix symmetric_mean(const SparseMatrix& p, const SparseMatrix& t) {
    SparseMatrix s;
    s.n = p.n;
    s.offsets.assign(static_cast<std::size_t>(p.n) + 1, 0);
    for (index_t i = 0; i < p.n; ++i) {
        index_t a = p.offsets[i], b = t.offsets[i];
        const index_t a_end = p.offsets[i + 1], b_end = t.offsets[i + 1];
        while (a < a_end || b < b_end) {
            const point_t ca = a < a_end ? p.columns[static_cast<std::size_t>(a)] : std::numeric_limits<point_t>::max();
            const point_t cb = b < b_end ? t.columns[static_cast<std::size_t>(b)] : std::numeric_limits<point_t>::max();
            const point_t c = std::min(ca, cb);
            double v = 0;
            if (ca == c) v += p.values[static_cast<std::size_t>(a++)];
            if (cb == c) v += t.values[static_cast<std::size_t>(b++)];
            s.columns.push_back(c);
            s.values.push_back(static_cast<float>(0.5 * v));
        }
        s.offsets[static_cast<std::size_t>(i) + 1] = s.nnz();
    }
    return s;
}

}  // namespace

Affinities prepare_affinities(SparseMatrix p, int threads, std::vector<std::string>* notes) {
    const char* what = "affinities";
    const std::string defect = csr_defect(p);
    require(defect.empty(), what, ": ", defect);
    require(p.n >= 2, what, ": t-SNE needs at least 2 points; got ", p.n);
    require(checked_sum(p, what) > 0, what, ": every entry is 0 (P needs a positive entry)");
    if (affinities_defect(p, threads).empty()) return p;  // already t-SNE's P: untouched, bit for bit

    auto note = [notes](std::string text) {
        if (notes) notes->push_back(std::move(text));
    };
    // Drop the diagonal: a point's affinity to itself has no meaning in t-SNE's Q.
    const index_t diagonal = drop_diagonal(p);
    if (diagonal > 0) note(concat("dropped ", diagonal, " diagonal entries (a point has no affinity to itself)"));
    const SparseMatrix t = transpose(p);
    if (!same_matrix(p, t)) {
        p = symmetric_mean(p, t);
        note("made symmetric: P = (P + P^T) / 2");
    }
    double total = 0;
    for (float v : p.values) total += v;
    require(total > 0, what, ": only the diagonal is positive (P needs an off-diagonal entry)");
    if (std::abs(total - 1.0) > 1e-6) {
        for (float& v : p.values) v = static_cast<float>(static_cast<double>(v) / total);
        note(concat("normalised: the entries summed to ", total, ", now to 1"));
    }
    const std::string left = affinities_defect(p, threads);
    require(left.empty(), what, ": ", left);
    return p;
}

namespace {

// What locality_order and relabel need of a P to index with it: a sound CSR layout, and columns in range
// (checked in their own loops). Throws InvalidArgument naming the defect.
void require_csr(const SparseMatrix& p, const char* what) {
    const std::string defect = csr_defect(p);
    require(defect.empty(), what, ": ", defect);
    require(p.n <= static_cast<index_t>(std::numeric_limits<point_t>::max()), what, ": at most ",
            std::numeric_limits<point_t>::max(), " points are supported; got ", p.n);
}

// The InvalidArgument naming the lowest row of p with a column outside [0, n), once one was seen.
[[noreturn]] void throw_column_out_of_range(const SparseMatrix& p, const char* what) {
    for (index_t i = 0; i < p.n; ++i)
        for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) {
            const point_t j = p.columns[static_cast<std::size_t>(e)];
            if (index_t{j} >= p.n)
                throw InvalidArgument(
                    concat(what, ": row ", i, " has column ", j, " but there are ", p.n, " points"));
        }
    throw InvalidArgument(concat(what, ": a column is outside 0..", p.n - 1));
}

}  // namespace

std::vector<point_t> locality_order(const Affinities& p) {
    require_csr(p, "locality_order: P");
    for (const point_t j : p.columns)
        if (static_cast<index_t>(j) >= p.n) throw_column_out_of_range(p, "locality_order: P");
    return locality_order_of_pattern(p.n, p.offsets, p.columns);
}

std::vector<point_t> locality_order_of_pattern(index_t n_points, const std::vector<index_t>& offsets,
                                               const std::vector<point_t>& columns) {
    const auto n = static_cast<std::size_t>(n_points);
    require(offsets.size() == n + 1 && offsets.back() == static_cast<index_t>(columns.size()),
            "locality_order: a pattern of ", n_points, " rows needs ", n + 1, " offsets ending at its ",
            columns.size(), " columns; got ", offsets.size());
    std::vector<point_t> order;
    order.reserve(n);
    std::vector<std::uint8_t> reached(n, 0);  // bytes: cheaper to test and set than bits
    std::size_t head = 0;  // `order` is its own queue: from head on, reached but not yet expanded
    for (std::size_t start = 0; start < n; ++start) {
        if (reached[start]) continue;
        reached[start] = 1;
        order.push_back(static_cast<point_t>(start));
        for (; head < order.size(); ++head) {
            const point_t i = order[head];
            for (index_t e = offsets[i]; e < offsets[i + 1]; ++e) {
                const point_t j = columns[static_cast<std::size_t>(e)];
                require(j < n, "locality_order: column ", j, " is outside 0..", n_points - 1);
                if (!reached[j]) {
                    reached[j] = 1;
                    order.push_back(j);
                }
            }
        }
    }
    return order;
}

Affinities relabel(const Affinities& p, const std::vector<point_t>& order, int threads) {
    require_csr(p, "relabel: P");
    const std::vector<point_t> label = detail::inverse_order(order, p.n, "relabel: the order");
    Affinities out;
    out.n = p.n;
    out.offsets.assign(static_cast<std::size_t>(p.n) + 1, 0);
    for (index_t r = 0; r < p.n; ++r) {
        const point_t i = order[static_cast<std::size_t>(r)];
        out.offsets[static_cast<std::size_t>(r) + 1] = out.offsets[static_cast<std::size_t>(r)] + p.offsets[i + 1] - p.offsets[i];
    }
    out.columns.resize(p.columns.size());
    out.values.resize(p.values.size());
    std::atomic<bool> out_of_range{false};
    parallel_for(p.n, threads, [&](index_t begin, index_t end) {
        std::vector<std::pair<point_t, float>> row;
        for (index_t r = begin; r < end; ++r) {
            const point_t i = order[static_cast<std::size_t>(r)];
            row.clear();
            for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) {
                const point_t j = p.columns[static_cast<std::size_t>(e)];
                if (index_t{j} >= p.n) {  // reported below, for the lowest such row
                    out_of_range.store(true, std::memory_order_relaxed);
                    return;
                }
                row.emplace_back(label[j], p.values[static_cast<std::size_t>(e)]);
            }
            std::sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            for (std::size_t s = 0; s < row.size(); ++s) {
                out.columns[static_cast<std::size_t>(out.offsets[static_cast<std::size_t>(r)]) + s] = row[s].first;
                out.values[static_cast<std::size_t>(out.offsets[static_cast<std::size_t>(r)]) + s] = row[s].second;
            }
        }
    });
    if (out_of_range.load()) throw_column_out_of_range(p, "relabel: P");
    return out;
}

}  // namespace treesne
