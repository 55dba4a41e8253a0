#!/usr/bin/python3
"""treesne.TSNE against sklearn.manifold.TSNE in one Python process (RESULTS.md section 8).

benchmarks/python_vs_sklearn.py [--sizes 5000,20000] [--reps 3] [--large-reps 1] [--threads 2]
                                [--data /work/data] [--markdown]

Data: the first N rows of Fashion-MNIST, PCA to 50 (DATA/fmnist50_N.npy, labels_N.txt, as made for
section 2 by treesne_prepare_data). Protocol of section 2: perplexity 30, 2-D, 1,000 iterations,
exaggeration 12 for 250, theta/angle 0.5 (each tool's own convention), PCA init, seed 42, T threads;
sklearn with learning_rate = max(N/12, 200) (its gradient carries the same factor 4 as treesne's) and
its early stops off. The two alternate inside each repetition (treesne, sklearn, treesne, ...); wall
time is fit_transform's alone (data already in memory, the interpreter already started). Quality: the
exact KL of each embedding against the kNN P at perplexity 30 with exact Z, and the leave-one-out 10-NN
accuracy, by treesne.evaluate (the numbers of `treesne evaluate`), on the first repetition's embedding.
"""
import argparse
import inspect
import os
import statistics
import sys
import time

import numpy as np


def sklearn_params(n, threads, seed, iterations):
    from sklearn.manifold import TSNE

    params = dict(n_components=2, perplexity=30.0, early_exaggeration=12.0, learning_rate=max(n / 12.0, 200.0),
                  n_iter_without_progress=iterations, min_grad_norm=0.0, init="pca", method="barnes_hut",
                  angle=0.5, n_jobs=threads, random_state=seed, verbose=0)
    names = inspect.signature(TSNE.__init__).parameters
    params["max_iter" if "max_iter" in names else "n_iter"] = iterations
    return TSNE(**params)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="5000,20000")
    ap.add_argument("--reps", type=int, default=3, help="repetitions below --large")
    ap.add_argument("--large", type=int, default=20000, help="sizes from here on get --large-reps")
    ap.add_argument("--large-reps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--data", default=os.environ.get("TREESNE_DATA", "benchmarks/out/data"))
    a = ap.parse_args()

    import sklearn
    import treesne

    print(f"treesne {treesne.__version__} ({treesne.__file__}), scikit-learn {sklearn.__version__}, "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    rows = []
    for n in map(int, a.sizes.split(",")):
        x = np.load(os.path.join(a.data, f"fmnist50_{n}.npy"))
        labels = np.loadtxt(os.path.join(a.data, f"labels_{n}.txt"), dtype=np.int64)
        reps = a.large_reps if n >= a.large else a.reps
        times = {"treesne": [], "sklearn": []}
        first = {}
        for rep in range(reps):
            for tool in ("treesne", "sklearn"):
                if tool == "treesne":
                    est = treesne.TSNE(perplexity=30.0, n_iter=a.iterations, random_state=a.seed, n_jobs=a.threads)
                else:
                    est = sklearn_params(n, a.threads, a.seed, a.iterations)
                start = time.perf_counter()
                y = est.fit_transform(x)
                seconds = time.perf_counter() - start
                times[tool].append(seconds)
                first.setdefault(tool, (y, est.kl_divergence_))
                print(f"N={n} rep {rep + 1}/{reps} {tool}: {seconds:.2f} s, own KL {est.kl_divergence_:.4f}, "
                      f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
        for tool in ("treesne", "sklearn"):
            y, own_kl = first[tool]
            e = treesne.evaluate(x, y, labels, n_jobs=a.threads)
            rows.append((n, tool, times[tool], e["kl_divergence"], own_kl, e["knn_accuracy"]))

    print("| N | tool | wall s (median of runs) | runs | exact KL | KL reported by the tool | 10-NN accuracy |")
    print("|---|---|---|---|---|---|---|")
    for n, tool, t, kl, own, acc in rows:
        runs = ", ".join(f"{s:.1f}" for s in t)
        print(f"| {n:,} | {tool} | {statistics.median(t):.2f} | {runs} | {kl:.4f} | {own:.4f} | {acc:.4f} |")
    by = {(n, tool): (statistics.median(t), kl) for n, tool, t, kl, _, _ in rows}
    for n in sorted({r[0] for r in rows}):
        (ts, tk), (ss, sk) = by[(n, "treesne")], by[(n, "sklearn")]
        print(f"\nN = {n:,}: treesne {ss / ts:.1f}x faster, exact KL {100 * (tk - sk) / sk:+.1f} % vs sklearn")


if __name__ == "__main__":
    main()
