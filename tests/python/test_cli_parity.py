"""The module and `treesne` the program give the same embedding bit for bit, the same evaluation, the
same progress lines and the same error messages."""

import json
import re
import subprocess

import numpy as np
import pytest

import treesne
from conftest import blobs


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("parity")
    x, labels = blobs(n=500, d=12, seed=5)
    np.save(d / "x.npy", x)
    (d / "labels.txt").write_text("\n".join(str(v) for v in labels) + "\n")
    return d, x, labels


def run_cli(cli, *args):
    return subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "cli_args, params",
    [
        ([], {}),
        (["--seed", 7, "--perplexity", 12.5, "--iterations", 400, "--init", "random", "--dims", 3],
         dict(random_state=7, perplexity=12.5, n_iter=400, init="random", n_components=3)),
        (["--theta", 0.3, "--exaggeration", 6, "--late-exaggeration", 2, "--learning-rate", 150, "--threads", 1],
         dict(theta=0.3, early_exaggeration=6.0, late_exaggeration=2.0, learning_rate=150.0, n_jobs=1)),
    ],
)
def test_same_bits_as_the_cli(cli, files, cli_args, params):
    d, x, _ = files
    out = d / "cli.npy"
    done = run_cli(cli, "embed", d / "x.npy", "-o", out, *cli_args)
    assert done.returncode == 0, done.stderr
    cli_y = np.load(out)
    y = treesne.TSNE(**params).fit_transform(x)
    assert y.shape == cli_y.shape
    assert np.array_equal(y, cli_y)
    # float32 input: the CLI reads a float32 .npy as the module reads a float32 array
    np.save(d / "x32.npy", x.astype(np.float32))
    done = run_cli(cli, "embed", d / "x32.npy", "-o", out, *cli_args)
    assert np.array_equal(treesne.TSNE(**params).fit_transform(x.astype(np.float32)), np.load(out))


def test_same_evaluation_as_the_cli(cli, files):
    d, x, labels = files
    y = treesne.TSNE(n_iter=300).fit_transform(x)
    np.save(d / "y.npy", y)
    done = run_cli(cli, "evaluate", d / "x.npy", d / "y.npy", "--labels", d / "labels.txt", "--json")
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    got = treesne.evaluate(x, y, labels)
    assert set(got) == set(expected)
    for key, value in expected.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-9, abs=0), key  # the CLI prints 10 digits
        else:
            assert got[key] == value, key
    # string labels are coded like a labels file of names: by first appearance (a tied vote goes to the
    # smallest code, so compare with numeric labels of that coding, not with the sorted one)
    names = np.array(["class-%d" % v for v in labels])
    first_seen = {}
    codes = np.array([first_seen.setdefault(v, len(first_seen)) for v in labels.tolist()])
    assert treesne.evaluate(x, y, names)["knn_accuracy"] == treesne.evaluate(x, y, codes)["knn_accuracy"]
    sampled = treesne.evaluate(x, y, sample=200, random_state=3, k=5, perplexity=10)
    done = run_cli(cli, "evaluate", d / "x.npy", d / "y.npy", "--json", "--sample", 200, "--seed", 3, "--k", 5,
                   "--perplexity", 10)
    for key, value in json.loads(done.stdout).items():
        assert sampled[key] == (pytest.approx(value, rel=1e-9) if isinstance(value, float) else value), key


def test_same_evaluation_as_the_cli_with_pca_and_few_trust_queries(cli, files):
    # both call treesne::evaluate: the numbers agree to the CLI's 10 printed digits, whatever the options
    d, x, labels = files
    y = x[:, :2] + np.sin(x[:, 2:4])
    np.save(d / "y_pca.npy", y)
    done = run_cli(cli, "evaluate", d / "x.npy", d / "y_pca.npy", "--labels", d / "labels.txt", "--json",
                   "--pca", 4, "--trust-queries", 60, "--metric", "manhattan", "--dof", 0.7)
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    got = treesne.evaluate(x, y, labels, pca_components=4, trust_queries=60, metric="manhattan", dof=0.7)
    assert got["trustworthiness_queries"] == 60
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == (pytest.approx(value, rel=1e-9, abs=0) if isinstance(value, float) else value), key


def test_evaluation_refusals_are_the_clis(cli, files):
    # the library's one check, spelt with the module's argument names (k, sample) and the CLI's (--k)
    d, x, _ = files
    y = x[:, :2]
    np.save(d / "y_k.npy", y)
    done = run_cli(cli, "evaluate", d / "x.npy", d / "y_k.npy", "--k", 250)
    assert done.returncode == 1
    with pytest.raises(ValueError) as error:
        treesne.evaluate(x, y, k=250)
    assert done.stderr.splitlines()[-1] == "treesne: error: --" + str(error.value)
    assert str(error.value) == "k 250 needs more than 500 points (trustworthiness needs k < N/2); got 500"

def _mask_times(lines):
    times = r"(\d+\.\d+ s|\d+ min \d+ s|\d+ h \d+ min)"
    return [re.sub(times, "T", line) for line in lines]


def test_same_progress_lines_as_the_cli(cli, files, capfd):
    d, x, _ = files
    done = run_cli(cli, "embed", d / "x.npy", "-o", d / "p.npy", "--early-stop", 0.5,
                   "--iterations", 1000)
    assert done.returncode == 0
    cli_lines = [line for line in done.stderr.splitlines() if not line.startswith(("read:", "write:"))]
    treesne.TSNE(verbose=True, early_stop=0.5).fit(x)
    py_lines = capfd.readouterr().err.splitlines()
    assert _mask_times(py_lines) == _mask_times(cli_lines)
    assert any("converged" in line for line in py_lines)


def test_same_error_messages_as_the_cli(cli, files):
    d, x, _ = files
    bad = x.copy()
    bad[3, 4] = np.nan
    np.save(d / "bad.npy", bad)
    done = run_cli(cli, "embed", d / "bad.npy", "-o", d / "never.npy")
    assert done.returncode == 1
    with pytest.raises(ValueError) as error:
        treesne.TSNE().fit(bad)
    # the CLI names the file where the module names the argument
    assert done.stderr.strip() == "treesne: error: " + str(error.value).replace("X:", str(d / "bad.npy") + ":", 1)
    done = run_cli(cli, "embed", d / "x.npy", "-o", d / "never.npy", "--perplexity", 600)
    with pytest.raises(ValueError) as error:
        treesne.TSNE(perplexity=600).fit(x)
    assert done.stderr.strip().endswith("error: " + str(error.value))
