// bhtsne's binary files: data.dat (its input, in all four header layouts) and result.dat (its output),
// which write_matrix writes for `.dat`.
#include <algorithm>
#include <cstdint>
#include <string>

#include "io/internal.hpp"

namespace treesne::io::detail {
namespace {

/// True when the n int32 at p are 0, 1, ..., n-1 (the landmarks of a bhtsne result file).
bool identity_landmarks(const char* p, std::int32_t n) {
    for (std::int32_t i = 0; i < n; ++i) {
        if (load_le32(p + 4 * static_cast<std::size_t>(i)) != static_cast<std::uint32_t>(i)) return false;
    }
    return true;
}

}  // namespace

Promise dat_promise(const std::string& name, const Bytes& head) {
    if (head.size() < 8)
        fail(name, "too short for a bhtsne data file (", head.size(), " bytes; the header needs 24)");
    const auto n = static_cast<std::int32_t>(load_le32(head.data()));
    const auto d = static_cast<std::int32_t>(load_le32(head.data() + 4));
    if (n <= 0 || d <= 0) fail(name, "bhtsne header gives N = ", n, ", D = ", d, "; both must be positive");
    // n, d < 2^31: n * d and 12 * n fit in 64 bits, 8 * n * d may not.
    const std::uint64_t values = std::uint64_t(n) * std::uint64_t(d);
    std::uint64_t data = 0, largest = 0;
    if (__builtin_mul_overflow(values, 8, &data) ||
        __builtin_add_overflow(data, std::max<std::uint64_t>(36, 8 + 12 * std::uint64_t(n)), &largest)) {
        fail(name, "bhtsne header gives N = ", n, ", D = ", d, ", too many values to address");
    }
    return {largest, values, concat("any bhtsne file of ", n, " x ", d, " values")};
}

namespace {

/// Which layout a bhtsne file has: n x d values from byte `header` on.
struct DatLayout {
    std::int32_t n, d;
    std::size_t header;
};

// bhtsne's data.dat: int32 N, int32 D, double theta, double perplexity, [int32 no_dims, int32 max_iter in
// newer versions], N*D doubles, [int32 rand_seed]. The four layouts have distinct sizes for given N, D.
// bhtsne's result.dat, which write_matrix writes, reads too: int32 N, int32 D, N*D doubles, N int32
// landmarks, N doubles costs. Its size can equal a data layout's only for N = 2; the landmarks 0, 1 decide:
// identity_at(offset, n) tells whether the n int32 at `offset` of the file are 0, 1, ..., n-1. The layout
// follows from the file's size and its first 8 bytes (head, when size >= 24), so a reader of a block of
// rows finds it without reading the values.
template <class IdentityAt>
DatLayout dat_layout(const std::string& name, const char* head, std::uint64_t size,
                     IdentityAt&& identity_at) {
    if (size < 24) fail(name, "too short for a bhtsne data file (", size, " bytes; the header needs 24)");
    const auto n = static_cast<std::int32_t>(load_le32(head));
    const auto d = static_cast<std::int32_t>(load_le32(head + 4));
    if (n <= 0 || d <= 0) fail(name, "bhtsne header gives N = ", n, ", D = ", d, "; both must be positive");
    // n, d < 2^31: n * d and 12 * n fit in 64 bits, 8 * n * d may not.
    std::uint64_t bytes = 0;
    std::uint64_t result_size = 0;
    if (__builtin_mul_overflow(std::uint64_t(n) * std::uint64_t(d), 8, &bytes) ||
        __builtin_add_overflow(bytes, 8 + 12 * std::uint64_t(n), &result_size)) {
        fail(name, "bhtsne header gives N = ", n, ", D = ", d, ", too many values to address");
    }
    std::size_t header = 0;
    if (size == bytes + 24 || size == bytes + 28) header = 24;
    if (size == bytes + 32 || size == bytes + 36) header = 32;
    if (size == result_size && (header == 0 || identity_at(8 + bytes, n))) header = 8;
    if (header == 0) {
        fail(name, "is ", size, " bytes, which does not fit a bhtsne data file of ", n, " x ", d,
             " (8*N*D = ", bytes,
             " bytes of data plus a 24- to 36-byte header and trailer) nor a result file (", result_size,
             " bytes)");
    }
    return {n, d, header};
}

}  // namespace

Matrix parse_dat(const Loaded& in) {
    const Bytes& b = in.bytes;
    const DatLayout l = dat_layout(in.name, b.data(), b.size(), [&](std::uint64_t offset, std::int32_t n) {
        return identity_landmarks(b.data() + offset, n);
    });
    return convert<false>(in.name, Elem::f64, b.data() + l.header, l.n, l.d);
}

BinaryLayout dat_layout_of(const std::string& name, const Bytes& head, std::uint64_t file_size, Source& src) {
    const DatLayout l = dat_layout(name, head.data(), file_size, [&](std::uint64_t offset, std::int32_t n) {
        // Only a 2-point file can be asked (see above): 8 bytes.
        Bytes landmarks(4 * static_cast<std::size_t>(n));
        return src.read_at(offset, landmarks.data(), landmarks.size()) == landmarks.size() &&
               identity_landmarks(landmarks.data(), n);
    });
    return {Elem::f64, false, static_cast<std::uint64_t>(l.n), static_cast<std::uint64_t>(l.d), l.header};
}

void write_dat(Output& out, ConstMatrixView m) {
    out.binary(static_cast<std::int32_t>(m.rows));
    out.binary(static_cast<std::int32_t>(m.cols));
    out.put(m.data, static_cast<std::size_t>(m.size()) * sizeof(double));
    for (index_t i = 0; i < m.rows; ++i) out.binary(static_cast<std::int32_t>(i));  // landmarks
    for (index_t i = 0; i < m.rows; ++i) out.binary(0.0);                           // costs
}

}  // namespace treesne::io::detail
