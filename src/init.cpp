#include "treesne/init.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "treesne/errors.hpp"
#include "treesne/hash.hpp"
#include "treesne/pca.hpp"

namespace treesne {
namespace {

std::uint64_t rotl(std::uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

// Exact copies of an input row project onto one PCA point, and coincident points of t-SNE never separate:
// their mutual forces vanish and every other force on them is the same. That is a saddle, not a
// minimum (the copies' P asks for a cluster), so give every copy but the first of each group of equal
// rows a seeded offset of sd * 1e-4 in each coordinate. Rows are grouped by a sort, so the offsets do
// not depend on anything but the rows and the seed; data without duplicates is left untouched.
void separate_coincident_rows(Matrix& y, std::uint64_t seed, double sd) {
    const index_t n = y.rows(), dims = y.cols();
    std::vector<index_t> order(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    auto row_less = [&](index_t a, index_t b) {
        for (index_t d = 0; d < dims; ++d)
            if (y(a, d) != y(b, d)) return y(a, d) < y(b, d);
        return a < b;
    };
    auto row_equal = [&](index_t a, index_t b) {
        for (index_t d = 0; d < dims; ++d)
            if (y(a, d) != y(b, d)) return false;
        return true;
    };
    std::sort(order.begin(), order.end(), row_less);
    std::vector<index_t> copies;  // every row equal to an earlier one in the sorted order
    for (std::size_t s = 1; s < order.size(); ++s)
        if (row_equal(order[s], order[s - 1])) copies.push_back(order[s]);
    std::sort(copies.begin(), copies.end());
    Rng rng(seed ^ 0x5eb4a7a7e0c0ffeeull);
    for (index_t i : copies)
        for (index_t d = 0; d < dims; ++d) y(i, d) += 1e-4 * sd * rng.normal();
}

}  // namespace

Rng::Rng(std::uint64_t seed) {
    for (auto& s : s_) s = splitmix64(seed);
}

// xoshiro256** (Blackman & Vigna 2018).
std::uint64_t Rng::next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

double Rng::uniform() {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double Rng::normal() {
    double s = 0.0;
    for (int i = 0; i < 12; ++i) s += uniform();
    return s - 6.0;
}

Matrix random_init(index_t n, int dims, std::uint64_t seed, double sd) {
    Matrix y(n, dims);
    Rng rng(seed);
    for (index_t i = 0; i < y.size(); ++i) y.data()[i] = sd * rng.normal();
    return y;
}

void rescale(Matrix& y, double sd) {
    const index_t n = y.rows();
    require(n >= 2, "rescale needs at least 2 points");
    for (index_t c = 0; c < y.cols(); ++c) {
        double mean = 0.0;
        for (index_t i = 0; i < n; ++i) mean += y(i, c);
        mean /= static_cast<double>(n);
        for (index_t i = 0; i < n; ++i) y(i, c) -= mean;
    }
    double var = 0.0;
    for (index_t i = 0; i < n; ++i) var += y(i, 0) * y(i, 0);
    const double current = std::sqrt(var / static_cast<double>(n - 1));
    if (!(current > 0) || !std::isfinite(current)) return;  // constant column: leave centred
    const double f = sd / current;
    for (index_t i = 0; i < y.size(); ++i) y.data()[i] *= f;
}

Matrix pca_init(ConstMatrixView x, int dims, int threads, std::uint64_t seed, double sd) {
    Matrix y = pca(x, dims, threads).projected;
    rescale(y, sd);
    double var = 0.0;
    for (index_t i = 0; i < y.rows(); ++i) var += y(i, 0) * y(i, 0);
    // Constant data has no principal directions: fall back to the seeded random start.
    if (!(var > 0)) return random_init(x.rows, dims, seed, sd);
    separate_coincident_rows(y, seed, sd);
    return y;
}

Matrix initial_embedding(ConstMatrixView x, const Options& options) {
    switch (options.init) {
        case InitKind::pca:
            return pca_init(x, options.dims, options.threads, options.seed);
        case InitKind::random:
            return random_init(x.rows, options.dims, options.seed);
        case InitKind::user: {
            require(
                options.init_coordinates.rows() == x.rows && options.init_coordinates.cols() == options.dims,
                "initial coordinates must be ", x.rows, " x ", options.dims, "; got ",
                options.init_coordinates.rows(), " x ", options.init_coordinates.cols());
            Matrix y = options.init_coordinates;
            if (!options.keep_user_scale) rescale(y, 1e-4);
            return y;
        }
    }
    throw InvalidArgument("unknown initialisation");
}

}  // namespace treesne
