// NumPy .npy arrays: the header's Python dict literal, dtypes, the reader, the float64 writer and the
// frame-by-frame writer of stacked (frames, rows, cols) arrays.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/internal.hpp"

namespace treesne::io::detail {
namespace {

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

}  // namespace

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

namespace {

/// The longest header (the dict) accepted: numpy writes a few hundred bytes at most for the dtypes read
/// here; a larger length is a corrupt file, and must not make the reader wait for gigabytes.
constexpr std::uint64_t kMaxHeader = std::uint64_t{1} << 20;

/// What a .npy header says: element type, shape as rows x cols, and where the data start.
struct NpyLayout {
    Elem elem;
    std::uint64_t rows, cols;
    std::size_t data_start;
};

/// Where the dict starts and how long it is, from the preamble of b (magic, version, length).
std::pair<std::size_t, std::uint64_t> npy_preamble(const std::string& name, const Bytes& b) {
    if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0)
        fail(name, "is not a .npy file (bad magic)");
    const int major = static_cast<unsigned char>(b[6]);
    const int minor = static_cast<unsigned char>(b[7]);
    if (major == 2 || major == 3) {
        if (b.size() < 12) fail(name, "truncated .npy header");
        return {12, load_le32(b.data() + 8)};
    }
    if (major != 1) fail(name, "unsupported .npy format version ", major, ".", minor);
    return {10, static_cast<unsigned char>(b[8]) | static_cast<unsigned>(b[9] & 0xFF) << 8};
}

NpyLayout npy_layout(const std::string& name, const Bytes& b) {
    const NpyInfo h = npy_info(name, b);
    const Elem elem = npy_elem(name, h.descr);
    if (h.fortran) fail(name, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
    if (h.shape.empty() || h.shape.size() > 2) {
        fail(name, "a ", h.shape.size(), "-D array is not supported; expected 1-D (N) or 2-D (N x D)");
    }
    return {elem, h.shape[0], h.shape.size() == 2 ? h.shape[1] : 1, h.data_start};
}

}  // namespace

NpyInfo npy_info(const std::string& name, const Bytes& b) {
    const auto [header_start, header_len] = npy_preamble(name, b);
    if (header_len > kMaxHeader)
        fail(name, "invalid .npy header: its length ", header_len, " is beyond any numpy header");
    if (header_len > b.size() - header_start) fail(name, "truncated .npy header");
    NpyHeader h =
        NpyHeaderParser(name, std::string_view(b.data() + header_start, static_cast<std::size_t>(header_len)))
            .parse();
    return {std::move(h.descr), h.fortran, std::move(h.shape),
            header_start + static_cast<std::size_t>(header_len)};
}

std::size_t npy_header_size(const Bytes& head) {
    // The magic first: anything else is refused on its first bytes, without reading a "header" of
    // whatever length its bytes 8-11 happen to give.
    if (head.size() < 12) return 12;
    if (std::memcmp(head.data(), "\x93NUMPY", 6) != 0) return head.size();
    const int major = static_cast<unsigned char>(head[6]);
    const std::size_t start = major == 2 || major == 3 ? 12 : 10;
    const std::uint64_t length = major == 2 || major == 3 ? load_le32(head.data() + 8)
                                                          : static_cast<unsigned char>(head[8]) |
                                                                static_cast<unsigned>(head[9] & 0xFF) << 8;
    return start + static_cast<std::size_t>(std::min(length, kMaxHeader));
}

Promise npy_promise(const std::string& name, const Bytes& head) {
    const NpyLayout l = npy_layout(name, head);
    const std::uint64_t data = data_bytes(name, l.rows, l.cols, elem_size(l.elem));
    if (data > std::numeric_limits<std::uint64_t>::max() - l.data_start)
        fail(name, "declares ", l.rows, " x ", l.cols, " values, too many to address");
    return {l.data_start + data, l.rows * l.cols,
            concat("the ", l.rows, " x ", l.cols, " values it declares")};
}

/// The decoded element type and shape of a .npy array as rows x cols; returns the data.
Matrix parse_npy(const Loaded& in) {
    const std::string& name = in.name;
    const Bytes& b = in.bytes;
    const NpyLayout l = npy_layout(name, b);
    check_data_size(name, l.rows, l.cols, elem_size(l.elem), b.size() - l.data_start);
    return convert<false>(name, l.elem, b.data() + l.data_start, static_cast<index_t>(l.rows),
                          static_cast<index_t>(l.cols));
}

BinaryLayout npy_layout_of(const std::string& name, const Bytes& head, std::uint64_t file_size) {
    const NpyLayout l = npy_layout(name, head);
    check_data_size(name, l.rows, l.cols, elem_size(l.elem), file_size - l.data_start);
    return {l.elem, false, l.rows, l.cols, l.data_start};
}

std::string npy_header(const std::vector<std::uint64_t>& shape, std::size_t size, std::string_view descr) {
    std::string dims;
    for (std::uint64_t d : shape) dims += concat(dims.empty() ? "" : ", ", d);
    if (shape.size() == 1) dims += ",";
    std::string dict = concat("{'descr': '", descr, "', 'fortran_order': False, 'shape': (", dims, "), }");
    // Magic (6) + version (2) + length (2) + dict + padding + '\n'; numpy pads to a multiple of 64.
    const std::size_t least = 10 + dict.size() + 1;
    if (size == 0) size = least + (64 - least % 64) % 64;
    if (size < least || size - 10 > 0xFFFF)
        throw IoError(concat(".npy header of shape (", dims, ") does not fit in ", size, " bytes"));
    dict.append(size - least, ' ');
    dict.push_back('\n');
    const auto length = static_cast<std::uint16_t>(dict.size());
    std::string header("\x93NUMPY\x01\x00", 8);
    header.push_back(static_cast<char>(length & 0xFF));
    header.push_back(static_cast<char>(length >> 8));
    return header + dict;
}

void write_npy(Output& out, ConstMatrixView m) {
    const std::string header =
        npy_header({static_cast<std::uint64_t>(m.rows), static_cast<std::uint64_t>(m.cols)});
    out.put(header.data(), header.size());
    out.put(m.data, static_cast<std::size_t>(m.size()) * sizeof(double));
}

}  // namespace treesne::io::detail

namespace treesne::io {

NpyStackWriter::NpyStackWriter(std::string path, index_t rows, index_t cols)
    : path_(std::move(path)), file_(path_), rows_(rows), cols_(cols) {
    require(rows >= 1 && cols >= 1, "a stacked .npy needs frames of at least 1 x 1; got ", rows, " x ", cols);
    // The header is sized for the largest frame count (20 digits), so commit() can write any count into it.
    const std::vector<std::uint64_t> widest = {~std::uint64_t{0}, static_cast<std::uint64_t>(rows),
                                               static_cast<std::uint64_t>(cols)};
    const std::string header = detail::npy_header(widest);
    header_size_ = header.size();
    file_.write(detail::npy_header({0, widest[1], widest[2]}, header_size_));
}

void NpyStackWriter::append(ConstMatrixView frame) {
    require(frame.rows == rows_ && frame.cols == cols_, path_, ": frame ", frames_ + 1, " is ", frame.rows,
            " x ", frame.cols, "; the stack holds ", rows_, " x ", cols_, " frames");
    detail::check_finite(concat(path_, " (frame ", frames_ + 1, ")"), frame);
    file_.write(frame.data, static_cast<std::size_t>(frame.size()) * sizeof(double));
    ++frames_;
}

Matrix NpyStackWriter::frame(index_t f) {
    require(f >= 0 && f < frames_, path_, ": no frame ", f, " (", frames_, " written)");
    file_.flush();
    Matrix m(rows_, cols_);
    const std::size_t bytes = static_cast<std::size_t>(m.size()) * sizeof(double);
    std::FILE* in = std::fopen(file_.temp_path().c_str(), "rb");
    if (!in) throw IoError(concat("cannot read back ", file_.temp_path(), ": ", std::strerror(errno)));
    const auto offset = static_cast<long>(header_size_ + static_cast<std::size_t>(f) * bytes);
    const bool ok = std::fseek(in, offset, SEEK_SET) == 0 && std::fread(m.data(), 1, bytes, in) == bytes;
    std::fclose(in);
    if (!ok) throw IoError(concat("cannot read back frame ", f + 1, " of ", file_.temp_path()));
    return m;
}

void NpyStackWriter::commit() {
    const std::string header =
        detail::npy_header({static_cast<std::uint64_t>(frames_), static_cast<std::uint64_t>(rows_),
                            static_cast<std::uint64_t>(cols_)},
                           header_size_);
    file_.write_at(0, header.data(), header.size());
    file_.commit();
}

MatrixStack read_matrix_stack(const std::string& path, const ReadLimits& limits) {
    using namespace detail;
    return with_memory_check(path, [&] {
        Source src(path, nullptr);
        Loaded in;
        load_prefix(src, path, limits, true, in);
        const std::string& name = in.name;
        if (in.bytes.size() < 6 || std::memcmp(in.bytes.data(), "\x93NUMPY", 6) != 0)
            fail(name,
                 "is not a .npy file: expected the (frames, points, dims) array that embed --snapshots "
                 "writes");
        fill(src, in.bytes, npy_header_size(in.bytes));
        const NpyInfo h = npy_info(name, in.bytes);
        const Elem elem = npy_elem(name, h.descr);
        if (h.fortran) fail(name, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
        if (h.shape.size() != 3)
            fail(name, "a ", h.shape.size(),
                 "-D array; expected 3-D (frames, points, dims) as embed --snapshots writes");
        std::uint64_t rows = 0;
        if (__builtin_mul_overflow(h.shape[0], h.shape[1], &rows))
            fail(name, "declares too many values to address");
        const std::uint64_t data = data_bytes(name, rows, h.shape[2], elem_size(elem));
        check_fits(in, h.data_start + data, rows * h.shape[2],
                   concat("its ", h.shape[0], " x ", h.shape[1], " x ", h.shape[2], " values"));
        fill(src, in.bytes, h.data_start + data + 1);  // one byte more shows a file too long
        check_data_size(name, rows, h.shape[2], elem_size(elem), in.bytes.size() - h.data_start);
        MatrixStack stack;
        stack.frames = static_cast<index_t>(h.shape[0]);
        stack.rows_per_frame = static_cast<index_t>(h.shape[1]);
        stack.values = convert<false>(name, elem, in.bytes.data() + h.data_start, static_cast<index_t>(rows),
                                      static_cast<index_t>(h.shape[2]));
        return stack;
    });
}

}  // namespace treesne::io
