// The optimisation loop: build tree -> forces -> step -> report (van der Maaten 2014, sec. 5).
#include "treesne/session.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <variant>

#include "treesne/errors.hpp"
#include "treesne/exact.hpp"
#include "treesne/gradient.hpp"
#include "treesne/parallel.hpp"
#include "treesne/space_tree.hpp"

namespace treesne {

struct Session::Impl {
    Options options;
    index_t n = 0;
    int dims = 0;
    int threads = 1;
    double learning_rate = 0;
    Affinities p_sparse;  // barnes_hut
    Matrix p_dense;       // exact methods: joint (t-SNE) or conditional (SNE)
    OptimizerState state;
    Matrix grad;
    std::variant<std::monostate, SpaceTree<1>, SpaceTree<2>, SpaceTree<3>> tree;
    double seconds = 0;  // optimisation wall time accumulated over run() calls

    void init(Matrix initial_y, const Options& opts, index_t points) {
        options = opts;
        validate(options, -1, -1);
        n = points;
        dims = options.dims;
        require(initial_y.rows() == n && initial_y.cols() == dims, "initial embedding must be ", n, " x ", dims,
                "; got ", initial_y.rows(), " x ", initial_y.cols());
        for (index_t i = 0; i < initial_y.size(); ++i)
            require(std::isfinite(initial_y.data()[i]), "initial embedding has a non-finite value at row ",
                    i / dims, ", column ", i % dims);
        threads = resolve_threads(options.threads);
        learning_rate = resolve_learning_rate(options.optimizer, n);
        state.y = std::move(initial_y);
        state.gains = Matrix(n, dims, 1.0);
        state.velocity = Matrix(n, dims, 0.0);
        state.iteration = 0;
        grad = Matrix(n, dims);
        if (options.optimizer.method == Method::barnes_hut) {
            if (dims == 1) tree.emplace<SpaceTree<1>>();
            if (dims == 2) tree.emplace<SpaceTree<2>>();
            if (dims == 3) tree.emplace<SpaceTree<3>>();
        }
    }

    double exaggeration_at(index_t iteration) const {
        return iteration < options.optimizer.exaggeration_iterations ? options.optimizer.exaggeration : 1.0;
    }

    // Gradient at the current Y into grad; returns the KL (computed only when want_kl for barnes_hut,
    // where it costs an extra pass over P; the exact methods get it for free).
    double compute_gradient(double exaggeration, bool want_kl) {
        const auto& opt = options.optimizer;
        switch (opt.method) {
            case Method::exact_tsne:
                return exact_tsne_gradient(p_dense, state.y, grad.view(), exaggeration, threads, want_kl);
            case Method::exact_sne:
                return exact_sne_gradient(p_dense, state.y, grad.view(), exaggeration, threads);
            case Method::barnes_hut: break;
        }
        double kl = std::numeric_limits<double>::quiet_NaN();
        std::visit(
            [&](auto& t) {
                using T = std::decay_t<decltype(t)>;
                if constexpr (!std::is_same_v<T, std::monostate>)
                    barnes_hut_gradient(p_sparse, state.y, t, opt.theta, exaggeration, grad.view(), threads,
                                        want_kl ? &kl : nullptr);
            },
            tree);
        return kl;
    }

    // Gains, momentum, optional per-point step clipping, update, recentring.
    void step(double momentum) {
        const auto& opt = options.optimizer;
        const double lr = learning_rate;
        const int d_count = dims;
        parallel_for(n, threads, [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) {
                double* g = grad.row(i);
                double* v = state.velocity.row(i);
                double* gain = state.gains.row(i);
                double step2 = 0.0;
                for (int d = 0; d < d_count; ++d) {
                    // Jacobs (1988): grow the gain where the gradient and the last step disagree in sign.
                    gain[d] = (g[d] > 0) != (v[d] > 0) ? gain[d] + opt.gain_increase : gain[d] * opt.gain_decrease;
                    if (gain[d] < opt.min_gain) gain[d] = opt.min_gain;
                    v[d] = momentum * v[d] - lr * gain[d] * g[d];
                    step2 += v[d] * v[d];
                }
                if (opt.max_step_norm > 0 && step2 > opt.max_step_norm * opt.max_step_norm) {
                    const double f = opt.max_step_norm / std::sqrt(step2);
                    for (int d = 0; d < d_count; ++d) v[d] *= f;
                }
                double* y = state.y.row(i);
                for (int d = 0; d < d_count; ++d) y[d] += v[d];
            }
        });
        recentre();
    }

    void recentre() {
        for (int d = 0; d < dims; ++d) {
            const double sum = parallel_sum(n, threads, [&](index_t begin, index_t end) {
                double s = 0.0;
                for (index_t i = begin; i < end; ++i) s += state.y(i, d);
                return s;
            });
            const double mean = sum / static_cast<double>(n);
            parallel_for(n, threads, [&](index_t begin, index_t end) {
                for (index_t i = begin; i < end; ++i) state.y(i, d) -= mean;
            });
        }
    }

    double gradient_norm() const {
        return std::sqrt(parallel_sum(grad.size(), threads, [&](index_t begin, index_t end) {
            double s = 0.0;
            for (index_t i = begin; i < end; ++i) s += grad.data()[i] * grad.data()[i];
            return s;
        }));
    }
};

Session::Session(Affinities p, Matrix initial_y, const Options& options) : impl_(std::make_unique<Impl>()) {
    require(options.optimizer.method == Method::barnes_hut,
            "a Session over sparse affinities runs method barnes_hut; got ", to_string(options.optimizer.method));
    require(p.n >= 2 && static_cast<index_t>(p.offsets.size()) == p.n + 1, "affinities are malformed");
    const index_t n = p.n;
    impl_->p_sparse = std::move(p);
    impl_->init(std::move(initial_y), options, n);
}

Session::Session(Matrix dense_p, Matrix initial_y, const Options& options) : impl_(std::make_unique<Impl>()) {
    require(options.optimizer.method != Method::barnes_hut,
            "a Session over a dense P runs an exact method (exact_tsne or exact_sne)");
    require(dense_p.rows() == dense_p.cols() && dense_p.rows() >= 2, "dense P must be square; got ",
            dense_p.rows(), " x ", dense_p.cols());
    const index_t n = dense_p.rows();
    impl_->p_dense = std::move(dense_p);
    impl_->init(std::move(initial_y), options, n);
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

RunStatus Session::run(index_t until, const Observer& observer, const std::atomic<bool>* cancel) {
    Impl& s = *impl_;
    const auto& opt = s.options.optimizer;
    const index_t every = s.options.report_every;
    while (s.state.iteration < until) {
        const auto start = std::chrono::steady_clock::now();
        const index_t t = s.state.iteration;
        const index_t done = t + 1;
        const bool report = observer && ((every > 0 && done % every == 0) || done == until);
        const double exaggeration = s.exaggeration_at(t);
        const double kl = s.compute_gradient(exaggeration, report);
        const double grad_norm = report ? s.gradient_norm() : 0.0;
        s.step(t < opt.exaggeration_iterations ? opt.momentum : opt.final_momentum);
        s.state.iteration = done;
        s.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (report) {
            IterationReport r;
            r.iteration = done;
            r.total = until;
            r.phase = t < opt.exaggeration_iterations ? Phase::early_exaggeration : Phase::main;
            r.kl = kl;
            r.gradient_norm = grad_norm;
            r.seconds = s.seconds;
            if (!observer(r)) return RunStatus::stopped_by_observer;
        }
        if (cancel && cancel->load(std::memory_order_relaxed)) return RunStatus::cancelled;
    }
    return RunStatus::completed;
}

double Session::gradient(MatrixView grad) {
    require(grad.rows == impl_->n && grad.cols == impl_->dims, "gradient buffer must be ", impl_->n, " x ",
            impl_->dims);
    const double kl = impl_->compute_gradient(impl_->exaggeration_at(impl_->state.iteration), true);
    std::copy(impl_->grad.data(), impl_->grad.data() + impl_->grad.size(), grad.data);
    return kl;
}

double Session::kl() {
    Impl& s = *impl_;
    switch (s.options.optimizer.method) {
        case Method::exact_tsne: return exact_tsne_kl(s.p_dense, s.state.y, s.threads);
        case Method::exact_sne: return exact_sne_kl(s.p_dense, s.state.y, s.threads);
        case Method::barnes_hut: break;
    }
    return s.compute_gradient(1.0, true);
}

const Matrix& Session::embedding() const { return impl_->state.y; }
index_t Session::iteration() const { return impl_->state.iteration; }
const OptimizerState& Session::state() const { return impl_->state; }
const Options& Session::options() const { return impl_->options; }
double Session::learning_rate() const { return impl_->learning_rate; }

void Session::restore(OptimizerState state) {
    const index_t n = impl_->n, d = impl_->dims;
    auto shape_ok = [&](const Matrix& m) { return m.rows() == n && m.cols() == d; };
    require(shape_ok(state.y) && shape_ok(state.gains) && shape_ok(state.velocity) && state.iteration >= 0,
            "checkpoint state does not match this session (", n, " x ", d, ")");
    impl_->state = std::move(state);
}

}  // namespace treesne
