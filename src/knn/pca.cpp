// PCA through the covariance matrix (Eigen). Eigen's own threading is off: the covariance is summed over
// fixed row blocks in parallel_for and the block sums added in order, so the result is thread-independent.
#define EIGEN_DONT_PARALLELIZE
#include "treesne/knn/pca.hpp"
#include "knn/pca_internal.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {

namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows [r0, r0 + rows) of row block b of n rows.
void block_rows(index_t b, index_t n, index_t& r0, index_t& rows) {
    r0 = b * pca_block_rows;
    rows = std::min(n, r0 + pca_block_rows) - r0;
}

// f(b, r0, rows) for each fixed block b of pca_block_rows rows starting at row r0 (the last may be
// shorter), in parallel. The blocks do not depend on the thread count, so neither do results that are
// combined in block order.
template <class F>
void for_each_block(index_t n, int threads, F&& f) {
    const index_t blocks = (n + pca_block_rows - 1) / pca_block_rows;
    parallel_for(
        blocks, threads,
        [&](index_t b0, index_t b1) {
            for (index_t b = b0; b < b1; ++b) {
                index_t r0, rows;
                block_rows(b, n, r0, rows);
                f(b, r0, rows);
            }
        },
        1);
}

// f(r0, rows) of every block (see for_each_block), in block order, for the caller to add in that order.
template <class T, class F>
std::vector<T> per_block(index_t n, int threads, F&& f) {
    std::vector<T> partial(static_cast<std::size_t>((n + pca_block_rows - 1) / pca_block_rows));
    for_each_block(n, threads,
                   [&](index_t b, index_t r0, index_t rows) { partial[static_cast<std::size_t>(b)] = f(r0, rows); });
    return partial;
}

// Column means, summed in fixed row blocks (in parallel) and the block sums added in order.
Eigen::VectorXd column_means(const Eigen::Map<const RowMajor>& X, int threads) {
    const std::vector<Eigen::VectorXd> partial_mean =
        per_block<Eigen::VectorXd>(X.rows(), threads, [&](index_t r0, index_t rows) -> Eigen::VectorXd {
            return X.middleRows(r0, rows).colwise().sum().transpose();
        });
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(X.cols());
    for (const auto& m : partial_mean) mean += m;
    mean /= static_cast<double>(X.rows());
    return mean;
}

// The Gram matrix (X_b - mean)^T (X_b - mean) (lower triangle) of each fixed row block b, in block order.
std::vector<Eigen::MatrixXd> gram_blocks(const Eigen::Map<const RowMajor>& X, const Eigen::Ref<const Eigen::VectorXd>& mean,
                                         int threads) {
    const index_t d = X.cols();
    return per_block<Eigen::MatrixXd>(X.rows(), threads, [&](index_t r0, index_t rows) {
        const Eigen::MatrixXd centred = X.middleRows(r0, rows).rowwise() - mean.transpose();
        Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(d, d);
        gram.selfadjointView<Eigen::Lower>().rankUpdate(centred.transpose());
        return gram;
    });
}

// Covariance (X - mean)^T (X - mean) / (n - 1) (lower triangle), one Gram block per row block, added in
// order.
Eigen::MatrixXd covariance(const Eigen::Map<const RowMajor>& X, const Eigen::VectorXd& mean, int threads) {
    const index_t d = X.cols();
    const std::vector<Eigen::MatrixXd> partial_cov = gram_blocks(X, mean, threads);
    Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
    for (const auto& c : partial_cov) cov += c;
    cov /= static_cast<double>(X.rows() - 1);
    return cov;
}

}  // namespace

double pca_bytes(double n, double d, double k) {
    return n * k * 8 + std::ceil(n / static_cast<double>(pca_block_rows)) * d * d * 8;
}

namespace detail {

std::vector<double> pca_column_sums(ConstMatrixView x, int threads) {
    const index_t d = x.cols;
    const Eigen::Map<const RowMajor> X(x.data, x.rows, d);
    const std::vector<Eigen::VectorXd> partial =
        per_block<Eigen::VectorXd>(x.rows, threads, [&](index_t r0, index_t rows) -> Eigen::VectorXd {
            return X.middleRows(r0, rows).colwise().sum().transpose();
        });
    std::vector<double> out;
    out.reserve(partial.size() * static_cast<std::size_t>(d));
    for (const auto& m : partial) out.insert(out.end(), m.data(), m.data() + d);
    return out;
}

std::vector<double> pca_gram_sums(ConstMatrixView x, const std::vector<double>& mean, int threads) {
    const index_t d = x.cols;
    const Eigen::Map<const RowMajor> X(x.data, x.rows, d);
    const Eigen::Map<const Eigen::VectorXd> m(mean.data(), d);
    const std::vector<Eigen::MatrixXd> partial = gram_blocks(X, m, threads);
    std::vector<double> out;
    out.reserve(partial.size() * static_cast<std::size_t>(d * d));
    for (const auto& c : partial) out.insert(out.end(), c.data(), c.data() + d * d);
    return out;
}

void pca_divide(std::vector<double>& v, double divisor) {
    Eigen::Map<Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size())) /= divisor;
}

PcaResult pca_axes(const std::vector<double>& mean, const std::vector<double>& covariance, index_t k) {
    const auto d = static_cast<index_t>(mean.size());
    require(static_cast<index_t>(covariance.size()) == d * d && k >= 1 && k <= d, "PCA: ", mean.size(),
            " means, ", covariance.size(), " covariances and ", k, " axes");
    const Eigen::Map<const Eigen::MatrixXd> cov(covariance.data(), d, d);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(cov.selfadjointView<Eigen::Lower>());
    if (solver.info() != Eigen::Success)
        throw NumericalError("PCA: the eigen decomposition did not converge");

    PcaResult result;
    result.mean = mean;
    result.components = Matrix(k, d);
    result.variance.resize(static_cast<std::size_t>(k));
    for (index_t c = 0; c < k; ++c) {
        const index_t col = d - 1 - c;  // eigenvalues come in increasing order
        Eigen::VectorXd axis = solver.eigenvectors().col(col);
        Eigen::Index largest = 0;
        axis.cwiseAbs().maxCoeff(&largest);
        if (axis[largest] < 0) axis = -axis;  // fix the sign: deterministic output
        for (index_t j = 0; j < d; ++j) result.components(c, j) = axis[j];
        result.variance[static_cast<std::size_t>(c)] = std::max(0.0, solver.eigenvalues()[col]);
    }
    return result;
}

}  // namespace detail

PcaResult pca(ConstMatrixView x, index_t k, int threads) {
    const index_t n = x.rows, d = x.cols;
    require(n >= 2, "PCA needs at least 2 points; got ", n);
    require(k >= 1 && k <= d, "PCA dims must be in [1, ", d, "]; got ", k);
    const Eigen::Map<const RowMajor> X(x.data, n, d);
    const Eigen::VectorXd mean = column_means(X, threads);
    const Eigen::MatrixXd cov = covariance(X, mean, threads);
    PcaResult result = detail::pca_axes(std::vector<double>(mean.data(), mean.data() + d),
                                        std::vector<double>(cov.data(), cov.data() + d * d), k);
    result.projected = pca_project(result, x, threads);
    return result;
}

Matrix pca_project(const PcaResult& fit, ConstMatrixView x, int threads) {
    const index_t k = fit.components.rows(), d = fit.components.cols();
    require(k >= 1 && static_cast<index_t>(fit.mean.size()) == d, "PCA projection: the fit is malformed (", k,
            " x ", d, " axes, ", fit.mean.size(), " means)");
    require(x.cols == d, "PCA projection: the data has ", x.cols, " columns but the PCA was fitted on ", d);
    const index_t n = x.rows;
    const Eigen::Map<const RowMajor> X(x.data, n, d);
    const Eigen::Map<const RowMajor> W(fit.components.data(), k, d);
    const Eigen::Map<const Eigen::VectorXd> mean(fit.mean.data(), d);
    Matrix projected(n, k);
    // Fixed row blocks (as in pca()), so that the scores do not depend on the thread count.
    for_each_block(n, threads, [&](index_t, index_t r0, index_t rows) {
        Eigen::Map<RowMajor> out(projected.row(r0), rows, k);
        out.noalias() = (X.middleRows(r0, rows).rowwise() - mean.transpose()) * W.transpose();
    });
    return projected;
}

}  // namespace treesne
