// IDX (LeCun's MNIST format): 0x00 0x00, a type byte, the number of dimensions, then each dimension as a
// big-endian uint32, then the values, big-endian. Row i is the i-th item flattened.
#include <cstdint>
#include <ios>
#include <limits>
#include <string>

#include "io/internal.hpp"

namespace treesne::io::detail {
namespace {

/// The element type of IDX type byte `type`.
Elem idx_elem(const std::string& name, char type) {
    switch (static_cast<unsigned char>(type)) {
        case 0x08:
            return Elem::u8;
        case 0x09:
            return Elem::i8;
        case 0x0B:
            return Elem::i16;
        case 0x0C:
            return Elem::i32;
        case 0x0D:
            return Elem::f32;
        case 0x0E:
            return Elem::f64;
        default:
            fail(name, "unknown IDX data type 0x", std::hex, static_cast<unsigned>(type & 0xFF),
                 " (it starts with two NUL bytes, as only IDX does among text, .npy, IDX and bhtsne .dat)");
    }
}

/// What an IDX header says: element type, shape as rows x cols, and where the data start.
struct IdxLayout {
    Elem elem;
    std::uint64_t rows, cols;
    std::size_t data_start;
};

IdxLayout idx_layout(const std::string& name, const Bytes& b) {
    if (b.size() < 4 || b[0] != 0 || b[1] != 0) fail(name, "is not an IDX file (bad magic)");
    const Elem elem = idx_elem(name, b[2]);
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
    return {elem, rows, cols, header};
}

}  // namespace

std::size_t idx_header_size(const Bytes& head) {
    if (head.size() < 4) return 4;
    return 4 + 4 * static_cast<std::size_t>(static_cast<unsigned char>(head[3]));
}

Promise idx_promise(const std::string& name, const Bytes& head) {
    const IdxLayout l = idx_layout(name, head);
    const std::uint64_t data = data_bytes(name, l.rows, l.cols, elem_size(l.elem));
    if (data > std::numeric_limits<std::uint64_t>::max() - l.data_start)
        fail(name, "declares ", l.rows, " x ", l.cols, " values, too many to address");
    return {l.data_start + data, l.rows * l.cols,
            concat("the ", l.rows, " x ", l.cols, " values it declares")};
}

Matrix parse_idx(const Loaded& in) {
    const std::string& name = in.name;
    const Bytes& b = in.bytes;
    const IdxLayout l = idx_layout(name, b);
    check_data_size(name, l.rows, l.cols, elem_size(l.elem), b.size() - l.data_start);
    return convert<true>(name, l.elem, b.data() + l.data_start, static_cast<index_t>(l.rows),
                         static_cast<index_t>(l.cols));
}

BinaryLayout idx_layout_of(const std::string& name, const Bytes& head, std::uint64_t file_size) {
    const IdxLayout l = idx_layout(name, head);
    check_data_size(name, l.rows, l.cols, elem_size(l.elem), file_size - l.data_start);
    return {l.elem, true, l.rows, l.cols, l.data_start};
}

}  // namespace treesne::io::detail
