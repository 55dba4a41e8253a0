#include "treesne/core/options.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "treesne/core/errors.hpp"
#include "treesne/core/option_table.hpp"

namespace treesne {

index_t neighbor_count(double perplexity, index_t n) {
    // The minimum in double first: 3 * perplexity may exceed every index_t.
    const double k = std::min(static_cast<double>(n - 1), std::floor(3.0 * perplexity));
    return k > 0 ? static_cast<index_t>(k) : 0;
}

index_t neighbor_count(const AffinityOptions& options, index_t n) {
    if (options.k > 0) return options.k;
    double largest = options.perplexity;
    for (double p : options.more_perplexities) largest = std::max(largest, p);
    return neighbor_count(largest, n);
}

double resolve_learning_rate(const OptimizerOptions& options, index_t n) {
    if (options.learning_rate) return *options.learning_rate;
    // SNE's gradient has no 1/N scale (rows of its P each sum to 1), so its step is N times smaller.
    if (options.method == Method::exact_sne) return 0.1;
    const double exaggeration = options.exaggeration > 0 ? options.exaggeration : 1.0;
    const double bound = static_cast<double>(n) / exaggeration;
    // N / exaggeration is the step at which early exaggeration contracts clusters without overshooting
    // (Linderman & Steinerberger 2019). Belkina et al.'s floor of 200 exceeds it below 2,400 points, and
    // only kernels with tails at least as heavy as the Cauchy kernel's survive that: their attraction
    // weight u = (1 + d^2/dof)^-1 falls off beyond distance sqrt(dof) ~ 1 and damps the overshoot. For
    // dof > 1 u stays near 1 out to sqrt(dof), so each overshoot grows the next: 200 points of 4 blobs
    // diverged at dof 5, 10, 100 and 1e6 (dof 2: KL 4.5 instead of 0.23), and converged at N / 12 for every
    // dof (a KL within 3 % of dof 1's; tests/test_dof.cpp). At 2,000 points N / 12 and 200 gave the same
    // KL for dof 2 to 1e6.
    if (options.dof > 1) return bound;
    return std::max(bound, 200.0);
}

KnnBackend resolve_backend(KnnBackend backend, index_t n, index_t d, Metric metric) {
    if (backend != KnnBackend::automatic) return backend;
    const bool low_dimension = d <= 4 || (d == 5 && n > 200'000);
    // chebyshev, jaccard and hamming have no kd-tree and no hnsw (see neighbors.cpp)
    if (metric == Metric::chebyshev || metric == Metric::jaccard || metric == Metric::hamming)
        return n > approximate_knn_min_points && (low_dimension || d >= approximate_knn_min_dims)
                   ? KnnBackend::nndescent
                   : KnnBackend::brute;
    if (low_dimension) return KnnBackend::kdtree;
    // Measured at D = 50 only; between 5 and 20 dimensions the brute force is cheaper per pair and no
    // crossover was measured, so it stays exact there.
    if (n > approximate_knn_min_points && d >= approximate_knn_min_dims) return KnnBackend::nndescent;
    return KnnBackend::brute;
}

void validate(const NeighborOptions& o) {
    require(backend_supports(o.backend, o.metric), "the ", to_string(o.backend), " backend cannot compute ",
            to_string(o.metric), " distances (use automatic or brute)");
    // The ranges live in the option table (option_table.cpp). Their upper bounds keep the index's memory
    // (8 M bytes of links per point) and the per-query work sane; hnswlib itself clamps M above 10000 with
    // a warning on stderr, which a library must not print.
    Options whole;
    whole.neighbors = o;
    check_option_ranges(whole, OptionGroup::neighbors);
}

// hnsw parameters (benchmarks/RESULTS.md, section 10.2): every setting passes recall 0.98 on
// Fashion-MNIST, so the defaults are chosen on harder data, 20 Gaussian clusters in 50-D, whose
// intrinsic dimension is the full 50: M 16 and ef construction 150 leave no row below recall 0.5 at
// 100,000 clustered points, for little more time than the cheapest setting.
//
// ef: each query keeps ef candidates and must report k others, so ef >= k + 1. Every point's search
// starts at its own node (knn/hnsw.cpp), which makes even ef = k + 1 accurate at the k of t-SNE; search
// time grows about linearly with ef. Below k = 31 the floor of 32 keeps the search from being too greedy
// (RESULTS.md, section 10.2).
index_t resolve_hnsw_ef_search(const NeighborOptions& options, index_t k) {
    const index_t wanted = options.hnsw_ef_search > 0 ? options.hnsw_ef_search : std::max<index_t>(k + 1, 32);
    return std::max(wanted, k + 1);
}

void validate(const TransformOptions& t) {
    check_option_ranges(t);  // the ranges of the option table (option_table.cpp)
}

void validate(const Options& o, index_t n, index_t d) {
    // Each field against its range in the option table (the CLI and Python refuse with the same ranges),
    // then the rules that tie fields together.
    check_option_ranges(o, OptionGroup::general);
    validate(o.neighbors);
    check_option_ranges(o, OptionGroup::affinities);
    check_option_ranges(o, OptionGroup::optimizer);
    const auto& a = o.affinities;
    for (double p : a.more_perplexities)
        require(std::isfinite(p) && p >= 1, "every perplexity of a multiscale must be a number >= 1; got ", p);
    require(a.more_perplexities.empty() || a.kind == AffinityKind::perplexity,
            "several perplexities need the perplexity affinities; got ", to_string(a.kind));
    const auto& p = o.optimizer;
    require(p.dof == 1 || p.method != Method::exact_sne,
            "dof applies to t-SNE's heavy-tailed kernel; exact_sne has the Gaussian kernel (give dof 1)");
    require(p.late_exaggeration_start < 0 || p.late_exaggeration_start >= p.exaggeration_iterations,
            "late exaggeration start ", p.late_exaggeration_start, " must not fall inside early exaggeration (",
            p.exaggeration_iterations, " iterations)");

    if (n < 0) return;  // options-only validation
    require(n >= 2, "t-SNE needs at least 2 points; got ", n);
    require(d >= 1, "input needs at least 1 column; got ", d);
    require(n <= static_cast<index_t>(std::numeric_limits<point_t>::max()), "at most ",
            std::numeric_limits<point_t>::max(), " points are supported; got ", n);
    // A row of k = min(N-1, floor(3 perplexity)) neighbours reaches entropy log(perplexity) when
    // perplexity < k (at most log k, the uniform row); k = N-1 needs perplexity < N-1. Like scikit-learn,
    // small data keeps the requested perplexity with every other point as a neighbour.
    require(a.k <= n - 1, "k = ", a.k, " neighbours need more than ", a.k, " points; got ", n);
    if (a.kind == AffinityKind::perplexity) {
        std::vector<double> scales{a.perplexity};
        scales.insert(scales.end(), a.more_perplexities.begin(), a.more_perplexities.end());
        for (double perplexity : scales) {
            if (!(perplexity < static_cast<double>(n - 1)))
                throw InvalidArgument(
                    concat("perplexity ", perplexity, " must be below N - 1 = ", n - 1, " for ", n, " points",
                           n > 2 ? " (use a smaller --perplexity)" : " (too few points for t-SNE)"));
            if (a.k > 0 && !(perplexity < static_cast<double>(a.k)))
                throw InvalidArgument(concat("perplexity ", perplexity, " needs more than k = ", a.k,
                                             " neighbours (a row of k has perplexity at most k)"));
        }
    }
    require(o.pca_dims == 0 || o.pca_dims <= d, "pca dims ", o.pca_dims, " exceeds the input's ", d,
            " columns");
    if (o.init == InitKind::user) {
        require(o.init_coordinates.rows() == n && o.init_coordinates.cols() == o.dims,
                "initial coordinates must be ", n, " x ", o.dims, "; got ", o.init_coordinates.rows(), " x ",
                o.init_coordinates.cols());
    }
    if (o.init == InitKind::pca) {
        const index_t source_d = o.pca_dims > 0 ? o.pca_dims : d;
        require(source_d >= o.dims, "pca initialisation needs at least ", o.dims, " input columns; got ",
                source_d, " (use --init random)");
    }
}

const char* to_string(AffinityKind kind) {
    return enum_name(affinity_kind_names, kind);
}
const char* to_string(Method method) {
    return enum_name(method_names, method);
}
const char* to_string(KnnBackend backend) {
    return enum_name(backend_names, backend);
}
const char* to_string(InitKind init) {
    return enum_name(init_names, init);
}
const char* to_string(Metric metric) {
    return enum_name(metric_names, metric);
}
std::optional<AffinityKind> parse_affinity_kind(const std::string& name) {
    return enum_value(affinity_kind_names, name);
}
std::optional<Method> parse_method(const std::string& name) {
    return enum_value(method_names, name);
}
std::optional<Metric> parse_metric(const std::string& name) {
    return enum_value(metric_names, name);
}
std::optional<KnnBackend> parse_backend(const std::string& name) {
    return enum_value(backend_names, name);
}

bool backend_supports(KnnBackend backend, Metric metric) {
    switch (metric) {
        case Metric::euclidean:
        case Metric::cosine:
        case Metric::correlation:  // cosine on the centred rows
            return true;
        case Metric::manhattan:
            return backend != KnnBackend::hnsw;
        case Metric::chebyshev:
        case Metric::jaccard:
        case Metric::hamming:
            return backend == KnnBackend::automatic || backend == KnnBackend::brute ||
                   backend == KnnBackend::nndescent;
    }
    return false;
}

bool metric_scales_with_data(Metric metric) {
    return metric == Metric::euclidean || metric == Metric::manhattan || metric == Metric::chebyshev;
}

}  // namespace treesne
