// Running the treesne program from the tests: shell quoting, one run with its exit status, stdout and
// stderr captured, the check of the one-line error the program promises (exit 1 or 2, one line
// "treesne: error: ..."), and the small inputs and output checks of the CLI tests. Shared by every
// test_cli*.cpp and the CLI cases of the other test files.
#pragma once

#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../test_helpers.hpp"
#include "treesne/io/io.hpp"

#ifdef TREESNE_HAVE_CLI_LIB
#include "cli.hpp"
#endif

namespace treesne::testing {

/// s in single quotes for the shell, each ' written as '\''.
inline std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

#ifdef TREESNE_HAVE_CLI_LIB
/// parse_cli() of the command line `treesne ARGS...`, without a process.
inline cli::CliConfig parse(std::vector<std::string> args) {
    args.insert(args.begin(), "treesne");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return cli::parse_cli(static_cast<int>(argv.size()), argv.data());
}
#endif

/// One run of the program: its exit status (128 + the signal when a signal ended it), stdout and stderr.
struct Run {
    int status = -1;
    std::string out, err;
};

/// Exactly one line on stderr, and it starts "treesne: error: ".
inline bool one_error_line(const std::string& err) {
    return err.rfind("treesne: error: ", 0) == 0 && err.find('\n') == err.size() - 1;
}

/// Exactly one line "treesne: error: ..." on stderr.
inline void check_one_error_line(const Run& r) {
    CAPTURE(r.err);
    CHECK(one_error_line(r.err));
}

// --- inputs and outputs of the CLI tests --------------------------------------------------------

/// The first n points of `clusters` equal blobs in d dimensions (the shared generator testing::clustered),
/// as rows for write_csv; labels[i] = blob of point i.
struct Blobs {
    std::vector<std::vector<double>> x;
    std::vector<int> labels;
};

inline Blobs make_blobs(int n, int d, int clusters, std::uint64_t seed = 1) {
    Blobs b;
    const Matrix x = clustered(clusters, (n + clusters - 1) / clusters, d, seed, 10.0, &b.labels);
    for (index_t i = 0; i < n; ++i) b.x.emplace_back(x.row(i), x.row(i) + x.cols());
    b.labels.resize(static_cast<std::size_t>(n));
    return b;
}

inline void write_csv(const std::string& path, const std::vector<std::vector<double>>& x, char sep = ',') {
    std::ofstream out(path);
    out.precision(17);
    for (const auto& row : x) {
        for (std::size_t j = 0; j < row.size(); ++j) out << (j ? std::string(1, sep) : "") << row[j];
        out << '\n';
    }
}

inline void write_labels(const std::string& path, const std::vector<int>& labels) {
    std::ofstream out(path);
    for (int l : labels) out << l << '\n';
}

/// Options of quick runs, for test files that say `using namespace treesne::testing::quick_runs` (apart,
/// so that they do not clash with the `fast` of other test files).
namespace quick_runs {
/// Small, fast runs: perplexity 5, 60 iterations, one thread (ctest runs tests in parallel, and OpenMP's
/// spinning threads crawl on an oversubscribed machine).
inline const std::string fast =
    " --perplexity 5 --iterations 60 --exaggeration-iterations 20 --quiet --threads 1";
/// For a dozen points.
inline const std::string tiny =
    " --perplexity 3 --iterations 30 --exaggeration-iterations 10 --quiet --threads 1";
}  // namespace quick_runs

/// The embedding file has rows x cols finite values.
inline void check_embedding(const std::string& path, index_t rows, index_t cols) {
    const Matrix y = io::read_matrix(path);
    CHECK(y.rows() == rows);
    CHECK(y.cols() == cols);
    for (double v : y.storage()) REQUIRE(std::isfinite(v));
}

/// bhtsne's result layout: int32 N, int32 D, N*D doubles, N int32 landmarks, N doubles costs.
inline void check_dat_result(const std::string& path, int rows, int cols) {
    const std::string bytes = slurp(path);
    REQUIRE(bytes.size() >= 8);
    std::int32_t header[2];
    std::memcpy(header, bytes.data(), sizeof header);
    CHECK(header[0] == rows);
    CHECK(header[1] == cols);
    CHECK(bytes.size() ==
          8 + static_cast<std::size_t>(rows) * cols * 8 + static_cast<std::size_t>(rows) * 12);
    std::vector<double> y(static_cast<std::size_t>(rows) * cols);
    std::memcpy(y.data(), bytes.data() + 8, y.size() * sizeof(double));
    for (double v : y) REQUIRE(std::isfinite(v));
}

#ifdef TREESNE_CLI_PATH
/// Runs `PREFIX treesne ARGS` (ARGS already quoted) through the shell, stdin from /dev/null, stdout and
/// stderr captured in files of dir, which are removed afterwards. prefix: e.g. "ulimit -v ...;", or a
/// "cd" and a "timeout".
inline Run run_cli(const TempDir& dir, const std::string& args, const std::string& prefix = "") {
    const std::string out = dir / "stdout.txt", err = dir / "stderr.txt";
    const std::string command = prefix + (prefix.empty() ? "" : " ") + quote(TREESNE_CLI_PATH) + " " + args +
                                " >" + quote(out) + " 2>" + quote(err) + " </dev/null";
    const int raw = std::system(command.c_str());
    Run r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    r.out = slurp(out);
    r.err = slurp(err);
    std::filesystem::remove(out);
    std::filesystem::remove(err);
    return r;
}
#endif

}  // namespace treesne::testing
