// Help texts: the introduction of each command, then its option groups (cli_options.cpp).
#include <sstream>

#include "cli_internal.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/version.hpp"
#include "treesne/view/html.hpp"

namespace treesne::cli {
namespace detail {

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
        topic == "transform" || topic == "view")
        return topic;
    throw UsageError(
        concat("no help for '", topic, "'; commands are embed, transform, evaluate, accuracy and view"));
}

/// The introduction of 'treesne view --help'.
std::string view_help() {
    std::ostringstream out;
    out << "Usage: treesne view EMBEDDING -o VIEW.html [--labels L] [--label-names N] [--input X]\n"
        << "                    [--snapshots FRAMES.npy] [options]\n\n"
        << "Writes one self-contained HTML page of EMBEDDING (N rows, 1-3 columns): open it from disk in\n"
        << "Chromium or Firefox (113 or later); it needs no server and no network. three.js (WebGL) and the\n"
        << "data are inside it, the data gzip-compressed (coordinates float32).\n\n"
        << "In the page:\n"
        << "  every point drawn with WebGL (a million stay fluid); drag to pan, wheel or pinch to zoom;\n"
        << "  3-D embeddings rotate (drag), zoom (wheel) and pan (right drag)\n"
        << "  colours by --labels (the colours of --plot), a legend: click a class to hide or show it,\n"
        << "  hover it to highlight it\n"
        << "  hover a point: its index and label, and with --input rows that are square images (s x s\n"
        << "  values, s from " << view_min_image_side << " to " << view_max_image_side
        << ": IDX images, .npy or CSV rows) the image itself; click pins it\n"
        << "  Box and Lasso: drag to select points; their indices are listed and saved as a .txt file\n"
        << "  search: a class name highlights and selects the class; a number finds that point\n"
        << "  --snapshots: the recorded frames play as an animation, with a slider\n\n"
        << "Thumbnails are made when --input rows are square images (--no-thumbnails: never;\n"
        << "--thumbnails: refuse rows that are not). Values that are all integers in 0..255 are grey\n"
        << "levels as they are; others are scaled from the data's smallest (black) to largest (white).\n\n"
        << "Example (Fashion-MNIST):\n"
        << "  treesne embed train-images-idx3-ubyte.gz --pca 50 -o fashion.npy --snapshot-every 25 \\\n"
        << "      --snapshots frames.npy\n"
        << "  treesne view fashion.npy --input train-images-idx3-ubyte.gz \\\n"
        << "      --labels train-labels-idx1-ubyte.gz --label-names names.txt --snapshots frames.npy \\\n"
        << "      -o fashion.html\n"
        << "'embed --html FILE' and 'transform --html FILE' write the same page from their result.\n";
    return out.str();
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

/// The introduction of 'treesne --help'.
std::string program_help() {
    std::ostringstream out;
    out << "treesne " << treesne::version << ": Barnes-Hut t-SNE. Embeds N points of D dimensions in 1, 2 or 3\n"
        << "dimensions so that neighbours stay neighbours (van der Maaten 2014).\n\n"
        << "Usage:\n"
        << "  treesne embed INPUT... -o OUTPUT [options]      compute an embedding\n"
        << "  treesne evaluate INPUT... EMBEDDING [options]   measure an embedding's quality\n"
        << "  treesne accuracy INPUT... [options]             Barnes-Hut's error and speed per theta\n"
        << "                                                  against the exact method, on your data\n"
        << "  treesne transform REF_INPUT REF_EMBEDDING NEW_INPUT... -o OUTPUT [options]\n"
        << "                                                  add new points to an embedding\n"
        << "  treesne view EMBEDDING -o VIEW.html [options]    an interactive page of an embedding\n"
        << "  treesne help [embed|evaluate|accuracy|transform|view]\n"
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
        << "Run 'treesne COMMAND --help' (embed, transform, evaluate, accuracy, view) for every option.\n";
    return out.str();
}

/// The introduction of 'treesne embed --help'.
std::string embed_help() {
    std::ostringstream out;
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
        << "Heavy tails (finer clusters): --dof 0.5. Other distances: --metric cosine (or correlation,\n"
        << "manhattan, chebyshev; jaccard or hamming for 0/1 fingerprints). Other affinities:\n"
        << "--perplexity 30,300 (multiscale), --sigma S, --affinity uniform --k 15.\n";
    return out.str();
}

/// The introduction of 'treesne evaluate --help'.
std::string evaluate_help() {
    std::ostringstream out;
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
    return out.str();
}

}  // namespace detail

using namespace detail;

std::string version_text() {
    return concat("treesne ", treesne::version, "\n", simd_kernels());
}

std::string help_text(const std::string& topic) {
    std::ostringstream out;
    if (check_topic(topic).empty()) {
        out << program_help();
    } else if (topic == "embed") {
        out << embed_help();
        for (const auto& group : embed_groups()) print_group(out, group);
    } else if (topic == "evaluate") {
        out << evaluate_help();
        for (const auto& group : evaluate_groups()) print_group(out, group);
    } else if (topic == "view") {
        out << view_help();
        for (const auto& group : view_groups()) print_group(out, group);
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
