// `treesne evaluate`: reads the data, the embedding and the labels, hands them to the library's
// evaluate() (eval/evaluate.hpp, which holds every check, the sampling and the measures) and prints its
// report as aligned text or one JSON object. Progress lines and the memory refusal keep the CLI's words.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>

#include "cli.hpp"
#include "run_common.hpp"
#include "treesne/eval/evaluate.hpp"
#include "treesne/io/io.hpp"

namespace treesne::cli {
namespace {

/// The data, the embedding to judge and its labels, read and checked against each other (the checks
/// that name the files; evaluate() makes the rest).
struct EvaluateInputs {
    Matrix x, y;
    io::Labels labels;
};

EvaluateInputs read_evaluate_inputs(const EvaluateConfig& e, Progress& progress) {
    EvaluateInputs in;
    Stopwatch read_time;
    progress.start("read");
    in.x = read_stacked(e.inputs);
    require_points(e.inputs, in.x.rows());
    in.y = io::read_matrix(e.embedding);
    progress.done("read", read_time.seconds(),
                  concat(in.x.rows(), " x ", in.x.cols(), describe_inputs(e.inputs), ", embedding ",
                         in.y.rows(), " x ", in.y.cols()));
    if (in.y.rows() != in.x.rows())
        throw InvalidArgument(
            concat(e.embedding, ": ", in.y.rows(), " rows, but the input has ", in.x.rows(), " points"));
    if (in.y.cols() < 1 || in.y.cols() > 3)
        throw InvalidArgument(concat(e.embedding, ": ", in.y.cols(), " columns; an embedding has 1, 2 or 3"));
    require_finite(in.y, "embedding");
    if (!e.label_paths.empty()) in.labels = read_labels_checked(e.label_paths, in.x.rows());
    return in;
}

/// The library's options for this command line. The memory limit is checked by the `memory` hook
/// (evaluate_callbacks), in the CLI's words, so the library's own check is off.
EvaluateOptions evaluate_options(const EvaluateConfig& e) {
    EvaluateOptions o;
    o.perplexity = e.perplexity;
    o.dof = e.dof;
    o.metric = e.metric;
    o.pca_dims = e.pca_dims;
    o.k = e.k;
    o.sample = e.sample;
    o.trust_queries = e.trust_queries;
    o.seed = e.seed;
    o.threads = e.threads;
    o.memory_limit_bytes = std::numeric_limits<double>::infinity();
    return o;
}

/// Progress lines of evaluate()'s stages ("neighbours: 90 per point in 0.04 s"), the --sample line, and
/// the memory estimate (--verbose) and refusal (--memory-limit).
EvaluateCallbacks evaluate_callbacks(const EvaluateConfig& e, index_t input_dims, Progress& progress) {
    EvaluateCallbacks callbacks;
    callbacks.stage_start = [&progress](const std::string& stage) {
        if (stage != "sample") progress.start(stage);
    };
    callbacks.stage_done = [&e, &progress, input_dims](const std::string& stage, double seconds,
                                                       const EvaluationReport& so_far) {
        if (stage == "sample")
            progress.line(concat("sample: ", so_far.points, " of ", so_far.input_points, " points (seed ",
                                 e.seed, ")"));
        else
            progress.done(stage, seconds,
                          stage == "pca"          ? concat(input_dims, " -> ", e.pca_dims, " dimensions")
                          : stage == "neighbours" ? concat(so_far.affinity_neighbors, " per point")
                          : stage == "affinities" ? concat("perplexity ", e.perplexity)
                          : stage == "kl"         ? std::string("exact, all pairs")
                                                  : concat("k = ", e.k));
    };
    callbacks.memory = [&e, &progress](const MemoryEstimate& memory) {
        if (progress.verbose()) print_command_memory(progress, memory);
        require_command_memory(memory, e.memory_limit_gib, "evaluate",
                               "use --sample M to evaluate M random points, or --pca");
    };
    return callbacks;
}

/// evaluate()'s messages name its options as EvaluateOptions (and Python) spell them: "sample=M", "k 5";
/// the command line's are --sample and --k.
std::string cli_spelling(std::string message) {
    const std::string sample = "(use sample=M, M <= ";
    if (const auto at = message.find(sample); at != std::string::npos)
        message.replace(at, sample.size(), "(use --sample M, M <= ");
    if (message.rfind("k ", 0) == 0 && message.find("(trustworthiness needs k < N/2)") != std::string::npos)
        message.insert(0, "--");
    return message;
}

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.10g", v);
    return buffer;
}

void print_json(const EvaluateConfig& e, const EvaluationReport& v, std::ostream& out) {
    out << "{\"input_points\": " << v.input_points << ", \"points\": " << v.points
        << ", \"sampled\": " << (v.sampled ? "true" : "false")
        << ", \"perplexity\": " << json_number(e.perplexity) << ", \"dof\": " << json_number(e.dof)
        << ", \"metric\": \"" << to_string(e.metric) << "\""
        << ", \"k\": " << e.k << ", \"kl_divergence\": " << json_number(*v.kl_divergence)
        << ", \"knn_preservation\": " << json_number(*v.knn_preservation)
        << ", \"trustworthiness\": " << json_number(*v.trustworthiness)
        << ", \"trustworthiness_queries\": " << v.trustworthiness_queries;
    if (v.knn_accuracy) out << ", \"knn_accuracy\": " << json_number(*v.knn_accuracy);
    out << "}\n";
}

void print_text(const EvaluateConfig& e, const EvaluationReport& v, std::ostream& out) {
    std::vector<std::pair<std::string, std::string>> rows;
    rows.emplace_back(
        "points", v.sampled ? concat(v.points, " (random sample of ", v.input_points, ", seed ", e.seed, ")")
                            : concat(v.points));
    rows.emplace_back("KL divergence",
                      concat(format_value(*v.kl_divergence), " (exact, perplexity ", e.perplexity,
                             e.dof != 1 ? concat(", dof ", e.dof) : "",
                             e.metric != Metric::euclidean ? concat(", ", to_string(e.metric)) : "", ")"));
    rows.emplace_back(concat(e.k, "-NN preservation"), format_value(*v.knn_preservation));
    rows.emplace_back("trustworthiness", concat(format_value(*v.trustworthiness), " (k = ", e.k,
                                                v.trustworthiness_queries < v.points
                                                    ? concat(", ", v.trustworthiness_queries, " of ",
                                                             v.points, " points sampled")
                                                    : std::string(", all points"),
                                                ")"));
    if (v.knn_accuracy) rows.emplace_back(concat(e.k, "-NN accuracy"), format_value(*v.knn_accuracy));
    std::size_t width = 0;
    for (const auto& row : rows) width = std::max(width, row.first.size());
    for (const auto& row : rows)
        out << row.first << ':' << std::string(width + 2 - row.first.size(), ' ') << row.second << '\n';
}

}  // namespace

int run_evaluate(const CliConfig& config, std::ostream& out) {
    const EvaluateConfig& e = config.evaluate;
    Progress progress(config.verbosity, ::isatty(STDERR_FILENO) == 1);
    SignalScope signals;
    std::vector<NamedFile> files;  // evaluate writes no file, but checks like every command
    for (const auto& path : e.inputs) files.push_back({"the input", path});
    files.push_back({"the embedding", e.embedding});
    for (const auto& path : e.label_paths) files.push_back({"--labels", path});
    check_distinct_files(files);
    note_thread_limit(progress, e.threads);

    const EvaluateInputs in = read_evaluate_inputs(e, progress);
    EvaluationReport report;
    try {
        report = evaluate(in.x, in.y, in.labels.codes.empty() ? nullptr : &in.labels.codes,
                          evaluate_options(e), evaluate_callbacks(e, in.x.cols(), progress));
    } catch (const InvalidArgument& error) {
        throw InvalidArgument(cli_spelling(error.what()));
    }
    progress.end_line();
    if (e.json)
        print_json(e, report, out);
    else
        print_text(e, report, out);
    out.flush();
    return 0;
}

}  // namespace treesne::cli
