// Byte-level builders of the binary input formats, for the fuzzers' seed corpus (make_seeds.cpp) and the
// reader tests (tests/test_io.cpp): scalars in either byte order, a .npy file with numpy's header padding,
// and an IDX file. Header-only and dependency-free, so make_seeds compiles with the library's sources alone.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace treesne::fuzz {

/// The bytes of v, little-endian (the host order of every platform treesne builds on).
template <class T>
std::string le(T v) {
    std::string s(sizeof(T), '\0');
    std::memcpy(s.data(), &v, sizeof(T));
    return s;
}

/// The bytes of v, big-endian (IDX headers).
template <class T>
std::string be(T v) {
    std::string s = le(v);
    std::reverse(s.begin(), s.end());
    return s;
}

/// A .npy file: magic, version `major` (1: 16-bit header length, 2: 32-bit), the dict padded with spaces
/// and a newline to a multiple of 64 bytes as numpy pads it, then `data`.
inline std::string npy(const std::string& descr, const std::string& shape, const std::string& data, int major = 1,
                       const std::string& fortran = "False") {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
    const std::size_t prefix = major == 1 ? 10 : 12;
    dict.append((64 - (prefix + dict.size() + 1) % 64) % 64, ' ');
    dict += '\n';
    std::string out = "\x93NUMPY";
    out += static_cast<char>(major);
    out += '\0';
    out += major == 1 ? le<std::uint16_t>(static_cast<std::uint16_t>(dict.size()))
                      : le<std::uint32_t>(static_cast<std::uint32_t>(dict.size()));
    return out + dict + data;
}

/// An IDX file: two zero bytes, the type byte, the number of dimensions, each dimension as a big-endian
/// uint32, then `data`.
inline std::string idx(unsigned char type, const std::vector<std::uint32_t>& dims, const std::string& data) {
    std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
    for (const std::uint32_t d : dims) out += be(d);
    return out + data;
}

}  // namespace treesne::fuzz
