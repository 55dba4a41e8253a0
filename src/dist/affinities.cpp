// Distributed P (see affinities.hpp): the symmetric pattern, the locality order by a level-synchronous
// breadth-first search, and P's values built at their final owners, each exchange in bounded rounds.
#include "dist/affinities.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include "dist/bytes.hpp"
#include "dist/collective_ops.hpp"
#include "treesne/affinities/precomputed.hpp"
#include "treesne/core/errors.hpp"

namespace treesne::dist {
namespace {

// An entry of a row of P (columns are unique within a row, so the column orders them).
struct Entry {
    point_t column;
    float value;
    bool operator<(const Entry& o) const { return column < o.column; }
};

// (row, column) of the pattern: `source` lists `row` in its kNN row.
struct Pair {
    point_t row, source;
};

// p(row, column) before symmetrisation: a conditional of either direction (row lists column, or column
// lists row); a mutual pair arrives twice and the two are added.
struct Triple {
    point_t row, column;
    float value;
};
static_assert(sizeof(Pair) == 8 && sizeof(Triple) == 12 && alignof(Triple) == 4,
              "Pair and Triple are read from the received bytes");

// Rounds of exchange: the rows of every rank are cut into `count` consecutive parts; round t carries
// what is bound for part t of each rank. `count` comes from global sizes only, so every rank agrees.
struct Rounds {
    int count = 1;
    const RowPartition* rows = nullptr;
    std::vector<std::uint16_t> of;  // each row's round

    Rounds(const RowPartition& partition, double bytes_per_rank) : rows(&partition) {
        count = static_cast<int>(std::clamp(std::ceil(bytes_per_rank / buffer_bytes()), 1.0, 65535.0));
        of.resize(static_cast<std::size_t>(partition.first.back()));
        for (int r = 0; r < partition.ranks(); ++r)
            for (index_t i = partition.begin(r); i < partition.end(r); ++i)
                of[static_cast<std::size_t>(i)] = static_cast<std::uint16_t>(part(i - partition.begin(r), partition.rows(r)));
    }
    index_t part(index_t local, index_t rows_of_rank) const { return local * count / rows_of_rank; }
    // The first row of part t of `rank` (t = count: the rank's end).
    index_t begin(int rank, int t) const {
        const index_t len = rows->rows(rank);
        index_t local = (len * t + count - 1) / count;  // the least local row whose part is >= t
        return rows->begin(rank) + std::min(local, len);
    }
};

// The items of one round (rows in [lo, hi): the rows of a round are consecutive) ordered by row by a
// counting pass, then each row's few items by `less`: a sort of the whole round cost more than the
// rest of the stage. Into `out` (a caller may keep its storage, and that of `in`, from round to round).
template <class T, class Less>
void sorted_items(const std::vector<unsigned char>& in, index_t lo, index_t hi, Less less, std::vector<T>& out) {
    const std::size_t count = in.size() / sizeof(T);
    const T* const items = reinterpret_cast<const T*>(in.data());  // the storage is aligned for any type
    std::vector<std::size_t> end(static_cast<std::size_t>(hi - lo) + 1, 0);
    for (std::size_t e = 0; e < count; ++e) {
        require(items[e].row >= lo && items[e].row < hi, "distributed P: an item for row ", items[e].row,
                " outside the round's rows ", lo, "..", hi - 1);
        ++end[items[e].row - lo + 1];
    }
    for (std::size_t r = 1; r < end.size(); ++r) end[r] += end[r - 1];
    out.resize(count);
    for (std::size_t e = 0; e < count; ++e) out[end[items[e].row - lo]++] = items[e];  // end[r]: row r's end
    for (std::size_t r = 0; r + 1 < end.size(); ++r)
        std::sort(out.begin() + static_cast<std::ptrdiff_t>(r == 0 ? 0 : end[r - 1]),
                  out.begin() + static_cast<std::ptrdiff_t>(end[r]), less);
}

// How many items each rank will receive in all, from what each sends to each (for exact reservations).
std::size_t incoming_total(const std::vector<std::size_t>& to_each, Collective& collective) {
    std::vector<std::vector<unsigned char>> out(to_each.size());
    for (std::size_t r = 0; r < to_each.size(); ++r) put(out[r], to_each[r]);
    const std::vector<unsigned char> in = collective.exchange(out);
    Reader read(in);
    std::size_t total = 0;
    while (!read.done()) total += read.get<std::size_t>();
    return total;
}

// Rows as (column, value) lists into a CSR of the rows [first, first + count) of an n-point P; the
// entries of row r are rows[r - first], sorted by column here.
Affinities csr_of(std::vector<std::vector<Entry>>& lists, index_t n, index_t first) {
    Affinities p;
    p.n = n;
    p.offsets.assign(static_cast<std::size_t>(n) + 1, 0);
    std::size_t nnz = 0;
    for (const auto& l : lists) nnz += l.size();
    p.columns.reserve(nnz);
    p.values.reserve(nnz);
    for (std::size_t r = 0; r < lists.size(); ++r) {
        auto& l = lists[r];
        std::sort(l.begin(), l.end());
        for (const Entry& e : l) {
            p.columns.push_back(e.column);
            p.values.push_back(e.value);
        }
        p.offsets[static_cast<std::size_t>(first) + r + 1] = static_cast<index_t>(p.columns.size());
        l = {};
    }
    for (std::size_t i = static_cast<std::size_t>(first) + lists.size() + 1; i < p.offsets.size(); ++i)
        p.offsets[i] = static_cast<index_t>(p.columns.size());
    return p;
}

}  // namespace

namespace {

index_t largest_rows(const RowPartition& rows) {
    index_t largest = 0;
    for (int r = 0; r < rows.ranks(); ++r) largest = std::max(largest, rows.rows(r));
    return largest;
}

// The rows [lo, hi) of P from their triples, sorted by (row, column): a column that arrives twice is a
// mutual pair, p_{j|i} + p_{i|j}; once, the one conditional; both over 2N (symmetrize()'s arithmetic: the
// sum of the same two floats, in either order).
void append_rows(const Triple* x, const Triple* end, index_t lo, index_t hi, double scale, Affinities& p) {
    for (index_t row = lo; row < hi; ++row) {
        while (x < end && x->row == static_cast<point_t>(row)) {
            const Triple* y = x + 1;
            double sum = static_cast<double>(x->value);
            if (y < end && y->row == x->row && y->column == x->column) {
                sum = static_cast<double>(x->value) + static_cast<double>(y->value);
                ++y;
            }
            p.columns.push_back(x->column);
            p.values.push_back(static_cast<float>(sum * scale));
            x = y;
        }
        p.offsets[static_cast<std::size_t>(row) + 1] = static_cast<index_t>(p.columns.size());
    }
    require(x == end, "affinities_in_order: a triple for row ", x == end ? 0 : x->row, " outside the round's rows ",
            lo, "..", hi - 1);
}

}  // namespace

PatternRows symmetric_pattern_rows(const NeighborGraph& graph, const RowPartition& rows, Collective& collective) {
    const int rank = collective.rank(), ranks = collective.size();
    const index_t first = rows.begin(rank), k = graph.k;
    require(graph.n == rows.rows(rank), "symmetric_pattern_rows: ", graph.n, " graph rows for ", rows.rows(rank),
            " own rows");
    const Rounds rounds(rows, static_cast<double>(largest_rows(rows)) * static_cast<double>(k) * sizeof(Pair));
    std::vector<std::size_t> to_each(static_cast<std::size_t>(ranks), 0);
    for (const point_t j : graph.indices) ++to_each[static_cast<std::size_t>(rows.owner(j))];
    PatternRows out;
    out.offsets.assign(static_cast<std::size_t>(graph.n) + 1, 0);
    // An upper bound (mutual pairs appear once): pages reserved but never written cost no memory.
    out.columns.reserve(graph.indices.size() + incoming_total(to_each, collective));
    std::vector<unsigned char> in;
    std::vector<Pair> items;
    for (int t = 0; t < rounds.count; ++t) {
        std::vector<std::vector<unsigned char>> send(static_cast<std::size_t>(ranks));
        for (index_t i = 0; i < graph.n; ++i)
            for (index_t s = 0; s < k; ++s) {
                const point_t j = graph.indices[static_cast<std::size_t>(i * k + s)];
                if (rounds.of[j] == t)
                    put(send[static_cast<std::size_t>(rows.owner(j))], Pair{j, static_cast<point_t>(first + i)});
            }
        collective.exchange(send, in);
        send = {};
        sorted_items<Pair>(in, rounds.begin(rank, t), rounds.begin(rank, t + 1),
                           [](const Pair& a, const Pair& b) { return a.source < b.source; }, items);
        const Pair* listed = items.data();
        const Pair* const to = listed + items.size();
        for (index_t i = rounds.begin(rank, t) - first; i < rounds.begin(rank, t + 1) - first; ++i) {
            const Pair* end = listed;
            while (end < to && end->row == static_cast<point_t>(first + i)) ++end;
            // The union of the row's own neighbours and the points that list it, both sorted.
            const point_t* a = graph.indices.data() + i * k;
            const point_t* const a_end = a + k;
            while (a < a_end || listed < end) {
                const point_t c = listed == end || (a < a_end && *a < listed->source) ? *a : listed->source;
                out.columns.push_back(c);
                a += a < a_end && *a == c ? 1 : 0;
                listed += listed < end && listed->source == c ? 1 : 0;
            }
            out.offsets[static_cast<std::size_t>(i) + 1] = static_cast<index_t>(out.columns.size());
        }
    }
    return out;
}

namespace {

// One level of the search, merged on every rank: the lists of every rank (position in `order` of the
// point expanded, count, the points it reached first on that rank), taken in position order; a point
// is placed by the first list that holds it.
void place_level(const std::vector<unsigned char>& in, const std::vector<std::size_t>& from,
                 std::vector<std::uint8_t>& reached, std::vector<point_t>& order) {
    const std::size_t ranks = from.size() - 1;
    std::vector<std::size_t> at(from.begin(), from.end() - 1);
    const auto word = [&](std::size_t byte) {
        point_t v;
        std::memcpy(&v, in.data() + byte, sizeof v);
        return v;
    };
    for (;;) {  // the rank whose next list comes first (a scan of R heads: R is small next to a level)
        std::size_t best = ranks;
        for (std::size_t r = 0; r < ranks; ++r)
            if (at[r] < from[r + 1] && (best == ranks || word(at[r]) < word(at[best]))) best = r;
        if (best == ranks) return;
        const point_t count = word(at[best] + sizeof(point_t));
        at[best] += 2 * sizeof(point_t);
        for (point_t c = 0; c < count; ++c, at[best] += sizeof(point_t)) {
            const point_t j = word(at[best]);
            if (reached[j] != 1) {
                reached[j] = 1;
                order.push_back(j);
            }
        }
    }
}

}  // namespace

std::vector<point_t> locality_order_rows(const PatternRows& own, const RowPartition& rows, Collective& collective) {
    const auto n = static_cast<std::size_t>(rows.first.back());
    const index_t first = rows.begin(collective.rank()), last = rows.end(collective.rank());
    // 1: placed in `order`; 2: listed by this rank in the current level, not yet placed (another rank's
    // earlier list may place it first, so it is not yet reached for the merge).
    std::vector<std::uint8_t> reached(n, 0);
    std::vector<point_t> order;
    order.reserve(n);
    std::size_t level = 0, start = 0;
    std::vector<unsigned char> mine, in;
    std::vector<std::size_t> from;
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(collective.size()));
    while (order.size() < n) {
        if (level == order.size()) {  // a new component, from the lowest point not reached
            while (reached[start]) ++start;
            reached[start] = 1;
            order.push_back(static_cast<point_t>(start));
        }
        const std::size_t level_end = order.size();
        mine.clear();
        for (std::size_t f = level; f < level_end; ++f) {
            const index_t i = order[f];
            if (i < first || i >= last) continue;
            const std::size_t head = mine.size();
            put(mine, static_cast<point_t>(f));
            put(mine, point_t{0});
            point_t count = 0;
            for (index_t e = own.offsets[static_cast<std::size_t>(i - first)]; e < own.offsets[static_cast<std::size_t>(i - first) + 1]; ++e) {
                const point_t j = own.columns[static_cast<std::size_t>(e)];
                if (reached[j] == 0) {
                    reached[j] = 2;
                    put(mine, j);
                    ++count;
                }
            }
            if (count == 0) mine.resize(head);
            else std::memcpy(mine.data() + head + sizeof(point_t), &count, sizeof count);
        }
        for (auto& o : out) o = mine;
        collective.exchange(out, in, &from);
        place_level(in, from, reached, order);
        level = level_end;
    }
    return order;
}

namespace {

// This rank's kNN edges (relabelled) as the triples of P's rounds. Each row's edges are ordered by the
// round of their target, so that a round takes the next run of every row's edges: one pass over the
// graph in all, not one per round (at 250,000 points, 33 rounds' scans of every edge had cost more than
// the rest of the stage).
class RoundTriples {
  public:
    RoundTriples(NeighborGraph& graph, std::vector<float>& conditional, const std::vector<point_t>& label,
                 index_t first, const Rounds& rounds, const RowPartition& to)
        : graph_(graph), conditional_(conditional), label_(label), first_(first), rounds_(rounds), to_(to),
          next_(static_cast<std::size_t>(graph.n), 0) {
        const auto k = static_cast<std::size_t>(graph.k);
        std::vector<std::pair<point_t, float>> row(k);
        for (index_t i = 0; i < graph.n; ++i) {
            point_t* targets = graph.indices.data() + static_cast<std::size_t>(i) * k;
            float* values = conditional.data() + static_cast<std::size_t>(i) * k;
            for (std::size_t s = 0; s < k; ++s) row[s] = {targets[s], values[s]};
            std::sort(row.begin(), row.end(), [&](const auto& a, const auto& b) {
                return rounds.of[a.first] != rounds.of[b.first] ? rounds.of[a.first] < rounds.of[b.first] : a.first < b.first;
            });
            for (std::size_t s = 0; s < k; ++s) std::tie(targets[s], values[s]) = row[s];
        }
    }

    // Round t's triples for each rank: every edge of a row of round t to the row's owner, and every edge
    // whose target's row is of round t to the target's owner (p_j|i sent to both rows i and j).
    std::vector<std::vector<unsigned char>> round(int t) {
        std::vector<std::vector<unsigned char>> send(static_cast<std::size_t>(to_.ranks()));
        const index_t k = graph_.k;
        for (index_t i = 0; i < graph_.n; ++i) {
            const point_t li = label_[static_cast<std::size_t>(first_ + i)];
            const point_t* targets = graph_.indices.data() + i * k;
            const float* values = conditional_.data() + i * k;
            if (rounds_.of[li] == t) {
                auto& out = send[static_cast<std::size_t>(to_.owner(li))];
                for (index_t s = 0; s < k; ++s) put(out, Triple{li, targets[s], values[s]});
            }
            index_t& s = next_[static_cast<std::size_t>(i)];
            for (; s < k && rounds_.of[targets[s]] == t; ++s)
                put(send[static_cast<std::size_t>(to_.owner(targets[s]))], Triple{targets[s], li, values[s]});
        }
        return send;
    }

  private:
    const NeighborGraph& graph_;
    const std::vector<float>& conditional_;
    const std::vector<point_t>& label_;
    index_t first_;
    const Rounds& rounds_;
    const RowPartition& to_;
    std::vector<index_t> next_;  // each row's first edge of a later round
};

}  // namespace

Affinities affinities_in_order(NeighborGraph graph, std::vector<float> conditional,
                               const std::vector<point_t>& order, const RowPartition& rows, const RowPartition& to,
                               Collective& collective) {
    const index_t n = rows.first.back(), k = graph.k;
    const int rank = collective.rank(), ranks = collective.size();
    const index_t first = rows.begin(rank);
    std::vector<point_t> label(static_cast<std::size_t>(n));
    for (std::size_t r = 0; r < order.size(); ++r) label[order[r]] = static_cast<point_t>(r);
    for (point_t& j : graph.indices) j = label[j];  // the graph in the new labels, in place
    // Each edge twice: to the row of its source and to the row of its target.
    const Rounds rounds(to, 2.0 * static_cast<double>(largest_rows(rows)) * static_cast<double>(k) * sizeof(Triple));
    std::vector<std::size_t> to_each(static_cast<std::size_t>(ranks), 0);
    for (index_t i = 0; i < graph.n; ++i) {
        to_each[static_cast<std::size_t>(to.owner(label[static_cast<std::size_t>(first + i)]))] += static_cast<std::size_t>(k);
        for (index_t s = 0; s < k; ++s) ++to_each[static_cast<std::size_t>(to.owner(graph.indices[static_cast<std::size_t>(i * k + s)]))];
    }
    Affinities p;
    p.n = n;
    p.offsets.assign(static_cast<std::size_t>(n) + 1, 0);
    const std::size_t incoming = incoming_total(to_each, collective);
    p.columns.reserve(incoming);  // an upper bound (a mutual pair is two triples and one entry): unwritten
    p.values.reserve(incoming);   // pages cost no memory
    const double scale = 1.0 / (2.0 * static_cast<double>(n));
    RoundTriples triples(graph, conditional, label, first, rounds, to);
    for (int t = 0; t < rounds.count; ++t) {
        std::vector<std::vector<unsigned char>> send = triples.round(t);
        std::vector<unsigned char> in = collective.exchange(send);
        send = {};
        std::vector<Triple> items;  // fresh each round: P's peak is at its last rounds, and kept buffers
        sorted_items<Triple>(       // of earlier rounds would add to it
            in, rounds.begin(rank, t), rounds.begin(rank, t + 1),
            [](const Triple& a, const Triple& b) { return a.column < b.column; }, items);
        in = {};
        append_rows(items.data(), items.data() + items.size(), rounds.begin(rank, t), rounds.begin(rank, t + 1), scale, p);
    }
    for (index_t i = to.end(rank); i < n; ++i) p.offsets[static_cast<std::size_t>(i) + 1] = static_cast<index_t>(p.columns.size());
    return p;
}

Affinities scatter_rows(const Affinities& whole, index_t n_total, const RowPartition& rows, Collective& collective) {
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(collective.size()));
    if (collective.rank() == 0) {
        for (int r = 0; r < collective.size(); ++r) {
            auto& bytes = out[static_cast<std::size_t>(r)];
            for (index_t i = rows.begin(r); i < rows.end(r); ++i) {
                const index_t count = whole.offsets[i + 1] - whole.offsets[i];
                put(bytes, count);
                put(bytes, whole.columns.data() + whole.offsets[i], static_cast<std::size_t>(count));
                put(bytes, whole.values.data() + whole.offsets[i], static_cast<std::size_t>(count));
            }
        }
    }
    std::vector<unsigned char> in = collective.exchange(out);
    out = {};
    const index_t first = rows.begin(collective.rank());
    std::vector<std::vector<Entry>> lists(static_cast<std::size_t>(rows.rows(collective.rank())));
    Reader read(in);
    std::vector<point_t> columns;
    std::vector<float> values;
    for (auto& l : lists) {
        const auto count = read.get<index_t>();
        columns.resize(static_cast<std::size_t>(count));
        values.resize(static_cast<std::size_t>(count));
        read.copy(columns.data(), columns.size());
        read.copy(values.data(), values.size());
        for (std::size_t e = 0; e < columns.size(); ++e) l.push_back({columns[e], values[e]});
    }
    return csr_of(lists, n_total, first);
}

}  // namespace treesne::dist
