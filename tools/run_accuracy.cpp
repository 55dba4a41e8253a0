// `treesne accuracy`: read the data, run measure_accuracy() with progress on stderr, print the table and
// write the --json, --csv and --plot files atomically.
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "run_common.hpp"
#include "treesne/eval/accuracy.hpp"
#include "treesne/io/io.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/plot/plot.hpp"

namespace treesne::cli {
namespace {

void check_accuracy_outputs(const AccuracyConfig& a) {
    if (!a.json_path.empty()) io::check_writable(a.json_path, false);
    if (!a.csv_path.empty()) io::check_writable(a.csv_path, false);
    if (!a.plot_path.empty()) io::check_writable(a.plot_path, false);
}

void print_accuracy_settings(Progress& progress, const AccuracyConfig& a, index_t n) {
    const Options& o = a.options;
    const AccuracyOptions& m = a.accuracy;
    const index_t studied = m.sample > 0 && m.sample < n ? m.sample : n;
    std::ostringstream s;
    s << "settings: " << studied << " points";
    if (studied < n) s << " (sample of " << n << ", seed " << o.seed << ")";
    s << ", perplexity " << o.affinities.perplexity
      << " (k = " << neighbor_count(o.affinities.perplexity, studied) << "), dims " << o.dims << ", pca "
      << o.pca_dims << ", thetas";
    for (double t : m.thetas) s << ' ' << t;
    s << ", summaries " << (m.monopole ? "quadrupole and monopole" : "quadrupole")
      << ", embeddings from a run at theta " << o.optimizer.theta << " (" << o.optimizer.iterations
      << " iterations), runs " << (m.runs ? "yes" : "no") << ", threads " << resolve_threads(o.threads);
    progress.line(s.str());
}

/// The memory of measure_accuracy: the sample and its PCA, the Barnes-Hut run that makes the three
/// embeddings (estimate_memory's stages), and with --runs a full run per theta, the exact t-SNE run (dense
/// P, N^2 doubles three times while built) and the dense P of the KL divergences (twice while built),
/// each beside the study's P and embeddings.
MemoryEstimate accuracy_memory(const AccuracyConfig& a, index_t input_points, index_t cols) {
    const AccuracyOptions& m = a.accuracy;
    const index_t n = m.sample > 0 && m.sample < input_points ? m.sample : input_points;
    Options o = a.options;
    o.optimizer.method = Method::barnes_hut;
    const MemoryEstimate study = estimate_memory(n, cols, o);
    const double loaded = 8 * static_cast<double>(input_points) * static_cast<double>(cols);
    const double sample = n < input_points ? study.input : 0.0;
    const double reduced = study.pca;
    const double embeddings = 3 * 8 * static_cast<double>(n) * o.dims;
    std::vector<MemoryStage> stages;
    for (const MemoryStage& stage : study.stages) {
        MemoryStage s = memory_stage(stage.name, {{"input", loaded}, {"sample", sample}});
        for (const auto& [part, bytes] : stage.parts) {
            if (part == "input") continue;  // the study's data: the loaded input or the sample, counted above
            s.parts.emplace_back(part, bytes);
            s.bytes += bytes;
        }
        stages.push_back(std::move(s));
    }
    if (m.runs) {
        const index_t d_used = o.pca_dims > 0 && o.pca_dims < cols ? o.pca_dims : cols;
        Options run = o;
        run.pca_dims = 0;
        const MemoryEstimate bh = estimate_memory(n, d_used, run);
        run.optimizer.method = Method::exact_tsne;
        const MemoryEstimate exact = estimate_memory(n, d_used, run);
        const double dense = 8 * static_cast<double>(n) * static_cast<double>(n);
        for (const auto& [name, bytes] :
             {std::pair<const char*, double>{"Barnes-Hut run", bh.peak - bh.input},
              {"exact run", exact.peak - exact.input},
              {"dense P", 2 * dense}})
            stages.push_back(memory_stage("runs", {{"input", loaded},
                                                   {"sample", sample},
                                                   {"PCA copy", reduced},
                                                   {"P", study.affinities},
                                                   {"embeddings", embeddings},
                                                   {name, bytes}}));
    }
    return memory_estimate(loaded, std::move(stages));
}

/// What a finished stage of measure_accuracy did, for its "stage: detail in 1.2 s" line.
std::string stage_detail(const std::string& stage, const AccuracyConfig& a, index_t n) {
    const Options& o = a.options;
    const index_t studied = a.accuracy.sample > 0 && a.accuracy.sample < n ? a.accuracy.sample : n;
    if (stage == "pca") return concat(o.pca_dims, " dimensions");
    if (stage == "neighbours") return concat(neighbor_count(o.affinities.perplexity, studied), " per point");
    if (stage == "affinities") return concat("perplexity ", o.affinities.perplexity);
    if (stage == "optimise")
        return concat(o.optimizer.iterations, " iterations at theta ", o.optimizer.theta);
    if (stage == "gradients")
        return concat("3 embeddings x ", a.accuracy.thetas.size(), " thetas x ", a.accuracy.monopole ? 2 : 1,
                      a.accuracy.monopole ? " summaries" : " summary");
    return "";
}

/// measure_accuracy's stages as start, live fraction and done lines.
std::function<void(const std::string&, double)> stage_reporter(Progress& progress, Stopwatch& clock,
                                                               const AccuracyConfig& a, index_t n) {
    return [&progress, &clock, &a, n](const std::string& stage, double fraction) {
        if (fraction <= 0) {
            clock = Stopwatch();
            progress.start(stage);
        } else if (fraction >= 1) {
            progress.done(stage, clock.seconds(), stage_detail(stage, a, n));
        } else {
            progress.fraction(stage, fraction);
        }
    };
}

void write_text(const std::string& path, const std::string& text) {
    io::AtomicFile file(path);
    file.write(text);
    file.commit();
}

/// --json, --csv and --plot under temporary names, then renamed into place together (OutputBatch): a
/// failure or a signal while writing replaces none of them. Returns the exit status.
int write_accuracy_outputs(const AccuracyConfig& a, const AccuracyReport& report, Progress& progress) {
    g_phase.store(writing);
    OutputBatch outputs;
    if (!a.json_path.empty()) {
        Stopwatch clock;
        outputs.write(a.json_path,
                      [&](const std::string& temp) { write_text(temp, format_accuracy_json(report)); });
        progress.done("write", clock.seconds(), a.json_path);
    }
    if (!a.csv_path.empty()) {
        Stopwatch clock;
        outputs.write(a.csv_path,
                      [&](const std::string& temp) { write_text(temp, format_accuracy_csv(report)); });
        progress.done("write", clock.seconds(), a.csv_path);
    }
    if (!a.plot_path.empty()) {
        Stopwatch clock;
        const std::string title =
            concat("Barnes-Hut vs exact t-SNE gradient: ", file_name(a.inputs[0]),
                   a.inputs.size() > 1 ? concat(" + ", a.inputs.size() - 1, " more") : std::string(), ", ",
                   report.points, " points", report.points < report.input_points ? " (sample)" : "", ", ",
                   report.dims, "-D, perplexity ", report.perplexity, ", ", report.threads, " threads");
        outputs.write(a.plot_path, [&](const std::string& temp) { plot_accuracy(temp, report, title); });
        progress.done("plot", clock.seconds(), a.plot_path);
    }
    if (g_cancel.load()) return report_interrupted_while_writing(progress);
    outputs.commit();
    return 0;
}

/// Every file-valued option of accuracy, for check_distinct_files.
std::vector<NamedFile> accuracy_files(const AccuracyConfig& a) {
    std::vector<NamedFile> files;
    for (const auto& path : a.inputs) files.push_back({"the input", path});
    for (const auto& path : a.label_paths) files.push_back({"--labels", path});
    files.push_back({"--json", a.json_path, FileRole::output});
    files.push_back({"--csv", a.csv_path, FileRole::output});
    files.push_back({"--plot", a.plot_path, FileRole::output});
    return files;
}

}  // namespace

int run_accuracy(const CliConfig& config, std::ostream& out) {
    const AccuracyConfig& a = config.accuracy;
    Progress progress(config.verbosity, ::isatty(STDERR_FILENO) == 1);
    SignalScope signals;  // nothing is written before the end: a signal ends the process at once
    check_distinct_files(accuracy_files(a));
    note_thread_limit(progress, a.options.threads);
    check_accuracy_outputs(a);

    Stopwatch read_time;
    progress.start("read");
    const Matrix x = read_stacked(a.inputs);
    require_points(a.inputs, x.rows());
    progress.done("read", read_time.seconds(), concat(x.rows(), " x ", x.cols(), describe_inputs(a.inputs)));
    io::Labels labels;
    if (!a.label_paths.empty()) labels = read_labels_checked(a.label_paths, x.rows());
    if (progress.verbose()) print_accuracy_settings(progress, a, x.rows());
    const MemoryEstimate memory = accuracy_memory(a, x.rows(), x.cols());
    if (progress.verbose()) print_command_memory(progress, memory);
    require_command_memory(memory, a.memory_limit_gib, "accuracy",
                           "use --sample M to study M random points, or --pca");

    Stopwatch stage_clock;
    const AccuracyReport report =
        measure_accuracy(x, a.options, a.accuracy, labels.codes.empty() ? nullptr : &labels.codes,
                         progress.quiet() ? std::function<void(const std::string&, double)>()
                                          : stage_reporter(progress, stage_clock, a, x.rows()));
    progress.end_line();
    out << format_accuracy_table(report);
    out.flush();
    return write_accuracy_outputs(a, report, progress);
}

}  // namespace treesne::cli
