// The `treesne` command line: parsing (a pure function of argv, tested without a process), help texts,
// and the commands. Only this part of treesne links Boost.Program_options.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "treesne/eval/accuracy.hpp"
#include "treesne/core/options.hpp"
#include "treesne/api/transform.hpp"
#include "treesne/treesne.hpp"

namespace treesne::cli {

/// A malformed command line (unknown option, missing or non-numeric argument, value out of range).
/// main() prints its one-line message and exits with status 2.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class Command { help, version, embed, transform, evaluate, accuracy, view };

/// How much goes to stderr: errors only, stage lines and progress, or also the resolved options.
enum class Verbosity { quiet, normal, verbose };

/// Everything `treesne embed` needs besides the data.
struct EmbedConfig {
    /// one or more matrix files, rows stacked in order (none with --affinities or --neighbors)
    std::vector<std::string> inputs;
    std::string output;                    ///< -o: embedding file by extension, "-" = CSV on stdout
    Options options;                       ///< the library options; defaults of a default Options
    std::string init_path;                 ///< --init FILE (then options.init == InitKind::user)
    std::vector<std::string> label_paths;  ///< --labels, stacked in order like the inputs
    std::string label_names;               ///< --label-names FILE or comma-separated list; empty = none
    std::string plot_path;                 ///< --plot FILE.png|.svg; empty = none
    std::string html_path;                 ///< --html FILE.html: the interactive view; empty = none
    std::string affinities_path;           ///< --save-affinities FILE.mtx; empty = none
    std::string precomputed_affinities;    ///< --affinities P.mtx: P given (inputs then optional)
    std::string neighbors_path;            ///< --neighbors FILE: the kNN graph given (inputs optional)
    std::string neighbor_distances_path;   ///< --neighbor-distances FILE (with non-.mtx --neighbors)
    bool input_distances = false;          ///< --input-kind distances: the input is an N x N distance matrix
    bool input_sparse = false;             ///< --input-kind sparse: read INPUT as a sparse matrix (io::read_sparse_matrix)
    bool log_every_given = false;          ///< --log-every was given (else a terminal gets livelier updates)
    std::string checkpoint_path;           ///< --checkpoint FILE: save the optimiser state; empty = none
    index_t checkpoint_every = Callbacks{}.checkpoint_every;  ///< --checkpoint-every N iterations
    std::string resume_path;                 ///< --resume FILE: continue a saved state; empty = none
    std::optional<double> memory_limit_gib;  ///< --memory-limit GiB (0 = no check); unset = what is available
    /// --snapshot-every N: record the embedding at the iterations that are multiples of N, and the final
    /// one (0 = off). Needs snapshots_path or snapshot_plots_dir.
    index_t snapshot_every = 0;
    std::string snapshots_path;      ///< --snapshots FILE.npy: the frames as one (frames, N, dims) array
    std::string snapshot_plots_dir;  ///< --snapshot-plots DIR: DIR/0001.png, ... with fixed axes
    std::string kl_log_path;         ///< --kl-log FILE: the cost history as CSV; empty = none
};

/// Everything `treesne evaluate` needs besides the data.
struct EvaluateConfig {
    std::vector<std::string> inputs;       ///< the high-dimensional data, rows stacked in order
    std::string embedding;                 ///< the embedding to judge (last positional argument)
    std::vector<std::string> label_paths;  ///< --labels, stacked in order
    double perplexity = Options{}.affinities.perplexity;  ///< of the P the KL divergence is measured against
    double dof = Options{}.optimizer.dof;  ///< --dof: degrees of freedom of the output kernel of the KL
    Metric metric = Metric::euclidean;     ///< --metric: input distances (P of the KL, neighbourhoods)
    int pca_dims = 0;                     ///< --pca: PCA of the input first, as `embed --pca` did
    index_t k = 10;                       ///< neighbours of the preservation, trustworthiness and accuracy
    index_t sample = 0;                   ///< --sample M: evaluate on M random points (0 = all)
    index_t trust_queries = 5000;         ///< trustworthiness query points (sampled evenly above this)
    std::uint64_t seed = Options{}.seed;  ///< of --sample
    int threads = 0;                      ///< 0 = all
    bool json = false;                    ///< one JSON object instead of aligned text
    std::optional<double> memory_limit_gib;  ///< --memory-limit GiB (0 = no check); unset = what is available
};

/// Everything `treesne accuracy` needs besides the data.
struct AccuracyConfig {
    std::vector<std::string> inputs;       ///< one or more matrix files, rows stacked in order
    std::vector<std::string> label_paths;  ///< --labels, stacked in order (k-NN accuracy of the runs)
    /// perplexity, dims, pca, seed, threads, knn, iterations as embed takes them; optimizer.theta is the
    /// theta of the run that makes the after_ee and final embeddings (the default).
    Options options;
    AccuracyOptions accuracy;  ///< --theta LIST, --runs, --sample, --no-monopole
    std::string json_path;     ///< --json FILE; empty = none
    std::string csv_path;      ///< --csv FILE; empty = none
    std::string plot_path;     ///< --plot FILE.png|.svg; empty = none
    std::optional<double> memory_limit_gib;  ///< --memory-limit GiB (0 = no check); unset = what is available
};

/// Everything `treesne transform` needs besides the data.
struct TransformConfig {
    std::string reference_input;      ///< the data the reference embedding was made from (N rows)
    std::string reference_embedding;  ///< its embedding (N rows, 1-3 columns)
    std::vector<std::string> inputs;  ///< the new points, rows stacked in order (M rows in all)
    std::string output;               ///< -o: the new points' embedding by extension, "-" = CSV on stdout
    /// pca (as embed --pca made the reference), knn backend, theta, seed, threads, report_every.
    Options options;
    TransformOptions transform;                ///< --perplexity, --iterations, ... --repel-new
    std::string label_path;                    ///< --labels: the reference's labels; empty = none
    std::vector<std::string> new_label_paths;  ///< --new-labels, one per new input; empty = none
    std::string plot_path;                     ///< --plot FILE.png|.svg; empty = none
    std::string html_path;                     ///< --html FILE.html: the interactive view; empty = none
    bool log_every_given = false;              ///< --log-every was given
    Verbosity verbosity = Verbosity::normal;
    std::optional<double> memory_limit_gib;  ///< --memory-limit GiB (0 = no check); unset = what is available
};

/// Whether `view` draws thumbnails of the input rows: when they are square images (auto), always (on:
/// refused for rows that are not), or never (off).
enum class Thumbnails { automatic, on, off };

/// Everything `treesne view` needs.
struct ViewConfig {
    std::string embedding;                 ///< the embedding to show (N rows, 1-3 columns)
    std::string output;                    ///< -o FILE.html
    std::vector<std::string> label_paths;  ///< --labels, stacked in order; N labels in all
    std::string label_names;               ///< --label-names FILE or comma-separated list; empty = none
    std::vector<std::string> inputs;       ///< --input: the data rows (N in all), for the thumbnails
    Thumbnails thumbnails = Thumbnails::automatic;  ///< --thumbnails / --no-thumbnails
    std::string snapshots_path;                     ///< --snapshots FILE.npy (embed --snapshots): the frames
    std::string title;                              ///< --title; empty = the embedding's file name
    Verbosity verbosity = Verbosity::normal;
};

/// Parses the arguments of `treesne view` (those after the command name). Throws UsageError with a
/// one-line message for anything malformed.
ViewConfig parse_view(const std::vector<std::string>& args);

/// Runs a parsed `view`: refuses an output that is an input, reads the embedding, the labels, the input
/// rows and the frames, checks that their counts agree (one line naming the files), and writes the page
/// atomically. Throws like run_embed.
int run_view(const ViewConfig& config);

/// Parses the arguments of `treesne transform` (those after the command name). Throws UsageError with
/// a one-line message for anything malformed; shapes are checked when the files are read.
TransformConfig parse_transform(const std::vector<std::string>& args);

/// Runs a parsed `transform`: refuses outputs that are inputs (check_distinct_files), reads the three
/// inputs, checks that their shapes agree (one line naming the files) and its memory estimate
/// (--memory-limit), projects on the reference's PCA, transforms, writes the embedding of the new points
/// and the --plot (the reference faded, the new points on top) together at the end (none when one
/// fails); with --labels and --new-labels also prints the new points' 10-NN accuracy against the
/// reference labels. Progress to stderr. Throws like run_embed.
int run_transform(const TransformConfig& config);

/// A parsed command line.
struct CliConfig {
    Command command = Command::help;
    std::string help_topic;  ///< for Command::help: "", "embed", "evaluate", "accuracy" or "transform"
    Verbosity verbosity = Verbosity::normal;
    EmbedConfig embed;
    EvaluateConfig evaluate;
    AccuracyConfig accuracy;
    TransformConfig transform;
    ViewConfig view;
};

/// Parses argv (argv[0] is the program name). Throws UsageError with a one-line message for anything
/// malformed; values that need the data (perplexity against N, file contents) are checked later.
CliConfig parse_cli(int argc, const char* const* argv);

/// The help text of the program ("") or of a command ("embed", "evaluate", "accuracy"). Defaults come
/// from a default-constructed Options (and AccuracyOptions). Throws UsageError for an unknown topic.
std::string help_text(const std::string& topic);

/// "treesne <version>".
std::string version_text();

/// Runs a parsed `embed`: refuses outputs that are inputs or each other, reads, validates, checks the
/// outputs, embeds, writes every output under a temporary name and renames them all into place at the
/// end, -o last (the embedding with -o - goes to stdout). Progress and stage lines go to stderr. Throws treesne::Error for data and runtime
/// errors. Returns the exit status (0, or 130 when interrupted).
int run_embed(const CliConfig& config);

/// Runs a parsed `evaluate`, refusing before the work an estimate above --memory-limit; the measures go
/// to `out`, progress to stderr. Throws like run_embed.
int run_evaluate(const CliConfig& config, std::ostream& out);

/// Runs a parsed `accuracy`: refuses outputs that are inputs or each other, reads, checks its memory
/// estimate (--memory-limit), measures (measure_accuracy), prints the table to `out` and writes the
/// --json, --csv and --plot files together at the end (none when one fails); progress to stderr. Throws
/// like run_embed.
int run_accuracy(const CliConfig& config, std::ostream& out);

/// GLIBC_TUNABLES as the program wants it, given the current value (null when unset): the user's
/// value with glibc.malloc.hugetlb=1 and glibc.malloc.mmap_threshold=1048576 appended where it does
/// not name them (see tools/treesne.cpp for why); the current value unchanged when it names both.
std::string with_malloc_tunables(const char* current);

/// The whole program: parse, run, map every exception to one line on stderr and an exit status
/// (0 success, 1 data/runtime error, 2 usage error, 130 interrupted).
int main_entry(int argc, const char* const* argv);

}  // namespace treesne::cli
