// The portable pseudo-random generator of every seeded draw (initialisations, samples).
#pragma once

#include <cstdint>

namespace treesne {

/// Portable pseudo-random generator (SplitMix64-seeded xoshiro256**): the same stream on every platform.
class Rng {
  public:
    explicit Rng(std::uint64_t seed);
    std::uint64_t next();
    /// Uniform in [0, 1) with 53 random bits.
    double uniform();
    /// Approximately standard normal: the Irwin-Hall sum of 12 uniforms minus 6. Uses only + and x,
    /// so it is bit-identical on every IEEE-754 platform (unlike std::normal_distribution).
    double normal();

  private:
    std::uint64_t s_[4];
};

}  // namespace treesne
