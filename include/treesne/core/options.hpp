// Options, one documented aggregate per stage. Each "auto" is a std::optional or an enumerator resolved by
// one function (resolve_learning_rate(), resolve_backend()). Every user-facing field has one entry in the
// option table (option_table.hpp: names, help, range, flags), which the CLI, Python, validate() and the
// checkpoint read; the CLI prints its --help defaults from a default-constructed Options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "treesne/core/types.hpp"

namespace treesne {

/// Which nearest-neighbour search to use. The exact backends return the same graph (equidistant
/// neighbours ordered by tie_key(), see neighbors.hpp); hnsw is approximate.
enum class KnnBackend {
    automatic,  ///< the faster exact one for the given N and D (crossovers measured, see neighbors.cpp)
    kdtree,     ///< nanoflann kd-tree: the faster one for D <= 4 at k = 90 (measured), slow at D = 50
    brute,      ///< blocked float GEMM + exact double re-ranking: O(N^2 D), fast in high dimension
    hnsw,       ///< hnswlib's HNSW graph, approximate (a few neighbours per row may be missed), for
                ///< large N; deterministic for any thread count; parameters in NeighborOptions
    nndescent,  ///< random-projection forest + NN-descent, approximate, parallel, for large N;
                ///< deterministic for any thread count; parameters in NeighborOptions
};

/// The distance between input points that the neighbour search ranks by. The Gaussian affinities use
/// its square (for euclidean: the squared Euclidean distance, as t-SNE always did; openTSNE squares every
/// metric the same way).
enum class Metric {
    euclidean,  ///< sqrt(sum (x_k - y_k)^2): every backend
    cosine,     ///< 1 - <x, y> / (|x| |y|): every backend (on rows scaled to unit length, where the
                ///< Euclidean order is the cosine order); an all-zero row is refused
    manhattan,  ///< sum |x_k - y_k|: kdtree, brute, nndescent
    chebyshev,  ///< max |x_k - y_k|: brute, nndescent
    jaccard,    ///< over the coordinates where x or y is non-zero, the share where x_k != y_k (scipy's;
                ///< 0 for two all-zero rows); on 0/1 rows 1 - |A and B| / |A or B| (Tanimoto, for
                ///< fingerprints): brute (bit-packed popcounts when every entry is 0 or 1), nndescent
    hamming,    ///< the share of coordinates where x_k != y_k (scipy's): brute (popcounts on 0/1 rows),
                ///< nndescent
    correlation,  ///< 1 - <x - mean(x), y - mean(y)> / (|x - mean(x)| |y - mean(y)|) (scipy's): every
                  ///< backend (cosine on the rows centred on their own mean); a constant row is refused
};

/// What the optimiser minimises and how the gradient is computed.
enum class Method {
    barnes_hut,  ///< t-SNE, sparse P from kNN, repulsion by a 2^Dim-tree: O(N log N) per iteration
    exact_tsne,  ///< t-SNE with dense P over all pairs and the exact O(N^2) gradient (van der Maaten 2008)
    exact_sne,   ///< asymmetric SNE, Gaussian output kernel, exact O(N^2) gradient (Hinton & Roweis 2002)
};

/// How the embedding starts.
enum class InitKind {
    pca,     ///< first Dim principal components of X, scaled so column 1 has sd 1e-4 (Kobak & Berens 2019)
    random,  ///< about N(0, 1e-4^2): Irwin-Hall sums of 12 uniforms (bounded by +-6 sd), from a portable
             ///< seeded generator, so the same numbers on every platform
    user,    ///< Options::init_coordinates, rescaled so column 1 has sd 1e-4 unless keep_user_scale
};

/// Nearest-neighbour search.
struct NeighborOptions {
    /// Backend; automatic picks per (N, D) among those that support the metric.
    KnnBackend backend = KnnBackend::automatic;
    /// The distance neighbours are ranked by (backend_supports() says which backend computes which).
    Metric metric = Metric::euclidean;
    /// KnnBackend::hnsw only. Links per point and layer (HNSW's M; 2M on the bottom layer). More is
    /// slower to build and uses 8M bytes more per point, and gives higher recall. Range [2, 1000].
    int hnsw_m = 16;
    /// KnnBackend::hnsw only. Candidate list size while the index is built (efConstruction): the graph's
    /// quality, paid for in build time. Range [1, 100000]; values below M act as M.
    int hnsw_ef_construction = 150;
    /// KnnBackend::hnsw only. Candidate list size of each query (ef); recall grows with it, and so does
    /// the query time. 0 = auto (see resolve_hnsw_ef_search); values below k + 1 act as k + 1.
    int hnsw_ef_search = 0;
    /// KnnBackend::nndescent only. Random-projection trees of the first graph: more give a better start
    /// (fewer refinement rounds) for more time. 0 = auto (src/knn/nndescent.cpp). Range [0, 1000].
    int nndescent_trees = 0;
    /// KnnBackend::nndescent only. Most points per leaf of those trees: every point starts with its
    /// leaf-mates as candidates. 0 = auto, else in [2, 100000].
    int nndescent_leaf_size = 0;
    /// KnnBackend::nndescent only. Most refinement rounds (fewer when a round changes almost nothing).
    /// 0 = auto. Range [0, 1000].
    int nndescent_rounds = 0;
};

/// How the conditional affinities p_{j|i} over each point's k nearest neighbours are made.
enum class AffinityKind {
    perplexity,  ///< Gaussian exp(-beta_i d^2), beta_i calibrated to the perplexity (t-SNE's; the default);
                 ///< with more_perplexities the average of the rows of every scale (multiscale)
    sigma,       ///< Gaussian exp(-d^2 / (2 sigma^2)) of one fixed width for every point
    uniform,     ///< 1/k on each of the k nearest neighbours (openTSNE's Uniform)
};

/// Input affinities P.
struct AffinityOptions {
    /// The kernel of the conditional affinities.
    AffinityKind kind = AffinityKind::perplexity;
    /// Effective number of neighbours; k = min(N-1, floor(3 * perplexity)). Range [1, N-1). Larger values
    /// keep more global structure and cost O(k) more time and memory.
    double perplexity = 30.0;
    /// Multiscale (kind perplexity; openTSNE's MultiscaleMixture, Lee et al. 2015): further perplexities;
    /// each row is calibrated to every scale and the rows averaged, so local and more global neighbours
    /// both count; k follows the largest scale. Empty = one scale.
    std::vector<double> more_perplexities;
    /// The Gaussian width of kind sigma, in the input's distance units; > 0.
    double sigma = 1.0;
    /// Neighbours per point; 0 = auto: min(N-1, floor(3 * the largest perplexity)). Given, it must exceed
    /// every perplexity of kind perplexity (a row of k neighbours has at most entropy log k).
    index_t k = 0;
    /// Allowed |H(P_i) - log(perplexity)| of the per-point search on the Gaussian precision.
    double entropy_tolerance = 1e-5;
    /// Search steps per point (safeguarded Newton steps, bisection where Newton would leave the bracket)
    /// before giving up with the closest precision found.
    int max_steps = 200;
};

/// Gradient descent (van der Maaten 2014, with the defaults of bhtsne and openTSNE).
struct OptimizerOptions {
    /// Objective and gradient.
    Method method = Method::barnes_hut;
    /// Degrees of freedom alpha of the output kernel w = (1 + d^2 / alpha)^-alpha (Kobak et al. 2019,
    /// "Heavy-tailed kernels reveal a finer cluster structure in t-SNE visualisations"): 1 = the Cauchy
    /// kernel of t-SNE (the default); alpha < 1 has heavier tails (tighter, more separated clusters),
    /// alpha -> inf approaches the Gaussian kernel of SNE. barnes_hut and exact_tsne; exact_sne has the
    /// Gaussian kernel and takes only 1. Range (0, 1e6].
    double dof = 1.0;
    /// Barnes-Hut accuracy: a cell is summarised when its half-width / distance < theta (bhtsne's
    /// convention). 0 is exact (and slow); larger is faster and coarser. Range [0, inf).
    double theta = 0.5;
    /// theta chosen during the run (--theta auto): every theta_auto_every iterations the relative error
    /// of the repulsive forces is measured on a seeded sample of theta_auto_sample points against their
    /// exact sums (O(sample N)), and theta set to the largest value of a grid whose error is within
    /// target_error (auto_theta_search in optimizer.hpp); `theta` is where the first search starts.
    /// Deterministic for any thread count; the controller's theta is part of the optimiser state.
    bool theta_auto = false;
    /// The relative repulsion error the auto controller aims at, in [0, 1]; 0 drives theta to 0 (exact).
    /// 0.005: on Fashion-MNIST 2,000 and 5,000 it reached theta 0.5's final KL (0.01 was 0.7-0.9 %
    /// worse); benchmarks/RESULTS.md section 1.
    double target_error = 0.005;
    /// Total gradient-descent iterations (the budget of one full run).
    index_t iterations = 1000;
    /// Early exaggeration factor alpha multiplying P (Linderman & Steinerberger 2019: helps clusters form).
    double exaggeration = 12.0;
    /// Iterations run with exaggeration (and with the initial momentum).
    index_t exaggeration_iterations = 250;
    /// Step size; nullopt = auto = max(N / exaggeration, 200) (Belkina et al. 2019); N / exaggeration
    /// without the floor for dof > 1 (lighter tails diverge above it; resolve_learning_rate); 0.1 for
    /// exact_sne, whose gradient is not scaled by 1/N.
    std::optional<double> learning_rate;
    /// Late exaggeration (FIt-SNE's late_exag_coeff; Linderman et al. 2019): from iteration
    /// late_exaggeration_start on, P is multiplied by this. 1 = off (the default).
    double late_exaggeration = 1.0;
    /// First (0-based) iteration of late exaggeration; -1 = right after early exaggeration.
    index_t late_exaggeration_start = -1;
    /// Iteration at which the momentum switches from `momentum` to `final_momentum`; -1 = at the end of
    /// early exaggeration (bhtsne's and openTSNE's schedule).
    index_t momentum_switch = -1;
    /// Momentum before the switch.
    double momentum = 0.5;
    /// Momentum from the switch on.
    double final_momentum = 0.8;
    /// Gains (Jacobs 1988): +gain_increase when the gradient changes sign, *gain_decrease otherwise.
    double gain_increase = 0.2;
    double gain_decrease = 0.8;
    /// Gains never fall below this.
    double min_gain = 0.01;
    /// Early stopping: after early exaggeration, every early_stop_window iterations, stop when the KL
    /// (exact-Z sparse estimate, as reported) decreased by less than this fraction of itself over the
    /// window. 0 = off (the default).
    double early_stop = 0.0;
    /// If > 0, each point's step is clipped to this Euclidean length (FIt-SNE's and openTSNE's
    /// max_step_norm, 5 in both). 0 = off. Early exaggeration at the default learning rate N / 12 is
    /// unstable for points whose row of P holds much more than the average 1 / N (hubs of the neighbour
    /// graph, common at 10^6 points in 50 dimensions): unclipped, they flew hundreds of units per
    /// iteration and some ended stranded far from their cluster (RESULTS.md section 9).
    /// Fashion-MNIST 20,000 never steps beyond 5 (the same bits as 0); 70,000 does a few times.
    double max_step_norm = 5.0;
};

/// The auto-theta controller (OptimizerOptions::theta_auto): it measures every this many iterations
/// (from iteration 0), on this many seeded sample points, and picks theta on the grid min, min + step,
/// ..., max, moving at most theta_auto_max_up grid steps up at one measurement.
inline constexpr index_t theta_auto_every = 50;
/// The largest OptimizerOptions::dof accepted: at 1e6 the kernel is the Gaussian exp(-d^2) to within
/// d^4 / 2e6 relative.
inline constexpr double max_dof = 1e6;
/// Iterations between two early-stopping checks (OptimizerOptions::early_stop).
inline constexpr index_t early_stop_window = 50;
inline constexpr index_t theta_auto_sample = 256;
inline constexpr double theta_auto_min = 0.1;
inline constexpr double theta_auto_max = 1.0;
inline constexpr double theta_auto_step = 0.05;
inline constexpr int theta_auto_max_up = 2;

/// Everything one embedding needs. Defaults are the documented ones (README, --help).
struct Options {
    /// Output dimension: 1, 2 or 3.
    int dims = 2;
    /// Seed of the random initialisation (and of anything else random). Same seed, same output.
    std::uint64_t seed = 42;
    /// Worker threads; 0 = all available; at most thread_limit() (parallel.hpp) are used. The result
    /// does not depend on it.
    int threads = 0;
    /// Optional PCA of X to this many dimensions before the neighbour search (0 = off).
    int pca_dims = 0;
    /// Initialisation.
    InitKind init = InitKind::pca;
    /// Initial coordinates for InitKind::user (N x dims).
    Matrix init_coordinates;
    /// With InitKind::user: use the coordinates as given instead of rescaling them to sd 1e-4.
    bool keep_user_scale = false;
    /// Report to the observer every this many iterations (and at the last one). 0 = only at the end.
    index_t report_every = 50;

    NeighborOptions neighbors;
    AffinityOptions affinities;
    OptimizerOptions optimizer;
};

/// Checks every field against its range for N points in D dimensions; throws InvalidArgument naming the
/// field, its value and what would work ("perplexity 50 must be below N - 1 = 39 for 40 points").
void validate(const Options& options, index_t n, index_t d);

/// Number of neighbours used for a perplexity: min(N-1, floor(3 * perplexity)).
index_t neighbor_count(double perplexity, index_t n);
/// Number of neighbours the affinities need for N points: options.k if set, else neighbor_count() of
/// the largest perplexity.
index_t neighbor_count(const AffinityOptions& options, index_t n);
const char* to_string(AffinityKind kind);
std::optional<AffinityKind> parse_affinity_kind(const std::string& name);

/// The learning rate actually used for N points: the option if set, else max(N / exaggeration, 200), or
/// N / exaggeration for dof > 1 (0.1 for exact_sne).
double resolve_learning_rate(const OptimizerOptions& options, index_t n);

/// Above this many points, in at least approximate_knn_min_dims dimensions, KnnBackend::automatic picks
/// the approximate nndescent backend: near 250,000 x 50 it ties with the exact brute force at the same
/// final KL, and the brute force grows as N^2 (benchmarks/RESULTS.md, sections 6 and 10.1).
constexpr index_t approximate_knn_min_points = 300'000;
constexpr index_t approximate_knn_min_dims = 20;

/// Resolves KnnBackend::automatic for N points in D dimensions: the faster exact backend (kdtree or
/// brute), or nndescent above the crossover above. Other backends are returned as they are.
KnnBackend resolve_backend(KnnBackend backend, index_t n, index_t d, Metric metric = Metric::euclidean);

/// Bytes a resolved backend allocates beyond the graph it returns, for N points of D dimensions and k
/// neighbours (each backend's own model), plus the unit-length copy of the rows that Metric::cosine
/// searches. Counts times element sizes, like memory.hpp's estimate.
double neighbor_search_bytes(KnnBackend backend, double n, double d, double k, const NeighborOptions& options);

/// Whether a backend computes a metric (automatic: every metric, by resolve_backend's choice).
bool backend_supports(KnnBackend backend, Metric metric);

/// Whether a metric's distances scale with the data (euclidean, manhattan, chebyshev: multiplying X by c
/// multiplies them by c) rather than not depending on its scale at all (cosine, correlation, jaccard,
/// hamming). The neighbour graph of a rescaled input carries the scale only for the former.
bool metric_scales_with_data(Metric metric);

/// Throws InvalidArgument naming the field unless the hnsw and nndescent parameters are in their ranges
/// (checked for every backend, so a bad value never waits for the backend that reads it).
void validate(const NeighborOptions& options);

/// The ef of the hnsw queries for k neighbours: the option if set (at least k + 1), else the measured
/// default (neighbors.cpp).
index_t resolve_hnsw_ef_search(const NeighborOptions& options, index_t k);

/// The perplexity of the new points' affinities when TransformOptions::perplexity is auto: the
/// reference's, at most this. Measured (src/api/transform.cpp): a new point's row over the 3 x 30 nearest
/// reference points often reaches into a neighbouring class; 10 placed more new points among their
/// own class (openTSNE's transform uses 5).
inline constexpr double transform_auto_perplexity = 10.0;

/// How the new points are optimised. The defaults were chosen by measurement (src/api/transform.cpp): a
/// short run from the neighbours' weighted median, enough to pull each point into place.
struct TransformOptions {
    /// Gradient-descent iterations. More lets a point travel farther from its start; each costs one tree
    /// walk per new point.
    index_t iterations = 250;
    /// Exaggeration alpha of P during the first exaggeration_iterations (1 = none): pulls each new point
    /// firmly towards its neighbours before it settles. Range (0, inf).
    double exaggeration = 4.0;
    /// Iterations run with the exaggeration.
    index_t exaggeration_iterations = 100;
    /// Step size of the per-point gradient (the rows of P each sum to 1, so it is not scaled by N as
    /// the embedding's is). Range (0, inf); 0.03 to 1 placed points equally well, above 1 the steps
    /// overshoot (3 lost 5 points of accuracy on Fashion-MNIST).
    double learning_rate = 0.1;
    /// Momentum of every step, in [0, 1).
    double momentum = 0.8;
    /// If > 0, each point's step is clipped to this length (FIt-SNE's max_step_norm). 0 = off.
    double max_step_norm = 0.0;
    /// Perplexity of the new points' affinities, >= 1 and below N - 1; nullopt = auto =
    /// min(the reference's (Options::affinities), transform_auto_perplexity).
    std::optional<double> perplexity;
    /// Also repel the new points from each other (a second tree over them, rebuilt every iteration).
    /// Off: each new point sees only the reference, as if it were added alone, so its place does not
    /// depend on which other points are transformed with it.
    bool repel_new = false;
};

/// Throws InvalidArgument naming the field unless t's values are in their ranges.
void validate(const TransformOptions& t);

/// Names used by the CLI and in messages, from the name tables of option_table.hpp.
const char* to_string(Method method);
const char* to_string(KnnBackend backend);
const char* to_string(InitKind init);
const char* to_string(Metric metric);
std::optional<Metric> parse_metric(const std::string& name);
std::optional<Method> parse_method(const std::string& name);
std::optional<KnnBackend> parse_backend(const std::string& name);

}  // namespace treesne
