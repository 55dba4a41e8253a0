// Precomputed inputs: a neighbour graph, joint affinities or a distance matrix instead of coordinates,
// each validated and brought into the forms the stages take (api/embed.hpp embeds them); the locality
// order and relabelling of P.
#pragma once

#include <string>
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// A neighbour graph from the caller's own search: row i of the n x k arrays `indices` and `distances`
/// (row-major) lists point i's k neighbours and their distances (not squared: metric distances as a
/// search returns them). Validated: n >= 2, 1 <= k <= n - 1, indices integral in [0, n) and distinct
/// within a row, distances finite and >= 0; when every row's first entry is the point itself (a search
/// over the data that did not skip the query, as scikit-learn's kneighbors(X) returns), that column is
/// dropped first. Each row is then sorted by distance, equal distances by tie_key(), and distances are
/// squared, giving NeighborGraph's invariants; where the largest distance lies beyond 2^+-100, they are
/// first divided by the power of two 2^e that brings it to [0.5, 1) (scale_exponent = e), so that
/// squares neither overflow nor underflow: the same distances at any scale give the same graph up to that
/// unit, and the same P (bit for bit for scales that are powers of two). Throws InvalidArgument naming
/// the first defect (1-based row and column).
NeighborGraph neighbors_from_lists(index_t n, index_t k, const std::vector<double>& indices,
                                   const std::vector<double>& distances);

namespace detail {
/// The steps of neighbors_from_lists, for a share of its rows (a process of a distributed run holds rows
/// [first, first + rows) of the n x k lists, row-major): whether each of these rows starts with its own
/// point (k >= 2; the self column is dropped when all rows of all shares do), the largest finite
/// distance from column `skip` on, and the graph of the rows (g.n = rows; messages name global rows)
/// given the skip and the unit exponent of the whole.
bool lists_start_with_self(index_t first, index_t rows, index_t k, const std::vector<double>& indices);
double largest_listed_distance(index_t rows, index_t k, index_t skip, const std::vector<double>& distances);
NeighborGraph neighbor_list_rows(index_t n, index_t first, index_t rows, index_t k, index_t skip, int exponent,
                                 const std::vector<double>& indices, const std::vector<double>& distances);
}  // namespace detail

/// The same from a sparse N x N matrix whose row i holds point i's neighbours j with the distance as the
/// value (Matrix Market, as --neighbors FILE.mtx): every row must have the same number of entries, none
/// on the diagonal. Distances are scaled as by neighbors_from_lists.
NeighborGraph neighbors_from_sparse(const SparseMatrix& m);

/// The k nearest neighbours from a dense N x N matrix of distances (not squared): validated finite,
/// non-negative, zero on the diagonal, symmetric (|d_ij - d_ji| <= 1e-9 max(|d_ij|, |d_ji|)); then each
/// row's k smallest off-diagonal entries, ties by tie_key(), squared (scaled first where the largest
/// distance is extreme, as by neighbors_from_lists). Requires 1 <= k <= N - 1.
/// threads: 0 = all; the graph does not depend on it.
NeighborGraph neighbors_from_distances(ConstMatrixView distances, index_t k, int threads);

/// Joint affinities from the caller's matrix: checked (CSR sound, square, columns in range, values
/// finite and >= 0, at least one positive), then made into t-SNE's P where it is not one already:
/// diagonal entries dropped, (P + P^T) / 2 where P is not symmetric, divided by its sum where that is
/// not 1. Each such repair appends a sentence to *notes (if given). A matrix that already is a valid P
/// is returned unchanged, bit for bit. Throws InvalidArgument naming the defect.
Affinities prepare_affinities(SparseMatrix p, int threads, std::vector<std::string>* notes = nullptr);

/// The locality order (see locality_order(const NeighborGraph&), which gives the same) of P's pattern:
/// breadth-first from point 0 over each row's columns in increasing order, then from the lowest point not
/// reached, and so on. Throws InvalidArgument unless P's CSR layout is sound (csr_defect) and its columns lie
/// in [0, n).
std::vector<point_t> locality_order(const Affinities& p);

/// The same order from the pattern alone (n rows: n + 1 offsets into the columns, each row's columns
/// increasing), without values: a distributed run gathers only the pattern. Throws InvalidArgument for
/// a malformed pattern or a column outside [0, n).
std::vector<point_t> locality_order_of_pattern(index_t n, const std::vector<index_t>& offsets,
                                               const std::vector<point_t>& columns);

/// P relabelled: point r of the result is point order[r] of p (columns renamed and sorted). threads: 0 =
/// all; the result does not depend on it. Throws InvalidArgument if order is not a permutation of [0, n),
/// P's CSR layout is not sound (csr_defect) or a column lies outside [0, n).
Affinities relabel(const Affinities& p, const std::vector<point_t>& order, int threads = 0);

}  // namespace treesne
