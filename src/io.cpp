// Readers and writers for matrices, labels and affinities.
//
// Every reader loads the whole file into memory (inflating gzip there) and parses that buffer in one pass:
// no per-line or per-cell allocation, so a 60,000 x 784 Fashion-MNIST file or a 70,000 x 50 CSV reads in a
// fraction of a second. Sizes declared inside binary files are checked against the bytes actually present,
// with overflow-safe arithmetic, before anything is allocated: a corrupt header cannot make us reserve
// terabytes. Binary formats are little-endian (IDX is big-endian by definition); the host must be too.
#include "treesne/io.hpp"

#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <new>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "treesne/errors.hpp"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "treesne's binary readers and writers assume a little-endian host"
#endif

namespace treesne::io {
namespace {

using Bytes = std::vector<char>;

/// Inflated data larger than this is refused: far beyond any data set t-SNE can embed, small enough that a
/// decompression bomb fails with a message instead of exhausting memory.
constexpr std::uint64_t kMaxDecompressed = std::uint64_t{16} << 30;

template <class... Parts>
[[noreturn]] void fail(std::string_view file, const Parts&... parts) {
    throw IoError(concat(file, ": ", parts...));
}

/// The name used in messages: the path as given, or "standard input" for "-".
std::string display_name(const std::string& path) {
    return path == "-" ? "standard input" : path;
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// Lower-case extension of the last path component, with its dot ("" when there is none).
std::string extension_of(std::string_view path) {
    const std::size_t slash = path.find_last_of('/');
    const std::string_view leaf = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const std::size_t dot = leaf.find_last_of('.');
    if (dot == std::string_view::npos || dot == 0) return {};
    return to_lower(leaf.substr(dot));
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

/// A cell as it may appear in a message: at most 40 bytes (cut at a character boundary), control
/// characters escaped, so the message stays on one line.
std::string shown(std::string_view cell) {
    constexpr std::size_t kMax = 40;
    const bool cut = cell.size() > kMax;
    std::size_t n = std::min(cell.size(), kMax);
    while (cut && n > 0 && (static_cast<unsigned char>(cell[n]) & 0xC0) == 0x80) --n;
    std::string out = "'";
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(cell[i]);
        if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + (cut ? "...'" : "'");
}

// --- whole-file input ------------------------------------------------------------------------------

struct FileCloser {
    std::FILE* file;
    bool owned;
    ~FileCloser() {
        if (owned && file) std::fclose(file);
    }
};

/// Reads a whole file ("-": standard input) into memory.
Bytes read_all(const std::string& path, const std::string& name) {
    std::FILE* file = stdin;
    std::size_t hint = std::size_t{1} << 16;
    if (path != "-") {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) fail(name, "cannot open: ", std::strerror(errno));
        if (S_ISDIR(st.st_mode)) fail(name, "is a directory, not a file");
        file = std::fopen(path.c_str(), "rb");
        if (!file) fail(name, "cannot open: ", std::strerror(errno));
        // One byte more than the size, so the first read already meets the end of the file.
        if (S_ISREG(st.st_mode)) hint = static_cast<std::size_t>(st.st_size) + 1;
    }
    const FileCloser closer{file, path != "-"};
    Bytes buf(hint);
    std::size_t used = 0;
    for (;;) {
        if (used == buf.size()) buf.resize(buf.size() * 2);
        const std::size_t got = std::fread(buf.data() + used, 1, buf.size() - used, file);
        used += got;
        if (got == 0) {
            if (std::ferror(file)) fail(name, "read error: ", std::strerror(errno));
            break;
        }
    }
    buf.resize(used);
    return buf;
}

bool is_gzip(const Bytes& b) {
    return b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0x1F &&
           static_cast<unsigned char>(b[1]) == 0x8B;
}

std::uint32_t load_le32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return std::uint32_t{u[0]} | std::uint32_t{u[1]} << 8 | std::uint32_t{u[2]} << 16 |
           std::uint32_t{u[3]} << 24;
}

std::uint32_t load_be32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return std::uint32_t{u[0]} << 24 | std::uint32_t{u[1]} << 16 | std::uint32_t{u[2]} << 8 |
           std::uint32_t{u[3]};
}

/// After one gzip member ends: true when another member follows (concatenated .gz files are one stream),
/// false when only zero padding (or nothing) is left; anything else is an error.
bool another_gzip_member(const std::string& name, const Bytes& in, std::size_t consumed) {
    if (consumed == in.size()) return false;
    if (in.size() - consumed >= 2 && static_cast<unsigned char>(in[consumed]) == 0x1F &&
        static_cast<unsigned char>(in[consumed + 1]) == 0x8B) {
        return true;
    }
    for (std::size_t i = consumed; i < in.size(); ++i) {
        if (in[i] != 0) fail(name, "unexpected data after the end of the gzip stream (byte offset ", i, ")");
    }
    return false;
}

/// Inflates a gzip file (all its members) into memory.
Bytes gunzip(const std::string& name, const Bytes& in) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) fail(name, "cannot start gzip decompression");
    struct Ender {
        z_stream* z;
        ~Ender() { inflateEnd(z); }
    } ender{&zs};
    // The trailer's ISIZE (size mod 2^32 of the last member) sizes the buffer. It is only a hint: bounded
    // by deflate's maximum ratio (about 1032:1) and by 1 GiB, so that a forged trailer cannot make us
    // allocate much; the buffer doubles when the data turns out larger.
    std::uint64_t hint = in.size() >= 18 ? load_le32(in.data() + in.size() - 4) : 0;
    hint = std::min<std::uint64_t>({hint, std::uint64_t{in.size()} * 1032 + 1024, std::uint64_t{1} << 30});
    Bytes out(static_cast<std::size_t>(std::max<std::uint64_t>(hint, 4096)));
    constexpr std::size_t kChunk = std::size_t{1} << 30;  // zlib counts in 32-bit uInt
    std::size_t fed = 0;                                  // bytes of `in` handed to zlib so far
    std::size_t pos = 0;                                  // bytes produced so far
    for (;;) {
        if (zs.avail_in == 0 && fed < in.size()) {
            const std::size_t n = std::min(in.size() - fed, kChunk);
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
            zs.avail_in = static_cast<uInt>(n);
            fed += n;
        }
        if (pos == out.size()) {
            if (out.size() >= kMaxDecompressed) fail(name, "decompresses to more than 16 GiB; refusing");
            out.resize(static_cast<std::size_t>(std::min<std::uint64_t>(out.size() * 2, kMaxDecompressed)));
        }
        const std::size_t room = std::min(out.size() - pos, kChunk);
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + pos);
        zs.avail_out = static_cast<uInt>(room);
        const int rc = inflate(&zs, Z_NO_FLUSH);
        pos += room - zs.avail_out;
        if (rc == Z_OK) continue;
        if (rc == Z_STREAM_END) {
            const std::size_t consumed = fed - zs.avail_in;
            if (!another_gzip_member(name, in, consumed)) break;
            if (inflateReset(&zs) != Z_OK) fail(name, "cannot restart gzip decompression");
            zs.avail_in = 0;
            fed = consumed;
            continue;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && fed == in.size()) {
            fail(name, "truncated gzip data (the file ends inside the compressed stream)");
        }
        if (rc == Z_DATA_ERROR) fail(name, "corrupt gzip data: ", zs.msg ? zs.msg : "invalid stream");
        if (rc == Z_MEM_ERROR) fail(name, "out of memory while decompressing");
        fail(name, "gzip decompression failed (zlib error ", rc, ")");
    }
    out.resize(pos);
    return out;
}

/// A file's content (inflated if it was gzip) and the name that decides its format (".gz" removed).
struct Loaded {
    Bytes bytes;
    std::string name;   ///< for messages
    std::string inner;  ///< for format dispatch
};

Loaded load(const std::string& path) {
    Loaded in{{}, display_name(path), path == "-" ? std::string() : path};
    in.bytes = read_all(path, in.name);
    const bool gz_name = extension_of(in.inner) == ".gz";
    if (is_gzip(in.bytes)) {
        in.bytes = gunzip(in.name, in.bytes);
        if (gz_name) in.inner.resize(in.inner.size() - 3);
        if (is_gzip(in.bytes) || extension_of(in.inner) == ".gz") {
            fail(in.name, "is compressed twice (gzip inside gzip); decompress it once first");
        }
    } else if (gz_name) {
        fail(in.name, "is named .gz but is not gzip-compressed");
    }
    return in;
}

// --- text ------------------------------------------------------------------------------------------

/// Offset of the first byte that does not start a valid UTF-8 sequence (overlong forms, surrogates and
/// code points past U+10FFFF are invalid), or npos.
std::size_t find_invalid_utf8(const char* data, std::size_t n) {
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
        if (n - i < len) return i;
        for (std::size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return i;
        if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return i;
        i += len;
    }
    return std::string_view::npos;
}

/// Refuses content that is not UTF-8 text (NUL bytes, invalid sequences): most likely a binary file whose
/// format we did not recognise. Returns the text without a leading byte-order mark.
std::string_view checked_text(const std::string& name, const Bytes& bytes) {
    std::string_view text(bytes.data(), bytes.size());
    if (const void* nul = std::memchr(text.data(), 0, text.size())) {
        fail(name, "looks like a binary file (NUL byte at offset ",
             static_cast<const char*>(nul) - text.data(),
             "), not text; binary input must be .npy, IDX or bhtsne .dat");
    }
    const std::size_t bad = find_invalid_utf8(text.data(), text.size());
    if (bad != std::string_view::npos) {
        const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
        fail(name, "looks like a binary file (invalid UTF-8 on line ", line,
             "), not text; binary input must be .npy, IDX or bhtsne .dat");
    }
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    return text;
}

/// Splits text into lines ("\n" or "\r\n"), counting them from 1.
class Lines {
  public:
    explicit Lines(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}
    bool next(std::string_view& line) {
        if (p_ == end_) return false;
        const auto* nl = static_cast<const char*>(std::memchr(p_, '\n', static_cast<std::size_t>(end_ - p_)));
        const char* stop = nl ? nl : end_;
        const char* e = stop;
        if (e > p_ && e[-1] == '\r') --e;
        line = std::string_view(p_, static_cast<std::size_t>(e - p_));
        p_ = nl ? nl + 1 : end_;
        ++number_;
        return true;
    }
    index_t number() const { return number_; }
    std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }

  private:
    const char* p_;
    const char* end_;
    index_t number_ = 0;
};

bool is_skipped(std::string_view line) {
    line = trim(line);
    return line.empty() || line.front() == '#';
}

enum class Num { ok, empty, not_number, not_finite, overflow };

/// C-locale strtod, for the rare values std::from_chars reports out of range.
double strtod_c(const std::string& s) {
    static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
    return c_locale ? strtod_l(s.c_str(), nullptr, c_locale) : std::strtod(s.c_str(), nullptr);
}

/// Parses a whole cell as a finite double: "1e5", "-.5", "+3" are numbers; "nan", "inf" and values that
/// overflow to infinity are not finite; underflow gives zero or a subnormal, as strtod does.
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

std::string_view unquote(std::string_view cell) {
    if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"') return cell.substr(1, cell.size() - 2);
    return cell;
}

/// Calls fn(cell, column) for each trimmed, unquoted cell (columns from 1); returns the number of cells.
template <class Fn>
index_t for_each_cell(std::string_view line, char delim, Fn&& fn) {
    index_t column = 0;
    const char* p = line.data();
    const char* end = p + line.size();
    if (delim == ' ') {
        for (;;) {
            while (p < end && is_space(*p)) ++p;
            if (p == end) break;
            const char* start = p;
            while (p < end && !is_space(*p)) ++p;
            fn(unquote(std::string_view(start, static_cast<std::size_t>(p - start))), ++column);
        }
        return column;
    }
    for (;;) {
        const auto* d = static_cast<const char*>(std::memchr(p, delim, static_cast<std::size_t>(end - p)));
        const char* stop = d ? d : end;
        fn(unquote(trim(std::string_view(p, static_cast<std::size_t>(stop - p)))), ++column);
        if (!d) break;
        p = d + 1;
    }
    return column;
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

[[noreturn]] void fail_cell(const std::string& name, index_t line, index_t column, std::string_view cell,
                            Num status) {
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

/// Delimited text: one pass over the buffer, values appended to one vector.
Matrix parse_text_matrix(const Loaded& in) {
    const std::string& name = in.name;
    Lines lines(checked_text(name, in.bytes));
    std::string_view line;
    const auto next_row = [&] {
        while (lines.next(line)) {
            if (!is_skipped(line)) return true;
        }
        return false;
    };
    if (!next_row()) fail(name, "no data rows (the file is empty or has only comments)");
    char delim = detect_delimiter(line);
    // A header has names, no numbers. A first row that mixes numbers and text ("1,NA,3") is data with a
    // bad cell, reported as such rather than dropped as a header.
    bool has_name = false;
    bool has_number = false;
    for_each_cell(line, delim, [&](std::string_view cell, index_t) {
        double v;
        const Num status = parse_number(cell, v);
        has_name = has_name || status == Num::not_number;
        has_number = has_number || status == Num::ok || status == Num::not_finite || status == Num::overflow;
    });
    const bool header = has_name && !has_number;
    if (header) {
        if (!next_row()) fail(name, "no data rows (only a header line)");
        delim = detect_delimiter(line);
    }
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
            // Rows tend to have similar lengths: reserve for the rest from this one's, never more than
            // the bytes left could hold (each value needs at least two).
            const std::size_t guess = lines.remaining() / (line.size() + 1) * static_cast<std::size_t>(cols);
            values.reserve(std::min(guess + guess / 16, lines.remaining() / 2) + values.size());
        } else if (got != cols || too_many) {
            fail(name, "line ", lines.number(), ": expected ", cols,
                 " columns (as on the first data row), got ", got);
        }
        ++rows;
    } while (next_row());
    return Matrix(rows, cols, std::move(values));
}

// --- binary matrices -------------------------------------------------------------------------------

enum class Elem { u8, i8, i16, u16, i32, u32, i64, u64, f32, f64 };

std::size_t elem_size(Elem e) {
    switch (e) {
        case Elem::u8:
        case Elem::i8:
            return 1;
        case Elem::i16:
        case Elem::u16:
            return 2;
        case Elem::i32:
        case Elem::u32:
        case Elem::f32:
            return 4;
        default:
            return 8;
    }
}

template <class T, bool BigEndian>
T load(const char* p) {
    char tmp[sizeof(T)];
    if constexpr (BigEndian) {
        std::reverse_copy(p, p + sizeof(T), tmp);
    } else {
        std::memcpy(tmp, p, sizeof(T));
    }
    T v;
    std::memcpy(&v, tmp, sizeof(T));
    return v;
}

template <class T, bool BigEndian>
void convert_as(const std::string& name, const char* src, index_t rows, index_t cols, double* dst) {
    const index_t count = rows * cols;
    for (index_t i = 0; i < count; ++i) {
        dst[i] = static_cast<double>(load<T, BigEndian>(src + static_cast<std::size_t>(i) * sizeof(T)));
    }
    if constexpr (std::is_floating_point_v<T>) {
        for (index_t i = 0; i < count; ++i) {
            if (!std::isfinite(dst[i])) {
                fail(name, "row ", i / cols + 1, ", column ", i % cols + 1, " is ",
                     std::isnan(dst[i]) ? "NaN" : "infinite", " (NaN and Inf are not allowed)");
            }
        }
    }
}

/// Converts rows x cols packed elements to a Matrix of doubles, refusing NaN and Inf.
template <bool BigEndian>
Matrix convert(const std::string& name, Elem e, const char* src, index_t rows, index_t cols) {
    std::vector<double> out(static_cast<std::size_t>(rows * cols));
    double* dst = out.data();
    switch (e) {
        case Elem::u8:
            convert_as<std::uint8_t, BigEndian>(name, src, rows, cols, dst);
            break;
        case Elem::i8:
            convert_as<std::int8_t, BigEndian>(name, src, rows, cols, dst);
            break;
        case Elem::i16:
            convert_as<std::int16_t, BigEndian>(name, src, rows, cols, dst);
            break;
        case Elem::u16:
            convert_as<std::uint16_t, BigEndian>(name, src, rows, cols, dst);
            break;
        case Elem::i32:
            convert_as<std::int32_t, BigEndian>(name, src, rows, cols, dst);
            break;
        case Elem::u32:
            convert_as<std::uint32_t, BigEndian>(name, src, rows, cols, dst);
            break;
        case Elem::i64:
            convert_as<std::int64_t, BigEndian>(name, src, rows, cols, dst);
            break;
        case Elem::u64:
            convert_as<std::uint64_t, BigEndian>(name, src, rows, cols, dst);
            break;
        case Elem::f32:
            convert_as<float, BigEndian>(name, src, rows, cols, dst);
            break;
        case Elem::f64:
            convert_as<double, BigEndian>(name, src, rows, cols, dst);
            break;
    }
    return Matrix(rows, cols, std::move(out));
}

/// rows x cols elements of `size` bytes: checks that the product neither overflows nor exceeds `avail`
/// bytes, and that there is nothing after the data. Returns the data size in bytes.
std::uint64_t check_data_size(const std::string& name, std::uint64_t rows, std::uint64_t cols,
                              std::size_t size, std::uint64_t avail) {
    if (rows == 0) fail(name, "no data rows (the array has 0 rows)");
    if (cols == 0) fail(name, "the array has 0 columns");
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(rows, cols, &count) || __builtin_mul_overflow(count, size, &bytes) ||
        count > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max())) {
        fail(name, "declares ", rows, " x ", cols, " values, too many to address");
    }
    if (bytes > avail) {
        fail(name, "is truncated: ", rows, " x ", cols, " values need ", bytes, " bytes of data, found ",
             avail);
    }
    if (bytes < avail) {
        fail(name, "has ", avail - bytes, " bytes after the ", rows, " x ", cols, " values it declares");
    }
    return bytes;
}

// .npy: "\x93NUMPY", major, minor, header length (uint16 in 1.x, uint32 in 2.x/3.x), then a Python dict
// literal {'descr': '<f8', 'fortran_order': False, 'shape': (N, D), } padded with spaces and '\n'.
struct NpyHeader {
    std::string descr;
    bool fortran = false;
    std::vector<std::uint64_t> shape;
    bool has_descr = false, has_fortran = false, has_shape = false;
};

class NpyHeaderParser {
  public:
    NpyHeaderParser(const std::string& name, std::string_view text) : name_(name), s_(text) {}

    NpyHeader parse() {
        NpyHeader h;
        expect('{');
        while (skip_ws(), peek() != '}') {
            const std::string key = string_literal();
            expect(':');
            skip_ws();
            if (key == "descr") {
                if (peek() == '[') bad("structured (record) dtypes are not supported");
                h.descr = string_literal();
                h.has_descr = true;
            } else if (key == "fortran_order") {
                h.fortran = boolean();
                h.has_fortran = true;
            } else if (key == "shape") {
                h.shape = tuple();
                h.has_shape = true;
            } else {
                bad(concat("unexpected key '", key, "'"));
            }
            skip_ws();
            if (peek() == ',') ++i_;
        }
        ++i_;
        skip_ws();
        if (i_ != s_.size()) bad("unexpected text after the closing '}'");
        if (!h.has_descr || !h.has_fortran || !h.has_shape)
            bad("missing 'descr', 'fortran_order' or 'shape'");
        return h;
    }

  private:
    [[noreturn]] void bad(const std::string& what) const { fail(name_, "invalid .npy header: ", what); }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void skip_ws() {
        while (i_ < s_.size() && (is_space(s_[i_]) || s_[i_] == '\n')) ++i_;
    }
    void expect(char c) {
        skip_ws();
        if (peek() != c) bad(concat("expected '", c, "' at offset ", i_));
        ++i_;
    }
    std::string string_literal() {
        skip_ws();
        const char quote = peek();
        if (quote != '\'' && quote != '"') bad(concat("expected a quoted string at offset ", i_));
        const std::size_t close = s_.find(quote, i_ + 1);
        if (close == std::string_view::npos) bad("unterminated string");
        std::string out(s_.substr(i_ + 1, close - i_ - 1));
        i_ = close + 1;
        return out;
    }
    bool boolean() {
        if (s_.substr(i_, 4) == "True") {
            i_ += 4;
            return true;
        }
        if (s_.substr(i_, 5) == "False") {
            i_ += 5;
            return false;
        }
        bad("'fortran_order' must be True or False");
    }
    std::vector<std::uint64_t> tuple() {
        std::vector<std::uint64_t> dims;
        expect('(');
        while (skip_ws(), peek() != ')') {
            if (peek() < '0' || peek() > '9') bad(concat("expected a dimension at offset ", i_));
            std::uint64_t v = 0;
            while (peek() >= '0' && peek() <= '9') {
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, peek() - '0', &v)) {
                    bad("dimension too large");
                }
                ++i_;
            }
            if (peek() == 'L') ++i_;  // Python 2 longs
            dims.push_back(v);
            if (dims.size() > 64) bad("too many dimensions");
            skip_ws();
            if (peek() == ',') {
                ++i_;
            } else if (peek() != ')') {
                bad(concat("expected ',' or ')' at offset ", i_));
            }
        }
        ++i_;
        return dims;
    }

    const std::string& name_;
    std::string_view s_;
    std::size_t i_ = 0;
};

/// Maps a numpy dtype string ('<f8', '|u1', '=i4'...) to an element type; refuses the rest clearly.
Elem npy_elem(const std::string& name, const std::string& descr) {
    if (descr.find('O') != std::string::npos)
        fail(name, "object arrays (dtype '", descr, "') are not supported");
    if (descr.size() < 2) fail(name, "unsupported .npy dtype '", descr, "'");
    const char order = descr[0];
    const std::string type =
        descr.substr(order == '<' || order == '>' || order == '|' || order == '=' ? 1 : 0);
    static const std::pair<const char*, Elem> kTypes[] = {
        {"f4", Elem::f32}, {"f8", Elem::f64}, {"u1", Elem::u8},  {"i1", Elem::i8},  {"i2", Elem::i16},
        {"u2", Elem::u16}, {"i4", Elem::i32}, {"u4", Elem::u32}, {"i8", Elem::i64}, {"u8", Elem::u64},
    };
    for (const auto& [code, elem] : kTypes) {
        if (type != code) continue;
        if (elem_size(elem) > 1 && order == '>') {
            fail(name, "big-endian dtype '", descr, "' is not supported; save it as little-endian (astype('<",
                 type, "'))");
        }
        if (elem_size(elem) > 1 && order == '|') fail(name, "invalid .npy dtype '", descr, "'");
        return elem;
    }
    fail(name, "unsupported .npy dtype '", descr, "'; use float32/float64 or 8- to 64-bit integers");
}

/// The decoded element type and shape of a .npy array as rows x cols; returns the data.
Matrix parse_npy(const Loaded& in) {
    const std::string& name = in.name;
    const Bytes& b = in.bytes;
    if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0)
        fail(name, "is not a .npy file (bad magic)");
    const int major = static_cast<unsigned char>(b[6]);
    const int minor = static_cast<unsigned char>(b[7]);
    std::size_t header_start = 10;
    std::uint64_t header_len = static_cast<unsigned char>(b[8]) | static_cast<unsigned>(b[9] & 0xFF) << 8;
    if (major == 2 || major == 3) {
        if (b.size() < 12) fail(name, "truncated .npy header");
        header_start = 12;
        header_len = load_le32(b.data() + 8);
    } else if (major != 1) {
        fail(name, "unsupported .npy format version ", major, ".", minor);
    }
    if (header_len > b.size() - header_start) fail(name, "truncated .npy header");
    const NpyHeader h =
        NpyHeaderParser(name, std::string_view(b.data() + header_start, static_cast<std::size_t>(header_len)))
            .parse();
    const Elem elem = npy_elem(name, h.descr);
    if (h.fortran) fail(name, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
    if (h.shape.empty() || h.shape.size() > 2) {
        fail(name, "a ", h.shape.size(), "-D array is not supported; expected 1-D (N) or 2-D (N x D)");
    }
    const std::uint64_t rows = h.shape[0];
    const std::uint64_t cols = h.shape.size() == 2 ? h.shape[1] : 1;
    const std::size_t data_start = header_start + static_cast<std::size_t>(header_len);
    check_data_size(name, rows, cols, elem_size(elem), b.size() - data_start);
    return convert<false>(name, elem, b.data() + data_start, static_cast<index_t>(rows),
                          static_cast<index_t>(cols));
}

// IDX (LeCun's MNIST format): 0x00 0x00, a type byte, the number of dimensions, then each dimension as a
// big-endian uint32, then the values, big-endian. Row i is the i-th item flattened.
Matrix parse_idx(const Loaded& in) {
    const std::string& name = in.name;
    const Bytes& b = in.bytes;
    if (b.size() < 4 || b[0] != 0 || b[1] != 0) fail(name, "is not an IDX file (bad magic)");
    Elem elem = Elem::u8;
    switch (static_cast<unsigned char>(b[2])) {
        case 0x08:
            elem = Elem::u8;
            break;
        case 0x09:
            elem = Elem::i8;
            break;
        case 0x0B:
            elem = Elem::i16;
            break;
        case 0x0C:
            elem = Elem::i32;
            break;
        case 0x0D:
            elem = Elem::f32;
            break;
        case 0x0E:
            elem = Elem::f64;
            break;
        default:
            fail(name, "unknown IDX data type 0x", std::hex, static_cast<unsigned>(b[2] & 0xFF));
    }
    const std::size_t ndims = static_cast<unsigned char>(b[3]);
    if (ndims == 0) fail(name, "IDX file with 0 dimensions");
    const std::size_t header = 4 + 4 * ndims;
    if (b.size() < header)
        fail(name, "truncated IDX header (", ndims, " dimensions need ", header, " bytes)");
    const std::uint64_t rows = load_be32(b.data() + 4);
    std::uint64_t cols = 1;
    for (std::size_t k = 1; k < ndims; ++k) {
        if (__builtin_mul_overflow(cols, std::uint64_t{load_be32(b.data() + 4 + 4 * k)}, &cols)) {
            fail(name, "IDX dimensions too large to address");
        }
    }
    check_data_size(name, rows, cols, elem_size(elem), b.size() - header);
    return convert<true>(name, elem, b.data() + header, static_cast<index_t>(rows),
                         static_cast<index_t>(cols));
}

/// True when the n int32 at p are 0, 1, ..., n-1 (the landmarks of a bhtsne result file).
bool identity_landmarks(const char* p, std::int32_t n) {
    for (std::int32_t i = 0; i < n; ++i) {
        if (load_le32(p + 4 * static_cast<std::size_t>(i)) != static_cast<std::uint32_t>(i)) return false;
    }
    return true;
}

// bhtsne's data.dat: int32 N, int32 D, double theta, double perplexity, [int32 no_dims, int32 max_iter in
// newer versions], N*D doubles, [int32 rand_seed]. The four layouts have distinct sizes for given N, D.
// bhtsne's result.dat, which write_matrix writes, reads too: int32 N, int32 D, N*D doubles, N int32
// landmarks, N doubles costs. Its size can equal a data layout's only for N = 2; the landmarks 0, 1 decide.
Matrix parse_dat(const Loaded& in) {
    const std::string& name = in.name;
    const Bytes& b = in.bytes;
    if (b.size() < 24)
        fail(name, "too short for a bhtsne data file (", b.size(), " bytes; the header needs 24)");
    const auto n = static_cast<std::int32_t>(load_le32(b.data()));
    const auto d = static_cast<std::int32_t>(load_le32(b.data() + 4));
    if (n <= 0 || d <= 0) fail(name, "bhtsne header gives N = ", n, ", D = ", d, "; both must be positive");
    // n, d < 2^31: n * d and 12 * n fit in 64 bits, 8 * n * d may not.
    std::uint64_t bytes = 0;
    std::uint64_t result_size = 0;
    if (__builtin_mul_overflow(std::uint64_t(n) * std::uint64_t(d), 8, &bytes) ||
        __builtin_add_overflow(bytes, 8 + 12 * std::uint64_t(n), &result_size)) {
        fail(name, "bhtsne header gives N = ", n, ", D = ", d, ", too many values to address");
    }
    const std::uint64_t size = b.size();
    std::size_t header = 0;
    if (size == bytes + 24 || size == bytes + 28) header = 24;
    if (size == bytes + 32 || size == bytes + 36) header = 32;
    if (size == result_size && (header == 0 || identity_landmarks(b.data() + 8 + bytes, n))) header = 8;
    if (header == 0) {
        fail(name, "is ", size, " bytes, which does not fit a bhtsne data file of ", n, " x ", d,
             " (8*N*D = ", bytes,
             " bytes of data plus a 24- to 36-byte header and trailer) nor a result file (", result_size,
             " bytes)");
    }
    return convert<false>(name, Elem::f64, b.data() + header, n, d);
}

enum class Format { text, npy, idx, dat };

Format detect_format(const Loaded& in) {
    const std::string ext = extension_of(in.inner);
    if (ext == ".npy") return Format::npy;
    if (ext == ".dat") return Format::dat;
    const Bytes& b = in.bytes;
    if (b.size() >= 6 && std::memcmp(b.data(), "\x93NUMPY", 6) == 0) return Format::npy;
    // Text never starts with NUL bytes; IDX always does.
    if (b.size() >= 2 && b[0] == 0 && b[1] == 0) return Format::idx;
    if (ext == ".idx" || ends_with(to_lower(in.inner), "-ubyte")) return Format::idx;
    return Format::text;
}

Matrix parse_matrix(const Loaded& in) {
    switch (detect_format(in)) {
        case Format::npy:
            return parse_npy(in);
        case Format::idx:
            return parse_idx(in);
        case Format::dat:
            return parse_dat(in);
        default:
            return parse_text_matrix(in);
    }
}

// --- labels ----------------------------------------------------------------------------------------

/// Codes for numeric labels: distinct values sorted ascending, so code order is numeric order. names[c] is
/// the text of the value's first appearance (or its integer form when texts is null).
Labels numeric_labels(const std::vector<double>& values, const std::vector<std::string_view>* texts) {
    std::vector<double> distinct = values;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    Labels labels;
    labels.codes.resize(values.size());
    labels.names.resize(distinct.size());
    std::vector<char> named(distinct.size(), 0);
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto code = std::lower_bound(distinct.begin(), distinct.end(), values[i]) - distinct.begin();
        labels.codes[i] = static_cast<int>(code);
        if (named[static_cast<std::size_t>(code)]) continue;
        named[static_cast<std::size_t>(code)] = 1;
        std::string& text = labels.names[static_cast<std::size_t>(code)];
        if (texts) {
            text = std::string((*texts)[i]);
        } else {
            char buf[400];
            const auto r = std::to_chars(buf, buf + sizeof buf, values[i], std::chars_format::fixed, 0);
            text.assign(buf, r.ptr);
        }
    }
    return labels;
}

Labels parse_text_labels(const Loaded& in) {
    Lines lines(checked_text(in.name, in.bytes));
    std::vector<std::string_view> items;
    std::string_view line;
    index_t blank = 0;  // first blank line; allowed only if nothing follows
    while (lines.next(line)) {
        line = trim(line);
        if (line.empty()) {
            if (blank == 0) blank = lines.number();
            continue;
        }
        if (blank != 0)
            fail(in.name, "line ", blank, ": empty label (only trailing empty lines are allowed)");
        items.push_back(line);
    }
    if (items.empty()) fail(in.name, "no labels (the file is empty)");
    if (items.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        fail(in.name, "too many labels");
    std::vector<double> values(items.size());
    bool numeric = true;
    for (std::size_t i = 0; i < items.size() && numeric; ++i)
        numeric = parse_number(items[i], values[i]) == Num::ok;
    if (numeric) return numeric_labels(values, &items);
    Labels labels;
    labels.codes.reserve(items.size());
    std::unordered_map<std::string_view, int> codes;
    for (const std::string_view item : items) {
        const auto [it, inserted] = codes.emplace(item, static_cast<int>(labels.names.size()));
        if (inserted) labels.names.emplace_back(item);
        labels.codes.push_back(it->second);
    }
    return labels;
}

Labels labels_from_matrix(const std::string& name, const Matrix& m) {
    if (m.cols() != 1) fail(name, "labels must be one column; got ", m.rows(), " x ", m.cols());
    if (m.rows() > std::numeric_limits<int>::max()) fail(name, "too many labels");
    for (index_t i = 0; i < m.rows(); ++i) {
        if (m(i, 0) != std::floor(m(i, 0)))
            fail(name, "row ", i + 1, ": label ", m(i, 0), " is not an integer");
    }
    return numeric_labels(m.storage(), nullptr);
}

// --- output ----------------------------------------------------------------------------------------

/// Buffers output for an AtomicFile or, without one, standard output.
class Output {
  public:
    explicit Output(AtomicFile* file) : file_(file) { buf_.reserve(kFlushAt + 4096); }
    void put(const void* data, std::size_t n) {
        if (n >= kFlushAt) {  // a large block (a whole binary matrix) goes out without a copy
            flush();
            sink(data, n);
            return;
        }
        buf_.append(static_cast<const char*>(data), n);
        if (buf_.size() >= kFlushAt) flush();
    }
    void put(char c) { buf_.push_back(c); }
    void number(double v) {
        char tmp[64];
        const auto r = std::to_chars(tmp, tmp + sizeof tmp, v, std::chars_format::general, 17);
        put(tmp, static_cast<std::size_t>(r.ptr - tmp));
    }
    template <class T>
    void binary(T v) {
        put(&v, sizeof v);
    }
    void flush() {
        sink(buf_.data(), buf_.size());
        buf_.clear();
    }
    void finish() {
        flush();
        if (!file_ && std::fflush(stdout) != 0) {
            throw IoError(concat("cannot write to standard output: ", std::strerror(errno)));
        }
    }

  private:
    void sink(const void* data, std::size_t n) {
        if (file_) {
            file_->write(data, n);
        } else if (n > 0 && std::fwrite(data, 1, n, stdout) != n) {
            throw IoError(concat("cannot write to standard output: ", std::strerror(errno)));
        }
    }

    static constexpr std::size_t kFlushAt = std::size_t{1} << 20;
    AtomicFile* file_;
    std::string buf_;
};

void write_text(Output& out, ConstMatrixView m, char delim) {
    for (index_t i = 0; i < m.rows; ++i) {
        for (index_t j = 0; j < m.cols; ++j) {
            if (j > 0) out.put(delim);
            out.number(m(i, j));
        }
        out.put('\n');
    }
}

void write_npy(Output& out, ConstMatrixView m) {
    std::string dict =
        concat("{'descr': '<f8', 'fortran_order': False, 'shape': (", m.rows, ", ", m.cols, "), }");
    // Magic (6) + version (2) + length (2) + dict + padding + '\n' is a multiple of 64, as numpy writes it.
    const std::size_t total = 10 + dict.size() + 1;
    dict.append((64 - total % 64) % 64, ' ');
    dict.push_back('\n');
    out.put("\x93NUMPY\x01\x00", 8);
    out.binary(static_cast<std::uint16_t>(dict.size()));
    out.put(dict.data(), dict.size());
    out.put(m.data, static_cast<std::size_t>(m.size()) * sizeof(double));
}

void write_dat(Output& out, ConstMatrixView m) {
    out.binary(static_cast<std::int32_t>(m.rows));
    out.binary(static_cast<std::int32_t>(m.cols));
    out.put(m.data, static_cast<std::size_t>(m.size()) * sizeof(double));
    for (index_t i = 0; i < m.rows; ++i) out.binary(static_cast<std::int32_t>(i));  // landmarks
    for (index_t i = 0; i < m.rows; ++i) out.binary(0.0);                           // costs
}

std::atomic<unsigned> temp_counter{0};

/// Runs a reader, reporting a failed allocation as an IoError about the file: input too large for memory
/// is a property of the input, and the caller should see which file and why.
template <class Fn>
auto with_memory_check(const std::string& path, Fn&& fn) {
    try {
        return fn();
    } catch (const std::bad_alloc&) {
        fail(display_name(path), "not enough memory to read it");
    }
}

[[noreturn]] void fail_unknown_format(const std::string& path) {
    const std::string ext = extension_of(path);
    const std::string what = ext.empty() ? "has no extension" : concat("unknown output format '", ext, "'");
    fail(path, what, " (use .csv, .tsv, .npy or .dat, or - for standard output)");
}

}  // namespace

// --- public API ------------------------------------------------------------------------------------

Matrix read_matrix(const std::string& path) {
    return with_memory_check(path, [&] { return parse_matrix(load(path)); });
}

Labels read_labels(const std::string& path) {
    return with_memory_check(path, [&] {
        const Loaded in = load(path);
        if (detect_format(in) == Format::text) return parse_text_labels(in);
        return labels_from_matrix(in.name, parse_matrix(in));
    });
}

bool is_writable_matrix_format(const std::string& path) {
    if (path == "-") return true;
    const std::string ext = extension_of(path);
    return ext == ".csv" || ext == ".tsv" || ext == ".npy" || ext == ".dat";
}

void write_matrix(const std::string& path, ConstMatrixView m) {
    require(m.rows >= 0 && m.cols >= 0 && (m.data != nullptr || m.size() == 0), "write_matrix: invalid ",
            m.rows, " x ", m.cols, " view");
    if (path == "-") {
        Output out(nullptr);
        write_text(out, m, ',');
        out.finish();
        return;
    }
    const std::string ext = extension_of(path);
    if (!is_writable_matrix_format(path)) {
        fail(path, "unknown output format '", ext,
             "' (use .csv, .tsv, .npy or .dat, or - for standard output)");
    }
    if (ext == ".dat" && (m.rows > std::numeric_limits<std::int32_t>::max() ||
                          m.cols > std::numeric_limits<std::int32_t>::max())) {
        fail(path, "a ", m.rows, " x ", m.cols, " matrix does not fit bhtsne's 32-bit .dat header");
    }
    AtomicFile file(path);
    Output out(&file);
    if (ext == ".csv" || ext == ".tsv") {
        write_text(out, m, ext == ".csv" ? ',' : '\t');
    } else if (ext == ".npy") {
        write_npy(out, m);
    } else {
        write_dat(out, m);
    }
    out.finish();
    file.commit();
}

void check_writable(const std::string& path, bool is_matrix) {
    if (path == "-") return;
    if (is_matrix && !is_writable_matrix_format(path)) fail_unknown_format(path);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw IoError(concat("cannot write ", path, ": is a directory"));
    const AtomicFile probe(path);  // created, then removed by its destructor
}

// --- affinities ------------------------------------------------------------------------------------

void write_affinities(const std::string& path, const SparseMatrix& p) {
    require(p.n >= 0 && p.offsets.size() == static_cast<std::size_t>(p.n) + 1 && p.offsets.front() == 0 &&
                p.offsets.back() == p.nnz() && p.columns.size() == p.values.size(),
            "write_affinities: inconsistent sparse matrix (n = ", p.n, ", ", p.offsets.size(), " offsets, ",
            p.columns.size(), " columns, ", p.values.size(), " values)");
    AtomicFile file(path);
    Output out(&file);
    const std::string head = concat("%%MatrixMarket matrix coordinate real general\n",
                                    "% treesne affinities: joint probabilities P, 1-based row column value\n",
                                    p.n, " ", p.n, " ", p.nnz(), "\n");
    out.put(head.data(), head.size());
    char tmp[32];
    for (index_t i = 0; i < p.n; ++i) {
        for (index_t k = p.offsets[static_cast<std::size_t>(i)];
             k < p.offsets[static_cast<std::size_t>(i) + 1]; ++k) {
            out.put(tmp, static_cast<std::size_t>(std::to_chars(tmp, tmp + sizeof tmp, i + 1).ptr - tmp));
            out.put(' ');
            const index_t col = index_t{p.columns[static_cast<std::size_t>(k)]} + 1;
            out.put(tmp, static_cast<std::size_t>(std::to_chars(tmp, tmp + sizeof tmp, col).ptr - tmp));
            out.put(' ');
            out.number(p.values[static_cast<std::size_t>(k)]);
            out.put('\n');
        }
    }
    out.finish();
    file.commit();
}

namespace {

/// Splits a line on whitespace into at most `max` tokens; returns the token count (max + 1 if more).
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

struct Triplets {
    index_t n = 0, nnz = 0;
    std::vector<point_t> rows, cols;
    std::vector<double> values;
};

/// The banner and size line; leaves `lines` at the first entry.
Triplets read_mtx_head(const std::string& name, Lines& lines, std::size_t text_size) {
    std::string_view line;
    std::string_view tok[5];
    if (!lines.next(line)) fail(name, "is empty; expected a Matrix Market file");
    if (tokens(line, tok, 5) != 5 || to_lower(tok[0]) != "%%matrixmarket" || to_lower(tok[1]) != "matrix" ||
        to_lower(tok[2]) != "coordinate" || to_lower(tok[3]) != "real" || to_lower(tok[4]) != "general") {
        fail(name, "line 1: expected '%%MatrixMarket matrix coordinate real general', got ", shown(line));
    }
    do {
        if (!lines.next(line)) fail(name, "no size line ('N N nnz') after the header");
    } while (trim(line).empty() || trim(line).front() == '%');
    Triplets t;
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
        t.rows.push_back(static_cast<point_t>(ij[0] - 1));
        t.cols.push_back(static_cast<point_t>(ij[1] - 1));
        t.values.push_back(v);
    }
    if (static_cast<index_t>(t.values.size()) != t.nnz) {
        fail(name, "expected ", t.nnz, " entries (line ", size_line, "), found ", t.values.size(),
             " (truncated?)");
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
            p.values[k] = it->second;
        }
    }
    return p;
}

}  // namespace

SparseMatrix read_affinities(const std::string& path) {
    return with_memory_check(path, [&] {
        const Loaded in = load(path);
        const std::string_view text = checked_text(in.name, in.bytes);
        Lines lines(text);
        Triplets t = read_mtx_head(in.name, lines, text.size());
        read_mtx_entries(in.name, lines, t);
        return to_csr(in.name, t);
    });
}

// --- AtomicFile ------------------------------------------------------------------------------------

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    const std::filesystem::path target(path_);
    std::string leaf = target.filename().string();
    if (leaf.empty() || leaf == "." || leaf == "..")
        throw IoError(concat("cannot write ", path_, ": not a file name"));
    // Keep the temporary name within NAME_MAX even for long targets.
    if (leaf.size() > 200) leaf.resize(200);
    for (int attempt = 0;; ++attempt) {
        const std::string temp_leaf = concat(".", leaf, ".tmp.", ::getpid(), ".", temp_counter++);
        temp_ = (target.parent_path() / temp_leaf).string();
        // "x": fail rather than reuse a file that exists (a stale temporary from a crashed run).
        std::FILE* f = std::fopen(temp_.c_str(), "wbx");
        if (f) {
            file_ = f;
            return;
        }
        if (errno != EEXIST || attempt >= 100) {
            const int err = errno;
            temp_.clear();
            throw IoError(concat("cannot write ", path_, ": ", std::strerror(err)));
        }
    }
}

AtomicFile::~AtomicFile() {
    if (file_) std::fclose(static_cast<std::FILE*>(file_));
    if (!committed_ && !temp_.empty()) std::remove(temp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
    if (!file_) throw IoError(concat("cannot write ", path_, ": file already closed"));
    if (size > 0 && std::fwrite(data, 1, size, static_cast<std::FILE*>(file_)) != size) {
        throw IoError(concat("cannot write ", path_, ": ", std::strerror(errno)));
    }
}

void AtomicFile::commit() {
    if (!file_) throw IoError(concat("cannot write ", path_, ": file already closed"));
    auto* f = static_cast<std::FILE*>(file_);
    file_ = nullptr;
    int err = 0;
    if (std::fflush(f) != 0) err = errno;
    // fsync so that a crash after the rename cannot leave a renamed but empty file.
    if (err == 0 && ::fsync(::fileno(f)) != 0 && errno != EINVAL && errno != EROFS) err = errno;
    if (std::fclose(f) != 0 && err == 0) err = errno;
    if (err == 0 && std::rename(temp_.c_str(), path_.c_str()) != 0) err = errno;
    if (err != 0) throw IoError(concat("cannot write ", path_, ": ", std::strerror(err)));
    committed_ = true;
}

}  // namespace treesne::io
