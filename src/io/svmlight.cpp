// svmlight / libsvm text: one point a line, "target [qid:n] index:value index:value ... [# comment]", the
// indices increasing within a line. As scikit-learn's load_svmlight_file(zero_based="auto"): the indices
// are 0-based when any of them is 0, else 1-based; the columns are the largest index + 1 (0-based) or the
// largest index (1-based); blank and comment-only lines are no rows; a line with only a target is a row
// without entries. The targets are what read_labels returns for such a file.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "io/internal.hpp"

namespace treesne::io::detail {
namespace {

/// The largest index taken: 0-based, it makes the largest column count a CsrMatrix holds.
constexpr std::uint64_t kMaxIndex = std::uint64_t{std::numeric_limits<point_t>::max()} - 1;

/// The line without its comment, trimmed; false when nothing is left (a blank or comment-only line).
bool content_of(std::string_view& line) {
    const std::size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    return !line.empty();
}

void check_target(const std::string& name, index_t at, std::string_view target) {
    double v = 0;
    const Num status = parse_number(target, v);
    if (status == Num::ok) return;
    fail(name, "line ", at, ": target ", shown(target),
         status == Num::not_finite || status == Num::overflow
             ? " is not a finite number (NaN and Inf are not allowed)"
             : " is not a number");
}

/// What the entries read so far tell about the index base and the column count.
struct Indices {
    bool any = false;   ///< some index was read
    bool zero = false;  ///< index 0 was read: the indices are 0-based
    std::uint64_t max = 0;
};

/// One "index:value" token: appends the entry unless its value is zero; `prev` is the line's last index.
void parse_pair(const std::string& name, index_t at, std::string_view tok, CsrMatrix& m, Indices& seen,
                std::uint64_t& prev) {
    const std::size_t colon = tok.find(':');
    if (colon == std::string_view::npos) fail(name, "line ", at, ": ", shown(tok), " is not index:value");
    std::uint64_t index = 0;
    const auto r = std::from_chars(tok.data(), tok.data() + colon, index);
    if (colon == 0 || r.ptr != tok.data() + colon || r.ec == std::errc::invalid_argument)
        fail(name, "line ", at, ": the index of ", shown(tok), " is not a non-negative integer");
    if (r.ec != std::errc() || index > kMaxIndex)
        fail(name, "line ", at, ": the index of ", shown(tok), " is too large (at most ", kMaxIndex, ")");
    double v = 0;
    const std::string_view value = tok.substr(colon + 1);
    const Num status = parse_number(value, v);
    if (status != Num::ok) {
        fail(name, "line ", at, ": the value of ", shown(tok),
             status == Num::not_finite || status == Num::overflow
                 ? " is not a finite number (NaN and Inf are not allowed)"
                 : " is not a number");
    }
    if (prev != std::numeric_limits<std::uint64_t>::max() && index <= prev)
        fail(name, "line ", at, ": index ", index, " after ", prev, "; indices must increase within a line");
    prev = index;
    seen.any = true;
    seen.zero = seen.zero || index == 0;
    seen.max = std::max(seen.max, index);
    if (v == 0.0) return;
    m.columns.push_back(static_cast<point_t>(index));
    m.values.push_back(v);
}

/// The entries of one line (its content, without comment) appended to m.
void parse_row(const std::string& name, index_t at, std::string_view line, CsrMatrix& m, Indices& seen) {
    std::uint64_t prev = std::numeric_limits<std::uint64_t>::max();  // none yet
    for_each_cell(line, ' ', [&](std::string_view tok, index_t column) {
        if (column == 1) {
            check_target(name, at, tok);
        } else if (column == 2 && tok.substr(0, 4) == "qid:") {
            index_t qid = 0;
            if (!parse_int(tok.substr(4), qid))
                fail(name, "line ", at, ": ", shown(tok), " is not qid:<integer>");
        } else {
            parse_pair(name, at, tok, m, seen, prev);
        }
    });
}

}  // namespace

bool is_svmlight_name(std::string_view inner) {
    const std::string ext = extension_of(inner);
    return ext == ".svm" || ext == ".svmlight" || ext == ".libsvm";
}

CsrMatrix parse_svmlight(const Loaded& in) {
    const std::string& name = in.name;
    const std::string_view text = text_of(in.bytes);
    // Every row is a line and every entry holds a ':': bounds known before anything is reserved, so that
    // the arrays never grow (which would briefly need the old and the new buffer).
    const auto rows_bound = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    const auto nnz_bound = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), ':'));
    check_fits(in, in.bytes.size() + csr_bytes(rows_bound, nnz_bound), 0,
               concat("up to ", nnz_bound, " entries in ", rows_bound, " lines"));
    CsrMatrix m;
    m.offsets.reserve(static_cast<std::size_t>(rows_bound) + 1);
    m.columns.reserve(static_cast<std::size_t>(nnz_bound));
    m.values.reserve(static_cast<std::size_t>(nnz_bound));
    Indices seen;
    Lines lines(text);
    for (std::string_view line; lines.next(line);) {
        if (!content_of(line)) continue;
        parse_row(name, lines.number(), line, m, seen);
        m.offsets.push_back(static_cast<index_t>(m.values.size()));
    }
    m.rows = static_cast<index_t>(m.offsets.size()) - 1;
    if (m.rows == 0) fail(name, "no rows (the file is empty or has only comments)");
    if (!seen.any) fail(name, "no features (no line holds an index:value pair)");
    if (!seen.zero) {
        for (point_t& c : m.columns) --c;  // 1-based
    }
    m.cols = static_cast<index_t>(seen.zero ? seen.max + 1 : seen.max);
    return m;
}

std::vector<std::string_view> svmlight_targets(const Loaded& in) {
    std::vector<std::string_view> targets;
    Lines lines(text_of(in.bytes));
    for (std::string_view line; lines.next(line);) {
        if (!content_of(line)) continue;
        const std::string_view target =
            line.substr(0, std::find_if(line.begin(), line.end(), is_space) - line.begin());
        check_target(in.name, lines.number(), target);
        targets.push_back(target);
    }
    if (targets.empty()) fail(in.name, "no rows (the file is empty or has only comments)");
    return targets;
}

}  // namespace treesne::io::detail
