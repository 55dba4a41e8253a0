// Readers and writers for matrices: choosing the format, and the string helpers every format shares. Each
// format lives in its own file (io_text.cpp, io_npy.cpp, io_idx.cpp, io_dat.cpp, io_mtx.cpp); gzip and
// whole-file input in io_gzip.cpp, what the binary formats share in io_binary.cpp, labels in io_labels.cpp,
// AtomicFile and output paths in atomic_file.cpp; src/io_internal.hpp declares what they share.
#include "treesne/io.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "io_internal.hpp"
#include "treesne/errors.hpp"

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

}  // namespace detail

using detail::fail;

Matrix read_matrix(const std::string& path) {
    return detail::with_memory_check(path, [&] { return detail::parse_matrix(detail::load(path)); });
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
