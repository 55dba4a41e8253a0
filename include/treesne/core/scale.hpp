// Exact power-of-two rescaling of inputs whose magnitude is extreme: one definition for embed(), evaluate,
// accuracy, transform and the quality measures, so that each sees the same neighbours and P as embed().
// All functions are pure: safe to call concurrently.
#pragma once

#include <algorithm>
#include <cmath>

#include "treesne/core/types.hpp"

namespace treesne {

/// Inputs whose largest |value| lies within [2^-comfortable_exponent, 2^comfortable_exponent] are used as
/// they are; beyond, the squared distances of high-dimensional points overflow (or underflow to 0, every
/// point a duplicate), so they are rescaled first.
inline constexpr int comfortable_exponent = 100;

/// The largest |value| of x (0 for an empty or all-zero x; NaN is ignored).
inline double largest_magnitude(ConstMatrixView x) {
    double largest = 0.0;
    for (index_t i = 0; i < x.size(); ++i) largest = std::max(largest, std::abs(x.data[i]));
    return largest;
}

/// The power of two e such that values of largest magnitude `largest` times 2^-e lie in [0.5, 1), when
/// `largest` is outside [2^-comfortable_exponent, 2^comfortable_exponent]; 0 otherwise (also for 0).
inline int extreme_exponent(double largest) {
    if (!(largest > 0) || !std::isfinite(largest)) return 0;
    int exponent = 0;
    std::frexp(largest, &exponent);
    return exponent > comfortable_exponent || exponent < -comfortable_exponent ? exponent : 0;
}

/// extreme_exponent() of x's largest |value|: the rescaling embed() applies to its input (x * 2^-e has
/// the same neighbours, and the same P bit for bit, as x, unless values fall to the subnormal range).
inline int extreme_exponent(ConstMatrixView x) {
    return extreme_exponent(largest_magnitude(x));
}

/// The same for two matrices that must share one scale (reference and new points of transform).
inline int extreme_exponent(ConstMatrixView a, ConstMatrixView b) {
    return extreme_exponent(std::max(largest_magnitude(a), largest_magnitude(b)));
}

/// A copy of x with every value times 2^-exponent, by ldexp (exact unless a value falls to the
/// subnormal range; a product with 2^-e would overflow 2^-e itself for subnormal input).
inline Matrix scaled_by_power_of_two(ConstMatrixView x, int exponent) {
    Matrix out(x);
    for (double& v : out.storage()) v = std::ldexp(v, -exponent);
    return out;
}

/// x at a comfortable magnitude: `view` is x itself, or `storage` holding x * 2^-exponent when
/// extreme_exponent(x) (= exponent) is not 0. Keep the object alive while `view` is used.
struct ComfortableScale {
    Matrix storage;
    ConstMatrixView view;
    int exponent = 0;
};

/// x as embed() sees it before any PCA (see ComfortableScale).
inline ComfortableScale comfortable_scale(ConstMatrixView x) {
    ComfortableScale out;
    out.view = x;
    out.exponent = extreme_exponent(x);
    if (out.exponent != 0) {
        out.storage = scaled_by_power_of_two(x, out.exponent);
        out.view = out.storage.view();
    }
    return out;
}

}  // namespace treesne
