"""Argument checks and conversions shared by the estimator and the functions.

Everything that is a library option is checked by the library itself (``treesne::validate``), so its
messages are the command line's; here only what Python adds: array-likes, dtypes, types of parameters,
and the scikit-learn spellings (``random_state``, ``n_jobs``, ``"auto"``).
"""

import numbers
import os

import numpy as np

from . import _treesne

DEFAULTS = _treesne.default_options()


def as_matrix(X, name="X"):
    """X as a 2-D NumPy array of float32 or float64, without a copy when it already is one (any order:
    the engine views C-ordered float64 in place and converts anything else once)."""
    if is_sparse(X):
        raise ValueError(f"{name}: sparse input is not supported here; pass a dense array (X.toarray())")
    try:
        a = np.asarray(X)
    except Exception as e:  # e.g. ragged lists
        raise ValueError(f"{name} must be a 2-D array of numbers: {e}") from None
    if a.dtype.kind == "c":
        raise ValueError(f"{name}: complex data is not supported")
    if a.dtype not in (np.float32, np.float64):
        if a.dtype.kind not in "biuf":
            try:
                a = a.astype(np.float64)
            except TypeError as e:  # NumPy's own words: "float() argument must be a string or a number"
                raise TypeError(f"{name} must hold numbers: {e}") from None
            except ValueError as e:
                raise ValueError(f"{name} must hold numbers: {e}") from None
        else:
            a = a.astype(np.float64)
    if a.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (points x dimensions); got {a.ndim} "
            f"dimension{'' if a.ndim == 1 else 's'}"
            + (" (use X.reshape(-1, 1) for one feature, X.reshape(1, -1) for one point)" if a.ndim == 1 else "")
        )
    require_finite(a, name)
    return a


def require_finite(a, name):
    """The CLI's message for a non-finite value in a binary file (src/io/binary.cpp), with the argument's
    name for the file's. One sum first: the element scan runs only when the sum is not finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        if a.size == 0 or np.isfinite(a.sum(dtype=np.float64)):
            return
    bad = np.argwhere(~np.isfinite(a))
    if len(bad) == 0:
        return  # the sum overflowed; every value is finite
    i, j = bad[0]  # argwhere lists in row-major order, as the reader scans
    kind = "NaN" if np.isnan(a[i, j]) else "infinite"
    raise ValueError(f"{name}: row {i + 1}, column {j + 1} is {kind} (NaN and Inf are not allowed)")


def integer(value, name, minimum=None, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def real(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number; got {value!r}")
    return float(value)


def boolean(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def seed_of(random_state):
    """scikit-learn's random_state as the engine's 64-bit seed: an int is the seed itself (the CLI's
    --seed); None draws one from NumPy's global generator; a RandomState or Generator draws one from it."""
    if random_state is None:
        return int(np.random.mtrand._rand.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise ValueError(f"random_state must be an int, None, a RandomState or a Generator; got {random_state!r}")
    if not 0 <= int(random_state) < 2**64:
        raise ValueError(f"random_state must be in [0, 2^64); got {random_state}")
    return int(random_state)


def threads_of(n_jobs):
    """n_jobs as the engine's threads: 0, None or -1 = every core; k > 0 = k; -k = all but k - 1."""
    if n_jobs is None:
        return 0
    n_jobs = integer(n_jobs, "n_jobs")
    if n_jobs >= 0:
        return n_jobs
    if n_jobs == -1:
        return 0
    return max(1, (os.cpu_count() or 1) + 1 + n_jobs)


def optional_count(value, name):
    """None (auto) as the engine's 0, else a non-negative integer."""
    return 0 if value is None else integer(value, name, minimum=0)


def label_codes(labels, n, name="labels"):
    """Labels as the CLI codes them (src/io/labels.cpp): numbers by ascending value, names in order of
    first appearance; so the k-NN accuracy breaks ties exactly as `treesne evaluate` does."""
    if labels is None:
        return None
    a = np.asarray(labels)
    if a.ndim == 2 and 1 in a.shape:
        a = a.ravel()
    if a.ndim != 1:
        raise ValueError(f"{name} must be one label per point; got an array of shape {a.shape}")
    if a.shape[0] != n:
        raise ValueError(f"{name}: {a.shape[0]} labels for {n} points")
    if a.dtype.kind in "biuf":
        _, codes = np.unique(a, return_inverse=True)
        return codes.astype(np.int64).tolist()
    try:
        numeric = a.astype(np.float64)
        _, codes = np.unique(numeric, return_inverse=True)
        return codes.astype(np.int64).tolist()
    except (TypeError, ValueError):
        seen = {}
        return [seen.setdefault(item, len(seen)) for item in a.tolist()]


# --- neighbours, affinities and precomputed inputs ---------------------------------------------------

METRICS = ("euclidean", "cosine", "manhattan", "chebyshev", "jaccard", "hamming", "correlation")
#: scikit-learn's other names of the same distances (sklearn.metrics.pairwise_distances).
METRIC_ALIASES = {"l2": "euclidean", "l1": "manhattan", "cityblock": "manhattan"}


def metric_of(metric):
    """(library metric, precomputed): "precomputed" means X holds distances (scikit-learn's convention)."""
    if isinstance(metric, str):
        if metric == "precomputed":
            return "euclidean", True
        name = METRIC_ALIASES.get(metric, metric)
        if name in METRICS:
            return name, False
    raise ValueError(
        f"metric must be 'euclidean', 'cosine', 'manhattan', 'chebyshev', 'jaccard', 'hamming', 'correlation' "
        f"or 'precomputed'; got {metric!r}")


def affinity_options(perplexity, affinity, sigma, n_neighbors):
    """The library's AffinityOptions fields from the Python parameters: perplexity a number or a list
    of them (multiscale: the first is ``perplexity``, the rest ``more_perplexities``, in the given
    order), ``affinity`` the kernel, ``sigma`` (affinity "sigma" only), ``n_neighbors`` (None = auto)."""
    if isinstance(perplexity, (list, tuple, np.ndarray)):
        scales = [real(p, "perplexity") for p in np.asarray(perplexity, dtype=object).ravel().tolist()]
        if not scales:
            raise ValueError("perplexity: give at least one perplexity")
    else:
        scales = [real(perplexity, "perplexity")]
    if not isinstance(affinity, str) or affinity not in ("perplexity", "sigma", "uniform"):
        raise ValueError(f"affinity must be 'perplexity', 'sigma' or 'uniform'; got {affinity!r}")
    o = {"affinity": affinity, "perplexity": scales[0], "more_perplexities": scales[1:],
         "k": optional_count(n_neighbors, "n_neighbors")}
    if sigma is not None:
        if affinity != "sigma":
            raise ValueError(f"sigma belongs to affinity='sigma', not {affinity!r}")
        o["sigma"] = real(sigma, "sigma")
    elif affinity == "sigma":
        raise ValueError("affinity='sigma' needs sigma (the Gaussian width, in the input's distance units)")
    if len(scales) > 1 and affinity != "perplexity":
        raise ValueError(f"several perplexities need affinity='perplexity'; got {affinity!r}")
    return o


def is_sparse(a):
    return hasattr(a, "tocsr") and hasattr(a, "nnz")


#: The metrics of the sparse neighbour search (treesne::sparse_supports); the others need pca_components.
SPARSE_METRICS = ("euclidean", "cosine", "jaccard", "hamming")


def sparse_rows_of(X, name="X"):
    """A scipy.sparse matrix or array of N rows (any format) as the engine's sparse rows
    ``(indptr, indices, data, (N, D))``: converted once to CSR (a copy, so X is left as it is), duplicates
    summed, columns sorted, explicit zeros dropped, float64 values, int64 indptr and uint32 indices.
    Never densified. A NaN or infinite value is a ValueError naming its row and column."""
    import scipy.sparse

    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D sparse matrix; got {X.ndim} dimensions")
    if getattr(X, "dtype", np.dtype(np.float64)).kind not in "biuf":
        raise ValueError(f"{name}: sparse data must be real numbers; got {X.dtype}")
    m = scipy.sparse.csr_matrix(X, dtype=np.float64, copy=True)
    m.sum_duplicates()  # also sorts the columns of each row
    m.eliminate_zeros()
    n, d = m.shape
    if d < 1:
        raise ValueError(f"{name} must have at least 1 column; got {n} x {d}")
    if d >= 2**32:
        raise ValueError(f"{name}: at most 2^32 - 1 columns; got {d}")
    bad = np.flatnonzero(~np.isfinite(m.data))
    if len(bad):
        k = int(bad[0])
        i = int(np.searchsorted(m.indptr, k, side="right")) - 1
        kind = "NaN" if np.isnan(m.data[k]) else "infinite"
        raise ValueError(f"{name}: row {i + 1}, column {int(m.indices[k]) + 1} is {kind} "
                         "(NaN and Inf are not allowed)")
    return (m.indptr.astype(np.int64, copy=False), m.indices.astype(np.uint32, copy=False),
            np.ascontiguousarray(m.data, dtype=np.float64), (int(n), int(d)))


def require_sparse_metric(metric, pca_dims, d):
    """The sparse search's metrics, unless the rows are reduced by PCA first (pca_dims < d)."""
    if metric not in SPARSE_METRICS and not 0 < pca_dims < d:
        supported = ", ".join(f"'{m}'" for m in SPARSE_METRICS[:-1]) + f" and '{SPARSE_METRICS[-1]}'"
        raise ValueError(f"metric={metric!r} is not available for sparse X: the sparse neighbour search supports "
                         f"{supported} (or reduce the rows with pca_components, or pass X.toarray())")


def csr_of(matrix, name):
    """A scipy.sparse matrix (any format; duplicates summed, columns sorted, on a copy) or the CSR
    arrays (indptr, indices, data) as the engine's (n, indptr, indices, data), float32 values as the
    library stores P. The library checks everything else, with its messages."""
    if is_sparse(matrix):
        if matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"{name} must be a square N x N matrix; got {matrix.shape[0]} x {matrix.shape[1]}")
        import scipy.sparse

        m = scipy.sparse.csr_matrix(matrix, copy=True)
        m.sum_duplicates()  # also sorts the columns of each row
        n, indptr, indices, data = m.shape[0], m.indptr, m.indices, m.data
    elif isinstance(matrix, tuple) and len(matrix) == 3:
        indptr, indices, data = (np.asarray(a) for a in matrix)
        if indptr.ndim != 1 or indices.ndim != 1 or data.ndim != 1:
            raise ValueError(f"{name}: (indptr, indices, data) must be three 1-D arrays")
        n = len(indptr) - 1
    else:
        raise TypeError(f"{name} must be a scipy.sparse matrix or the CSR arrays (indptr, indices, data); "
                        f"got {type(matrix).__name__}")
    for array, what in ((indptr, "indptr"), (indices, "indices")):
        if array.dtype.kind not in "iu":
            raise ValueError(f"{name}: {what} must be integers; got {array.dtype}")
    if len(indices) and (indices.min() < 0 or indices.max() >= 2**32):
        raise ValueError(f"{name}: column indices must be in [0, N); got {indices.min()} .. {indices.max()}")
    if data.dtype.kind not in "biuf":
        raise ValueError(f"{name}: the values must be numbers; got {data.dtype}")
    return int(n), indptr.astype(np.int64), indices.astype(np.uint32), data.astype(np.float32)


def neighbor_graph_of(graph, name="neighbor_graph"):
    """A neighbour graph as the engine takes it: (indices, distances), two N x k arrays (row i: point
    i's neighbours and their distances, not squared; a first column of the points themselves, as
    sklearn's kneighbors(X) returns, is dropped), or a sparse N x N matrix of distances with k entries
    per row (sklearn's kneighbors_graph(mode="distance"))."""
    if is_sparse(graph):
        return ("sparse", *csr_of(graph, name))
    if not isinstance(graph, (tuple, list)) or len(graph) != 2:
        raise TypeError(f"{name} must be (indices, distances), two N x k arrays, or a scipy.sparse "
                        f"N x N matrix of distances; got {type(graph).__name__}")
    indices, distances = np.asarray(graph[0]), np.asarray(graph[1])
    if indices.ndim != 2:
        raise ValueError(f"{name}: the indices must be an N x k array; got shape {indices.shape}")
    if distances.shape != indices.shape:
        raise ValueError(f"{name}: the distances are {' x '.join(map(str, distances.shape))} but the indices "
                         f"are {indices.shape[0]} x {indices.shape[1]} (one distance per neighbour)")
    for array, what in ((indices, "indices"), (distances, "distances")):
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{name}: the {what} must be numbers; got {array.dtype}")
    return ("lists", indices, distances)
