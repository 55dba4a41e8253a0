// What `embed` records during the run besides the result (internal to tools/): the frames of
// --snapshot-every, streamed into a stacked .npy and drawn as numbered pictures at the end, and the cost
// history of --kl-log.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "run_common.hpp"
#include "treesne/io/io.hpp"
#include "treesne/optimize/observer.hpp"
#include "treesne/plot/plot.hpp"
#include "treesne/optimize/session.hpp"

namespace treesne::cli {

/// How often the library reports, and what each report is for. The observer is called every
/// report_every iterations (and at the end), which is a divisor of both other intervals, so the progress
/// lines keep the --log-every cadence while the snapshots and the cost history get their iterations.
struct ReportCadence {
    index_t log_every = 0;  ///< progress lines (0 = only at the end)
    index_t trace_every =
        0;  ///< --kl-log rows: --log-every as given, --snapshot-every, the early-stop window
    index_t report_every = 0;  ///< Options::report_every: gcd(log_every, trace_every)
};

/// The cadence for a run whose --log-every (or its default) is `configured` and whose progress lines
/// come every `log_every` iterations (10 on a terminal unless --log-every was given).
ReportCadence plan_reports(const EmbedConfig& e, const OptimizerOptions& optimizer, index_t configured,
                           index_t log_every);

/// "0001.png": the picture of frame `index` (0-based) in --snapshot-plots DIR, as ffmpeg's %04d reads it.
std::string frame_file_name(index_t index);
/// True for names frame_file_name() makes (four or more digits, then .png).
bool is_frame_file_name(const std::string& name);

/// The checks of --snapshots, --snapshot-plots and --kl-log before the run: each file can be created;
/// DIR, if it exists, is a writable directory, and if not, its nearest existing ancestor is one (DIR
/// itself is made only when the pictures are written, at the end); and the file system holding the
/// temporary stack of frames has room for at most iterations / every + 1 frames of n x dims doubles.
/// Throws IoError with one line.
void check_snapshot_outputs(const EmbedConfig& e, index_t n, int dims, index_t iterations);

/// The frames of --snapshot-every: the embedding at every multiple of the interval and at the end,
/// appended as they come to an io::NpyStackWriter (beside --snapshots, under the temporary name that
/// `outputs` gives it; without --snapshots, a hidden file in the --snapshot-plots directory or, while it
/// does not exist, in its nearest existing ancestor, never committed), with each frame's iteration and
/// phase and the union of the frames' extents (the fixed axes of the pictures).
class SnapshotRecorder {
  public:
    SnapshotRecorder(const EmbedConfig& e, OutputBatch& outputs);
    bool active() const { return every_ > 0; }
    index_t frames() const { return static_cast<index_t>(iterations_.size()); }

    /// Records the report's embedding when its iteration is a multiple of the interval.
    void offer(const IterationReport& r);
    /// Records the final embedding unless the last frame is already that iteration.
    void finish(ConstMatrixView y, index_t iteration, Phase phase);

    /// Draws every frame into `dir` (the staged --snapshot-plots directory) with fixed axes; `title` is
    /// followed by each frame's iteration. Calls `next(done, total)` after each picture and stops when it
    /// returns false. Returns the number of pictures drawn.
    index_t write_plots(const std::string& dir, const io::Labels* labels, const std::string& title,
                        const std::function<bool(index_t, index_t)>& next);
    /// Every recorded frame, read back from the stack (before write_npy), for the --html page.
    std::vector<Matrix> frame_matrices();
    /// Completes the --snapshots file, shape (frames, points, dims), under its staged name.
    void write_npy();

  private:
    void record(ConstMatrixView y, index_t iteration, Phase phase);

    index_t every_;
    OutputBatch& outputs_;
    std::string npy_path_;  ///< the staged --snapshots, or the hidden stack of the pictures' frames
    bool plots_;            ///< --snapshot-plots given
    std::unique_ptr<io::NpyStackWriter> stack_;  ///< created with the first frame
    std::vector<index_t> iterations_;
    std::vector<Phase> phases_;
    PlotBounds extent_;
};

/// Writes --kl-log atomically: the header, then the rows of `history` at the multiples of trace_every
/// (none when it is 0) and at the last iteration run. Returns the number of rows. Throws IoError for a
/// non-finite value (nothing written).
index_t write_kl_log(const std::string& path, const std::vector<CostPoint>& history, index_t trace_every,
                     index_t last_iteration);

}  // namespace treesne::cli
