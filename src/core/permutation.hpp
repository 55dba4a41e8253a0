// Relabelling points by an order (internal; not installed): order[r] is the point that gets label r.
// Shared by relabel() (neighbors.cpp), the relabelled Session and embed().
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

#include "treesne/core/errors.hpp"
#include "treesne/core/types.hpp"

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

/// Row order[r] of out (m's shape, not overlapping m) becomes row r of m (relabelled -> input order).
inline void scatter_rows_into(ConstMatrixView m, const std::vector<point_t>& order, MatrixView out) {
    for (index_t r = 0; r < m.rows; ++r)
        std::copy_n(m.row(r), m.cols, out.row(static_cast<index_t>(order[static_cast<std::size_t>(r)])));
}

/// Row order[r] of the result is row r of m (relabelled -> input order).
inline Matrix scatter_rows(const Matrix& m, const std::vector<point_t>& order) {
    Matrix out(m.rows(), m.cols());
    scatter_rows_into(m.view(), order, out.view());
    return out;
}

/// Rows [0, n) of a row-major array of `width` elements each, reordered in place so that the new row s
/// is the old row from[s] (from: a permutation of [0, n)). One cycle of the permutation at a time, with
/// one row of scratch: no second copy of the array.
template <class T>
void gather_rows_in_place(T* data, index_t width, const std::vector<point_t>& from) {
    const auto n = static_cast<index_t>(from.size());
    const auto w = static_cast<std::size_t>(width);
    std::vector<bool> done(static_cast<std::size_t>(n), false);
    std::vector<T> first(w);
    for (index_t c = 0; c < n; ++c) {
        if (done[static_cast<std::size_t>(c)]) continue;
        std::copy_n(data + static_cast<std::size_t>(c) * w, w, first.begin());
        index_t j = c;
        for (;;) {
            done[static_cast<std::size_t>(j)] = true;
            const index_t source = from[static_cast<std::size_t>(j)];
            T* target = data + static_cast<std::size_t>(j) * w;
            if (source == c) {
                std::copy_n(first.begin(), w, target);
                break;
            }
            std::copy_n(data + static_cast<std::size_t>(source) * w, w, target);
            j = source;
        }
    }
}

}  // namespace treesne::detail
