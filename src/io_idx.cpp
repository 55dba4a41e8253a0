// IDX (LeCun's MNIST format): 0x00 0x00, a type byte, the number of dimensions, then each dimension as a
// big-endian uint32, then the values, big-endian. Row i is the i-th item flattened.
#include <cstdint>
#include <ios>
#include <string>

#include "io_internal.hpp"

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
            fail(name, "unknown IDX data type 0x", std::hex, static_cast<unsigned>(type & 0xFF));
    }
}

}  // namespace

Matrix parse_idx(const Loaded& in) {
    const std::string& name = in.name;
    const Bytes& b = in.bytes;
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
    check_data_size(name, rows, cols, elem_size(elem), b.size() - header);
    return convert<true>(name, elem, b.data() + header, static_cast<index_t>(rows),
                         static_cast<index_t>(cols));
}

}  // namespace treesne::io::detail
