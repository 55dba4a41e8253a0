"""The staged API and the measurements, against NumPy and against the CLI's files."""

import json
import subprocess

import numpy as np
import pytest

import treesne
from conftest import blobs


def test_nearest_neighbors_are_exact():
    x, _ = blobs(n=200, d=6)
    indices, d2 = treesne.nearest_neighbors(x, 7)
    assert indices.shape == d2.shape == (200, 7) and indices.dtype == np.int64
    full = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(full, np.inf)
    expected = np.sort(full, axis=1)[:, :7]
    assert np.allclose(d2, expected, rtol=1e-12)
    assert np.allclose(np.take_along_axis(full, indices, 1), d2, rtol=1e-12)
    for backend in ("kdtree", "brute"):
        i2, _ = treesne.nearest_neighbors(x, 7, neighbors=backend)
        assert np.array_equal(i2, indices)


def test_nearest_neighbors_by_scipys_jaccard_hamming_and_correlation():
    distance = pytest.importorskip("scipy.spatial.distance")
    rng = np.random.default_rng(3)
    bits = (rng.random((150, 90)) < 0.3).astype(np.float64)  # 0/1 rows: the popcount path
    levels = np.where(rng.random((150, 20)) < 0.5, 0.0, rng.integers(1, 4, (150, 20)))  # the coordinate scan
    gaussian, _ = blobs(n=150, d=6)
    for x, metric in ((bits, "jaccard"), (levels, "jaccard"), (bits, "hamming"), (levels, "hamming"),
                      (gaussian, "correlation")):
        indices, d2 = treesne.nearest_neighbors(x, 5, metric=metric, neighbors="brute")
        full = distance.cdist(x, x, metric)
        np.fill_diagonal(full, np.inf)
        # the distances returned are the metric's, squared; ties may be ordered otherwise
        assert np.allclose(d2, np.sort(full, axis=1)[:, :5] ** 2, rtol=1e-9, atol=1e-15), metric
        assert np.allclose(np.take_along_axis(full, indices, 1) ** 2, d2, rtol=1e-9, atol=1e-15), metric
    constant = gaussian.copy()
    constant[4] = 2.5
    with pytest.raises(ValueError, match="correlation distance is undefined for row 5 \\(constant\\)"):
        treesne.nearest_neighbors(constant, 5, metric="correlation")


def test_affinities_are_a_symmetric_distribution():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    x, _ = blobs(n=300, d=6)
    p = treesne.affinities(x, perplexity=10)
    assert scipy_sparse.issparse(p) and p.shape == (300, 300)
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert abs(p - p.T).max() < 1e-9 and p.diagonal().max() == 0
    indptr, indices, data = treesne.affinities(x, perplexity=10, sparse=False)
    assert np.array_equal(indptr, p.indptr) and np.array_equal(data, p.data)


def test_affinities_equal_the_ones_the_cli_saves(cli, tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    x, _ = blobs(n=300, d=6)
    np.save(tmp_path / "x.npy", x)
    done = subprocess.run([cli, "embed", tmp_path / "x.npy", "-o", tmp_path / "y.npy", "--iterations", "1",
                           "--perplexity", "10", "--save-affinities", tmp_path / "p.mtx"], capture_output=True)
    assert done.returncode == 0, done.stderr
    saved = scipy_io.mmread(str(tmp_path / "p.mtx")).tocsr()
    ours = treesne.affinities(x, perplexity=10)
    assert (saved != 0).nnz == ours.nnz
    assert abs(saved - ours).max() <= 1e-7 * ours.max()


def test_evaluate_keys_and_ranges():
    x, labels = blobs(n=300, d=6)
    y = treesne.TSNE(perplexity=20, n_iter=250).fit_transform(x)
    e = treesne.evaluate(x, y, labels, k=5)
    assert e["points"] == e["input_points"] == 300 and not e["sampled"] and e["k"] == 5
    assert 0 < e["kl_divergence"] < 5 and 0 < e["knn_preservation"] <= 1
    assert 0.5 < e["trustworthiness"] <= 1 and e["knn_accuracy"] > 0.9
    assert "knn_accuracy" not in treesne.evaluate(x, y)


def test_accuracy_report_equals_the_cli(cli, tmp_path):
    x, _ = blobs(n=300, d=6)
    np.save(tmp_path / "x.npy", x)
    report = treesne.accuracy(x, thetas=[0.25, 1.0], monopole=False, n_iter=300, perplexity=20, timing_calls=1)
    assert [g["theta"] for g in report["gradients"]] == [0.25, 1.0] * 3
    assert report["table"] and report["csv"].startswith("kind,")
    done = subprocess.run([cli, "accuracy", tmp_path / "x.npy", "--theta", "0.25,1", "--no-monopole",
                           "--iterations", "300", "--perplexity", "20", "--json", tmp_path / "a.json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    cli_rows = json.loads((tmp_path / "a.json").read_text())["gradient"]
    for ours, theirs in zip(report["gradients"], cli_rows):
        assert ours["grad_err"] == pytest.approx(theirs["grad_rel_error"], rel=1e-8)
        assert ours["Z_err"] == pytest.approx(theirs["z_rel_error"], rel=1e-8, abs=1e-15)
