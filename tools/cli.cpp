// Command-line parsing. Boost.Program_options finds the options and positional arguments; every value of
// the library's options is converted through the option table (cli_values.cpp), so each mistake gets one
// precise line, and only the rules about which options go together live here. Defaults are never stored in
// the parser: unset options leave a default-constructed Options untouched, and the help prints that same
// Options, so the two cannot disagree.
#include "cli_internal.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <type_traits>

#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"

namespace treesne::cli {
namespace detail {


bool looks_like_negative_number(const std::string& s) {
    return s.size() >= 2 && s[0] == '-' && (std::isdigit(static_cast<unsigned char>(s[1])) || s[1] == '.');
}

/// "--theta -1" would read "-1" as an option; join such pairs into "--theta=-1" so the range check, not
/// the tokenizer, answers.
std::vector<std::string> join_negative_values(const std::vector<std::string>& args,
                                              const po::options_description& desc) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
            break;
        }
        if (a.size() > 2 && a.compare(0, 2, "--") == 0 && a.find('=') == std::string::npos &&
            i + 1 < args.size() && looks_like_negative_number(args[i + 1])) {
            const po::option_description* o = desc.find_nothrow(a.substr(2), false);
            if (o && o->semantic()->max_tokens() > 0) {
                out.push_back(a + "=" + args[++i]);
                continue;
            }
        }
        out.push_back(a);
    }
    return out;
}

bool asks_for_help(const std::vector<std::string>& args) {
    for (const std::string& a : args) {
        if (a == "--") return false;
        if (a == "--help" || a == "-h") return true;
    }
    return false;
}

/// Parses a command's arguments; the positional ones are the values of `positional_name` ("input", or
/// for view, whose --input names the data rows, "embedding").
po::variables_map parse_command(const std::string& command, const std::vector<std::string>& raw,
                                const po::options_description& visible,
                                const char* positional_name = "input") {
    po::options_description all;
    all.add(visible);
    all.add_options()(positional_name, texts("INPUT"), "");
    po::positional_options_description positional;
    positional.add(positional_name, -1);
    const auto args = join_negative_values(raw, all);
    po::variables_map vm;
    try {
        const int style = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing;
        po::store(po::command_line_parser(args).options(all).positional(positional).style(style).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(concat(e.what(), " (see 'treesne ", command, " --help')"));
    }
    return vm;
}

Verbosity parse_verbosity(const po::variables_map& vm) {
    const bool quiet = flag(vm, "quiet"), verbose = flag(vm, "verbose");
    if (quiet && verbose) throw UsageError("--quiet and --verbose exclude each other");
    return quiet ? Verbosity::quiet : verbose ? Verbosity::verbose : Verbosity::normal;
}

bool nonnegative(double v) {
    return v >= 0;
}

/// --memory-limit GIB: unset when not given (then the memory available is the limit), 0 = no check.
std::optional<double> memory_limit(const po::variables_map& vm) {
    if (!vm.count("memory-limit")) return std::nullopt;
    double limit = 0;
    number(vm, "memory-limit", limit, ">= 0", nonnegative);
    return limit;
}

/// "30" or "30,300": the perplexities of --perplexity, each in the table's range.
std::vector<double> parse_perplexities(const std::string& text) {
    std::vector<double> values;
    std::size_t begin = 0;
    while (true) {
        const std::size_t end = text.find(',', begin);
        const std::string item = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
        if (item.empty())
            throw UsageError(concat("--perplexity expects a number or a comma-separated list such as 30,300; got '",
                                    text, "'"));
        values.push_back(option_value(entry("perplexity"), item));
        if (end == std::string::npos) break;
        begin = end + 1;
    }
    return values;
}

/// --perplexity (one or several), --affinity, --sigma, --k.
void parse_affinity_kind_options(const po::variables_map& vm, Options& o) {
    AffinityOptions& a = o.affinities;
    std::string value;
    if (vm.count("affinity")) {
        table_option(vm, "affinity", o);
    } else if (vm.count("sigma")) {
        a.kind = AffinityKind::sigma;
    }
    if (get(vm, "perplexity", value)) {
        if (a.kind != AffinityKind::perplexity)
            throw UsageError(concat("--perplexity has no effect with --affinity ", to_string(a.kind),
                                    " (its width is ", a.kind == AffinityKind::sigma ? "--sigma" : "1/k", ")"));
        const std::vector<double> scales = parse_perplexities(value);
        a.perplexity = scales.front();
        a.more_perplexities.assign(scales.begin() + 1, scales.end());
    }
    if (vm.count("sigma") && a.kind != AffinityKind::sigma)
        throw UsageError(concat("--sigma belongs to --affinity sigma, not ", to_string(a.kind)));
    table_options(vm, {"sigma", "k"}, o);
    if (a.kind == AffinityKind::perplexity && a.k > 0) {
        double largest = a.perplexity;
        for (double p : a.more_perplexities) largest = std::max(largest, p);
        if (!(largest < static_cast<double>(a.k)))
            throw UsageError(concat("--k ", a.k, " must exceed the perplexity ", largest,
                                    " (a row of k neighbours has perplexity at most k)"));
    }
}

/// --knn, --metric and the backends' parameters.
void parse_embed_neighbors(const po::variables_map& vm, Options& o) {
    table_options(vm, {"knn", "metric"}, o);
    if (!backend_supports(o.neighbors.backend, o.neighbors.metric))
        throw UsageError(concat("--knn ", to_string(o.neighbors.backend), " cannot compute ",
                                to_string(o.neighbors.metric), " distances; use --knn auto or brute"));
    table_options(vm, {"hnsw-m", "hnsw-ef-construction", "hnsw-ef-search", "nndescent-trees", "nndescent-leaf",
                       "nndescent-rounds"},
                  o);
}

/// The optimiser's options, and the rules about which of them were given together.
void parse_embed_optimizer(const po::variables_map& vm, Options& o) {
    const OptimizerOptions& p = o.optimizer;
    table_options(vm, {"method", "theta", "target-error", "dof"}, o);
    if (p.dof != 1 && p.method == Method::exact_sne)
        throw UsageError("--dof applies to t-SNE's kernel; --method exact_sne has the Gaussian kernel");
    if (vm.count("target-error") && !p.theta_auto)
        throw UsageError("--target-error needs --theta auto (a fixed --theta has no error target)");
    table_options(vm, {"iterations", "exaggeration", "exaggeration-iterations", "learning-rate", "momentum",
                       "final-momentum", "gain-increase", "gain-decrease", "min-gain", "max-step-norm",
                       "momentum-switch", "late-exaggeration", "late-exaggeration-start"},
                  o);
    if (vm.count("late-exaggeration-start") && !vm.count("late-exaggeration"))
        throw UsageError("--late-exaggeration-start needs --late-exaggeration A (the factor from then on)");
    if (p.late_exaggeration_start >= 0 && p.late_exaggeration_start < p.exaggeration_iterations)
        throw UsageError(concat("--late-exaggeration-start ", p.late_exaggeration_start,
                                " falls inside early exaggeration (iterations 0 to ",
                                p.exaggeration_iterations - 1, "); give at least ", p.exaggeration_iterations,
                                " or lower --exaggeration-iterations"));
    table_option(vm, "early-stop", o);
}

/// --init pca|random|FILE (the enum's "user" is spelt FILE here) and --keep-init-scale.
void parse_embed_init(const po::variables_map& vm, EmbedConfig& e) {
    Options& o = e.options;
    std::string value;
    if (get(vm, "init", value)) {
        if (value == "pca") {
            o.init = InitKind::pca;
        } else if (value == "random") {
            o.init = InitKind::random;
        } else if (value.empty() || value == "user") {
            throw UsageError(concat("--init must be pca, random or a matrix file; got '", value, "'"));
        } else {
            o.init = InitKind::user;
            e.init_path = value;
        }
    }
    o.keep_user_scale = flag(vm, "keep-init-scale");
    if (o.keep_user_scale && o.init != InitKind::user)
        throw UsageError("--keep-init-scale needs --init FILE");
}

void parse_embed_options(const po::variables_map& vm, EmbedConfig& e) {
    Options& o = e.options;
    table_options(vm, {"dims", "threads", "pca", "log-every"}, o);
    e.log_every_given = vm.count("log-every") > 0;
    table_option(vm, "seed", o);
    parse_affinity_kind_options(vm, o);
    table_options(vm, {"perplexity-tolerance", "perplexity-steps"}, o);
    parse_embed_neighbors(vm, o);
    parse_embed_optimizer(vm, o);
    parse_embed_init(vm, e);
}

/// --affinities, --neighbors, --neighbor-distances and --input-kind, and what they exclude.
void parse_embed_precomputed(const po::variables_map& vm, EmbedConfig& e) {
    Options& o = e.options;
    auto named = [&](const char* name, std::string& path) {
        if (!get(vm, name, path)) return false;
        if (path.empty() || path == "-") throw UsageError(concat("--", name, " needs a file name"));
        return true;
    };
    const bool has_p = named("affinities", e.precomputed_affinities);
    const bool has_graph = named("neighbors", e.neighbors_path);
    if (named("neighbor-distances", e.neighbor_distances_path) && !has_graph)
        throw UsageError("--neighbor-distances needs --neighbors INDICES");
    if (has_graph) {
        const bool mtx = ends_with(lower(e.neighbors_path), ".mtx");
        if (mtx && !e.neighbor_distances_path.empty())
            throw UsageError("--neighbors FILE.mtx holds the distances itself; drop --neighbor-distances");
        if (!mtx && e.neighbor_distances_path.empty())
            throw UsageError(concat("--neighbors ", e.neighbors_path,
                                    " holds indices only; give their distances with --neighbor-distances FILE "
                                    "(or one Matrix Market .mtx file with both)"));
    }
    std::string kind;
    if (get(vm, "input-kind", kind)) {
        if (kind != "coordinates" && kind != "distances" && kind != "sparse")
            throw UsageError(concat("--input-kind must be coordinates, sparse or distances; got '", kind, "'"));
        e.input_distances = kind == "distances";
        e.input_sparse = kind == "sparse";
        if (e.input_sparse && (has_p || has_graph))
            throw UsageError(concat("--input-kind sparse and ", has_p ? "--affinities" : "--neighbors",
                                    " exclude each other (sparse rows are searched for their own neighbours)"));
    }
    const char* given = has_p ? "--affinities" : has_graph ? "--neighbors" : e.input_distances ? "--input-kind distances" : nullptr;
    if (!given) return;
    if (has_p && has_graph) throw UsageError("--affinities and --neighbors exclude each other (P needs no neighbours)");
    if (e.input_distances && (has_p || has_graph))
        throw UsageError(concat("--input-kind distances and ", has_p ? "--affinities" : "--neighbors",
                                " exclude each other (both give the neighbours)"));
    if (o.optimizer.method != Method::barnes_hut)
        throw UsageError(concat(given, " needs --method barnes_hut (the exact methods compute a dense P from "
                                "coordinates)"));
    for (const char* search : {"knn", "metric", "hnsw-m", "hnsw-ef-construction", "hnsw-ef-search",
                               "nndescent-trees", "nndescent-leaf", "nndescent-rounds"})
        if (vm.count(search))
            throw UsageError(concat("--", search, " has no effect with ", given, " (no neighbour search runs)"));
    if (has_p)
        for (const char* calibration : {"perplexity", "affinity", "sigma", "k", "perplexity-tolerance",
                                        "perplexity-steps"})
            if (vm.count(calibration))
                throw UsageError(concat("--", calibration, " has no effect with --affinities (P is given)"));
    if (e.input_distances && o.pca_dims > 0)
        throw UsageError("--pca needs coordinates; --input-kind distances gives distances");
}

/// --html FILE (embed, transform) or -o FILE (view, key "output"): a page, .html or .htm.
void html_option(const po::variables_map& vm, std::string& path, const char* key = "html") {
    if (!get(vm, key, path)) return;
    const std::string shown = std::string(key) == "output" ? "-o" : concat("--", key);
    if (path.empty() || path == "-") throw UsageError(concat(shown, " needs a FILE.html; got '", path, "'"));
    const std::string ext = lower(path);
    if (!ends_with(ext, ".html") && !ends_with(ext, ".htm"))
        throw UsageError(concat(shown, " writes an HTML page; the file must end in .html, got '", path, "'"));
}

/// --plot and --html of embed.
void parse_embed_pictures(const po::variables_map& vm, EmbedConfig& e) {
    if (get(vm, "plot", e.plot_path)) {
        const std::string ext = lower(e.plot_path);
        if (!ends_with(ext, ".png") && !ends_with(ext, ".svg"))
            throw UsageError(concat("--plot: unknown picture format '", e.plot_path, "'; use .png or .svg"));
    }
    html_option(vm, e.html_path);
}

void parse_embed_files(const po::variables_map& vm, EmbedConfig& e) {
    parse_embed_precomputed(vm, e);
    e.inputs = strings(vm, "input");
    const bool coordinates_optional = !e.precomputed_affinities.empty() || !e.neighbors_path.empty();
    if (e.inputs.empty() && !coordinates_optional)
        throw UsageError("embed needs an INPUT file (see 'treesne embed --help')");
    // Without coordinates (no INPUT, or a distance matrix) there is nothing to take principal components
    // of: the initialisation is random unless --init gives one.
    if (e.inputs.empty() || e.input_distances) {
        std::string init;
        if (get(vm, "init", init) && init == "pca")
            throw UsageError(e.inputs.empty() ? "--init pca needs INPUT coordinates; use --init random or FILE"
                                              : "--init pca needs coordinates; --input-kind distances gives distances");
        if (e.inputs.empty() && e.options.pca_dims > 0)
            throw UsageError("--pca needs INPUT coordinates");
        if (e.options.init == InitKind::pca) e.options.init = InitKind::random;
    }
    if (!get(vm, "output", e.output))
        throw UsageError("embed needs -o OUTPUT (a .csv, .tsv, .npy or .dat file, or - for stdout)");
    if (e.output.empty() || !io::is_writable_matrix_format(e.output))
        throw UsageError(
            concat("-o: unknown output format '", e.output, "'; use .csv, .tsv, .npy, .dat or -"));
    parse_embed_pictures(vm, e);
    e.label_paths = strings(vm, "labels");
    get(vm, "label-names", e.label_names);
    if (!e.label_names.empty() && e.label_paths.empty()) throw UsageError("--label-names needs --labels");
    if (!e.label_paths.empty() && e.label_paths.size() != std::max<std::size_t>(e.inputs.size(), 1))
        throw UsageError(e.inputs.empty()
                             ? concat("give one --labels file without INPUT; got ", e.label_paths.size())
                             : concat("give one --labels file per INPUT: ", e.inputs.size(), " inputs, ",
                                      e.label_paths.size(), " label files"));
    get(vm, "resume", e.resume_path);
    if (vm.count("resume") && e.resume_path.empty()) throw UsageError("--resume needs a FILE");
    if (!e.resume_path.empty() && vm.count("init"))
        throw UsageError("--init and --resume exclude each other: a resumed run starts from the saved state");
    get(vm, "checkpoint", e.checkpoint_path);
    if (vm.count("checkpoint") && e.checkpoint_path.empty()) throw UsageError("--checkpoint needs a FILE");
    integer(vm, "checkpoint-every", e.checkpoint_every, 1);
    e.memory_limit_gib = memory_limit(vm);
    if (vm.count("checkpoint-every") && e.checkpoint_path.empty())
        throw UsageError("--checkpoint-every needs --checkpoint FILE");
    // A --checkpoint naming another output or an input is refused by the file itself (check_distinct_files).
    if (e.checkpoint_path == "-")
        throw UsageError("--checkpoint -: give a file (the state cannot go to stdout)");
    if (get(vm, "save-affinities", e.affinities_path)) {
        if (!ends_with(lower(e.affinities_path), ".mtx"))
            throw UsageError(
                concat("--save-affinities writes Matrix Market; the file must end in .mtx, got '",
                       e.affinities_path, "'"));
        if (e.options.optimizer.method != Method::barnes_hut)
            throw UsageError(concat("--save-affinities is not available with --method ",
                                    to_string(e.options.optimizer.method),
                                    ": the exact methods use a dense P (use --method barnes_hut)"));
    }
}

/// --snapshot-every, --snapshots, --snapshot-plots and --kl-log.
void parse_embed_snapshots(const po::variables_map& vm, EmbedConfig& e) {
    integer(vm, "snapshot-every", e.snapshot_every, 1);
    const std::pair<const char*, std::string*> files[] = {{"snapshots", &e.snapshots_path},
                                                          {"snapshot-plots", &e.snapshot_plots_dir},
                                                          {"kl-log", &e.kl_log_path}};
    for (const auto& [name, path] : files) {
        if (!vm.count(name)) continue;
        get(vm, name, *path);
        if (path->empty() || *path == "-")
            throw UsageError(concat("--", name, " needs a ",
                                    std::string(name) == "snapshot-plots" ? "directory" : "file",
                                    " name; got '", *path, "'"));
    }
    if (!e.snapshots_path.empty() && !ends_with(lower(e.snapshots_path), ".npy"))
        throw UsageError(concat("--snapshots writes a stacked NumPy array; the file must end in .npy, got '",
                                e.snapshots_path, "'"));
    const bool recorded = !e.snapshots_path.empty() || !e.snapshot_plots_dir.empty();
    if (e.snapshot_every > 0 && !recorded)
        throw UsageError("--snapshot-every needs --snapshots FILE.npy or --snapshot-plots DIR");
    if (recorded && e.snapshot_every == 0)
        throw UsageError(concat(e.snapshots_path.empty() ? "--snapshot-plots" : "--snapshots",
                                " needs --snapshot-every N (the iterations between frames)"));
}

/// The library's own checks of parsed options, as a backstop (N and D are not known yet): what they
/// refuse is a usage error.
template <class Check>
void library_checks(Check&& check) {
    try {
        check();
    } catch (const InvalidArgument& e) {
        throw UsageError(e.what());
    }
}

CliConfig parse_embed(const std::vector<std::string>& args) {
    CliConfig c;
    const auto vm = parse_command("embed", args, combine(embed_groups()));
    c.command = Command::embed;
    c.verbosity = parse_verbosity(vm);
    parse_embed_options(vm, c.embed);
    parse_embed_files(vm, c.embed);
    parse_embed_snapshots(vm, c.embed);
    library_checks([&] { validate(c.embed.options, -1, 0); });
    return c;
}

CliConfig parse_evaluate(const std::vector<std::string>& args) {
    CliConfig c;
    const auto vm = parse_command("evaluate", args, combine(evaluate_groups()));
    c.command = Command::evaluate;
    c.verbosity = parse_verbosity(vm);
    EvaluateConfig& e = c.evaluate;
    auto positional = strings(vm, "input");
    if (positional.size() < 2)
        throw UsageError("evaluate needs INPUT and EMBEDDING files (see 'treesne evaluate --help')");
    e.embedding = positional.back();
    positional.pop_back();
    e.inputs = positional;
    e.label_paths = strings(vm, "labels");
    if (!e.label_paths.empty() && e.label_paths.size() != e.inputs.size())
        throw UsageError(concat("give one --labels file per INPUT: ", e.inputs.size(), " inputs, ",
                                e.label_paths.size(), " label files"));
    table_value(vm, "perplexity", e.perplexity);
    table_value(vm, "dof", e.dof);
    std::size_t metric = 0;
    if (vm.count("metric")) {
        table_value(vm, "metric", metric);
        e.metric = metric_names.at(metric).value;
    }
    table_value(vm, "pca", e.pca_dims);
    integer(vm, "k", e.k, 1);
    integer(vm, "sample", e.sample, 0);
    if (e.sample == 1) throw UsageError("--sample must be 0 (all points) or at least 2; got 1");
    integer(vm, "trust-queries", e.trust_queries, 0);
    table_value(vm, "threads", e.threads);
    e.memory_limit_gib = memory_limit(vm);
    std::string value;
    if (get(vm, "seed", value)) e.seed = to_seed("--seed", value);
    e.json = flag(vm, "json");
    return c;
}

/// --theta LIST of accuracy: comma-separated numbers, each >= 0.
std::vector<double> parse_theta_list(const std::string& text) {
    std::vector<double> thetas;
    std::size_t begin = 0;
    while (true) {
        const std::size_t end = text.find(',', begin);
        const std::string item =
            text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
        if (item.empty())
            throw UsageError(
                concat("--theta expects comma-separated numbers such as 0,0.5,1; got '", text, "'"));
        const double theta = to_double("--theta", item);
        if (theta < 0) throw UsageError(concat("--theta must be >= 0; got ", item));
        thetas.push_back(theta);
        if (end == std::string::npos) break;
        begin = end + 1;
    }
    return thetas;
}

void parse_accuracy_options(const po::variables_map& vm, AccuracyConfig& a) {
    Options& o = a.options;
    table_options(vm, {"perplexity", "dims", "pca", "iterations", "dof", "threads"}, o);
    a.memory_limit_gib = memory_limit(vm);
    table_options(vm, {"seed", "knn"}, o);
    std::string value;
    AccuracyOptions& m = a.accuracy;
    if (get(vm, "theta", value)) m.thetas = parse_theta_list(value);
    m.runs = flag(vm, "runs");
    m.monopole = !flag(vm, "no-monopole");
    integer(vm, "sample", m.sample, 0);
    if (m.sample == 1) throw UsageError("--sample must be 0 (all points) or at least 2; got 1");
}

void parse_accuracy_files(const po::variables_map& vm, AccuracyConfig& a) {
    a.inputs = strings(vm, "input");
    if (a.inputs.empty()) throw UsageError("accuracy needs an INPUT file (see 'treesne accuracy --help')");
    a.label_paths = strings(vm, "labels");
    if (!a.label_paths.empty() && a.label_paths.size() != a.inputs.size())
        throw UsageError(concat("give one --labels file per INPUT: ", a.inputs.size(), " inputs, ",
                                a.label_paths.size(), " label files"));
    const std::pair<const char*, std::string*> outputs[] = {
        {"json", &a.json_path}, {"csv", &a.csv_path}, {"plot", &a.plot_path}};
    for (const auto& [name, path] : outputs) {
        if (get(vm, name, *path) && path->empty())
            throw UsageError(concat("--", name, " needs a FILE; got ''"));
        if (path->empty()) continue;
        if (*path == "-") throw UsageError(concat("--", name, " writes a file; the table goes to stdout"));
    }
    if (!a.plot_path.empty() && !ends_with(lower(a.plot_path), ".png") &&
        !ends_with(lower(a.plot_path), ".svg"))
        throw UsageError(concat("--plot: unknown picture format '", a.plot_path, "'; use .png or .svg"));
    // An output naming an input or another output is refused by the file itself (check_distinct_files).
}

CliConfig parse_accuracy(const std::vector<std::string>& args) {
    CliConfig c;
    const auto vm = parse_command("accuracy", args, combine(accuracy_groups()));
    c.command = Command::accuracy;
    c.verbosity = parse_verbosity(vm);
    parse_accuracy_options(vm, c.accuracy);
    parse_accuracy_files(vm, c.accuracy);
    library_checks([&] { validate(c.accuracy.options, -1, 0); });
    return c;
}

void parse_transform_options(const po::variables_map& vm, TransformConfig& c) {
    Options& o = c.options;
    TransformOptions& t = c.transform;
    table_options(vm, {"pca", "knn"}, o);
    for (const char* name : {"perplexity", "iterations", "exaggeration", "exaggeration-iterations", "learning-rate",
                             "momentum", "max-step-norm"})
        transform_option(vm, name, t);
    table_option(vm, "theta", o, false);  // the transform keeps one theta: no auto controller
    table_options(vm, {"dof"}, o);
    t.repel_new = flag(vm, "repel-new");
    table_options(vm, {"seed", "threads"}, o);
    c.memory_limit_gib = memory_limit(vm);
    table_option(vm, "log-every", o);
    c.log_every_given = vm.count("log-every") > 0;
}

void parse_transform_files(const po::variables_map& vm, TransformConfig& c) {
    const auto positional = strings(vm, "input");
    if (positional.size() < 3)
        throw UsageError(
            "transform needs REFERENCE_INPUT, REFERENCE_EMBEDDING and NEW_INPUT files "
            "(see 'treesne transform --help')");
    c.reference_input = positional[0];
    c.reference_embedding = positional[1];
    c.inputs.assign(positional.begin() + 2, positional.end());
    if (!get(vm, "output", c.output))
        throw UsageError("transform needs -o OUTPUT (a .csv, .tsv, .npy or .dat file, or - for stdout)");
    if (c.output.empty() || !io::is_writable_matrix_format(c.output))
        throw UsageError(
            concat("-o: unknown output format '", c.output, "'; use .csv, .tsv, .npy, .dat or -"));
    if (get(vm, "plot", c.plot_path)) {
        const std::string ext = lower(c.plot_path);
        if (!ends_with(ext, ".png") && !ends_with(ext, ".svg"))
            throw UsageError(concat("--plot: unknown picture format '", c.plot_path, "'; use .png or .svg"));
    }
    html_option(vm, c.html_path);
    if (get(vm, "labels", c.label_path) && c.label_path.empty())
        throw UsageError("--labels needs a file name; got ''");
    c.new_label_paths = strings(vm, "new-labels");
    if (!c.new_label_paths.empty() && c.new_label_paths.size() != c.inputs.size())
        throw UsageError(concat("give one --new-labels file per NEW_INPUT: ", c.inputs.size(), " inputs, ",
                                c.new_label_paths.size(), " label files"));
    // An output naming an input or another output is refused by the file itself (check_distinct_files).
}

}  // namespace detail

using namespace detail;

ViewConfig parse_view(const std::vector<std::string>& args) {
    // The other commands' positional INPUT is here an option (--input, the data rows).
    const auto vm = parse_command("view", args, combine(view_groups()), "embedding");
    ViewConfig c;
    c.verbosity = flag(vm, "quiet") ? Verbosity::quiet : Verbosity::normal;
    const auto positional = strings(vm, "embedding");
    if (positional.empty()) throw UsageError("view needs an EMBEDDING file (see 'treesne view --help')");
    if (positional.size() != 1)
        throw UsageError(concat("view takes one EMBEDDING; got ", positional.size(),
                                " files (give the data rows with --input)"));
    c.embedding = positional[0];
    html_option(vm, c.output, "output");
    if (c.output.empty()) throw UsageError("view needs -o FILE.html");
    c.label_paths = strings(vm, "labels");
    get(vm, "label-names", c.label_names);
    if (!c.label_names.empty() && c.label_paths.empty()) throw UsageError("--label-names needs --labels");
    c.inputs = strings(vm, "input");
    if (flag(vm, "thumbnails") && flag(vm, "no-thumbnails"))
        throw UsageError("--thumbnails and --no-thumbnails exclude each other");
    c.thumbnails = flag(vm, "thumbnails")      ? Thumbnails::on
                   : flag(vm, "no-thumbnails") ? Thumbnails::off
                                               : Thumbnails::automatic;
    if (c.thumbnails == Thumbnails::on && c.inputs.empty())
        throw UsageError("--thumbnails needs --input FILE (the data rows, square images)");
    if (get(vm, "snapshots", c.snapshots_path) && !ends_with(lower(c.snapshots_path), ".npy"))
        throw UsageError(
            concat("--snapshots reads the stacked NumPy array of 'embed --snapshots'; the file must "
                   "end in .npy, got '",
                   c.snapshots_path, "'"));
    get(vm, "title", c.title);
    return c;
}

CliConfig parse_cli(int argc, const char* const* argv) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    CliConfig c;
    if (args.empty())
        throw UsageError(
            "missing command: embed, transform, evaluate, accuracy or view (see 'treesne --help')");
    const std::string command = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (command == "--help" || command == "-h") {
        c.command = Command::help;
        return c;
    }
    if (command == "--version") {
        if (!rest.empty()) throw UsageError("--version takes no arguments");
        c.command = Command::version;
        return c;
    }
    if (command == "help") {
        if (rest.size() > 1) throw UsageError("help takes at most one command name");
        c.command = Command::help;
        c.help_topic = check_topic(rest.empty() ? "" : rest[0]);
        return c;
    }
    const bool known = command == "embed" || command == "evaluate" || command == "accuracy" ||
                       command == "transform" || command == "view";
    if (known && asks_for_help(rest)) {
        c.command = Command::help;
        c.help_topic = command;
        return c;
    }
    if (command == "embed") return parse_embed(rest);
    if (command == "evaluate") return parse_evaluate(rest);
    if (command == "accuracy") return parse_accuracy(rest);
    if (command == "transform") {
        c.command = Command::transform;
        c.transform = parse_transform(rest);
        c.verbosity = c.transform.verbosity;
        return c;
    }
    if (command == "view") {
        c.command = Command::view;
        c.view = parse_view(rest);
        c.verbosity = c.view.verbosity;
        return c;
    }
    if (!command.empty() && command[0] == '-')
        throw UsageError(concat("unknown option '", command, "' before the command (see 'treesne --help')"));
    throw UsageError(
        concat("unknown command '", command,
               "'; commands are embed, transform, evaluate, accuracy and view (see 'treesne --help')"));
}

TransformConfig parse_transform(const std::vector<std::string>& args) {
    const auto vm = parse_command("transform", args, combine(transform_groups()));
    TransformConfig c;
    c.verbosity = parse_verbosity(vm);
    parse_transform_options(vm, c);
    parse_transform_files(vm, c);
    // The library's own checks as a backstop (N and D are not known yet).
    library_checks([&] {
        validate(c.transform);
        validate(c.options, -1, 0);
    });
    return c;
}

}  // namespace treesne::cli
