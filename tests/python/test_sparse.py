"""scipy.sparse input (treesne::embed(ConstCsrView), the sparse neighbour search): the same graph and the
same embedding as the dense copy, every scipy format alike, and clear refusals."""

import numpy as np
import pytest

import treesne

sp = pytest.importorskip("scipy.sparse")

FAST = dict(perplexity=10, n_iter=250, init="random", random_state=3, n_jobs=2)


def _rows(n=300, d=60, density=0.15, seed=0, binary=False):
    """Sparse rows, none empty (cosine refuses an all-zero row)."""
    rng = np.random.default_rng(seed)
    x = sp.random(n, d, density=density, format="csr", random_state=seed,
                  data_rvs=(lambda k: np.ones(k)) if binary else (lambda k: rng.normal(size=k)))
    x = x.tolil()
    for i in range(n):
        x[i, i % d] = 1.0
    return x.tocsr()


def test_fit_equals_dense_fit_exactly():
    x = _rows()
    y_sparse = treesne.TSNE(**FAST).fit_transform(x)
    y_dense = treesne.TSNE(**FAST).fit_transform(x.toarray())
    assert y_sparse.shape == (300, 2)
    assert np.array_equal(y_sparse, y_dense)


@pytest.mark.parametrize("fmt", ["csc", "coo", "lil", "csr_array"])
def test_every_format_gives_the_csr_embedding(fmt):
    x = _rows(n=200)
    reference = treesne.TSNE(**FAST).fit_transform(x)
    other = sp.csr_array(x) if fmt == "csr_array" else x.asformat(fmt)
    tsne = treesne.TSNE(**FAST).fit(other)
    assert np.array_equal(tsne.embedding_, reference)
    assert tsne.n_features_in_ == x.shape[1]


def test_duplicates_summed_and_explicit_zeros_dropped():
    x = _rows(n=150).tocoo()
    half = x.data / 2
    dup = sp.coo_matrix((np.concatenate([half, x.data - half, np.zeros(5)]),
                         (np.concatenate([x.row, x.row, np.arange(5)]),
                          np.concatenate([x.col, x.col, np.full(5, 59)]))), shape=x.shape)
    assert dup.nnz == 2 * x.nnz + 5
    a = treesne.nearest_neighbors(x, 8)
    b = treesne.nearest_neighbors(dup, 8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "jaccard", "hamming"])
def test_nearest_neighbors_equal_dense(metric):
    x = _rows(binary=metric in ("jaccard", "hamming"))
    idx_s, d_s = treesne.nearest_neighbors(x, 15, metric=metric)
    idx_d, d_d = treesne.nearest_neighbors(x.toarray(), 15, metric=metric)
    assert idx_s.shape == (300, 15) and idx_s.dtype == np.int64
    assert np.array_equal(idx_s, idx_d)
    assert np.array_equal(d_s, d_d)


def test_affinities_equal_dense():
    x = _rows()
    p_s = treesne.affinities(x, perplexity=10)
    p_d = treesne.affinities(x.toarray(), perplexity=10)
    for a, b in ((p_s.indptr, p_d.indptr), (p_s.indices, p_d.indices), (p_s.data, p_d.data)):
        assert np.array_equal(a, b)


def test_pca_reduction_allows_any_metric():
    x = _rows()
    idx, _ = treesne.nearest_neighbors(x, 10, metric="manhattan", pca_components=8)
    assert idx.shape == (300, 10)
    y = treesne.TSNE(metric="correlation", pca_components=8, **FAST).fit_transform(x)
    assert y.shape == (300, 2) and np.isfinite(y).all()


def test_clustered_sparse_data_separates():
    rng = np.random.default_rng(7)
    n_per, d, clusters = 100, 300, 3
    blocks, labels = [], []
    for c in range(clusters):
        own = np.zeros(d)
        own[c * 100:(c + 1) * 100] = 0.25  # each cluster's own words
        prob = np.maximum(own, 0.01)  # and a little noise everywhere
        counts = (rng.random((n_per, d)) < prob) * rng.integers(1, 4, size=(n_per, d))
        blocks.append(sp.csr_matrix(counts.astype(np.float64)))
        labels += [c] * n_per
    x = sp.vstack(blocks).tocsr()
    labels = np.array(labels)
    y = treesne.TSNE(perplexity=20, n_iter=400, random_state=1, n_jobs=2, metric="cosine").fit_transform(x)
    idx, _ = treesne.nearest_neighbors(y, 10)
    votes = labels[idx]
    predicted = np.array([np.bincount(v, minlength=clusters).argmax() for v in votes])
    assert (predicted == labels).mean() > 0.9


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, word", [(np.nan, "NaN"), (np.inf, "infinite")])
def test_non_finite_values_are_refused(value, word):
    x = _rows(n=50)
    x.data[7] = value
    row = int(np.searchsorted(x.indptr, 7, side="right"))
    col = int(x.indices[7]) + 1
    for call in (lambda: treesne.TSNE(**FAST).fit(x), lambda: treesne.nearest_neighbors(x, 5),
                 lambda: treesne.affinities(x, perplexity=5)):
        with pytest.raises(ValueError, match=f"row {row}, column {col} is {word}"):
            call()


@pytest.mark.parametrize("metric", ["manhattan", "chebyshev", "correlation"])
def test_metric_without_sparse_search_is_refused(metric):
    x = _rows(n=50)
    expected = r"not available for sparse X.*'euclidean', 'cosine', 'jaccard' and 'hamming'"
    with pytest.raises(ValueError, match=expected):
        treesne.TSNE(metric=metric, **FAST).fit(x)
    with pytest.raises(ValueError, match=expected):
        treesne.nearest_neighbors(x, 5, metric=metric)
    with pytest.raises(ValueError, match=expected):
        treesne.affinities(x, perplexity=5, metric=metric)


def test_dense_only_features_refuse_sparse():
    x = _rows(n=60)
    with pytest.raises(ValueError, match="barnes_hut"):
        treesne.TSNE(method="exact", **FAST).fit(x)
    tsne = treesne.TSNE(**FAST).fit(x)
    with pytest.raises(ValueError, match="fitted to sparse X"):
        tsne.transform(x.toarray()[:5])
    dense = treesne.TSNE(**FAST).fit(x.toarray())
    with pytest.raises(ValueError, match="sparse input is not supported"):
        dense.transform(x[:5])
    with pytest.raises(ValueError, match="sparse input is not supported"):
        treesne.evaluate(x, tsne.embedding_)
    idx, dist = treesne.nearest_neighbors(x.toarray(), 5)
    with pytest.raises(ValueError, match="must be dense"):
        treesne.TSNE(**FAST).fit(x, neighbor_graph=(idx, np.sqrt(dist)))


def test_nndescent_on_sparse_rows_finds_the_exact_neighbours():
    rng = np.random.default_rng(4)
    vocab = rng.integers(0, 3000, (8, 120))
    rows = np.repeat(np.arange(2500), 20)
    cols = vocab[rows % 8, rng.integers(0, 120, rows.size)]
    x = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(2500, 3000))
    for metric in ("cosine", "jaccard"):
        exact_idx, exact_d = treesne.nearest_neighbors(x, 15, metric=metric, neighbors="brute")
        idx, d = treesne.nearest_neighbors(x, 15, metric=metric, neighbors="nndescent")
        again, _ = treesne.nearest_neighbors(x, 15, metric=metric, neighbors="nndescent", n_jobs=1)
        assert np.array_equal(idx, again)  # the same graph for any thread count
        recall = np.mean(d <= exact_d[:, -1:])  # ties at the k-th distance count as found
        assert recall > 0.97, (metric, recall)
