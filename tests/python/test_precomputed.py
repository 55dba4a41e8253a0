"""Issue 13's features in Python: metrics, affinity kinds (sigma, uniform, multiscale), the heavy-tailed
kernel (dof), and precomputed inputs (affinities P, a neighbour graph, a distance matrix), each the same
bits as `treesne embed` with the matching flags, and their errors as ValueError."""

import json
import subprocess
import warnings

import numpy as np
import pytest

import treesne
from conftest import blobs

ITERATIONS = 300  # enough to exercise every phase; the parity is bit for bit at any length


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("precomputed")
    x, labels = blobs(n=300, d=8, seed=11)
    np.save(d / "x.npy", x)
    return d, x, labels


def run_cli(cli, *args):
    done = subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def cli_embedding(cli, d, *args):
    out = d / "cli.npy"
    run_cli(cli, "embed", *args, "-o", out, "--iterations", ITERATIONS)
    return np.load(out)


# --- metric, affinity kinds, dof: the same bits as the CLI --------------------------------------------

@pytest.mark.parametrize(
    "cli_args, params",
    [
        (["--metric", "cosine"], dict(metric="cosine")),
        (["--metric", "manhattan", "--knn", "brute"], dict(metric="l1", neighbors="brute")),
        (["--metric", "chebyshev", "--perplexity", 10], dict(metric="chebyshev", perplexity=10)),
        (["--metric", "correlation"], dict(metric="correlation")),
        (["--perplexity", "10,40"], dict(perplexity=[10, 40])),
        (["--affinity", "sigma", "--sigma", 3, "--k", 20], dict(affinity="sigma", sigma=3.0, n_neighbors=20)),
        (["--affinity", "uniform", "--k", 15], dict(affinity="uniform", n_neighbors=15)),
        (["--affinity", "uniform"], dict(affinity="uniform")),  # k from the default perplexity: 90
        (["--perplexity", 12, "--k", 50], dict(perplexity=12, n_neighbors=50)),
        (["--dof", 0.6], dict(dof=0.6)),
    ],
)
def test_options_give_the_same_bits_as_the_cli(cli, files, cli_args, params):
    d, x, _ = files
    expected = cli_embedding(cli, d, d / "x.npy", *cli_args)
    assert np.array_equal(treesne.TSNE(n_iter=ITERATIONS, **params).fit_transform(x), expected)


def test_affinities_function_takes_the_kinds():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    x, _ = blobs(n=200, d=6)
    for kw in (dict(perplexity=(5, 20)), dict(affinity="sigma", sigma=2.0), dict(affinity="uniform", n_neighbors=7),
               dict(metric="cosine"), dict(metric="chebyshev", perplexity=8)):
        p = treesne.affinities(x, **kw)
        assert scipy_sparse.issparse(p) and p.sum() == pytest.approx(1.0, abs=1e-6)
        assert abs(p - p.T).max() < 1e-9 and p.diagonal().max() == 0, kw
    # uniform over k neighbours: p_{j|i} = 1/k, so P_ij is 1/(kN) or, where both list each other, 2/(2kN)...
    p = treesne.affinities(x, affinity="uniform", n_neighbors=7)
    assert np.diff(p.indptr).min() >= 7
    assert np.allclose(np.unique(np.round(p.data * 2 * 7 * 200, 4)), [1, 2])
    # the P of the chosen kind is the P that TSNE optimises: fit(affinities=P) repeats fit(X) bit for bit
    p = treesne.affinities(x, affinity="sigma", sigma=2.0, n_neighbors=20)
    direct = treesne.TSNE(affinity="sigma", sigma=2.0, n_neighbors=20, n_iter=100).fit_transform(x)
    assert np.array_equal(treesne.TSNE(n_iter=100).fit_transform(x, affinities=p), direct)


def test_nearest_neighbors_metrics_and_precomputed():
    x, _ = blobs(n=150, d=5)
    idx, d2 = treesne.nearest_neighbors(x, 6, metric="manhattan")
    full = np.abs(x[:, None, :] - x[None, :, :]).sum(-1)
    assert np.allclose(np.take_along_axis(full, idx, 1) ** 2, d2, rtol=1e-12)
    np.fill_diagonal(full, np.inf)
    assert np.allclose(np.sort(full, axis=1)[:, :6] ** 2, d2, rtol=1e-12)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = 1 - unit @ unit.T
    idx, d2 = treesne.nearest_neighbors(x, 6, metric="cosine")
    assert np.allclose(np.take_along_axis(cos, idx, 1) ** 2, d2, rtol=1e-6, atol=1e-12)
    euclid = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    i_pre, d_pre = treesne.nearest_neighbors(euclid, 6, metric="precomputed")
    i_x, d_x = treesne.nearest_neighbors(x, 6)
    assert np.array_equal(i_pre, i_x) and np.allclose(d_pre, d_x, rtol=1e-12)


# --- dof in evaluate and accuracy ---------------------------------------------------------------------

def test_evaluate_dof_is_the_clis(cli, files):
    d, x, _ = files
    y = treesne.TSNE(n_iter=200, dof=0.5).fit_transform(x)
    np.save(d / "y_dof.npy", y)
    done = run_cli(cli, "evaluate", d / "x.npy", d / "y_dof.npy", "--json", "--dof", 0.5)
    expected = json.loads(done.stdout)
    got = treesne.evaluate(x, y, dof=0.5)
    assert got["kl_divergence"] == pytest.approx(expected["kl_divergence"], rel=1e-9, abs=0)
    assert got["kl_divergence"] != treesne.evaluate(x, y)["kl_divergence"]
    with pytest.raises(ValueError, match=r"^dof \(degrees of freedom\) must be in \(0, 1e6\]; got 0$"):
        treesne.evaluate(x, y, dof=0)


def test_evaluate_metric_is_the_clis(cli, files):
    d, x, _ = files
    y = treesne.TSNE(n_iter=200, metric="manhattan").fit_transform(x)
    np.save(d / "y_l1.npy", y)
    for metric in ("cosine", "manhattan"):
        done = run_cli(cli, "evaluate", d / "x.npy", d / "y_l1.npy", "--json", "--metric", metric)
        expected = json.loads(done.stdout)
        got = treesne.evaluate(x, y, metric=metric)
        assert set(got) == set(expected)
        assert got["metric"] == expected["metric"] == metric
        for key in ("kl_divergence", "knn_preservation", "trustworthiness"):
            assert got[key] == pytest.approx(expected[key], rel=1e-9, abs=0), key
    with pytest.raises(ValueError, match="metric 'precomputed' is not supported"):
        treesne.evaluate(x, y, metric="precomputed")


def test_accuracy_dof(files):
    _, x, _ = files
    plain = treesne.accuracy(x, thetas=[0.5], monopole=False, n_iter=100, perplexity=10, timing_calls=1)
    heavy = treesne.accuracy(x, thetas=[0.5], monopole=False, n_iter=100, perplexity=10, timing_calls=1, dof=0.5)
    assert plain["dof"] == 1 and heavy["dof"] == 0.5
    assert heavy["gradients"][0]["grad_err"] != plain["gradients"][0]["grad_err"]
    assert '"dof": 0.5' in heavy["json"]


# --- precomputed inputs: the same bits as the CLI -----------------------------------------------------

@pytest.fixture(scope="module")
def saved_p(cli, files):
    scipy_io = pytest.importorskip("scipy.io")
    d, _, _ = files
    run_cli(cli, "embed", d / "x.npy", "-o", d / "ignored.npy", "--iterations", 1, "--perplexity", 10,
            "--save-affinities", d / "p.mtx")
    return d / "p.mtx", scipy_io.mmread(str(d / "p.mtx")).tocsr()


def test_affinities_give_the_same_bits_as_the_cli(cli, files, saved_p):
    d, x, _ = files
    path, p = saved_p
    # without X the initialisation is random (the default pca has nothing to work on), as the CLI's
    expected = cli_embedding(cli, d, "--affinities", path)
    assert np.array_equal(treesne.TSNE(n_iter=ITERATIONS).fit_transform(affinities=p), expected)
    # the CSR arrays work as well as the scipy matrix
    arrays = (p.indptr, p.indices, p.data)
    assert np.array_equal(treesne.TSNE(n_iter=ITERATIONS).fit_transform(affinities=arrays), expected)
    # with X: PCA initialisation, and the run that saved P repeated bit for bit
    expected = cli_embedding(cli, d, d / "x.npy", "--affinities", path)
    got = treesne.TSNE(n_iter=ITERATIONS).fit(x, affinities=p).embedding_
    assert np.array_equal(got, expected)
    assert np.array_equal(got, treesne.TSNE(n_iter=ITERATIONS, perplexity=10).fit_transform(x))


def test_affinity_repairs_are_warnings(cli, files, saved_p):
    d, _, _ = files
    path, p = saved_p
    scipy_io = pytest.importorskip("scipy.io")
    scaled = (p * 4).tocsr()
    scipy_io.mmwrite(str(d / "p4.mtx"), scaled, symmetry="general")  # the CLI reads general only
    expected = cli_embedding(cli, d, "--affinities", d / "p4.mtx")
    done = run_cli(cli, "embed", "--affinities", d / "p4.mtx", "-o", d / "ignored.npy", "--iterations", 1)
    cli_notes = [line.split(": ", 2)[2] for line in done.stderr.splitlines() if line.startswith("note: ")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = treesne.TSNE(n_iter=ITERATIONS).fit_transform(affinities=scaled)
    assert np.array_equal(y, expected)
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert cli_notes and notes == ["affinities: " + note for note in cli_notes]


def test_neighbor_lists_give_the_same_bits_as_the_cli(cli, files):
    d, x, _ = files
    idx, d2 = treesne.nearest_neighbors(x, 40)
    # scikit-learn's kneighbors(X) style: the points themselves in the first column, dropped by both
    idx = np.hstack([np.arange(len(x))[:, None], idx])
    dist = np.hstack([np.zeros((len(x), 1)), np.sqrt(d2)])
    np.save(d / "idx.npy", idx)
    np.save(d / "dist.npy", dist)
    graph = ["--neighbors", d / "idx.npy", "--neighbor-distances", d / "dist.npy", "--perplexity", 10]
    expected = cli_embedding(cli, d, *graph)
    assert np.array_equal(treesne.TSNE(n_iter=ITERATIONS, perplexity=10).fit_transform(neighbor_graph=(idx, dist)),
                          expected)
    expected = cli_embedding(cli, d, d / "x.npy", *graph)
    got = treesne.TSNE(n_iter=ITERATIONS, perplexity=10).fit_transform(x, neighbor_graph=(idx, dist))
    assert np.array_equal(got, expected)
    # the graph that embed() would search: the same embedding as from X alone
    assert np.array_equal(got, treesne.TSNE(n_iter=ITERATIONS, perplexity=10, n_neighbors=40).fit_transform(x))


def test_distances_give_the_same_bits_as_the_cli(cli, files):
    d, x, _ = files
    dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    np.save(d / "dist_full.npy", dist)
    expected = cli_embedding(cli, d, d / "dist_full.npy", "--input-kind", "distances", "--perplexity", 15)
    tsne = treesne.TSNE(metric="precomputed", perplexity=15, n_iter=ITERATIONS)
    assert np.array_equal(tsne.fit_transform(dist), expected)
    assert tsne.n_features_in_ == len(x)
    with pytest.raises(ValueError, match="transform needs the coordinates"):
        tsne.transform(x[:3])


def test_sparse_distance_graph_is_the_clis_mtx(cli, files):
    scipy_io = pytest.importorskip("scipy.io")
    scipy_sparse = pytest.importorskip("scipy.sparse")
    d, x, _ = files
    idx, d2 = treesne.nearest_neighbors(x, 35)
    n, k = idx.shape
    graph = scipy_sparse.csr_matrix((np.sqrt(d2).ravel(), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))
    scipy_io.mmwrite(str(d / "g.mtx"), graph, symmetry="general")
    expected = cli_embedding(cli, d, "--neighbors", d / "g.mtx", "--perplexity", 10)
    graph = scipy_io.mmread(str(d / "g.mtx"))  # the values as the file holds them, as the CLI reads them
    y = treesne.TSNE(metric="precomputed", perplexity=10, n_iter=ITERATIONS).fit_transform(graph)
    assert np.array_equal(y, expected)
    y = treesne.TSNE(perplexity=10, n_iter=ITERATIONS).fit_transform(neighbor_graph=graph)
    assert np.array_equal(y, expected)


# --- errors -------------------------------------------------------------------------------------------

def one_line(call, pattern, kind=ValueError):
    with pytest.raises(kind, match=pattern) as error:
        call()
    assert "\n" not in str(error.value)


def test_precomputed_errors(files):
    _, x, _ = files
    idx, d2 = treesne.nearest_neighbors(x[:50], 5)
    graph = (idx, np.sqrt(d2))
    p = treesne.affinities(x[:50], perplexity=5)
    tsne = treesne.TSNE(perplexity=2, n_iter=10)
    one_line(lambda: tsne.fit(affinities=p, neighbor_graph=graph), "exclude each other")
    one_line(lambda: treesne.TSNE(metric="precomputed").fit(x, affinities=p), "exclude each other")
    one_line(lambda: treesne.TSNE(metric="cosine").fit(affinities=p), "^metric has no effect with affinities")
    one_line(lambda: treesne.TSNE(neighbors="brute").fit(neighbor_graph=graph), "^neighbors has no effect")
    one_line(lambda: treesne.TSNE(n_neighbors=5).fit(affinities=p), "^n_neighbors has no effect with affinities")
    one_line(lambda: treesne.TSNE(method="exact").fit(affinities=p), "needs method='barnes_hut'")
    one_line(lambda: treesne.TSNE(pca_components=2).fit(affinities=p), "^pca_components needs coordinates")
    one_line(lambda: treesne.TSNE().fit(), "^fit needs X")
    # the library's own checks, with its messages
    one_line(lambda: treesne.TSNE(perplexity=10).fit(neighbor_graph=graph),
             r"^perplexity 10 needs more than k = 5 neighbours")
    one_line(lambda: tsne.fit(x[:40], affinities=p), "describe 50 points but the coordinates have 40 rows")
    bad = idx.copy()
    bad[3, 2] = 3
    one_line(lambda: tsne.fit(neighbor_graph=(bad, graph[1])), "row 4, column 3")
    one_line(lambda: tsne.fit(neighbor_graph=(idx, graph[1][:, :4])), "one distance per neighbour")
    negative = p.copy()
    negative.data[0] = -1
    one_line(lambda: tsne.fit(affinities=negative), "^affinities: row 1")
    one_line(lambda: tsne.fit(affinities=(p.indptr, p.indices - 1, p.data)), "column indices must be in")
    one_line(lambda: tsne.fit(affinities=x), "scipy.sparse matrix or the CSR arrays", TypeError)
    asym = np.sqrt(((x[:20, None] - x[None, :20]) ** 2).sum(-1))
    asym[0, 1] += 1
    one_line(lambda: treesne.TSNE(metric="precomputed", perplexity=2).fit(asym), "not symmetric")


def test_option_errors(files):
    _, x, _ = files
    one_line(lambda: treesne.TSNE(metric="braycurtis").fit(x), "^metric must be 'euclidean'")
    one_line(lambda: treesne.TSNE(metric="jaccard", neighbors="hnsw").fit(x), "jaccard")
    one_line(lambda: treesne.TSNE(metric="chebyshev", neighbors="kdtree").fit(x), "chebyshev")
    one_line(lambda: treesne.TSNE(affinity="gauss").fit(x), "^affinity must be")
    one_line(lambda: treesne.TSNE(affinity="sigma").fit(x), "needs sigma")
    one_line(lambda: treesne.TSNE(sigma=2.0).fit(x), "^sigma belongs to affinity='sigma'")
    one_line(lambda: treesne.TSNE(affinity="sigma", sigma=-1).fit(x), "^sigma must be > 0; got -1$")
    one_line(lambda: treesne.TSNE(affinity="uniform", perplexity=[5, 10]).fit(x), "several perplexities")
    one_line(lambda: treesne.TSNE(perplexity=[10, 0.5]).fit(x), "every perplexity of a multiscale")
    one_line(lambda: treesne.TSNE(perplexity=20, n_neighbors=20).fit(x), "needs more than k = 20")
    one_line(lambda: treesne.TSNE(dof=0).fit(x), r"^dof \(degrees of freedom\) must be in")
    one_line(lambda: treesne.TSNE(metric="cosine", n_iter=10).fit(x).transform(x[:2]), "Euclidean neighbours")


def test_sklearn_params_round_trip():
    tsne = treesne.TSNE(metric="cosine", perplexity=[10, 30], affinity="perplexity", n_neighbors=95)
    params = tsne.get_params()
    assert params["metric"] == "cosine" and params["perplexity"] == [10, 30] and params["n_neighbors"] == 95
    assert params["sigma"] is None and params["affinity"] == "perplexity"
    assert "metric='cosine'" in repr(tsne)


def _mask_times(lines):
    import re

    return [re.sub(r"(\d+\.\d+ s|\d+ min \d+ s|\d+ h \d+ min)", "T", line) for line in lines]


@pytest.mark.parametrize(
    "cli_args, params",
    [
        (["--perplexity", "10,40"], dict(perplexity=[10, 40])),
        (["--affinity", "sigma", "--sigma", 2.5, "--k", 20], dict(affinity="sigma", sigma=2.5, n_neighbors=20)),
        (["--affinity", "uniform", "--metric", "cosine"], dict(affinity="uniform", metric="cosine")),
        ("P", {}),
        ("D", dict(metric="precomputed", perplexity=15)),
    ],
)
def test_same_progress_lines_as_the_cli(cli, files, saved_p, capfd, cli_args, params):
    d, x, _ = files
    fit = {"X": x}
    if cli_args == "P":
        cli_args, fit = ["--affinities", saved_p[0]], {"affinities": saved_p[1]}
    elif cli_args == "D":
        dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
        np.save(d / "dist_progress.npy", dist)
        cli_args, fit = [d / "dist_progress.npy", "--input-kind", "distances", "--perplexity", 15], {"X": dist}
    else:
        cli_args = [d / "x.npy", *cli_args]
    done = subprocess.run([cli, "embed", *map(str, cli_args), "-o", str(d / "p.npy"), "--iterations", "100"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    cli_lines = [line for line in done.stderr.splitlines() if not line.startswith(("read:", "write:"))]
    treesne.TSNE(verbose=True, n_iter=100, **params).fit(**fit)
    assert _mask_times(capfd.readouterr().err.splitlines()) == _mask_times(cli_lines)
