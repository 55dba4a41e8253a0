// Relabelling points by an order (internal; not installed): order[r] is the point that gets label r.
// Shared by relabel() (neighbors.cpp), the relabelled Session and embed().
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

#include "treesne/errors.hpp"
#include "treesne/types.hpp"

namespace treesne::detail {

/// label[i] = r where order[r] = i. Throws InvalidArgument, naming `what`, unless order is a permutation
/// of [0, n).
inline std::vector<point_t> inverse_order(const std::vector<point_t>& order, index_t n, const char* what) {
    const auto size = static_cast<std::size_t>(n);
    require(order.size() == size, what, " has ", order.size(), " entries for ", n, " points");
    std::vector<point_t> label(size, std::numeric_limits<point_t>::max());
    for (std::size_t r = 0; r < size; ++r) {
        require(order[r] < size && label[order[r]] == std::numeric_limits<point_t>::max(), what,
                " is not a permutation of the ", n, " points");
        label[order[r]] = static_cast<point_t>(r);
    }
    return label;
}

/// Row r of the result is row rows[r] of m: with a permutation, input order -> relabelled; with fewer
/// indices, a subset of the rows.
template <class Index>
Matrix gather_rows(ConstMatrixView m, const std::vector<Index>& rows) {
    Matrix out(static_cast<index_t>(rows.size()), m.cols);
    for (index_t r = 0; r < out.rows(); ++r)
        std::copy_n(m.row(static_cast<index_t>(rows[static_cast<std::size_t>(r)])), m.cols, out.row(r));
    return out;
}

/// Row order[r] of the result is row r of m (relabelled -> input order).
inline Matrix scatter_rows(const Matrix& m, const std::vector<point_t>& order) {
    Matrix out(m.rows(), m.cols());
    for (index_t r = 0; r < m.rows(); ++r)
        std::copy_n(m.row(r), m.cols(), out.row(static_cast<index_t>(order[static_cast<std::size_t>(r)])));
    return out;
}

}  // namespace treesne::detail
