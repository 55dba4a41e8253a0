#include "treesne/core/types.hpp"

#include "treesne/core/errors.hpp"

namespace treesne {

Matrix::Matrix(index_t rows, index_t cols, std::vector<double> data)
    : data_(std::move(data)), rows_(rows), cols_(cols) {
    require(rows >= 0 && cols >= 0 && static_cast<index_t>(data_.size()) == rows * cols, "Matrix: ", rows,
            " x ", cols, " does not match ", data_.size(), " values");
}

Matrix::Matrix(ConstMatrixView view)
    : data_(view.data, view.data + view.size()), rows_(view.rows), cols_(view.cols) {}

}  // namespace treesne
