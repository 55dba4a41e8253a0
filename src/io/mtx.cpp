// Matrix Market affinities: `coordinate real general`, 1-based "row column value" lines.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "io/internal.hpp"
#include "treesne/io/io.hpp"

namespace treesne::io {
namespace detail {
namespace {

/// Throws unless every stored value of p is finite, naming the first one that is not by its 1-based row
/// and column, as the file would.
void check_finite_entries(const std::string& name, const SparseMatrix& p) {
    for (index_t i = 0; i < p.n; ++i) {
        for (index_t k = p.offsets[static_cast<std::size_t>(i)];
             k < p.offsets[static_cast<std::size_t>(i) + 1]; ++k) {
            const double v = p.values[static_cast<std::size_t>(k)];
            if (!std::isfinite(v)) {
                fail_non_finite(name, v, i + 1, index_t{p.columns[static_cast<std::size_t>(k)]} + 1);
            }
        }
    }
}

/// Writes an integer in decimal.
void put_index(Output& out, index_t v) {
    char tmp[32];
    out.put(tmp, static_cast<std::size_t>(std::to_chars(tmp, tmp + sizeof tmp, v).ptr - tmp));
}

/// The banner, a comment and the size line, then one "row column value" line per stored entry.
void write_mtx(Output& out, const SparseMatrix& p) {
    const std::string head = concat("%%MatrixMarket matrix coordinate real general\n",
                                    "% treesne affinities: joint probabilities P, 1-based row column value\n",
                                    p.n, " ", p.n, " ", p.nnz(), "\n");
    out.put(head.data(), head.size());
    for (index_t i = 0; i < p.n; ++i) {
        for (index_t k = p.offsets[static_cast<std::size_t>(i)];
             k < p.offsets[static_cast<std::size_t>(i) + 1]; ++k) {
            put_index(out, i + 1);
            out.put(' ');
            put_index(out, index_t{p.columns[static_cast<std::size_t>(k)]} + 1);
            out.put(' ');
            out.number(p.values[static_cast<std::size_t>(k)]);
            out.put('\n');
        }
    }
}

struct Triplets {
    index_t n = 0, nnz = 0;
    bool symmetric = false;  ///< "symmetric": the lower triangle is stored, (j, i) mirrors (i, j)
    std::vector<point_t> rows, cols;
    std::vector<double> values;
};

/// Checks the banner line; returns true for "symmetric", false for "general".
bool read_banner(const std::string& name, std::string_view line) {
    std::string_view tok[5];
    if (tokens(line, tok, 5) != 5 || to_lower(tok[0]) != "%%matrixmarket" || to_lower(tok[1]) != "matrix" ||
        to_lower(tok[2]) != "coordinate" || to_lower(tok[3]) != "real" ||
        (to_lower(tok[4]) != "general" && to_lower(tok[4]) != "symmetric")) {
        fail(name, "line 1: expected ", kAffinitiesBanner, ", got ", shown(line));
    }
    return to_lower(tok[4]) == "symmetric";
}

/// The banner and size line; leaves `lines` at the first entry.
Triplets read_mtx_head(const std::string& name, Lines& lines, std::size_t text_size) {
    std::string_view line;
    std::string_view tok[5];
    if (!lines.next(line)) fail(name, "is empty; expected a Matrix Market file");
    const bool symmetric = read_banner(name, line);
    do {
        if (!lines.next(line)) fail(name, "no size line ('N N nnz') after the header");
    } while (trim(line).empty() || trim(line).front() == '%');
    Triplets t;
    t.symmetric = symmetric;
    index_t cols = 0;
    if (tokens(line, tok, 3) != 3 || !parse_int(tok[0], t.n) || !parse_int(tok[1], cols) ||
        !parse_int(tok[2], t.nnz)) {
        fail(name, "line ", lines.number(), ": expected the size line 'N N nnz', got ", shown(line));
    }
    if (t.n != cols)
        fail(name, "line ", lines.number(), ": affinities must be square; got ", t.n, " x ", cols);
    if (t.n < 1 || t.n > index_t{std::numeric_limits<point_t>::max()} || t.nnz < 0) {
        fail(name, "line ", lines.number(), ": invalid size ", t.n, " x ", cols, " with ", t.nnz, " entries");
    }
    // Each entry takes at least 6 bytes ("1 1 0\n"): a larger count cannot be in the file, and must not
    // size our buffers.
    if (static_cast<std::uint64_t>(t.nnz) > text_size / 6) {
        fail(name, "line ", lines.number(), ": declares ", t.nnz,
             " entries, more than the file can hold (truncated?)");
    }
    // Entries touch at most 2*nnz points: a larger N means points without affinities, and would let a
    // tiny file demand a huge offset array.
    if (t.n > 2 * t.nnz + 1) {
        fail(name, "line ", lines.number(), ": ", t.n, " points but only ", t.nnz,
             " entries; some points would have no affinities");
    }
    return t;
}

/// Reads "i j value" lines into triplets (0-based), checking ranges, count and values.
void read_mtx_entries(const std::string& name, Lines& lines, Triplets& t) {
    const index_t size_line = lines.number();
    t.rows.reserve(static_cast<std::size_t>(t.nnz));
    t.cols.reserve(static_cast<std::size_t>(t.nnz));
    t.values.reserve(static_cast<std::size_t>(t.nnz));
    std::string_view line;
    std::string_view tok[3];
    while (lines.next(line)) {
        if (trim(line).empty() || trim(line).front() == '%') continue;
        const index_t at = lines.number();
        if (static_cast<index_t>(t.values.size()) == t.nnz) {
            fail(name, "line ", at, ": more entries than the ", t.nnz, " declared on line ", size_line);
        }
        index_t ij[2] = {0, 0};
        if (tokens(line, tok, 3) != 3)
            fail(name, "line ", at, ": expected 'row column value', got ", shown(line));
        for (int k = 0; k < 2; ++k) {
            if (!parse_int(tok[k], ij[k]) || ij[k] < 1 || ij[k] > t.n) {
                fail(name, "line ", at, ", column ", k + 1, ": ", shown(tok[k]), " is not an index in 1..",
                     t.n);
            }
        }
        double v = 0;
        const Num status = parse_number(tok[2], v);
        if (status != Num::ok) fail_cell(name, at, 3, tok[2], status);
        if (v < 0) fail(name, "line ", at, ", column 3: affinity ", shown(tok[2]), " is negative");
        if (v > static_cast<double>(std::numeric_limits<float>::max()))
            fail(name, "line ", at, ", column 3: affinity ", shown(tok[2]),
                 " is beyond single precision (P is stored in float)");
        t.rows.push_back(static_cast<point_t>(ij[0] - 1));
        t.cols.push_back(static_cast<point_t>(ij[1] - 1));
        t.values.push_back(v);
    }
    if (static_cast<index_t>(t.values.size()) != t.nnz) {
        fail(name, "expected ", t.nnz, " entries (line ", size_line, "), found ", t.values.size(),
             " (truncated?)");
    }
    if (t.symmetric) {  // (i, j) stands for (j, i) too; an entry given both ways is a duplicate
        const std::size_t stored = t.values.size();
        for (std::size_t e = 0; e < stored; ++e) {
            if (t.rows[e] == t.cols[e]) continue;
            t.rows.push_back(t.cols[e]);
            t.cols.push_back(t.rows[e]);
            t.values.push_back(t.values[e]);
        }
    }
}

/// Triplets to CSR with columns increasing in each row; duplicate entries are refused.
SparseMatrix to_csr(const std::string& name, const Triplets& t) {
    SparseMatrix p;
    p.n = t.n;
    p.offsets.assign(static_cast<std::size_t>(t.n) + 1, 0);
    for (const point_t r : t.rows) ++p.offsets[r + 1];
    for (std::size_t i = 0; i < static_cast<std::size_t>(t.n); ++i) p.offsets[i + 1] += p.offsets[i];
    std::vector<index_t> next(p.offsets.begin(), p.offsets.end() - 1);
    std::vector<std::pair<point_t, double>> entries(t.values.size());
    for (std::size_t k = 0; k < t.values.size(); ++k) {
        entries[static_cast<std::size_t>(next[t.rows[k]]++)] = {t.cols[k], t.values[k]};
    }
    p.columns.resize(entries.size());
    p.values.resize(entries.size());
    for (std::size_t i = 0; i < static_cast<std::size_t>(t.n); ++i) {
        const auto first = entries.begin() + p.offsets[i];
        const auto last = entries.begin() + p.offsets[i + 1];
        std::sort(first, last, [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto it = first; it != last; ++it) {
            if (it != first && it->first == (it - 1)->first) {
                fail(name, "duplicate entry (", i + 1, ", ", it->first + index_t{1}, ")");
            }
            const auto k = static_cast<std::size_t>(it - entries.begin());
            p.columns[k] = it->first;
            p.values[k] = static_cast<float>(it->second);
        }
    }
    return p;
}

}  // namespace

std::size_t tokens(std::string_view line, std::string_view* out, std::size_t max) {
    std::size_t n = 0;
    for_each_cell(line, ' ', [&](std::string_view cell, index_t) {
        if (n < max) out[n] = cell;
        n = std::min(n + 1, max + 1);
    });
    return n;
}

bool parse_int(std::string_view s, index_t& v) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

void check_mtx_banner(const std::string& name, const Bytes& head, std::string_view expected) {
    const std::string_view text = text_of(head);
    if (text.empty()) fail(name, "is empty; expected a Matrix Market file");
    // head may end inside the first line: its first word decides now, read_banner checks the rest.
    const std::string_view line = text.substr(0, text.find('\n'));
    std::string_view first[1];
    if (tokens(line, first, 1) == 0 || to_lower(first[0]) != "%%matrixmarket") {
        fail(name, "line 1: expected ", expected, ", got ", shown(line));
    }
}

}  // namespace detail

using detail::fail;

void write_affinities(const std::string& path, const SparseMatrix& p) {
    require(p.n >= 0 && p.offsets.size() == static_cast<std::size_t>(p.n) + 1 && p.offsets.front() == 0 &&
                p.offsets.back() == p.nnz() && p.columns.size() == p.values.size(),
            "write_affinities: inconsistent sparse matrix (n = ", p.n, ", ", p.offsets.size(), " offsets, ",
            p.columns.size(), " columns, ", p.values.size(), " values)");
    detail::check_finite_entries(path, p);
    AtomicFile file(path);
    detail::Output out(&file);
    detail::write_mtx(out, p);
    out.finish();
    file.commit();
}

SparseMatrix read_affinities(const std::string& path) {
    return read_affinities(path, ReadLimits{});
}

SparseMatrix read_affinities(const std::string& path, const ReadLimits& limits, ReadStats* stats) {
    return detail::with_memory_check(path, [&] {
        const detail::Loaded in = detail::load(path, detail::Expect::affinities, limits, stats);
        const std::string_view text = detail::text_of(in.bytes);
        detail::Lines lines(text);
        detail::Triplets t = detail::read_mtx_head(in.name, lines, text.size());
        // The triplets (twice for symmetric), then the CSR entries and their sort pairs, beside the text.
        const auto entries = static_cast<std::uint64_t>(t.nnz) * (t.symmetric ? 2 : 1);
        detail::check_fits(in, in.bytes.size() + entries * (4 + 4 + 8 + 16 + 4 + 4) + 8 * std::uint64_t(t.n),
                           0, concat("its ", t.nnz, " entries"));
        detail::read_mtx_entries(in.name, lines, t);
        return detail::to_csr(in.name, t);
    });
}

}  // namespace treesne::io
