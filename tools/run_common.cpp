// What the commands share: the signal handling, the progress helpers, reading stacked inputs and
// labels, and the one-line error (see run_common.hpp).
#include "run_common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

namespace treesne::cli {

// --- interruption (see run_common.hpp) ---------------------------------------------------------------

std::atomic<bool> g_cancel{false};
std::atomic<int> g_phase{preparing};
std::atomic<bool> g_live_line{false};  // a progress line without a newline is on the terminal

namespace {

extern "C" void on_signal(int) {
    const int phase = g_phase.load();
    if ((phase == optimising || phase == writing) && !g_cancel.load()) {
        g_cancel.store(true);
        return;
    }
    static const char message[] = "\ntreesne: interrupted; nothing written\n";
    const char* text = message + (g_live_line.load() ? 0 : 1);
    const ssize_t ignored = ::write(STDERR_FILENO, text, sizeof message - 1 - (text - message));
    (void)ignored;
    ::_exit(130);
}

/// Reads each labels file and stacks them; the same name in two files is the same class.
io::Labels read_labels_stacked(const std::vector<std::string>& paths) {
    io::Labels merged = reading("--labels", [&] { return io::read_labels(paths.at(0)); });
    std::map<std::string, int> code_of;
    for (std::size_t c = 0; c < merged.names.size(); ++c) code_of[merged.names[c]] = static_cast<int>(c);
    for (std::size_t i = 1; i < paths.size(); ++i) {
        const io::Labels next = reading("--labels", [&] { return io::read_labels(paths[i]); });
        std::vector<int> remap(next.names.size());
        for (std::size_t c = 0; c < next.names.size(); ++c) {
            auto [it, inserted] = code_of.emplace(next.names[c], static_cast<int>(merged.names.size()));
            if (inserted) merged.names.push_back(next.names[c]);
            remap[c] = it->second;
        }
        for (int code : next.codes) merged.codes.push_back(remap.at(static_cast<std::size_t>(code)));
    }
    return merged;
}

}  // namespace

SignalScope::SignalScope() {
    g_cancel.store(false);
    g_phase.store(preparing);
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
}

SignalScope::~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_phase.store(preparing);
}

std::string format_seconds(double s) {
    char buffer[64];
    if (!(s >= 0)) s = 0;
    if (s < 10) {
        std::snprintf(buffer, sizeof buffer, "%.2f s", s);
    } else if (s < 60) {
        std::snprintf(buffer, sizeof buffer, "%.1f s", s);
    } else if (s < 3600) {
        const long total = std::lround(s);
        std::snprintf(buffer, sizeof buffer, "%ld min %02ld s", total / 60, total % 60);
    } else {
        const long total = std::lround(s / 60);
        std::snprintf(buffer, sizeof buffer, "%ld h %02ld min", total / 60, total % 60);
    }
    return buffer;
}

std::string format_value(double v, int precision) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", precision, v);
    return buffer;
}

/// The library's stage names, spelled for people.
std::string display_name(const std::string& stage) {
    if (stage == "neighbors") return "neighbours";
    if (stage == "optimize") return "optimise";
    return stage;
}

Matrix read_stacked(const std::vector<std::string>& paths) {
    Matrix first = io::read_matrix(paths.at(0));
    if (paths.size() == 1) return first;
    const index_t cols = first.cols();
    index_t rows = first.rows();
    std::vector<double> data = std::move(first.storage());
    for (std::size_t i = 1; i < paths.size(); ++i) {
        Matrix next = io::read_matrix(paths[i]);
        if (next.cols() != cols)
            throw IoError(concat(paths[i], ": ", next.cols(), " columns, but ", paths[0], " has ", cols,
                                 " (stacked inputs need the same number of columns)"));
        data.insert(data.end(), next.storage().begin(), next.storage().end());
        rows += next.rows();
    }
    return Matrix(rows, cols, std::move(data));
}

io::Labels read_labels_checked(const std::vector<std::string>& paths, index_t n) {
    io::Labels labels = read_labels_stacked(paths);
    const auto count = static_cast<index_t>(labels.codes.size());
    if (count != n)
        throw InvalidArgument(concat("--labels: ", count, " labels for ", n, " points (",
                                     paths.size() == 1 ? paths[0] : std::string("the stacked label files"),
                                     ")"));
    return labels;
}

void require_points(const std::vector<std::string>& paths, index_t n) {
    if (n >= 2) return;
    throw InvalidArgument(
        concat(paths.size() == 1 ? paths[0] : concat("the ", paths.size(), " stacked inputs"), ": ", n,
               n == 1 ? " point" : " points", "; t-SNE needs at least 2"));
}

std::string describe_inputs(const std::vector<std::string>& paths) {
    if (paths.size() == 1) return "";
    return concat(" (", paths.size(), " files)");
}

std::string file_name(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

void print_error(const std::string& message) {
    if (g_live_line.exchange(false)) std::fputs("\r\033[K", stderr);
    std::string line = message;
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::fprintf(stderr, "treesne: error: %s\n", line.c_str());
    std::fflush(stderr);
}

}  // namespace treesne::cli
