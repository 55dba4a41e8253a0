// Transform: new points into a fixed embedding (openTSNE's transform; Poličar, Stražar & Zupan 2019).
//
// Formulation. Each new point i is placed as if it were added alone to the reference: its affinities are
// the conditional p_{j|i} over its k nearest reference points (a row summing to 1, calibrated to the
// perplexity like the reference's rows), its similarities q_{j|i} = w_ij / Z_i with
// w_ij = (1 + |y_i - y_j|^2)^-1 and Z_i = sum_j w_ij over the reference points j, and it minimises
// KL(P_i || Q_i), whose gradient is
//   dC_i/dy_i = 2 (sum_j p_{j|i} w_ij (y_i - y_j) - sum_j w_ij^2 (y_i - y_j) / Z_i).
// The joint t-SNE objective would instead normalise by the Z of all pairs, reference pairs included, a
// constant here, that makes the repulsion on a new point N times weaker than its attraction (a row of P
// sums to 1, not to 1/N) unless the learning rate is rescaled: the per-point Z (openTSNE's choice for
// transform) keeps attraction and repulsion of each point in the balance they have in a converged
// embedding, independently of N and of how many points are transformed at once, and the result for a
// point does not depend on the others (unless TransformOptions::repel_new). The repulsion sums come from
// a Barnes-Hut walk of a tree built once over the reference (SpaceTree::repulsion_on), grouped by the
// leaves of a tree over the new points that is rebuilt every iteration.
//
// With the heavy-tailed kernel of options.optimizer.dof = alpha (Kobak et al. 2019; the reference's own),
// w_ij = (1 + |y_i - y_j|^2/alpha)^-alpha and, with u_ij = w_ij^(1/alpha) = (1 + |y_i - y_j|^2/alpha)^-1,
//   dC_i/dy_i = 2 (sum_j p_{j|i} u_ij (y_i - y_j) - sum_j w_ij u_ij (y_i - y_j) / Z_i)
// (d(-log w_ij)/dy_i = 2 u_ij (y_i - y_j)); alpha = 1 is the formula above.
//
// Defaults (TransformOptions) chosen by the 10-NN accuracy of transformed Fashion-MNIST images
// (benchmarks/RESULTS.md, section 10.4, and section 7's transform.sh):
// So: the weighted median start, perplexity min(reference's, 10), 250 iterations of which 100 exaggerated
// by 4, and a learning rate of 0.1, ten times below where the steps start to overshoot.
#include "treesne/api/transform.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/tree/exact.hpp"
#include "treesne/optimize/init.hpp"
#include "treesne/optimize/optimizer.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/knn/pca.hpp"
#include "treesne/core/scale.hpp"
#include "treesne/tree/space_tree.hpp"
#include "treesne/api/embed.hpp"
#include "treesne/knn/neighbors.hpp"

namespace treesne {
namespace {

// What validate_transform checks first: the shapes.
void check_shapes(ConstMatrixView x_ref, ConstMatrixView y_ref, ConstMatrixView x_new) {
    require(y_ref.rows == x_ref.rows, "transform: the reference embedding has ", y_ref.rows,
            " rows but the reference data ", x_ref.rows);
    require(y_ref.cols >= 1 && y_ref.cols <= 3,
            "transform: the reference embedding must have 1, 2 or 3 columns; got ", y_ref.cols);
    require(x_new.cols == x_ref.cols, "transform: the new points have ", x_new.cols,
            " columns but the reference data ", x_ref.cols);
    require(x_new.rows >= 1, "transform: there are no new points");
}

// The options as validate(Options) checks them for the reference: the embedding's dimension, the
// transform's perplexity, and no initialisation (the reference is already embedded).
void check_options(const Options& options, const TransformOptions& t, index_t n, index_t d, index_t dims) {
    Options checked = options;
    checked.dims = static_cast<int>(dims);
    checked.init = InitKind::random;
    checked.affinities.perplexity = resolve_perplexity(t, options);
    validate(checked, n, d);
    validate(t);
    require(options.neighbors.metric == Metric::euclidean, "transform: the new points' neighbours are Euclidean; ",
            to_string(options.neighbors.metric), " is not supported (give metric euclidean)");
    require(
        options.affinities.kind == AffinityKind::perplexity && options.affinities.more_perplexities.empty() &&
            options.affinities.k == 0,
        "transform: the new points' affinities are calibrated to one perplexity (TransformOptions) over "
        "floor(3 perplexity) neighbours; the reference's kernel options (kind, several perplexities, k) do "
        "not apply");
}

// Root mean square distance of the rows of y from their mean, summed in row order.
double spread(ConstMatrixView y) {
    std::vector<double> mean(static_cast<std::size_t>(y.cols), 0.0);
    for (index_t i = 0; i < y.rows; ++i)
        for (index_t d = 0; d < y.cols; ++d) mean[static_cast<std::size_t>(d)] += y(i, d);
    for (double& m : mean) m /= static_cast<double>(y.rows);
    double sum = 0.0;
    for (index_t i = 0; i < y.rows; ++i)
        for (index_t d = 0; d < y.cols; ++d) {
            const double e = y(i, d) - mean[static_cast<std::size_t>(d)];
            sum += e * e;
        }
    return std::sqrt(sum / static_cast<double>(y.rows));
}

// The gradient of every new point: a tree over the reference built once, a tree over the new points
// rebuilt at each evaluation (its leaves group the walks; with repel_new it also repels them from each
// other), and the buffers, reused.
template <int Dim>
class NewPointGradient {
  public:
    NewPointGradient(const TransformAffinities& a, ConstMatrixView y_ref, bool repel_new, double theta,
                     double dof, int threads)
        : a_(a),
          y_ref_(y_ref),
          repel_new_(repel_new),
          theta_(theta),
          kernel_{dof},
          threads_(threads),
          grad_(a.graph.n, Dim),
          repulsion_(a.graph.n, Dim),
          cost_(static_cast<std::size_t>(a.graph.n)) {
        reference_.set_dof(dof);
        fresh_.set_dof(dof);
        reference_.build(y_ref, threads);
        if (repel_new) among_ = Matrix(a.graph.n, Dim);
    }

    // The gradient at y, alpha times the attraction (and each point's KL when with_cost).
    void evaluate(const Matrix& y, double alpha, bool with_cost) {
        fresh_.build(y, threads_);
        reference_.repulsion_on(fresh_, theta_, repulsion_.view(), z_, threads_);
        if (repel_new_) {
            fresh_.repulsion(theta_, among_.view(), threads_);
            fresh_.point_z(z_among_);
        }
        parallel_for(y.rows(), threads_, [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i)
                cost_[static_cast<std::size_t>(i)] =
                    kernel_.alpha == 1.0 ? point<false>(i, y.row(i), alpha, with_cost, grad_.row(i))
                                         : point<true>(i, y.row(i), alpha, with_cost, grad_.row(i));
        });
    }

    const Matrix& gradient() const { return grad_; }

    // The mean KL(P_i || Q_i) over the new points and the gradient's norm, of the last evaluate() with
    // costs, each added in a fixed order: the same for any thread count.
    double mean_cost() const {
        const double total = parallel_sum(grad_.rows(), threads_, [&](index_t begin, index_t end) {
            double sum = 0.0;
            for (index_t i = begin; i < end; ++i) sum += cost_[static_cast<std::size_t>(i)];
            return sum;
        });
        return total / static_cast<double>(grad_.rows());
    }
    double gradient_norm() const {
        return std::sqrt(parallel_sum(grad_.size(), threads_, [&](index_t begin, index_t end) {
            double sum = 0.0;
            for (index_t e = begin; e < end; ++e) sum += grad_.data()[e] * grad_.data()[e];
            return sum;
        }));
    }

  private:
    // The gradient of KL(P_i || Q_i) at y_i (see the top of the file) into g; returns KL(P_i || Q_i) of
    // the unexaggerated P when asked, else 0. General: the kernel of kernel_.alpha != 1.
    template <bool General>
    double point(index_t i, const double* yi, double alpha, bool with_cost, double* g) const {
        const index_t k = a_.graph.k;
        const point_t* columns = a_.graph.row_indices(i);
        const float* p = a_.p.data() + i * k;
        const double z =
            z_[static_cast<std::size_t>(i)] + (repel_new_ ? z_among_[static_cast<std::size_t>(i)] : 0.0);
        double attraction[Dim] = {};
        double cost = 0.0;
        for (index_t e = 0; e < k; ++e) {
            const double* yj = y_ref_.row(columns[e]);
            double diff[Dim];
            double dist2 = 0.0;
            for (int d = 0; d < Dim; ++d) {
                diff[d] = yi[d] - yj[d];
                dist2 += diff[d] * diff[d];
            }
            const double pij = p[e];
            if constexpr (General) {
                const double u = kernel_.u(dist2);
                for (int d = 0; d < Dim; ++d) attraction[d] += pij * u * diff[d];
                // p log(p / q) = p (log(p Z) - log w).
                if (with_cost && pij > 0) cost += pij * (std::log(pij * z) + kernel_.minus_log_w(dist2));
            } else {
                const double w = 1.0 / (1.0 + dist2);
                for (int d = 0; d < Dim; ++d) attraction[d] += pij * w * diff[d];
                // p log(p / q) = p log(p Z (1 + d^2)); entries with p = 0 add nothing.
                if (with_cost && pij > 0) cost += pij * std::log(pij * z * (1.0 + dist2));
            }
        }
        // Z_i is a sum of positive terms; only a point pushed to an astronomical distance could make it 0.
        const double inverse_z = z > 0 ? 1.0 / z : 0.0;
        for (int d = 0; d < Dim; ++d) {
            const double repulsion = repulsion_(i, d) + (repel_new_ ? among_(i, d) : 0.0);
            g[d] = 2.0 * (alpha * attraction[d] - repulsion * inverse_z);
        }
        return cost;
    }

    const TransformAffinities& a_;
    ConstMatrixView y_ref_;
    bool repel_new_;
    double theta_;
    StudentKernel kernel_;
    int threads_;
    SpaceTree<Dim> reference_, fresh_;
    Matrix grad_, repulsion_, among_;         // among_: from the other new points (repel_new)
    std::vector<double> z_, z_among_, cost_;  // Z_i from the reference, from the new points; KL_i
};

template <int Dim>
Matrix optimise(const TransformAffinities& a, ConstMatrixView y_ref, Matrix y0, const Options& options,
                const TransformOptions& t, const Observer& observer) {
    const auto start = std::chrono::steady_clock::now();
    const index_t m = y0.rows();
    NewPointGradient<Dim> gradient(a, y_ref, t.repel_new, options.optimizer.theta, options.optimizer.dof,
                                   options.threads);
    OptimizerState state;
    state.y = std::move(y0);
    state.gains = Matrix(m, Dim, 1.0);
    state.velocity = Matrix(m, Dim, 0.0);
    OptimizerOptions step = options.optimizer;  // its gains; the rest from t
    step.max_step_norm = t.max_step_norm;
    for (index_t it = 0; it < t.iterations; ++it) {
        const double alpha = it < t.exaggeration_iterations ? t.exaggeration : 1.0;
        const bool report = observer && (it + 1 == t.iterations ||
                                         (options.report_every > 0 && (it + 1) % options.report_every == 0));
        gradient.evaluate(state.y, alpha, report);
        IterationReport r;
        if (report) {  // of the positions the gradient was taken at
            r.kl = gradient.mean_cost();
            r.gradient_norm = gradient.gradient_norm();
        }
        if (!gradient_step(step, t.learning_rate, t.momentum, gradient.gradient().view(), state,
                           options.threads))
            throw NumericalError(
                "transform: the optimisation diverged (a new point's position is not finite); try a smaller "
                "learning rate or a max step norm");
        ++state.iteration;
        if (!report) continue;
        r.iteration = it + 1;
        r.total = t.iterations;
        r.phase = alpha != 1.0 ? Phase::early_exaggeration : Phase::main;
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        r.theta = options.optimizer.theta;
        r.embedding = state.y.view();
        if (!observer(r)) break;
    }
    return std::move(state.y);
}

}  // namespace

double resolve_perplexity(const TransformOptions& t, const Options& options) {
    return t.perplexity ? *t.perplexity : std::min(options.affinities.perplexity, transform_auto_perplexity);
}

TransformAffinities transform_affinities(ConstMatrixView x_ref, ConstMatrixView x_new, const Options& options,
                                         const TransformOptions& t) {
    AffinityOptions affinities = options.affinities;
    affinities.perplexity = resolve_perplexity(t, options);
    const index_t n = x_ref.rows;
    // As for the reference (validate(Options)): a row of k = min(N-1, floor(3 perplexity)) neighbours can
    // reach the perplexity's entropy only if perplexity < k.
    require(std::isfinite(affinities.perplexity) && affinities.perplexity >= 1 &&
                affinities.perplexity < static_cast<double>(n - 1),
            "transform: perplexity ", affinities.perplexity, " must be in [1, N - 1) = [1, ", n - 1, ") for ",
            n, " reference points");
    // Neighbours and P do not change under a common power-of-two scale; extreme data would overflow.
    Matrix scaled_ref, scaled_new;
    if (const int exponent = extreme_exponent(x_ref, x_new)) {
        scaled_ref = scaled_by_power_of_two(x_ref, exponent);
        scaled_new = scaled_by_power_of_two(x_new, exponent);
        x_ref = scaled_ref.view();
        x_new = scaled_new.view();
    }
    TransformAffinities a;
    a.graph = nearest_neighbors_of(x_ref, x_new, neighbor_count(affinities.perplexity, n),
                                   options.neighbors.backend, options.threads);
    a.p = conditional_probabilities(a.graph, affinities, options.threads);
    return a;
}

Matrix transform_init(const TransformAffinities& affinities, ConstMatrixView y_ref, std::uint64_t seed,
                      int threads) {
    const NeighborGraph& graph = affinities.graph;
    require(static_cast<index_t>(affinities.p.size()) == graph.n * graph.k && graph.k >= 1,
            "transform_init: the affinities do not match their graph");
    for (const point_t j : graph.indices)
        require(static_cast<index_t>(j) < y_ref.rows, "transform_init: neighbour ", j,
                " is not a row of the ", y_ref.rows, "-point reference embedding");
    const index_t m = graph.n, k = graph.k, dims = y_ref.cols;
    Matrix y(m, dims);
    parallel_for(m, threads, [&](index_t begin, index_t end) {
        std::vector<std::pair<double, float>> column(static_cast<std::size_t>(k));  // (coordinate, weight)
        for (index_t i = begin; i < end; ++i) {
            const point_t* neighbours = graph.row_indices(i);
            const float* p = affinities.p.data() + i * k;
            double total = 0.0;
            for (index_t e = 0; e < k; ++e) total += p[e];
            for (index_t d = 0; d < dims; ++d) {
                for (index_t e = 0; e < k; ++e)
                    column[static_cast<std::size_t>(e)] = {y_ref(neighbours[e], d), p[e]};
                std::sort(column.begin(), column.end());
                // The smallest coordinate at which the weights up to it reach half the total.
                double below = 0.0;
                for (const auto& [coordinate, weight] : column) {
                    below += weight;
                    y(i, d) = coordinate;
                    if (below >= 0.5 * total) break;
                }
            }
        }
    });
    // Points whose neighbours and weights coincide would start, and stay, on one spot.
    const double s = spread(y_ref);
    const double sd = 1e-4 * (s > 0 && std::isfinite(s) ? s : 1.0);
    Rng rng(seed);
    for (double& v : y.storage()) v += sd * rng.normal();
    return y;
}

Matrix transform_optimize(const TransformAffinities& affinities, ConstMatrixView y_ref, Matrix y0,
                          const Options& options, const TransformOptions& t, const Observer& observer) {
    const NeighborGraph& graph = affinities.graph;
    require(y_ref.cols >= 1 && y_ref.cols <= 3,
            "transform: the reference embedding must have 1, 2 or 3 columns; got ", y_ref.cols);
    require(y0.rows() == graph.n && y0.cols() == y_ref.cols, "transform: the start is ", y0.rows(), " x ",
            y0.cols(), "; expected ", graph.n, " x ", y_ref.cols);
    require(static_cast<index_t>(affinities.p.size()) == graph.n * graph.k,
            "transform: the affinities do not match their graph");
    for (const point_t j : graph.indices)
        require(static_cast<index_t>(j) < y_ref.rows, "transform: neighbour ", j, " is not a row of the ",
                y_ref.rows, "-point reference embedding");
    validate(t);
    require_finite(y_ref, "reference embedding");
    switch (y_ref.cols) {
        case 1:
            return optimise<1>(affinities, y_ref, std::move(y0), options, t, observer);
        case 2:
            return optimise<2>(affinities, y_ref, std::move(y0), options, t, observer);
        default:
            return optimise<3>(affinities, y_ref, std::move(y0), options, t, observer);
    }
}

void validate_transform(ConstMatrixView x_ref, ConstMatrixView y_ref, ConstMatrixView x_new,
                        const Options& options, const TransformOptions& t) {
    check_shapes(x_ref, y_ref, x_new);
    check_options(options, t, x_ref.rows, x_ref.cols, y_ref.cols);
    require_finite(x_ref, "reference data");
    require_finite(y_ref, "reference embedding");
    require_finite(x_new, "new data");
}

Matrix transform(ConstMatrixView x_ref, ConstMatrixView y_ref, ConstMatrixView x_new, const Options& options,
                 const TransformOptions& t, const Observer& observer) {
    validate_transform(x_ref, y_ref, x_new, options, t);
    // Data of extreme magnitude is rescaled by a power of two first, as embed() rescales the reference
    // (scale.hpp): one exponent for both, so that their distances stay comparable.
    Matrix scaled_ref, scaled_new;
    ConstMatrixView ref = x_ref, fresh = x_new;
    if (const int exponent = extreme_exponent(x_ref, x_new)) {
        scaled_ref = scaled_by_power_of_two(x_ref, exponent);
        scaled_new = scaled_by_power_of_two(x_new, exponent);
        ref = scaled_ref.view();
        fresh = scaled_new.view();
    }
    Matrix reduced_ref, reduced_new;
    if (options.pca_dims > 0 && options.pca_dims < x_ref.cols) {  // as embed() reduces the reference
        PcaResult fit = pca(ref, options.pca_dims, options.threads);
        reduced_new = pca_project(fit, fresh, options.threads);
        reduced_ref = std::move(fit.projected);
        ref = reduced_ref.view();
        fresh = reduced_new.view();
    }
    const TransformAffinities a = transform_affinities(ref, fresh, options, t);
    return transform_optimize(a, y_ref, transform_init(a, y_ref, options.seed, options.threads), options, t,
                              observer);
}

}  // namespace treesne
