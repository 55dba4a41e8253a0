// Typed errors. The library throws, never prints and never exits; the CLI maps these to exit codes.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace treesne {

/// Base of every error the library throws on purpose.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// A caller-supplied value is out of range or inconsistent ("perplexity 50 must be below N - 1 = 39 for 40
/// points").
class InvalidArgument : public Error {
  public:
    using Error::Error;
};

/// A file could not be read or written, or its content is malformed. The message names the file and,
/// where it applies, the line and column.
class IoError : public Error {
  public:
    using Error::Error;
};

/// The computation produced or met non-finite values, or a resource limit (memory) would be exceeded.
class NumericalError : public Error {
  public:
    using Error::Error;
};

/// Concatenates anything streamable into one string.
template <class... Parts>
std::string concat(const Parts&... parts) {
    std::ostringstream out;
    out.precision(10);
    (out << ... << parts);
    return out.str();
}

/// Throws InvalidArgument with the concatenated parts unless cond holds.
template <class... Parts>
void require(bool cond, const Parts&... parts) {
    if (!cond) throw InvalidArgument(concat(parts...));
}

}  // namespace treesne
