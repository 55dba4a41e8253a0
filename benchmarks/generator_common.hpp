// Shared by the data generators of the benchmarks (million.cpp, make_degenerate.cpp): argument parsing
// and writing the data and its labels, both atomically (treesne::io), with one-line errors.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "treesne/io/io.hpp"
#include "treesne/core/types.hpp"

namespace treesne::bench {

/// A positive integer argument, or a one-line error naming `what` and exit status 2.
inline long long parse_count(const char* program, const char* text, const char* what) {
    char* end = nullptr;
    const long long v = std::strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 1) {
        std::fprintf(stderr, "%s: %s must be a positive integer; got '%s'\n", program, what, text);
        std::exit(2);
    }
    return v;
}

/// The trailing arguments every generator takes, OUT [LABELS] [SEED], from argv[4..6] (argv[1..3] are
/// its sizes); seed 1 when absent.
struct Outputs {
    std::string out;
    std::string labels_path;
    std::uint64_t seed = 1;
};

inline Outputs parse_outputs(const char* program, int argc, char** argv) {
    Outputs o;
    o.out = argv[4];
    o.labels_path = argc >= 6 ? argv[5] : "";
    if (argc >= 7) o.seed = static_cast<std::uint64_t>(parse_count(program, argv[6], "SEED"));
    return o;
}

/// Writes x to `out` (format by extension) and, unless labels_path is empty, one label per line there.
/// Returns 0, or 1 after a one-line error.
inline int write_outputs(const char* program, const std::string& out, const Matrix& x,
                         const std::string& labels_path, const std::vector<int>& labels) {
    try {
        io::write_matrix(out, x);
        if (!labels_path.empty()) {
            io::AtomicFile file(labels_path);
            std::string text;
            for (int label : labels) text += std::to_string(label) + '\n';
            file.write(text);
            file.commit();
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 1;
    }
    return 0;
}

}  // namespace treesne::bench
