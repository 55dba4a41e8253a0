// Readers and writers for matrices: choosing the format, and the string helpers every format shares. Each
// format lives in its own file (io/text.cpp, io/npy.cpp, io/idx.cpp, io/dat.cpp, io/mtx.cpp); gzip and
// whole-file input in io/gzip.cpp, what the binary formats share in io/binary.cpp, labels in io/labels.cpp,
// AtomicFile and output paths in atomic_file.cpp; src/io/internal.hpp declares what they share. Blocks of
// rows read by offset (read_matrix_shape, read_matrix_rows) are here too, beside read_matrix, whose checks
// they share.
#include "treesne/io/io.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/internal.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/api/memory.hpp"

namespace treesne::io {
namespace detail {

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

std::string extension_of(std::string_view path) {
    const std::size_t slash = path.find_last_of('/');
    const std::string_view leaf = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const std::size_t dot = leaf.find_last_of('.');
    if (dot == std::string_view::npos || dot == 0) return {};
    return to_lower(leaf.substr(dot));
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

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

namespace {

/// The first bytes read, to decide the format before anything else is read.
constexpr std::size_t kPrefix = 4096;

/// The least memory bound the automatic limit sets: a momentary shortage of free memory must not refuse
/// a small file.
constexpr std::uint64_t kLeastAutomaticLimit = std::uint64_t{256} << 20;

std::uint64_t resolve_max_bytes(const ReadLimits& limits) {
    if (limits.max_bytes > 0) return limits.max_bytes;
    const std::optional<double> available = available_memory();
    if (!available || !(*available < 0x1p63)) return std::numeric_limits<std::uint64_t>::max();
    return std::max(static_cast<std::uint64_t>(std::max(*available, 0.0)), kLeastAutomaticLimit);
}

/// Reads the rest of the content chunk by chunk, calling check() after each, up to the memory bound;
/// `what` names the content in the message of the bound ("text").
template <class Check>
void read_bounded(Source& src, Loaded& in, bool ended, const char* what, Check&& check) {
    const auto over = [&] {
        fail(in.name, "holds more than ", format_bytes(static_cast<double>(in.max_bytes)), " of ", what,
             ", more than the memory available to read it");
    };
    while (!ended) {
        if (in.bytes.size() > in.max_bytes) over();
        // Chunks grow with what was read; one byte past the bound shows that the content exceeds it.
        const std::uint64_t chunk =
            std::clamp<std::uint64_t>(in.bytes.size(), std::uint64_t{1} << 16, std::uint64_t{1} << 26);
        const std::uint64_t room = in.max_bytes - in.bytes.size();
        const auto n = static_cast<std::size_t>(room < chunk ? room + 1 : chunk);
        ended = src.read(in.bytes, n) < n;
        check(ended);
    }
    if (in.bytes.size() > in.max_bytes) over();
}

/// A binary format: the header, then no more than it promises (one byte more shows a file too long).
void read_binary(Source& src, Loaded& in, Format format) {
    const Promise promise = read_header(src, in, format);
    check_fits(in, promise.bytes, promise.values, promise.what);
    const std::uint64_t one_more =
        promise.bytes + (promise.bytes < std::numeric_limits<std::uint64_t>::max());
    if (!fill(src, in.bytes, one_more)) return;  // a short file: the parser reports it truncated
    check_not_longer(in.name, src.known_size(), promise);
    fail(in.name, "has more bytes after ", promise.what, " (", promise.bytes, " bytes in all)");
}

}  // namespace

void read_text(Source& src, Loaded& in, const ReadLimits& limits, bool ended, std::string_view banner) {
    TextCheck check(in.name, limits.max_line_bytes);
    check.check(in.bytes, ended);
    if (!banner.empty()) check_mtx_banner(in.name, in.bytes, banner);
    read_bounded(src, in, ended, "text", [&](bool last) { check.check(in.bytes, last); });
}

void read_all(Source& src, Loaded& in, bool ended) {
    read_bounded(src, in, ended, "data", [](bool) {});
}

void check_fits(const Loaded& in, std::uint64_t bytes, std::uint64_t values, const std::string& what) {
    // In double: a forged header may declare sums past 2^64.
    const double need = static_cast<double>(bytes) + 8.0 * static_cast<double>(values);
    if (need > static_cast<double>(in.max_bytes)) {
        fail(in.name, "reading ", what, " needs about ", format_bytes(need), " of memory; ",
             format_bytes(static_cast<double>(in.max_bytes)), " is available");
    }
}

Promise read_header(Source& src, Loaded& in, Format format) {
    const auto header_size = [&] {
        if (format == Format::npy) return npy_header_size(in.bytes);
        if (format == Format::idx) return idx_header_size(in.bytes);
        return dat_header_size;
    };
    for (std::size_t need = header_size(); need > in.bytes.size(); need = header_size()) {
        if (!fill(src, in.bytes, need)) break;  // the file ends inside the header: the promise says so
    }
    return format == Format::npy   ? npy_promise(in.name, in.bytes)
           : format == Format::idx ? idx_promise(in.name, in.bytes)
                                   : dat_promise(in.name, in.bytes);
}

void check_not_longer(const std::string& name, std::uint64_t size, const Promise& promise) {
    if (size > promise.bytes) fail(name, "has ", size - promise.bytes, " bytes after ", promise.what);
}

bool load_prefix(Source& src, const std::string& path, const ReadLimits& limits, bool reserve, Loaded& in) {
    in.name = display_name(path);
    in.inner = path == "-" ? std::string() : path;
    in.max_bytes = resolve_max_bytes(limits);
    const bool gz_name = extension_of(in.inner) == ".gz";
    if (src.gzip()) {
        if (gz_name) in.inner.resize(in.inner.size() - 3);
    } else if (gz_name) {
        fail(in.name, "is named .gz but is not gzip-compressed");
    }
    // A file is most often read whole in the end: one allocation for it where its size is known (or
    // likely, for gzip), never past the bound.
    if (reserve && src.size_hint() > 0)
        in.bytes.reserve(static_cast<std::size_t>(std::min(src.size_hint(), in.max_bytes)) + 1);
    const bool ended = !fill(src, in.bytes, kPrefix);
    if (src.gzip() && ((in.bytes.size() >= 2 && static_cast<unsigned char>(in.bytes[0]) == 0x1F &&
                        static_cast<unsigned char>(in.bytes[1]) == 0x8B) ||
                       extension_of(in.inner) == ".gz")) {
        fail(in.name, "is compressed twice (gzip inside gzip); decompress it once first");
    }
    return ended;
}

Loaded load(const std::string& path, Expect expect, const ReadLimits& limits, ReadStats* stats) {
    Source src(path, stats);
    Loaded in;
    const bool ended = load_prefix(src, path, limits, true, in);
    if (expect != Expect::data) {
        read_text(src, in, limits, ended, expect == Expect::affinities ? kAffinitiesBanner : "");
        return in;
    }
    const Format format = detect_format(in);
    if (format == Format::text) {
        read_text(src, in, limits, ended, "");
    } else {
        read_binary(src, in, format);
    }
    return in;
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

namespace {

/// True when rows of path may be read by offset as far as the kind of file goes: a path that is not "-"
/// and names a regular file. A pipe or a device must not be touched: reading its header here would
/// take bytes that the whole read on one process then lacks. A path that cannot be examined is left to
/// Source, whose message names why.
bool seekable(const std::string& path) {
    struct stat st {};
    if (path == "-") return false;
    return ::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
}

}  // namespace

BlockFile open_blocks(const std::string& path, const ReadLimits& limits, ReadStats* stats) {
    BlockFile f;
    if (!seekable(path)) return f;
    auto src = std::make_unique<Source>(path, stats);
    // Only the first bytes and the header: no room reserved for the whole file.
    load_prefix(*src, path, limits, false, f.in);
    const Format format = detect_format(f.in);
    if (src->gzip() || format == Format::text) return f;
    const Promise promise = read_header(*src, f.in, format);
    const std::uint64_t size = src->known_size();
    check_not_longer(f.in.name, size, promise);
    f.layout = format == Format::npy   ? npy_layout_of(f.in.name, f.in.bytes, size)
               : format == Format::idx ? idx_layout_of(f.in.name, f.in.bytes, size)
                                       : dat_layout_of(f.in.name, f.in.bytes, size, *src);
    f.src = std::move(src);
    return f;
}

Matrix read_block(BlockFile& file, index_t first, index_t count) {
    const BinaryLayout& l = file.layout;
    const auto cols = static_cast<index_t>(l.cols);
    // The range lies inside the file, whose size matches its header: these products fit.
    const std::uint64_t row_bytes = l.cols * elem_size(l.elem);
    const std::uint64_t values = static_cast<std::uint64_t>(count) * l.cols;
    const std::string what = concat("rows ", first + 1, " to ", first + count, " (", values, " values)");
    check_fits(file.in, values * elem_size(l.elem), values, what);
    Bytes raw(static_cast<std::size_t>(static_cast<std::uint64_t>(count) * row_bytes));
    const std::uint64_t offset = l.data_start + static_cast<std::uint64_t>(first) * row_bytes;
    if (file.src->read_at(offset, raw.data(), raw.size()) < raw.size())
        fail(file.in.name, "ended while reading ", what, "; was it changed while being read?");
    return l.big_endian ? convert<true>(file.in.name, l.elem, raw.data(), count, cols, first)
                        : convert<false>(file.in.name, l.elem, raw.data(), count, cols, first);
}

}  // namespace detail

using detail::fail;

std::optional<MatrixShape> read_matrix_shape(const std::string& path, const ReadLimits& limits,
                                             ReadStats* stats) {
    return detail::with_memory_check(path, [&]() -> std::optional<MatrixShape> {
        const detail::BlockFile f = detail::open_blocks(path, limits, stats);
        if (!f.src) return std::nullopt;
        return MatrixShape{static_cast<index_t>(f.layout.rows), static_cast<index_t>(f.layout.cols)};
    });
}

Matrix read_matrix_rows(const std::string& path, index_t first, index_t count, const ReadLimits& limits,
                        ReadStats* stats) {
    return detail::with_memory_check(path, [&] {
        detail::BlockFile f = detail::open_blocks(path, limits, stats);
        require(f.src != nullptr, detail::display_name(path),
                ": its rows cannot be read by offset (text, gzip-compressed, standard input or not a regular "
                "file); read it whole with read_matrix");
        const auto rows = static_cast<index_t>(f.layout.rows);
        require(first >= 0 && count >= 0 && first <= rows && count <= rows - first, f.in.name,
                ": a block of ", count, " rows from index ", first, " (0-based) is not within its ", rows,
                " rows");
        return detail::read_block(f, first, count);
    });
}

Matrix read_matrix(const std::string& path) {
    return read_matrix(path, ReadLimits{});
}

Matrix read_matrix(const std::string& path, const ReadLimits& limits, ReadStats* stats) {
    return detail::with_memory_check(
        path, [&] { return detail::parse_matrix(detail::load(path, detail::Expect::data, limits, stats)); });
}

std::vector<std::string> read_lines(const std::string& path, const ReadLimits& limits) {
    return detail::with_memory_check(path, [&] {
        const detail::Loaded in = detail::load(path, detail::Expect::text, limits, nullptr);
        detail::Lines lines(detail::text_of(in.bytes));
        std::vector<std::string> out;
        for (std::string_view line; lines.next(line);) out.emplace_back(line);
        return out;
    });
}

void write_matrix(const std::string& path, ConstMatrixView m) {
    require(m.rows >= 0 && m.cols >= 0 && (m.data != nullptr || m.size() == 0), "write_matrix: invalid ",
            m.rows, " x ", m.cols, " view");
    if (path == "-") {
        detail::check_finite("standard output", m);
        detail::Output out(nullptr);
        detail::write_text(out, m, ',');
        out.finish();
        return;
    }
    const std::string ext = detail::extension_of(path);
    if (!is_writable_matrix_format(path)) {
        fail(path, "unknown output format '", ext,
             "' (use .csv, .tsv, .npy or .dat, or - for standard output)");
    }
    if (ext == ".dat" && (m.rows > std::numeric_limits<std::int32_t>::max() ||
                          m.cols > std::numeric_limits<std::int32_t>::max())) {
        fail(path, "a ", m.rows, " x ", m.cols, " matrix does not fit bhtsne's 32-bit .dat header");
    }
    detail::check_finite(path, m);
    AtomicFile file(path);
    detail::Output out(&file);
    if (ext == ".csv" || ext == ".tsv") {
        detail::write_text(out, m, ext == ".csv" ? ',' : '\t');
    } else if (ext == ".npy") {
        detail::write_npy(out, m);
    } else {
        detail::write_dat(out, m);
    }
    out.finish();
    file.commit();
}

}  // namespace treesne::io
