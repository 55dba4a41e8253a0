// Helpers of the reader and writer tests (test_io.cpp, test_io_limits.cpp): gzipped files and the message
// of an IoError.
#pragma once

#include <zlib.h>

#include <functional>
#include <string>

#include "../test_helpers.hpp"
#include "treesne/core/errors.hpp"

namespace treesne::testing {

/// Writes `bytes` gzipped (zlib's default level) to path.
inline void write_gz(const std::string& path, const std::string& bytes) {
    gzFile gz = gzopen(path.c_str(), "wb");
    REQUIRE(gz != nullptr);
    REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    REQUIRE(gzclose(gz) == Z_OK);
}

/// The message of the IoError that fn throws, or a marker that none was thrown.
inline std::string io_error(const std::function<void()>& fn) {
    return message_of<IoError>(fn, "<no IoError thrown>");
}

}  // namespace treesne::testing
