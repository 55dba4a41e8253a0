// Delimited text (CSV, TSV, semicolons, whitespace): UTF-8 validation, numbers, delimiter and header
// detection, the matrix reader, and the CSV/TSV writer.
#include <locale.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "io/internal.hpp"
#include "treesne/api/memory.hpp"

namespace treesne::io::detail {
namespace {

/// Offset of the first byte that does not start a valid UTF-8 sequence (overlong forms, surrogates and
/// code points past U+10FFFF are invalid), or npos. With `cut` not null, a sequence that is valid so far
/// but cut by the end of the data is not an error: *cut is set to its offset (else to n), for the next
/// chunk to complete.
std::size_t find_invalid_utf8(const char* data, std::size_t n, std::size_t* cut = nullptr) {
    if (cut) *cut = n;
    const auto* s = reinterpret_cast<const unsigned char*>(data);
    std::size_t i = 0;
    while (i < n) {
        // ASCII fast path, eight bytes at a time.
        while (i + 8 <= n) {
            std::uint64_t w;
            std::memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= n) break;
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2, cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, cp = c & 0x07u;
        } else {
            return i;
        }
        for (std::size_t k = 1; k < len; ++k) {
            if (i + k == n) {
                if (!cut) return i;
                *cut = i;
                return std::string_view::npos;
            }
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return i;
        if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return i;
        i += len;
    }
    return std::string_view::npos;
}

bool is_skipped(std::string_view line) {
    line = trim(line);
    return line.empty() || line.front() == '#';
}

/// Moves to the next line that is neither blank nor a comment; false at the end of the text.
bool next_data_line(Lines& lines, std::string_view& line) {
    while (lines.next(line)) {
        if (!is_skipped(line)) return true;
    }
    return false;
}

/// C-locale strtod, for the rare values std::from_chars reports out of range.
double strtod_c(const std::string& s) {
    static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
    return c_locale ? strtod_l(s.c_str(), nullptr, c_locale) : std::strtod(s.c_str(), nullptr);
}

/// Delimiter of a line: tab, comma, semicolon, in that order of preference; else runs of whitespace (' ').
/// A line whose tab-separated cells hold spaces is whitespace-aligned (tabs and spaces mixed), not TSV.
char detect_delimiter(std::string_view line) {
    if (line.find('\t') != std::string_view::npos) {
        bool clean = true;
        for_each_cell(line, '\t', [&](std::string_view cell, index_t) {
            clean = clean && std::none_of(cell.begin(), cell.end(), is_space);
        });
        if (clean) return '\t';
    }
    for (const char d : {',', ';'}) {
        if (line.find(d) != std::string_view::npos) return d;
    }
    return ' ';
}

/// A header has names, no numbers. A first row that mixes numbers and text ("1,NA,3") is data with a bad
/// cell, reported as such rather than dropped as a header.
bool is_header(std::string_view line, char delim) {
    bool has_name = false;
    bool has_number = false;
    for_each_cell(line, delim, [&](std::string_view cell, index_t) {
        double v;
        const Num status = parse_number(cell, v);
        has_name = has_name || status == Num::not_number;
        has_number = has_number || status == Num::ok || status == Num::not_finite || status == Num::overflow;
    });
    return has_name && !has_number;
}

/// Reads the data rows, `line` being the first: every row must have the first row's number of cells.
Matrix read_rows(const Loaded& in, Lines& lines, std::string_view line, char delim) {
    const std::string& name = in.name;
    std::vector<double> values;
    index_t cols = 0;
    index_t rows = 0;
    do {
        bool too_many = false;
        const index_t got = for_each_cell(line, delim, [&](std::string_view cell, index_t column) {
            if (cols > 0 && column > cols) {
                too_many = true;
                return;
            }
            double v;
            const Num status = parse_number(cell, v);
            if (status != Num::ok) fail_cell(name, lines.number(), column, cell, status);
            values.push_back(v);
        });
        if (cols == 0) {
            cols = got;
            // Every further row is on a line of its own and holds `cols` values: the lines left bound the
            // values, so one reservation holds them all (no regrowth, which would briefly need the old
            // and the new buffer), and the memory they need is known before it is used.
            const char* end = in.bytes.data() + in.bytes.size();
            const char* rest = end - lines.remaining();
            const std::uint64_t rows_left = static_cast<std::uint64_t>(std::count(rest, end, '\n')) +
                                            (rest < end && end[-1] != '\n' ? 1 : 0);
            const std::uint64_t bound = (rows_left + 1) * static_cast<std::uint64_t>(cols);
            check_fits(in, in.bytes.size(), bound, concat("its ", rows_left + 1, " rows of ", cols, " values"));
            values.reserve(static_cast<std::size_t>(bound));
        } else if (got != cols || too_many) {
            fail(name, "line ", lines.number(), ": expected ", cols,
                 " columns (as on the first data row), got ", got);
        }
        ++rows;
    } while (next_data_line(lines, line));
    return Matrix(rows, cols, std::move(values));
}

}  // namespace

void TextCheck::check(const Bytes& text, bool last) {
    const char* data = text.data();
    const std::size_t size = text.size();
    const auto line_of = [&](std::size_t offset) { return 1 + std::count(data, data + offset, '\n'); };
    if (const void* nul = std::memchr(data + utf8_done_, 0, size - utf8_done_)) {
        const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(nul) - data);
        fail(name_, "looks like a binary file (NUL byte at offset ", at, ", line ", line_of(at),
             "), not text; binary input must be .npy, IDX or bhtsne .dat");
    }
    std::size_t cut = size;
    const std::size_t bad = find_invalid_utf8(data + utf8_done_, size - utf8_done_, last ? nullptr : &cut);
    if (bad != std::string_view::npos) {
        fail(name_, "looks like a binary file (invalid UTF-8 on line ", line_of(utf8_done_ + bad),
             "), not text; binary input must be .npy, IDX or bhtsne .dat");
    }
    utf8_done_ += cut;
    // Every line, not only the last: the bound is what a reader may meet without a line end.
    for (const char* p = data + lines_done_;;) {
        const auto* nl =
            static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(data + size - p)));
        const std::size_t end = nl ? static_cast<std::size_t>(nl - data) : size;
        if (end - line_start_ > max_line_) {
            fail(name_, "line ", line_, ": no line end within ", format_bytes(static_cast<double>(max_line_)),
                 " (not text of rows, or one endless line)");
        }
        if (!nl) break;
        line_start_ = end + 1;
        ++line_;
        p = nl + 1;
    }
    lines_done_ = size;
}

std::string_view text_of(const Bytes& bytes) {
    std::string_view text(bytes.data(), bytes.size());
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    return text;
}

Num parse_number(std::string_view s, double& out) {
    if (s.empty()) return Num::empty;
    const char* first = s.data();
    const char* last = first + s.size();
    if (*first == '+') {  // std::from_chars accepts '-' but not '+'
        ++first;
        if (first == last || *first == '+' || *first == '-') return Num::not_number;
    }
    const auto r = std::from_chars(first, last, out);
    if (r.ec == std::errc::invalid_argument || r.ptr != last) return Num::not_number;
    if (r.ec == std::errc::result_out_of_range) {
        out = strtod_c(std::string(first, last));
        return std::isinf(out) ? Num::overflow : Num::ok;
    }
    return std::isfinite(out) ? Num::ok : Num::not_finite;
}

void fail_cell(const std::string& name, index_t line, index_t column, std::string_view cell, Num status) {
    const auto where = concat("line ", line, ", column ", column, ": ");
    switch (status) {
        case Num::empty:
            fail(name, where, "empty cell");
        case Num::not_finite:
            fail(name, where, shown(cell), " is not a finite number (NaN and Inf are not allowed)");
        case Num::overflow:
            fail(name, where, shown(cell), " is too large (overflows to infinity)");
        default:
            fail(name, where, shown(cell), " is not a number");
    }
}

Matrix parse_text_matrix(const Loaded& in) {
    const std::string& name = in.name;
    Lines lines(text_of(in.bytes));
    std::string_view line;
    if (!next_data_line(lines, line)) fail(name, "no data rows (the file is empty or has only comments)");
    char delim = detect_delimiter(line);
    if (is_header(line, delim)) {
        if (!next_data_line(lines, line)) fail(name, "no data rows (only a header line)");
        delim = detect_delimiter(line);
    }
    return read_rows(in, lines, line, delim);
}

void write_text(Output& out, ConstMatrixView m, char delim) {
    for (index_t i = 0; i < m.rows; ++i) {
        for (index_t j = 0; j < m.cols; ++j) {
            if (j > 0) out.put(delim);
            out.number(m(i, j));
        }
        out.put('\n');
    }
}

}  // namespace treesne::io::detail
