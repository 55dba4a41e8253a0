#!/usr/bin/python3
"""scikit-learn's Barnes-Hut t-SNE under the peers.sh protocol.

run_sklearn.py INPUT.npy OUTPUT.npy --threads T [--seed S]

Protocol: perplexity 30, 2-D, 1000 iterations, early exaggeration 12 for 250 (fixed in sklearn),
method barnes_hut, angle 0.5, PCA init (sklearn rescales it to sd 1e-4), n_jobs = T.
learning_rate = max(N / 12, 200): sklearn's gradient includes the factor 4 of dC/dy (it multiplies by
2 (dof + 1) / dof = 4), like treesne's, so the same number gives the same step. (sklearn's own 'auto',
max(N / 12 / 4, 50), is the Belkina et al. rule written for gradients without that factor.)
The early stops (n_iter_without_progress, min_grad_norm) are disabled so every tool runs 1000 iterations.
"""
import argparse
import inspect
import sys
import time

import numpy as np
import sklearn
from sklearn.manifold import TSNE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--iterations", type=int, default=1000)
    a = ap.parse_args()

    x = np.load(a.input)
    n = x.shape[0]
    params = dict(
        n_components=2,
        perplexity=30.0,
        early_exaggeration=12.0,
        learning_rate=max(n / 12.0, 200.0),
        n_iter_without_progress=a.iterations,
        min_grad_norm=0.0,
        init="pca",
        method="barnes_hut",
        angle=0.5,
        n_jobs=a.threads,
        random_state=a.seed,
        verbose=0,
    )
    # n_iter was renamed max_iter in scikit-learn 1.5.
    names = inspect.signature(TSNE.__init__).parameters
    params["max_iter" if "max_iter" in names else "n_iter"] = a.iterations
    start = time.perf_counter()
    tsne = TSNE(**params)
    y = tsne.fit_transform(x)
    seconds = time.perf_counter() - start
    np.save(a.output, y.astype(np.float64))
    print(
        f"sklearn {sklearn.__version__}: n={n} lr={params['learning_rate']:.1f} "
        f"iterations={tsne.n_iter_ + 1 if hasattr(tsne, 'n_iter_') else '?'} "
        f"kl(sklearn)={tsne.kl_divergence_:.5f} fit_s={seconds:.2f}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
