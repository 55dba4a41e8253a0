// PCA of sparse rows without densifying them: randomized subspace iteration (Halko, Martinsson & Tropp
// 2011) on the implicitly centred matrix A = X - 1 mean^T. Products with A are products with X corrected
// by the mean: A v = X v - 1 (mean . v) and A^T u = X^T u - mean (1 . u), so X's zeros stay zeros and
// memory is O((N + D) l) for l = k + oversampling columns. Every sum has a fixed order (rows in order
// for X^T u, each thread owning whole columns of the result), so the result does not depend on the
// thread count; the random start is a constant seed's, so it does not depend on the run's seed either.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/random.hpp"
#include "treesne/knn/pca.hpp"

namespace treesne {
namespace {

using Dense = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Extra columns of the random start beyond k, and the power iterations (scikit-learn's randomized SVD
// uses 10 and 4 to 7): the leading axes converge to working precision on data whose spectrum decays.
constexpr index_t oversampling = 10;
constexpr int power_iterations = 7;
constexpr std::uint64_t start_seed = 0x7370617273652d70ull;

// A V for V (D x l), row by row: N x l.
Dense times(ConstCsrView x, const std::vector<double>& mean, const Dense& v, int threads) {
    const index_t l = v.cols();
    const Eigen::RowVectorXd shift = Eigen::Map<const Eigen::RowVectorXd>(mean.data(), x.cols) * v;
    Dense out(x.rows, l);
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            Eigen::RowVectorXd row = -shift;
            for (index_t e = x.row_begin(i); e < x.row_end(i); ++e) row += x.values[e] * v.row(x.columns[e]);
            out.row(i) = row;
        }
    });
    return out;
}

// A^T U for U (N x l): D x l. Each thread owns a range of U's columns and reads the rows in order.
Dense transposed_times(ConstCsrView x, const std::vector<double>& mean, const Dense& u, int threads) {
    const index_t l = u.cols();
    Dense out = Dense::Zero(x.cols, l);
    parallel_for(
        l, threads,
        [&](index_t c0, index_t c1) {
            for (index_t i = 0; i < x.rows; ++i)
                for (index_t e = x.row_begin(i); e < x.row_end(i); ++e)
                    for (index_t c = c0; c < c1; ++c) out(x.columns[e], c) += x.values[e] * u(i, c);
            for (index_t c = c0; c < c1; ++c) {
                double total = 0.0;
                for (index_t i = 0; i < x.rows; ++i) total += u(i, c);
                for (index_t j = 0; j < x.cols; ++j) out(j, c) -= mean[static_cast<std::size_t>(j)] * total;
            }
        },
        1);
    return out;
}

// An orthonormal basis of m's columns (thin Householder QR).
Dense orthonormal(const Dense& m) {
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(m);
    return Dense(qr.householderQ() * Eigen::MatrixXd::Identity(m.rows(), m.cols()));
}

}  // namespace

PcaResult pca(ConstCsrView x, index_t k, int threads) {
    const index_t n = x.rows, d = x.cols;
    require(n >= 2 && k >= 1 && k <= std::min(n, d), "PCA: k must be in [1, min(N, D)] = [1, ", std::min(n, d),
            "]; got ", k);
    std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
    for (index_t e = 0; e < x.nnz(); ++e) mean[x.columns[e]] += x.values[e];
    for (double& m : mean) m /= static_cast<double>(n);
    const index_t l = std::min(k + oversampling, std::min(n, d));
    Dense omega(d, l);
    Rng rng(start_seed);
    for (index_t j = 0; j < d; ++j)
        for (index_t c = 0; c < l; ++c) omega(j, c) = rng.normal();
    Dense q = orthonormal(times(x, mean, omega, threads));
    for (int it = 0; it < power_iterations; ++it) {
        const Dense z = orthonormal(transposed_times(x, mean, q, threads));
        q = orthonormal(times(x, mean, z, threads));
    }
    // A ~ Q B with B = Q^T A (l x D); the axes are B's right singular vectors, from B B^T (l x l).
    const Dense bt = transposed_times(x, mean, q, threads);  // B^T, D x l
    const Eigen::MatrixXd gram = bt.transpose() * bt;
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
    PcaResult result;
    result.mean = mean;
    result.components = Matrix(k, d);
    result.variance.resize(static_cast<std::size_t>(k));
    Dense axes(d, k);
    for (index_t c = 0; c < k; ++c) {
        const index_t col = l - 1 - c;  // eigenvalues ascend
        const double sigma2 = std::max(0.0, solver.eigenvalues()[col]);
        Eigen::VectorXd axis = bt * solver.eigenvectors().col(col);
        const double norm = axis.norm();
        if (norm > 0) axis /= norm;
        Eigen::Index largest = 0;
        axis.cwiseAbs().maxCoeff(&largest);
        if (axis[largest] < 0) axis = -axis;  // the sign fixed as pca() fixes it
        axes.col(c) = axis;
        for (index_t j = 0; j < d; ++j) result.components(c, j) = axis[j];
        result.variance[static_cast<std::size_t>(c)] = sigma2 / static_cast<double>(n - 1);
    }
    const Dense scores = times(x, mean, axes, threads);
    result.projected = Matrix(n, k);
    for (index_t i = 0; i < n; ++i)
        for (index_t c = 0; c < k; ++c) result.projected(i, c) = scores(i, c);
    return result;
}

double pca_sparse_bytes(double n, double d, double k) {
    const double l = k + static_cast<double>(oversampling);
    return 8.0 * (3.0 * n * l + 3.0 * d * l + n * k);
}

}  // namespace treesne
