"""Bad input and bad options: ValueError with one line, never a crash."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import treesne
from conftest import blobs


def one_line_value_error(fn, match=None):
    with pytest.raises(ValueError) as error:
        fn()
    message = str(error.value)
    assert "\n" not in message and message
    if match:
        assert match in message, message
    return message


def test_non_finite_input_names_the_entry():
    x, _ = blobs(n=60, d=4)
    x[1, 2] = np.nan
    message = "X: row 2, column 3 is NaN (NaN and Inf are not allowed)"
    assert one_line_value_error(lambda: treesne.TSNE().fit(x)) == message
    x[1, 2] = -np.inf
    one_line_value_error(lambda: treesne.TSNE().fit(x.astype(np.float32)), "row 2, column 3 is infinite")
    one_line_value_error(lambda: treesne.TSNE().fit(np.asfortranarray(x)), "row 2, column 3 is infinite")


@pytest.mark.parametrize("bad", [np.zeros(10), np.zeros((2, 3, 4)), [[1, 2], [3]], np.array([["a", "b"]]),
                                 np.zeros((5, 2), dtype=complex)])
def test_wrong_shapes_and_types(bad):
    one_line_value_error(lambda: treesne.TSNE().fit(bad))


def test_sparse_input_is_refused_where_dense_rows_are_needed():
    scipy_sparse = pytest.importorskip("scipy.sparse")  # TSNE.fit takes it (test_sparse.py); these do not
    x = scipy_sparse.random(50, 5, format="csr")
    with pytest.raises(ValueError, match="sparse"):
        treesne.TSNE(method="exact").fit(x)
    with pytest.raises(ValueError, match="sparse"):
        treesne.evaluate(x, np.zeros((50, 2)))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(perplexity=150), "perplexity 150"),
        (dict(n_components=4), "dims"),
        (dict(theta=-1.0), "theta"),
        (dict(n_iter=-5), "iterations"),
        (dict(learning_rate="fast"), "learning_rate"),
        (dict(learning_rate=-1.0), "learning"),
        (dict(init="spectral"), "init"),
        (dict(init=np.zeros((3, 2))), "init"),
        (dict(method="fft"), "method"),
        (dict(neighbors="annoy"), "neighbors"),
        (dict(n_components=2.5), "n_components"),
        (dict(random_state=-1), "random_state"),
        (dict(momentum=1.5), "momentum"),
        (dict(dof=0.0), "dof"),
        (dict(early_exaggeration=0.0), "exaggeration"),
        (dict(pca_components=-2), "pca_components"),
    ],
)
def test_bad_options_are_value_errors(params, match):
    x, _ = blobs(n=100, d=5)
    one_line_value_error(lambda: treesne.TSNE(**params).fit(x), match)


def test_too_few_points_and_columns():
    one_line_value_error(lambda: treesne.TSNE().fit(np.zeros((0, 3))))
    one_line_value_error(lambda: treesne.TSNE().fit(np.zeros((1, 3))))
    one_line_value_error(lambda: treesne.TSNE(perplexity=2).fit(np.zeros((10, 0))))


def test_function_errors():
    x, _ = blobs(n=100, d=5)
    one_line_value_error(lambda: treesne.evaluate(x, np.zeros((99, 2))), "rows")
    one_line_value_error(lambda: treesne.evaluate(x, np.zeros((100, 2)), labels=[1, 2]), "labels")
    one_line_value_error(lambda: treesne.nearest_neighbors(x, 100))
    one_line_value_error(lambda: treesne.affinities(x, perplexity=200))
    one_line_value_error(lambda: treesne.transform(x, np.zeros((100, 2)), x[:, :3]))


def test_nothing_crashes_the_interpreter():
    """Every bad call in a fresh interpreter: it must end normally, having raised each error."""
    script = textwrap.dedent(
        """
        import numpy as np, treesne
        bad_inputs = [np.zeros((0, 0)), np.zeros((0, 5)), np.zeros((5, 0)), np.zeros((1, 1)), np.zeros((3, 2)),
                      np.full((40, 3), np.nan), np.full((40, 3), 1e308), np.zeros((40, 3)), np.zeros(7),
                      np.zeros((40, 3), dtype=np.float16), np.zeros((40, 3), dtype=object), "text", None, 3.0]
        options = [{}, dict(perplexity=5), dict(perplexity=5, method="exact"), dict(perplexity=5, n_components=3),
                   dict(perplexity=5, theta=0.0), dict(perplexity=5, neighbors="hnsw"),
                   dict(perplexity=5, neighbors="nndescent"), dict(perplexity=1, n_iter=0),
                   dict(perplexity=5, pca_components=100), dict(perplexity=5, learning_rate=1e300),
                   dict(perplexity=5, early_exaggeration=1e300)]
        outcomes = 0
        for x in bad_inputs:
            for o in options:
                try:
                    treesne.TSNE(n_iter=o.pop("n_iter", 30), **o).fit(x)
                except (ValueError, TypeError, ArithmeticError):
                    pass
                outcomes += 1
        for fn in (lambda: treesne.evaluate(np.zeros((3, 2)), np.zeros((3, 2))),
                   lambda: treesne.nearest_neighbors(np.zeros((3, 2)), 0),
                   lambda: treesne.affinities(np.zeros((0, 2))),
                   lambda: treesne.transform(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((0, 2))),
                   lambda: treesne.accuracy(np.zeros((3, 2)), thetas=[])):
            try:
                fn()
            except (ValueError, TypeError, ArithmeticError):
                pass
            outcomes += 1
        print("survived", outcomes)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=_env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert "survived" in done.stdout


def _env():
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(__import__("pathlib").Path(treesne.__file__).resolve().parent.parent) + (
        ":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
