// The vectorised logarithm of the interaction kernels (src/core/lanes.hpp, internal) against std::log.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "../src/core/lanes.hpp"

namespace {

// Distance in units in the last place between two positive finite doubles.
std::int64_t ulps(double a, double b) {
    std::int64_t ia = 0, ib = 0;
    std::memcpy(&ia, &a, sizeof a);
    std::memcpy(&ib, &b, sizeof b);
    return ia > ib ? ia - ib : ib - ia;
}

}  // namespace

TEST_CASE("log_normal_lanes is within 2 ulp of std::log over the whole normal range") {
    using treesne::detail::kLanes;
    using treesne::detail::Lanes;
    std::int64_t worst = 0;
    double worst_at = 0;
    // Exponents across the range, and mantissas on a fine grid including the sqrt(2) switch and 1.
    std::uint64_t state = 12345;
    int checked = 0;
    for (int exponent = -1021; exponent <= 1023; exponent += 7) {
        for (int block = 0; block < 16; ++block) {
            Lanes x;
            for (int l = 0; l < kLanes; ++l) {
                state = state * 6364136223846793005ull + 1442695040888963407ull;
                const double m = 1.0 + static_cast<double>(state >> 11) * 0x1p-53;  // [1, 2)
                x[l] = std::ldexp(m, exponent);
            }
            if (block == 0) {
                x[0] = std::ldexp(1.0, exponent);
                x[1] = std::ldexp(1.4142135623730951, exponent);
                x[2] = std::nextafter(x[1], 0.0);
                x[3] = std::ldexp(std::nextafter(2.0, 0.0), exponent);
            }
            const Lanes y = treesne::detail::log_normal_lanes(x);
            for (int l = 0; l < kLanes; ++l) {
                const double expected = std::log(x[l]);
                if (expected == 0) {
                    CHECK(y[l] == 0);
                    continue;
                }
                const std::int64_t u = (expected > 0) == (y[l] > 0) ? ulps(std::abs(y[l]), std::abs(expected)) : 1 << 30;
                if (u > worst) {
                    worst = u;
                    worst_at = x[l];
                }
                ++checked;
            }
        }
    }
    MESSAGE("largest error ", worst, " ulp at x = ", worst_at, " over ", checked, " values");
    CHECK(worst <= 2);
    // Near 1, where the logarithm is small and cancellation would show.
    Lanes near;
    for (int l = 0; l < kLanes; ++l) near[l] = 1.0 + (l - 3.5) * 1e-9;
    const Lanes y = treesne::detail::log_normal_lanes(near);
    for (int l = 0; l < kLanes; ++l) CHECK(std::abs(y[l] - std::log(near[l])) <= 4e-16 * std::abs(std::log(near[l])));
}
