"""The estimator: results, inputs, determinism, callbacks, the GIL."""

import threading
import time

import numpy as np
import pytest

import treesne
from conftest import blobs

FAST = dict(n_iter=300, perplexity=20)


def test_fit_transform_shape_attributes(data):
    x, _ = data
    # 500 iterations: 250 exaggerated, then 250 free ones, enough for the clusters to settle (after 50
    # free ones the nearest embedded neighbour shared the cluster of 75-85 % of the points, depending on
    # the last bits of the kernels; after 150, of 99.7 %).
    tsne = treesne.TSNE(n_iter=500, perplexity=20)
    y = tsne.fit_transform(x)
    assert y.shape == (300, 2) and y.dtype == np.float64 and np.isfinite(y).all()
    assert tsne.embedding_ is y
    assert tsne.n_iter_ == 500 and tsne.status_ == "completed"
    assert 0 < tsne.kl_divergence_ < 5
    assert tsne.learning_rate_ == 200  # auto: max(N / 12, 200)
    assert tsne.n_features_in_ == 10
    assert tsne.history_[-1][0] == 500
    # separated clusters stay separated: each point's nearest embedded neighbour shares its cluster
    _, labels = data
    d = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(1)] == labels).mean() >= 0.98


@pytest.mark.parametrize("dims", [1, 3])
def test_other_dimensions(data, dims):
    y = treesne.TSNE(n_components=dims, n_iter=100, perplexity=20).fit_transform(data[0])
    assert y.shape == (300, dims)


def test_same_seed_same_bits_any_threads(data):
    x, _ = data
    a = treesne.TSNE(n_jobs=1, random_state=3, **FAST).fit_transform(x)
    b = treesne.TSNE(n_jobs=2, random_state=3, **FAST).fit_transform(x)
    c = treesne.TSNE(random_state=3, init="random", **FAST).fit_transform(x)
    d = treesne.TSNE(random_state=4, init="random", **FAST).fit_transform(x)
    assert np.array_equal(a, b)
    assert not np.array_equal(c, d)


def test_layouts_and_dtypes_give_the_same_embedding(data):
    x, _ = data
    reference = treesne.TSNE(**FAST).fit_transform(x)
    for variant in (np.asfortranarray(x), x.tolist(), np.ascontiguousarray(x[:, ::-1])[:, ::-1]):
        assert np.array_equal(treesne.TSNE(**FAST).fit_transform(variant), reference)
    x32 = x.astype(np.float32)
    assert np.array_equal(treesne.TSNE(**FAST).fit_transform(x32),
                          treesne.TSNE(**FAST).fit_transform(x32.astype(np.float64)))
    ints = np.rint(x).astype(np.int32)
    assert treesne.TSNE(**FAST).fit_transform(ints).shape == (300, 2)


def test_input_is_not_modified(data):
    x, _ = data
    copy = x.copy()
    treesne.TSNE(n_iter=50, perplexity=20).fit(x)
    assert np.array_equal(x, copy)


def test_options_reach_the_engine(data):
    x, _ = data
    base = treesne.TSNE(**FAST).fit_transform(x)
    for change in (dict(theta=0.8), dict(early_exaggeration=4.0), dict(learning_rate=50.0),
                   dict(late_exaggeration=3.0), dict(max_step_norm=0.5), dict(pca_components=5),
                   dict(theta="auto"), dict(method="exact"), dict(neighbors="hnsw"),
                   dict(momentum=0.3), dict(init="random")):
        tsne = treesne.TSNE(**{**FAST, **change})
        y = tsne.fit_transform(x)
        assert y.shape == (300, 2) and np.isfinite(y).all(), change
        if change != dict(neighbors="hnsw"):  # hnsw finds the exact neighbours on this easy data
            assert not np.array_equal(y, base), change


def test_user_init(data):
    x, _ = data
    y0 = np.random.RandomState(1).normal(size=(300, 2))
    start = treesne.TSNE(init=y0 * 5, n_iter=0, perplexity=20).fit_transform(x)
    for column in range(2):  # only shifted and scaled
        assert np.corrcoef(start[:, column], y0[:, column])[0, 1] == pytest.approx(1.0)
    assert np.std(start[:, 0]) == pytest.approx(1e-4, rel=0.01)
    kept = treesne.TSNE(init=y0, keep_user_scale=True, n_iter=0, perplexity=20).fit_transform(x)
    assert np.array_equal(kept, y0)


def test_early_stop_converges(data):
    tsne = treesne.TSNE(n_iter=3000, perplexity=20, early_stop=0.01).fit(data[0])
    assert tsne.status_ == "converged" and tsne.n_iter_ < 3000


def test_callback_sees_reports_and_can_stop(data):
    x, _ = data
    seen = []

    def callback(iteration, kl, embedding):
        seen.append((iteration, kl, embedding.shape))
        return iteration < 100

    tsne = treesne.TSNE(callback=callback, log_every=25, **FAST).fit(x)
    assert [s[0] for s in seen] == [25, 50, 75, 100]
    assert all(s[2] == (300, 2) for s in seen)
    assert tsne.n_iter_ == 100 and tsne.status_ == "stopped"
    # stopping at 100 gives what a 100-iteration run gives (with the same schedule)
    full = treesne.TSNE(n_iter=300, perplexity=20, callback=lambda i, kl, y: seen.append(y.copy()) or True,
                        log_every=100).fit(x)
    assert full.n_iter_ == 300
    assert np.array_equal(seen[4], tsne.embedding_)


def test_callback_exception_propagates_and_leaves_no_state(data):
    tsne = treesne.TSNE(**FAST)

    def boom(iteration, kl, embedding):
        raise RuntimeError("stop here")

    tsne.set_params(callback=boom)
    with pytest.raises(RuntimeError, match="stop here"):
        tsne.fit(data[0])
    assert not hasattr(tsne, "embedding_")


def test_gil_is_released_during_a_fit():
    x, _ = blobs(n=3000, d=20)
    ticks = []
    done = threading.Event()

    def run():
        treesne.TSNE(n_iter=200, n_jobs=1).fit(x)
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    while not done.is_set():
        ticks.append(time.monotonic())
        time.sleep(0.01)
    worker.join()
    assert len(ticks) > 10  # the main thread kept running Python while the engine worked


def test_transform_places_new_points_near_their_cluster():
    x, labels = blobs(n=400, d=10)
    tsne = treesne.TSNE(**FAST).fit(x[:300])
    y_new = tsne.transform(x[300:])
    assert y_new.shape == (100, 2) and np.isfinite(y_new).all()
    y = tsne.embedding_
    d = ((y_new[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    assert (labels[:300][d.argmin(1)] == labels[300:]).mean() > 0.9
    with pytest.raises(ValueError, match="X has 9 features, but TSNE is expecting 10 features as input"):
        tsne.transform(x[300:, :9])
    assert np.array_equal(tsne.embedding_, y)  # the reference did not move


def test_function_transform_matches_estimator():
    x, _ = blobs(n=400, d=10)
    tsne = treesne.TSNE(**FAST).fit(x[:300])
    a = tsne.transform(x[300:])
    b = treesne.transform(x[:300], tsne.embedding_, x[300:], reference_perplexity=20)
    assert np.array_equal(a, b)


def test_verbose_prints_progress(data, capsys):
    treesne.TSNE(verbose=True, **FAST).fit(data[0])
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("neighbours: 60 per point in ")
    assert any(line.startswith("optimise: 300/300, KL ") for line in err)
    assert err[-1].startswith("optimise: 300 iterations, KL ")
