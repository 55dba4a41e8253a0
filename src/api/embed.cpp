// embed(): the one-call pipeline, PCA -> neighbours -> affinities -> init -> optimisation.
#include "treesne/api/embed.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "core/permutation.hpp"
#include "treesne/affinities/precomputed.hpp"
#include "treesne/core/scale.hpp"
#include "treesne/api/memory.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/knn/pca.hpp"
#include "treesne/optimize/init.hpp"
#include "treesne/tree/exact.hpp"

namespace treesne {
namespace {


void check_resume_state(const OptimizerState& state, index_t n, int dims) {
    auto shape = [](const Matrix& m) { return concat(m.rows(), " x ", m.cols()); };
    if (state.y.rows() != n || state.y.cols() != dims)
        throw InvalidArgument(concat("cannot resume: the saved state embeds ", state.y.rows(), " points in ",
                                     state.y.cols(), " dimensions, this run ", n, " points in ", dims,
                                     " (use the input and --dims of the run that saved it)"));
    if (state.gains.rows() != n || state.gains.cols() != dims || state.velocity.rows() != n ||
        state.velocity.cols() != dims || state.iteration < 0)
        throw InvalidArgument(concat("cannot resume: the saved state is malformed (y ", shape(state.y),
                                     ", gains ", shape(state.gains), ", velocity ", shape(state.velocity),
                                     ", iteration ", state.iteration, ")"));
}

// Refuses the run when estimate() (made only when a limit applies) exceeds the memory available.
template <class Estimate>
void check_memory(const Options& options, const Callbacks& callbacks, const Estimate& estimate) {
    std::optional<double> available = callbacks.memory_limit_bytes;
    if (!available) available = available_memory();
    if (!available || std::isinf(*available)) return;
    require_memory(estimate(), *available, options.optimizer.method);
}

// Runs to `until` in segments ending at the multiples of callbacks.checkpoint_every, saving after each.
// The session reports at the end of every segment; only the reports one straight run would make are
// passed on, with the total of the whole run.
RunStatus run_in_segments(Session& session, index_t until, const Callbacks& callbacks) {
    const index_t every = callbacks.checkpoint_every;
    Observer observer;
    if (callbacks.observer) {
        observer = [&](const IterationReport& r) {
            const index_t report_every = session.report_every();
            if (r.iteration != until && !(report_every > 0 && r.iteration % report_every == 0)) return true;
            IterationReport whole = r;
            whole.total = until;
            return callbacks.observer(whole);
        };
    }
    while (session.iteration() < until) {
        const index_t done = session.iteration();
        const index_t to_multiple = every - done % every;  // no overflow for any every or until
        const index_t next = to_multiple >= until - done ? until : done + to_multiple;
        const RunStatus status = session.run(next, observer, callbacks.cancel);
        if (status == RunStatus::converged) callbacks.checkpoint(session.state());
        if (status != RunStatus::completed) return status;
        callbacks.checkpoint(session.state());
    }
    return RunStatus::completed;
}

// P over relabelled points (point r is input point order[r]) in the input's labels, columns sorted.
Affinities affinities_in_input_order(const Affinities& p, const std::vector<point_t>& order) {
    const auto n = static_cast<std::size_t>(p.n);
    const std::vector<point_t> label = detail::inverse_order(order, p.n, "the optimisation's order");
    Affinities out;
    out.n = p.n;
    out.offsets.assign(n + 1, 0);
    out.columns.resize(p.columns.size());
    out.values.resize(p.values.size());
    for (std::size_t i = 0; i < n; ++i) out.offsets[i + 1] = out.offsets[i] + p.offsets[label[i] + 1] - p.offsets[label[i]];
    std::vector<std::pair<point_t, float>> row;
    for (std::size_t i = 0; i < n; ++i) {
        row.clear();
        for (index_t e = p.offsets[label[i]]; e < p.offsets[label[i] + 1]; ++e)
            row.emplace_back(order[p.columns[static_cast<std::size_t>(e)]], p.values[static_cast<std::size_t>(e)]);
        std::sort(row.begin(), row.end());
        for (std::size_t e = 0; e < row.size(); ++e) {
            out.columns[static_cast<std::size_t>(out.offsets[i]) + e] = row[e].first;
            out.values[static_cast<std::size_t>(out.offsets[i]) + e] = row[e].second;
        }
    }
    return out;
}

}  // namespace

void require_finite(ConstMatrixView x, const char* what) {
    for (index_t i = 0; i < x.rows; ++i)
        for (index_t j = 0; j < x.cols; ++j)
            if (!std::isfinite(x(i, j))) throw InvalidArgument(detail::non_finite_message(what, x(i, j), i, j));
}

std::string detail::non_finite_message(const char* what, double v, index_t i, index_t j) {
    return concat(what, " has a non-finite value (", v, ") at row ", i + 1, ", column ", j + 1);
}

namespace {

// The input as the neighbour search and the PCA initialisation see it: scaled by a power of two when its
// magnitude is extreme, then reduced by PCA when asked. `data` views one of the three.
struct PreparedData {
    Matrix scaled, reduced;
    ConstMatrixView data;
    int exponent = 0;  ///< data = x / 2^exponent (then reduced): the unit of its distances
    void release() {
        scaled = Matrix();
        reduced = Matrix();
        data = ConstMatrixView{};
    }
    /// `data` as writable rows where they are embed()'s own: a copy made here, or the input the caller
    /// handed over (owned); else null.
    double* writable(Matrix* owned) {
        for (Matrix* m : {&reduced, &scaled, owned})
            if (m && !m->empty() && m->data() == data.data) return m->data();
        return nullptr;
    }
};

PreparedData prepare_data(ConstMatrixView x, const Options& options, const Callbacks& callbacks, Result& result) {
    PreparedData out;
    out.data = x;
    if (const int exponent = extreme_exponent(x)) {  // scale.hpp: the one rescaling of extreme inputs
        out.exponent = exponent;
        out.scaled = scaled_by_power_of_two(x, exponent);
        out.data = out.scaled.view();
    }
    if (options.pca_dims > 0 && options.pca_dims < x.cols) {
        detail::Stage stage(callbacks, "pca", result.timings.pca);
        out.reduced = pca(out.data, options.pca_dims, options.threads).projected;
        out.data = out.reduced.view();
        stage.done();
    }
    return out;
}

// The initial embedding of n points (a resumed run starts from the saved state instead: Session::restore
// replaces it). PCA needs `data`.
Matrix initialise(ConstMatrixView data, index_t n, const Options& options, const Callbacks& callbacks,
                  Result& result) {
    if (callbacks.resume_from) return callbacks.resume_from->y;
    detail::Stage init(callbacks, "init", result.timings.init);
    Matrix y0;
    if (data.data != nullptr) {
        y0 = initial_embedding(data, options);
    } else {
        require(options.init != InitKind::pca, "pca initialisation needs the input's coordinates; without them "
                "use random or user initialisation");
        ConstMatrixView shape{nullptr, n, 0};
        y0 = initial_embedding(shape, options);
    }
    init.done();
    return y0;
}

void check_run(index_t n, const Options& options, const Callbacks& callbacks) {
    require(!callbacks.checkpoint || callbacks.checkpoint_every > 0, "checkpoint interval must be > 0; got ",
            callbacks.checkpoint_every);
    if (callbacks.resume_from) check_resume_state(*callbacks.resume_from, n, options.dims);
}

}  // namespace

// The optimisation of a Session, with checkpoints, into result.
void detail::optimise_session(Session&& session, const Options& options, const Callbacks& callbacks, Result& result,
                              std::chrono::steady_clock::time_point start) {
    detail::Stage opt(callbacks, "optimise", result.timings.optimize);
    result.learning_rate = session.learning_rate();
    if (callbacks.resume_from) session.restore(*callbacks.resume_from);  // refuses a state of another P
    if (callbacks.checkpoint) session.fingerprint_affinities();  // so that a resume can check its P
    result.status = callbacks.checkpoint
                        ? run_in_segments(session, options.optimizer.iterations, callbacks)
                        : session.run(options.optimizer.iterations, callbacks.observer, callbacks.cancel);
    result.iterations = session.iteration();
    result.timings.iteration = session.iteration_seconds();
    result.history = session.history();
    result.kl = session.kl();
    opt.done();
    result.y = std::move(session).into_embedding();
    result.timings.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

namespace {

// Barnes-Hut over P and y0 given in the optimisation's order (point r is input point order[r]).
void optimise_barnes_hut(PackedAffinities p, Matrix y0, std::vector<point_t> order, const Options& options,
                         const Callbacks& callbacks, Result& result,
                         std::chrono::steady_clock::time_point start) {
    if (callbacks.keep_affinities) result.affinities = affinities_in_input_order(unpack(p), order);
    Session session(std::move(p), std::move(y0), options, std::move(order), detail::ValidatedAffinities{});
    detail::optimise_session(std::move(session), options, callbacks, result, start);
}

void embed_conditionals(NeighborGraph graph, std::vector<float> conditional, Matrix y0, const Options& options,
                        const Callbacks& callbacks, Result& result, std::chrono::steady_clock::time_point start,
                        detail::Stage& aff) {
    detail::sort_rows_by_column(graph, conditional, options.threads);
    // The graph is the search's or one validate_neighbor_graph() passed: no second check.
    std::vector<point_t> order = locality_order(graph, detail::ValidatedGraph{});
    relabel(graph, order, detail::ValidatedGraph{});
    detail::gather_rows_in_place(conditional.data(), graph.k, order);
    y0 = detail::gather_rows(y0, order);
    // P packed as it is written (6 bytes an entry instead of 8): the form the Session holds.
    PackedAffinities p = detail::symmetrize_packed(std::move(graph), std::move(conditional), options.threads);
    aff.done();
    optimise_barnes_hut(std::move(p), std::move(y0), std::move(order), options, callbacks, result, start);
}

// From a neighbour graph (input labels) and the initial embedding (input order): the points are
// relabelled so that neighbours lie near each other, in the order of P's pattern (the same order
// embed_affinities finds from a saved P), then P is built and optimised.
void embed_graph(NeighborGraph graph, Matrix y0, const Options& options, const Callbacks& callbacks,
                 Result& result, std::chrono::steady_clock::time_point start) {
    detail::Stage aff(callbacks, "affinities", result.timings.affinities);
    // compute_affinities, with the relabelling in the middle: the conditionals first (rows in distance
    // order, as compute_affinities sums them), then the rows sorted by column in parallel, so that
    // locality_order's serial search need not sort each row; the same P bit for bit.
    std::vector<float> conditional = conditional_probabilities(graph, options.affinities, options.threads);
    graph.distances = std::vector<double>();
    embed_conditionals(std::move(graph), std::move(conditional), std::move(y0), options, callbacks, result, start,
                       aff);
}

// embed()'s Barnes-Hut pipeline from the prepared data: the neighbours (nndescent calibrating each row
// as it settles it, and reading embed()'s own rows in place), the initial embedding, the input released
// where it was handed over, then P and the optimisation.
void embed_barnes_hut(PreparedData& prepared, Matrix* owned, const Options& options, const Callbacks& callbacks,
                      Result& result, std::chrono::steady_clock::time_point start) {
    const ConstMatrixView data = prepared.data;
    const int threads = options.threads;
    result.backend = resolve_backend(options.neighbors.backend, data.rows, data.cols, options.neighbors.metric);
    detail::Stage knn(callbacks, "neighbours", result.timings.neighbors);
    std::function<void(double)> knn_progress;
    if (callbacks.stage_progress)
        knn_progress = [&](double fraction) { callbacks.stage_progress("neighbours", fraction); };
    // Distances of the scaled data are in units of 2^exponent (sigma is in the input's); cosine's,
    // correlation's, jaccard's and hamming's do not depend on the scale.
    const int unit = metric_scales_with_data(options.neighbors.metric) ? prepared.exponent : 0;
    const index_t k = neighbor_count(options.affinities, data.rows);
    // nndescent settles its rows' exact distances one by one at the end: the conditionals are computed
    // there, so that its N k double distances are never all held. The exact backends' peak is the search
    // itself, and their calibration waits until the input is freed.
    const bool calibrate_in_search = result.backend == KnnBackend::nndescent;
    const detail::ConditionalRows calibrate(options.affinities, k, unit);
    RowValues conditional{calibrate, {}};
    // Its rows may be moved while the search runs where they are embed()'s own (no float copy then).
    double* const own_rows = prepared.writable(owned);
    NeighborGraph graph =
        !calibrate_in_search ? nearest_neighbors(data, k, options.neighbors, threads, knn_progress)
        : own_rows ? detail::nearest_neighbors_reordering(MatrixView{own_rows, data.rows, data.cols}, k,
                                                          options.neighbors, threads, knn_progress, conditional)
                   : nearest_neighbors(data, k, options.neighbors, threads, knn_progress, conditional);
    graph.scale_exponent = unit;
    calibrate.check();
    knn.done();
    Matrix y0 = initialise(data, data.rows, options, callbacks, result);
    if (owned) {  // the caller handed the input over: free it and its copies before P exists
        *owned = Matrix();
        prepared.release();
    }
    if (!calibrate_in_search) {
        embed_graph(std::move(graph), std::move(y0), options, callbacks, result, start);
        return;
    }
    detail::Stage aff(callbacks, "affinities", result.timings.affinities);
    embed_conditionals(std::move(graph), std::move(conditional.values), std::move(y0), options, callbacks, result,
                       start, aff);
}

// embed() for a view of x; `owned`, when given, is the matrix x views, and is released (with the scaled
// and PCA copies) as soon as the neighbours and the initial embedding are computed, before P is built.
Result embed_impl(ConstMatrixView x, Matrix* owned, const Options& options, const Callbacks& callbacks) {
    const auto start = std::chrono::steady_clock::now();
    validate(options, x.rows, x.cols);
    require_usable_init(options);
    check_run(x.rows, options, callbacks);
    check_memory(options, callbacks, [&] {
        return estimate_memory(x.rows, x.cols, options, callbacks.keep_affinities, owned != nullptr);
    });
    require_finite(x);
    Result result;
    const int threads = options.threads;
    PreparedData prepared = prepare_data(x, options, callbacks, result);
    const ConstMatrixView data = prepared.data;

    const Method method = options.optimizer.method;
    if (method == Method::barnes_hut) {
        embed_barnes_hut(prepared, owned, options, callbacks, result, start);
        return result;
    }
    Matrix dense;
    {
        detail::Stage aff(callbacks, "affinities", result.timings.affinities);
        // The same metric, kernel and (given) k as the Barnes-Hut P, over all pairs.
        Matrix conditional =
            dense_conditional_probabilities(data, options.affinities, threads, options.neighbors);
        // SNE optimises the conditional P itself: move it, so that only one N x N matrix is held.
        dense = method == Method::exact_sne ? std::move(conditional)
                                            : dense_joint_probabilities(conditional, threads);
        aff.done();
    }
    Matrix y0 = initialise(data, data.rows, options, callbacks, result);
    Session session(std::move(dense), std::move(y0), options);
    detail::optimise_session(std::move(session), options, callbacks, result, start);
    return result;
}

// The checks of the precomputed inputs: Barnes-Hut only, options valid for n points, the coordinates (if
// any) finite and n rows.
void check_precomputed(const char* what, index_t n, ConstMatrixView coordinates, const Options& options,
                       const Callbacks& callbacks) {
    require(options.optimizer.method == Method::barnes_hut, what,
            " are embedded by the barnes_hut method only (the exact methods compute a dense P from coordinates)");
    require(coordinates.data == nullptr || coordinates.rows == n, what, " describe ", n,
            " points but the coordinates have ", coordinates.rows, " rows");
    Options checked = options;
    // Without coordinates, validate the options as for data of enough columns for the initialisation.
    const index_t d = coordinates.data != nullptr ? coordinates.cols : std::max<index_t>(options.dims, 1);
    if (coordinates.data == nullptr) checked.pca_dims = 0;
    if (std::string(what) == "affinities")
        validate_given_affinities(checked, n, d, "affinities");
    else
        validate(checked, n, d);
    require_usable_init(checked);
    if (coordinates.data != nullptr) require_finite(coordinates, "coordinates");
    check_run(n, options, callbacks);
}

// embed_neighbors into a result that may already hold the time of a neighbour stage.
Result embed_neighbors_impl(NeighborGraph graph, const Options& options, const Callbacks& callbacks,
                            ConstMatrixView coordinates, Result result,
                            std::chrono::steady_clock::time_point start) {
    check_precomputed("neighbour graphs", graph.n, coordinates, options, callbacks);
    validate_neighbor_graph(graph, options.threads);  // its shape and rows: the stages index with them
    require(graph.distances.size() == graph.indices.size(), "neighbour graph: ", graph.indices.size(),
            " indices but ", graph.distances.size(), " distances (the calibration needs one per neighbour)");
    if (options.affinities.kind == AffinityKind::perplexity) {
        AffinityOptions a = options.affinities;
        a.k = graph.k;  // the graph's neighbours are all there are: every perplexity must stay below k
        Options checked = options;
        checked.affinities = a;
        validate(checked, graph.n, coordinates.data != nullptr ? coordinates.cols : std::max(options.dims, 1));
    }
    result.backend = options.neighbors.backend;
    Matrix y0;
    {
        PreparedData prepared;
        if (coordinates.data != nullptr) prepared = prepare_data(coordinates, options, callbacks, result);
        y0 = initialise(prepared.data, graph.n, options, callbacks, result);
    }
    embed_graph(std::move(graph), std::move(y0), options, callbacks, result, start);
    return result;
}

}  // namespace

Result embed_neighbors(NeighborGraph graph, const Options& options, const Callbacks& callbacks,
                       ConstMatrixView coordinates) {
    return embed_neighbors_impl(std::move(graph), options, callbacks, coordinates, Result{},
                                std::chrono::steady_clock::now());
}

Result embed_affinities(Affinities p, const Options& options, const Callbacks& callbacks,
                        ConstMatrixView coordinates) {
    const auto start = std::chrono::steady_clock::now();
    check_precomputed("affinities", p.n, coordinates, options, callbacks);
    validate_affinities(p, options.threads);
    Result result;
    result.backend = options.neighbors.backend;
    Matrix y0;
    {
        PreparedData prepared;
        if (coordinates.data != nullptr) prepared = prepare_data(coordinates, options, callbacks, result);
        y0 = initialise(prepared.data, p.n, options, callbacks, result);
    }
    detail::Stage aff(callbacks, "affinities", result.timings.affinities);
    std::vector<point_t> order = locality_order(p);
    p = relabel(p, order, options.threads);
    y0 = detail::gather_rows(y0, order);
    aff.done();
    optimise_barnes_hut(pack(std::move(p), options.threads), std::move(y0), std::move(order), options, callbacks,
                        result, start);
    return result;
}

Result embed_distances(ConstMatrixView distances, const Options& options, const Callbacks& callbacks) {
    require(distances.rows == distances.cols, "a distance matrix must be square; got ", distances.rows, " x ",
            distances.cols);
    const auto start = std::chrono::steady_clock::now();
    check_precomputed("distance matrices", distances.rows, ConstMatrixView{}, options, callbacks);
    Result result;
    detail::Stage knn(callbacks, "neighbours", result.timings.neighbors);
    NeighborGraph graph = neighbors_from_distances(distances, neighbor_count(options.affinities, distances.rows),
                                                   options.threads);
    knn.done();
    return embed_neighbors_impl(std::move(graph), options, callbacks, ConstMatrixView{}, std::move(result), start);
}

namespace {

// The checks of sparse input: CSR invariants, a metric the sparse search computes (unless PCA makes the
// rows dense first), Barnes-Hut.
void check_sparse(ConstCsrView x, const Options& options) {
    const std::string defect = csr_matrix_defect(x);
    require(defect.empty(), "sparse input: ", defect);
    require(options.optimizer.method == Method::barnes_hut, "sparse input is embedded by the barnes_hut method "
            "only (the exact methods need dense rows; convert small data with to_dense)");
    const bool reduce = options.pca_dims > 0 && options.pca_dims < x.cols;
    require(reduce || sparse_supports(options.neighbors.metric), "the ", to_string(options.neighbors.metric),
            " metric is not available for sparse input (sparse rows support euclidean, cosine, jaccard and "
            "hamming; or reduce them with PCA first)");
}

// embed_sparse with options.pca_dims: the rows reduced by the sparse PCA are dense and few, and the
// dense pipeline takes them over.
Result embed_reduced(ConstCsrView x, CsrMatrix* owned, const Options& options, const Callbacks& callbacks,
                     std::chrono::steady_clock::time_point start) {
    Result result;
    Matrix reduced;
    {
        detail::Stage stage(callbacks, "pca", result.timings.pca);
        reduced = pca(x, options.pca_dims, options.threads).projected;
        stage.done();
    }
    if (owned) *owned = CsrMatrix();
    Options rest = options;
    rest.pca_dims = 0;
    const double pca_seconds = result.timings.pca;
    result = embed(std::move(reduced), rest, callbacks);
    result.timings.pca = pca_seconds;
    result.timings.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

// embed() of sparse rows; `owned`, when given, is the matrix x views, freed as embed(Matrix&&) frees its
// input.
Result embed_sparse(ConstCsrView x, CsrMatrix* owned, const Options& options, const Callbacks& callbacks) {
    const auto start = std::chrono::steady_clock::now();
    validate(options, x.rows, x.cols);
    check_sparse(x, options);
    require_usable_init(options);
    check_run(x.rows, options, callbacks);
    check_memory(options, callbacks, [&] {
        return estimate_memory_sparse(x.rows, x.cols, x.nnz(), options, callbacks.keep_affinities, owned != nullptr);
    });
    Result result;
    if (options.pca_dims > 0 && options.pca_dims < x.cols) return embed_reduced(x, owned, options, callbacks, start);
    // Values beyond 2^+-100 are scaled by a power of two (exactly), as embed() scales dense input.
    CsrMatrix scaled;
    ConstCsrView data = x;
    const int exponent = extreme_exponent(ConstMatrixView{x.values, 1, x.nnz()});
    if (exponent != 0) {
        scaled = CsrMatrix{x.rows, x.cols, std::vector<index_t>(x.offsets, x.offsets + x.rows + 1),
                           std::vector<point_t>(x.columns, x.columns + x.nnz()), {}};
        const Matrix values = scaled_by_power_of_two(ConstMatrixView{x.values, 1, x.nnz()}, exponent);
        scaled.values = values.storage();
        data = scaled;
    }
    result.backend = resolve_sparse_backend(options.neighbors.backend, x.rows);
    detail::Stage knn(callbacks, "neighbours", result.timings.neighbors);
    std::function<void(double)> knn_progress;
    if (callbacks.stage_progress)
        knn_progress = [&](double fraction) { callbacks.stage_progress("neighbours", fraction); };
    NeighborGraph graph = nearest_neighbors(data, neighbor_count(options.affinities, data.rows), options.neighbors,
                                            options.threads, knn_progress);
    if (metric_scales_with_data(options.neighbors.metric)) graph.scale_exponent = exponent;
    knn.done();
    Matrix y0;
    if (!callbacks.resume_from && options.init == InitKind::pca) {
        detail::Stage init(callbacks, "init", result.timings.init);
        y0 = pca_init_from(pca(data, options.dims, options.threads).projected, options.seed);
        init.done();
    } else {
        y0 = initialise(ConstMatrixView{nullptr, x.rows, 0}, x.rows, options, callbacks, result);
    }
    if (owned) *owned = CsrMatrix();
    scaled = CsrMatrix();
    embed_graph(std::move(graph), std::move(y0), options, callbacks, result, start);
    return result;
}

}  // namespace

Result embed(ConstCsrView x, const Options& options, const Callbacks& callbacks) {
    return embed_sparse(x, nullptr, options, callbacks);
}

Result embed(CsrMatrix&& x, const Options& options, const Callbacks& callbacks) {
    CsrMatrix owned = std::move(x);
    return embed_sparse(owned.view(), &owned, options, callbacks);
}

Result embed(ConstMatrixView x, const Options& options, const Callbacks& callbacks) {
    return embed_impl(x, nullptr, options, callbacks);
}

Result embed(Matrix&& x, const Options& options, const Callbacks& callbacks) {
    Matrix owned = std::move(x);
    return embed_impl(owned.view(), &owned, options, callbacks);
}

Result embed(ConstMatrixView x, const Options& options, const Observer& observer) {
    Callbacks callbacks;
    callbacks.observer = observer;
    return embed(x, options, callbacks);
}

void validate_given_affinities(Options options, index_t n, index_t d, const std::string& source) {
    // P is given: nothing is calibrated, so the perplexity (whatever it is) must not limit N.
    require(n >= 3, source, ": t-SNE from a given P needs at least 3 points; got ", n);
    options.affinities = AffinityOptions{};
    options.affinities.perplexity = 1;
    validate(options, n, d);
}

}  // namespace treesne
