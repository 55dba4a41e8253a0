// Gaussian test data from portable uniforms, shared by the neighbour and metrics tests.
#pragma once

#include <cmath>
#include <random>

#include "treesne/types.hpp"

namespace treesne::testing {

inline double uniform(std::mt19937_64& rng) { return std::generate_canonical<double, 53>(rng); }

// Box-Muller on portable uniforms (std::normal_distribution differs between standard libraries).
inline double gaussian(std::mt19937_64& rng) {
    const double u1 = 1.0 - uniform(rng), u2 = uniform(rng);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

inline Matrix gaussian_data(index_t n, index_t d, std::uint64_t seed, double scale = 1.0, double offset = 0.0) {
    std::mt19937_64 rng(seed);
    Matrix x(n, d);
    for (index_t i = 0; i < x.size(); ++i) x.data()[i] = offset + scale * gaussian(rng);
    return x;
}

}  // namespace treesne::testing
