#include "treesne/core/types.hpp"

#include <functional>

#include "treesne/core/errors.hpp"

namespace treesne {

Matrix::Matrix(index_t rows, index_t cols, std::vector<double> data)
    : data_(std::move(data)), rows_(rows), cols_(cols) {
    require(rows >= 0 && cols >= 0 && static_cast<index_t>(data_.size()) == rows * cols, "Matrix: ", rows,
            " x ", cols, " does not match ", data_.size(), " values");
}

bool overlap(ConstMatrixView a, ConstMatrixView b) {
    const std::less<const double*> before;  // a total order, also across arrays
    return a.size() > 0 && b.size() > 0 && before(a.data, b.data + b.size()) && before(b.data, a.data + a.size());
}

Matrix::Matrix(ConstMatrixView view)
    : data_(view.data, view.data + view.size()), rows_(view.rows), cols_(view.cols) {}

}  // namespace treesne
