// Matrices shared by every stage: one owning row-major Matrix and non-owning views (pointer + shape),
// so callers from other languages can hand their buffers in without copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace treesne {

/// Counts, offsets and sizes: 64-bit so that N*k, N*D and node counts may pass 2^31.
using index_t = std::int64_t;
/// A point's index inside a neighbour list or a sparse row: 32 bits halve the memory traffic of the
/// attractive-force stream; N is checked against its range where graphs are built.
using point_t = std::uint32_t;

/// Read-only view of a row-major rows x cols block of doubles. Does not own its data.
struct ConstMatrixView {
    const double* data = nullptr;
    index_t rows = 0;
    index_t cols = 0;

    const double* row(index_t i) const { return data + i * cols; }
    double operator()(index_t i, index_t j) const { return data[i * cols + j]; }
    index_t size() const { return rows * cols; }
};

/// Writable view of a row-major rows x cols block of doubles. Does not own its data.
struct MatrixView {
    double* data = nullptr;
    index_t rows = 0;
    index_t cols = 0;

    double* row(index_t i) const { return data + i * cols; }
    double& operator()(index_t i, index_t j) const { return data[i * cols + j]; }
    index_t size() const { return rows * cols; }
    operator ConstMatrixView() const { return {data, rows, cols}; }
};

/// Whether two views share any memory (their spans of rows x cols doubles).
bool overlap(ConstMatrixView a, ConstMatrixView b);

/// Owning row-major matrix of doubles: the layout of X (N x D) and Y (N x Dim) everywhere.
class Matrix {
  public:
    Matrix() = default;
    Matrix(index_t rows, index_t cols, double fill = 0.0)
        : data_(static_cast<std::size_t>(rows * cols), fill), rows_(rows), cols_(cols) {}
    Matrix(index_t rows, index_t cols, std::vector<double> data);
    explicit Matrix(ConstMatrixView view);

    index_t rows() const { return rows_; }
    index_t cols() const { return cols_; }
    index_t size() const { return rows_ * cols_; }
    bool empty() const { return data_.empty(); }

    double* data() { return data_.data(); }
    const double* data() const { return data_.data(); }
    double* row(index_t i) { return data_.data() + i * cols_; }
    const double* row(index_t i) const { return data_.data() + i * cols_; }
    double& operator()(index_t i, index_t j) { return data_[static_cast<std::size_t>(i * cols_ + j)]; }
    double operator()(index_t i, index_t j) const { return data_[static_cast<std::size_t>(i * cols_ + j)]; }

    MatrixView view() { return {data_.data(), rows_, cols_}; }
    ConstMatrixView view() const { return {data_.data(), rows_, cols_}; }
    operator ConstMatrixView() const { return view(); }

    std::vector<double>& storage() { return data_; }
    const std::vector<double>& storage() const { return data_; }

    friend bool operator==(const Matrix& a, const Matrix& b) {
        return a.rows_ == b.rows_ && a.cols_ == b.cols_ && a.data_ == b.data_;
    }
    friend bool operator!=(const Matrix& a, const Matrix& b) { return !(a == b); }

  private:
    std::vector<double> data_;
    index_t rows_ = 0;
    index_t cols_ = 0;
};

}  // namespace treesne
