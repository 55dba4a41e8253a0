#include "treesne/eval/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "treesne/affinities/affinities.hpp"
#include "treesne/api/embed.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/scale.hpp"
#include "treesne/eval/metrics.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/knn/pca.hpp"
#include "treesne/tree/exact.hpp"

namespace treesne {
namespace {

/// The options embed() would run with for this evaluation: its checks (validate) and its P.
Options embed_options(const EvaluateOptions& e) {
    Options options;
    options.affinities.perplexity = e.perplexity;
    options.init = InitKind::random;  // no PCA start: pca_dims below is the input's reduction only
    options.pca_dims = e.pca_dims;
    options.threads = e.threads;
    options.optimizer.dof = e.dof;  // the kernel of the KL
    options.neighbors.metric = e.metric;
    return options;
}

/// The rows evaluate() works on: views of the caller's data, or of the copies the sample, the rescaling
/// and the PCA made.
struct Rows {
    ConstMatrixView x, y;
    const std::vector<int>* labels = nullptr;
    Matrix x_storage, y_storage;
    std::vector<int> label_storage;
};

/// Times a stage and calls the hooks around it.
class Stage {
  public:
    Stage(const EvaluateCallbacks& callbacks, const char* name) : callbacks_(callbacks), name_(name) {
        if (callbacks_.stage_start) callbacks_.stage_start(name_);
    }
    void done(const EvaluationReport& so_far) const {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        if (callbacks_.stage_done) callbacks_.stage_done(name_, seconds, so_far);
    }

  private:
    const EvaluateCallbacks& callbacks_;
    std::string name_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

bool wants_neighbourhoods(const EvaluateMetrics& m, bool has_labels) {
    return m.knn_preservation || m.trustworthiness || (m.knn_accuracy && has_labels);
}

void check_inputs(ConstMatrixView x, ConstMatrixView y, const std::vector<int>* labels,
                  const EvaluateOptions& options) {
    require(y.rows == x.rows, "Y has ", y.rows, " rows, but X has ", x.rows, " points");
    require(y.cols >= 1 && y.cols <= 3, "Y: ", y.cols, " columns; an embedding has 1, 2 or 3");
    require_finite(x, "X");
    require_finite(y, "embedding");
    require(labels == nullptr || static_cast<index_t>(labels->size()) == x.rows,
            "labels: ", labels ? labels->size() : 0, " labels for ", x.rows, " points");
    require(options.sample >= 0, "sample must be >= 0 (0 = all points); got ", options.sample);
    if (x.rows > evaluate_max_points && (options.sample == 0 || options.sample > evaluate_max_points))
        throw InvalidArgument(
            concat("evaluate computes the exact KL divergence in O(N^2) time and refuses more than ",
                   evaluate_max_points, " points; got ", x.rows, " (use sample=M, M <= ", evaluate_max_points,
                   ", to evaluate M random points)"));
}

/// Keeps options.sample seeded random rows of x, y and the labels.
void sample_rows(Rows& rows, const EvaluateOptions& options, EvaluationReport& report) {
    const std::vector<index_t> kept = seeded_sample(rows.x.rows, options.sample, options.seed);
    const index_t n = static_cast<index_t>(kept.size());
    rows.x_storage = Matrix(n, rows.x.cols);
    rows.y_storage = Matrix(n, rows.y.cols);
    for (index_t i = 0; i < n; ++i) {
        const index_t r = kept[static_cast<std::size_t>(i)];
        std::copy(rows.x.row(r), rows.x.row(r) + rows.x.cols, rows.x_storage.row(i));
        std::copy(rows.y.row(r), rows.y.row(r) + rows.y.cols, rows.y_storage.row(i));
        if (rows.labels) rows.label_storage.push_back((*rows.labels)[static_cast<std::size_t>(r)]);
    }
    rows.x = rows.x_storage.view();
    rows.y = rows.y_storage.view();
    if (rows.labels) rows.labels = &rows.label_storage;
    report.points = n;
    report.sampled = true;
    report.notes.push_back(
        concat("sample: ", n, " of ", report.input_points, " points (seed ", options.seed, ")"));
}

/// The checks at the evaluated N: embed()'s for these options, and the neighbourhoods' k.
void check_evaluated(index_t n, index_t d, bool has_labels, const EvaluateOptions& options) {
    validate(embed_options(options), n, d);
    const EvaluateMetrics& m = options.metrics;
    if (!wants_neighbourhoods(m, has_labels)) return;
    require(options.k >= 1, "k must be >= 1; got ", options.k);
    // Trustworthiness ranks k neighbours against the rest: it needs 2k < N, more than the k < N of the
    // neighbourhoods themselves.
    if (m.trustworthiness)
        require(2 * options.k < n, "k ", options.k, " needs more than ", 2 * options.k,
                " points (trustworthiness needs k < N/2); got ", n);
    else
        require(options.k < n, "k ", options.k, " needs more than ", options.k, " points; got ", n);
}

void check_memory(const MemoryEstimate& estimate, const EvaluateOptions& options) {
    std::optional<double> available = options.memory_limit_bytes;
    if (!available) available = available_memory();
    // The input is already in memory, so only the rest has to fit in what is left.
    if (!available || std::isinf(*available) || !(estimate.peak - estimate.input > *available)) return;
    throw NumericalError(
        concat("evaluate needs about ", estimate.describe(), " but ", format_bytes(std::max(0.0, *available)),
               options.memory_limit_bytes ? " is allowed (memory_limit_bytes)" : " is available",
               " besides the input already loaded; evaluate a sample (sample=M) or reduce the "
               "input by PCA first (pca_dims)"));
}

/// x as embed() sees it: rescaled by a power of two when its magnitude is extreme (the same neighbours
/// and P as embed's; unscaled, the squared distances and the PCA overflow), then reduced.
void prepare_input(Rows& rows, const EvaluateOptions& options, const EvaluateCallbacks& callbacks,
                   EvaluationReport& report) {
    if (const int exponent = extreme_exponent(rows.x)) {
        rows.x_storage = scaled_by_power_of_two(rows.x, exponent);
        rows.x = rows.x_storage.view();
        report.notes.push_back(concat("input rescaled by 2^", -exponent,
                                      " (its magnitude is extreme; ranks and P "
                                      "are unchanged)"));
    }
    if (options.pca_dims > 0) {
        const Stage stage(callbacks, "pca");
        const index_t d = rows.x.cols;
        rows.x_storage = treesne::pca(rows.x, options.pca_dims, options.threads).projected;
        rows.x = rows.x_storage.view();
        report.notes.push_back(concat("pca: ", d, " -> ", options.pca_dims, " dimensions"));
        stage.done(report);
    }
}

/// Exact KL of the embedding against the P that embed() computes for these options (kNN graph, Q over
/// all pairs).
void measure_kl(const Rows& rows, const EvaluateOptions& e, const EvaluateCallbacks& callbacks,
                EvaluationReport& report) {
    const Options options = embed_options(e);
    report.affinity_neighbors = neighbor_count(e.perplexity, rows.x.rows);
    Stage knn(callbacks, "neighbours");
    NeighborGraph graph =
        nearest_neighbors(rows.x, report.affinity_neighbors, options.neighbors, options.threads);
    knn.done(report);
    const Stage affinities(callbacks, "affinities");
    const Affinities p = compute_affinities(std::move(graph), options.affinities, options.threads);
    affinities.done(report);
    const Stage kl(callbacks, "kl");
    report.kl_divergence = exact_tsne_kl_sparse(p, rows.y, options.threads, options.optimizer.dof);
    kl.done(report);
}

/// k-NN preservation, trustworthiness and, with labels, the k-NN accuracy.
void measure_neighbourhoods(const Rows& rows, const EvaluateOptions& e, const EvaluateCallbacks& callbacks,
                            EvaluationReport& report) {
    const Stage stage(callbacks, "measures");
    const index_t n = rows.x.rows;
    if (e.metrics.knn_preservation)
        report.knn_preservation = knn_preservation(rows.x, rows.y, e.k, e.threads, e.metric);
    if (e.metrics.trustworthiness) {
        report.trustworthiness_queries = (e.trust_queries <= 0 || e.trust_queries >= n) ? n : e.trust_queries;
        report.trustworthiness = trustworthiness(rows.x, rows.y, e.k, e.threads, e.trust_queries, e.metric);
        if (report.trustworthiness_queries < n)
            report.notes.push_back(concat("trustworthiness: ", report.trustworthiness_queries, " of ", n,
                                          " points (evenly spaced queries)"));
    }
    if (e.metrics.knn_accuracy && rows.labels)
        report.knn_accuracy = knn_accuracy(rows.y, *rows.labels, e.k, e.threads);
    stage.done(report);
}

}  // namespace

EvaluationReport evaluate(ConstMatrixView x, ConstMatrixView y, const std::vector<int>* labels,
                          const EvaluateOptions& options, const EvaluateCallbacks& callbacks) {
    check_inputs(x, y, labels, options);
    EvaluationReport report;
    report.input_points = x.rows;
    Rows rows{x, y, labels, {}, {}, {}};
    if (options.sample > 0 && options.sample < x.rows) {
        const Stage stage(callbacks, "sample");
        sample_rows(rows, options, report);
        stage.done(report);
    }
    report.points = rows.x.rows;
    check_evaluated(report.points, rows.x.cols, rows.labels != nullptr, options);
    const MemoryEstimate memory = estimate_evaluate_memory(report.points, rows.x.cols, rows.y.cols, options);
    if (callbacks.memory) callbacks.memory(memory);
    check_memory(memory, options);
    prepare_input(rows, options, callbacks, report);
    if (options.metrics.kl_divergence) measure_kl(rows, options, callbacks, report);
    if (wants_neighbourhoods(options.metrics, rows.labels != nullptr))
        measure_neighbourhoods(rows, options, callbacks, report);
    return report;
}

MemoryEstimate estimate_evaluate_memory(index_t n, index_t d, index_t dims, const EvaluateOptions& e) {
    const Options options = embed_options(e);
    const MemoryEstimate base = estimate_memory(n, d, options);
    const double rows = static_cast<double>(n);
    const double embedding = 8 * rows * static_cast<double>(dims);
    const double loaded = 8 * rows * static_cast<double>(d) + embedding;
    const bool reduce = options.pca_dims > 0 && options.pca_dims < d;
    const double data = 8 * rows * static_cast<double>(reduce ? options.pca_dims : d);
    // knn_preservation and trustworthiness hold the input's and the embedding's k-NN graphs.
    const double measured = 2 * rows * static_cast<double>(std::min<index_t>(e.k, n)) * 12;
    std::vector<MemoryStage> stages;
    if (reduce) stages.push_back(memory_stage("pca", {{"input", loaded}, {"PCA", base.pca}}));
    stages.push_back(memory_stage("neighbours", {{"input", data},
                                                 {"embedding", embedding},
                                                 {"kNN graph", base.neighbors},
                                                 {"search buffers", base.neighbor_search}}));
    stages.push_back(memory_stage("affinities", {{"input", data},
                                                 {"embedding", embedding},
                                                 {"kNN graph", base.neighbors},
                                                 {"P workspace", base.affinity_workspace}}));
    stages.push_back(memory_stage("affinities", {{"input", data}, {"embedding", embedding}, {"P", base.affinities}}));
    stages.push_back(memory_stage("measures", {{"input", data},
                                               {"embedding", embedding},
                                               {"k-NN graphs", measured},
                                               {"search buffers", base.neighbor_search}}));
    return memory_estimate(loaded, std::move(stages));
}

}  // namespace treesne
