// Sparse feature matrices (CsrMatrix): N rows of D features, only the non-zero entries stored, row by row
// (compressed sparse rows). The form every sparse input (scipy .npz, Matrix Market coordinate, svmlight)
// is brought to, and what the sparse neighbour search and PCA read: text, counts and fingerprints are
// never densified (a 10^6 x 20,000 count matrix is 160 GB dense, ~0.6 GB here at 50 entries a row).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "treesne/core/types.hpp"

namespace treesne {

/// Read-only view of a CSR matrix. Does not own its data. Invariants (csr_matrix_defect): rows >= 0,
/// cols >= 1, rows + 1 offsets from 0 to nnz without decreasing, each row's columns strictly increasing
/// and below cols, every value finite and non-zero (explicit zeros are not stored, so the stored columns
/// of a row are exactly its non-zero set).
struct ConstCsrView {
    const index_t* offsets = nullptr;  ///< rows + 1 entries
    const point_t* columns = nullptr;  ///< nnz entries
    const double* values = nullptr;    ///< nnz entries
    index_t rows = 0;
    index_t cols = 0;

    index_t nnz() const { return rows > 0 ? offsets[rows] : 0; }
    index_t row_begin(index_t i) const { return offsets[i]; }
    index_t row_end(index_t i) const { return offsets[i + 1]; }
    index_t row_size(index_t i) const { return offsets[i + 1] - offsets[i]; }
};

/// Owning CSR matrix of doubles with ConstCsrView's invariants (built through from_triplets or by hand
/// and then checked with csr_matrix_defect).
struct CsrMatrix {
    index_t rows = 0;
    index_t cols = 0;
    std::vector<index_t> offsets{0};  ///< rows + 1 entries
    std::vector<point_t> columns;
    std::vector<double> values;

    index_t nnz() const { return static_cast<index_t>(values.size()); }
    index_t row_begin(index_t i) const { return offsets[static_cast<std::size_t>(i)]; }
    index_t row_end(index_t i) const { return offsets[static_cast<std::size_t>(i) + 1]; }
    index_t row_size(index_t i) const { return row_end(i) - row_begin(i); }
    ConstCsrView view() const { return {offsets.data(), columns.data(), values.data(), rows, cols}; }
    operator ConstCsrView() const { return view(); }
    friend bool operator==(const CsrMatrix& a, const CsrMatrix& b) {
        return a.rows == b.rows && a.cols == b.cols && a.offsets == b.offsets && a.columns == b.columns &&
               a.values == b.values;
    }
    friend bool operator!=(const CsrMatrix& a, const CsrMatrix& b) { return !(a == b); }
};

/// One stored entry of a matrix being assembled: row, column, value.
struct Triplet {
    index_t row = 0;
    index_t col = 0;
    double value = 0.0;
};

/// A CSR matrix from entries in any order: entries at the same (row, column) are added (in the order
/// given, as scipy's sum_duplicates does), then zeros are dropped. Throws InvalidArgument for rows < 0,
/// cols < 1 or cols > 2^32 - 1, an entry outside [0, rows) x [0, cols) (naming it, 0-based) and a
/// non-finite value or sum. O(nnz) memory beyond the result, O(nnz + rows) time (counting sort by row,
/// then a sort within each row).
CsrMatrix from_triplets(index_t rows, index_t cols, std::vector<Triplet> entries);

namespace detail {
/// Brings m's rows (offsets right, entries in any order within a row) to CsrMatrix's invariants in
/// place: each row sorted by column (stably), entries at the same column added in the order stored,
/// zeros dropped; rows already strictly increasing only drop their zeros. Returns false, with the row
/// and column (0-based) in *row and *col, when some column's entries add up to a non-finite value (m is
/// then left part way). The one assembly of from_triplets and of every sparse reader.
bool canonicalize_rows(CsrMatrix& m, index_t* row, point_t* col);
}  // namespace detail

/// What is wrong with m as a CSR matrix, in one line, or "" when nothing is (ConstCsrView's invariants);
/// the defect named is the lowest row's, its row and column 0-based ("row 7: columns not increasing
/// (12 after 12)"). O(nnz) time.
std::string csr_matrix_defect(ConstCsrView m);

/// The non-zero entries of a dense matrix, in CSR (every value must be finite).
CsrMatrix to_csr(ConstMatrixView dense);

/// The dense rows x cols matrix of a CSR matrix (for tests and small data only: O(rows cols) memory).
Matrix to_dense(ConstCsrView m);

/// Bytes a CsrMatrix of n rows and nnz entries holds: 8-byte offsets, 4-byte columns, 8-byte values.
inline double csr_matrix_bytes(double n, double nnz) {
    return 8.0 * (n + 1) + 12.0 * nnz;
}

}  // namespace treesne
