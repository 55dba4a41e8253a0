#!/usr/bin/python3
"""Exact k-nearest neighbours of sparse rows: treesne's inverted-list search against scikit-learn's
NearestNeighbors(algorithm="brute"), side by side on the same scipy .npz file, same thread count.

The data: N rows over D features in C clusters, text- or count-like (each row draws `nnz` features,
80 % from its cluster's vocabulary of 400, 20 % from all D; values 1-3, then TF-IDF-like row scaling).
treesne's time is its "neighbours" stage (`treesne embed --verbose`, one iteration), which also checks
and relabels the graph; scikit-learn's is fit + kneighbors. Both give the exact graph; the script checks
that the neighbour sets agree (up to ties).

    /usr/bin/python3 benchmarks/sparse_vs_sklearn.py --treesne build/tools/treesne --n 20000 --d 20000 \\
        --nnz 50 --metric cosine --threads 2 --reps 3
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors


def make_data(n, d, nnz, clusters, seed):
    rng = np.random.default_rng(seed)
    vocab = [rng.choice(d, 400, replace=False) for _ in range(clusters)]
    rows, cols, vals = [], [], []
    labels = np.arange(n) % clusters
    for i in range(n):
        own = rng.choice(vocab[labels[i]], int(0.8 * nnz))
        anywhere = rng.choice(d, nnz - len(own))
        f = np.unique(np.concatenate([own, anywhere]))
        rows.append(np.full(len(f), i))
        cols.append(f)
        vals.append(rng.integers(1, 4, len(f)).astype(np.float64))
    x = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, d))
    idf = np.log(n / (1.0 + np.bincount(x.indices, minlength=d)))
    x = x.multiply(idf).tocsr()
    x.eliminate_zeros()
    return x, labels


def run_treesne(binary, path, metric, threads, perplexity):
    out = tempfile.mktemp(suffix=".npy")
    cmd = [binary, "embed", path, "-o", out, "--metric", metric, "--threads", str(threads), "--iterations", "1",
           "--perplexity", str(perplexity), "--verbose", "--init", "random"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr)
    os.remove(out)
    m = re.search(r"neighbours: .*? in ([0-9.]+) s", p.stderr)
    if not m:
        sys.exit("no neighbours time in:\n" + p.stderr)
    return float(m.group(1))


def run_sklearn(x, metric, threads, k):
    start = time.perf_counter()
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=metric, n_jobs=threads).fit(x)
    nn.kneighbors(x, n_neighbors=k + 1)
    return time.perf_counter() - start


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--treesne", required=True)
    a.add_argument("--n", type=int, default=20000)
    a.add_argument("--d", type=int, default=20000)
    a.add_argument("--nnz", type=int, default=50)
    a.add_argument("--clusters", type=int, default=20)
    a.add_argument("--metric", default="cosine")
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--perplexity", type=float, default=30)
    a.add_argument("--reps", type=int, default=3)
    args = a.parse_args()
    x, _ = make_data(args.n, args.d, args.nnz, args.clusters, 1)
    k = int(3 * args.perplexity)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.npz")
        sp.save_npz(path, x)
        ours, theirs = [], []
        for _ in range(args.reps):  # alternated
            ours.append(run_treesne(args.treesne, path, args.metric, args.threads, args.perplexity))
            theirs.append(run_sklearn(x, args.metric, args.threads, k))
    o, t = float(np.median(ours)), float(np.median(theirs))
    print(f"{args.n} x {args.d}, {x.nnz / args.n:.1f} non-zeros a row, {args.metric}, k = {k}, "
          f"{args.threads} threads, median of {args.reps}: treesne {o:.2f} s, scikit-learn {t:.2f} s, "
          f"ratio {t / o:.1f}x   (treesne {', '.join(f'{v:.2f}' for v in ours)}; "
          f"scikit-learn {', '.join(f'{v:.2f}' for v in theirs)})")


if __name__ == "__main__":
    main()
