"""Finds the module and the CLI to test. TREESNE_PYTHONPATH (the build tree's python/ directory, as
tools/run_tests.sh sets it) comes first; without it an installed treesne (pip install .) is used, then
build-py/python or build-tests/python of the source tree. TREESNE_CLI names the `treesne` program for
the parity tests (default: tools/treesne next to that python/ directory); they are skipped without it."""

import os
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _candidates():
    if os.environ.get("TREESNE_PYTHONPATH"):
        yield pathlib.Path(os.environ["TREESNE_PYTHONPATH"])
    for build in ("build-py", "build-tests", "build"):
        yield ROOT / build / "python"


if os.environ.get("TREESNE_PYTHONPATH"):
    sys.path.insert(0, os.environ["TREESNE_PYTHONPATH"])
else:
    try:
        import treesne  # noqa: F401  an installed module (pip install .)
    except ImportError:
        for _path in _candidates():
            if (_path / "treesne" / "__init__.py").exists():
                sys.path.insert(0, str(_path))
                break

import treesne  # noqa: E402


def cli_path():
    if os.environ.get("TREESNE_CLI"):
        return os.environ["TREESNE_CLI"]
    here = pathlib.Path(treesne.__file__).resolve().parent.parent  # <build>/python when run from a build
    candidate = here.parent / "tools" / "treesne"
    return str(candidate) if candidate.exists() else None


@pytest.fixture(scope="session")
def cli():
    path = cli_path()
    if path is None:
        pytest.skip("the treesne program is not built next to this module (set TREESNE_CLI)")
    return path


def blobs(n=300, d=10, centers=4, seed=0, dtype=np.float64):
    """Seeded Gaussian clusters, well separated."""
    rng = np.random.RandomState(seed)
    means = rng.normal(scale=8.0, size=(centers, d))
    labels = rng.randint(centers, size=n)
    x = means[labels] + rng.normal(size=(n, d))
    return x.astype(dtype), labels


@pytest.fixture(scope="session")
def data():
    return blobs()
