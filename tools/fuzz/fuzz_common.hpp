// Shared by the libFuzzer targets: each writes its input to a scratch file with the extension that picks
// the reader under test, calls the reader, and accepts only two outcomes: a result that satisfies the
// reader's documented invariants, or a treesne::Error. Any other exception escapes and libFuzzer reports
// it; a broken invariant traps.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"

namespace treesne_fuzz {

/// A scratch file for this process, in /dev/shm when it exists (no disk traffic per input); removed at exit.
class Scratch {
  public:
    explicit Scratch(const std::string& suffix) {
        const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        path_ = std::string(dir) + "/treesne_fuzz_" + std::to_string(::getpid()) + "_" +
                std::to_string(count_++) + suffix;
    }
    ~Scratch() { std::remove(path_.c_str()); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

    /// Replaces the file's content with data; returns its path.
    const std::string& put(const std::uint8_t* data, std::size_t size) const {
        std::FILE* f = std::fopen(path_.c_str(), "wb");
        if (!f) __builtin_trap();
        if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
        if (std::fclose(f) != 0) __builtin_trap();
        return path_;
    }
    const std::string& path() const { return path_; }

  private:
    static inline int count_ = 0;
    std::string path_;
};

/// Runs fn; a treesne::Error is an acceptable answer to malformed input, anything else is a bug.
template <class Fn>
void allow_treesne_errors(Fn&& fn) {
    try {
        fn();
    } catch (const treesne::Error&) {
    }
}

inline void check(bool ok) {
    if (!ok) __builtin_trap();
}

/// What read_matrix promises: a non-empty matrix of finite values.
inline void check_matrix(const treesne::Matrix& m) {
    check(m.rows() > 0 && m.cols() > 0);
    check(static_cast<treesne::index_t>(m.storage().size()) == m.rows() * m.cols());
    for (const double v : m.storage()) check(std::isfinite(v));
}

/// What read_labels promises: at least one label, every code names an entry, every name is used.
inline void check_labels(const treesne::io::Labels& l) {
    check(!l.codes.empty() && !l.names.empty());
    std::string used(l.names.size(), '\0');
    for (const int c : l.codes) {
        check(c >= 0 && static_cast<std::size_t>(c) < l.names.size());
        used[static_cast<std::size_t>(c)] = 1;
    }
    check(used.find('\0') == std::string::npos);
}

/// SparseMatrix invariants: n+1 non-decreasing offsets, columns in range and increasing within a row,
/// finite non-negative values.
inline void check_sparse(const treesne::SparseMatrix& p) {
    check(p.n > 0 && p.offsets.size() == static_cast<std::size_t>(p.n) + 1 && p.offsets.front() == 0);
    check(p.offsets.back() == p.nnz() && p.columns.size() == p.values.size());
    for (treesne::index_t i = 0; i < p.n; ++i) {
        const auto begin = p.offsets[static_cast<std::size_t>(i)];
        const auto end = p.offsets[static_cast<std::size_t>(i) + 1];
        check(begin <= end);
        for (auto k = begin; k < end; ++k) {
            check(p.columns[static_cast<std::size_t>(k)] < static_cast<std::uint64_t>(p.n));
            check(k == begin ||
                  p.columns[static_cast<std::size_t>(k - 1)] < p.columns[static_cast<std::size_t>(k)]);
            check(std::isfinite(p.values[static_cast<std::size_t>(k)]) &&
                  p.values[static_cast<std::size_t>(k)] >= 0);
        }
    }
}

/// Bit-for-bit equality of two matrices.
inline bool identical(const treesne::Matrix& a, const treesne::Matrix& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), a.storage().size() * sizeof(double)) == 0;
}

/// Reads path as a matrix and as labels, checking both results; a matrix read must also survive a round
/// trip through the writer given by `rewrite` (a scratch path with a writable extension).
inline void read_matrix_and_labels(const std::string& path, const Scratch* rewrite) {
    allow_treesne_errors([&] {
        const treesne::Matrix m = treesne::io::read_matrix(path);
        check_matrix(m);
        if (rewrite) {
            treesne::io::write_matrix(rewrite->path(), m);
            check(identical(treesne::io::read_matrix(rewrite->path()), m));
        }
    });
    allow_treesne_errors([&] { check_labels(treesne::io::read_labels(path)); });
}

}  // namespace treesne_fuzz
