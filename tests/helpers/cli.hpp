// Running the treesne program from the tests: shell quoting, one run with its exit status, stdout and
// stderr captured, and the check of the one-line error the program promises (exit 1 or 2, one line
// "treesne: error: ..."). Shared by every test_cli*.cpp and the CLI cases of the other test files.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "../test_helpers.hpp"

namespace treesne::testing {

/// s in single quotes for the shell, each ' written as '\''.
inline std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

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
