// `treesne transform`: new points into an existing embedding. Reads the reference data, its embedding and
// the new points, checks that their shapes agree, then runs the library's stages (PCA of the reference
// applied to the new points, neighbours and affinities, start, optimisation) with progress on stderr, and
// writes the new points' embedding and the optional picture atomically.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <new>
#include <sstream>

#include "cli.hpp"
#include "run_common.hpp"
#include "treesne/io/io.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/knn/pca.hpp"
#include "run_view.hpp"
#include "treesne/plot/plot.hpp"
#include "treesne/core/scale.hpp"
#include "treesne/api/transform.hpp"

namespace treesne::cli {
namespace {

/// Neighbours of the accuracy vote (the k of 'treesne evaluate').
constexpr index_t accuracy_k = 10;

struct TransformData {
    Matrix x_ref, y_ref, x_new;
    io::Labels labels, new_labels;  // the same class names in both; empty codes = not given
};

std::string new_inputs_name(const TransformConfig& c) {
    return c.inputs[0] + describe_inputs(c.inputs);
}

/// The shapes agree, or one line naming the files.
void check_shapes(const TransformConfig& c, const TransformData& d) {
    if (d.y_ref.rows() != d.x_ref.rows())
        throw InvalidArgument(concat("the reference embedding ", c.reference_embedding, " has ",
                                     d.y_ref.rows(), " rows but the reference input ", c.reference_input,
                                     " has ", d.x_ref.rows(), " (give the embedding made from that input)"));
    if (d.y_ref.cols() < 1 || d.y_ref.cols() > 3)
        throw InvalidArgument(concat("the reference embedding ", c.reference_embedding, " has ",
                                     d.y_ref.cols(), " columns; an embedding has 1, 2 or 3"));
    if (d.x_new.cols() != d.x_ref.cols())
        throw InvalidArgument(concat("the new input ", new_inputs_name(c), " has ", d.x_new.cols(),
                                     " columns but the reference input ", c.reference_input, " has ",
                                     d.x_ref.cols()));
}

/// Appends next's codes to into's, a class of the same name sharing its code.
void append_labels(io::Labels& into, const io::Labels& next) {
    std::map<std::string, int> code_of;
    for (std::size_t c = 0; c < into.names.size(); ++c) code_of[into.names[c]] = static_cast<int>(c);
    std::vector<int> remap(next.names.size());
    for (std::size_t c = 0; c < next.names.size(); ++c) {
        auto [it, inserted] = code_of.emplace(next.names[c], static_cast<int>(into.names.size()));
        if (inserted) into.names.push_back(next.names[c]);
        remap[c] = it->second;
    }
    for (const int code : next.codes) into.codes.push_back(remap.at(static_cast<std::size_t>(code)));
}

/// --labels and --new-labels, checked against the point counts, with one set of class names.
void read_transform_labels(const TransformConfig& c, TransformData& d) {
    io::Labels all;
    if (!c.label_path.empty()) {
        all = reading("--labels", [&] { return io::read_labels(c.label_path); });
        if (static_cast<index_t>(all.codes.size()) != d.x_ref.rows())
            throw InvalidArgument(concat("--labels ", c.label_path, " has ", all.codes.size(),
                                         " labels for the ", d.x_ref.rows(), " reference points"));
    }
    const std::size_t reference = all.codes.size();
    for (const std::string& path : c.new_label_paths)
        append_labels(all, reading("--new-labels", [&] { return io::read_labels(path); }));
    if (!c.new_label_paths.empty() && static_cast<index_t>(all.codes.size() - reference) != d.x_new.rows())
        throw InvalidArgument(
            concat("--new-labels ",
                   c.new_label_paths.size() == 1 ? c.new_label_paths[0] : std::string("(the stacked files)"),
                   " has ", all.codes.size() - reference, " labels for the ", d.x_new.rows(), " new points"));
    d.labels.names = d.new_labels.names = all.names;
    d.labels.codes.assign(all.codes.begin(), all.codes.begin() + static_cast<std::ptrdiff_t>(reference));
    d.new_labels.codes.assign(all.codes.begin() + static_cast<std::ptrdiff_t>(reference), all.codes.end());
}

TransformData read_transform_inputs(const TransformConfig& c, Progress& progress) {
    Stopwatch clock;
    progress.start("read");
    TransformData d;
    d.x_ref = io::read_matrix(c.reference_input);
    require_points({c.reference_input}, d.x_ref.rows());
    d.y_ref = io::read_matrix(c.reference_embedding);
    d.x_new = read_stacked(c.inputs);
    check_shapes(c, d);
    read_transform_labels(c, d);
    progress.done("read", clock.seconds(),
                  concat("reference ", d.x_ref.rows(), " x ", d.x_ref.cols(), " embedded in ", d.y_ref.cols(),
                         "-D, ", d.x_new.rows(), d.x_new.rows() == 1 ? " new point" : " new points",
                         describe_inputs(c.inputs)));
    return d;
}

/// The share of new points whose accuracy_k nearest reference points in the embedding vote (ties to
/// the smallest code, as knn_accuracy) for the point's own class.
double new_point_accuracy(const TransformData& d, const Matrix& y_new, int threads) {
    const index_t k = std::min(accuracy_k, d.y_ref.rows());
    const NeighborGraph graph = nearest_neighbors_of(d.y_ref, y_new, k, KnnBackend::automatic, threads);
    std::vector<int> votes(d.labels.names.size());
    index_t right = 0;
    for (index_t i = 0; i < graph.n; ++i) {
        std::fill(votes.begin(), votes.end(), 0);
        for (index_t e = 0; e < k; ++e)
            ++votes[static_cast<std::size_t>(d.labels.codes[graph.row_indices(i)[e]])];
        const auto winner = std::max_element(votes.begin(), votes.end()) - votes.begin();
        right += winner == d.new_labels.codes[static_cast<std::size_t>(i)];
    }
    return static_cast<double>(right) / static_cast<double>(graph.n);
}

void print_transform_settings(Progress& progress, const TransformConfig& c, const Options& o, index_t n,
                              index_t d_used) {
    const TransformOptions& t = c.transform;
    const double perplexity = resolve_perplexity(t, o);
    std::ostringstream s;
    s << "settings: perplexity " << perplexity << (t.perplexity ? "" : " (auto)")
      << " (k = " << neighbor_count(perplexity, n) << "), knn "
      << to_string(o.neighbors.backend == KnnBackend::kdtree ||
                           resolve_backend(KnnBackend::automatic, n, d_used) == KnnBackend::kdtree
                       ? KnnBackend::kdtree
                       : KnnBackend::brute)
      << " (exact), pca " << o.pca_dims << ", theta " << o.optimizer.theta << ", " << t.iterations
      << " iterations (" << t.exaggeration_iterations << " with exaggeration " << t.exaggeration
      << "), learning rate " << t.learning_rate << ", momentum " << t.momentum << ", repel new "
      << (t.repel_new ? "yes" : "no") << ", threads " << resolve_threads(o.threads);
    progress.line(s.str());
}

/// The memory of transform's stages: the PCA fitted on the reference and applied to the new points, the
/// search among the reference, each new point's neighbours and P row, and the optimisation's trees
/// (over the reference and over the new points) and buffers; sized by estimate_memory's parts.
MemoryEstimate transform_memory(const TransformConfig& c, const TransformData& d, const Options& options) {
    const index_t n = d.x_ref.rows(), dims = d.y_ref.cols(), cols = d.x_ref.cols();
    const bool reduce = options.pca_dims > 0 && options.pca_dims < cols;
    const index_t d_used = reduce ? options.pca_dims : cols;
    Options o = options;
    o.dims = static_cast<int>(dims);
    o.affinities.perplexity = resolve_perplexity(c.transform, options);
    // nearest_neighbors_of searches exactly: kdtree, or brute where auto would not pick the kd-tree
    o.neighbors.backend = o.neighbors.backend == KnnBackend::kdtree ||
                                  resolve_backend(KnnBackend::automatic, n, d_used) == KnnBackend::kdtree
                              ? KnnBackend::kdtree
                              : KnnBackend::brute;
    const MemoryEstimate reference = estimate_memory(n, cols, o);
    const MemoryEstimate fresh = estimate_memory(d.x_new.rows(), cols, o);
    const double m = static_cast<double>(d.x_new.rows());
    const double k = static_cast<double>(neighbor_count(o.affinities.perplexity, n));
    const double loaded =
        8 * (static_cast<double>(n) * static_cast<double>(cols + dims) + m * static_cast<double>(cols));
    const double reduced = reduce ? reference.pca + 8 * m * static_cast<double>(d_used) : 0.0;
    const double graph = m * k * (4 + 8);
    std::vector<MemoryStage> stages;
    if (reduce) stages.push_back(memory_stage("pca", {{"input", loaded}, {"PCA", reduced}}));
    stages.push_back(memory_stage("neighbours", {{"input", loaded},
                                                 {"PCA copies", reduced},
                                                 {"search buffers", reference.neighbor_search},
                                                 {"kNN graph", graph}}));
    // Y0, Y, velocity, gains, gradient, the repulsions and the returned copy: about 8 M x dims doubles.
    stages.push_back(memory_stage("optimise", {{"input", loaded},
                                               {"PCA copies", reduced},
                                               {"kNN graph", graph},
                                               {"P", m * k * 4},
                                               {"trees", reference.tree + fresh.tree},
                                               {"optimiser", 8 * m * static_cast<double>(dims) * 8}}));
    return memory_estimate(loaded, std::move(stages));
}

/// PCA, neighbours, start and optimisation, each a stage on stderr.
Matrix transform_stages(const TransformConfig& c, const TransformData& d, Options options,
                        Progress& progress) {
    const TransformOptions& t = c.transform;
    const int threads = options.threads;
    Matrix scaled_ref, scaled_new, reduced_ref, reduced_new;
    ConstMatrixView x_ref = d.x_ref, x_new = d.x_new;
    if (const int exponent = extreme_exponent(x_ref, x_new)) {  // as embed rescaled the reference
        scaled_ref = scaled_by_power_of_two(x_ref, exponent);
        scaled_new = scaled_by_power_of_two(x_new, exponent);
        x_ref = scaled_ref.view();
        x_new = scaled_new.view();
    }
    if (options.pca_dims > 0 && options.pca_dims < d.x_ref.cols()) {
        Stopwatch clock;
        progress.start("pca");
        PcaResult fit = pca(x_ref, options.pca_dims, threads);
        reduced_new = pca_project(fit, x_new, threads);
        reduced_ref = std::move(fit.projected);
        x_ref = reduced_ref.view();
        x_new = reduced_new.view();
        progress.done("pca", clock.seconds(),
                      concat(options.pca_dims, " dimensions, fitted on the reference"));
    }
    if (progress.verbose()) print_transform_settings(progress, c, options, x_ref.rows, x_ref.cols);
    options.pca_dims = 0;  // done

    Stopwatch clock;
    progress.start("neighbours");
    const TransformAffinities a = transform_affinities(x_ref, x_new, options, t);
    progress.done(
        "neighbours", clock.seconds(),
        concat(a.graph.k, " reference points per new point, perplexity ", resolve_perplexity(t, options)));
    clock = Stopwatch();
    Matrix y0 = transform_init(a, d.y_ref, options.seed, threads);
    progress.done("init", clock.seconds(), "weighted median of the neighbours");

    clock = Stopwatch();
    progress.start("optimise");
    const Observer observer = [&progress](const IterationReport& r) {
        progress.iteration(r);
        return true;
    };
    Matrix y =
        transform_optimize(a, d.y_ref, std::move(y0), options, t, progress.quiet() ? Observer() : observer);
    progress.end_line();
    progress.done("optimise", clock.seconds(), concat(t.iterations, " iterations"));
    return y;
}

/// Rows of a on top of rows of b (the same column count).
Matrix stack_rows(ConstMatrixView a, ConstMatrixView b) {
    Matrix out(a.rows + b.rows, a.cols);
    std::copy(a.data, a.data + a.size(), out.data());
    std::copy(b.data, b.data + b.size(), out.data() + a.size());
    return out;
}

/// --html: the reference points light under the new ones; classes by --labels and --new-labels when both
/// are given, else "reference" and "new"; thumbnails when the rows are square images.
void stage_transform_view(const TransformConfig& c, const TransformData& d, const Matrix& y,
                          OutputBatch& outputs, Progress& progress) {
    const Matrix all = stack_rows(d.y_ref.view(), y.view());
    io::Labels labels;
    if (!d.labels.codes.empty() && !d.new_labels.codes.empty()) {
        labels.names = d.labels.names;
        labels.codes = d.labels.codes;
        labels.codes.insert(labels.codes.end(), d.new_labels.codes.begin(), d.new_labels.codes.end());
    } else {
        labels.names = {"reference", "new"};
        labels.codes.assign(static_cast<std::size_t>(all.rows()), 0);
        std::fill(labels.codes.begin() + static_cast<std::ptrdiff_t>(d.y_ref.rows()), labels.codes.end(), 1);
    }
    std::optional<ViewThumbnails> thumbnails;
    if (square_image_side(d.x_ref.cols()) > 0)
        thumbnails = view_thumbnails(stack_rows(d.x_ref.view(), d.x_new.view()), Thumbnails::automatic, "");
    ViewData view;
    view.y = all;
    view.labels = &labels;
    view.thumbnails = thumbnails ? &*thumbnails : nullptr;
    view.faded = d.y_ref.rows();
    view.title = concat(file_name(c.inputs[0]), ": ", y.rows(), " new points over ",
                        file_name(c.reference_embedding), " (", d.y_ref.rows(), " points, light)");
    stage_view(outputs, c.html_path, view, progress);
}

/// The picture and the embedding under temporary names, then both renamed into place, -o last
/// (OutputBatch): a failure or a signal while writing replaces neither. -o - goes to stdout after the
/// picture is staged.
int write_transform_outputs(const TransformConfig& c, const TransformData& d, const Matrix& y,
                            Progress& progress) {
    g_phase.store(writing);
    OutputBatch outputs;
    if (!c.plot_path.empty()) {
        Stopwatch clock;
        progress.start("plot");
        PlotOptions plot;
        plot.title = concat(file_name(c.inputs[0]),
                            c.inputs.size() > 1 ? concat(" + ", c.inputs.size() - 1, " more") : "", ": ",
                            y.rows(), " new points over ", file_name(c.reference_embedding), " (",
                            d.y_ref.rows(), " points, faded)");
        plot.background = d.y_ref.view();
        plot.background_labels = d.labels.codes.empty() ? nullptr : &d.labels;
        outputs.write(c.plot_path, [&](const std::string& temp) {
            plot_embedding(temp, y, d.new_labels.codes.empty() ? nullptr : &d.new_labels, plot);
        });
        progress.done("plot", clock.seconds(), c.plot_path);
    }
    if (g_cancel.load()) return report_interrupted_while_writing(progress);
    if (!c.html_path.empty()) stage_transform_view(c, d, y, outputs, progress);
    if (g_cancel.load()) return report_interrupted_while_writing(progress);
    Stopwatch clock;
    progress.start("write");
    if (c.output == "-") {
        io::write_matrix(c.output, y);
    } else {
        outputs.write(c.output, [&](const std::string& temp) { io::write_matrix(temp, y); });
    }
    outputs.commit();
    progress.done("write", clock.seconds(),
                  concat(c.output == "-" ? "stdout" : c.output, " (", y.rows(), " x ", y.cols(), ")"));
    return 0;
}

/// Every file-valued option of transform, for check_distinct_files.
std::vector<NamedFile> transform_files(const TransformConfig& c) {
    std::vector<NamedFile> files = {{"the reference input", c.reference_input},
                                    {"the reference embedding", c.reference_embedding}};
    for (const auto& path : c.inputs) files.push_back({"the new input", path});
    files.push_back({"--labels", c.label_path});
    for (const auto& path : c.new_label_paths) files.push_back({"--new-labels", path});
    files.push_back({"-o", c.output, FileRole::output});
    files.push_back({"--plot", c.plot_path, FileRole::output});
    files.push_back({"--html", c.html_path, FileRole::output});
    return files;
}

}  // namespace

int run_transform(const TransformConfig& c) {
    Progress progress(c.verbosity, ::isatty(STDERR_FILENO) == 1);
    SignalScope signals;  // nothing is written before the end: a signal ends the process at once
    check_distinct_files(transform_files(c));
    note_thread_limit(progress, c.options.threads);
    if (c.output != "-") io::check_writable(c.output);
    if (!c.plot_path.empty()) io::check_writable(c.plot_path, false);
    if (!c.html_path.empty()) io::check_writable(c.html_path, false);

    const TransformData d = read_transform_inputs(c, progress);
    Options options = c.options;
    if (progress.terminal() && !c.log_every_given && options.report_every > 10) options.report_every = 10;
    validate_transform(d.x_ref, d.y_ref, d.x_new, options, c.transform);
    const MemoryEstimate memory = transform_memory(c, d, options);
    if (progress.verbose()) print_command_memory(progress, memory);
    require_command_memory(memory, c.memory_limit_gib, "transform",
                           "transform fewer new points at a time, or use --pca or a smaller --perplexity");

    const Matrix y = transform_stages(c, d, options, progress);
    if (!d.labels.codes.empty() && !d.new_labels.codes.empty())
        progress.line(concat("accuracy: ", format_value(new_point_accuracy(d, y, options.threads)), " (",
                             accuracy_k, "-NN: the share of new points whose ", accuracy_k,
                             " nearest reference points vote for the point's own label)"));
    return write_transform_outputs(c, d, y, progress);
}

}  // namespace treesne::cli
