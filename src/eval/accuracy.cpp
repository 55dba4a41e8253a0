// measure_accuracy(): Barnes-Hut against the exact oracle, and the report as text, JSON and CSV.
//
// The exact gradient is assembled as the optimiser assembles the Barnes-Hut one, 4 (alpha F_attr -
// F_rep / Z), with the attraction over the sparse P (exact in both) and the repulsion and Z summed over
// all pairs by exact_repulsion_rows: O(N^2) time and O(N) memory, so no N x N matrix is formed for the
// gradient section. Only the optional runs section needs one (the exact method's dense P).
#include "treesne/eval/accuracy.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/permutation.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/optimize/optimizer.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/scale.hpp"
#include "treesne/tree/space_tree.hpp"
#include "treesne/api/embed.hpp"
#include "treesne/tree/exact.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/knn/pca.hpp"
#include "treesne/eval/metrics.hpp"
#include "treesne/optimize/init.hpp"

namespace treesne {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using Progress = std::function<void(const std::string& stage, double fraction)>;

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Median wall seconds of fn over 1 to a.timing_calls calls, stopping once they took a.timing_seconds.
double median_seconds(const std::function<void()>& fn, const AccuracyOptions& a) {
    std::vector<double> times;
    double total = 0;
    while (times.empty() || (static_cast<int>(times.size()) < a.timing_calls && total < a.timing_seconds)) {
        const auto start = std::chrono::steady_clock::now();
        fn();
        times.push_back(seconds_since(start));
        total += times.back();
    }
    std::sort(times.begin(), times.end());
    const std::size_t m = times.size() / 2;
    return times.size() % 2 == 1 ? times[m] : 0.5 * (times[m - 1] + times[m]);
}

/// ||a - b|| / ||b|| over all entries (a, b the same shape), added in index order; 0 when both are 0.
double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
    double diff2 = 0, ref2 = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
        diff2 += (a[i] - b[i]) * (a[i] - b[i]);
        ref2 += b[i] * b[i];
    }
    if (ref2 == 0) return diff2 == 0 ? 0.0 : std::numeric_limits<double>::infinity();
    return std::sqrt(diff2 / ref2);
}

void check_options(const AccuracyOptions& a) {
    require(!a.thetas.empty(), "accuracy: no theta to measure (give at least one)");
    for (double theta : a.thetas)
        require(std::isfinite(theta) && theta >= 0, "accuracy: every theta must be >= 0; got ", theta);
    require(a.sample >= 0, "accuracy: the sample size must be >= 0 (0 = all points); got ", a.sample);
    require(a.k >= 1, "accuracy: k must be >= 1; got ", a.k);
    require(a.timing_calls >= 1, "accuracy: timing_calls must be >= 1; got ", a.timing_calls);
    require(std::isfinite(a.timing_seconds) && a.timing_seconds >= 0,
            "accuracy: timing_seconds must be >= 0; got ", a.timing_seconds);
}

/// Refuses a study whose exact parts would not end in reasonable time (or fit, with runs).
void check_size(index_t input_points, index_t studied, const AccuracyOptions& a) {
    const index_t limit = a.runs ? accuracy_max_points_runs : accuracy_max_points;
    if (studied <= limit) return;
    throw InvalidArgument(
        concat("accuracy compares with the exact O(N^2) method and refuses more than ", limit, " points",
               a.runs ? " with runs (the exact t-SNE run needs N^2 doubles)" : "", "; got N = ", studied,
               studied < input_points ? concat(" (a sample of ", input_points, ")") : std::string(),
               " (use --sample M, M <= ", limit, ", to study M random points)"));
}

/// Reports stage progress from 0 to 1 over `total` steps.
class StageProgress {
  public:
    StageProgress(const Progress& progress, std::string stage, double total)
        : progress_(progress), stage_(std::move(stage)), total_(total) {
        if (progress_) progress_(stage_, 0.0);
    }
    void step(double done) {
        if (progress_ && total_ > 0) progress_(stage_, std::min(done / total_, 1.0 - 1e-9));
    }
    void done() {
        if (progress_) progress_(stage_, 1.0);
    }

  private:
    const Progress& progress_;
    std::string stage_;
    double total_;
};

// --- the gradient section ------------------------------------------------------------------------

struct Embedding {
    const char* name;
    Matrix y;
    double exaggeration;
};

/// Errors and times of the Barnes-Hut gradient at every theta and summary, at one embedding.
template <int Dim>
void measure_gradients(const Embedding& e, const Affinities& unpacked, const AccuracyOptions& a, double dof,
                       int threads, std::vector<GradientAccuracy>& out, const std::function<void()>& step) {
    const PackedAffinities p = pack(unpacked, threads);  // as a Session holds it: the times are a run's
    const index_t n = e.y.rows();
    const ConstMatrixView y = e.y.view();
    const double alpha = e.exaggeration;
    Matrix attraction(n, Dim), exact_repulsion(n, Dim), exact_gradient(n, Dim);
    std::vector<index_t> all(static_cast<std::size_t>(n));
    std::iota(all.begin(), all.end(), index_t{0});
    std::vector<double> row_z(static_cast<std::size_t>(n));
    double z_exact = 0;
    const double exact_seconds = median_seconds(
        [&] {
            attractive_forces(p, y, attraction.view(), threads, dof);
            exact_repulsion_rows(y, all, exact_repulsion.view(), row_z.data(), threads, dof);
            z_exact = 0;
            for (double z : row_z) z_exact += z;  // rows in index order: the same for any thread count
            const auto& fa = attraction.storage();
            const auto& fr = exact_repulsion.storage();
            auto& g = exact_gradient.storage();
            for (std::size_t i = 0; i < g.size(); ++i) g[i] = 4.0 * (alpha * fa[i] - fr[i] / z_exact);
        },
        a);
    step();
    std::vector<double> exact_normalised(exact_repulsion.storage());
    for (double& v : exact_normalised) v /= z_exact;

    SpaceTree<Dim> tree;
    tree.set_dof(dof);
    Matrix gradient(n, Dim), repulsion(n, Dim);
    std::vector<double> normalised(static_cast<std::size_t>(n * Dim));
    for (double theta : a.thetas) {
        for (bool quadrupole : {true, false}) {
            if (!quadrupole && !a.monopole) continue;
            tree.set_quadrupole(quadrupole);
            double z = 0;
            const double seconds = median_seconds(
                [&] { z = barnes_hut_gradient<Dim>(p, y, tree, theta, alpha, gradient.view(), threads); }, a);
            // The tree is built over y: its repulsion alone, for the error of the normalised forces.
            const double z_repulsion = tree.repulsion(theta, repulsion.view(), threads);
            for (std::size_t i = 0; i < normalised.size(); ++i)
                normalised[i] = repulsion.storage()[i] / z_repulsion;
            GradientAccuracy r;
            r.embedding = e.name;
            r.exaggeration = alpha;
            r.theta = theta;
            r.quadrupole = quadrupole;
            r.gradient_error = relative_error(gradient.storage(), exact_gradient.storage());
            r.repulsion_error = relative_error(normalised, exact_normalised);
            r.z_error = std::abs(z - z_exact) / z_exact;
            r.seconds = seconds;
            r.exact_seconds = exact_seconds;
            out.push_back(r);
            step();
        }
    }
}

void measure_gradients(const Embedding& e, const Affinities& p, const AccuracyOptions& a, double dof,
                       int threads, std::vector<GradientAccuracy>& out, const std::function<void()>& step) {
    switch (e.y.cols()) {
        case 1:
            return measure_gradients<1>(e, p, a, dof, threads, out, step);
        case 2:
            return measure_gradients<2>(e, p, a, dof, threads, out, step);
        case 3:
            return measure_gradients<3>(e, p, a, dof, threads, out, step);
        default:
            throw InvalidArgument(concat("accuracy: dims must be 1, 2 or 3; got ", e.y.cols()));
    }
}

/// The three embeddings of one Barnes-Hut run over P (relabelled order): the initialisation, after
/// early exaggeration and the final one.
std::vector<Embedding> reference_embeddings(const Affinities& p, Matrix y0, const Options& o,
                                            const Progress& progress) {
    const OptimizerOptions& opt = o.optimizer;
    const index_t total = opt.iterations;
    const index_t ee_end = std::min(opt.exaggeration_iterations, total);
    // Each embedding's gradient is taken with the exaggeration of the step that would follow it.
    std::vector<Embedding> out;
    out.push_back({"initial", y0, exaggeration_at(opt, 0)});
    StageProgress stage(progress, "optimise", static_cast<double>(total));
    Observer observer;
    if (progress)
        observer = [&stage](const IterationReport& r) {
            stage.step(static_cast<double>(r.iteration));
            return true;
        };
    Session session(p, std::move(y0), o);
    session.run(ee_end, observer);
    out.push_back({"after_ee", session.embedding(), exaggeration_at(opt, session.iteration())});
    session.run(total, observer);
    out.push_back({"final", session.embedding(), exaggeration_at(opt, session.iteration())});
    stage.done();
    return out;
}

// --- the runs section ----------------------------------------------------------------------------

std::string theta_text(double theta) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", theta);
    return buffer;
}

/// One full embed() of data with o, its progress reported as stage `stage`.
Result full_run(ConstMatrixView data, const Options& o, const std::string& stage_name,
                const Progress& progress) {
    StageProgress stage(progress, stage_name, static_cast<double>(o.optimizer.iterations));
    Callbacks callbacks;
    if (progress)
        callbacks.observer = [&stage](const IterationReport& r) {
            stage.step(static_cast<double>(r.iteration));
            return true;
        };
    Result r = embed(data, o, callbacks);
    stage.done();
    return r;
}

/// The runs: one per theta and one exact_tsne, judged against the sparse P (relabelled by `order`) and
/// the dense P of all pairs.
std::vector<RunAccuracy> measure_runs(ConstMatrixView data, const Options& o, const AccuracyOptions& a,
                                      const std::vector<int>* labels, const Affinities& p,
                                      const std::vector<point_t>& order, const Progress& progress) {
    const int threads = o.threads;
    std::vector<RunAccuracy> runs;
    std::vector<Matrix> finals;
    auto judge = [&](RunAccuracy r, const Result& result) {
        r.kl_sparse = exact_tsne_kl_sparse(p, detail::gather_rows(result.y, order), threads, o.optimizer.dof);
        r.knn_preservation = knn_preservation(data, result.y, a.k, threads, o.neighbors.metric);
        r.knn_accuracy = labels ? knn_accuracy(result.y, *labels, a.k, threads) : kNaN;
        r.seconds = result.timings.total;
        runs.push_back(r);
        finals.push_back(result.y);
    };
    for (double theta : a.thetas) {
        Options b = o;
        b.optimizer.theta = theta;
        RunAccuracy r;
        r.theta = theta;
        judge(r, full_run(data, b, "run theta " + theta_text(theta), progress));
    }
    Options exact = o;
    exact.optimizer.method = Method::exact_tsne;
    RunAccuracy r;
    r.method = Method::exact_tsne;
    r.theta = kNaN;
    judge(r, full_run(data, exact, "run exact_tsne", progress));

    // The dense P only now, after the exact run has freed its own: one N x N matrix (two while built).
    StageProgress stage(progress, "dense KL", static_cast<double>(runs.size() + 1));
    const Matrix joint = dense_joint_probabilities(
        dense_conditional_probabilities(data, o.affinities, threads, o.neighbors), threads);
    stage.step(1);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        runs[i].kl_dense = exact_tsne_kl(joint, finals[i], threads, o.optimizer.dof);
        stage.step(static_cast<double>(i + 2));
    }
    stage.done();
    return runs;
}

// The options of every Barnes-Hut run here: on the reduced data, at a fixed theta.
Options study_options(const Options& options) {
    Options o = options;
    o.pca_dims = 0;
    o.optimizer.method = Method::barnes_hut;
    o.optimizer.theta_auto = false;
    o.report_every = std::max<index_t>(1, std::min<index_t>(10, o.optimizer.iterations));
    return o;
}

// The report's description of the study (its settings, no measurements yet).
AccuracyReport report_settings(const Options& o, const AccuracyOptions& a, index_t input_points, index_t n,
                               index_t input_dims, index_t data_dims, bool labels) {
    AccuracyReport report;
    report.input_points = input_points;
    report.points = n;
    report.input_dims = input_dims;
    report.data_dims = data_dims;
    report.dims = o.dims;
    report.perplexity = o.affinities.perplexity;
    report.dof = o.optimizer.dof;
    report.theta = o.optimizer.theta;
    report.iterations = o.optimizer.iterations;
    report.exaggeration_iterations = o.optimizer.exaggeration_iterations;
    report.seed = o.seed;
    report.threads = resolve_threads(o.threads);
    report.labels = labels;
    report.k = a.k;
    return report;
}

// P as embed() computes it, with the points relabelled so that neighbours lie near each other (the
// order embed() optimises in, so the timings are those of a real run); y0 receives the initial embedding,
// relabelled the same way, and order the relabelling. Errors are sums over all points, the same in any order.
Affinities study_affinities(ConstMatrixView data, const Options& o, const Progress& progress, Matrix& y0,
                            std::vector<point_t>& order) {
    const index_t n = data.rows;
    NeighborGraph graph;
    {
        StageProgress stage(progress, "neighbours", 1);
        std::function<void(double)> knn_progress;
        if (progress) knn_progress = [&stage](double f) { stage.step(f); };
        graph = nearest_neighbors(data, neighbor_count(o.affinities, n), o.neighbors, o.threads, knn_progress);
        stage.done();
    }
    y0 = initial_embedding(data, o);
    StageProgress stage(progress, "affinities", 1);
    order = locality_order(graph);
    relabel(graph, order);
    y0 = detail::gather_rows(y0, order);
    Affinities p = compute_affinities(std::move(graph), o.affinities, o.threads);
    stage.done();
    return p;
}

}  // namespace

AccuracyReport measure_accuracy(ConstMatrixView x, const Options& options, const AccuracyOptions& a,
                                const std::vector<int>* labels, const Progress& progress) {
    check_options(a);
    const index_t input_points = x.rows;
    require(!labels || static_cast<index_t>(labels->size()) == input_points,
            "accuracy: ", labels ? labels->size() : 0, " labels for ", input_points, " points");
    const bool sampled = a.sample > 0 && a.sample < input_points;
    const index_t n = sampled ? a.sample : input_points;
    check_size(input_points, n, a);
    require_finite(x);

    // The study's data: the sample, rescaled by a power of two when its magnitude is extreme, then its
    // PCA, as embed() would see it (unscaled, the squared distances and the PCA overflow).
    Matrix sample;
    std::vector<int> sample_labels;
    ConstMatrixView data = x;
    if (sampled) {
        const std::vector<index_t> rows = seeded_sample(input_points, a.sample, options.seed);
        sample = detail::gather_rows(x, rows);
        data = sample.view();
        if (labels)
            for (index_t r : rows) sample_labels.push_back((*labels)[static_cast<std::size_t>(r)]);
    } else if (labels) {
        sample_labels = *labels;
    }
    validate(options, n, x.cols);
    require_usable_init(options);
    const int threads = options.threads;
    const ComfortableScale scaled = comfortable_scale(data);
    data = scaled.view;
    Matrix reduced;
    if (options.pca_dims > 0 && options.pca_dims < x.cols) {
        StageProgress stage(progress, "pca", 1);
        reduced = pca(data, options.pca_dims, threads).projected;
        data = reduced.view();
        stage.done();
    }
    const Options o = study_options(options);
    AccuracyReport report = report_settings(o, a, input_points, n, x.cols, data.cols, labels != nullptr);
    if (a.runs)
        require(a.k < n, "accuracy: k = ", a.k, " neighbours need more than ", a.k, " points; got ", n);

    Matrix y0;
    std::vector<point_t> order;
    const Affinities p = study_affinities(data, o, progress, y0, order);
    const std::vector<Embedding> embeddings = reference_embeddings(p, std::move(y0), o, progress);
    {
        const double per_embedding = 1.0 + static_cast<double>(a.thetas.size()) * (a.monopole ? 2.0 : 1.0);
        StageProgress stage(progress, "gradients", per_embedding * static_cast<double>(embeddings.size()));
        double done = 0;
        for (const Embedding& e : embeddings)
            measure_gradients(e, p, a, o.optimizer.dof, threads, report.gradients,
                              [&] { stage.step(++done); });
        stage.done();
    }
    if (a.runs) report.runs = measure_runs(data, o, a, labels ? &sample_labels : nullptr, p, order, progress);
    return report;
}

// --- the report as text ----------------------------------------------------------------------------

namespace {

std::string format(const char* spec, double v) {
    if (std::isnan(v)) return "";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, spec, v);
    return buffer;
}

std::string json_number(double v) {
    return std::isfinite(v) ? format("%.9g", v) : std::string("null");
}

const char* scheme(const GradientAccuracy& g) {
    return g.quadrupole ? "quadrupole" : "monopole";
}

/// Rows of cells as columns padded to their widest cell, two spaces apart; text left, numbers right.
std::string align(const std::vector<std::vector<std::string>>& rows, std::size_t text_columns) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        width.resize(std::max(width.size(), row.size()));
        for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            const std::string pad(width[c] - row[c].size(), ' ');
            line += (c ? "  " : "") + (c < text_columns ? row[c] + pad : pad + row[c]);
        }
        out += line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
    }
    return out;
}

}  // namespace

std::string format_accuracy_table(const AccuracyReport& r) {
    std::ostringstream out;
    out << "Barnes-Hut against the exact gradient: " << r.points << " points"
        << (r.points < r.input_points ? concat(" (a sample of ", r.input_points, ")") : std::string()) << ", "
        << r.data_dims << "-D data, " << r.dims << "-D embedding, perplexity " << r.perplexity
        << (r.dof != 1 ? concat(", output kernel dof ", r.dof) : std::string())
        << "; embeddings from one run at theta " << r.theta << " (" << r.iterations << " iterations, "
        << r.threads << " threads)\n"
        << "errors relative to the exact values; times: median of one gradient, tree build included\n\n";
    std::vector<std::vector<std::string>> rows{
        {"embedding", "scheme", "alpha", "theta", "grad_err", "repul_err", "Z_err", "ms", "exact_ms"}};
    for (const auto& g : r.gradients)
        rows.push_back({g.embedding, scheme(g), format("%g", g.exaggeration), format("%g", g.theta),
                        format("%.3e", g.gradient_error), format("%.3e", g.repulsion_error),
                        format("%.3e", g.z_error), format("%.3f", 1e3 * g.seconds),
                        format("%.3f", 1e3 * g.exact_seconds)});
    out << align(rows, 2);
    if (r.runs.empty()) return out.str();
    out << "\nFull runs (" << r.iterations << " iterations): exact KL of the final embedding against the "
        << "kNN P and the dense P, " << r.k << "-NN preservation" << (r.labels ? " and accuracy" : "")
        << ", wall seconds\n\n";
    const std::string k = std::to_string(r.k);
    rows = {{"method", "theta", "KL_sparse", "KL_dense", k + "NN_pres", k + "NN_acc", "wall_s"}};
    for (const auto& run : r.runs)
        rows.push_back({to_string(run.method), std::isnan(run.theta) ? "-" : format("%g", run.theta),
                        format("%.5f", run.kl_sparse), format("%.5f", run.kl_dense),
                        format("%.4f", run.knn_preservation),
                        std::isnan(run.knn_accuracy) ? "-" : format("%.4f", run.knn_accuracy),
                        format("%.2f", run.seconds)});
    out << align(rows, 1);
    return out.str();
}

std::string format_accuracy_json(const AccuracyReport& r) {
    std::ostringstream o;
    o << "{\n  \"input_points\": " << r.input_points << ",\n  \"points\": " << r.points
      << ",\n  \"input_dims\": " << r.input_dims << ",\n  \"data_dims\": " << r.data_dims
      << ",\n  \"dims\": " << r.dims << ",\n  \"perplexity\": " << json_number(r.perplexity)
      << ",\n  \"dof\": " << json_number(r.dof) << ",\n  \"theta\": " << json_number(r.theta)
      << ",\n  \"iterations\": " << r.iterations
      << ",\n  \"exaggeration_iterations\": " << r.exaggeration_iterations << ",\n  \"seed\": " << r.seed
      << ",\n  \"threads\": " << r.threads << ",\n  \"k\": " << r.k
      << ",\n  \"labels\": " << (r.labels ? "true" : "false") << ",\n  \"gradient\": [";
    for (std::size_t i = 0; i < r.gradients.size(); ++i) {
        const auto& g = r.gradients[i];
        o << (i ? ",\n" : "\n") << "    {\"embedding\": \"" << g.embedding
          << "\", \"exaggeration\": " << json_number(g.exaggeration)
          << ", \"theta\": " << json_number(g.theta) << ", \"scheme\": \"" << scheme(g)
          << "\", \"grad_rel_error\": " << json_number(g.gradient_error)
          << ", \"repulsion_rel_error\": " << json_number(g.repulsion_error)
          << ", \"z_rel_error\": " << json_number(g.z_error)
          << ", \"seconds_per_gradient\": " << json_number(g.seconds)
          << ", \"exact_seconds_per_gradient\": " << json_number(g.exact_seconds) << "}";
    }
    o << "\n  ],\n  \"runs\": [";
    for (std::size_t i = 0; i < r.runs.size(); ++i) {
        const auto& run = r.runs[i];
        o << (i ? ",\n" : "\n") << "    {\"method\": \"" << to_string(run.method)
          << "\", \"theta\": " << json_number(run.theta) << ", \"kl_sparse\": " << json_number(run.kl_sparse)
          << ", \"kl_dense\": " << json_number(run.kl_dense)
          << ", \"knn_preservation\": " << json_number(run.knn_preservation)
          << ", \"knn_accuracy\": " << json_number(run.knn_accuracy)
          << ", \"wall_s\": " << json_number(run.seconds) << "}";
    }
    o << (r.runs.empty() ? "]\n}\n" : "\n  ]\n}\n");
    return o.str();
}

std::string format_accuracy_csv(const AccuracyReport& r) {
    std::string out =
        "kind,embedding,exaggeration,method,theta,scheme,grad_rel_error,repulsion_rel_error,z_rel_error,"
        "seconds_per_gradient,exact_seconds_per_gradient,kl_sparse,kl_dense,knn_preservation,knn_accuracy,"
        "wall_s\n";
    for (const auto& g : r.gradients)
        out += concat("gradient,", g.embedding, ",", format("%g", g.exaggeration), ",barnes_hut,",
                      format("%g", g.theta), ",", scheme(g), ",", format("%.6e", g.gradient_error), ",",
                      format("%.6e", g.repulsion_error), ",", format("%.6e", g.z_error), ",",
                      format("%.6g", g.seconds), ",", format("%.6g", g.exact_seconds), ",,,,,\n");
    for (const auto& run : r.runs) {
        const bool exact = run.method != Method::barnes_hut;
        out += concat("run,final,1,", to_string(run.method), ",",
                      exact ? std::string() : format("%g", run.theta), ",", exact ? "exact" : "quadrupole",
                      ",,,,,,", format("%.8g", run.kl_sparse), ",", format("%.8g", run.kl_dense), ",",
                      format("%.6g", run.knn_preservation), ",", format("%.6g", run.knn_accuracy), ",",
                      format("%.4f", run.seconds), "\n");
    }
    return out;
}

}  // namespace treesne
