// Barnes-Hut against the exact oracle on the user's own data: how far the tree's gradient, repulsion and
// normaliser Z are from the exact O(N^2) sums at each theta, what one gradient costs, and (optionally)
// what the optimisation reaches at each theta against the exact method. `treesne accuracy` and
// benchmarks/accuracy.cpp print this; measure_accuracy() is the one implementation.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "treesne/core/options.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// Without AccuracyOptions::sample, the most points measure_accuracy() studies when it also runs the
/// exact method (AccuracyOptions::runs): that run is 1000 (options' iterations) O(N^2) gradient steps
/// over a dense N x N P, and its dense KL needs N^2 doubles (3.2 GB at 20,000).
inline constexpr index_t accuracy_max_points_runs = 20000;
/// Without runs, the most points: the gradient section is O(N^2) time (three to fifteen exact gradients,
/// O(N) memory; about 2 s each at 100,000 points on two cores: RESULTS.md, section 10.7).
inline constexpr index_t accuracy_max_points = 100000;

/// What measure_accuracy() measures besides the gradient errors.
struct AccuracyOptions {
    /// The thetas compared, each >= 0 (0 = the tree summarises nothing: exact up to rounding). Not empty.
    std::vector<double> thetas{0, 0.25, 0.5, 0.75, 1.0};
    /// Also measure bhtsne's monopole summary (centre of mass only) beside treesne's quadrupole one.
    bool monopole = true;
    /// Also optimise: one full Barnes-Hut run per theta and one exact-method run (Method::exact_tsne),
    /// each judged by its final exact KL divergence and neighbourhood preservation. O(N^2) time and
    /// memory (the exact method's dense P); at most accuracy_max_points_runs points.
    bool runs = false;
    /// Study this many seeded random rows of x (seeded_sample with Options::seed; labels follow); 0 = all
    /// rows. Required above the limits (accuracy_max_points, accuracy_max_points_runs), which also bound
    /// the sample.
    index_t sample = 0;
    /// Neighbours of the preservation and accuracy measures of the runs (>= 1).
    index_t k = 10;
    /// Calls timed per gradient measurement (>= 1); the median is reported. Fewer once the calls have
    /// taken timing_seconds (at least one: the exact gradient of a large N is timed once).
    int timing_calls = 5;
    /// Wall-time budget of the repeated calls of one measurement, in seconds (>= 0).
    double timing_seconds = 2.0;
};

/// One embedding x theta x summary of the gradient section.
struct GradientAccuracy {
    std::string embedding;    ///< "initial" (the init), "after_ee" (after early exaggeration) or "final"
    double exaggeration = 1;  ///< the alpha of the gradient at that embedding (the next step's)
    double theta = 0;
    bool quadrupole = true;  ///< false: bhtsne's monopole summary
    /// ||g_bh - g_exact|| / ||g_exact|| over all N x Dim entries; g = 4 (alpha F_attr - F_rep / Z), the
    /// attraction F_attr exact (sparse P) in both.
    double gradient_error = 0;
    /// ||F_rep,bh / Z_bh - F_rep,exact / Z_exact|| / ||F_rep,exact / Z_exact||: the tree's error proper.
    double repulsion_error = 0;
    /// |Z_bh - Z_exact| / Z_exact.
    double z_error = 0;
    /// Median wall seconds of one Barnes-Hut gradient (tree build, repulsion, attraction).
    double seconds = 0;
    /// Median wall seconds of one exact gradient (O(N^2), O(N) memory) at the same embedding.
    double exact_seconds = 0;
};

/// One full optimisation of the runs section.
struct RunAccuracy {
    Method method = Method::barnes_hut;  ///< barnes_hut at `theta`, or exact_tsne
    double theta = 0;                    ///< NaN for exact_tsne
    /// Exact KL(P||Q) of the final embedding against the kNN P the Barnes-Hut runs optimise (exact Z).
    double kl_sparse = 0;
    /// Exact KL(P||Q) against the dense P over all pairs (what exact_tsne optimises): the difference to
    /// the exact run shows what the 3 * perplexity truncation of P costs.
    double kl_dense = 0;
    /// Mean fraction of the k nearest input neighbours kept among the k nearest in the embedding.
    double knn_preservation = 0;
    /// Leave-one-out k-NN classification accuracy in the embedding; NaN without labels.
    double knn_accuracy = 0;
    /// Wall seconds of the whole run (neighbours and affinities included).
    double seconds = 0;
};

/// Everything measure_accuracy() found, with what it was measured on.
struct AccuracyReport {
    index_t input_points = 0;  ///< rows of x
    index_t points = 0;        ///< rows studied (the sample, or all)
    index_t input_dims = 0;    ///< columns of x
    index_t data_dims = 0;     ///< columns the neighbours are searched in (after Options::pca_dims)
    int dims = 2;              ///< embedding dimension
    double perplexity = 0;
    double dof = 1;          ///< degrees of freedom of the output kernel (OptimizerOptions::dof)
    double theta = 0;        ///< theta of the run that made the after_ee and final embeddings
    index_t iterations = 0;  ///< iterations of that run and of each full run
    index_t exaggeration_iterations = 0;
    std::uint64_t seed = 0;
    int threads = 0;      ///< threads actually used
    bool labels = false;  ///< labels were given (the runs have knn_accuracy)
    index_t k = 10;       ///< AccuracyOptions::k
    /// In order: embedding (initial, after_ee, final), then theta (as given), then quadrupole before
    /// monopole.
    std::vector<GradientAccuracy> gradients;
    /// One per theta (as given), then exact_tsne; empty without AccuracyOptions::runs.
    std::vector<RunAccuracy> runs;
};

/// Measures Barnes-Hut t-SNE against the exact method on x (N x D), with the options embed() would use:
/// perplexity, dims, pca_dims (applied after the sample), seed, threads, iterations, schedule, knn
/// backend. Gradient section: one Barnes-Hut run at options' theta (theta_auto off) gives three
/// embeddings -- the initialisation (with early exaggeration), the embedding after the exaggeration
/// phase and the final one -- and at each the Barnes-Hut gradient (SpaceTree<dims>, quadrupole and, with
/// a.monopole, monopole) at every theta is compared with the exact gradient over the same sparse P
/// (exact_repulsion_rows over all rows: O(N^2) time, O(N) memory). Runs section (a.runs): a full
/// Barnes-Hut run per theta and one exact_tsne run, each from the studied data, judged against both P's.
/// options.optimizer.method is ignored (the study is of barnes_hut against exact_tsne).
/// Every gradient, error and KL is of the output kernel with options.optimizer.dof degrees of freedom
/// (the exact oracle under the same kernel). labels (N entries, or null) add the k-NN accuracy of the runs.
/// progress, if given, is called from the calling thread with a stage name ("pca", "neighbours",
/// "affinities", "optimise", "gradients", "run theta T", "run exact_tsne", "dense KL") and the fraction of it
/// done: 0 when it starts, 1 when it ends. The numbers (not the seconds) do not depend on the thread count.
/// Throws InvalidArgument for bad options (validate(), empty or negative thetas, a label count that is
/// not N) and for a studied N (the sample, or all rows) above accuracy_max_points
/// (accuracy_max_points_runs with runs), with a one-line message naming N and the limit; NumericalError
/// when the exact method's dense P would not fit in memory.
AccuracyReport measure_accuracy(
    ConstMatrixView x, const Options& options, const AccuracyOptions& a,
    const std::vector<int>* labels = nullptr,
    const std::function<void(const std::string& stage, double fraction)>& progress = {});

/// The report as aligned text tables (one line per measurement, a header per section), for a terminal.
std::string format_accuracy_table(const AccuracyReport& report);

/// The report as one JSON object: the settings, "gradient" (an array of objects, one per
/// GradientAccuracy) and "runs" (one per RunAccuracy; NaN written as null). Keys are the CSV's columns.
std::string format_accuracy_json(const AccuracyReport& report);

/// The report as CSV with a header line and one row per measurement: kind (gradient or run), embedding,
/// exaggeration, method, theta, scheme (quadrupole, monopole, exact), grad_rel_error,
/// repulsion_rel_error, z_rel_error, seconds_per_gradient, exact_seconds_per_gradient, kl_sparse,
/// kl_dense, knn_preservation, knn_accuracy, wall_s; fields that do not apply are empty.
std::string format_accuracy_csv(const AccuracyReport& report);

}  // namespace treesne
