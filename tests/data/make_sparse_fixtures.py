#!/usr/bin/python3
"""Writes the sparse-input fixtures of tests/test_io_sparse.cpp into tests/data/sparse/, with scipy and
scikit-learn themselves, so that the readers are checked against what those libraries write:

    /usr/bin/python3 tests/data/make_sparse_fixtures.py

The same 4 x 6 matrix F (one row empty; column 0 and the last column hold entries, so that svmlight gives
6 columns whatever its index base) is written in every format; the tests read each file and expect the
same CsrMatrix. The files are small (about 1 KB for an .npz: five .npy members) and are committed, so
the tests need neither Python nor scipy. Written with numpy 1.24, scipy 1.10 and scikit-learn 1.2; a
regenerated file may differ in its bytes (timestamps in the zip headers), not in what it holds.
"""
import os

import numpy as np
import scipy.io
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sparse")

F = np.array([[1.5, 0, 0, -2, 0, 0],
              [0, 0, 0, 0, 0, 0],
              [0, 0.25, 3, 0, 0, 7],
              [-0.5, 0, 0, 0, 10, 0]])
TARGETS = np.array([0, 1, 1, 2])
# Small counts (integer field, unsigned data) with the same sparsity pattern as F.
COUNTS = (F != 0) * np.array([[3], [0], [1], [250]])


def path(name):
    return os.path.join(HERE, name)


def main():
    os.makedirs(HERE, exist_ok=True)
    csr = sp.csr_matrix(F)
    sp.save_npz(path("f_csr.npz"), csr)  # deflate, as save_npz writes by default
    sp.save_npz(path("f_csr_stored.npz"), csr, compressed=False)
    csc = sp.csc_matrix(F)
    csc.indices = csc.indices.astype(np.int64)  # 64-bit indices, as scipy uses for large matrices
    csc.indptr = csc.indptr.astype(np.int64)
    sp.save_npz(path("f_csc.npz"), csc)
    # COO as stored by hand: entries out of order, duplicates to add (-1.5 + -0.5 at (0, 3), 1 + 2 at
    # (2, 2)) and an explicit zero (3, 1) to drop; float32 values.
    row = np.array([2, 0, 3, 2, 0, 2, 3, 2, 0, 3])
    col = np.array([5, 3, 0, 2, 0, 1, 1, 2, 3, 4])
    val = np.array([7, -1.5, -0.5, 1, 1.5, 0.25, 0, 2, -0.5, 10], dtype=np.float32)
    coo = sp.coo_matrix((val, (row, col)), shape=F.shape)
    sp.save_npz(path("f_coo.npz"), coo)
    assert (coo.toarray() == F).all()
    scipy.io.mmwrite(path("f.mtx"), csr)
    dump_svmlight_file(csr, TARGETS, path("f.svm"), zero_based=True)
    dump_svmlight_file(csr, TARGETS, path("f_one_based.svmlight"), zero_based=False)
    # The pattern of F: values 1, as a pattern Matrix Market file and as a boolean .npz.
    scipy.io.mmwrite(path("pattern.mtx"), csr, field="pattern")
    sp.save_npz(path("pattern_bool.npz"), sp.csr_matrix(F != 0))
    counts = sp.csr_matrix(COUNTS.astype(np.uint16))
    sp.save_npz(path("counts_u16.npz"), counts)
    scipy.io.mmwrite(path("counts.mtx"), counts.astype(np.int64), field="integer")
    # Refused: a block sparse matrix, and dense arrays saved with np.savez.
    sp.save_npz(path("bsr.npz"), sp.bsr_matrix(F[:, :4], blocksize=(2, 2)))
    np.savez(path("dense.npz"), x=F, y=TARGETS)
    for name in sorted(os.listdir(HERE)):
        print(name, os.path.getsize(path(name)))


if __name__ == "__main__":
    main()
