// The commands behind the parsed command line (embed; evaluate is in run_evaluate.cpp, accuracy in
// run_accuracy.cpp): reading, writing, and the mapping of every exception to one line and an exit status.
// Progress, interruption and the shared readers are in run_common.cpp.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <new>
#include <optional>
#include <sstream>

#include "cli.hpp"
#include "run_common.hpp"
#include "run_embed.hpp"
#include "run_snapshots.hpp"
#include "treesne/io/checkpoint.hpp"
#include "treesne/io/io.hpp"
#include "treesne/core/parallel.hpp"
#include "run_view.hpp"
#include "treesne/plot/plot.hpp"
#include "treesne/affinities/precomputed.hpp"
#include "treesne/treesne.hpp"

namespace treesne::cli {
namespace {

// --- embed ------------------------------------------------------------------------------------------

/// "perplexity 30 (k = 90)", "perplexities 30, 300 (k = 900)", "sigma 2 (k = 90)", "uniform (k = 15)".
std::string describe_affinities(const AffinityOptions& a, index_t n) {
    std::ostringstream s;
    switch (a.kind) {
        case AffinityKind::perplexity:
            s << (a.more_perplexities.empty() ? "perplexity " : "perplexities ") << a.perplexity;
            for (double p : a.more_perplexities) s << ", " << p;
            break;
        case AffinityKind::sigma:
            s << "sigma " << a.sigma;
            break;
        case AffinityKind::uniform:
            s << "uniform";
            break;
    }
    s << " (k = " << neighbor_count(a, n) << ")";
    return s.str();
}

void print_settings(Progress& progress, const Options& o, index_t n, index_t d) {
    const OptimizerOptions& p = o.optimizer;
    const index_t d_used = o.pca_dims > 0 ? o.pca_dims : d;
    std::ostringstream s;
    s << "settings: method " << to_string(p.method) << ", dims " << o.dims << ", "
      << describe_affinities(o.affinities, n) << ", dof " << p.dof << ", metric " << to_string(o.neighbors.metric);
    if (p.method == Method::barnes_hut) {
        if (p.theta_auto)
            s << ", theta auto (target error " << p.target_error << ")";
        else
            s << ", theta " << p.theta;
        s << ", knn " << to_string(resolve_backend(o.neighbors.backend, n, d_used, o.neighbors.metric));
        if (o.neighbors.backend == KnnBackend::automatic) {
            if (resolve_backend(o.neighbors.backend, n, d_used, o.neighbors.metric) == KnnBackend::nndescent)
                s << " (auto: approximate above N = " << approximate_knn_min_points << " at D >= "
                  << approximate_knn_min_dims << ", where it is faster than the exact search; --knn brute "
                  << "for exact)";
            else
                s << " (auto: exact)";
        }
        if (resolve_backend(o.neighbors.backend, n, d_used, o.neighbors.metric) == KnnBackend::hnsw) {
            const index_t k = neighbor_count(o.affinities, n);
            s << " (M " << o.neighbors.hnsw_m << ", ef construction " << o.neighbors.hnsw_ef_construction
              << ", ef search " << resolve_hnsw_ef_search(o.neighbors, k) << ")";
        }
        if (resolve_backend(o.neighbors.backend, n, d_used, o.neighbors.metric) == KnnBackend::nndescent) {
            auto value = [](int v) { return v > 0 ? std::to_string(v) : std::string("auto"); };
            s << " (trees " << value(o.neighbors.nndescent_trees) << ", leaf "
              << value(o.neighbors.nndescent_leaf_size) << ", rounds " << value(o.neighbors.nndescent_rounds)
              << ")";
        }
    }
    s << ", learning rate " << resolve_learning_rate(p, n) << (p.learning_rate ? "" : " (auto)");
    s << ", iterations " << p.iterations << " (" << p.exaggeration_iterations << " exaggerated x"
      << p.exaggeration << "), momentum " << p.momentum << " -> " << p.final_momentum;
    if (p.momentum_switch >= 0) s << " at iteration " << p.momentum_switch;
    if (p.late_exaggeration != 1.0)
        s << ", late exaggeration x" << p.late_exaggeration << " from iteration "
          << (p.late_exaggeration_start >= 0 ? p.late_exaggeration_start : p.exaggeration_iterations);
    if (p.early_stop > 0) s << ", early stop " << p.early_stop;
    if (p.max_step_norm > 0) s << ", max step " << p.max_step_norm;
    s << ", init " << to_string(o.init) << ", pca " << o.pca_dims << ", seed " << o.seed << ", threads "
      << resolve_threads(o.threads) << ", " << simd_kernels();
    progress.line(s.str());
}

}  // namespace

/// The memory estimate of the run and what the machine has.
void print_memory(Progress& progress, const Options& o, index_t n, index_t d, bool keep_affinities,
                  const CsrMatrix* sparse = nullptr) {
    // run_embed hands its input over to embed(), which frees it before P is built.
    const MemoryEstimate m = sparse ? estimate_memory_sparse(n, d, sparse->nnz(), o, keep_affinities, true)
                                    : estimate_memory(n, d, o, keep_affinities, true);
    const std::optional<double> available = available_memory();
    progress.line(
        concat("memory: about ", m.describe(), "; ",
               available ? format_bytes(*available) + " available" : std::string("available unknown")));
}

/// Where an iteration's time went, in milliseconds per iteration (--verbose).
void print_iteration_seconds(Progress& progress, const IterationSeconds& s) {
    if (s.iterations <= 0) return;
    const double per = 1e3 / static_cast<double>(s.iterations);
    const double total = s.tree + s.repulsion + s.attraction + s.kl + s.step + s.control;
    char text[256];
    std::snprintf(text, sizeof text,
                  "optimise: %.2f ms per iteration: tree %.2f, repulsion %.2f, attraction %.2f, step %.2f, "
                  "KL %.2f",
                  per * total, per * s.tree, per * s.repulsion, per * s.attraction, per * s.step, per * s.kl);
    std::string line = text;
    if (s.control > 0) {
        std::snprintf(text, sizeof text, ", theta control %.2f", per * s.control);
        line += text;
    }
    if (s.exchange > 0) {  // distributed runs: included in repulsion
        std::snprintf(text, sizeof text, " (gather and waiting %.2f)", per * s.exchange);
        line += text;
    }
    progress.line(line);
}

/// The detail of a library stage's line.
std::string stage_detail(const std::string& stage, const Options& o, index_t n, index_t d,
                         const LastReport& last) {
    const std::string name = display_name(stage);
    if (name == "pca") return concat(d, " -> ", o.pca_dims, " dimensions");
    if (name == "neighbours") return concat(neighbor_count(o.affinities, n), " per point");
    if (name == "affinities") return describe_affinities(o.affinities, n);
    if (name == "init") return to_string(o.init);
    if (name == "optimise" && last.has)
        return concat(last.iteration, " iterations, KL ", format_value(last.kl));
    return "";
}

// --- files named twice -------------------------------------------------------------------------------

/// Every file-valued option of embed, for check_distinct_files. Only the --checkpoint file may be the
/// --resume file: continuing a run in place is what they are for.
std::vector<NamedFile> embed_files(const EmbedConfig& e) {
    std::vector<NamedFile> files;
    for (const auto& path : e.inputs) files.push_back({"the input", path});
    for (const auto& path : e.label_paths) files.push_back({"--labels", path});
    std::error_code ec;
    if (std::filesystem::is_regular_file(e.label_names, ec))
        files.push_back({"--label-names", e.label_names});
    files.push_back({"--init", e.init_path});
    files.push_back({"--resume", e.resume_path});
    files.push_back({"--affinities", e.precomputed_affinities});
    files.push_back({"--neighbors", e.neighbors_path});
    files.push_back({"--neighbor-distances", e.neighbor_distances_path});
    files.push_back({"-o", e.output, FileRole::output});
    files.push_back({"--plot", e.plot_path, FileRole::output});
    files.push_back({"--html", e.html_path, FileRole::output});
    files.push_back({"--save-affinities", e.affinities_path, FileRole::output});
    files.push_back({"--checkpoint", e.checkpoint_path, FileRole::output, "--resume"});
    files.push_back({"--snapshots", e.snapshots_path, FileRole::output});
    files.push_back({"--kl-log", e.kl_log_path, FileRole::output});
    files.push_back({"--snapshot-plots", e.snapshot_plots_dir, FileRole::frames});
    return files;
}

void check_outputs(const EmbedConfig& e) {
    if (e.output != "-") io::check_writable(e.output);
    if (!e.checkpoint_path.empty()) io::check_writable(e.checkpoint_path, false);
    if (!e.plot_path.empty()) io::check_writable(e.plot_path, false);
    if (!e.html_path.empty()) io::check_writable(e.html_path, false);
    if (!e.affinities_path.empty()) io::check_writable(e.affinities_path, false);
}

/// The title of the --plot picture (and, with the iteration added, of each --snapshot-plots frame).
std::string plot_title(const EmbedConfig& e, const Result& r, const Options& o) {
    const std::string source = !e.inputs.empty() ? file_name(e.inputs[0])
                               : !e.precomputed_affinities.empty() ? file_name(e.precomputed_affinities)
                                                                   : file_name(e.neighbors_path);
    const AffinityOptions& a = o.affinities;
    std::string kernel = !e.precomputed_affinities.empty() ? std::string("given P")
                         : a.kind == AffinityKind::sigma   ? concat("sigma ", a.sigma)
                         : a.kind == AffinityKind::uniform ? concat("uniform, k ", neighbor_count(a, r.y.rows()))
                                                           : concat("perplexity ", a.perplexity);
    for (double p : e.precomputed_affinities.empty() ? a.more_perplexities : std::vector<double>{})
        kernel += concat(",", p);
    return concat(source, e.inputs.size() > 1 ? concat(" + ", e.inputs.size() - 1, " more") : "", ": t-SNE of ",
                  r.y.rows(), " points, ", kernel, o.optimizer.dof != 1 ? concat(", dof ", o.optimizer.dof) : "");
}

/// Stages --snapshot-plots, --snapshots and --kl-log in `outputs`. False when a signal stopped it.
bool stage_recordings(const EmbedConfig& e, const Result& r, const io::Labels* labels, Progress& progress,
                      const Options& o, SnapshotRecorder& snapshots, index_t trace_every,
                      OutputBatch& outputs) {
    if (!e.snapshot_plots_dir.empty()) {
        Stopwatch plot_time;
        progress.start("plots");
        const std::string dir = outputs.directory(e.snapshot_plots_dir);
        index_t drawn = 0;
        try {
            drawn = snapshots.write_plots(
                dir, labels, plot_title(e, r, o), [&progress](index_t done, index_t total) {
                    progress.fraction("plots", static_cast<double>(done) / static_cast<double>(total));
                    return !g_cancel.load();
                });
        } catch (...) {
            outputs.rethrow_naming_targets();
        }
        if (g_cancel.load()) return false;
        progress.done("plots", plot_time.seconds(),
                      concat(e.snapshot_plots_dir, " (", drawn, drawn == 1 ? " picture, " : " pictures, ",
                             frame_file_name(0), drawn > 1 ? " to " + frame_file_name(drawn - 1) : "", ")"));
    }
    if (!e.snapshots_path.empty()) {
        Stopwatch npy_time;
        progress.start("write");
        snapshots.write_npy();
        progress.done("write", npy_time.seconds(),
                      concat(e.snapshots_path, " (", snapshots.frames(), " snapshots of ", r.y.rows(), " x ",
                             r.y.cols(), ")"));
        if (g_cancel.load()) return false;
    }
    if (!e.kl_log_path.empty()) {
        Stopwatch log_time;
        progress.start("write");
        index_t rows = 0;
        outputs.write(e.kl_log_path, [&](const std::string& temp) {
            rows = write_kl_log(temp, r.history, trace_every, r.iterations);
        });
        progress.done("write", log_time.seconds(), concat(e.kl_log_path, " (", rows, " rows)"));
    }
    return !g_cancel.load();
}

/// Writes every output under a temporary name, then renames them all into place, -o last (OutputBatch):
/// a run that fails or is interrupted while writing replaces none of them, and its --snapshot-plots
/// directory is made only here. -o - goes to stdout after the files are staged.
int write_outputs(const EmbedConfig& e, const Result& r, const io::Labels* labels, Progress& progress,
                  const Options& o, SnapshotRecorder& snapshots, index_t trace_every, OutputBatch& outputs,
                  const ViewThumbnails* thumbnails) {
    g_phase.store(writing);
    if (!e.plot_path.empty()) {
        Stopwatch plot_time;
        progress.start("plot");
        PlotOptions plot;
        plot.title = plot_title(e, r, o);
        outputs.write(e.plot_path, [&](const std::string& temp) { plot_embedding(temp, r.y, labels, plot); });
        progress.done("plot", plot_time.seconds(), e.plot_path);
        if (g_cancel.load()) return report_interrupted_while_writing(progress);
    }
    if (!e.html_path.empty()) {
        ViewData view;
        view.y = r.y;
        view.labels = labels;
        view.thumbnails = thumbnails;
        const std::vector<Matrix> frames = snapshots.frame_matrices();  // --snapshot-every: the film
        for (const Matrix& frame : frames) view.frames.push_back(frame.view());
        view.title = plot_title(e, r, o);
        stage_view(outputs, e.html_path, view, progress);
        if (g_cancel.load()) return report_interrupted_while_writing(progress);
    }
    if (!e.affinities_path.empty()) {
        Stopwatch affinity_time;
        progress.start("write");
        outputs.write(e.affinities_path,
                      [&](const std::string& temp) { io::write_affinities(temp, r.affinities); });
        progress.done("write", affinity_time.seconds(),
                      concat(e.affinities_path, " (", r.affinities.nnz(), " entries)"));
        if (g_cancel.load()) return report_interrupted_while_writing(progress);
    }
    if (!stage_recordings(e, r, labels, progress, o, snapshots, trace_every, outputs))
        return report_interrupted_while_writing(progress);
    Stopwatch write_time;
    progress.start("write");
    if (e.output == "-") {
        io::write_matrix(e.output, r.y);
    } else {
        outputs.write(e.output, [&](const std::string& temp) { io::write_matrix(temp, r.y); });
    }
    outputs.commit();
    progress.done("write", write_time.seconds(),
                  concat(e.output == "-" ? "stdout" : e.output, " (", r.y.rows(), " x ", r.y.cols(), ")"));
    if (!e.snapshot_plots_dir.empty()) {
        const std::string stale = frame_file_name(snapshots.frames());
        std::error_code ec;
        if (std::filesystem::exists(std::filesystem::path(e.snapshot_plots_dir) / stale, ec))
            progress.line(concat("plots: ", e.snapshot_plots_dir, " also holds ", stale,
                                 " (and maybe more) from an earlier run; remove them before making a film"));
    }
    return 0;
}

// --- embed: the steps of run_embed --------------------------------------------------------------

void check_neighbor_distances(const Matrix& distances, index_t first_row, const std::string& path) {
    for (index_t i = 0; i < distances.rows(); ++i)
        for (index_t j = 0; j < distances.cols(); ++j)
            if (!(distances(i, j) >= 0))
                throw InvalidArgument(concat("--neighbor-distances ", path, ": row ", first_row + i + 1, ", column ",
                                             j + 1, ": distance ", distances(i, j), " is negative (distances are >= 0)"));
}

/// --neighbors (and --neighbor-distances): the graph, validated.
NeighborGraph read_neighbors(const EmbedConfig& e) {
    // parse_cli asks for --neighbor-distances exactly when --neighbors is not Matrix Market (.mtx in any
    // case), so its absence is what says the graph is one .mtx file.
    if (e.neighbor_distances_path.empty()) {
        const SparseMatrix m = reading("--neighbors", [&] { return io::read_affinities(e.neighbors_path); });
        try {
            return neighbors_from_sparse(m);
        } catch (const InvalidArgument& error) {
            throw InvalidArgument(concat("--neighbors ", e.neighbors_path, ": ", error.what()));
        }
    }
    const Matrix indices = reading("--neighbors", [&] { return io::read_matrix(e.neighbors_path); });
    const Matrix distances =
        reading("--neighbor-distances", [&] { return io::read_matrix(e.neighbor_distances_path); });
    if (distances.rows() != indices.rows() || distances.cols() != indices.cols())
        throw InvalidArgument(concat("--neighbor-distances ", e.neighbor_distances_path, " is ", distances.rows(),
                                     " x ", distances.cols(), " but --neighbors ", e.neighbors_path, " is ",
                                     indices.rows(), " x ", indices.cols(), " (one distance per neighbour)"));
    // The distances first, so that a bad one is blamed on their file; what neighbors_from_lists finds
    // after that is in the indices.
    check_neighbor_distances(distances, 0, e.neighbor_distances_path);
    try {
        return neighbors_from_lists(indices.rows(), indices.cols(), indices.storage(), distances.storage());
    } catch (const InvalidArgument& error) {
        throw InvalidArgument(concat("--neighbors ", e.neighbors_path, ": ", error.what()));
    }
}

/// --affinities: P, prepared (prepare_affinities), with its notes as progress lines.
Affinities read_given_affinities(const EmbedConfig& e, int threads, Progress& progress) {
    Stopwatch p_time;
    progress.start("read");
    std::vector<std::string> notes;
    SparseMatrix given =
        reading("--affinities", [&] { return io::read_affinities(e.precomputed_affinities); });
    Affinities p;
    try {
        p = prepare_affinities(std::move(given), threads, &notes);
    } catch (const InvalidArgument& error) {
        throw InvalidArgument(concat("--affinities ", e.precomputed_affinities, ": ", error.what()));
    }
    progress.done("read", p_time.seconds(),
                  concat("affinities ", p.n, " x ", p.n, ", ", p.nnz(), " entries"));
    for (const std::string& note : notes)
        progress.line(concat("note: ", e.precomputed_affinities, ": ", note));
    return p;
}

/// --init: the starting coordinates into options, checked against n points and --dims.
void read_init(const EmbedConfig& e, Options& options, index_t n) {
    options.init_coordinates = reading("--init", [&] { return io::read_matrix(e.init_path); });
    const Matrix& y0 = options.init_coordinates;
    if (y0.rows() != n || y0.cols() != options.dims)
        throw InvalidArgument(concat("--init ", e.init_path, ": ", y0.rows(), " x ", y0.cols(),
                                     " coordinates; need ", n, " x ", options.dims, " (points x --dims)"));
    const std::string defect = init_defect(y0, options.keep_user_scale);  // as validate() would refuse it
    if (!defect.empty()) throw InvalidArgument(concat("--init ", e.init_path, ": ", defect));
}

EmbedInputs read_embed_inputs(const EmbedConfig& e, Options& options, Progress& progress) {
    EmbedInputs in;
    Stopwatch read_time;
    progress.start("read");
    if (!e.inputs.empty() && (e.input_sparse || io::is_sparse_input(e.inputs.front()))) {
        if (e.inputs.size() > 1)
            throw InvalidArgument(concat(e.inputs.front(), ": sparse input is read from one file; got ",
                                         e.inputs.size(), " inputs"));
        if (e.input_distances)
            throw InvalidArgument(concat(e.inputs.front(), ": --input-kind distances needs a dense N x N matrix, "
                                         "not a sparse one"));
        in.sparse = io::read_sparse_matrix(e.inputs.front());
        in.n = in.sparse->rows;
        require_points(e.inputs, in.n);
        progress.done("read", read_time.seconds(),
                      concat(in.sparse->rows, " x ", in.sparse->cols, ", ", in.sparse->nnz(), " non-zeros (sparse",
                             describe_inputs(e.inputs), ")"));
    } else if (!e.inputs.empty()) {
        in.x = read_stacked(e.inputs);
        in.n = in.x.rows();
        require_points(e.inputs, in.n);
        progress.done("read", read_time.seconds(),
                      concat(in.x.rows(), " x ", in.x.cols(), describe_inputs(e.inputs),
                             e.input_distances ? " (distances)" : ""));
        if (e.input_distances && in.x.rows() != in.x.cols())
            throw InvalidArgument(concat(e.inputs.front(), ": --input-kind distances needs a square N x N matrix; got ",
                                         in.x.rows(), " x ", in.x.cols()));
    }
    if (!e.precomputed_affinities.empty()) {
        in.p = read_given_affinities(e, options.threads, progress);
        in.n = in.p->n;
    }
    if (!e.neighbors_path.empty()) {
        Stopwatch g_time;
        progress.start("read");
        in.graph = read_neighbors(e);
        progress.done("read", g_time.seconds(), concat("neighbours ", in.graph->n, " x ", in.graph->k));
        in.n = in.graph->n;
    }
    if (in.sparse && (in.p || in.graph))
        throw InvalidArgument(concat(e.inputs.front(), ": sparse input cannot be combined with ",
                                     in.p ? "--affinities" : "--neighbors",
                                     " (its rows are searched for their own neighbours)"));
    if (!e.inputs.empty() && !in.sparse && in.n != in.x.rows()) {
        const std::string& source = !e.precomputed_affinities.empty() ? e.precomputed_affinities : e.neighbors_path;
        throw InvalidArgument(concat(source, " describes ", in.n, " points but the input has ", in.x.rows(),
                                     " rows (give the coordinates of the same points, or no INPUT)"));
    }
    const index_t n = in.n;
    if (!e.label_paths.empty()) {
        Stopwatch label_time;
        in.labels = read_labels_checked(e.label_paths, n);
        if (!e.label_names.empty()) apply_label_names(in.labels, e.label_names);
        progress.done("labels", label_time.seconds(),
                      concat(in.labels.codes.size(), ", ", in.labels.names.size(), " classes"));
    }
    if (!e.init_path.empty()) read_init(e, options, n);
    return in;
}

/// embed_distances, with what it finds wrong in the matrix blamed on the file ("d.csv: distance matrix:
/// not symmetric: ...").
Result embed_distance_matrix(const EmbedConfig& e, ConstMatrixView d, const Options& options,
                             const Callbacks& callbacks) {
    try {
        return embed_distances(d, options, callbacks);
    } catch (const InvalidArgument& error) {
        const std::string what = error.what();
        if (what.rfind("distance matri", 0) != 0) throw;
        throw InvalidArgument(
            concat(e.inputs.size() == 1 ? e.inputs[0] : std::string("the stacked inputs"), ": ", what));
    }
}

/// The fingerprint of what the run embeds: the coordinates (or distances), and P or the graph.
std::uint64_t input_fingerprint(const EmbedInputs& in) {
    std::uint64_t f = in.x.rows() > 0 ? data_fingerprint(in.x) : 0;
    if (in.sparse) {
        f = data_fingerprint(f, in.sparse->offsets.data(), in.sparse->offsets.size() * sizeof(index_t));
        f = data_fingerprint(f, in.sparse->columns.data(), in.sparse->columns.size() * sizeof(point_t));
        f = data_fingerprint(f, in.sparse->values.data(), in.sparse->values.size() * sizeof(double));
    }
    if (in.p) {
        f = data_fingerprint(f, in.p->offsets.data(), in.p->offsets.size() * sizeof(index_t));
        f = data_fingerprint(f, in.p->columns.data(), in.p->columns.size() * sizeof(point_t));
        f = data_fingerprint(f, in.p->values.data(), in.p->values.size() * sizeof(float));
    }
    if (in.graph) {
        f = data_fingerprint(f, in.graph->indices.data(), in.graph->indices.size() * sizeof(point_t));
        f = data_fingerprint(f, in.graph->distances.data(), in.graph->distances.size() * sizeof(double));
    }
    return f;
}

/// The options as they shape this run's P: without a neighbour search (a given P or graph, or distances)
/// its options shape nothing, nor do the affinity options with a given P, nor PCA without coordinates.
Options shaping_options(const EmbedConfig& e, const EmbedInputs& in, Options o) {
    if (in.p || in.graph || e.input_distances) o.neighbors = NeighborOptions{};
    if (in.p) o.affinities = AffinityOptions{};
    if ((in.x.rows() == 0 && !in.sparse) || e.input_distances) o.pca_dims = 0;
    return o;
}

/// The state saved in --resume, checked against this run (points, dims, data and options, iterations).
OptimizerState load_resume_state(const EmbedConfig& e, const Options& options, const CheckpointInfo& run_info,
                                 index_t n, Progress& progress) {
    Stopwatch resume_time;
    CheckpointInfo saved;
    OptimizerState state = reading("--resume", [&] { return load_checkpoint(e.resume_path, &saved); });
    if (state.y.rows() != n || state.y.cols() != options.dims)
        throw InvalidArgument(concat("--resume ", e.resume_path, ": the checkpoint holds ", state.y.rows(),
                                     " points in ", state.y.cols(), " dimensions, this run embeds ", n,
                                     " points in ", options.dims,
                                     " (use the input and --dims of the run that saved it)"));
    check_resumable(saved, run_info, "--resume " + e.resume_path, "--");
    if (state.iteration > options.optimizer.iterations)
        throw InvalidArgument(concat("--resume ", e.resume_path, " is at iteration ", state.iteration,
                                     ", beyond --iterations ", options.optimizer.iterations,
                                     " (give at least ", state.iteration, ")"));
    progress.done("resume", resume_time.seconds(), concat(e.resume_path, " at iteration ", state.iteration));
    return state;
}

/// Progress, snapshots, cancellation, memory limit and checkpoints of embed(), wired to the CLI's state.
/// The observer sees every report (cadence.report_every); progress lines keep cadence.log_every.
Callbacks embed_callbacks(const EmbedConfig& e, const Options& options, index_t n, index_t d,
                          Progress& progress, const ReportCadence& cadence, SnapshotRecorder& snapshots,
                          LastReport& last) {
    Callbacks callbacks;
    if (!progress.quiet() || snapshots.active()) {
        const index_t log_every = cadence.log_every;
        callbacks.observer = [&progress, &snapshots, &last, log_every](const IterationReport& r) {
            g_phase.store(optimising);
            last = {true, r.iteration, r.kl};
            snapshots.offer(r);
            if (r.iteration == r.total || (log_every > 0 && r.iteration % log_every == 0))
                progress.iteration(r);
            return true;
        };
    }
    callbacks.stage_start = [&progress](const std::string& stage) {
        if (display_name(stage) == "optimise") g_phase.store(optimising);
        progress.start(stage);
    };
    callbacks.stage_progress = [&progress](const std::string& stage, double fraction) {
        progress.fraction(stage, fraction);
    };
    const bool given_p = !e.precomputed_affinities.empty();
    callbacks.stage_done = [&progress, &options, &last, n, d, given_p](const std::string& stage, double seconds) {
        if (display_name(stage) == "init") g_phase.store(optimising);
        progress.done(stage, seconds,
                      given_p && display_name(stage) == "affinities" ? std::string("given (relabelled for locality)")
                                                                      : stage_detail(stage, options, n, d, last));
    };
    callbacks.cancel = &g_cancel;
    callbacks.keep_affinities = !e.affinities_path.empty();
    if (e.memory_limit_gib) {
        callbacks.memory_limit_bytes = *e.memory_limit_gib > 0 ? *e.memory_limit_gib * 1073741824.0
                                                               : std::numeric_limits<double>::infinity();
    }
    return callbacks;
}

int report_cancelled(const Result& result, const EmbedConfig& e, index_t saved_iteration,
                     Progress& progress) {
    progress.end_line();
    const std::string kept = saved_iteration >= 0 ? concat(" (", e.checkpoint_path, " holds iteration ",
                                                           saved_iteration, "; continue with --resume)")
                                                  : std::string();
    std::fprintf(stderr, "treesne: interrupted at iteration %lld; nothing written%s\n",
                 static_cast<long long>(result.iterations), kept.c_str());
    return 130;
}

/// "optimise: converged at iteration 650 (KL fell by less than 0.1 % over 50 iterations)".
void report_converged(Progress& progress, const OptimizerOptions& p, index_t iteration) {
    char percent[32];
    std::snprintf(percent, sizeof percent, "%g", 100 * p.early_stop);
    progress.line(concat("optimise: converged at iteration ", iteration, " (KL fell by less than ", percent,
                         " % over ", early_stop_window, " iterations)"));
}

/// The checks before the work: the options for these points (a given P: validate_given_affinities),
/// the outputs, the snapshots; with --verbose the settings and the memory estimate.
void check_embed_run(const EmbedConfig& e, const Options& options, const EmbedInputs& in, bool coordinates,
                     index_t d, Progress& progress, bool memory_line) {
    const index_t n = in.n;
    Options checked = options;  // without coordinates nothing is reduced by PCA
    if (!coordinates) checked.pca_dims = 0;
    if (in.p)
        validate_given_affinities(checked, n, d, e.precomputed_affinities);
    else
        validate(checked, n, d);
    check_outputs(e);
    check_snapshot_outputs(e, n, options.dims, options.optimizer.iterations);
    if (progress.verbose()) {
        print_settings(progress, options, n, d);
        if (memory_line)
            print_memory(progress, options, n, d, !e.affinities_path.empty(), in.sparse ? &*in.sparse : nullptr);
    }
}

/// What a checkpoint records of this run (only with --checkpoint or --resume): the input's fingerprint
/// and the options that shape P and the trajectory (embed() adds P's own fingerprint), so that a resume
/// with other data or options is refused, naming the option, instead of silently continuing a different
/// run.
CheckpointInfo checkpoint_info(const EmbedConfig& e, const EmbedInputs& in, const Options& options,
                               index_t d) {
    CheckpointInfo run_info;
    if (e.checkpoint_path.empty() && e.resume_path.empty()) return run_info;
    run_info.data_fingerprint = input_fingerprint(in);
    run_info.settings = trajectory_settings(shaping_options(e, in, options), in.n, d);
    run_info.settings.insert(run_info.settings.begin(), {"input-kind", e.input_distances ? 1.0 : 0.0});
    return run_info;
}

int run_embed(const CliConfig& config) {
    const EmbedConfig& e = config.embed;
    Options options = e.options;
    Progress progress(config.verbosity, ::isatty(STDERR_FILENO) == 1);
    SignalScope signals;
    check_distinct_files(embed_files(e));
    note_thread_limit(progress, options.threads);

    EmbedInputs in = read_embed_inputs(e, options, progress);
    if (in.graph) options.affinities.k = in.graph->k;  // a given graph's neighbours are all there are
    const bool coordinates = (in.x.rows() > 0 || in.sparse) && !e.input_distances;
    const index_t n = in.n, d = in.sparse ? in.sparse->cols : coordinates ? in.x.cols() : std::max(options.dims, 1);
    check_embed_run(e, options, in, coordinates, d, progress);
    const CheckpointInfo run_info = checkpoint_info(e, in, options, d);
    OptimizerState resume_state;
    if (!e.resume_path.empty()) resume_state = load_resume_state(e, options, run_info, n, progress);
    // A live line deserves more frequent updates unless the interval was chosen; snapshots, the cost
    // history and early stopping may need reports in between (plan_reports).
    const index_t configured_every = options.report_every;
    if (progress.terminal() && !e.log_every_given && options.report_every > 10) options.report_every = 10;
    const ReportCadence cadence = plan_reports(e, options.optimizer, configured_every, options.report_every);
    options.report_every = cadence.report_every;

    OutputBatch outputs;
    SnapshotRecorder snapshots(e, outputs);
    LastReport last;
    Callbacks callbacks = embed_callbacks(e, options, n, d, progress, cadence, snapshots, last);
    if (!e.resume_path.empty()) {
        callbacks.resume_from = &resume_state;
        progress.set_first_iteration(resume_state.iteration);
    }
    index_t saved_iteration = -1;
    if (!e.checkpoint_path.empty()) {
        callbacks.checkpoint_every = e.checkpoint_every;
        callbacks.checkpoint = [&](const OptimizerState& state) {
            save_checkpoint(e.checkpoint_path, state, run_info);
            saved_iteration = state.iteration;
        };
    }
    // The page's thumbnails are taken now: embed() frees the input.
    std::optional<ViewThumbnails> thumbnails;
    if (!e.html_path.empty() && coordinates && !in.sparse)
        thumbnails = view_thumbnails(in.x, Thumbnails::automatic, "the input");
    const ConstMatrixView given = coordinates ? in.x.view() : ConstMatrixView{};
    const Result result = in.sparse       ? embed(std::move(*in.sparse), options, callbacks)  // frees the input
                          : in.p          ? embed_affinities(std::move(*in.p), options, callbacks, given)
                          : in.graph      ? embed_neighbors(std::move(*in.graph), options, callbacks, given)
                          : e.input_distances ? embed_distance_matrix(e, in.x, options, callbacks)
                                              : embed(std::move(in.x), options, callbacks);  // frees the input
    if (result.status == RunStatus::cancelled) return report_cancelled(result, e, saved_iteration, progress);
    if (result.status == RunStatus::converged)
        report_converged(progress, options.optimizer, result.iterations);
    if (progress.verbose()) print_iteration_seconds(progress, result.timings.iteration);
    snapshots.finish(result.y, result.iterations,
                     phase_at(options.optimizer, std::max<index_t>(result.iterations - 1, 0)));
    return write_outputs(e, result, in.labels.codes.empty() ? nullptr : &in.labels, progress, options,
                         snapshots, cadence.trace_every, outputs, thumbnails ? &*thumbnails : nullptr);
}

std::string with_malloc_tunables(const char* current) {
    std::string wanted = current ? current : "";
    for (const char* tunable : {"glibc.malloc.hugetlb=1", "glibc.malloc.mmap_threshold=1048576"}) {
        const std::string name(tunable, std::strchr(tunable, '='));
        if (wanted.find(name) == std::string::npos) wanted += (wanted.empty() ? "" : ":") + std::string(tunable);
    }
    return wanted;
}

int main_entry(int argc, const char* const* argv) {
    try {
        const CliConfig config = parse_cli(argc, argv);
        if (config.command != Command::help && config.command != Command::version)
            simd_kernels();  // a bad TREESNE_SIMD fails here, before any work
        switch (config.command) {
            case Command::help:
                std::cout << help_text(config.help_topic);
                return 0;
            case Command::version:
                std::cout << version_text() << '\n';
                return 0;
            case Command::embed:
                return run_embed(config);
            case Command::transform:
                return run_transform(config.transform);
            case Command::evaluate:
                return run_evaluate(config, std::cout);
            case Command::accuracy:
                return run_accuracy(config, std::cout);
            case Command::view:
                return run_view(config.view);
        }
        return 0;
    } catch (const UsageError& e) {
        print_error(e.what());
        return 2;
    } catch (const std::bad_alloc&) {
        print_error("out of memory; try fewer points, --pca, a smaller --perplexity, or --method barnes_hut");
        return 1;
    } catch (const std::exception& e) {
        print_error(e.what());
        return 1;
    } catch (...) {
        print_error("unexpected internal error");
        return 1;
    }
}

}  // namespace treesne::cli
