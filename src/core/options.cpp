#include "treesne/core/options.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "treesne/core/errors.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/optimize/init.hpp"

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

const char* to_string(AffinityKind kind) {
    switch (kind) {
        case AffinityKind::perplexity:
            return "perplexity";
        case AffinityKind::sigma:
            return "sigma";
        case AffinityKind::uniform:
            return "uniform";
    }
    return "?";
}

std::optional<AffinityKind> parse_affinity_kind(const std::string& name) {
    for (AffinityKind k : {AffinityKind::perplexity, AffinityKind::sigma, AffinityKind::uniform})
        if (name == to_string(k)) return k;
    return std::nullopt;
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

void validate(const Options& o, index_t n, index_t d) {
    require(o.dims >= 1 && o.dims <= 3, "dims must be 1, 2 or 3; got ", o.dims);
    require(o.threads >= 0, "threads must be >= 0 (0 = all); got ", o.threads);
    require(o.pca_dims >= 0, "pca dims must be >= 0 (0 = off); got ", o.pca_dims);
    require(o.report_every >= 0, "report interval must be >= 0; got ", o.report_every);
    validate(o.neighbors);
    const auto& a = o.affinities;
    require(std::isfinite(a.perplexity) && a.perplexity >= 1,
            "perplexity must be a number >= 1 (an effective number of neighbours); got ", a.perplexity);
    for (double p : a.more_perplexities)
        require(std::isfinite(p) && p >= 1, "every perplexity of a multiscale must be a number >= 1; got ", p);
    require(a.more_perplexities.empty() || a.kind == AffinityKind::perplexity,
            "several perplexities need the perplexity affinities; got ", to_string(a.kind));
    require(std::isfinite(a.sigma) && a.sigma > 0, "sigma must be > 0; got ", a.sigma);
    require(a.k >= 0, "k must be >= 0 (0 = auto); got ", a.k);
    require(a.entropy_tolerance > 0, "entropy tolerance must be > 0; got ", a.entropy_tolerance);
    require(a.max_steps >= 1, "perplexity search steps must be >= 1; got ", a.max_steps);
    const auto& p = o.optimizer;
    require(std::isfinite(p.theta) && p.theta >= 0, "theta must be >= 0; got ", p.theta);
    require(std::isfinite(p.dof) && p.dof > 0 && p.dof <= max_dof, "dof (degrees of freedom) must be in (0, ",
            max_dof, "]; got ", p.dof);
    require(p.dof == 1 || p.method != Method::exact_sne,
            "dof applies to t-SNE's heavy-tailed kernel; exact_sne has the Gaussian kernel (give dof 1)");
    require(std::isfinite(p.target_error) && p.target_error >= 0 && p.target_error <= 1,
            "target error must be in [0, 1]; got ", p.target_error);
    require(std::isfinite(p.early_stop) && p.early_stop >= 0 && p.early_stop < 1,
            "early stop tolerance must be in [0, 1) (0 = off); got ", p.early_stop);
    require(p.iterations >= 0, "iterations must be >= 0; got ", p.iterations);
    require(std::isfinite(p.exaggeration) && p.exaggeration > 0, "exaggeration must be > 0; got ",
            p.exaggeration);
    require(p.exaggeration_iterations >= 0, "exaggeration iterations must be >= 0; got ",
            p.exaggeration_iterations);
    require(!p.learning_rate || (std::isfinite(*p.learning_rate) && *p.learning_rate > 0),
            "learning rate must be > 0 or auto; got ", p.learning_rate.value_or(0));
    require(std::isfinite(p.late_exaggeration) && p.late_exaggeration > 0, "late exaggeration must be > 0; got ",
            p.late_exaggeration);
    require(p.late_exaggeration_start >= -1, "late exaggeration start must be an iteration >= 0 (or -1 = after "
            "early exaggeration); got ", p.late_exaggeration_start);
    require(p.late_exaggeration_start < 0 || p.late_exaggeration_start >= p.exaggeration_iterations,
            "late exaggeration start ", p.late_exaggeration_start, " must not fall inside early exaggeration (",
            p.exaggeration_iterations, " iterations)");
    require(p.momentum_switch >= -1, "momentum switch must be an iteration >= 0 (or -1 = after early "
            "exaggeration); got ", p.momentum_switch);
    require(p.momentum >= 0 && p.momentum < 1, "momentum must be in [0, 1); got ", p.momentum);
    require(p.final_momentum >= 0 && p.final_momentum < 1, "final momentum must be in [0, 1); got ",
            p.final_momentum);
    require(p.gain_increase >= 0, "gain increase must be >= 0; got ", p.gain_increase);
    require(p.gain_decrease > 0 && p.gain_decrease <= 1, "gain decrease must be in (0, 1]; got ",
            p.gain_decrease);
    require(p.min_gain > 0, "min gain must be > 0; got ", p.min_gain);
    require(std::isfinite(p.max_step_norm) && p.max_step_norm >= 0, "max step norm must be >= 0; got ",
            p.max_step_norm);

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
        const std::string defect = init_defect(o.init_coordinates, o.keep_user_scale);
        require(defect.empty(), "initial coordinates: ", defect);
    }
    if (o.init == InitKind::pca) {
        const index_t source_d = o.pca_dims > 0 ? o.pca_dims : d;
        require(source_d >= o.dims, "pca initialisation needs at least ", o.dims, " input columns; got ",
                source_d, " (use --init random)");
    }
}

const char* to_string(Method method) {
    switch (method) {
        case Method::barnes_hut:
            return "barnes_hut";
        case Method::exact_tsne:
            return "exact_tsne";
        case Method::exact_sne:
            return "exact_sne";
    }
    return "?";
}

const char* to_string(KnnBackend backend) {
    switch (backend) {
        case KnnBackend::automatic:
            return "auto";
        case KnnBackend::kdtree:
            return "kdtree";
        case KnnBackend::brute:
            return "brute";
        case KnnBackend::hnsw:
            return "hnsw";
        case KnnBackend::nndescent:
            return "nndescent";
    }
    return "?";
}

const char* to_string(InitKind init) {
    switch (init) {
        case InitKind::pca:
            return "pca";
        case InitKind::random:
            return "random";
        case InitKind::user:
            return "user";
    }
    return "?";
}

std::optional<Method> parse_method(const std::string& name) {
    for (Method m : {Method::barnes_hut, Method::exact_tsne, Method::exact_sne})
        if (name == to_string(m)) return m;
    return std::nullopt;
}

const char* to_string(Metric metric) {
    switch (metric) {
        case Metric::euclidean:
            return "euclidean";
        case Metric::cosine:
            return "cosine";
        case Metric::manhattan:
            return "manhattan";
        case Metric::chebyshev:
            return "chebyshev";
    }
    return "?";
}

std::optional<Metric> parse_metric(const std::string& name) {
    for (Metric m : {Metric::euclidean, Metric::cosine, Metric::manhattan, Metric::chebyshev})
        if (name == to_string(m)) return m;
    return std::nullopt;
}

bool backend_supports(KnnBackend backend, Metric metric) {
    switch (metric) {
        case Metric::euclidean:
        case Metric::cosine:
            return true;
        case Metric::manhattan:
            return backend != KnnBackend::hnsw;
        case Metric::chebyshev:
            return backend == KnnBackend::automatic || backend == KnnBackend::brute ||
                   backend == KnnBackend::nndescent;
    }
    return false;
}

std::optional<KnnBackend> parse_backend(const std::string& name) {
    for (KnnBackend b : {KnnBackend::automatic, KnnBackend::kdtree, KnnBackend::brute, KnnBackend::hnsw,
                         KnnBackend::nndescent})
        if (name == to_string(b)) return b;
    return std::nullopt;
}

}  // namespace treesne
