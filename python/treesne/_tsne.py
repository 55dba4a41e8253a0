"""treesne.TSNE: the scikit-learn estimator over ``treesne::embed``."""

import signal
import threading
import warnings

import numpy as np

from . import _checks, _treesne
from ._checks import DEFAULTS
from ._progress import Progress

try:  # scikit-learn is optional: its conventions are followed either way
    from sklearn.base import BaseEstimator as _Base
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    from ._base import BaseEstimator as _Base

_E = DEFAULTS["embed"]
_T = DEFAULTS["transform"]


def interruptible():
    """Ctrl-C can stop a run only on the main thread, and only while Python's default SIGINT handler
    is in place (a handler of the user's own is left alone)."""
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )


class TSNE(_Base):
    """Barnes-Hut t-SNE on treesne's engine, with scikit-learn's conventions.

    The same options, seed and data give the same embedding, bit for bit, as ``treesne embed``. Every
    default below is read from the library's default ``treesne::Options``.

    Parameters under scikit-learn's names (``sklearn.manifold.TSNE``) and their library fields:

    ==========================  ================================  =======================================
    parameter                   library (``treesne::Options``)    CLI
    ==========================  ================================  =======================================
    n_components                dims                              --dims
    perplexity (a number, or    affinities.perplexity,            --perplexity P[,P...]
    a list: multiscale)         more_perplexities
    metric ("euclidean",        neighbors.metric; "precomputed":  --metric; --input-kind distances
    "cosine", "manhattan",      embed_distances /                 (sparse X: --neighbors G.mtx)
    "chebyshev", "jaccard",     neighbors_from_sparse
    "hamming", "correlation",
    "precomputed")
    theta (float or "auto")     optimizer.theta / theta_auto      --theta (bhtsne's convention: half-width
                                                                  / distance; sklearn's angle 0.5 is
                                                                  about our 0.25)
    n_iter                      optimizer.iterations              --iterations
    learning_rate ("auto")      optimizer.learning_rate           --learning-rate
    early_exaggeration          optimizer.exaggeration            --exaggeration
    init ("pca", "random",      init, init_coordinates            --init
    array)
    random_state                seed                              --seed
    n_jobs (0/None/-1 = all)    threads                           --threads
    method ("barnes_hut",       optimizer.method                  --method
    "exact" = "exact_tsne",
    "exact_sne")
    verbose                     (progress on stderr)              (default verbosity)
    affinity ("perplexity",     affinities.kind                   --affinity
    "sigma", "uniform")
    sigma (None; affinity       affinities.sigma                  --sigma
    "sigma" only)
    n_neighbors (None = auto)   affinities.k                      --k
    dof                         optimizer.dof                     --dof
    fit(affinities=P)           embed_affinities                  --affinities P.mtx
    fit(neighbor_graph=(I, D))  embed_neighbors                   --neighbors I --neighbor-distances D
    ==========================  ================================  =======================================

    Neighbours and affinities. ``metric`` is the distance neighbours are ranked by (the Gaussian
    affinities use its square); sklearn's aliases "l2", "l1" and "cityblock" are accepted. manhattan
    needs ``neighbors`` auto, kdtree, brute or nndescent; chebyshev, jaccard and hamming auto, brute or
    nndescent. "jaccard" and "hamming" are scipy's (for 0/1 fingerprints: 1 - |A and B| / |A or B|, and
    the share of differing bits; counted by popcounts when X holds only 0s and 1s); "correlation" is
    1 - the Pearson correlation of two rows (a constant row is refused).
    ``metric="precomputed"``: X is a dense N x N distance matrix (symmetric, zero diagonal, not
    squared), each point's ``k`` nearest taken from it, or a scipy.sparse N x N matrix of distances
    with k entries per row (sklearn's ``kneighbors_graph(X, k, mode="distance")``), used as the graph.
    ``affinity`` is the kernel over each point's k nearest neighbours: "perplexity" (t-SNE's Gaussian
    calibrated to ``perplexity``; with a list of perplexities the rows of every scale averaged, openTSNE's
    multiscale), "sigma" (one Gaussian width ``sigma`` for every point, openTSNE's FixedSigmaNN) or
    "uniform" (1/k each, openTSNE's Uniform). ``n_neighbors`` is k (openTSNE's k_neighbors); None =
    min(N - 1, floor(3 x the largest perplexity)), also for "sigma" and "uniform", where that is all
    ``perplexity`` does. Given, it must exceed every perplexity. ``dof`` is the degrees of freedom of the
    output kernel (1 = t-SNE's Cauchy kernel; < 1 heavier tails; Kobak et al. 2019).

    Sparse input (``treesne::embed(ConstCsrView)``, the CLI's sparse .npz/.mtx/svmlight): X may be a
    scipy.sparse matrix or array of rows (csr, csc, coo, lil, ...; converted once to CSR with sorted
    indices, duplicates summed and explicit zeros dropped, never densified). The neighbours come from the
    sparse search, which gives the dense rows' graph bit for bit, for metric "euclidean", "cosine",
    "jaccard" or "hamming" (any metric with ``pca_components``: the sparse PCA reduces the rows first);
    ``init="pca"`` uses the sparse PCA. Barnes-Hut only; ``transform()`` needs a fit to dense data.

    Precomputed inputs (openTSNE's ``fit(affinities=...)``): ``fit(affinities=P)`` embeds joint
    affinities P (a scipy.sparse N x N matrix, or the CSR arrays ``(indptr, indices, data)``; checked by
    the library, and where P is not yet t-SNE's P -- a diagonal, asymmetric, a sum other than 1 -- it is
    repaired with a ``UserWarning`` saying so). ``fit(neighbor_graph=(indices, distances))`` embeds a
    neighbour graph: two N x k arrays, distances not squared (a first column of the points themselves,
    as sklearn's ``kneighbors(X)`` returns, is dropped), or a scipy.sparse distance graph; it is
    calibrated by ``affinity``/``perplexity`` as usual. X, given alongside, only initialises (PCA, and
    ``pca_components`` applies to it); without it, and with ``metric="precomputed"``, ``init="pca"``
    (the default) means "random", as in the CLI. These need method "barnes_hut"; the neighbour-search
    parameters (``metric``, ``neighbors``) must stay at their defaults, and with affinities the
    affinity parameters have no effect. The same P, graph or distances, options and seed give the same
    embedding as ``treesne embed --affinities P.mtx``, ``--neighbors I.npy --neighbor-distances D.npy``
    and ``D.npy --input-kind distances``, bit for bit.

    Further library options (names after openTSNE where it has them): early_exaggeration_iter
    (exaggeration_iterations), late_exaggeration, late_exaggeration_start (None = after early
    exaggeration), momentum, final_momentum, momentum_switch (None = after early exaggeration),
    gain_increase, gain_decrease, min_gain, early_stop, max_step_norm, dof, target_error (with
    theta="auto"), pca_components (--pca; None = off), keep_user_scale, neighbors (--knn: "auto",
    "kdtree", "brute", "hnsw", "nndescent"), hnsw_m, hnsw_ef_construction, hnsw_ef_search,
    nndescent_trees, nndescent_leaf_size, nndescent_rounds (None = auto), entropy_tolerance,
    max_perplexity_steps (affinities.max_steps), memory_limit (bytes; None = what the machine has).

    Python only: ``callback(iteration, kl, embedding)`` is called every ``log_every`` iterations and at
    the last (KL of the unexaggerated P, a copy of the current N x n_components embedding); returning
    False stops the run there (``status_ == "stopped"``). ``log_every`` is also the cadence of the
    progress lines (the CLI's --log-every).

    Attributes after fit: ``embedding_``, ``kl_divergence_`` (the final KL, the Barnes-Hut estimate as
    reported; exact for the exact methods), ``n_iter_``, ``learning_rate_``, ``n_features_in_``,
    ``status_`` ("completed", "stopped" or "converged"), ``history_`` (one tuple per report:
    iteration, phase, KL, gradient norm, seconds, theta), ``timings_`` (seconds per stage).
    """

    def __init__(
        self,
        n_components=_E["dims"],
        perplexity=_E["perplexity"],
        theta=_E["theta"],
        n_iter=_E["iterations"],
        learning_rate="auto",
        early_exaggeration=_E["exaggeration"],
        init=_E["init"],
        random_state=int(_E["seed"]),
        n_jobs=_E["threads"],
        method=_E["method"],
        verbose=False,
        callback=None,
        log_every=_E["report_every"],
        early_exaggeration_iter=_E["exaggeration_iterations"],
        late_exaggeration=_E["late_exaggeration"],
        late_exaggeration_start=None,
        momentum=_E["momentum"],
        final_momentum=_E["final_momentum"],
        momentum_switch=None,
        gain_increase=_E["gain_increase"],
        gain_decrease=_E["gain_decrease"],
        min_gain=_E["min_gain"],
        early_stop=_E["early_stop"],
        max_step_norm=_E["max_step_norm"],
        dof=_E["dof"],
        target_error=_E["target_error"],
        pca_components=None,
        keep_user_scale=_E["keep_user_scale"],
        neighbors=_E["knn"],
        hnsw_m=_E["hnsw_m"],
        hnsw_ef_construction=_E["hnsw_ef_construction"],
        hnsw_ef_search=None,
        nndescent_trees=None,
        nndescent_leaf_size=None,
        nndescent_rounds=None,
        entropy_tolerance=_E["entropy_tolerance"],
        max_perplexity_steps=_E["max_steps"],
        memory_limit=None,
        metric=_E["metric"],
        affinity=_E["affinity"],
        sigma=None,
        n_neighbors=None,
    ):
        self.n_components = n_components
        self.perplexity = perplexity
        self.theta = theta
        self.n_iter = n_iter
        self.learning_rate = learning_rate
        self.early_exaggeration = early_exaggeration
        self.init = init
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.method = method
        self.verbose = verbose
        self.callback = callback
        self.log_every = log_every
        self.early_exaggeration_iter = early_exaggeration_iter
        self.late_exaggeration = late_exaggeration
        self.late_exaggeration_start = late_exaggeration_start
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.momentum_switch = momentum_switch
        self.gain_increase = gain_increase
        self.gain_decrease = gain_decrease
        self.min_gain = min_gain
        self.early_stop = early_stop
        self.max_step_norm = max_step_norm
        self.dof = dof
        self.target_error = target_error
        self.pca_components = pca_components
        self.keep_user_scale = keep_user_scale
        self.neighbors = neighbors
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construction = hnsw_ef_construction
        self.hnsw_ef_search = hnsw_ef_search
        self.nndescent_trees = nndescent_trees
        self.nndescent_leaf_size = nndescent_leaf_size
        self.nndescent_rounds = nndescent_rounds
        self.entropy_tolerance = entropy_tolerance
        self.max_perplexity_steps = max_perplexity_steps
        self.memory_limit = memory_limit
        self.metric = metric
        self.affinity = affinity
        self.sigma = sigma
        self.n_neighbors = n_neighbors

    # --- options ----------------------------------------------------------------------------------

    def _library_options(self):
        """The parameters as the engine's option dictionary (checked for type here, for range by the
        library, whose messages are the CLI's)."""
        c = _checks
        o = {
            "dims": c.integer(self.n_components, "n_components"),
            "iterations": c.integer(self.n_iter, "n_iter"),
            "exaggeration": c.real(self.early_exaggeration, "early_exaggeration"),
            "seed": c.seed_of(self.random_state),
            "threads": c.threads_of(self.n_jobs),
            "report_every": c.integer(self.log_every, "log_every", minimum=0),
            "exaggeration_iterations": c.integer(self.early_exaggeration_iter, "early_exaggeration_iter"),
            "late_exaggeration": c.real(self.late_exaggeration, "late_exaggeration"),
            "late_exaggeration_start": -1
            if self.late_exaggeration_start is None
            else c.integer(self.late_exaggeration_start, "late_exaggeration_start"),
            "momentum": c.real(self.momentum, "momentum"),
            "final_momentum": c.real(self.final_momentum, "final_momentum"),
            "momentum_switch": -1 if self.momentum_switch is None else c.integer(self.momentum_switch, "momentum_switch"),
            "gain_increase": c.real(self.gain_increase, "gain_increase"),
            "gain_decrease": c.real(self.gain_decrease, "gain_decrease"),
            "min_gain": c.real(self.min_gain, "min_gain"),
            "early_stop": c.real(self.early_stop, "early_stop"),
            "max_step_norm": c.real(self.max_step_norm, "max_step_norm"),
            "dof": c.real(self.dof, "dof"),
            "target_error": c.real(self.target_error, "target_error"),
            "pca_dims": c.optional_count(self.pca_components, "pca_components"),
            "keep_user_scale": c.boolean(self.keep_user_scale, "keep_user_scale"),
            "hnsw_m": c.integer(self.hnsw_m, "hnsw_m"),
            "hnsw_ef_construction": c.integer(self.hnsw_ef_construction, "hnsw_ef_construction"),
            "hnsw_ef_search": c.optional_count(self.hnsw_ef_search, "hnsw_ef_search"),
            "nndescent_trees": c.optional_count(self.nndescent_trees, "nndescent_trees"),
            "nndescent_leaf_size": c.optional_count(self.nndescent_leaf_size, "nndescent_leaf_size"),
            "nndescent_rounds": c.optional_count(self.nndescent_rounds, "nndescent_rounds"),
            "entropy_tolerance": c.real(self.entropy_tolerance, "entropy_tolerance"),
            "max_steps": c.integer(self.max_perplexity_steps, "max_perplexity_steps"),
        }
        o.update(c.affinity_options(self.perplexity, self.affinity, self.sigma, self.n_neighbors))
        o["metric"], _ = c.metric_of(self.metric)
        if isinstance(self.theta, str):
            if self.theta != "auto":
                raise ValueError(f"theta must be a number >= 0 or 'auto'; got {self.theta!r}")
            o["theta_auto"] = True
        else:
            o["theta"] = c.real(self.theta, "theta")
        if isinstance(self.learning_rate, str):
            if self.learning_rate != "auto":
                raise ValueError(f"learning_rate must be a number > 0 or 'auto'; got {self.learning_rate!r}")
            o["learning_rate"] = None
        else:
            o["learning_rate"] = c.real(self.learning_rate, "learning_rate")
        method = self.method
        if not isinstance(method, str):
            raise ValueError(f"method must be 'barnes_hut', 'exact', 'exact_tsne' or 'exact_sne'; got {method!r}")
        o["method"] = "exact_tsne" if method == "exact" else method
        if not isinstance(self.neighbors, str):
            raise ValueError(f"neighbors must be 'auto', 'kdtree', 'brute', 'hnsw' or 'nndescent'; got {self.neighbors!r}")
        o["knn"] = self.neighbors
        if isinstance(self.init, str):
            o["init"] = self.init
        else:
            o["init"] = _checks.as_matrix(self.init, "init")
        if self.callback is not None and not callable(self.callback):
            raise ValueError(f"callback must be callable or None; got {self.callback!r}")
        return o

    # --- fitting ----------------------------------------------------------------------------------

    def fit(self, X=None, y=None, *, affinities=None, neighbor_graph=None):
        """Embeds X (N x D: any 2-D float32/float64 array-like; C-ordered float64 is read in place; a
        scipy.sparse matrix or array of rows, any format, converted once to CSR and never densified; with
        metric="precomputed" an N x N distance matrix or a sparse distance graph), or precomputed
        ``affinities`` (P) or a ``neighbor_graph`` (indices, distances), with X then optional (it only
        initialises)."""
        self._fit(X, affinities, neighbor_graph)
        return self

    def fit_transform(self, X=None, y=None, *, affinities=None, neighbor_graph=None):
        """Embeds as fit() does and returns the N x n_components embedding."""
        self._fit(X, affinities, neighbor_graph)
        return self.embedding_

    def _inputs(self, X, affinities, neighbor_graph, options):
        """What fit() embeds: (X or None, input kind, affinities tuple, graph tuple, name of the
        precomputed input or None), after the CLI's checks of what excludes what."""
        c = _checks
        _, precomputed = c.metric_of(self.metric)
        if affinities is not None and neighbor_graph is not None:
            raise ValueError("affinities and neighbor_graph exclude each other (P needs no neighbours)")
        given = "affinities" if affinities is not None else "neighbor_graph" if neighbor_graph is not None else None
        if given and precomputed:
            raise ValueError(f"metric='precomputed' and {given} exclude each other (both give the neighbours)")
        if precomputed and X is not None and c.is_sparse(X):  # sklearn's sparse precomputed distances
            neighbor_graph, X, given = X, None, "a sparse distance graph"
        sparse = X is not None and c.is_sparse(X)  # sparse rows of features
        if sparse and given:
            raise ValueError(f"X given with {given} only initialises (its PCA) and must be dense; pass "
                             "X.toarray() or leave X out")
        if sparse and options["method"] != "barnes_hut":
            raise ValueError("sparse X is embedded by method='barnes_hut' only (the exact methods need dense "
                             "rows; pass X.toarray() for small data)")
        if given:
            if options["method"] != "barnes_hut":
                raise ValueError(f"{given} needs method='barnes_hut' (the exact methods compute a dense P "
                                 "from coordinates)")
            if not precomputed and options["metric"] != DEFAULTS["embed"]["metric"]:
                raise ValueError(f"metric has no effect with {given} (no neighbour search runs)")
            if self.neighbors != _E["knn"]:
                raise ValueError(f"neighbors has no effect with {given} (no neighbour search runs)")
        if affinities is not None:
            for name, default in (("affinity", _E["affinity"]), ("sigma", None), ("n_neighbors", None)):
                if getattr(self, name) != default:
                    raise ValueError(f"{name} has no effect with affinities (P is given)")
            if options["more_perplexities"]:
                raise ValueError("perplexity has no effect with affinities (P is given)")
        p = c.csr_of(affinities, "affinities") if affinities is not None else None
        graph = c.neighbor_graph_of(neighbor_graph) if neighbor_graph is not None else None
        if X is None:
            if not given:
                raise ValueError("fit needs X, or affinities=P, or neighbor_graph=(indices, distances)")
        elif sparse:
            X = c.sparse_rows_of(X)
            c.require_sparse_metric(options["metric"], options["pca_dims"], X[3][1])
        else:
            X = c.as_matrix(X)
        kind = "sparse" if sparse else "distances" if precomputed and X is not None else "coordinates"
        if X is None or kind == "distances":  # nothing to take principal components of
            if options["pca_dims"] > 0:
                raise ValueError("pca_components needs coordinates; " +
                                 ("metric='precomputed' gives distances" if X is not None else "give X"))
            if isinstance(options["init"], str) and options["init"] == "pca":
                options["init"] = "random"  # the default, as the CLI does without coordinates
        return X, kind, p, graph, given

    def _fit(self, X, affinities=None, neighbor_graph=None):
        options = self._library_options()
        X, kind, p, graph, given = self._inputs(X, affinities, neighbor_graph, options)
        memory_limit = _checks.real(self.memory_limit, "memory_limit", allow_none=True)
        if kind == "sparse":
            n, d = X[3]
        elif X is not None:
            n, d = X.shape
        elif p is not None:
            n, d = p[0], 0
        elif graph[0] == "sparse":
            n, d = graph[1], 0
        else:
            n, d = graph[1].shape[0], 0
        if X is not None and n < 2:  # the library's words, with the sample count scikit-learn's checks look for
            raise ValueError(f"t-SNE needs at least 2 points; got {n} sample{'' if n == 1 else 's'}")
        verbose = bool(self.verbose)
        progress = None
        if verbose:
            from ._progress import describe_affinities

            init_name = options["init"] if isinstance(options["init"], str) else "user"
            if graph is not None and graph[0] == "lists":
                k = graph[1].shape[1]
            elif graph is not None:
                k = int(np.diff(graph[2]).max()) if n > 0 else 0
            else:
                k = _treesne.affinity_neighbor_count(options, n) if n > 0 else 0
            text = describe_affinities(None if p is not None else options, k)
            progress = Progress(n, d, text, options["pca_dims"], init_name, k)
        observer = _observer(progress, self.callback, options["report_every"])
        try:
            run = dict(observer=observer, stage=progress.stage if progress else None,
                       interruptible=interruptible(), memory_limit=memory_limit)
            if kind == "sparse":
                result = _treesne.embed_sparse(X, options, **run)
            else:
                result = _treesne.embed(X, options, **run, input_kind=kind, affinities=p, neighbors=graph)
        finally:
            if progress:
                progress.end_line()
        if progress and result["status"] == "converged":
            progress.converged(result["iterations"], options["early_stop"], DEFAULTS["early_stop_window"])
        # All attributes at once, only after a run that ended normally: an interrupted or failed fit
        # leaves the estimator as it was.
        self.embedding_ = result["embedding"]
        self.kl_divergence_ = result["kl"]
        self.n_iter_ = result["iterations"]
        self.learning_rate_ = result["learning_rate"]
        self.status_ = result["status"]
        self.history_ = result["history"]
        self.timings_ = result["timings"]
        if X is not None:
            self.n_features_in_ = d
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        self._fit_X = X if kind == "coordinates" else None
        self._fit_sparse = kind == "sparse"
        self._fit_options = options
        for note in result["notes"]:
            warnings.warn(f"affinities: {note}", UserWarning, stacklevel=3)

    # --- new points -------------------------------------------------------------------------------

    def transform(self, X, transform_iter=_T["iterations"], transform_perplexity=_T["perplexity"]):
        """Places new points into the fitted embedding without moving it (``treesne::transform``, the
        CLI's ``treesne transform``): each new point is optimised against the reference points alone, as
        if it were added alone. Needs the data fit() saw (kept by reference, not copied)."""
        if not hasattr(self, "embedding_"):
            from ._base import not_fitted

            raise not_fitted(self)
        if getattr(self, "_fit_sparse", False):
            raise ValueError("transform needs dense data: this TSNE was fitted to sparse X, and new points are "
                             "placed among dense rows only; fit it to X.toarray() to use transform")
        if self._fit_X is None:
            raise ValueError("transform needs the coordinates fit() saw; this TSNE was fitted without them "
                             "(precomputed distances, affinities or neighbours)")
        if self._fit_options["metric"] != "euclidean":
            raise ValueError(f"transform places new points by Euclidean neighbours; this TSNE was fitted with "
                             f"metric={self.metric!r}")
        X = _checks.as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        options = dict(self._fit_options)
        options["report_every"] = 10  # transform() looks at Ctrl-C at its reports
        t = {
            "iterations": _checks.integer(transform_iter, "transform_iter"),
            "perplexity": _checks.real(transform_perplexity, "transform_perplexity", allow_none=True),
        }
        return _treesne.transform(self._fit_X, self.embedding_, X, options, t, interruptible=interruptible())


def _observer(progress, callback, log_every):
    """The engine's observer: CLI progress lines, then the user's callback; None when neither is needed
    (the engine then copies no embedding for reports)."""
    if progress is None and callback is None:
        return None

    def observe(iteration, total, phase, kl, gradient_norm, seconds, theta, theta_error, embedding):
        if progress is not None:
            progress.last = (iteration, kl)
            if iteration == total or (log_every > 0 and iteration % log_every == 0):
                progress.iteration(iteration, total, phase, kl, seconds, theta, theta_error)
        if callback is not None:
            keep = callback(iteration, kl, embedding)
            return keep is None or bool(keep)
        return True

    return observe
