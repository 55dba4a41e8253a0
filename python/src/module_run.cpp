// treesne._treesne: the library calls, each with the GIL released around the computation, progress and
// stage events routed to Python, Ctrl-C and callback exceptions turned into an early, clean return.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include "module.hpp"
#include "treesne/affinities/precomputed.hpp"
#include "treesne/eval/accuracy.hpp"
#include "treesne/tree/exact.hpp"

namespace treesne::python {
namespace {

// --- interruption and callbacks -----------------------------------------------------------------------

/// Thrown from a stage callback to leave the library early (Ctrl-C or a Python exception before the
/// optimisation, where the library checks no cancel flag). Stage callbacks run on the calling thread
/// between parallel regions, so the exception unwinds through ordinary C++ frames only.
struct Abort {};

/// The cancel flag of the interruptible run in progress on the main thread (null when none).
std::atomic<std::atomic<bool>*> g_interruptible{nullptr};
/// The handler on_sigint passes the signal on to (Python's, which records it so that PyErr_CheckSignals
/// raises KeyboardInterrupt once the run is over); null when there is none to call. The signal handler
/// reads only these two lock-free atomics: a plain global (a struct sigaction, as before) could be read
/// by the handler while a SigintScope is writing it.
using SignalHandler = void (*)(int);
std::atomic<SignalHandler> g_chained_sigint{nullptr};
static_assert(std::atomic<std::atomic<bool>*>::is_always_lock_free &&
                  std::atomic<SignalHandler>::is_always_lock_free,
              "a signal handler may only touch lock-free atomics");

extern "C" void on_sigint(int signal_number) {
    if (std::atomic<bool>* flag = g_interruptible.load()) flag->store(true);
    if (const SignalHandler chained = g_chained_sigint.load()) chained(signal_number);
}

/// The plain handler of `action` that on_sigint may call in turn, or null (default, ignore, ours, or a
/// three-argument handler, which would need the siginfo of a real delivery).
SignalHandler chainable(const struct sigaction& action) {
    if (action.sa_flags & SA_SIGINFO) return nullptr;
    if (action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN || action.sa_handler == on_sigint)
        return nullptr;
    return action.sa_handler;
}

/// For its lifetime, SIGINT sets `flag` (and still reaches Python's handler). Only on the main thread
/// with Python's default SIGINT handler (the package decides; see _run.py).
class SigintScope {
  public:
    SigintScope(std::atomic<bool>& flag, bool enable) : enabled_(enable) {
        if (!enabled_) return;
        // The handler to pass the signal on to is set before ours is installed, so that a signal in
        // between never finds it unset. A nested scope (a callback that embeds again) finds our own
        // handler installed and keeps the one already chained.
        struct sigaction current {};
        sigaction(SIGINT, nullptr, &current);
        previous_chained_ = g_chained_sigint.load();
        if (current.sa_handler != on_sigint) g_chained_sigint.store(chainable(current));
        previous_flag_ = g_interruptible.exchange(&flag);
        struct sigaction action {};
        action.sa_handler = on_sigint;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &installed_old_);
    }
    ~SigintScope() {
        if (!enabled_) return;
        sigaction(SIGINT, &installed_old_, nullptr);
        g_interruptible.store(previous_flag_);
        g_chained_sigint.store(previous_chained_);
    }
    SigintScope(const SigintScope&) = delete;
    SigintScope& operator=(const SigintScope&) = delete;

  private:
    bool enabled_;
    std::atomic<bool>* previous_flag_ = nullptr;
    SignalHandler previous_chained_ = nullptr;
    struct sigaction installed_old_ {};
};

/// The Python side of one library call: the callables, the first Python exception they raised, and the
/// cancel flag. Every call into Python takes the GIL; the library runs without it.
class Bridge {
  public:
    Bridge(py::object observer, py::object stage, bool interruptible)
        : observer_(std::move(observer)), stage_(std::move(stage)), sigint_(cancel_, interruptible) {}

    ~Bridge() {
        py::gil_scoped_acquire gil;
        observer_ = py::object();
        stage_ = py::object();
        error_ = py::object();
    }

    const std::atomic<bool>* cancel() const { return &cancel_; }

    /// The library's observer: passes the report to Python; false stops the run.
    Observer observer() {
        if (observer_.is_none()) return {};
        return [this](const IterationReport& r) {
            py::gil_scoped_acquire gil;
            if (failed()) return false;
            try {
                const py::object keep =
                    observer_(r.iteration, r.total, to_string(r.phase), r.kl, r.gradient_norm, r.seconds,
                              r.theta, r.theta_error, copy_to_numpy(r.embedding));
                return keep.is_none() || keep.cast<bool>();
            } catch (py::error_already_set& e) {
                keep_error(e);
                return false;
            }
        };
    }

    /// Forwards a stage event ("start", "done", "progress") to Python; leaves the library (Abort) after
    /// Ctrl-C or a Python exception.
    void stage(const char* event, const std::string& name, double value) {
        if (cancel_.load()) throw Abort{};
        if (stage_.is_none()) return;
        {
            py::gil_scoped_acquire gil;
            try {
                stage_(event, name, value);
            } catch (py::error_already_set& e) {
                keep_error(e);
            }
        }
        if (cancel_.load()) throw Abort{};
    }

    void install(Callbacks& c) {
        c.observer = observer();
        c.cancel = &cancel_;
        c.stage_start = [this](const std::string& s) { stage("start", s, 0.0); };
        c.stage_done = [this](const std::string& s, double seconds) { stage("done", s, seconds); };
        c.stage_progress = [this](const std::string& s, double f) { stage("progress", s, f); };
    }

    /// After the library returned or left (GIL held): re-raises a callback's exception, or
    /// KeyboardInterrupt (through Python's own handler) after Ctrl-C.
    void raise_pending() {
        if (!error_.is_none()) {
            py::object e = error_;
            error_ = py::object();
            PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(e.ptr())), e.ptr());
            throw py::error_already_set();
        }
        if (cancel_.load()) {
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            PyErr_SetNone(PyExc_KeyboardInterrupt);
            throw py::error_already_set();
        }
    }

  private:
    bool failed() const { return !error_.is_none(); }

    void keep_error(py::error_already_set& e) {
        if (error_.is_none()) error_ = e.value();
        cancel_.store(true);  // stop as soon as the library looks
    }

    py::object observer_, stage_;
    py::object error_ = py::none();
    std::atomic<bool> cancel_{false};
    SigintScope sigint_;
};

/// Runs fn() without the GIL, turning Abort into the pending Python exception.
template <class Fn>
auto run_released(Bridge& bridge, Fn&& fn) -> decltype(fn()) {
    std::optional<decltype(fn())> out;
    bool aborted = false;
    {
        py::gil_scoped_release nogil;
        try {
            out.emplace(fn());
        } catch (const Abort&) {
            aborted = true;
        }
    }
    bridge.raise_pending();
    if (aborted) throw std::logic_error("treesne: a run was left without a pending exception");
    return std::move(*out);
}

// --- the functions ------------------------------------------------------------------------------------

const char* status_name(RunStatus s) {
    switch (s) {
        case RunStatus::completed:
            return "completed";
        case RunStatus::stopped_by_observer:
            return "stopped";
        case RunStatus::cancelled:
            return "cancelled";
        case RunStatus::converged:
            return "converged";
    }
    return "completed";
}

py::array_t<std::int64_t> offsets_array(std::vector<index_t>&& offsets) {
    const auto n = static_cast<py::ssize_t>(offsets.size());
    std::vector<std::int64_t> v(offsets.begin(), offsets.end());
    return to_numpy(std::move(v), {n});
}

py::tuple csr_tuple(Affinities&& p) {
    const auto nnz = static_cast<py::ssize_t>(p.values.size());
    return py::make_tuple(p.n, offsets_array(std::move(p.offsets)), to_numpy(std::move(p.columns), {nnz}),
                          to_numpy(std::move(p.values), {nnz}));
}

/// An array of numbers as a contiguous vector of T (one converting copy; the package has checked the
/// ranges that a conversion to T would otherwise wrap).
template <class T>
std::vector<T> vector_of(const py::handle& obj, const char* what) {
    const auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(obj);
    if (!a) throw InvalidArgument(concat(what, " must hold numbers"));
    return std::vector<T>(a.data(), a.data() + a.size());
}

/// A CSR matrix from the package's (n, indptr, indices, data).
SparseMatrix sparse_from(const py::tuple& t, const char* what) {
    SparseMatrix m;
    m.n = t[0].cast<index_t>();
    m.offsets = vector_of<index_t>(t[1], what);
    m.columns = vector_of<point_t>(t[2], what);
    m.values = vector_of<float>(t[3], what);
    return m;
}

/// What embed_py embeds besides coordinates: joint affinities, a neighbour graph (lists or a sparse
/// distance matrix), or X as a distance matrix.
struct Precomputed {
    std::optional<SparseMatrix> p;           ///< affinities, not yet prepared
    std::optional<SparseMatrix> sparse;      ///< a graph as a sparse N x N matrix of distances
    std::vector<double> indices, distances;  ///< a graph as N x k lists
    index_t list_n = 0, list_k = 0;
    bool lists = false;
};

/// The precomputed input that embed_py was given: affinities as (n, indptr, indices, data), a graph as
/// ("sparse", n, indptr, indices, data) or ("lists", indices, distances); none when both are None.
Precomputed precomputed_from(const py::object& affinities, const py::object& neighbors) {
    Precomputed pre;
    if (!affinities.is_none()) pre.p = sparse_from(affinities.cast<py::tuple>(), "affinities");
    if (neighbors.is_none()) return pre;
    const auto t = neighbors.cast<py::tuple>();
    if (t[0].cast<std::string>() == "sparse") {
        pre.sparse = sparse_from(py::make_tuple(t[1], t[2], t[3], t[4]), "neighbor_graph");
    } else {
        const py::array idx = py::array::ensure(t[1]);
        if (!idx || idx.ndim() != 2)
            throw InvalidArgument("neighbor_graph: the indices must be an N x k array");
        pre.lists = true;
        pre.list_n = idx.shape(0);
        pre.list_k = idx.shape(1);
        pre.indices = vector_of<double>(t[1], "neighbor_graph indices");
        pre.distances = vector_of<double>(t[2], "neighbor_graph distances");
    }
    return pre;
}

/// The library's Result as the package's dict (the embedding handed over without a copy).
py::dict result_dict(Result&& r, bool keep_affinities, const std::vector<std::string>& notes) {
    py::dict out;
    out["status"] = status_name(r.status);
    out["kl"] = r.kl;
    out["iterations"] = r.iterations;
    out["learning_rate"] = r.learning_rate;
    out["backend"] = to_string(r.backend);
    std::vector<py::tuple> history;
    for (const CostPoint& c : r.history)
        history.push_back(
            py::make_tuple(c.iteration, to_string(c.phase), c.kl, c.gradient_norm, c.seconds, c.theta));
    out["history"] = history;
    py::dict timings;
    timings["pca"] = r.timings.pca;
    timings["neighbors"] = r.timings.neighbors;
    timings["affinities"] = r.timings.affinities;
    timings["init"] = r.timings.init;
    timings["optimize"] = r.timings.optimize;
    timings["total"] = r.timings.total;
    out["timings"] = timings;
    if (keep_affinities) out["affinities"] = csr_tuple(std::move(r.affinities));
    out["notes"] = notes;
    out["embedding"] = to_numpy(std::move(r.y));
    return out;
}

}  // namespace

py::dict embed_py(const py::handle& x_obj, const py::dict& options_dict, const py::object& observer,
                  const py::object& stage, bool interruptible, bool keep_affinities,
                  const py::object& memory_limit, const std::string& input_kind, const py::object& affinities,
                  const py::object& neighbors) {
    const bool distances = input_kind == "distances";
    if (!distances && input_kind != "coordinates")
        throw InvalidArgument(concat("input kind must be coordinates or distances; got '", input_kind, "'"));
    Input x;
    const bool has_x = !x_obj.is_none();
    if (has_x) x = as_input(x_obj, "X");
    const Options options = options_from(options_dict);
    Precomputed pre = precomputed_from(affinities, neighbors);
    Bridge bridge(observer, stage, interruptible);
    Callbacks callbacks;
    bridge.install(callbacks);
    callbacks.keep_affinities = keep_affinities;
    if (!memory_limit.is_none()) callbacks.memory_limit_bytes = memory_limit.cast<double>();
    std::vector<std::string> notes;
    Result r = run_released(bridge, [&] {
        const ConstMatrixView given = has_x && !distances ? x.view : ConstMatrixView{};
        if (pre.p) {
            Affinities p = prepare_affinities(std::move(*pre.p), options.threads, &notes);
            return embed_affinities(std::move(p), options, callbacks, given);
        }
        if (pre.sparse || pre.lists) {
            NeighborGraph g = pre.sparse
                                  ? neighbors_from_sparse(*pre.sparse)
                                  : neighbors_from_lists(pre.list_n, pre.list_k, pre.indices, pre.distances);
            pre = Precomputed();  // the lists are in the graph now
            return embed_neighbors(std::move(g), options, callbacks, given);
        }
        if (distances) return embed_distances(x.view, options, callbacks);
        // A converted copy is handed over, so embed() frees it before P is built, as the CLI does.
        return x.copied ? embed(std::move(x.owned), options, callbacks) : embed(x.view, options, callbacks);
    });
    if (r.status == RunStatus::cancelled) bridge.raise_pending();  // Ctrl-C between two looks
    return result_dict(std::move(r), keep_affinities, notes);
}

namespace {

/// Sparse rows as the package hands them over: (indptr int64, indices uint32, data float64, (rows, cols)),
/// CSR with sorted columns, no duplicates and no explicit zeros (python/treesne/_checks.py, sparse_rows_of).
/// The view reads the arrays in place (they are converted only if the package sent other types).
struct SparseInput {
    py::array_t<index_t, py::array::c_style | py::array::forcecast> offsets;
    py::array_t<point_t, py::array::c_style | py::array::forcecast> columns;
    py::array_t<double, py::array::c_style | py::array::forcecast> values;
    ConstCsrView view;
};

SparseInput as_sparse_input(const py::tuple& t) {
    require(t.size() == 4, "X: sparse rows must be (indptr, indices, data, shape)");
    SparseInput s;
    s.offsets = t[0].cast<decltype(s.offsets)>();
    s.columns = t[1].cast<decltype(s.columns)>();
    s.values = t[2].cast<decltype(s.values)>();
    const auto shape = t[3].cast<std::pair<index_t, index_t>>();
    require(s.offsets.ndim() == 1 && s.columns.ndim() == 1 && s.values.ndim() == 1,
            "X: indptr, indices and data must be 1-D");
    require(shape.first >= 0 && s.offsets.size() == shape.first + 1, "X: indptr has ", s.offsets.size(),
            " entries for ", shape.first, " rows");
    require(s.columns.size() == s.values.size(), "X: ", s.columns.size(), " indices but ", s.values.size(),
            " values");
    require(s.offsets.data()[shape.first] == static_cast<index_t>(s.values.size()), "X: indptr ends at ",
            s.offsets.data()[shape.first], " but there are ", s.values.size(), " values");
    s.view = ConstCsrView{s.offsets.data(), s.columns.data(), s.values.data(), shape.first, shape.second};
    const std::string defect = csr_matrix_defect(s.view);
    require(defect.empty(), "X: ", defect);
    return s;
}

}  // namespace

py::dict embed_sparse_py(const py::tuple& x_obj, const py::dict& options_dict, const py::object& observer,
                         const py::object& stage, bool interruptible, bool keep_affinities,
                         const py::object& memory_limit) {
    const SparseInput x = as_sparse_input(x_obj);
    const Options options = options_from(options_dict);
    Bridge bridge(observer, stage, interruptible);
    Callbacks callbacks;
    bridge.install(callbacks);
    callbacks.keep_affinities = keep_affinities;
    if (!memory_limit.is_none()) callbacks.memory_limit_bytes = memory_limit.cast<double>();
    Result r = run_released(bridge, [&] { return embed(x.view, options, callbacks); });
    if (r.status == RunStatus::cancelled) bridge.raise_pending();  // Ctrl-C between two looks
    return result_dict(std::move(r), keep_affinities, {});
}

namespace {

/// The data after the optional PCA (a view of x when there is none).
struct Reduced {
    Matrix projected;
    ConstMatrixView view;
};

Reduced reduce(const Input& x, int pca_dims, int threads) {
    Reduced r;
    r.view = x.view;
    if (pca_dims > 0) {
        r.projected = treesne::pca(x.view, pca_dims, threads).projected;
        r.view = r.projected.view();
    }
    return r;
}

/// The k nearest neighbours of the rows of X by options' metric, or (distances) from X as a dense N x N
/// The k nearest neighbours of the rows of X by options' metric, or (distances) from X as a dense N x N
/// distance matrix.
NeighborGraph graph_of(const Input& x, index_t k, const Options& o, bool distances) {
    if (distances) {
        require(x.view.rows == x.view.cols, "X: a distance matrix must be square; got ", x.view.rows, " x ",
                x.view.cols);
        return neighbors_from_distances(x.view, k, o.threads);
    }
    require_finite(x.view);
    validate(o.neighbors);
    require(o.pca_dims >= 0, "pca_components must be >= 0; got ", o.pca_dims);
    const Reduced data = reduce(x, o.pca_dims, o.threads);
    return nearest_neighbors(data.view, k, o.neighbors, o.threads);
}

/// The k nearest neighbours of sparse rows: the sparse search, or (options' pca_dims below the column
/// count) the dense search over the rows reduced by the sparse PCA, as embed(ConstCsrView) does.
NeighborGraph sparse_graph_of(ConstCsrView x, index_t k, const Options& o) {
    validate(o.neighbors);
    require(o.pca_dims >= 0, "pca_components must be >= 0; got ", o.pca_dims);
    if (o.pca_dims > 0 && o.pca_dims < x.cols) {
        const Matrix reduced = treesne::pca(x, o.pca_dims, o.threads).projected;
        return nearest_neighbors(reduced.view(), k, o.neighbors, o.threads);
    }
    require(sparse_supports(o.neighbors.metric), "the ", to_string(o.neighbors.metric),
            " metric is not available for sparse input (sparse rows support euclidean, cosine, jaccard and "
            "hamming; or reduce them with pca_components first)");
    return nearest_neighbors(x, k, o.neighbors, o.threads);
}

py::tuple graph_tuple(NeighborGraph&& g) {
    const py::ssize_t n = g.n, kk = g.k;
    std::vector<std::int64_t> indices(g.indices.begin(), g.indices.end());
    return py::make_tuple(to_numpy(std::move(indices), {n, kk}), to_numpy(std::move(g.distances), {n, kk}));
}

}  // namespace

py::tuple neighbors_sparse_py(const py::tuple& x_obj, index_t k, const py::dict& options_dict) {
    const SparseInput x = as_sparse_input(x_obj);
    const Options o = options_from(options_dict);
    Bridge bridge(py::none(), py::none(), false);
    return graph_tuple(run_released(bridge, [&] { return sparse_graph_of(x.view, k, o); }));
}

py::tuple affinities_sparse_py(const py::tuple& x_obj, const py::dict& options_dict) {
    const SparseInput x = as_sparse_input(x_obj);
    const Options o = options_from(options_dict);
    Bridge bridge(py::none(), py::none(), false);
    Affinities p = run_released(bridge, [&] {
        validate(o, x.view.rows, x.view.cols);
        return compute_affinities(sparse_graph_of(x.view, neighbor_count(o.affinities, x.view.rows), o),
                                  o.affinities, o.threads);
    });
    return csr_tuple(std::move(p));
}

py::tuple neighbors_py(const py::handle& x_obj, index_t k, const py::dict& options_dict, bool distances) {
    Input x = as_input(x_obj, "X");
    const Options o = options_from(options_dict);
    Bridge bridge(py::none(), py::none(), false);
    return graph_tuple(run_released(bridge, [&] { return graph_of(x, k, o, distances); }));
}

py::tuple affinities_py(const py::handle& x_obj, const py::dict& options_dict, bool distances) {
    Input x = as_input(x_obj, "X");
    const Options o = options_from(options_dict);
    Bridge bridge(py::none(), py::none(), false);
    Affinities p = run_released(bridge, [&] {
        if (distances) {
            require(o.pca_dims == 0,
                    "pca_components needs coordinates; metric='precomputed' gives distances");
            validate(o, x.view.rows, std::max<index_t>(o.dims, 1));  // as embed_distances checks
        } else {
            require_finite(x.view);
            validate(o, x.view.rows, x.view.cols);
        }
        const index_t rows = x.view.rows;
        return compute_affinities(graph_of(x, neighbor_count(o.affinities, rows), o, distances), o.affinities,
                                  o.threads);
    });
    return csr_tuple(std::move(p));
}

/// `treesne evaluate`'s numbers: treesne::evaluate() (eval/evaluate.hpp) on X and Y with optional label
/// codes, as a dict with the keys of `treesne evaluate --json`.
py::dict evaluate_py(const py::handle& x_obj, const py::handle& y_obj, const py::object& labels_obj,
                     double perplexity, index_t k, index_t trust_queries, int pca_dims, index_t sample,
                     std::uint64_t seed, int threads, double dof, const std::string& metric_name) {
    EvaluateOptions o;
    o.perplexity = perplexity;
    o.dof = dof;
    o.metric = metric_named(metric_name);
    o.pca_dims = pca_dims;
    o.k = k;
    o.sample = sample;
    o.trust_queries = trust_queries;
    o.seed = seed;
    o.threads = threads;
    Input x = as_input(x_obj, "X");
    Input y = as_input(y_obj, "Y");
    std::vector<int> labels;
    const bool has_labels = !labels_obj.is_none();
    if (has_labels) labels = labels_obj.cast<std::vector<int>>();
    Bridge bridge(py::none(), py::none(), false);
    const EvaluationReport v =
        run_released(bridge, [&] { return evaluate(x.view, y.view, has_labels ? &labels : nullptr, o); });
    py::dict out;
    out["input_points"] = v.input_points;
    out["points"] = v.points;
    out["sampled"] = v.sampled;
    out["perplexity"] = perplexity;
    out["dof"] = dof;
    out["metric"] = to_string(o.metric);
    out["k"] = k;
    out["kl_divergence"] = *v.kl_divergence;
    out["knn_preservation"] = *v.knn_preservation;
    out["trustworthiness"] = *v.trustworthiness;
    out["trustworthiness_queries"] = v.trustworthiness_queries;
    if (v.knn_accuracy) out["knn_accuracy"] = *v.knn_accuracy;
    return out;
}

/// EvaluateOptions' defaults and evaluate_max_points, for the Python signature of treesne.evaluate.
py::dict evaluate_defaults() {
    const EvaluateOptions o;
    py::dict out;
    out["perplexity"] = o.perplexity;
    out["dof"] = o.dof;
    out["k"] = o.k;
    out["trust_queries"] = o.trust_queries;
    out["seed"] = o.seed;
    out["threads"] = o.threads;
    out["max_points"] = evaluate_max_points;
    return out;
}

namespace {

/// AccuracyOptions from the package's dictionary (an unknown key is the package's error).
AccuracyOptions accuracy_options_from(const py::dict& d) {
    AccuracyOptions a;
    OptionReader r(d);
    r.get("thetas", a.thetas);
    r.get("monopole", a.monopole);
    r.get("runs", a.runs);
    r.get("sample", a.sample);
    r.get("k", a.k);
    r.get("timing_calls", a.timing_calls);
    r.get("timing_seconds", a.timing_seconds);
    r.finish();
    return a;
}

/// One dict per gradient measurement, with the column names of `treesne accuracy --json`.
py::list gradient_rows(const AccuracyReport& report) {
    py::list gradients;
    for (const GradientAccuracy& g : report.gradients) {
        py::dict row;
        row["embedding"] = g.embedding;
        row["exaggeration"] = g.exaggeration;
        row["theta"] = g.theta;
        row["scheme"] = g.quadrupole ? "quadrupole" : "monopole";
        row["grad_err"] = g.gradient_error;
        row["repul_err"] = g.repulsion_error;
        row["Z_err"] = g.z_error;
        row["seconds"] = g.seconds;
        row["exact_seconds"] = g.exact_seconds;
        gradients.append(row);
    }
    return gradients;
}

/// One dict per full run.
py::list run_rows(const AccuracyReport& report) {
    py::list runs;
    for (const RunAccuracy& run : report.runs) {
        py::dict row;
        row["method"] = to_string(run.method);
        row["theta"] = run.theta;
        row["kl_sparse"] = run.kl_sparse;
        row["kl_dense"] = run.kl_dense;
        row["knn_preservation"] = run.knn_preservation;
        row["knn_accuracy"] = run.knn_accuracy;
        row["seconds"] = run.seconds;
        runs.append(row);
    }
    return runs;
}

}  // namespace

py::dict accuracy_py(const py::handle& x_obj, const py::dict& options_dict, const py::dict& accuracy_dict,
                     const py::object& labels_obj, const py::object& stage, bool interruptible) {
    Input x = as_input(x_obj, "X");
    const Options options = options_from(options_dict);
    const AccuracyOptions a = accuracy_options_from(accuracy_dict);
    std::vector<int> labels;
    if (!labels_obj.is_none()) labels = labels_obj.cast<std::vector<int>>();
    Bridge bridge(py::none(), stage, interruptible);
    const AccuracyReport report = run_released(bridge, [&] {
        return measure_accuracy(
            x.view, options, a, labels_obj.is_none() ? nullptr : &labels,
            [&](const std::string& name, double f) { bridge.stage("progress", name, f); });
    });
    py::dict out;
    out["input_points"] = report.input_points;
    out["points"] = report.points;
    out["input_dims"] = report.input_dims;
    out["data_dims"] = report.data_dims;
    out["dims"] = report.dims;
    out["perplexity"] = report.perplexity;
    out["dof"] = report.dof;
    out["theta"] = report.theta;
    out["iterations"] = report.iterations;
    out["exaggeration_iterations"] = report.exaggeration_iterations;
    out["seed"] = report.seed;
    out["threads"] = report.threads;
    out["k"] = report.k;
    out["gradients"] = gradient_rows(report);
    out["runs"] = run_rows(report);
    out["table"] = format_accuracy_table(report);
    out["json"] = format_accuracy_json(report);
    out["csv"] = format_accuracy_csv(report);
    return out;
}

py::array_t<double> transform_py(const py::handle& x_ref_obj, const py::handle& y_ref_obj,
                                 const py::handle& x_new_obj, const py::dict& options_dict,
                                 const py::dict& transform_dict, const py::object& observer,
                                 bool interruptible) {
    Input x_ref = as_input(x_ref_obj, "X_ref");
    Input y_ref = as_input(y_ref_obj, "Y_ref");
    Input x_new = as_input(x_new_obj, "X_new");
    const Options options = options_from(options_dict);
    const TransformOptions t = transform_options_from(transform_dict);
    Bridge bridge(observer, py::none(), interruptible);
    const Observer obs = bridge.observer();
    const std::atomic<bool>* cancel = bridge.cancel();
    // transform() takes no cancel flag: an observer that looks at it stops the run at the next report.
    Observer watched = [&](const IterationReport& r) {
        if (cancel->load()) return false;
        return obs ? obs(r) : true;
    };
    Matrix y = run_released(
        bridge, [&] { return treesne::transform(x_ref.view, y_ref.view, x_new.view, options, t, watched); });
    bridge.raise_pending();
    return to_numpy(std::move(y));
}

}  // namespace treesne::python
