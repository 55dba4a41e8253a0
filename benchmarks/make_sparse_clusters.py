#!/usr/bin/python3
"""Clustered sparse count rows for the 10^6 x 20,000 run (RESULTS.md section 14):

    /usr/bin/python3 benchmarks/make_sparse_clusters.py N D NNZ OUT.npz LABELS.txt

N rows over D features in 20 clusters; each row draws NNZ features, 80 % from its cluster's vocabulary of
400, 20 % from all D, values 1-3 (duplicates summed); written by scipy.sparse.save_npz, uncompressed."""
import sys, numpy as np, scipy.sparse as sp
n, d, nnz, clusters = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), 20
rng = np.random.default_rng(1)
vocab = rng.integers(0, d, (clusters, 400))
labels = np.arange(n) % clusters
own = int(0.8 * nnz)
cols = np.empty((n, nnz), dtype=np.int64)
cols[:, :own] = vocab[labels[:, None], rng.integers(0, 400, (n, own))]
cols[:, own:] = rng.integers(0, d, (n, nnz - own))
vals = rng.integers(1, 4, (n, nnz)).astype(np.float64)
rows = np.repeat(np.arange(n), nnz)
x = sp.csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(n, d))
x.sum_duplicates()
sp.save_npz(sys.argv[4], x, compressed=False)
np.savetxt(sys.argv[5], labels, fmt='%d')
print(x.shape, x.nnz, x.nnz / n)
