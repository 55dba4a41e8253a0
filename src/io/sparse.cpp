// Sparse feature matrices: read_sparse_matrix choosing the format (scipy.sparse .npz in io/npz.cpp,
// svmlight in io/svmlight.cpp, Matrix Market coordinate here), is_sparse_input, and the assembly every
// format ends with: entries grouped by row, sorted, duplicates added and zeros dropped (CsrMatrix's
// invariants), with messages naming the file.
#include "treesne/core/sparse.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/internal.hpp"
#include "treesne/io/io.hpp"

namespace treesne::io {
namespace detail {
namespace {

constexpr index_t kMaxDim = std::numeric_limits<point_t>::max();

/// What read_sparse_matrix expects on the first line of a Matrix Market file, for messages.
constexpr std::string_view kFeaturesBanner =
    "'%%MatrixMarket matrix coordinate real general' (or integer or pattern)";

constexpr const char* kSparseFormats =
    "sparse input is a scipy.sparse .npz, a Matrix Market coordinate .mtx or svmlight text (.svm, "
    ".svmlight, .libsvm), each also gzip-compressed (.gz)";

enum class SparseKind { npz, mtx, svmlight, none };

bool starts_with(const Bytes& b, std::string_view prefix) {
    return b.size() >= prefix.size() && std::memcmp(b.data(), prefix.data(), prefix.size()) == 0;
}

/// The format, from the name (without ".gz") first, then the first bytes (a zip archive, the Matrix
/// Market banner); svmlight text has no signature and is known by its name only.
SparseKind sparse_kind(const Loaded& in) {
    const std::string ext = extension_of(in.inner);
    if (ext == ".npz") return SparseKind::npz;
    if (ext == ".mtx") return SparseKind::mtx;
    if (is_svmlight_name(in.inner)) return SparseKind::svmlight;
    if (starts_with(in.bytes, "PK\x03\x04") || starts_with(in.bytes, "PK\x05\x06")) return SparseKind::npz;
    if (to_lower(std::string_view(in.bytes.data(), std::min<std::size_t>(in.bytes.size(), 14))) ==
        "%%matrixmarket")
        return SparseKind::mtx;
    return SparseKind::none;
}

/// The first Matrix Market line: coordinate, a real, integer or pattern field, general symmetry. Returns
/// the field.
std::string mtx_feature_banner(const std::string& name, std::string_view line) {
    std::string_view tok[5];
    const std::size_t n = tokens(line, tok, 5);
    std::string field, symmetry;
    if (n == 5) {
        field = to_lower(tok[3]);
        symmetry = to_lower(tok[4]);
    }
    const bool known_field = field == "real" || field == "integer" || field == "pattern";
    if (n != 5 || to_lower(tok[0]) != "%%matrixmarket" || to_lower(tok[1]) != "matrix" ||
        to_lower(tok[2]) != "coordinate" || !known_field ||
        (symmetry != "general" && symmetry != "symmetric" && symmetry != "skew-symmetric" &&
         symmetry != "hermitian")) {
        fail(name, "line 1: expected ", kFeaturesBanner, ", got ", shown(line));
    }
    if (symmetry != "general") {
        fail(name, "line 1: a ", symmetry,
             " matrix is not a feature matrix (rows are points, columns features); write it as 'general'");
    }
    return field;
}

struct MtxSize {
    index_t rows = 0, cols = 0, nnz = 0;
    index_t line = 0;
};

/// The size line after the banner and comments: rows, columns, entries; leaves `lines` at the first entry.
MtxSize mtx_feature_size(const std::string& name, Lines& lines, std::size_t text_size, bool pattern) {
    std::string_view line;
    do {
        if (!lines.next(line)) fail(name, "no size line ('rows columns entries') after the header");
    } while (trim(line).empty() || trim(line).front() == '%');
    MtxSize s;
    s.line = lines.number();
    std::string_view tok[3];
    if (tokens(line, tok, 3) != 3 || !parse_int(tok[0], s.rows) || !parse_int(tok[1], s.cols) ||
        !parse_int(tok[2], s.nnz) || s.nnz < 0) {
        fail(name, "line ", s.line, ": expected the size line 'rows columns entries', got ", shown(line));
    }
    if (s.rows < 1) fail(name, "line ", s.line, ": the matrix has ", s.rows, " rows; there are no points");
    if (s.cols < 1)
        fail(name, "line ", s.line, ": the matrix has ", s.cols, " columns; there are no features");
    if (s.rows > kMaxDim || s.cols > kMaxDim) {
        fail(name, "line ", s.line, ": a ", s.rows, " x ", s.cols, " matrix is too large (at most ", kMaxDim,
             " rows and columns)");
    }
    // Each entry takes at least 4 bytes ("1 1\n"), 6 with a value: a larger count cannot be in the file,
    // and must not size our buffers.
    if (static_cast<std::uint64_t>(s.nnz) > text_size / (pattern ? 4 : 6)) {
        fail(name, "line ", s.line, ": declares ", s.nnz,
             " entries, more than the file can hold (truncated?)");
    }
    return s;
}

/// One entry line "row column [value]": the 0-based row and column and the value (1 for pattern).
void mtx_feature_entry(const std::string& name, index_t at, std::string_view line, const MtxSize& s,
                       const std::string& field, point_t rc[2], double& v) {
    const bool pattern = field == "pattern";
    std::string_view tok[3];
    if (tokens(line, tok, 3) != (pattern ? 2u : 3u)) {
        fail(name, "line ", at, ": expected '", pattern ? "row column" : "row column value", "', got ",
             shown(line));
    }
    for (int k = 0; k < 2; ++k) {
        const index_t limit = k == 0 ? s.rows : s.cols;
        index_t i = 0;
        if (!parse_int(tok[k], i) || i < 1 || i > limit) {
            fail(name, "line ", at, ", column ", k + 1, ": ", shown(tok[k]), " is not a ",
                 k == 0 ? "row" : "column", " in 1..", limit);
        }
        rc[k] = static_cast<point_t>(i - 1);
    }
    v = 1.0;
    if (pattern) return;
    const Num status = parse_number(tok[2], v);
    if (status != Num::ok) fail_cell(name, at, 3, tok[2], status);
    if (field == "integer" && v != std::floor(v))
        fail(name, "line ", at, ", column 3: ", shown(tok[2]),
             " is not an integer (the banner says integer)");
}

}  // namespace

void canonicalize_rows(const std::string& name, CsrMatrix& m, index_t base) {
    index_t row = 0;
    point_t col = 0;
    if (!treesne::detail::canonicalize_rows(m, &row, &col))
        fail(name, "the entries at row ", row + base, ", column ", index_t{col} + base, " add up to a non-finite value");
}

CsrMatrix csr_from_entries(const std::string& name, index_t rows, index_t cols, std::vector<point_t> row,
                           std::vector<point_t> col, std::vector<double> values, index_t base) {
    CsrMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.offsets.assign(static_cast<std::size_t>(rows) + 1, 0);
    for (const point_t r : row) ++m.offsets[std::size_t{r} + 1];
    for (std::size_t i = 0; i < static_cast<std::size_t>(rows); ++i) m.offsets[i + 1] += m.offsets[i];
    // Stable counting sort by row: the entries of a row keep the order they were stored in.
    m.columns.resize(values.size());
    m.values.resize(values.size());
    {
        std::vector<index_t> next(m.offsets.begin(), m.offsets.end() - 1);
        for (std::size_t k = 0; k < values.size(); ++k) {
            const auto at = static_cast<std::size_t>(next[row[k]]++);
            m.columns[at] = col[k];
            m.values[at] = values[k];
        }
    }
    std::vector<point_t>().swap(row);
    std::vector<point_t>().swap(col);
    std::vector<double>().swap(values);
    canonicalize_rows(name, m, base);
    return m;
}

CsrMatrix parse_mtx_features(const Loaded& in) {
    const std::string& name = in.name;
    const std::string_view text = text_of(in.bytes);
    Lines lines(text);
    std::string_view line;
    if (!lines.next(line)) fail(name, "is empty; expected a Matrix Market file");
    const std::string field = mtx_feature_banner(name, line);
    const MtxSize s = mtx_feature_size(name, lines, text.size(), field == "pattern");
    // The entries (row, column, value), then the CSR arrays, beside the text.
    const auto nnz = static_cast<std::uint64_t>(s.nnz);
    check_fits(in, in.bytes.size() + nnz * (4 + 4 + 8) + csr_bytes(static_cast<std::uint64_t>(s.rows), nnz),
               0, concat("its ", s.nnz, " entries"));
    std::vector<point_t> rows, cols;
    std::vector<double> values;
    rows.reserve(nnz);
    cols.reserve(nnz);
    values.reserve(nnz);
    while (lines.next(line)) {
        if (trim(line).empty() || trim(line).front() == '%') continue;
        const index_t at = lines.number();
        if (static_cast<index_t>(values.size()) == s.nnz)
            fail(name, "line ", at, ": more entries than the ", s.nnz, " declared on line ", s.line);
        point_t rc[2];
        double v = 0;
        mtx_feature_entry(name, at, line, s, field, rc, v);
        rows.push_back(rc[0]);
        cols.push_back(rc[1]);
        values.push_back(v);
    }
    if (static_cast<index_t>(values.size()) != s.nnz) {
        fail(name, "expected ", s.nnz, " entries (line ", s.line, "), found ", values.size(),
             " (truncated?)");
    }
    return csr_from_entries(name, s.rows, s.cols, std::move(rows), std::move(cols), std::move(values), 1);
}

}  // namespace detail

CsrMatrix read_sparse_matrix(const std::string& path, const ReadLimits& limits, ReadStats* stats) {
    return detail::with_memory_check(path, [&] {
        detail::Source src(path, stats);
        detail::Loaded in;
        const bool ended = detail::load_prefix(src, path, limits, false, in);
        const detail::SparseKind kind = detail::sparse_kind(in);
        if (kind == detail::SparseKind::none) {
            const std::string ext = detail::extension_of(in.inner);
            detail::fail(in.name, "is not in a sparse format (",
                         ext.empty() ? std::string("no extension") : concat("extension '", ext, "'"),
                         ", and the content is neither a zip archive nor Matrix Market); ",
                         detail::kSparseFormats);
        }
        if (kind == detail::SparseKind::npz) {
            detail::ZipArchive zip(src, in, ended);
            return detail::parse_npz(zip, in);
        }
        // Text: one allocation for the whole content where its size is known or likely.
        if (src.size_hint() > 0)
            in.bytes.reserve(static_cast<std::size_t>(std::min(src.size_hint(), in.max_bytes)) + 1);
        if (kind == detail::SparseKind::mtx) {
            detail::read_text(src, in, limits, ended, detail::kFeaturesBanner);
            return detail::parse_mtx_features(in);
        }
        detail::read_text(src, in, limits, ended, "");
        return detail::parse_svmlight(in);
    });
}

bool is_sparse_input(const std::string& path) {
    std::string inner = detail::to_lower(path);
    if (detail::ends_with(inner, ".gz")) inner.resize(inner.size() - 3);
    const std::string ext = detail::extension_of(inner);
    if (ext == ".npz" || detail::is_svmlight_name(inner)) return true;
    if (ext != ".mtx") return false;
    // Only a regular file is looked into: the first bytes of a pipe would be lost to the read that follows.
    struct stat st {};
    if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    try {
        detail::Source src(path, nullptr);
        detail::Bytes head;
        detail::fill(src, head, 1024);
        const std::string_view text(head.data(), head.size());
        std::string_view tok[3];
        return detail::tokens(text.substr(0, text.find('\n')), tok, 3) >= 3 &&
               detail::to_lower(tok[0]) == "%%matrixmarket" && detail::to_lower(tok[1]) == "matrix" &&
               detail::to_lower(tok[2]) == "coordinate";
    } catch (const IoError&) {
        return false;  // the read that follows names what is wrong
    }
}

}  // namespace treesne::io
