"""The staged API and the measurements: neighbours, affinities, transform, evaluate, accuracy."""

import numpy as np

from . import _checks, _treesne
from ._checks import DEFAULTS
from ._progress import display_name
from ._tsne import interruptible

_E = DEFAULTS["embed"]
_T = DEFAULTS["transform"]
_A = DEFAULTS["accuracy"]
_EV = _treesne.evaluate_defaults()


def _neighbor_options(neighbors, n_jobs, pca_components, hnsw_m, hnsw_ef_construction, hnsw_ef_search,
                      nndescent_trees, nndescent_leaf_size, nndescent_rounds, metric=_E["metric"]):
    """The neighbour search's options, and whether X holds distances (metric="precomputed")."""
    c = _checks
    library_metric, precomputed = c.metric_of(metric)
    if not isinstance(neighbors, str):
        raise ValueError(f"neighbors must be 'auto', 'kdtree', 'brute', 'hnsw' or 'nndescent'; got {neighbors!r}")
    return {
        "knn": neighbors,
        "threads": c.threads_of(n_jobs),
        "pca_dims": c.optional_count(pca_components, "pca_components"),
        "hnsw_m": c.integer(hnsw_m, "hnsw_m"),
        "hnsw_ef_construction": c.integer(hnsw_ef_construction, "hnsw_ef_construction"),
        "hnsw_ef_search": c.optional_count(hnsw_ef_search, "hnsw_ef_search"),
        "nndescent_trees": c.optional_count(nndescent_trees, "nndescent_trees"),
        "nndescent_leaf_size": c.optional_count(nndescent_leaf_size, "nndescent_leaf_size"),
        "nndescent_rounds": c.optional_count(nndescent_rounds, "nndescent_rounds"),
        "metric": library_metric,
    }, precomputed


def _distances(X, precomputed, options):
    """X as the engine takes it: a dense matrix, or (not precomputed) scipy.sparse rows as the tuple of
    _checks.sparse_rows_of; the second value says which."""
    if precomputed and options["pca_dims"] > 0:
        raise ValueError("pca_components needs coordinates; metric='precomputed' gives distances")
    if _checks.is_sparse(X):
        if precomputed:
            raise ValueError("metric='precomputed' needs a dense N x N distance matrix here; a sparse X holds "
                             "rows of features")
        rows = _checks.sparse_rows_of(X)
        _checks.require_sparse_metric(options["metric"], options["pca_dims"], rows[3][1])
        return rows, True
    return _checks.as_matrix(X), False


def nearest_neighbors(X, n_neighbors, *, metric=_E["metric"], neighbors=_E["knn"], pca_components=None,
                      n_jobs=_E["threads"],
                      hnsw_m=_E["hnsw_m"], hnsw_ef_construction=_E["hnsw_ef_construction"], hnsw_ef_search=None,
                      nndescent_trees=None, nndescent_leaf_size=None, nndescent_rounds=None):
    """The n_neighbors nearest neighbours of every row of X, self excluded (``treesne::nearest_neighbors``).

    Returns ``(indices, squared_distances)``, both N x n_neighbors (int64 and float64), each row sorted by
    distance, equidistant points in the library's fixed tie order; the exact backends agree bit for bit.
    ``metric``: "euclidean", "cosine" (1 - cos), "manhattan", "chebyshev", "jaccard", "hamming",
    "correlation" (1 - the Pearson correlation), as scipy.spatial.distance defines them (the distances
    returned are that metric's, squared), or "precomputed": X is a dense N x N distance matrix (symmetric, zero
    diagonal, not squared; ``treesne::neighbors_from_distances``). ``pca_components`` reduces X first,
    as ``TSNE(pca_components=...)`` does.

    X may be a scipy.sparse matrix or array of rows (any format: converted once to CSR, never
    densified): the sparse search gives the graph of the dense rows, bit for bit, for "euclidean",
    "cosine", "jaccard" and "hamming"; other metrics need ``pca_components`` (the sparse PCA reduces the
    rows first).
    """
    options, precomputed = _neighbor_options(neighbors, n_jobs, pca_components, hnsw_m, hnsw_ef_construction,
                                             hnsw_ef_search, nndescent_trees, nndescent_leaf_size,
                                             nndescent_rounds, metric)
    X, sparse_rows = _distances(X, precomputed, options)
    k = _checks.integer(n_neighbors, "n_neighbors")
    if sparse_rows:
        return _treesne.nearest_neighbors_sparse(X, k, options)
    return _treesne.nearest_neighbors(X, k, options, distances=precomputed)


def affinities(X, perplexity=_E["perplexity"], *, affinity=_E["affinity"], sigma=None, n_neighbors=None,
               metric=_E["metric"], neighbors=_E["knn"], pca_components=None,
               n_jobs=_E["threads"], entropy_tolerance=_E["entropy_tolerance"],
               max_perplexity_steps=_E["max_steps"], hnsw_m=_E["hnsw_m"],
               hnsw_ef_construction=_E["hnsw_ef_construction"], hnsw_ef_search=None, nndescent_trees=None,
               nndescent_leaf_size=None, nndescent_rounds=None, sparse=None):
    """t-SNE's joint affinities P of the rows of X (``treesne::compute_affinities`` over the
    k = n_neighbors nearest neighbours, by default min(N - 1, floor(3 x the largest perplexity))):
    symmetric, zero diagonal, summing to 1. ``perplexity`` (a number, or a list for multiscale),
    ``affinity`` ("perplexity", "sigma" with ``sigma``, "uniform"), ``n_neighbors`` and ``metric``
    (including "precomputed": X is an N x N distance matrix) as for ``TSNE``; the P that
    ``TSNE(...).fit(X)`` optimises, and a P for ``TSNE().fit(affinities=P)``. X may be scipy.sparse rows,
    as for ``nearest_neighbors``.

    Returns a ``scipy.sparse.csr_matrix`` (float32 values) when SciPy is installed (``sparse=None`` or
    True), else (``sparse=False`` or no SciPy) the CSR arrays ``(indptr, indices, data)``.
    """
    options, precomputed = _neighbor_options(neighbors, n_jobs, pca_components, hnsw_m, hnsw_ef_construction,
                                             hnsw_ef_search, nndescent_trees, nndescent_leaf_size,
                                             nndescent_rounds, metric)
    X, sparse_rows = _distances(X, precomputed, options)
    options.update(_checks.affinity_options(perplexity, affinity, sigma, n_neighbors))
    options["entropy_tolerance"] = _checks.real(entropy_tolerance, "entropy_tolerance")
    options["max_steps"] = _checks.integer(max_perplexity_steps, "max_perplexity_steps")
    options["init"] = "random"  # validate() would otherwise check the PCA start's needs
    if sparse_rows:
        n, indptr, indices, data = _treesne.affinities_sparse(X, options)
    else:
        n, indptr, indices, data = _treesne.affinities(X, options, distances=precomputed)
    if sparse is False:
        return indptr, indices, data
    try:
        import scipy.sparse
    except ImportError:
        if sparse:
            raise
        return indptr, indices, data
    return scipy.sparse.csr_matrix((data, indices.astype(np.int64), indptr), shape=(n, n))


def transform(X_ref, Y_ref, X_new, *, perplexity=_T["perplexity"], n_iter=_T["iterations"],
              early_exaggeration=_T["exaggeration"], early_exaggeration_iter=_T["exaggeration_iterations"],
              learning_rate=_T["learning_rate"], momentum=_T["momentum"], max_step_norm=_T["max_step_norm"],
              repel_new=_T["repel_new"], reference_perplexity=_E["perplexity"], theta=_E["theta"],
              pca_components=None, neighbors=_E["knn"], random_state=int(_E["seed"]), n_jobs=_E["threads"],
              callback=None, log_every=_E["report_every"]):
    """New points X_new into the embedding Y_ref of X_ref without moving it (``treesne::transform``, the
    CLI's ``treesne transform``). ``perplexity=None`` is auto: min(reference_perplexity, 10).
    ``pca_components`` as the reference was made with (the PCA is fitted on X_ref again).
    ``callback(iteration, kl, embedding)`` as for TSNE. Returns M x d."""
    c = _checks
    X_ref, Y_ref, X_new = c.as_matrix(X_ref, "X_ref"), c.as_matrix(Y_ref, "Y_ref"), c.as_matrix(X_new, "X_new")
    options = {
        "perplexity": c.real(reference_perplexity, "reference_perplexity"),
        "theta": c.real(theta, "theta"),
        "pca_dims": c.optional_count(pca_components, "pca_components"),
        "knn": neighbors,
        "seed": c.seed_of(random_state),
        "threads": c.threads_of(n_jobs),
        "report_every": c.integer(log_every, "log_every", minimum=0),
    }
    t = {
        "perplexity": c.real(perplexity, "perplexity", allow_none=True),
        "iterations": c.integer(n_iter, "n_iter"),
        "exaggeration": c.real(early_exaggeration, "early_exaggeration"),
        "exaggeration_iterations": c.integer(early_exaggeration_iter, "early_exaggeration_iter"),
        "learning_rate": c.real(learning_rate, "learning_rate"),
        "momentum": c.real(momentum, "momentum"),
        "max_step_norm": c.real(max_step_norm, "max_step_norm"),
        "repel_new": c.boolean(repel_new, "repel_new"),
    }
    observer = None
    if callback is not None:
        def observer(iteration, total, phase, kl, gradient_norm, seconds, theta, theta_error, embedding):
            keep = callback(iteration, kl, embedding)
            return keep is None or bool(keep)
    return _treesne.transform(X_ref, Y_ref, X_new, options, t, observer=observer, interruptible=interruptible())


def _evaluate_metric(metric):
    name, precomputed = _checks.metric_of(metric)
    if precomputed:
        raise ValueError("evaluate needs the input's coordinates; metric 'precomputed' is not supported here")
    return name


def evaluate(X, Y, labels=None, *, perplexity=_EV["perplexity"], k=_EV["k"], trust_queries=_EV["trust_queries"],
             pca_components=None, sample=None, random_state=int(_EV["seed"]), n_jobs=_EV["threads"], dof=_EV["dof"],
             metric="euclidean"):
    """The numbers of ``treesne evaluate X Y [--labels L] --json`` (the same library call,
    treesne::evaluate), as a dict with its keys:
    ``kl_divergence`` (exact KL of Y against the kNN P that TSNE computes at this perplexity, Q over all
    pairs: O(N^2) time, O(N) memory; refused above 200,000 points, where ``sample=M`` evaluates M seeded
    random points), ``knn_preservation``, ``trustworthiness`` (over ``trust_queries`` evenly spaced
    points), ``knn_accuracy`` (leave-one-out k-NN, with labels), and ``input_points``, ``points``,
    ``sampled``, ``perplexity``, ``dof``, ``metric``, ``k``, ``trustworthiness_queries``. Labels: numbers, or
    names of any kind (coded as the CLI codes a labels file). ``dof``: the degrees of freedom of the output
    kernel of the KL (give the embedding's ``TSNE(dof=...)``; ``treesne evaluate --dof``). ``metric``: the
    input distance (``treesne evaluate --metric``): of the KL's P and of the input neighbourhoods. Refused with
    ArithmeticError before the work when its memory estimate exceeds the memory available now."""
    c = _checks
    X, Y = c.as_matrix(X, "X"), c.as_matrix(Y, "Y")
    codes = c.label_codes(labels, X.shape[0])
    return _treesne.evaluate(
        X, Y, codes, c.real(perplexity, "perplexity"), c.integer(k, "k"), c.integer(trust_queries, "trust_queries"),
        c.optional_count(pca_components, "pca_components"), c.optional_count(sample, "sample"),
        c.seed_of(random_state), c.threads_of(n_jobs), c.real(dof, "dof"), _evaluate_metric(metric))


def accuracy(X, labels=None, *, thetas=tuple(_A["thetas"]), monopole=_A["monopole"], runs=_A["runs"], sample=None,
             k=_A["k"], n_components=_E["dims"], perplexity=_E["perplexity"], theta=_E["theta"],
             n_iter=_E["iterations"], early_exaggeration=_E["exaggeration"],
             early_exaggeration_iter=_E["exaggeration_iterations"], pca_components=None, neighbors=_E["knn"],
             random_state=int(_E["seed"]), n_jobs=_E["threads"], timing_calls=_A["timing_calls"],
             timing_seconds=_A["timing_seconds"], verbose=False, dof=_E["dof"]):
    """The accuracy report of ``treesne accuracy`` (``treesne::measure_accuracy``): Barnes-Hut against the
    exact gradient at each theta, at the start, after early exaggeration and at the end of one run; with
    ``runs=True`` also one full run per theta and one exact run, judged by their exact KL. Returns a dict:
    the settings, ``gradients`` (one dict per row: embedding, exaggeration, theta, scheme, grad_err,
    repul_err, Z_err, seconds, exact_seconds), ``runs``, and the CLI's ``table``, ``json`` and ``csv``
    texts. ``verbose`` prints the stage progress on stderr. ``dof``: the output kernel's degrees of
    freedom (``treesne accuracy --dof``): every gradient, error and KL is of that kernel."""
    c = _checks
    X = c.as_matrix(X)
    options = {
        "dims": c.integer(n_components, "n_components"),
        "perplexity": c.real(perplexity, "perplexity"),
        "theta": c.real(theta, "theta"),
        "iterations": c.integer(n_iter, "n_iter"),
        "exaggeration": c.real(early_exaggeration, "early_exaggeration"),
        "exaggeration_iterations": c.integer(early_exaggeration_iter, "early_exaggeration_iter"),
        "pca_dims": c.optional_count(pca_components, "pca_components"),
        "knn": neighbors,
        "seed": c.seed_of(random_state),
        "threads": c.threads_of(n_jobs),
        "dof": c.real(dof, "dof"),
    }
    a = {
        "thetas": [c.real(t, "thetas") for t in thetas],
        "monopole": c.boolean(monopole, "monopole"),
        "runs": c.boolean(runs, "runs"),
        "sample": c.optional_count(sample, "sample"),
        "k": c.integer(k, "k"),
        "timing_calls": c.integer(timing_calls, "timing_calls"),
        "timing_seconds": c.real(timing_seconds, "timing_seconds"),
    }
    codes = c.label_codes(labels, X.shape[0])
    stage = None
    if verbose:
        import sys

        def stage(event, name, fraction):
            if fraction >= 1:
                sys.stderr.write("%s: done\n" % display_name(name))
    return _treesne.accuracy(X, options, a, codes, stage=stage, interruptible=interruptible())
