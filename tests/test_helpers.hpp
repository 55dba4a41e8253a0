// Small deterministic data generators shared by the tests.
#pragma once

#include <cmath>
#include <random>
#include <vector>

#include "treesne/affinities.hpp"
#include "treesne/types.hpp"

namespace treesne::testing {

/// Standard normal from a fixed-seed engine via Box-Muller (the tests need no cross-platform identity).
inline double gaussian(std::mt19937_64& rng) {
    const double u1 = (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

inline Matrix random_matrix(index_t rows, index_t cols, std::uint64_t seed, double sd = 1.0) {
    std::mt19937_64 rng(seed);
    Matrix m(rows, cols);
    for (index_t i = 0; i < m.size(); ++i) m.data()[i] = sd * gaussian(rng);
    return m;
}

/// `clusters` Gaussian blobs of `per_cluster` points in `dims` dimensions; centres ~N(0, spread^2).
inline Matrix clustered(index_t clusters, index_t per_cluster, index_t dims, std::uint64_t seed,
                        double spread = 10.0, std::vector<int>* labels = nullptr) {
    std::mt19937_64 rng(seed);
    Matrix centres(clusters, dims);
    for (index_t i = 0; i < centres.size(); ++i) centres.data()[i] = spread * gaussian(rng);
    Matrix x(clusters * per_cluster, dims);
    if (labels) labels->clear();
    for (index_t c = 0; c < clusters; ++c)
        for (index_t p = 0; p < per_cluster; ++p) {
            const index_t i = c * per_cluster + p;
            for (index_t d = 0; d < dims; ++d) x(i, d) = centres(c, d) + gaussian(rng);
            if (labels) labels->push_back(static_cast<int>(c));
        }
    return x;
}

/// Dense copy of a sparse matrix.
inline Matrix densify(const SparseMatrix& p) {
    Matrix out(p.n, p.n);
    for (index_t i = 0; i < p.n; ++i)
        for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) out(i, p.columns[e]) = p.values[e];
    return out;
}

inline double norm(const Matrix& m) {
    double s = 0;
    for (index_t i = 0; i < m.size(); ++i) s += m.data()[i] * m.data()[i];
    return std::sqrt(s);
}

inline double relative_error(const Matrix& approx, const Matrix& exact) {
    double diff = 0;
    for (index_t i = 0; i < exact.size(); ++i) {
        const double t = approx.data()[i] - exact.data()[i];
        diff += t * t;
    }
    return std::sqrt(diff) / norm(exact);
}

}  // namespace treesne::testing
