// The option groups of each command: the same descriptions parse the command line and print the help.
// Options of the library are described by the option table (value name, help, default from a
// default-constructed Options); a command whose option means something narrower gives its own words.
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

#include "cli_internal.hpp"
#include "treesne/core/errors.hpp"

namespace treesne::cli::detail {

constexpr unsigned help_width = 100;

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

/// --label-names of embed and view.
constexpr const char* label_names_help =
    "Names of the numeric labels 0, 1, 2, ... for the legend: a comma-separated list or a file with one name "
    "per line.";

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
        ("html", text("FILE"),
         "Also write the interactive view of the embedding (as 'treesne view' writes it), .html: WebGL "
         "points coloured by --labels, hover, search, selection, 3-D rotation; thumbnails when the input "
         "rows are square images (IDX images such as Fashion-MNIST's); with --snapshot-every, the frames "
         "play as an animation.")  //
        ("labels", texts("FILE"),
         "Class labels for the picture: one per line, .npy or IDX (.gz too). Give one file per INPUT, "
         "stacked in the same order; the count must equal the number of points.")  //
        ("label-names", text("NAMES"), label_names_help)                           //
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
        ("input-kind", text("coordinates|sparse|distances"),
         with_default("What INPUT holds: points as rows of coordinates; the same as a sparse matrix "
                      "(scipy .npz, Matrix Market coordinate .mtx, svmlight .svm/.svmlight/.libsvm: detected "
                      "by name and banner, this forces it), kept sparse end to end (metrics euclidean, cosine, "
                      "jaccard, hamming; --pca reduces it by a sparse PCA first); or a dense N x N matrix of "
                      "distances (symmetric, zero diagonal, not squared), from which the neighbours are "
                      "taken (initialisation random unless --init FILE).",
                      "coordinates")
             .c_str());
}

po::options_description embed_affinity_options() {
    po::options_description o;
    for (const char* name : {"perplexity", "affinity", "sigma", "k"}) add(o, name);
    add_precomputed_options(o);
    for (const char* name :
         {"perplexity-tolerance", "perplexity-steps", "metric", "knn", "hnsw-m", "hnsw-ef-construction",
          "hnsw-ef-search", "nndescent-trees", "nndescent-leaf", "nndescent-rounds", "pca"})
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
        ("metric", text("euclidean|cosine|manhattan|chebyshev|jaccard|hamming|correlation"),
         with_default(
             "The input distance, as 'embed --metric' used it: the neighbours of the KL divergence's "
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

po::options_description transform_output_options() {
    po::options_description o;
    o.add_options()  //
        ("output,o", text("FILE"),
         "Where the new points' embedding goes (required), M rows in NEW_INPUT's order; the format by "
         "extension: .csv, .tsv, .npy (float64), .dat; - writes CSV to stdout.")  //
        ("plot", text("FILE"),
         "Also draw the reference faded (light grey, or light class colours with --labels) and the new "
         "points on top (coloured by --new-labels), .png or .svg.")  //
        ("html", text("FILE"),
         "Also write the interactive view (as 'treesne view' writes it), .html: the reference points light "
         "and the new points on top, coloured by --labels and --new-labels when both are given, else as "
         "two classes 'reference' and 'new'; thumbnails when the rows are square images.")  //
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
        "The --pca the reference embedding was made with: the PCA is fitted on REFERENCE_INPUT again, as "
        "embed "
        "did, and the new points are projected on its axes; 0 = off.");
    add(o, "knn",
        "Search of each new point's nearest reference points, exact either way: kdtree is fast in low "
        "dimension, brute (blocked GEMM) in high; auto picks by dimension as embed does (hnsw and nndescent "
        "are "
        "accepted and search exactly).",
        "auto|kdtree|brute");
    return o;
}

po::options_description transform_optimizer_options() {
    po::options_description o;
    for (const char* name : {"perplexity", "iterations", "exaggeration", "exaggeration-iterations",
                             "learning-rate", "momentum", "max-step-norm"})
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

po::options_description view_options() {
    po::options_description o;
    o.add_options()                                                                                       //
        ("output,o", text("FILE"), "Where the page goes (required), .html or .htm; written atomically.")  //
        ("labels", texts("FILE"),
         "Class labels of the points: one per line, .npy or IDX (.gz too); several files are stacked in "
         "order. The count must equal the number of points.")  //
        ("label-names", text("NAMES"), label_names_help)       //
        ("input", texts("FILE"),
         "The data the embedding was made from (the same rows; several files are stacked), for thumbnails: "
         "rows of s x s values (s from 8 to 128: IDX images, .npy or CSV rows) are shown as grey images "
         "on hover and click.")  //
        ("thumbnails", po::bool_switch(),
         "Require thumbnails: refuse, with one line, --input rows that are not square images.")         //
        ("no-thumbnails", po::bool_switch(), "No thumbnails, even of square images (a smaller page).")  //
        ("snapshots", text("FILE.npy"),
         "The frames that 'embed --snapshots' recorded (frames x points x dims): the page plays them with a "
         "slider and a play button.")                                                     //
        ("title", text("TEXT"), "The page's title. Default: the embedding's file name.")  //
        ("quiet,q", po::bool_switch(), "Print nothing but errors.")                       //
        ("help,h", po::bool_switch(), "Print this help.");
    return o;
}

std::vector<Group> view_groups() {
    return {{"View", view_options()}};
}

std::vector<Group> transform_groups() {
    return {{"Output", transform_output_options()},
            {"Reference", transform_reference_options()},
            {"Optimisation", transform_optimizer_options()},
            {"Running", running_options(true)}};
}

}  // namespace treesne::cli::detail
