// Distributed symmetrisation, locality order and relabelling of P (see affinities.hpp).
#include "dist/affinities.hpp"

#include <algorithm>

#include "dist/bytes.hpp"
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

struct Triple {
    point_t row, source;  // p_{row | source} is conditional: `source` lists `row`
    float value;
};
static_assert(sizeof(Triple) == 12 && alignof(Triple) == 4, "Triple is sorted in the received bytes");

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

// Row i of P: its own neighbours (own, own_p; sorted) merged with the points that list it ([from, to),
// sorted by source). A column in both is mutual, p_{j|i} + p_{i|j}; in one only, that one conditional
// (symmetrize's arithmetic). Appends to p's columns and values.
void merge_row(const point_t* own, const float* own_p, index_t k, const Triple* from, const Triple* to, double scale,
               Affinities& p) {
    index_t a = 0;
    const Triple* b = from;
    while (a < k || b < to) {
        const bool take_a = a < k && (b == to || own[a] <= b->source);
        const bool take_b = b < to && (a == k || b->source <= own[a]);
        double sum;
        point_t column;
        if (take_a && take_b) {
            column = own[a];
            sum = static_cast<double>(own_p[a]) + static_cast<double>(b->value);
        } else if (take_a) {
            column = own[a];
            sum = static_cast<double>(own_p[a]);
        } else {
            column = b->source;
            sum = static_cast<double>(b->value);
        }
        p.columns.push_back(column);
        p.values.push_back(static_cast<float>(sum * scale));
        a += take_a ? 1 : 0;
        b += take_b ? 1 : 0;
    }
}

}  // namespace

Affinities symmetrize_rows(const NeighborGraph& graph, const std::vector<float>& conditional, index_t n_total,
                           const RowPartition& rows, Collective& collective) {
    const index_t first = rows.begin(collective.rank()), k = graph.k;
    require(graph.n == rows.rows(collective.rank()), "symmetrize_rows: ", graph.n, " graph rows for ",
            rows.rows(collective.rank()), " own rows");
    // Each conditional p_{j|i} to the owner of row j.
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(collective.size()));
    for (index_t i = 0; i < graph.n; ++i)
        for (index_t s = 0; s < k; ++s) {
            const auto e = static_cast<std::size_t>(i * k + s);
            const point_t j = graph.indices[e];
            put(out[static_cast<std::size_t>(rows.owner(j))], Triple{j, static_cast<point_t>(first + i), conditional[e]});
        }
    std::vector<unsigned char> in = collective.exchange(out);
    out = {};
    // The triples sorted where they arrived (no second copy: 12 bytes a kNN edge; Triple is three 4-byte
    // fields and the buffer's storage is aligned for any type).
    const Triple* const begin_listed = reinterpret_cast<Triple*>(in.data());
    Triple* const end_listed = reinterpret_cast<Triple*>(in.data()) + in.size() / sizeof(Triple);
    std::sort(reinterpret_cast<Triple*>(in.data()), end_listed,
              [](const Triple& a, const Triple& b) { return a.row != b.row ? a.row < b.row : a.source < b.source; });
    const std::size_t listed_count = static_cast<std::size_t>(end_listed - begin_listed);
    const Triple* listed = begin_listed;
    const double scale = 1.0 / (2.0 * static_cast<double>(n_total));
    Affinities p;
    p.n = graph.n;
    p.offsets.assign(static_cast<std::size_t>(graph.n) + 1, 0);
    std::size_t at = 0;  // the first triple of the current row
    for (index_t i = 0; i < graph.n; ++i) {
        const auto row = static_cast<point_t>(first + i);
        std::size_t end = at;
        while (end < listed_count && listed[end].row == row) ++end;
        merge_row(graph.indices.data() + i * k, conditional.data() + i * k, k, listed + at, listed + end, scale, p);
        p.offsets[static_cast<std::size_t>(i) + 1] = static_cast<index_t>(p.columns.size());
        at = end;
    }
    return p;
}

std::vector<point_t> locality_order_rows(const Affinities& own, const RowPartition& rows, Collective& collective) {
    const index_t n = rows.first.back();
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(collective.size()));
    // Row lengths, then the columns, to rank 0.
    std::vector<index_t> lengths(static_cast<std::size_t>(own.n));
    for (index_t i = 0; i < own.n; ++i) lengths[static_cast<std::size_t>(i)] = own.offsets[i + 1] - own.offsets[i];
    put(out[0], own.n);
    put(out[0], lengths.data(), lengths.size());
    put(out[0], own.columns.data(), own.columns.size());
    std::vector<std::size_t> from;
    std::vector<unsigned char> in = collective.exchange(out, &from);
    out = {};
    std::vector<unsigned char> order_bytes;
    if (collective.rank() == 0) {
        Affinities pattern;
        pattern.n = n;
        pattern.offsets.assign(static_cast<std::size_t>(n) + 1, 0);
        index_t row = 0;
        for (int r = 0; r < collective.size(); ++r) {  // lengths first, for the offsets
            Reader read(in.data() + from[static_cast<std::size_t>(r)], from[static_cast<std::size_t>(r) + 1] - from[static_cast<std::size_t>(r)]);
            const auto count = read.get<index_t>();
            for (index_t i = 0; i < count; ++i, ++row)
                pattern.offsets[static_cast<std::size_t>(row) + 1] = pattern.offsets[static_cast<std::size_t>(row)] + read.get<index_t>();
        }
        pattern.columns.resize(static_cast<std::size_t>(pattern.offsets.back()));
        std::size_t at = 0;
        for (int r = 0; r < collective.size(); ++r) {
            Reader read(in.data() + from[static_cast<std::size_t>(r)], from[static_cast<std::size_t>(r) + 1] - from[static_cast<std::size_t>(r)]);
            const auto count = read.get<index_t>();
            std::vector<index_t> skip(static_cast<std::size_t>(count));
            read.copy(skip.data(), skip.size());
            std::size_t entries = 0;
            for (const index_t l : skip) entries += static_cast<std::size_t>(l);
            read.copy(pattern.columns.data() + at, entries);
            at += entries;
        }
        in = {};
        const std::vector<point_t> order = locality_order_of_pattern(n, pattern.offsets, pattern.columns);
        put(order_bytes, order.data(), order.size());
    }
    in = {};
    collective.broadcast(order_bytes, 0);
    std::vector<point_t> order(static_cast<std::size_t>(n));
    Reader(order_bytes).copy(order.data(), order.size());
    return order;
}

Affinities relabel_rows(Affinities own, const std::vector<point_t>& order, const RowPartition& rows,
                        const RowPartition& to, Collective& collective) {
    const index_t n = rows.first.back();
    const index_t first = rows.begin(collective.rank()), mine_first = to.begin(collective.rank());
    std::vector<point_t> label(static_cast<std::size_t>(n));
    for (std::size_t r = 0; r < order.size(); ++r) label[order[r]] = static_cast<point_t>(r);
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(collective.size()));
    std::vector<Entry> entries;
    for (index_t i = 0; i < own.n; ++i) {
        const point_t label_i = label[static_cast<std::size_t>(first + i)];
        auto& bytes = out[static_cast<std::size_t>(to.owner(label_i))];
        const index_t count = own.offsets[i + 1] - own.offsets[i];
        put(bytes, label_i);
        put(bytes, count);
        entries.clear();
        for (index_t e = own.offsets[i]; e < own.offsets[i + 1]; ++e)
            entries.push_back({label[own.columns[static_cast<std::size_t>(e)]], own.values[static_cast<std::size_t>(e)]});
        put(bytes, entries.data(), entries.size());
    }
    own = Affinities();  // packed: only the buffers hold it now
    std::vector<unsigned char> in = collective.exchange(out);
    out = {};
    const index_t mine = to.rows(collective.rank());
    std::vector<std::vector<Entry>> lists(static_cast<std::size_t>(mine));
    Reader read(in);
    while (!read.done()) {
        const auto row = read.get<point_t>();
        const auto count = read.get<index_t>();
        auto& l = lists[static_cast<std::size_t>(row - mine_first)];
        l.resize(static_cast<std::size_t>(count));
        read.copy(l.data(), l.size());
    }
    in = {};
    return csr_of(lists, n, mine_first);
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
