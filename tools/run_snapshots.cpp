// The frames of --snapshot-every and the cost history of --kl-log (see run_snapshots.hpp).
#include "run_snapshots.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <system_error>

#include "run_common.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/api/memory.hpp"

namespace treesne::cli {
namespace {

namespace fs = std::filesystem;

/// Where the temporary stack of frames lives: beside --snapshots; without it, in the --snapshot-plots
/// directory, or while that does not exist (it is made at the end), in its nearest existing ancestor.
std::string stack_path(const EmbedConfig& e) {
    if (!e.snapshots_path.empty()) return e.snapshots_path;
    const std::string dir = without_trailing_slashes(e.snapshot_plots_dir);
    std::error_code ec;
    const fs::path base = fs::is_directory(dir, ec) ? fs::path(dir) : fs::path(existing_ancestor(dir));
    return (base / ".treesne-frames.npy").string();
}

/// Shortest decimal text that reads back as exactly v.
std::string exact_text(double v) {
    char buffer[40];
    for (int precision = 6; precision <= 17; ++precision) {
        std::snprintf(buffer, sizeof buffer, "%.*g", precision, v);
        if (std::strtod(buffer, nullptr) == v) break;
    }
    return buffer;
}

/// Wall seconds to the microsecond: more digits would be noise.
std::string seconds_text(double s) {
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.6f", s);
    return buffer;
}

/// A phase as one CSV word: its name (to_string) with underscores for spaces, "early_exaggeration".
std::string phase_word(Phase phase) {
    std::string word = to_string(phase);
    std::replace(word.begin(), word.end(), ' ', '_');
    return word;
}

}  // namespace

ReportCadence plan_reports(const EmbedConfig& e, const OptimizerOptions& optimizer, index_t configured,
                           index_t log_every) {
    ReportCadence c;
    c.log_every = log_every;
    c.trace_every = std::gcd(configured, e.snapshot_every);
    // Every early-stopping check is then a report, so the stop is logged and the last report is the end.
    if (optimizer.early_stop > 0) c.trace_every = std::gcd(c.trace_every, early_stop_window);
    c.report_every = std::gcd(c.log_every, c.trace_every);
    return c;
}

std::string frame_file_name(index_t index) {
    char name[32];
    std::snprintf(name, sizeof name, "%04lld.png", static_cast<long long>(index) + 1);
    return name;
}

bool is_frame_file_name(const std::string& name) {
    const std::size_t digits = name.size() >= 4 ? name.size() - 4 : 0;
    if (digits < 4 || name.compare(digits, 4, ".png") != 0) return false;
    return std::all_of(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(digits),
                       [](unsigned char c) { return std::isdigit(c) != 0; });
}

void check_snapshot_outputs(const EmbedConfig& e, index_t n, int dims, index_t iterations) {
    if (!e.kl_log_path.empty()) io::check_writable(e.kl_log_path, false);
    if (e.snapshot_every <= 0) return;
    if (!e.snapshots_path.empty()) io::check_writable(e.snapshots_path, false);
    if (!e.snapshot_plots_dir.empty()) {
        const std::string& dir = e.snapshot_plots_dir;
        std::error_code ec;
        const fs::file_status status = fs::status(without_trailing_slashes(dir), ec);
        if (fs::exists(status)) {
            if (!fs::is_directory(status))
                throw IoError(concat("--snapshot-plots ", dir, ": exists and is not a directory"));
            io::check_writable((fs::path(dir) / frame_file_name(0)).string(), false);
        } else {
            // Made with the pictures at the end, so that a failed run leaves no empty directory; whether
            // it can be made is known now.
            const std::string base = existing_ancestor(without_trailing_slashes(dir));
            if (!fs::is_directory(base, ec))
                throw IoError(
                    concat("--snapshot-plots ", dir, ": cannot be created, ", base, " is not a directory"));
            try {
                io::check_writable((fs::path(base) / ".treesne-probe").string(), false);
            } catch (const IoError&) {
                throw IoError(
                    concat("--snapshot-plots ", dir, ": cannot be created, ", base, " is not writable"));
            }
        }
    }
    // The frames stream to disk; refuse now what the file system cannot hold, not after the run.
    const index_t frames = iterations / e.snapshot_every + 1;
    const double bytes = static_cast<double>(frames) * static_cast<double>(n) * dims * sizeof(double);
    const fs::path stack = fs::absolute(stack_path(e));
    std::error_code ec;
    const fs::space_info space = fs::space(stack.parent_path(), ec);
    if (!ec && static_cast<double>(space.available) < bytes)
        throw IoError(concat(
            e.snapshots_path.empty() ? "--snapshot-plots" : "--snapshots", ": up to ", frames, " frames of ",
            n, " x ", dims, " doubles need ", format_bytes(bytes), ", but ", stack.parent_path().string(),
            " has ", format_bytes(static_cast<double>(space.available)), " free (raise --snapshot-every)"));
}

SnapshotRecorder::SnapshotRecorder(const EmbedConfig& e, OutputBatch& outputs)
    : every_(e.snapshot_every),
      outputs_(outputs),
      npy_path_(e.snapshots_path.empty() ? stack_path(e) : outputs.file(e.snapshots_path)),
      plots_(!e.snapshot_plots_dir.empty()) {}

void SnapshotRecorder::offer(const IterationReport& r) {
    if (every_ > 0 && r.iteration % every_ == 0) record(r.embedding, r.iteration, r.phase);
}

void SnapshotRecorder::finish(ConstMatrixView y, index_t iteration, Phase phase) {
    if (every_ > 0) record(y, iteration, phase);
}

void SnapshotRecorder::record(ConstMatrixView y, index_t iteration, Phase phase) {
    if (!iterations_.empty() && iterations_.back() >= iteration) return;  // already recorded
    try {
        if (!stack_) stack_ = std::make_unique<io::NpyStackWriter>(npy_path_, y.rows, y.cols);
        stack_->append(y);
    } catch (...) {
        outputs_.rethrow_naming_targets();
    }
    for (index_t i = 0; i < y.rows; ++i) {
        const double x = y(i, 0), v = y.cols > 1 ? y(i, 1) : 0.0;
        if (iterations_.empty() && i == 0) extent_ = {x, v, x, v};
        extent_ = {std::min(extent_.x_min, x), std::min(extent_.y_min, v), std::max(extent_.x_max, x),
                   std::max(extent_.y_max, v)};
    }
    iterations_.push_back(iteration);
    phases_.push_back(phase);
}

index_t SnapshotRecorder::write_plots(const std::string& dir, const io::Labels* labels,
                                      const std::string& title,
                                      const std::function<bool(index_t, index_t)>& next) {
    if (!plots_ || !stack_) return 0;
    PlotOptions plot;
    plot.bounds = extent_;
    for (index_t f = 0; f < frames(); ++f) {
        const auto at = static_cast<std::size_t>(f);
        const Phase phase = phases_[at];
        plot.title = concat(title, ", iteration ", iterations_[at],
                            phase == Phase::main ? "" : concat(" (", to_string(phase), ")"));
        plot_embedding((fs::path(dir) / frame_file_name(f)).string(), stack_->frame(f), labels, plot);
        if (!next(f + 1, frames())) return f + 1;
    }
    return frames();
}

std::vector<Matrix> SnapshotRecorder::frame_matrices() {
    std::vector<Matrix> frames;
    for (index_t f = 0; stack_ && f < stack_->frames(); ++f) frames.push_back(stack_->frame(f));
    return frames;
}

void SnapshotRecorder::write_npy() {
    try {
        if (stack_) stack_->commit();
    } catch (...) {
        outputs_.rethrow_naming_targets();
    }
}

index_t write_kl_log(const std::string& path, const std::vector<CostPoint>& history, index_t trace_every,
                     index_t last_iteration) {
    std::string text = "iteration,phase,kl,gradient_norm,seconds,theta\n";
    index_t rows = 0;
    for (const CostPoint& c : history) {
        if (!((trace_every > 0 && c.iteration % trace_every == 0) || c.iteration == last_iteration)) continue;
        for (const auto& [name, value] : {std::pair<const char*, double>{"kl", c.kl},
                                          {"gradient_norm", c.gradient_norm},
                                          {"seconds", c.seconds},
                                          {"theta", c.theta}})
            if (!std::isfinite(value))
                throw IoError(concat(path, ": refusing to write a non-finite ", name, " (", value,
                                     ") at iteration ", c.iteration));
        text +=
            concat(c.iteration, ',', phase_word(c.phase), ',', exact_text(c.kl), ',',
                   exact_text(c.gradient_norm), ',', seconds_text(c.seconds), ',', exact_text(c.theta), '\n');
        ++rows;
    }
    io::AtomicFile file(path);
    file.write(text);
    file.commit();
    return rows;
}

}  // namespace treesne::cli
