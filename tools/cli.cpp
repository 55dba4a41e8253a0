// Command-line parsing and help texts. Boost.Program_options finds the options and positional arguments;
// every value is then converted and range-checked here, so each mistake gets one precise line. Defaults
// are never stored in the parser: unset options leave a default-constructed Options untouched, and the
// help prints that same Options, so the two cannot disagree.
#include "cli.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <sstream>
#include <type_traits>

#include "treesne/core/errors.hpp"
#include "treesne/core/option_table.hpp"
#include "treesne/io/io.hpp"
#include "treesne/version.hpp"

namespace po = boost::program_options;

namespace treesne::cli {
namespace {

constexpr unsigned help_width = 100;

/// Short decimal text that reads back as exactly v (the library's format_number), integers in digits.
template <class T>
std::string format_number(T v) {
    if constexpr (std::is_floating_point_v<T>) {
        return treesne::format_number(v);
    } else {
        return std::to_string(v);
    }
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Strict conversion: the whole text must be a finite number.
double to_double(const std::string& option, const std::string& text) {
    const char* begin = text.c_str();
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(begin, &end);
    if (text.empty() || end != begin + text.size() || std::isspace(static_cast<unsigned char>(text[0])))
        throw UsageError(concat(option, " expects a number; got '", text, "'"));
    if (!std::isfinite(v) || errno == ERANGE)
        throw UsageError(concat(option, " expects a finite number; got '", text, "'"));
    return v;
}

/// Strict conversion: the whole text must be an integer in [lo, hi].
long long to_integer(const std::string& option, const std::string& text, long long lo, long long hi) {
    const char* begin = text.c_str();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(begin, &end, 10);
    if (text.empty() || end != begin + text.size() || std::isspace(static_cast<unsigned char>(text[0])))
        throw UsageError(concat(option, " expects an integer; got '", text, "'"));
    if (errno == ERANGE || v < lo || v > hi) {
        if (hi == std::numeric_limits<long long>::max())
            throw UsageError(concat(option, " must be >= ", lo, "; got ", text));
        throw UsageError(concat(option, " must be in [", lo, ", ", hi, "]; got ", text));
    }
    return v;
}

std::uint64_t to_seed(const std::string& option, const std::string& text) {
    const char* begin = text.c_str();
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(begin, &end, 10);
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])) || end != begin + text.size() ||
        errno == ERANGE)
        throw UsageError(concat(option, " expects an integer in [0, 2^64); got '", text, "'"));
    return v;
}

/// Reads an optional string value; true when the option was given.
bool get(const po::variables_map& vm, const char* name, std::string& value) {
    auto it = vm.find(name);
    if (it == vm.end() || it->second.empty()) return false;
    value = it->second.as<std::string>();
    return true;
}

/// A number option with a range check described in words ("> 0", "in [0, 1)").
void number(const po::variables_map& vm, const char* name, double& field, const char* range,
            const std::function<bool(double)>& ok) {
    std::string text;
    if (!get(vm, name, text)) return;
    const double v = to_double(concat("--", name), text);
    if (!ok(v)) throw UsageError(concat("--", name, " must be ", range, "; got ", text));
    field = v;
}

template <class Int>
void integer(const po::variables_map& vm, const char* name, Int& field, long long lo,
             long long hi = std::numeric_limits<long long>::max()) {
    std::string text;
    if (!get(vm, name, text)) return;
    field = static_cast<Int>(to_integer(concat("--", name), text, lo, hi));
}

bool flag(const po::variables_map& vm, const char* name) {
    auto it = vm.find(name);
    return it != vm.end() && it->second.as<bool>();
}

/// The value of `text` for an option of the table (`option` is "--name"): "auto" where the command takes
/// it (the sentinel, or NaN), else a number in the entry's range, refused with the CLI's one line.
double table_number(const std::string& option, const std::string& text, OptionKind kind, const OptionRange& range,
                    unsigned flags, bool allow_auto) {
    const bool takes_auto = allow_auto && (flags & accepts_auto) != 0;
    if (takes_auto && text == "auto") return range.sentinel.value_or(std::nan(""));
    if (kind == OptionKind::real) {
        const double v = to_double(option, text);
        if (!range.contains(v))
            throw UsageError(concat(option, " must be ", range_words(range, flags, takes_auto), "; got ", text));
        return v;
    }
    // Integers: the sentinel is given as a number too where the entry says so ("--hnsw-ef-search 0").
    const bool sentinel_given = takes_auto && range.sentinel && (flags & auto_sentinel_given) != 0;
    const double lo = sentinel_given ? std::min(*range.sentinel, range.lo) : range.lo;
    const long long hi = std::isinf(range.hi) ? std::numeric_limits<long long>::max()
                                              : static_cast<long long>(range.hi);
    const auto v = static_cast<double>(to_integer(option, text, static_cast<long long>(lo), hi));
    if (v != range.sentinel.value_or(v) && !range.contains(v))
        throw UsageError(concat(option, " must be auto, ", *range.sentinel, " or ", range.words(), "; got ", text));
    return v;
}

/// The index in `names` of `text`, or the CLI's line listing the choices.
std::size_t enum_index(const std::string& option, const std::string& text, const std::vector<const char*>& names) {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (text == names[i]) return i;
    std::string choices;
    for (std::size_t i = 0; i < names.size(); ++i)
        choices += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    throw UsageError(concat(option, " must be ", choices, "; got '", text, "'"));
}

/// The value given for table entry `d` (an Options field) as the entry's set() takes it.
double option_value(const OptionDescriptor& d, const std::string& text, bool allow_auto = true) {
    const std::string option = concat("--", d.cli);
    if (d.kind == OptionKind::enumeration) return static_cast<double>(enum_index(option, text, d.names));
    return table_number(option, text, d.kind, d.range, d.flags, allow_auto);
}

const OptionDescriptor& entry(const char* name) {
    const OptionDescriptor* d = find_option(name);
    if (!d) throw std::logic_error(concat("no option table entry '", name, "'"));
    return *d;
}

/// Sets the Options field of table entry `name` when the option was given. The one seed field is an
/// unsigned 64-bit integer, beyond the doubles that set() takes, so it is written directly.
void table_option(const po::variables_map& vm, const char* name, Options& o, bool allow_auto = true) {
    std::string text;
    if (!get(vm, name, text)) return;
    const OptionDescriptor& d = entry(name);
    if (d.kind == OptionKind::seed) {
        o.seed = to_seed(concat("--", name), text);
        return;
    }
    d.set(o, option_value(d, text, allow_auto));
}

/// Sets the TransformOptions field of transform table entry `name` when the option was given.
void transform_option(const po::variables_map& vm, const char* name, TransformOptions& t) {
    std::string text;
    if (!get(vm, name, text)) return;
    const TransformOptionDescriptor* d = find_transform_option(name);
    if (!d) throw std::logic_error(concat("no transform option table entry '", name, "'"));
    d->set(t, table_number(concat("--", name), text, d->kind, d->range, d->flags, true));
}

/// A value of table entry `name` for a field outside Options (evaluate's perplexity, dof, pca, threads):
/// the same conversion and range.
template <class T>
void table_value(const po::variables_map& vm, const char* name, T& field) {
    std::string text;
    if (get(vm, name, text)) field = static_cast<T>(option_value(entry(name), text));
}

/// Several entries in the order given (which is the order of the checks, so the first mistake is named).
void table_options(const po::variables_map& vm, std::initializer_list<const char*> names, Options& o) {
    for (const char* name : names) table_option(vm, name, o);
}

/// The values of a repeatable file option (or of the positional files when name is "input"); an empty
/// name ('' on the shell) is a usage error here rather than a puzzling "cannot open" later.
std::vector<std::string> strings(const po::variables_map& vm, const char* name) {
    auto it = vm.find(name);
    if (it == vm.end() || it->second.empty()) return {};
    auto values = it->second.as<std::vector<std::string>>();
    for (const std::string& v : values)
        if (v.empty())
            throw UsageError(std::string(name) == "input" ? std::string("empty file name among the arguments")
                                                          : concat("--", name, " needs a file name; got ''"));
    return values;
}

po::typed_value<std::string>* text(const char* value_name) {
    return po::value<std::string>()->value_name(value_name);
}

po::typed_value<std::vector<std::string>>* texts(const char* value_name) {
    return po::value<std::vector<std::string>>()->value_name(value_name);
}

/// "meaning. Default: X."
template <class T>
std::string with_default(const std::string& meaning, const T& value) {
    if constexpr (std::is_arithmetic_v<T>) {
        return concat(meaning, " Default: ", format_number(value), ".");
    } else {
        return concat(meaning, " Default: ", value, ".");
    }
}

// --- option tables: the same descriptions parse the command line and print the help -----------------

/// Adds table entry `name` (an Options field) to a group: value name, help and default from the table;
/// a command whose option means something narrower gives its own help or value name.
void add(po::options_description& o, const char* name, const char* help = nullptr,
         const char* value_name = nullptr) {
    const OptionDescriptor& d = entry(name);
    const std::string meaning = help ? help : d.help;
    if (d.kind == OptionKind::flag) {
        o.add_options()(name, po::bool_switch(), meaning.c_str());
        return;
    }
    const std::string shown = d.default_shown();
    o.add_options()(name, text(value_name ? value_name : d.value_name),
                    shown.empty() ? meaning.c_str() : with_default(meaning, shown).c_str());
}

/// Adds transform table entry `name` (a TransformOptions field) to a group.
void add_transform(po::options_description& o, const char* name) {
    const TransformOptionDescriptor* d = find_transform_option(name);
    if (!d) throw std::logic_error(concat("no transform option table entry '", name, "'"));
    if (d->kind == OptionKind::flag) {
        o.add_options()(name, po::bool_switch(), d->help.c_str());
        return;
    }
    o.add_options()(name, text(d->value_name), with_default(d->help, d->default_shown()).c_str());
}

po::options_description running_options(bool evaluate) {
    po::options_description o;
    add(o, "threads");
    o.add_options()  //
        ("memory-limit", text("GIB"),
         "Refuse, before the large allocations, a run whose memory estimate (shown by --verbose) exceeds "
         "GIB gibibytes besides the input; 0 = no check. Default: the memory available now "
         "(MemAvailable, "
         "or the container's limit).");
    if (!evaluate) add(o, "log-every");
    o.add_options()                                                  //
        ("quiet,q", po::bool_switch(), "Print nothing but errors.")  //
        ("verbose", po::bool_switch(),
         evaluate ? "Also print the resolved settings."
                  : "Also print the resolved settings (learning rate, neighbour backend, k, threads).")  //
        ("help,h", po::bool_switch(), "Print this help.");
    return o;
}

po::options_description embed_output_options() {
    po::options_description o;
    o.add_options()  //
        ("output,o", text("FILE"),
         "Where the embedding goes (required); the format by extension: .csv, .tsv, .npy (float64), .dat "
         "(bhtsne's result layout); - writes CSV to stdout.");
    add(o, "dims");
    o.add_options()  //
        ("plot", text("FILE"),
         "Also draw the embedding, .png or .svg, coloured by --labels with a legend (3-D: first two "
         "coordinates).")  //
        ("labels", texts("FILE"),
         "Class labels for the picture: one per line, .npy or IDX (.gz too). Give one file per INPUT, "
         "stacked in the same order; the count must equal the number of points.")  //
        ("label-names", text("NAMES"),
         "Names of the numeric labels 0, 1, 2, ... for the legend: a comma-separated list or a file with "
         "one name per line.")  //
        ("save-affinities", text("FILE"),
         "Also write the input affinities P (Matrix Market .mtx, coordinate real general, sums to 1); "
         "--method barnes_hut only.");
    return o;
}

/// The precomputed inputs of embed: P, a kNN graph, a distance matrix.
void add_precomputed_options(po::options_description& o) {
    o.add_options()  //
        ("affinities", text("P.mtx"),
         "Use these joint affinities P (Matrix Market, N x N, as --save-affinities writes them) instead of "
         "computing them: no neighbour search, no calibration. Checked: square, finite, non-negative; a "
         "diagonal is dropped, an asymmetric P made (P + P^T)/2 and a sum other than 1 normalised, each "
         "with a note. INPUT is then optional: given (the same N rows), it initialises by PCA as usual, "
         "and a run from a saved P repeats the run that saved it bit for bit; without it the "
         "initialisation is random.")  //
        ("neighbors", text("FILE"),
         "Use this k-nearest-neighbour graph instead of searching (then calibrated as usual; k must "
         "exceed the perplexity). FILE.mtx: Matrix Market N x N, row i holds i's k neighbours j with the "
         "distance d(i,j) (not squared) as the value. Other formats (.npy, .csv, ...): an N x k matrix "
         "of 0-based neighbour indices, with --neighbor-distances the N x k distances, row by row (a "
         "first column holding each point itself, as scikit-learn's kneighbors(X) returns, is dropped). "
         "INPUT is then optional, as with --affinities.")  //
        ("neighbor-distances", text("FILE"),
         "With --neighbors INDICES (not .mtx): the N x k distances (not squared) of those neighbours.")  //
        ("input-kind", text("coordinates|distances"),
         with_default("What INPUT holds: points as rows of coordinates, or a dense N x N matrix of "
                      "distances (symmetric, zero diagonal, not squared), from which the neighbours are "
                      "taken (initialisation random unless --init FILE).",
                      "coordinates")
             .c_str());
}

po::options_description embed_affinity_options() {
    po::options_description o;
    for (const char* name : {"perplexity", "affinity", "sigma", "k"}) add(o, name);
    add_precomputed_options(o);
    for (const char* name : {"perplexity-tolerance", "perplexity-steps", "metric", "knn", "hnsw-m",
                             "hnsw-ef-construction", "hnsw-ef-search", "nndescent-trees", "nndescent-leaf",
                             "nndescent-rounds", "pca"})
        add(o, name);
    return o;
}

po::options_description embed_optimizer_options() {
    po::options_description o;
    for (const char* name : {"method", "theta", "dof", "target-error", "iterations", "exaggeration",
                             "exaggeration-iterations", "learning-rate", "momentum", "final-momentum",
                             "momentum-switch", "late-exaggeration", "late-exaggeration-start", "early-stop",
                             "gain-increase", "gain-decrease", "min-gain", "max-step-norm"})
        add(o, name);
    return o;
}

po::options_description embed_init_options() {
    po::options_description o;
    for (const char* name : {"init", "keep-init-scale", "seed"}) add(o, name);
    return o;
}

po::options_description embed_checkpoint_options() {
    po::options_description o;
    o.add_options()  //
        ("checkpoint", text("FILE"),
         "Save the optimiser state (embedding, gains, velocity, iteration) to FILE every --checkpoint-every "
         "iterations and at the end, atomically, so that a stopped run can be continued with --resume.")  //
        ("checkpoint-every", text("N"),
         with_default("Iterations between checkpoints (with --checkpoint).", Callbacks{}.checkpoint_every)
             .c_str())  //
        ("resume", text("FILE"),
         "Continue the run saved in FILE (by --checkpoint) up to --iterations: P is computed again from "
         "INPUT, which must be the original input, with the original options; the result is the same "
         "bit for bit as one uninterrupted run.");
    return o;
}

po::options_description embed_snapshot_options() {
    po::options_description o;
    o.add_options()  //
        ("snapshot-every", text("N"),
         "Record the embedding at iterations N, 2N, 3N, ... and at the last one (so the last frame is the "
         "result; a resumed run records the iterations it runs), for --snapshots and --snapshot-plots. "
         "Frames stream to a temporary file during the run, so memory does not grow; the disk holds "
         "frames x points x dims x 8 bytes.")  //
        ("snapshots", text("FILE.npy"),
         "Write the recorded frames as one float64 .npy array of shape (frames, points, dims), in the "
         "input's order (numpy.load reads it), atomically at the end. Needs --snapshot-every.")  //
        ("snapshot-plots", text("DIR"),
         "Draw each recorded frame as DIR/0001.png, DIR/0002.png, ... (DIR is made, if missing, when the "
         "pictures are written at the end, so a failed run leaves none), with "
         "the same axes for all (the union of every frame's extent), the colours of --labels, and the "
         "iteration in the title, so that 'ffmpeg -framerate 10 -i DIR/%04d.png film.mp4' makes a film. "
         "Needs --snapshot-every.")  //
        ("kl-log", text("FILE"),
         concat("Write the cost history as CSV: the header iteration,phase,kl,gradient_norm,seconds,theta, "
                "then a row every --log-every iterations (also at each --snapshot-every frame, every ",
                early_stop_window,
                " iterations with --early-stop) and at the last. kl is the KL divergence of the "
                "unexaggerated P (the Barnes-Hut estimate), seconds the optimisation's wall time in this "
                "process, theta the one in use.")
             .c_str());
    return o;
}

po::options_description evaluate_options() {
    const EvaluateConfig d;
    po::options_description o;
    o.add_options()  //
        ("labels", texts("FILE"),
         "Class labels (one per line, .npy or IDX), one file per INPUT, stacked in the same order; adds "
         "the kNN classification accuracy.")  //
        ("perplexity", text("P"),
         with_default("Perplexity of the P the KL divergence is measured against (use the embedding's): "
                      "Gaussian affinities over the floor(3P) nearest neighbours, embed's default kind. "
                      "An embedding made with --affinity sigma or uniform, several perplexities, --k or "
                      "an exact method optimised another P; its KL here is against this one.",
                      d.perplexity)
             .c_str())  //
        ("dof", text("ALPHA"),
         with_default("Degrees of freedom of the output kernel of the KL divergence (use the embedding's "
                      "'embed --dof').",
                      d.dof)
             .c_str())  //
        ("metric", text("euclidean|cosine|manhattan|chebyshev"),
         with_default("The input distance, as 'embed --metric' used it: the neighbours of the KL divergence's "
                      "P and the input neighbourhoods of the preservation and trustworthiness (the "
                      "embedding's are Euclidean).",
                      to_string(d.metric))
             .c_str())  //
        ("pca", text("DIMS"),
         with_default("Reduce the input to DIMS principal components first, as 'embed --pca' did; 0 = off.",
                      d.pca_dims)
             .c_str())  //
        ("k", text("K"),
         with_default("Neighbours of the preservation, trustworthiness and accuracy measures.", d.k)
             .c_str())  //
        ("sample", text("M"),
         concat("Evaluate on M points drawn at random (seeded), P computed on them; 0 = all. Needed above ",
                evaluate_max_points, " points, where the exact O(N^2) KL divergence is refused.")
             .c_str())  //
        ("trust-queries", text("Q"),
         with_default("Trustworthiness is computed exactly on Q evenly spaced query points when N is "
                      "larger (0 = all points, O(N^2)).",
                      d.trust_queries)
             .c_str())                                                          //
        ("seed", text("S"), with_default("Seed of --sample.", d.seed).c_str())  //
        ("json", po::bool_switch(), "Print one JSON object instead of aligned text.");
    return o;
}

/// "0,0.25,0.5": a list of thetas as --theta takes it.
std::string theta_list(const std::vector<double>& thetas) {
    std::string out;
    for (double t : thetas) out += (out.empty() ? "" : ",") + format_number(t);
    return out;
}

po::options_description accuracy_options() {
    const AccuracyOptions a;
    po::options_description o;
    o.add_options()  //
        ("theta", text("LIST"),
         with_default("Comma-separated thetas to compare, each >= 0 (bhtsne's convention: a cell is "
                      "summarised when half-width / distance < theta; 0 summarises nothing).",
                      theta_list(a.thetas))
             .c_str())  //
        ("runs", po::bool_switch(),
         concat("Also optimise: one full Barnes-Hut run per theta and one exact t-SNE run (dense P: "
                "O(N^2) memory and O(N^2) time per iteration), each judged by its exact KL divergence "
                "against the kNN P and against the dense P, its k-NN preservation and (with --labels) "
                "accuracy, and its wall time. At most ",
                accuracy_max_points_runs, " points.")
             .c_str())  //
        ("sample", text("M"),
         concat("Study M points drawn at random (seeded by --seed); 0 = all. Needed above ",
                accuracy_max_points, " points (", accuracy_max_points_runs,
                " with --runs), which also bound M.")
             .c_str())  //
        ("no-monopole", po::bool_switch(),
         "Measure only treesne's quadrupole summary, not also bhtsne's monopole one (centre of mass "
         "only).")  //
        ("labels", texts("FILE"),
         "Class labels (one per line, .npy or IDX), one file per INPUT, stacked in the same order; adds the "
         "k-NN accuracy of the --runs.")                                                               //
        ("json", text("FILE"), "Also write the measurements as one JSON object to FILE.")              //
        ("csv", text("FILE"), "Also write the measurements as CSV to FILE, one row per measurement.")  //
        ("plot", text("FILE"),
         "Also draw error and time against theta, .png or .svg (log scales; a colour per embedding, "
         "quadrupole solid, monopole dashed, the exact gradient's time dotted).");
    return o;
}

po::options_description accuracy_data_options() {
    const Options d;
    po::options_description o;
    o.add_options()  //
        ("perplexity", text("P"),
         with_default("Perplexity of P, as for embed.", d.affinities.perplexity).c_str())     //
        ("dims", text("N"), with_default("Embedding dimension: 1, 2 or 3.", d.dims).c_str())  //
        ("dof", text("ALPHA"),
         with_default("Degrees of freedom of the output kernel, as for embed: errors and KL divergences "
                      "are of that kernel.",
                      d.optimizer.dof)
             .c_str())  //
        ("pca", text("DIMS"),
         with_default("First reduce the input (the sample, if any) to DIMS principal components; 0 = off.",
                      d.pca_dims)
             .c_str())  //
        ("knn", text("auto|kdtree|brute|hnsw|nndescent"),
         with_default("Nearest-neighbour search, as for embed.", "auto").c_str())  //
        ("iterations", text("N"),
         with_default("Iterations of the run that makes the embeddings, and of each full run.",
                      d.optimizer.iterations)
             .c_str())  //
        ("seed", text("S"), with_default("Seed of the initialisation and of --sample.", d.seed).c_str());
    return o;
}

/// A titled group of options in the help.
struct Group {
    const char* caption;
    po::options_description options;
};

std::vector<Group> embed_groups() {
    return {
        {"Output", embed_output_options()},          {"Neighbours and affinities", embed_affinity_options()},
        {"Optimisation", embed_optimizer_options()}, {"Initialisation", embed_init_options()},
        {"Checkpoints", embed_checkpoint_options()}, {"Snapshots and cost history", embed_snapshot_options()},
        {"Running", running_options(false)}};
}

std::vector<Group> evaluate_groups() {
    return {{"Evaluation", evaluate_options()}, {"Running", running_options(true)}};
}

std::vector<Group> accuracy_groups() {
    return {{"Accuracy", accuracy_options()},
            {"Data and embedding", accuracy_data_options()},
            {"Running", running_options(true)}};
}

po::options_description combine(const std::vector<Group>& groups) {
    po::options_description all;
    for (const auto& g : groups) all.add(g.options);
    return all;
}

/// Words of text joined into lines of at most `width` characters, each after `indent` spaces (the
/// first line's indent is written by the caller). "Default: X." is never split.
std::string wrap(std::string text, std::size_t indent, std::size_t width) {
    const std::string marker = "Default: ";
    for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1))
        text[at + marker.size() - 1] = '\x01';
    std::istringstream words(text);
    std::string out, word;
    std::size_t column = indent;
    bool first = true;
    while (words >> word) {
        std::replace(word.begin(), word.end(), '\x01', ' ');
        if (!first && column + 1 + word.size() > width) {
            out += "\n" + std::string(indent, ' ');
            column = indent;
            first = true;
        }
        if (!first) {
            out += ' ';
            ++column;
        }
        out += word;
        column += word.size();
        first = false;
    }
    return out;
}

/// One group as "Caption:" and "  -o, --output FILE   description" lines.
void print_group(std::ostream& out, const Group& group) {
    constexpr std::size_t left = 32;
    out << '\n' << group.caption << ":\n";
    for (const auto& option : group.options.options()) {
        const std::string name = option->format_name();  // "--dims" or "-o [ --output ]"
        std::string shown = "  ";
        if (name.size() > 1 && name[1] != '-') shown += name.substr(0, 2) + ", ";
        shown += "--" + option->long_name();
        const std::string parameter = option->format_parameter();
        if (!parameter.empty()) shown += " " + parameter;
        if (shown.size() + 2 > left) {
            out << shown << '\n' << std::string(left, ' ');
        } else {
            out << shown << std::string(left - shown.size(), ' ');
        }
        out << wrap(option->description(), left, help_width) << '\n';
    }
}

// --- parsing ----------------------------------------------------------------------------------------

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

po::variables_map parse_command(const std::string& command, const std::vector<std::string>& raw,
                                const po::options_description& visible) {
    po::options_description all;
    all.add(visible);
    all.add_options()("input", texts("INPUT"), "");
    po::positional_options_description positional;
    positional.add("input", -1);
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
        if (kind != "coordinates" && kind != "distances")
            throw UsageError(concat("--input-kind must be coordinates or distances; got '", kind, "'"));
        e.input_distances = kind == "distances";
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
    if (get(vm, "plot", e.plot_path)) {
        const std::string ext = lower(e.plot_path);
        if (!ends_with(ext, ".png") && !ends_with(ext, ".svg"))
            throw UsageError(concat("--plot: unknown picture format '", e.plot_path, "'; use .png or .svg"));
    }
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

// --- transform ----------------------------------------------------------------------------------

po::options_description transform_output_options() {
    po::options_description o;
    o.add_options()  //
        ("output,o", text("FILE"),
         "Where the new points' embedding goes (required), M rows in NEW_INPUT's order; the format by "
         "extension: .csv, .tsv, .npy (float64), .dat; - writes CSV to stdout.")  //
        ("plot", text("FILE"),
         "Also draw the reference faded (light grey, or light class colours with --labels) and the new "
         "points on top (coloured by --new-labels), .png or .svg.")  //
        ("labels", text("FILE"),
         "Class labels of the N reference points: one per line, .npy or IDX (.gz too).")  //
        ("new-labels", texts("FILE"),
         "Class labels of the new points, one file per NEW_INPUT. With --labels too, the new points' 10-NN "
         "accuracy is printed: the share whose 10 nearest reference points in the embedding vote for the "
         "point's own label.");
    return o;
}

po::options_description transform_reference_options() {
    po::options_description o;
    add(o, "pca",
        "The --pca the reference embedding was made with: the PCA is fitted on REFERENCE_INPUT again, as embed "
        "did, and the new points are projected on its axes; 0 = off.");
    add(o, "knn",
        "Search of each new point's nearest reference points, exact either way: kdtree is fast in low "
        "dimension, brute (blocked GEMM) in high; auto picks by dimension as embed does (hnsw and nndescent are "
        "accepted and search exactly).",
        "auto|kdtree|brute");
    return o;
}

po::options_description transform_optimizer_options() {
    po::options_description o;
    for (const char* name : {"perplexity", "iterations", "exaggeration", "exaggeration-iterations", "learning-rate",
                             "momentum", "max-step-norm"})
        add_transform(o, name);
    add(o, "theta",
        "Barnes-Hut accuracy of the repulsion from the reference (embed's convention: a cell is summarised "
        "when half-width / distance < T); 0 = exact.",
        "T");
    add(o, "dof", "Degrees of freedom of the output kernel: give the reference's 'embed --dof'.");
    add_transform(o, "repel-new");
    add(o, "seed", "Seed of the tiny jitter that separates new points starting at one place.");
    add(o, "log-every",
        "Progress interval: without a terminal, a line every N iterations (0 = only at the end); on a "
        "terminal, a live line.");
    return o;
}

std::vector<Group> transform_groups() {
    return {{"Output", transform_output_options()},
            {"Reference", transform_reference_options()},
            {"Optimisation", transform_optimizer_options()},
            {"Running", running_options(true)}};
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
    if (get(vm, "labels", c.label_path) && c.label_path.empty())
        throw UsageError("--labels needs a file name; got ''");
    c.new_label_paths = strings(vm, "new-labels");
    if (!c.new_label_paths.empty() && c.new_label_paths.size() != c.inputs.size())
        throw UsageError(concat("give one --new-labels file per NEW_INPUT: ", c.inputs.size(), " inputs, ",
                                c.new_label_paths.size(), " label files"));
    // An output naming an input or another output is refused by the file itself (check_distinct_files).
}

/// The introduction of 'treesne transform --help'.
std::string transform_help() {
    const TransformOptions t;
    std::ostringstream out;
    out << "Usage: treesne transform REFERENCE_INPUT REFERENCE_EMBEDDING NEW_INPUT... -o OUTPUT [options]\n\n"
        << "Adds new points to an existing embedding without moving it. REFERENCE_EMBEDDING (N rows, 1-3\n"
        << "columns) is the embedding of REFERENCE_INPUT (N rows) that 'treesne embed' made; NEW_INPUT (M\n"
        << "rows; several files are stacked) has REFERENCE_INPUT's columns. Each new point is placed among\n"
        << "the reference points nearest to it in the input: its min(N - 1, 3 x perplexity) nearest\n"
        << "reference points give its affinities P_i (calibrated to the perplexity as embed's are), it\n"
        << "starts at the P-weighted median of their positions, and gradient descent moves it, the\n"
        << "reference fixed, to minimise KL(P_i || Q_i), where Q_i compares it with the reference points\n"
        << "alone (openTSNE's transform). OUTPUT gets the M new rows, in NEW_INPUT's order.\n\n"
        << "Give the --pca the reference was made with: the PCA is fitted on REFERENCE_INPUT again\n"
        << "(the same axes as embed's) and the new points are projected on its axes.\n\n"
        << "Defaults: perplexity auto (" << format_number(transform_auto_perplexity) << "), " << t.iterations
        << " iterations, the first " << t.exaggeration_iterations << " with exaggeration "
        << format_number(t.exaggeration) << ",\n"
        << "learning rate " << format_number(t.learning_rate) << ", momentum " << format_number(t.momentum)
        << ", chosen by the 10-NN accuracy of new Fashion-MNIST images\n"
        << "among the reference's (benchmarks/transform.sh; README: transform).\n\n"
        << "Example (Fashion-MNIST: embed the 60,000 training images, then place the 10,000 test images):\n"
        << "  treesne embed train-images-idx3-ubyte.gz --pca 50 -o train.npy\n"
        << "  treesne transform train-images-idx3-ubyte.gz train.npy t10k-images-idx3-ubyte.gz --pca 50 \\\n"
        << "      -o test.csv --labels train-labels-idx1-ubyte.gz --new-labels t10k-labels-idx1-ubyte.gz \\\n"
        << "      --plot test.png\n";
    return out.str();
}

std::string check_topic(const std::string& topic) {
    if (topic.empty() || topic == "embed" || topic == "evaluate" || topic == "accuracy" ||
        topic == "transform")
        return topic;
    throw UsageError(
        concat("no help for '", topic, "'; commands are embed, transform, evaluate and accuracy"));
}

/// The introduction of 'treesne accuracy --help': what is measured, the defaults, the limits, examples.
std::string accuracy_help() {
    const Options d;
    const AccuracyOptions a;
    std::ostringstream out;
    out << "Usage: treesne accuracy INPUT... [options]\n\n"
        << "Measures Barnes-Hut t-SNE against the exact method on your data, to choose --theta (or\n"
        << "--target-error for 'embed --theta auto'). One Barnes-Hut run at theta "
        << format_number(d.optimizer.theta) << " gives three\n"
        << "embeddings: initial (the start, exaggerated), after_ee (after the early exaggeration) and\n"
        << "final. At each, for every --theta and both summaries (quadrupole: treesne's; monopole:\n"
        << "bhtsne's), it reports\n"
        << "  grad_err    ||g_BH - g_exact|| / ||g_exact|| of the whole gradient (the attraction over the\n"
        << "              kNN P is exact in both, so this is the repulsion's error seen by the optimiser)\n"
        << "  repul_err   relative error of the normalised repulsion F_rep / Z alone\n"
        << "  Z_err       relative error of the normaliser Z = sum over pairs of (1 + d^2)^-1\n"
        << "  ms          median time of one Barnes-Hut gradient, tree build included\n"
        << "  exact_ms    time of one exact gradient: O(N^2) time, O(N) memory\n"
        << "Near convergence the gradient is small (attraction and repulsion nearly cancel), so grad_err\n"
        << "at the final embedding can be large while repul_err is small; repul_err is the error that\n"
        << "'embed --theta auto' holds near --target-error (measured there on a sample of points).\n"
        << "With --runs it also optimises once per theta and once with exact t-SNE (dense P over all\n"
        << "pairs), and reports each final embedding's exact KL divergence against the kNN P (KL_sparse,\n"
        << "what Barnes-Hut optimises) and against the dense P (KL_dense, what exact t-SNE optimises:\n"
        << "the gap shows what the 3 x perplexity neighbour truncation costs), its 10-NN preservation,\n"
        << "10-NN accuracy (with --labels) and wall time.\n\n"
        << "Defaults: --theta " << theta_list(a.thetas) << ", both summaries, no runs, all points.\n"
        << "Limits: the exact parts are O(N^2) time. Without --sample, at most " << accuracy_max_points
        << " points (one exact\ngradient takes about 2 s there on two cores), and at most "
        << accuracy_max_points_runs << " with --runs (the exact run holds\nN^2 doubles, 3.2 GB at "
        << accuracy_max_points_runs << ", and makes 1000 O(N^2) iterations). Above them, --sample M\n"
        << "studies M random points.\n\n"
        << "The table goes to stdout, progress to stderr; --json, --csv and --plot write files.\n\n"
        << "Example:\n"
        << "  treesne accuracy data.csv --pca 50 --sample 5000 --runs --labels labels.txt \\\n"
        << "      --json accuracy.json --plot accuracy.png\n";
    return out.str();
}

}  // namespace

CliConfig parse_cli(int argc, const char* const* argv) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    CliConfig c;
    if (args.empty())
        throw UsageError("missing command: embed, transform, evaluate or accuracy (see 'treesne --help')");
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
    if (command == "embed" || command == "evaluate" || command == "accuracy") {
        if (asks_for_help(rest)) {
            c.command = Command::help;
            c.help_topic = command;
            return c;
        }
        if (command == "embed") return parse_embed(rest);
        return command == "evaluate" ? parse_evaluate(rest) : parse_accuracy(rest);
    }
    if (command == "transform") {
        if (asks_for_help(rest)) {
            c.command = Command::help;
            c.help_topic = command;
            return c;
        }
        c.command = Command::transform;
        c.transform = parse_transform(rest);
        c.verbosity = c.transform.verbosity;
        return c;
    }
    if (!command.empty() && command[0] == '-')
        throw UsageError(concat("unknown option '", command, "' before the command (see 'treesne --help')"));
    throw UsageError(
        concat("unknown command '", command,
               "'; commands are embed, transform, evaluate and accuracy (see 'treesne --help')"));
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

std::string version_text() {
    return concat("treesne ", treesne::version);
}

std::string help_text(const std::string& topic) {
    std::ostringstream out;
    if (check_topic(topic).empty()) {
        out << version_text() << ": Barnes-Hut t-SNE. Embeds N points of D dimensions in 1, 2 or 3\n"
            << "dimensions so that neighbours stay neighbours (van der Maaten 2014).\n\n"
            << "Usage:\n"
            << "  treesne embed INPUT... -o OUTPUT [options]      compute an embedding\n"
            << "  treesne evaluate INPUT... EMBEDDING [options]   measure an embedding's quality\n"
            << "  treesne accuracy INPUT... [options]             Barnes-Hut's error and speed per theta\n"
            << "                                                  against the exact method, on your data\n"
            << "  treesne transform REF_INPUT REF_EMBEDDING NEW_INPUT... -o OUTPUT [options]\n"
            << "                                                  add new points to an embedding\n"
            << "  treesne help [embed|evaluate|accuracy|transform]\n"
            << "                                                  this help, or a command's\n"
            << "  treesne --version                               print the version\n\n"
            << "Example:\n"
            << "  treesne embed data.csv -o embedding.csv --plot embedding.png\n"
            << "  treesne transform data.csv embedding.csv new.csv -o new_embedding.csv\n"
            << "  treesne evaluate data.csv embedding.csv --labels labels.txt\n"
            << "  treesne accuracy data.csv --plot accuracy.png\n\n"
            << "Inputs: CSV/TSV (delimiter and header detected, # comments), NumPy .npy, IDX\n"
            << "(Fashion-MNIST's *-idx3-ubyte, .gz too) and bhtsne's data.dat. Outputs by extension:\n"
            << ".csv, .tsv, .npy, .dat, or - for CSV on stdout. Files are written atomically.\n\n"
            << "Exit status: 0 success, 1 data or runtime error, 2 usage error, 130 interrupted.\n"
            << "Run 'treesne COMMAND --help' (embed, transform, evaluate, accuracy) for every option.\n";
    } else if (topic == "embed") {
        out << "Usage: treesne embed INPUT... -o OUTPUT [options]\n"
            << "       treesne embed [INPUT...] --affinities P.mtx | --neighbors FILE -o OUTPUT [options]\n\n"
            << "Computes a t-SNE embedding of the rows of INPUT: neighbours, affinities P at the given\n"
            << "perplexity, then gradient descent (early exaggeration, the main phase, optionally late\n"
            << "exaggeration; --early-stop ends it once the KL divergence stops falling). Several INPUT\n"
            << "files are stacked row by row (same number of columns). Progress goes to stderr; Ctrl-C\n"
            << "stops the optimisation and writes nothing (exit 130).\n\n"
            << "INPUT: CSV/TSV (delimiter and header detected, # comments), NumPy .npy, IDX (.gz too)\n"
            << "or bhtsne's data.dat.\n\n"
            << "Example (Fashion-MNIST, 70000 images):\n"
            << "  treesne embed train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz --pca 50 \\\n"
            << "      --labels train-labels-idx1-ubyte.gz --labels t10k-labels-idx1-ubyte.gz \\\n"
            << "      -o fashion.csv --plot fashion.png\n\n"
            << "A film of the optimisation, one picture every 10 iterations:\n"
            << "  treesne embed data.csv -o emb.npy --labels labels.txt --snapshot-every 10 \\\n"
            << "      --snapshot-plots frames --snapshots frames.npy --kl-log kl.csv\n"
            << "  ffmpeg -framerate 10 -i frames/%04d.png -pix_fmt yuv420p film.mp4\n\n"
            << "Precomputed inputs (INPUT optional with the first two; given, it initialises by PCA):\n"
            << "  treesne embed --affinities P.mtx -o emb.npy            joint affinities P (--save-affinities)\n"
            << "  treesne embed --neighbors idx.npy --neighbor-distances dist.npy -o emb.npy\n"
            << "                                                         a kNN graph, calibrated as usual\n"
            << "  treesne embed D.npy --input-kind distances -o emb.npy  a dense N x N distance matrix\n"
            << "Heavy tails (finer clusters): --dof 0.5. Other distances: --metric cosine. Other affinities:\n"
            << "--perplexity 30,300 (multiscale), --sigma S, --affinity uniform --k 15.\n";
        for (const auto& group : embed_groups()) print_group(out, group);
    } else if (topic == "evaluate") {
        out << "Usage: treesne evaluate INPUT... EMBEDDING [options]\n\n"
            << "Measures how well EMBEDDING (N rows) represents INPUT (N rows; several files are stacked):\n"
            << "  KL divergence       exact t-SNE KL(P||Q): P from the kNN graph at --perplexity, as embed\n"
            << "                      computes it; Q over all pairs, O(N^2) time, O(N) memory\n"
            << "  K-NN preservation   mean fraction of each point's K nearest input neighbours that are\n"
            << "                      among its K nearest in the embedding\n"
            << "  trustworthiness     Venna & Kaski (2001), K neighbours, on at most --trust-queries points\n"
            << "  K-NN accuracy       leave-one-out K-nearest-neighbour vote in the embedding (--labels)\n"
            << "Above " << evaluate_max_points
            << " points the exact KL divergence is refused: use --sample M.\n\n"
            << "Example:\n"
            << "  treesne evaluate data.csv embedding.csv --labels labels.txt --json\n";
        for (const auto& group : evaluate_groups()) print_group(out, group);
    } else if (topic == "transform") {
        out << transform_help();
        for (const auto& group : transform_groups()) print_group(out, group);
    } else {
        out << accuracy_help();
        for (const auto& group : accuracy_groups()) print_group(out, group);
    }
    return out.str();
}

}  // namespace treesne::cli
