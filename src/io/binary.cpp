// What the binary matrix formats (.npy, IDX, bhtsne .dat) share: element types, conversion of packed
// little- or big-endian elements to doubles, and the check of a declared size against the bytes present.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "io/internal.hpp"

namespace treesne::io::detail {
namespace {

template <class T, bool BigEndian>
T load_value(const char* p) {
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
void convert_as(const std::string& name, const char* src, index_t rows, index_t cols, index_t first_row,
                double* dst) {
    const index_t count = rows * cols;
    for (index_t i = 0; i < count; ++i) {
        dst[i] = static_cast<double>(load_value<T, BigEndian>(src + static_cast<std::size_t>(i) * sizeof(T)));
    }
    if constexpr (std::is_floating_point_v<T>) {
        for (index_t i = 0; i < count; ++i) {
            if (!std::isfinite(dst[i])) {
                fail(name, "row ", first_row + i / cols + 1, ", column ", i % cols + 1, " is ",
                     std::isnan(dst[i]) ? "NaN" : "infinite", " (NaN and Inf are not allowed)");
            }
        }
    }
}

}  // namespace

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

template <bool BigEndian>
Matrix convert(const std::string& name, Elem e, const char* src, index_t rows, index_t cols,
               index_t first_row) {
    std::vector<double> out(static_cast<std::size_t>(rows * cols));
    double* dst = out.data();
    switch (e) {
        case Elem::u8:
            convert_as<std::uint8_t, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
        case Elem::i8:
            convert_as<std::int8_t, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
        case Elem::i16:
            convert_as<std::int16_t, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
        case Elem::u16:
            convert_as<std::uint16_t, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
        case Elem::i32:
            convert_as<std::int32_t, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
        case Elem::u32:
            convert_as<std::uint32_t, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
        case Elem::i64:
            convert_as<std::int64_t, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
        case Elem::u64:
            convert_as<std::uint64_t, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
        case Elem::f32:
            convert_as<float, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
        case Elem::f64:
            convert_as<double, BigEndian>(name, src, rows, cols, first_row, dst);
            break;
    }
    return Matrix(rows, cols, std::move(out));
}

template Matrix convert<false>(const std::string&, Elem, const char*, index_t, index_t, index_t);
template Matrix convert<true>(const std::string&, Elem, const char*, index_t, index_t, index_t);

std::uint64_t data_bytes(const std::string& name, std::uint64_t rows, std::uint64_t cols, std::size_t size) {
    if (rows == 0) fail(name, "no data rows (the array has 0 rows)");
    if (cols == 0) fail(name, "the array has 0 columns");
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(rows, cols, &count) || __builtin_mul_overflow(count, size, &bytes) ||
        count > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max())) {
        fail(name, "declares ", rows, " x ", cols, " values, too many to address");
    }
    return bytes;
}

std::uint64_t check_data_size(const std::string& name, std::uint64_t rows, std::uint64_t cols,
                              std::size_t size, std::uint64_t avail) {
    const std::uint64_t bytes = data_bytes(name, rows, cols, size);
    if (bytes > avail) {
        fail(name, "is truncated: ", rows, " x ", cols, " values need ", bytes, " bytes of data, found ",
             avail);
    }
    if (bytes < avail) {
        fail(name, "has ", avail - bytes, " bytes after the ", rows, " x ", cols, " values it declares");
    }
    return bytes;
}

}  // namespace treesne::io::detail
