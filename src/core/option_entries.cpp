// The option table's entries. Help texts are the CLI's (`treesne embed --help` prints them with the
// default read through `get` from a default-constructed Options); ranges are the library's, which the CLI
// and Python enforce through the same entries. The order is the checkpoint's (trajectory_settings) and
// validate()'s.
#include "core/option_entries.hpp"

#include <cmath>
#include <limits>

#include "treesne/core/errors.hpp"

namespace treesne {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double int_max = std::numeric_limits<int>::max();

/// v as an index_t. The table carries integers as doubles: exact to 2^53, and rounded beyond, where the
/// largest index_t rounds up to 2^63, which saturates here rather than overflow.
index_t to_index(double v) {
    constexpr double limit = 9223372036854775808.0;  // 2^63
    if (v >= limit) return std::numeric_limits<index_t>::max();
    if (v < -limit) return std::numeric_limits<index_t>::min();
    return static_cast<index_t>(v);
}

/// [lo, hi] (hi = inf: unbounded), the ends closed unless said.
OptionRange closed(double lo, double hi = inf) {
    OptionRange r;
    r.lo = lo;
    r.hi = hi;
    return r;
}

OptionRange open_low(double lo, double hi = inf) {
    OptionRange r = closed(lo, hi);
    r.lo_open = true;
    return r;
}

OptionRange open_high(double lo, double hi) {
    OptionRange r = closed(lo, hi);
    r.hi_open = true;
    return r;
}

OptionRange with_sentinel(OptionRange r, double sentinel) {
    r.sentinel = sentinel;
    return r;
}

OptionRange with_note(OptionRange r, const char* note) {
    r.note = note;
    return r;
}

template <class Enum, std::size_t N>
std::vector<const char*> names_of(const std::array<EnumName<Enum>, N>& table) {
    std::vector<const char*> out;
    for (const auto& entry : table) out.push_back(entry.name);
    return out;
}

/// Index of `value` in its name table, as a double (the table's get).
template <class Enum, std::size_t N>
double index_of(const std::array<EnumName<Enum>, N>& table, Enum value) {
    for (std::size_t i = 0; i < N; ++i)
        if (table[i].value == value) return static_cast<double>(i);
    return 0;
}

// What a run of n points in d dimensions does with the options (the `effective` accessors).
// The neighbour search runs on the PCA-reduced data when PCA reduces, and only for barnes_hut (the exact
// methods use all pairs).
index_t searched_dims(const Options& o, index_t d) {
    return o.pca_dims > 0 && o.pca_dims < d ? o.pca_dims : d;
}

KnnBackend effective_backend(const Options& o, index_t n, index_t d) {
    if (o.optimizer.method != Method::barnes_hut) return KnnBackend::automatic;
    return resolve_backend(o.neighbors.backend, n, searched_dims(o, d), o.neighbors.metric);
}

bool calibrated(const Options& o) {
    return o.affinities.kind == AffinityKind::perplexity;
}

/// The value of a backend's parameter where that backend runs, else 0.
double if_backend(const Options& o, index_t n, index_t d, KnnBackend backend, double v) {
    return effective_backend(o, n, d) == backend ? v : 0.0;
}

// The entries, one function per group so that each stays readable (they are tables: one entry per option,
// so a group of eight options is longer than a screen). Each lambda reads or writes one
// field; NaN in `set` means "auto" (the sentinel, or unset).

// table: one braced list of entries, one per option of the group.
std::vector<OptionDescriptor> general_entries() {
    using K = OptionKind;
    const auto g = OptionGroup::general;
    return {
        {"dims", "dims", "dims", "N", "Embedding dimension: 1, 2 or 3.", nullptr, K::integer, g, closed(1, 3),
         shapes_trajectory, [](const Options& o) { return double(o.dims); },
         [](Options& o, double v) { o.dims = int(v); }},
        {"method", "method", "method", "barnes_hut|exact_tsne|exact_sne",
         "barnes_hut: sparse P and a 2^dims-tree, O(N log N) per iteration; exact_tsne: dense P over all "
         "pairs, "
         "exact O(N^2) gradient (small N); exact_sne: asymmetric SNE, O(N^2). The dense P follows --metric, "
         "--affinity, --sigma, several --perplexity values and --k as the sparse one does.",
         nullptr, K::enumeration, OptionGroup::optimizer, closed(0), shapes_trajectory,
         [](const Options& o) { return index_of(method_names, o.optimizer.method); },
         [](Options& o, double v) { o.optimizer.method = method_names.at(std::size_t(v)).value; },
         names_of(method_names)},
        {"threads", "threads", "threads", "N",
         "Worker threads; 0 = all cores. At most 4 x the cores: a larger N only adds overhead and is lowered "
         "to "
         "that, with a note. The result does not depend on it.",
         nullptr, K::integer, g, closed(0, 1 << 20), option_no_flags,
         [](const Options& o) { return double(o.threads); },
         [](Options& o, double v) { o.threads = int(v); }},
        {"pca",
         "pca_dims",
         "pca dims",
         "DIMS",
         "First reduce the input to its DIMS leading principal components (e.g. 50 for images); 0 = off.",
         nullptr,
         K::integer,
         g,
         closed(0, int_max),
         shapes_p,
         [](const Options& o) { return double(o.pca_dims); },
         [](Options& o, double v) { o.pca_dims = int(v); },
         {},
         nullptr,
         // PCA to D or more dimensions is none.
         [](const Options& o, index_t, index_t d) {
             return searched_dims(o, d) < d ? double(o.pca_dims) : 0.0;
         }},
        {"log-every", "report_every", "report interval", "N",
         "Progress interval: without a terminal, a line every N iterations (0 = only at the end); on a "
         "terminal, "
         "a live line rewritten every 10 iterations unless N is given.",
         nullptr, K::integer, g, closed(0), option_no_flags,
         [](const Options& o) { return double(o.report_every); },
         [](Options& o, double v) { o.report_every = to_index(v); }},
        {"seed", "seed", "seed", "S", "Seed of everything random; the same seed gives the same output.",
         nullptr, K::seed, g, closed(0), option_no_flags, [](const Options& o) { return double(o.seed); },
         [](Options& o, double v) { o.seed = std::uint64_t(v); }},
        {"init", "init", "init", "pca|random|FILE",
         "Starting embedding: pca = leading principal components, random = about N(0, 1e-4^2), or a matrix "
         "file "
         "with N rows and --dims columns. Each is scaled so its first column has standard deviation 1e-4 "
         "(see "
         "--keep-init-scale), whatever its magnitude. A file whose points all coincide or that has a "
         "constant "
         "column is refused (t-SNE never moves points along such a column); a principal component without "
         "variance starts from random values instead.",
         nullptr, K::enumeration, g, closed(0), option_no_flags,
         [](const Options& o) { return index_of(init_names, o.init); },
         [](Options& o, double v) { o.init = init_names.at(std::size_t(v)).value; }, names_of(init_names)},
        {"keep-init-scale", "keep_user_scale", "keep user scale", "",
         "With --init FILE: use the coordinates exactly as given (refused beyond 2^+-500, where their "
         "squared "
         "distances overflow or underflow).",
         nullptr, K::flag, g, closed(0, 1), option_no_flags,
         [](const Options& o) { return o.keep_user_scale ? 1.0 : 0.0; },
         [](Options& o, double v) { o.keep_user_scale = v != 0; }},
    };
}

// table: one braced list of entries, one per option of the group.
std::vector<OptionDescriptor> neighbor_entries() {
    using K = OptionKind;
    const auto g = OptionGroup::neighbors;
    const unsigned p = shapes_p;
    return {
        {"metric", "metric", "metric", "euclidean|cosine|manhattan|chebyshev|jaccard|hamming|correlation",
         "The distance neighbours are ranked by; the affinities use its square. cosine is 1 - cos(angle) "
         "(for word or document vectors, expression profiles); an all-zero row has no direction and is "
         "refused. correlation is 1 - the Pearson correlation of two rows (cosine of the rows centred on "
         "their means); a constant row is refused. jaccard: of the coordinates where either row is "
         "non-zero, the share where they differ (on 0/1 fingerprints 1 - |A and B| / |A or B|, counted by "
         "popcounts); hamming: the share of coordinates that differ. Every backend computes euclidean, "
         "cosine and correlation; manhattan: kdtree, brute, nndescent; chebyshev, jaccard, hamming: brute, "
         "nndescent.",
         nullptr, K::enumeration, g, closed(0), p,
         [](const Options& o) { return index_of(metric_names, o.neighbors.metric); },
         [](Options& o, double v) { o.neighbors.metric = metric_names.at(std::size_t(v)).value; },
         names_of(metric_names)},
        {"knn", "knn", "knn backend", "auto|kdtree|brute|hnsw|nndescent",
         "Nearest-neighbour search. Exact: kdtree is fast in low dimension, brute (blocked GEMM) in high "
         "dimension; both give the same neighbours. nndescent (a random-projection forest refined by "
         "NN-descent) "
         "is approximate and parallel throughout, for very large N: some neighbours are missed (0.01 % on "
         "Fashion-MNIST 70,000, 11 % on 1,000,000 points of 50-D Gaussian clusters). hnsw (hnswlib) is "
         "approximate too, slower on data of high intrinsic dimension. Every backend gives the same result "
         "for "
         "every thread count. auto picks the faster exact backend by N and D, and nndescent above 300,000 "
         "points "
         "in 20 or more dimensions, where it is several times faster. Sparse input: brute (exact, on "
         "inverted lists) or nndescent (auto above 300,000 rows).",
         nullptr, K::enumeration, g, closed(0), p,
         [](const Options& o) { return index_of(backend_names, o.neighbors.backend); },
         [](Options& o, double v) { o.neighbors.backend = backend_names.at(std::size_t(v)).value; },
         names_of(backend_names), nullptr,
         [](const Options& o, index_t n, index_t d) {
             return index_of(backend_names, effective_backend(o, n, d));
         }},
    };
}

/// The parameters of the approximate backends (0 where their backend does not run).
// table: one braced list of entries, one per option of the group.
std::vector<OptionDescriptor> backend_entries() {
    using K = OptionKind;
    const auto g = OptionGroup::neighbors;
    const unsigned p = shapes_p, automatic = shapes_p | accepts_auto | auto_sentinel_given;
    return {
        {"hnsw-m",
         "hnsw_m",
         "hnsw M",
         "M",
         "With --knn hnsw: links per point in the HNSW graph, in [2, 1000]; more is slower to build and more "
         "accurate.",
         nullptr,
         K::integer,
         g,
         closed(2, 1000),
         p,
         [](const Options& o) { return double(o.neighbors.hnsw_m); },
         [](Options& o, double v) { o.neighbors.hnsw_m = int(v); },
         {},
         nullptr,
         [](const Options& o, index_t n, index_t d) {
             return if_backend(o, n, d, KnnBackend::hnsw, o.neighbors.hnsw_m);
         }},
        {"hnsw-ef-construction",
         "hnsw_ef_construction",
         "hnsw ef construction",
         "EF",
         "With --knn hnsw: candidates kept while building the graph, in [1, 100000]; more is slower to build "
         "and "
         "more accurate.",
         nullptr,
         K::integer,
         g,
         closed(1, 100000),
         p,
         [](const Options& o) { return double(o.neighbors.hnsw_ef_construction); },
         [](Options& o, double v) { o.neighbors.hnsw_ef_construction = int(v); },
         {},
         nullptr,
         [](const Options& o, index_t n, index_t d) {
             return if_backend(o, n, d, KnnBackend::hnsw, o.neighbors.hnsw_ef_construction);
         }},
        {"hnsw-ef-search",
         "hnsw_ef_search",
         "hnsw ef search",
         "auto|EF",
         "With --knn hnsw: candidates kept by each query, in [1, 100000] (at least k + 1 are used); more is "
         "slower and more accurate. auto (or 0) = max(k + 1, 32).",
         "auto",
         K::integer,
         g,
         with_sentinel(closed(1, 100000), 0),
         automatic,
         [](const Options& o) { return double(o.neighbors.hnsw_ef_search); },
         [](Options& o, double v) { o.neighbors.hnsw_ef_search = int(v); },
         {},
         nullptr,
         [](const Options& o, index_t n, index_t d) {
             const index_t k = neighbor_count(o.affinities, n);
             return if_backend(o, n, d, KnnBackend::hnsw, double(resolve_hnsw_ef_search(o.neighbors, k)));
         }},
        {"nndescent-trees",
         "nndescent_trees",
         "nndescent trees",
         "auto|T",
         "With --knn nndescent: random-projection trees of the first graph, in [1, 1000]; more give a better "
         "start for more time. auto (or 0) = the measured default.",
         "auto",
         K::integer,
         g,
         with_sentinel(closed(1, 1000), 0),
         automatic,
         [](const Options& o) { return double(o.neighbors.nndescent_trees); },
         [](Options& o, double v) { o.neighbors.nndescent_trees = int(v); },
         {},
         nullptr,
         [](const Options& o, index_t n, index_t d) {
             return if_backend(o, n, d, KnnBackend::nndescent, o.neighbors.nndescent_trees);
         }},
        {"nndescent-leaf",
         "nndescent_leaf_size",
         "nndescent leaf size",
         "auto|L",
         "With --knn nndescent: most points per leaf of those trees, in [2, 100000]; each point starts with "
         "its "
         "leaf-mates as candidates. auto (or 0) = the measured default.",
         "auto",
         K::integer,
         g,
         with_sentinel(closed(2, 100000), 0),
         automatic,
         [](const Options& o) { return double(o.neighbors.nndescent_leaf_size); },
         [](Options& o, double v) { o.neighbors.nndescent_leaf_size = int(v); },
         {},
         nullptr,
         [](const Options& o, index_t n, index_t d) {
             return if_backend(o, n, d, KnnBackend::nndescent, o.neighbors.nndescent_leaf_size);
         }},
        {"nndescent-rounds",
         "nndescent_rounds",
         "nndescent rounds",
         "auto|R",
         "With --knn nndescent: most refinement rounds, in [1, 1000] (fewer when a round changes almost "
         "nothing). auto (or 0) = the measured default.",
         "auto",
         K::integer,
         g,
         with_sentinel(closed(1, 1000), 0),
         automatic,
         [](const Options& o) { return double(o.neighbors.nndescent_rounds); },
         [](Options& o, double v) { o.neighbors.nndescent_rounds = int(v); },
         {},
         nullptr,
         [](const Options& o, index_t n, index_t d) {
             return if_backend(o, n, d, KnnBackend::nndescent, o.neighbors.nndescent_rounds);
         }},
    };
}

// table: one braced list of entries, one per option of the group.
std::vector<OptionDescriptor> affinity_entries() {
    using K = OptionKind;
    const auto g = OptionGroup::affinities;
    return {
        {"affinity", "affinity", "affinity kind", "perplexity|sigma|uniform",
         "The kernel of each point's affinities to its neighbours. perplexity: a Gaussian whose width is "
         "searched per point to match --perplexity (t-SNE's); sigma: one Gaussian width --sigma for every "
         "point; uniform: 1/k for each of the --k nearest neighbours (openTSNE's uniform affinities).",
         nullptr, K::enumeration, g, closed(0), shapes_p,
         [](const Options& o) { return index_of(affinity_kind_names, o.affinities.kind); },
         [](Options& o, double v) { o.affinities.kind = affinity_kind_names.at(std::size_t(v)).value; },
         names_of(affinity_kind_names)},
        {"perplexity",
         "perplexity",
         "perplexity",
         "P[,P...]",
         "Effective number of neighbours of each point, at least 1 and below N - 1; min(N - 1, floor(3P)) "
         "nearest neighbours are searched. Larger keeps more global structure and costs O(P) more time and "
         "memory. Several (30,300): multiscale (openTSNE's; Lee et al. 2015): each point's Gaussians of "
         "every "
         "perplexity are averaged, so near and farther neighbours both count; k follows the largest.",
         nullptr,
         K::real,
         g,
         closed(1),
         shapes_p,
         [](const Options& o) { return o.affinities.perplexity; },
         [](Options& o, double v) { o.affinities.perplexity = v; },
         {},
         nullptr,
         [](const Options& o, index_t, index_t) { return calibrated(o) ? o.affinities.perplexity : 0.0; }},
        {"perplexity-tolerance",
         "entropy_tolerance",
         "entropy tolerance",
         "E",
         "Allowed error (nats) of each point's entropy against log(P).",
         nullptr,
         K::real,
         g,
         open_low(0),
         shapes_p,
         [](const Options& o) { return o.affinities.entropy_tolerance; },
         [](Options& o, double v) { o.affinities.entropy_tolerance = v; },
         {},
         nullptr,
         [](const Options& o, index_t, index_t) {
             return calibrated(o) ? o.affinities.entropy_tolerance : 0.0;
         }},
        {"perplexity-steps",
         "max_steps",
         "perplexity search steps",
         "N",
         "Steps per point in the search for its Gaussian precision (safeguarded Newton, bisection where "
         "Newton "
         "would leave the bracket).",
         nullptr,
         K::integer,
         g,
         closed(1, int_max),
         shapes_p,
         [](const Options& o) { return double(o.affinities.max_steps); },
         [](Options& o, double v) { o.affinities.max_steps = int(v); },
         {},
         nullptr,
         [](const Options& o, index_t, index_t) {
             return calibrated(o) ? double(o.affinities.max_steps) : 0.0;
         }},
        {"sigma",
         "sigma",
         "sigma",
         "S",
         "The Gaussian width of --affinity sigma (given alone, it selects it), in the input's distance "
         "units: "
         "p(j|i) ~ exp(-d(i,j)^2 / 2S^2) over the --k nearest neighbours. > 0.",
         "",
         K::real,
         g,
         open_low(0),
         shapes_p,
         [](const Options& o) { return o.affinities.sigma; },
         [](Options& o, double v) { o.affinities.sigma = v; },
         {},
         nullptr,
         [](const Options& o, index_t, index_t) {
             return o.affinities.kind == AffinityKind::sigma ? o.affinities.sigma : 0.0;
         }},
        {"k",
         "k",
         "k",
         "K",
         "Neighbours per point, for every kind of affinity; with --perplexity it must exceed every "
         "perplexity. "
         "With the exact methods, each row of the dense P is restricted to the K nearest (default there: all "
         "N - 1 other points; uniform: as here).",
         "floor(3 x the largest perplexity), at most N - 1",
         K::integer,
         g,
         with_sentinel(closed(1), 0),
         shapes_p,
         [](const Options& o) { return double(o.affinities.k); },
         [](Options& o, double v) { o.affinities.k = to_index(v); },
         {},
         nullptr,
         [](const Options& o, index_t n, index_t) { return double(neighbor_count(o.affinities, n)); }},
    };
}

// table: one braced list of entries, one per option of the group.
std::vector<OptionDescriptor> optimizer_entries() {
    using K = OptionKind;
    const auto g = OptionGroup::optimizer;
    const unsigned t = shapes_trajectory;
    return {
        // "auto" keeps theta as the controller's start and sets theta_auto.
        {"theta",
         "theta",
         "theta",
         "T|auto",
         "Barnes-Hut accuracy, bhtsne's convention: a tree cell is summarised by its centre of mass when "
         "cell "
         "half-width / distance < T. 0 = exact (slow); larger is faster and coarser. auto: theta is chosen "
         "during the run, every few iterations, so that the relative error of the repulsive forces (measured "
         "on "
         "a seeded sample of points against their exact sums) stays near --target-error; it starts at the "
         "default T. 'treesne accuracy' shows the error of each theta on your data.",
         nullptr,
         K::real,
         g,
         closed(0),
         t | accepts_auto | auto_after,
         [](const Options& o) { return o.optimizer.theta; },
         [](Options& o, double v) {
             if (std::isnan(v))
                 o.optimizer.theta_auto = true;
             else
                 o.optimizer.theta = v;
         },
         {},
         nullptr,
         [](const Options& o, index_t, index_t) {
             return o.optimizer.theta_auto ? std::numeric_limits<double>::quiet_NaN() : o.optimizer.theta;
         }},
        {"target-error",
         "target_error",
         "target error",
         "E",
         "With --theta auto: the relative error of the repulsive forces to aim at, in [0, 1]; smaller is "
         "more "
         "accurate and slower, 0 drives theta to 0 (exact).",
         nullptr,
         K::real,
         g,
         closed(0, 1),
         t,
         [](const Options& o) { return o.optimizer.target_error; },
         [](Options& o, double v) { o.optimizer.target_error = v; },
         {},
         nullptr,
         [](const Options& o, index_t, index_t) {
             return o.optimizer.theta_auto ? o.optimizer.target_error : 0.0;
         }},
        {"dof", "dof", "dof (degrees of freedom)", "ALPHA",
         "Degrees of freedom of the output kernel (1 + d^2/ALPHA)^-ALPHA (Kobak et al. 2019): 1 is t-SNE's "
         "Cauchy kernel; below 1 the tails are heavier, so clusters come out tighter and split into finer "
         "sub-clusters (try 0.5); large values approach SNE's Gaussian kernel. In (0, 1e6].",
         nullptr, K::real, g, open_low(0, max_dof), t, [](const Options& o) { return o.optimizer.dof; },
         [](Options& o, double v) { o.optimizer.dof = v; }},
        {"iterations", "iterations", "iterations", "N", "Gradient-descent iterations in total.", nullptr,
         K::integer, g, closed(0), option_no_flags,
         [](const Options& o) { return double(o.optimizer.iterations); },
         [](Options& o, double v) { o.optimizer.iterations = to_index(v); }},
        {"exaggeration", "exaggeration", "exaggeration", "A",
         "Early exaggeration: P is multiplied by A at first, so clusters form.", nullptr, K::real, g,
         open_low(0), t, [](const Options& o) { return o.optimizer.exaggeration; },
         [](Options& o, double v) { o.optimizer.exaggeration = v; }},
        {"exaggeration-iterations", "exaggeration_iterations", "exaggeration iterations", "N",
         "Iterations run with early exaggeration.", nullptr, K::integer, g, closed(0), t,
         [](const Options& o) { return double(o.optimizer.exaggeration_iterations); },
         [](Options& o, double v) { o.optimizer.exaggeration_iterations = to_index(v); }},
        {"learning-rate",
         "learning_rate",
         "learning rate",
         "auto|R",
         "Step size; auto = max(N / exaggeration, 200) (Belkina et al. 2019); N / exaggeration for --dof "
         "above 1 "
         "(lighter tails overshoot beyond it); 0.1 for exact_sne.",
         "auto",
         K::real,
         g,
         open_low(0),
         t | accepts_auto,
         [](const Options& o) { return o.optimizer.learning_rate.value_or(std::nan("")); },
         [](Options& o, double v) {
             o.optimizer.learning_rate = std::isnan(v) ? std::nullopt : std::optional<double>(v);
         },
         {},
         [](const Options& o) { return !o.optimizer.learning_rate; },
         [](const Options& o, index_t n, index_t) { return resolve_learning_rate(o.optimizer, n); }},
    };
}

/// The schedule after early exaggeration, and the gains.
// table: one braced list of entries, one per option of the group.
std::vector<OptionDescriptor> schedule_entries() {
    using K = OptionKind;
    const auto g = OptionGroup::optimizer;
    const unsigned t = shapes_trajectory;
    return {
        {"late-exaggeration", "late_exaggeration", "late exaggeration", "A",
         "Late exaggeration (FIt-SNE's late_exag_coeff; Linderman et al. 2019): from "
         "--late-exaggeration-start "
         "on, P is multiplied by A. Values of about 2 to 4 pull clusters tighter and further apart; the KL "
         "reported (of the unexaggerated P) then rises on purpose. > 0; 1 = off.",
         nullptr, K::real, g, with_note(open_low(0), "1 = off"), t,
         [](const Options& o) { return o.optimizer.late_exaggeration; },
         [](Options& o, double v) { o.optimizer.late_exaggeration = v; }},
        {"late-exaggeration-start", "late_exaggeration_start", "late exaggeration start", "N",
         "With --late-exaggeration: its first iteration (counted from 0), at least "
         "--exaggeration-iterations.",
         "right after early exaggeration", K::integer, g, with_sentinel(closed(0), -1), t,
         [](const Options& o) { return double(o.optimizer.late_exaggeration_start); },
         [](Options& o, double v) { o.optimizer.late_exaggeration_start = to_index(v); }},
        {"momentum-switch", "momentum_switch", "momentum switch", "N",
         "The iteration (counted from 0) at which --final-momentum replaces --momentum.",
         "at the end of early exaggeration (--exaggeration-iterations)", K::integer, g,
         with_sentinel(closed(0), -1), t,
         [](const Options& o) { return double(o.optimizer.momentum_switch); },
         [](Options& o, double v) { o.optimizer.momentum_switch = to_index(v); }},
        {"momentum", "momentum", "momentum", "M",
         "Momentum before --momentum-switch (by default: during early exaggeration), in [0, 1).", nullptr,
         K::real, g, open_high(0, 1), t, [](const Options& o) { return o.optimizer.momentum; },
         [](Options& o, double v) { o.optimizer.momentum = v; }},
        {"final-momentum", "final_momentum", "final momentum", "M",
         "Momentum from --momentum-switch on, in [0, 1).", nullptr, K::real, g, open_high(0, 1), t,
         [](const Options& o) { return o.optimizer.final_momentum; },
         [](Options& o, double v) { o.optimizer.final_momentum = v; }},
        {"gain-increase", "gain_increase", "gain increase", "G",
         "Added to a coordinate's gain when its gradient changes sign.", nullptr, K::real, g, closed(0), t,
         [](const Options& o) { return o.optimizer.gain_increase; },
         [](Options& o, double v) { o.optimizer.gain_increase = v; }},
        {"gain-decrease", "gain_decrease", "gain decrease", "G", "Factor on a gain otherwise, in (0, 1].",
         nullptr, K::real, g, open_low(0, 1), t, [](const Options& o) { return o.optimizer.gain_decrease; },
         [](Options& o, double v) { o.optimizer.gain_decrease = v; }},
        {"min-gain", "min_gain", "min gain", "G", "Gains never fall below this (> 0).", nullptr, K::real, g,
         open_low(0), t, [](const Options& o) { return o.optimizer.min_gain; },
         [](Options& o, double v) { o.optimizer.min_gain = v; }},
        {"max-step-norm", "max_step_norm", "max step norm", "S",
         "Clip each point's step to this length (as FIt-SNE and openTSNE do); 0 = off. Keeps early "
         "exaggeration "
         "stable for points with heavy rows of P.",
         nullptr, K::real, g, closed(0), t, [](const Options& o) { return o.optimizer.max_step_norm; },
         [](Options& o, double v) { o.optimizer.max_step_norm = v; }},
        {"early-stop", "early_stop", "early stop tolerance", "TOL",
         concat("Stop early once the KL divergence falls by less than the fraction TOL of itself over ",
                early_stop_window, " iterations (checked every ", early_stop_window,
                " iterations after early exaggeration, within one phase): 0.001 stops when ",
                early_stop_window,
                " iterations gain less than 0.1 %. The embedding reached is written, a line says where it "
                "stopped, and the exit status is 0. In [0, 1); 0 = off (all --iterations run)."),
         nullptr, K::real, g, with_note(open_high(0, 1), "0 = off"), option_no_flags,
         [](const Options& o) { return o.optimizer.early_stop; },
         [](Options& o, double v) { o.optimizer.early_stop = v; }},
    };
}

}  // namespace

namespace detail {

std::vector<std::vector<OptionDescriptor> (*)()> option_entry_groups() {
    return {general_entries,  neighbor_entries,  backend_entries,
            affinity_entries, optimizer_entries, schedule_entries};
}

}  // namespace detail

const std::vector<TransformOptionDescriptor>& transform_option_table() {
    using K = OptionKind;
    using T = TransformOptions;
    static const std::vector<TransformOptionDescriptor> table{
        {"perplexity", "perplexity", "transform perplexity", "auto|P",
         concat(
             "Perplexity of each new point's affinities over its min(N - 1, floor(3P)) nearest reference "
             "points, >= 1 and below N - 1; they are calibrated as embed's are. auto = ",
             format_number(transform_auto_perplexity),
             ": on Fashion-MNIST it placed more new points among their own class than the reference's 30."),
         "auto", K::real, closed(1), accepts_auto,
         [](const T& t) { return t.perplexity.value_or(std::nan("")); },
         [](T& t, double v) { t.perplexity = std::isnan(v) ? std::nullopt : std::optional<double>(v); },
         [](const T& t) { return !t.perplexity; }},
        {"iterations", "iterations", "transform iterations", "N",
         "Gradient-descent iterations on the new points (the reference never moves).", nullptr, K::integer,
         closed(0), option_no_flags, [](const T& t) { return double(t.iterations); },
         [](T& t, double v) { t.iterations = to_index(v); }},
        {"exaggeration", "exaggeration", "transform exaggeration", "A",
         "P is multiplied by A (> 0) during the first --exaggeration-iterations, which pulls each new point "
         "firmly towards its neighbours first.",
         nullptr, K::real, open_low(0), option_no_flags, [](const T& t) { return t.exaggeration; },
         [](T& t, double v) { t.exaggeration = v; }},
        {"exaggeration-iterations", "exaggeration_iterations", "transform exaggeration iterations", "N",
         "Iterations run with --exaggeration.", nullptr, K::integer, closed(0), option_no_flags,
         [](const T& t) { return double(t.exaggeration_iterations); },
         [](T& t, double v) { t.exaggeration_iterations = to_index(v); }},
        {"learning-rate", "learning_rate", "transform learning rate", "R",
         "Step size (> 0). Each new point's affinities sum to 1, so unlike embed's it does not grow with N.",
         nullptr, K::real, open_low(0), option_no_flags, [](const T& t) { return t.learning_rate; },
         [](T& t, double v) { t.learning_rate = v; }},
        {"momentum", "momentum", "transform momentum", "M", "Momentum of every step, in [0, 1).", nullptr,
         K::real, open_high(0, 1), option_no_flags, [](const T& t) { return t.momentum; },
         [](T& t, double v) { t.momentum = v; }},
        {"max-step-norm", "max_step_norm", "transform max step norm", "S",
         "Clip each point's step to this length; 0 = off.", nullptr, K::real, closed(0), option_no_flags,
         [](const T& t) { return t.max_step_norm; }, [](T& t, double v) { t.max_step_norm = v; }},
        {"repel-new", "repel_new", "repel new", "",
         "Also repel the new points from each other. By default each is placed as if it were added alone, so "
         "its place does not depend on the other new points.",
         nullptr, K::flag, closed(0, 1), option_no_flags, [](const T& t) { return t.repel_new ? 1.0 : 0.0; },
         [](T& t, double v) { t.repel_new = v != 0; }},
    };
    return table;
}

}  // namespace treesne
