"""scikit-learn's conventions: parameters, clone, Pipeline, and its estimator checks: every check that
scikit-learn's own sklearn.manifold.TSNE passes must pass for treesne.TSNE too."""

import warnings

import numpy as np
import pytest

import treesne
from conftest import blobs

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402


def test_params_and_clone():
    tsne = treesne.TSNE(perplexity=12.0, theta="auto", n_iter=50)
    params = tsne.get_params()
    assert params["perplexity"] == 12.0 and params["theta"] == "auto" and params["n_iter"] == 50
    assert params["dof"] == 1.0 and params["random_state"] == 42 and params["n_jobs"] == 0
    twin = clone(tsne)
    assert twin is not tsne and twin.get_params() == params
    assert tsne.set_params(perplexity=5.0) is tsne and tsne.perplexity == 5.0
    with pytest.raises(ValueError):
        tsne.set_params(angle=0.5)
    assert "perplexity=5.0" in repr(tsne)


def test_pipeline():
    x, _ = blobs(n=200, d=8)
    pipe = make_pipeline(StandardScaler(), treesne.TSNE(perplexity=10, n_iter=200))
    y = pipe.fit_transform(x)
    assert y.shape == (200, 2)
    direct = treesne.TSNE(perplexity=10, n_iter=200).fit_transform(StandardScaler().fit_transform(x))
    assert np.array_equal(y, direct)
    pipe.set_params(tsne__n_components=3)
    assert pipe.fit_transform(x).shape == (200, 3)


def _outcomes(estimator):
    """{check name: passed} over scikit-learn's checks for this estimator."""
    outcomes = {}
    for est, check in check_estimator(estimator, generate_only=True):
        name = getattr(check, "func", check).__name__
        key = name
        suffix = 1
        while key in outcomes:  # a check may run several times with other arguments
            suffix += 1
            key = f"{name}#{suffix}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                check(est)
                outcomes[key] = True
            except Exception as e:  # SkipTest counts as not passed, for both estimators alike
                outcomes[key] = type(e).__name__ == "SkipTest" and None
    return outcomes


def test_sklearn_estimator_checks_at_least_as_many_as_sklearn_tsne():
    from sklearn.manifold import TSNE as SklearnTSNE

    # n_iter=250 is scikit-learn's smallest; both run the same checks on the same small data
    theirs = _outcomes(SklearnTSNE(n_iter=250))
    ours = _outcomes(treesne.TSNE(n_iter=250))
    passed_by_them = {name for name, ok in theirs.items() if ok}
    failed_by_us = {name for name in passed_by_them if not ours.get(name)}
    assert passed_by_them, "scikit-learn's TSNE passed no check: the comparison would be empty"
    assert not failed_by_us, sorted(failed_by_us)
    print(f"scikit-learn TSNE passes {len(passed_by_them)} of {len(theirs)} checks; "
          f"treesne.TSNE passes {sum(1 for ok in ours.values() if ok)} of {len(ours)}")
