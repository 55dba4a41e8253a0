// What the commands of the command line share (internal to tools/): progress on stderr, interruption
// by SIGINT/SIGTERM, reading stacked inputs and labels, and the one-line error.
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"
#include "treesne/api/memory.hpp"
#include "treesne/optimize/observer.hpp"

namespace treesne::cli {

// --- interruption -----------------------------------------------------------------------------------
// Before the optimisation nothing needs saving, so a signal ends the process at once. During it, the
// first signal asks embed() to stop after the current iteration (Callbacks::cancel) and a second one
// ends the process. While writing, the signal is remembered and the remaining outputs are skipped.

enum RunPhase : int { preparing = 0, optimising = 1, writing = 2 };

extern std::atomic<bool> g_cancel;
extern std::atomic<int> g_phase;
extern std::atomic<bool> g_live_line;  // a progress line without a newline is on the terminal

/// Installs the handlers for SIGINT and SIGTERM for its lifetime.
class SignalScope {
  public:
    SignalScope();
    ~SignalScope();
    SignalScope(const SignalScope&) = delete;
    SignalScope& operator=(const SignalScope&) = delete;

  private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

// --- time and progress ------------------------------------------------------------------------------

class Stopwatch {
  public:
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

  private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// "1.23 s", "12.3 s", "2 min 05 s", "1 h 02 min".
std::string format_seconds(double s);
/// Fixed-point text with `precision` decimals.
std::string format_value(double v, int precision = 4);
/// The library's stage names, spelled for people.
std::string display_name(const std::string& stage);

/// Stage lines and iteration progress on stderr: a live line rewritten with \r on a terminal, plain
/// lines otherwise, nothing with --quiet.
class Progress {
  public:
    Progress(Verbosity verbosity, bool terminal) : verbosity_(verbosity), terminal_(terminal) {}
    ~Progress() { end_line(); }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    bool quiet() const { return verbosity_ == Verbosity::quiet; }
    bool verbose() const { return verbosity_ == Verbosity::verbose; }
    bool terminal() const { return terminal_; }

    void start(const std::string& stage) {
        stage_clock_ = Stopwatch();
        next_logged_ = 0.1;
        if (quiet() || !terminal_) return;
        live(display_name(stage) + " ...");
    }

    /// "stage: 42 %, 1 min 10 s elapsed, ~1 min 36 s left": live on a terminal; in a log (verbose only)
    /// a line at each tenth once the stage has run two seconds (short stages get their summary only).
    void fraction(const std::string& stage, double f) {
        if (quiet()) return;
        const double elapsed = stage_clock_.seconds();
        std::ostringstream s;
        s << display_name(stage) << ": " << static_cast<int>(100 * f) << " %, " << format_seconds(elapsed)
          << " elapsed";
        if (f > 0.02 && f < 1) s << ", ~" << format_seconds(elapsed * (1 - f) / f) << " left";
        if (terminal_) {
            live(s.str());
        } else if (verbose() && f >= next_logged_ && f < 1) {
            while (next_logged_ <= f) next_logged_ += 0.1;
            if (elapsed >= 2.0) line(s.str());
        }
    }

    /// "stage: detail in 1.23 s"
    void done(const std::string& stage, double seconds, const std::string& detail = "") {
        if (quiet()) return;
        line(display_name(stage) + ": " + (detail.empty() ? "" : detail + " in ") + format_seconds(seconds));
    }

    void iteration(const IterationReport& r) {
        last_ = r;
        last_.embedding = {};  // valid only during the observer's call
        has_report_ = true;
        if (quiet()) return;
        const index_t done = r.iteration - first_iteration_;  // iterations run by this process
        const double per_iteration = done > 0 ? r.seconds / static_cast<double>(done) : 0;
        const double left = per_iteration * static_cast<double>(std::max<index_t>(r.total - r.iteration, 0));
        std::ostringstream s;
        s << "optimise: " << r.iteration << "/" << r.total
          << (r.phase == treesne::Phase::early_exaggeration ? " (exaggerated)"
              : r.phase == treesne::Phase::late_exaggeration ? " (late exaggeration)"
                                                             : "")
          << ", KL " << format_value(r.kl);
        if (std::isfinite(r.theta_error)) {  // --theta auto: the controller's choice and its measured error
            char text[64];
            std::snprintf(text, sizeof text, ", theta %.2f (error %.1e)", r.theta, r.theta_error);
            s << text;
        }
        s << ", " << format_seconds(r.seconds) << " elapsed";
        if (r.iteration < r.total) s << ", ~" << format_seconds(left) << " left";
        if (terminal_) {
            live(s.str());
        } else {
            line(s.str());
        }
    }

    /// The iteration the optimisation starts from (> 0 when resuming), for the time-left estimate.
    void set_first_iteration(index_t iteration) { first_iteration_ = iteration; }

    bool has_report() const { return has_report_; }
    const IterationReport& last_report() const { return last_; }

    /// A line of its own (ends a live line first).
    void line(const std::string& text) {
        if (quiet()) return;
        end_line();
        std::fprintf(stderr, "%s\n", text.c_str());
        std::fflush(stderr);
    }

    void end_line() {
        if (g_live_line.exchange(false)) {
            std::fputs("\r\033[K", stderr);
            std::fflush(stderr);
        }
    }

  private:
    void live(const std::string& text) {
        std::fprintf(stderr, "\r\033[K%s", text.c_str());
        std::fflush(stderr);
        g_live_line.store(true);
    }

    Verbosity verbosity_;
    bool terminal_;
    IterationReport last_;
    bool has_report_ = false;
    Stopwatch stage_clock_;
    double next_logged_ = 0.1;
    index_t first_iteration_ = 0;
};

// --- reading ----------------------------------------------------------------------------------------

/// Runs `read` on the file given to `option`, so that its errors name the option besides the file
/// ("--init y0.csv: is a directory"; the readers' messages start with the file). Keeps the error's
/// type, and so the exit status.
template <class Read>
auto reading(const char* option, Read&& read) -> decltype(read()) {
    try {
        return read();
    } catch (const IoError& error) {
        throw IoError(concat(option, " ", error.what()));
    } catch (const InvalidArgument& error) {
        throw InvalidArgument(concat(option, " ", error.what()));
    }
}

/// Throws InvalidArgument naming the input files unless they hold at least 2 points (t-SNE's least).
void require_points(const std::vector<std::string>& paths, index_t n);

/// Reads each file and stacks the rows in order; every file must have the first one's column count.
Matrix read_stacked(const std::vector<std::string>& paths);
/// Reads and stacks the labels files (the same name in two files is the same class); throws
/// InvalidArgument unless there are n labels.
io::Labels read_labels_checked(const std::vector<std::string>& paths, index_t n);
/// --label-names: a file with one name per line, or a comma-separated list (InvalidArgument when empty).
std::vector<std::string> label_name_list(const std::string& spec);
/// Replaces numeric label names v by names[v] of --label-names `spec`; InvalidArgument for a label that
/// is not a number below the count of names.
void apply_label_names(io::Labels& labels, const std::string& spec);
/// "" for one input, " (3 files)" for several.
std::string describe_inputs(const std::vector<std::string>& paths);
/// The last component of a path.
std::string file_name(const std::string& path);

/// "treesne: error: MESSAGE" on stderr, on one line (ends a live progress line first).
void print_error(const std::string& message);

// --- files named on the command line ----------------------------------------------------------------

/// What a command does with a file one of its options names.
enum class FileRole {
    input,   ///< read
    output,  ///< created or replaced
    frames,  ///< a directory that receives numbered pictures (0001.png, ...): --snapshot-plots
};

/// A file-valued option of a command line.
struct NamedFile {
    NamedFile(std::string option_name, std::string given, FileRole what = FileRole::input,
              std::string twin = {})
        : option(std::move(option_name)), path(std::move(given)), role(what), may_be(std::move(twin)) {}

    std::string option;  ///< as the message names it: "-o", "--labels", "the input", ...
    std::string path;    ///< as given; "-" (stdin or stdout) is never compared
    FileRole role = FileRole::input;
    /// For an output: the option of an input it may be the same file as, because the command has read
    /// that input before it writes the output (--checkpoint may be the --resume file). Empty: none.
    std::string may_be;
};

/// Refuses, with a UsageError of one line naming both options, an output that is the same file as an
/// input or as another output, and a file that is where a --snapshot-plots directory draws a frame.
/// Files are compared by what they are on disk: an existing file by (device, inode), so symbolic and
/// hard links and every spelling of a path compare equal; a file not there yet by its directory's
/// (device, inode) and its name, so "./x", "d/../x" and "x" through a linked directory do too. Called by
/// every command with all its file-valued options, before any work.
void check_distinct_files(const std::vector<NamedFile>& files);

/// The outputs of a command, replaced all together or not at all. Each is written under a temporary name
/// in its target's directory, keeping the target's extension (so writers that choose the format by name
/// still do), and commit() renames them over their targets in the order they were staged; callers stage
/// -o last, so that even a rename that fails halfway leaves -o as it was. Destroyed without commit(), it
/// removes every temporary: a run that fails or is interrupted while writing replaces nothing.
class OutputBatch {
  public:
    OutputBatch() = default;
    ~OutputBatch();
    OutputBatch(const OutputBatch&) = delete;
    OutputBatch& operator=(const OutputBatch&) = delete;

    /// A temporary path for the file `target` (in its directory, with its extension).
    std::string file(const std::string& target);
    /// A new empty temporary directory for the files of directory `target`: inside it when it exists,
    /// otherwise in its nearest existing ancestor, so that nothing is created at `target` before
    /// commit(), which makes its missing parents and moves the directory (or, for an existing target,
    /// each file) into place. Throws IoError when it cannot be created.
    std::string directory(const std::string& target);
    /// Calls write(temporary path) for `target`; an error's message names `target`, not the temporary.
    void write(const std::string& target, const std::function<void(const std::string&)>& write);
    /// Rethrows the exception being handled with each temporary path in its message replaced by its
    /// target (call only inside a catch block).
    [[noreturn]] void rethrow_naming_targets() const;
    /// Renames every staged output into place, in the order staged. Throws IoError naming the target
    /// that could not be renamed.
    void commit();

  private:
    struct Staged {
        std::string target, temp;
        bool directory = false;
    };
    std::vector<Staged> staged_;  ///< a temp cleared once it is in place
};

/// `path` without trailing separators ("frames/" names the directory "frames"; "/" stays).
std::string without_trailing_slashes(std::string path);
/// The nearest ancestor of `path` that exists ("." for a relative path none of whose parents does).
std::string existing_ancestor(const std::string& path);

/// For a signal that arrived while the outputs were written: "treesne: interrupted; nothing written" on
/// stderr. Returns the exit status 130. The caller drops its OutputBatch uncommitted.
int report_interrupted_while_writing(Progress& progress);

// --- memory ---------------------------------------------------------------------------------------------

/// Checks a command's memory estimate before its large allocations, as embed() checks its own: throws
/// NumericalError with one line ("COMMAND needs about ... but ... is available ...; ADVICE") when the
/// peak less the input exceeds --memory-limit (`limit_gib`; 0 = no check) or, without it, the memory
/// available now (no check where that is unknown).
void require_command_memory(const MemoryEstimate& estimate, const std::optional<double>& limit_gib,
                            const std::string& command, const std::string& advice);

/// "memory: about X; Y available" (--verbose).
void print_command_memory(Progress& progress, const MemoryEstimate& estimate);

/// One line when `requested` threads exceed thread_limit() (the number actually used). Not with --quiet.
void note_thread_limit(Progress& progress, int requested);

}  // namespace treesne::cli
