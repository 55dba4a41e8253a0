// The optimisation loop: build tree -> forces -> step -> report (van der Maaten 2014, sec. 5).
#include "treesne/optimize/session.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <variant>

#include "core/permutation.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/tree/exact.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/optimize/optimizer.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/tree/space_tree.hpp"

namespace treesne {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// What a session reads of its Options. Not the Options themselves: they carry init_coordinates (N x dims,
// the caller's, already handed over as initial_y) and the neighbour and affinity settings that P already
// embodies, so a copy would hold a second N x dims matrix for the whole run, uncounted by the memory
// estimate.
struct SessionSettings {
    int dims = 2;
    int threads = 0;
    std::uint64_t seed = 0;
    index_t report_every = 0;
    OptimizerOptions optimizer;

    SessionSettings() = default;
    explicit SessionSettings(const Options& o)
        : dims(o.dims), threads(o.threads), seed(o.seed), report_every(o.report_every), optimizer(o.optimizer) {}

    // The settings as Options (defaults elsewhere), for validate().
    Options as_options() const {
        Options o;
        o.dims = dims;
        o.threads = threads;
        o.seed = seed;
        o.report_every = report_every;
        o.optimizer = optimizer;
        return o;
    }
};

}  // namespace

struct Session::Impl {
    SessionSettings options;
    index_t n = 0;
    int dims = 0;
    int threads = 1;
    double learning_rate = 0;
    PackedAffinities p_sparse;  // barnes_hut
    Matrix p_dense;       // exact methods: joint (t-SNE) or conditional (SNE)
    OptimizerState state;
    Matrix grad;
    GradientWorkspace gradient_work;  // the attraction buffer of barnes_hut_gradient, kept across iterations
    std::variant<std::monostate, SpaceTree<1>, SpaceTree<2>, SpaceTree<3>> tree;
    double seconds = 0;  // optimisation wall time accumulated over run() calls
    IterationSeconds stages;
    // Relabelled runs: internal row r is input point order[r] (empty: the input's order). The state in
    // the input's order is made on demand and kept until the state changes. The const readers
    // (embedding(), state()) fill it, so it is guarded by input_order_mutex: const calls may run
    // concurrently (session.hpp), and two of them must not both write the copy. The mutex also orders
    // one reader's writes before another's reads.
    std::vector<point_t> order;
    mutable std::mutex input_order_mutex;
    mutable OptimizerState in_input_order;  // guarded by input_order_mutex
    mutable bool input_order_current = false;  // guarded by input_order_mutex
    mutable bool input_y_current = false;      // in_input_order.y alone (embedding()); the same mutex
    // The auto-theta controller: its sample (internal rows) and buffers, and its last measured error.
    std::vector<index_t> control_rows;
    Matrix control_forces, control_exact;
    double control_error = std::numeric_limits<double>::quiet_NaN();
    std::vector<CostPoint> history;
    // A distributed run: P holds the rows of rows.begin(rank) .. rows.end(rank) only.
    Collective* collective = nullptr;
    RowPartition rows;  // which rows of P each rank holds

    // The embedding in the input's order for a report, valid until the next gradient: for a relabelled
    // run, written into grad, which the step has used and the next gradient overwrites (a buffer of its
    // own would be N x dims doubles more for the whole run).
    ConstMatrixView report_embedding() {
        if (order.empty()) return state.y.view();
        detail::scatter_rows_into(state.y.view(), order, grad.view());
        return grad.view();
    }

    // Non-const callers only, which have the session to themselves; the lock keeps the flag's writes
    // and the readers' accesses in one order for checkers such as ThreadSanitizer all the same.
    void state_changed() {
        std::lock_guard<std::mutex> lock(input_order_mutex);
        input_order_current = false;
        input_y_current = false;
    }
    const OptimizerState& input_state() const {
        if (order.empty()) return state;
        std::lock_guard<std::mutex> lock(input_order_mutex);
        if (!input_order_current) {
            if (!input_y_current) in_input_order.y = detail::scatter_rows(state.y, order);
            input_y_current = true;
            in_input_order.gains = detail::scatter_rows(state.gains, order);
            in_input_order.velocity = detail::scatter_rows(state.velocity, order);
            in_input_order.iteration = state.iteration;
            in_input_order.theta = state.theta;
            in_input_order.stop_kl = state.stop_kl;
            in_input_order.affinities_fingerprint = state.affinities_fingerprint;
            input_order_current = true;
        }
        return in_input_order;
    }
    // input_state().y alone (embedding(): the gains and velocity are not copied, 2 N dims doubles).
    const Matrix& input_y() const {
        if (order.empty()) return state.y;
        std::lock_guard<std::mutex> lock(input_order_mutex);
        if (!input_y_current) {
            in_input_order.y = detail::scatter_rows(state.y, order);
            input_y_current = true;
        }
        return in_input_order.y;
    }

    void init(Matrix initial_y, const Options& opts, index_t points) {
        validate(opts, -1, -1);
        options = SessionSettings(opts);
        n = points;
        dims = options.dims;
        require(initial_y.rows() == n && initial_y.cols() == dims, "initial embedding must be ", n, " x ",
                dims, "; got ", initial_y.rows(), " x ", initial_y.cols());
        for (index_t i = 0; i < initial_y.size(); ++i)
            require(std::isfinite(initial_y.data()[i]), "initial embedding has a non-finite value at row ",
                    i / dims, ", column ", i % dims);
        threads = resolve_threads(options.threads);
        learning_rate = resolve_learning_rate(options.optimizer, n);
        state.y = std::move(initial_y);
        state.gains = Matrix(n, dims, 1.0);
        state.velocity = Matrix(n, dims, 0.0);
        state.iteration = 0;
        state.theta = options.optimizer.theta_auto ? options.optimizer.theta
                                                   : std::numeric_limits<double>::quiet_NaN();
        grad = Matrix(n, dims);
        if (options.optimizer.method == Method::barnes_hut) {
            if (dims == 1) tree.emplace<SpaceTree<1>>();
            if (dims == 2) tree.emplace<SpaceTree<2>>();
            if (dims == 3) tree.emplace<SpaceTree<3>>();
        }
    }

    // Gradient at the current Y into grad; returns the KL (computed only when want_kl for barnes_hut,
    // where it costs an extra pass over P; the exact methods get it for free).
    double compute_gradient(double exaggeration, bool want_kl) {
        const auto& opt = options.optimizer;
        switch (opt.method) {
            case Method::exact_tsne:
            case Method::exact_sne: {
                const auto start = std::chrono::steady_clock::now();
                const double kl =
                    opt.method == Method::exact_tsne
                        ? exact_tsne_gradient(p_dense, state.y, grad.view(), exaggeration, threads, want_kl,
                                              opt.dof)
                        : exact_sne_gradient(p_dense, state.y, grad.view(), exaggeration, threads);
                stages.repulsion += seconds_since(start);
                return kl;
            }
            case Method::barnes_hut:
                break;
        }
        double kl = std::numeric_limits<double>::quiet_NaN();
        GradientSeconds times;
        std::visit(
            [&](auto& t) {
                using T = std::decay_t<decltype(t)>;
                if constexpr (!std::is_same_v<T, std::monostate>) {
                    t.set_dof(
                        opt.dof);  // the kernel of the repulsion, and through it of the attraction and KL
                    if (collective) {
                        barnes_hut_gradient_shared(p_sparse, state.y, t, theta_in_use(), exaggeration, grad.view(),
                                                   threads, *collective, rows, want_kl ? &kl : nullptr, &times,
                                                   &gradient_work);
                    } else {
                        barnes_hut_gradient(p_sparse, state.y, t, theta_in_use(), exaggeration, grad.view(),
                                            threads, want_kl ? &kl : nullptr, &times, &gradient_work);
                    }
                }
            },
            tree);
        stages.tree += times.tree;
        stages.repulsion += times.repulsion;
        stages.attraction += times.attraction;
        stages.kl += times.kl;
        stages.exchange += times.exchange;
        return kl;
    }

    double theta_in_use() const {
        const auto& opt = options.optimizer;
        return opt.theta_auto && std::isfinite(state.theta) ? state.theta : opt.theta;
    }

    // Relative error of the Barnes-Hut repulsion at theta on the controller's sample (the tree is built).
    double sample_error(double theta) {
        std::visit(
            [&](auto& space_tree) {
                using T = std::decay_t<decltype(space_tree)>;
                if constexpr (!std::is_same_v<T, std::monostate>)
                    space_tree.repulsion(theta, control_forces.view(), threads);
            },
            tree);
        return relative_force_error(control_forces, control_rows, control_exact);
    }

    // The auto-theta controller, at iterations 0, theta_auto_every, ...: the largest theta on the grid
    // theta_auto_min, + theta_auto_step, ..., theta_auto_max whose relative repulsion error, measured on
    // a seeded sample of points against their exact sums, is at most the target. The search starts at
    // the current theta and walks the grid (at most theta_auto_max_up steps up: the error grows steeply
    // with theta in a converged map, so one measurement cannot predict far). Deterministic, so a
    // resumed run (whose checkpoint holds state.theta) continues exactly.
    void control_theta(index_t t) {
        const auto& opt = options.optimizer;
        if (opt.method != Method::barnes_hut || !opt.theta_auto || t % theta_auto_every != 0) return;
        const auto start = std::chrono::steady_clock::now();
        if (!(opt.target_error > 0)) {  // exact
            state.theta = 0.0;
            control_error = 0.0;
            return;
        }
        if (control_rows.empty()) {
            control_rows = seeded_sample(n, theta_auto_sample, options.seed);
            control_forces = Matrix(n, dims);
            control_exact = Matrix(static_cast<index_t>(control_rows.size()), dims);
        }
        std::visit(
            [&](auto& space_tree) {
                using T = std::decay_t<decltype(space_tree)>;
                if constexpr (!std::is_same_v<T, std::monostate>) {
                    space_tree.set_dof(opt.dof);
                    space_tree.build(state.y, threads, grad.view());  // grad: idle until the gradient
                }
            },
            tree);
        exact_repulsion_rows(state.y, control_rows, control_exact.view(), nullptr, threads, opt.dof);
        state.theta = auto_theta_search(theta_in_use(), opt.target_error,
                                        [&](double theta) { return sample_error(theta); }, &control_error);
        stages.control += seconds_since(start);
    }

    // One step at iteration t (gains, momentum, clipping, update, recentring). A non-finite coordinate
    // stops the run here, naming the iteration, before anything could write it.
    void step(index_t t) {
        const auto start = std::chrono::steady_clock::now();
        const auto& opt = options.optimizer;
        if (!gradient_step(opt, learning_rate, momentum_at(opt, t), grad.view(), state, threads))
            throw NumericalError(concat("the optimisation diverged at iteration ", t + 1,
                                        ": the embedding has non-finite coordinates (try a smaller learning "
                                        "rate, or a maximum step norm)"));
        recentre(state.y.view(), threads);
        stages.step += seconds_since(start);
        ++stages.iterations;
    }

    double gradient_norm() const {
        return std::sqrt(parallel_sum(grad.size(), threads, [&](index_t begin, index_t end) {
            double s = 0.0;
            for (index_t i = begin; i < end; ++i) s += grad.data()[i] * grad.data()[i];
            return s;
        }));
    }
};

namespace {

Affinities validated(Affinities p, int threads) {
    validate_affinities(p, threads);
    return p;
}

// The constructors check a non-empty order is a permutation; empty there means the input's order.
std::vector<point_t> non_empty(std::vector<point_t> order) {
    require(!order.empty(), "the session's order is empty; expected a permutation of [0, N)");
    return order;
}

// affinities_fingerprint() of the whole P from its rows spread over the ranks: the same words in the same
// order (method, n, then the offsets, columns and values of every rank in turn), the hasher's state passed
// from rank to rank, so that a checkpoint of any number of ranks resumes with any other.
// P's columns of rows [first_row, last_row) into h, as the bytes of their 32-bit values (the unpacked P's
// columns array), a bounded chunk at a time.
void feed_columns(StreamHasher& h, const PackedAffinities& p, index_t first_row, index_t last_row) {
    std::vector<point_t> chunk;
    chunk.reserve(std::size_t{1} << 16);
    for (index_t i = first_row; i < last_row; ++i) {
        for (index_t e = p.offsets[static_cast<std::size_t>(i)]; e < p.offsets[static_cast<std::size_t>(i) + 1]; ++e) {
            chunk.push_back(p.column(i, e));
            if (chunk.size() == chunk.capacity()) {
                h.feed(chunk.data(), chunk.size() * sizeof(point_t));
                chunk.clear();
            }
        }
    }
    h.feed(chunk.data(), chunk.size() * sizeof(point_t));
}

std::uint64_t distributed_fingerprint(const PackedAffinities& p, Collective& collective, const RowPartition& rows) {
    const index_t first = rows.begin(collective.rank()), last = rows.end(collective.rank());
    const index_t own = p.offsets[static_cast<std::size_t>(last)] - p.offsets[static_cast<std::size_t>(first)];
    // Entries before this rank's rows: the nnz of the lower ranks, added up in rank order (integers).
    std::vector<index_t> counts(static_cast<std::size_t>(collective.size()));
    counts[static_cast<std::size_t>(collective.rank())] = own;
    std::vector<std::size_t> at(counts.size() + 1);
    for (std::size_t r = 0; r < at.size(); ++r) at[r] = r * sizeof(index_t);
    collective.allgather(counts.data(), at);
    index_t base = 0;
    for (int r = 0; r < collective.rank(); ++r) base += counts[static_cast<std::size_t>(r)];
    std::vector<index_t> offsets;  // the global offsets this rank contributes (the last rank: also the end)
    for (index_t i = first; i < last; ++i) offsets.push_back(base + p.offsets[static_cast<std::size_t>(i)] -
                                                              p.offsets[static_cast<std::size_t>(first)]);
    if (collective.rank() == collective.size() - 1) offsets.push_back(base + own);
    const auto entries = static_cast<std::size_t>(p.offsets[static_cast<std::size_t>(first)]);
    const auto count = static_cast<std::size_t>(own);
    StreamHasher h;
    h.word(static_cast<std::uint64_t>(Method::barnes_hut));
    h.word(static_cast<std::uint64_t>(p.n));
    const auto pass = [&](const auto& feed) {
        const std::vector<unsigned char> state = collective.in_rank_order([&](std::vector<unsigned char>& bytes) {
            if (!bytes.empty()) h = StreamHasher::restore(bytes);
            feed();
            if (collective.rank() == collective.size() - 1) h.end_array();
            bytes = h.save();
        });
        h = StreamHasher::restore(state);
    };
    pass([&] { h.feed(offsets.data(), offsets.size() * sizeof(index_t)); });
    pass([&] { feed_columns(h, p, first, last); });
    pass([&] { h.feed(p.values.data() + entries, count * sizeof(float)); });
    const std::uint64_t v = h.value();
    return v == 0 ? 1 : v;
}

}  // namespace

double session_bytes(double n, double dims) {
    return 4 * n * dims * 8;
}

Session::Session(Affinities p, Matrix initial_y, const Options& options)
    : Session(validated(std::move(p), options.threads), std::move(initial_y), options, {},
              detail::ValidatedAffinities{}) {}

Session::Session(Affinities p, Matrix initial_y, const Options& options, std::vector<point_t> order)
    : Session(validated(std::move(p), options.threads), std::move(initial_y), options,
              non_empty(std::move(order)), detail::ValidatedAffinities{}) {}

namespace {
// P packed for a Session; debug builds check first what ValidatedAffinities promises (in place: a copy of P
// would change the peaks the memory tests measure).
PackedAffinities checked_pack(Affinities p, int threads) {
    assert(affinities_defect(p, threads).empty());
    return pack(std::move(p), threads);
}
}  // namespace

Session::Session(Affinities p, Matrix initial_y, const Options& options, std::vector<point_t> order,
                 detail::ValidatedAffinities valid)
    : Session(checked_pack(std::move(p), options.threads), std::move(initial_y), options, std::move(order), valid) {}

Session::Session(PackedAffinities p, Matrix initial_y, const Options& options, std::vector<point_t> order,
                 detail::ValidatedAffinities)
    : impl_(std::make_unique<Impl>()) {
    require(options.optimizer.method == Method::barnes_hut,
            "a Session over sparse affinities runs method barnes_hut; got ",
            to_string(options.optimizer.method));
    validate(options, -1, -1);  // P: symmetrize_packed's, or a checked_pack of a validated P
    const index_t n = p.n;
    if (!order.empty())
        detail::inverse_order(order, n, "the session's order");  // throws unless a permutation
    impl_->p_sparse = std::move(p);
    impl_->init(std::move(initial_y), options, n);
    impl_->order = std::move(order);
}

Session::Session(Affinities own_rows, Matrix initial_y, const Options& options, std::vector<point_t> order,
                 Collective& collective, RowPartition rows)
    : impl_(std::make_unique<Impl>()) {
    require(options.optimizer.method == Method::barnes_hut, "a distributed Session runs method barnes_hut; got ",
            to_string(options.optimizer.method));
    require(!options.optimizer.theta_auto, "theta auto is not available in a distributed run (give a number)");
    validate(options, -1, -1);
    const index_t n = own_rows.n;
    require(rows.ranks() == collective.size() && !rows.first.empty() && rows.first.back() == n,
            "a distributed Session's partition must cover its ", n, " points over ", collective.size(), " ranks");
    if (!order.empty()) detail::inverse_order(order, n, "the session's order");
    impl_->p_sparse = pack(std::move(own_rows), options.threads);
    impl_->init(std::move(initial_y), options, n);
    impl_->order = std::move(order);
    impl_->collective = &collective;
    impl_->rows = std::move(rows);
}

Session::Session(Matrix dense_p, Matrix initial_y, const Options& options) : impl_(std::make_unique<Impl>()) {
    require(options.optimizer.method != Method::barnes_hut,
            "a Session over a dense P runs an exact method (exact_tsne or exact_sne)");
    require(dense_p.rows() == dense_p.cols() && dense_p.rows() >= 2, "dense P must be square; got ",
            dense_p.rows(), " x ", dense_p.cols());
    for (index_t i = 0; i < dense_p.size(); ++i) {
        const double v = dense_p.data()[i];
        require(std::isfinite(v) && v >= 0, "dense P has ", v, " at row ", i / dense_p.cols(), ", column ",
                i % dense_p.cols(), "; its entries must be finite and non-negative");
    }
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
        const bool scheduled_report = (every > 0 && done % every == 0) || done == until;
        // Early stopping compares the KL every early_stop_window iterations in the main phase only:
        // exaggeration (early or late) changes the objective, and the plain KL rises under it on purpose.
        const bool stop_check = opt.early_stop > 0 && done % early_stop_window == 0 &&
                                phase_at(opt, t) == Phase::main;
        s.control_theta(t);
        const double kl = s.compute_gradient(exaggeration_at(opt, t), scheduled_report || stop_check);
        // Of the gradient the step below uses; a converged stop (only on a check) also reports.
        const double grad_norm = scheduled_report || stop_check ? s.gradient_norm() : 0.0;
        s.step(t);
        s.state.iteration = done;
        s.state_changed();
        s.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        bool converged = false;
        if (stop_check) {
            const bool same_phase =
                t >= early_stop_window && phase_at(opt, t - early_stop_window) == Phase::main;
            converged = same_phase && std::isfinite(s.state.stop_kl) &&
                        s.state.stop_kl - kl < opt.early_stop * std::abs(s.state.stop_kl);
            s.state.stop_kl = kl;
        }
        if (scheduled_report || converged) {  // a converged run always reports its last iteration
            IterationReport r;
            r.iteration = done;
            r.total = until;
            r.phase = phase_at(opt, t);
            r.kl = kl;
            r.gradient_norm = grad_norm;
            r.seconds = s.seconds;
            r.theta = opt.method == Method::barnes_hut ? s.theta_in_use() : 0.0;
            r.theta_error = s.control_error;
            s.history.push_back(CostPoint{r.iteration, r.phase, r.kl, r.gradient_norm, r.seconds, r.theta});
            if (observer) {
                r.embedding = s.report_embedding();
                if (!observer(r)) return RunStatus::stopped_by_observer;
            }
        }
        if (converged) return RunStatus::converged;
        if (cancel && cancel->load(std::memory_order_relaxed)) return RunStatus::cancelled;
    }
    return RunStatus::completed;
}

void Session::set_optimizer(const OptimizerOptions& optimizer) {
    Impl& s = *impl_;
    require(optimizer.method == s.options.optimizer.method, "a session's method cannot change (",
            to_string(s.options.optimizer.method), " to ", to_string(optimizer.method), ")");
    SessionSettings next = s.options;
    next.optimizer = optimizer;
    validate(next.as_options(), -1, -1);
    s.options = std::move(next);
    s.learning_rate = resolve_learning_rate(s.options.optimizer, s.n);
    if (!s.options.optimizer.theta_auto) s.state.theta = std::numeric_limits<double>::quiet_NaN();
    s.state_changed();
}

const std::vector<CostPoint>& Session::history() const {
    return impl_->history;
}

double Session::gradient(MatrixView grad) {
    require(grad.rows == impl_->n && grad.cols == impl_->dims, "gradient buffer must be ", impl_->n, " x ",
            impl_->dims);
    const double kl =
        impl_->compute_gradient(exaggeration_at(impl_->options.optimizer, impl_->state.iteration), true);
    const Matrix& g = impl_->order.empty() ? impl_->grad : detail::scatter_rows(impl_->grad, impl_->order);
    std::copy(g.data(), g.data() + g.size(), grad.data);
    return kl;
}

double Session::kl() {
    Impl& s = *impl_;
    switch (s.options.optimizer.method) {
        case Method::exact_tsne:
            return exact_tsne_kl(s.p_dense, s.state.y, s.threads, s.options.optimizer.dof);
        case Method::exact_sne:
            return exact_sne_kl(s.p_dense, s.state.y, s.threads);
        case Method::barnes_hut:
            break;
    }
    return s.compute_gradient(1.0, true);
}

const Matrix& Session::embedding() const {
    return impl_->input_y();
}

Matrix Session::into_embedding() && {
    std::unique_ptr<Impl> s = std::move(impl_);
    Matrix y = std::move(s->state.y);
    const std::vector<point_t> order = std::move(s->order);
    s.reset();  // everything else, before the embedding is reordered
    return order.empty() ? y : detail::scatter_rows(y, order);
}
index_t Session::iteration() const {
    return impl_->state.iteration;
}
const OptimizerState& Session::state() const {
    return impl_->input_state();
}
index_t Session::report_every() const {
    return impl_->options.report_every;
}
const IterationSeconds& Session::iteration_seconds() const {
    return impl_->stages;
}
double Session::learning_rate() const {
    return impl_->learning_rate;
}

std::uint64_t Session::affinities_fingerprint() const {
    const Impl& s = *impl_;
    if (s.collective) return distributed_fingerprint(s.p_sparse, *s.collective, s.rows);
    // The words and arrays WordHasher::bytes would add: the method, n, then the offsets, the columns (as
    // the unpacked P's 32-bit array) and the values; or the dense matrix.
    StreamHasher h;
    h.word(static_cast<std::uint64_t>(s.options.optimizer.method));
    if (s.options.optimizer.method == Method::barnes_hut) {
        const PackedAffinities& p = s.p_sparse;
        h.word(static_cast<std::uint64_t>(p.n));
        h.feed(p.offsets.data(), p.offsets.size() * sizeof(index_t));
        h.end_array();
        feed_columns(h, p, 0, p.n);
        h.end_array();
        h.feed(p.values.data(), p.values.size() * sizeof(float));
        h.end_array();
    } else {
        h.word(static_cast<std::uint64_t>(s.p_dense.rows()));
        h.feed(s.p_dense.data(), static_cast<std::size_t>(s.p_dense.size()) * sizeof(double));
        h.end_array();
    }
    const std::uint64_t v = h.value();
    return v == 0 ? 1 : v;  // 0 means "not recorded"
}

void Session::fingerprint_affinities() {
    if (impl_->state.affinities_fingerprint != 0) return;  // recorded, or restored and checked equal
    impl_->state.affinities_fingerprint = affinities_fingerprint();
    impl_->state_changed();
}

void Session::restore(OptimizerState state) {
    const index_t n = impl_->n, d = impl_->dims;
    auto shape_ok = [&](const Matrix& m) { return m.rows() == n && m.cols() == d; };
    require(shape_ok(state.y) && shape_ok(state.gains) && shape_ok(state.velocity) && state.iteration >= 0,
            "checkpoint state does not match this session (", n, " x ", d, ")");
    // The optimisation only continues the saved run over the same P; the options that shape P are
    // checked by name before P is built (check_resumable), and this catches whatever they miss.
    if (state.affinities_fingerprint != 0) {
        const std::uint64_t mine = affinities_fingerprint();
        if (mine != state.affinities_fingerprint) {
            char ids[64];
            std::snprintf(ids, sizeof ids, "%016llx; this run's is %016llx",
                          static_cast<unsigned long long>(state.affinities_fingerprint),
                          static_cast<unsigned long long>(mine));
            throw InvalidArgument(concat(
                "cannot resume: the saved state was optimised against another P (affinities fingerprint ",
                ids, "): the input data or an option that shapes P (metric, affinity kind, perplexity, "
                "sigma, k, neighbour search) differs from the run that saved it"));
        }
    }
    if (!impl_->order.empty()) {
        state.y = detail::gather_rows(state.y, impl_->order);
        state.gains = detail::gather_rows(state.gains, impl_->order);
        state.velocity = detail::gather_rows(state.velocity, impl_->order);
    }
    if (!impl_->options.optimizer.theta_auto) state.theta = std::numeric_limits<double>::quiet_NaN();
    impl_->state = std::move(state);
    impl_->state_changed();
}

}  // namespace treesne
