#include "treesne/optimize/init.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "treesne/core/errors.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/knn/pca.hpp"
#include "treesne/core/scale.hpp"

namespace treesne {
namespace {

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

// Whether every value of column c is the same.
bool constant_column(ConstMatrixView y, index_t c) {
    for (index_t i = 1; i < y.rows; ++i)
        if (y(i, c) != y(0, c)) return false;
    return true;
}

// log2 of column c's standard deviation (n - 1 in the denominator), computed at a comfortable scale
// (the column times a power of two), so that neither its squares nor its mean overflow or underflow;
// -inf for a constant column.
double log2_sd(ConstMatrixView y, index_t c) {
    const index_t n = y.rows;
    double largest = 0.0;
    for (index_t i = 0; i < n; ++i) largest = std::max(largest, std::abs(y(i, c)));
    if (!(largest > 0)) return -std::numeric_limits<double>::infinity();
    int e = 0;
    std::frexp(largest, &e);
    double mean = 0.0;
    for (index_t i = 0; i < n; ++i) mean += std::ldexp(y(i, c), -e);
    mean /= static_cast<double>(n);
    double var = 0.0;
    for (index_t i = 0; i < n; ++i) {
        const double d = std::ldexp(y(i, c), -e) - mean;
        var += d * d;
    }
    const double sd = std::sqrt(var / static_cast<double>(n - 1));
    return sd > 0 ? std::log2(sd) + e : -std::numeric_limits<double>::infinity();
}

}  // namespace

Matrix random_init(index_t n, int dims, std::uint64_t seed, double sd) {
    Matrix y(n, dims);
    Rng rng(seed);
    for (index_t i = 0; i < y.size(); ++i) y.data()[i] = sd * rng.normal();
    return y;
}

void rescale(Matrix& y, double sd) {
    const index_t n = y.rows();
    require(n >= 2, "rescale needs at least 2 points");
    // Beyond 2^+-100 the squares below overflow (an infinite sd: nothing was scaled, and the optimisation
    // diverged) or underflow (a zero sd: the points were left where they were, as one). A power of two
    // brings them to a comfortable scale first, exactly, so the result is what exact arithmetic gives.
    if (const int e = extreme_exponent(y.view()))
        for (double& v : y.storage()) v = std::ldexp(v, -e);
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
    return pca_init_from(pca(x, dims, threads).projected, seed, sd);
}

Matrix pca_init_from(Matrix y, std::uint64_t seed, double sd) {
    const int dims = static_cast<int>(y.cols());
    rescale(y, sd);
    double var = 0.0;
    for (index_t i = 0; i < y.rows(); ++i) var += y(i, 0) * y(i, 0);
    // Constant data has no principal directions: fall back to the seeded random start.
    if (!(var > 0)) return random_init(y.rows(), dims, seed, sd);
    // A further component with no variance at all (data with fewer varying directions than dims, such
    // as a constant column) is a constant column of y, along which the gradient is exactly 0 forever: the
    // result would lie on a line. Such a column starts from the seeded random start's values instead.
    for (index_t c = 1; c < y.cols(); ++c)
        if (constant_column(y.view(), c)) {
            Rng rng(seed ^ (0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(c)));
            for (index_t i = 0; i < y.rows(); ++i) y(i, c) = sd * rng.normal();
        }
    separate_coincident_rows(y, seed, sd);
    return y;
}

void require_usable_init(const Options& o) {
    if (o.init != InitKind::user) return;
    const std::string defect = init_defect(o.init_coordinates, o.keep_user_scale);
    require(defect.empty(), "initial coordinates: ", defect);
}

std::string init_defect(ConstMatrixView y, bool keep_scale) {
    const index_t n = y.rows;
    if (n < 2 || y.cols < 1) return "";  // the shape is validate()'s to judge
    for (index_t i = 0; i < n; ++i)
        for (index_t c = 0; c < y.cols; ++c)
            if (!std::isfinite(y(i, c)))
                return concat("row ", i + 1, ", column ", c + 1, " is not a finite number (", y(i, c), ")");
    bool every_column = true;
    for (index_t c = 0; c < y.cols; ++c) every_column = every_column && constant_column(y, c);
    if (every_column)
        return concat("all ", n, " points are at the same position; t-SNE cannot separate coincident ",
                      "points (give distinct coordinates, or use pca or random initialisation)");
    for (index_t c = 0; c < y.cols; ++c)
        if (constant_column(y, c))
            return concat("column ", c + 1, " is constant (every point at ", y(0, c), "): the gradient ",
                          "never moves points along it, so the result would lie on a line (give coordinates ",
                          "that vary in every column, or use pca or random initialisation)");
    if (keep_scale) {
        const double largest = largest_magnitude(y);
        if (largest > std::ldexp(1.0, keep_scale_limit))
            return concat("values up to ", largest, " are too large to keep as given: their squared ",
                          "distances overflow (without --keep-init-scale they are rescaled to sd 1e-4)");
        for (index_t c = 0; c < y.cols; ++c)
            if (log2_sd(y, c) < -keep_scale_limit)
                return concat("column ", c + 1, " has a spread (sd ", std::exp2(log2_sd(y, c)),
                              ") too small to keep as given: the squared distances underflow and the points "
                              "start as one (without --keep-init-scale they are rescaled to sd 1e-4)");
        return "";
    }
    // Rescaled, column c has sd 1e-4 * sd_c / sd_1: below the smallest normal double it is lost.
    const double first = log2_sd(y, 0);
    for (index_t c = 1; c < y.cols; ++c) {
        const double relative = log2_sd(y, c) - first;
        if (std::log2(1e-4) + relative < std::log2(std::numeric_limits<double>::min()))
            return concat("column ", c + 1, " varies 2^", relative, " times as much as column 1: rescaled ",
                          "so that column 1 has sd 1e-4, it vanishes (give coordinates that vary in every ",
                          "column)");
    }
    return "";
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
