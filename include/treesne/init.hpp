// Initial embeddings.
#pragma once

#include <cstdint>

#include "treesne/options.hpp"
#include "treesne/types.hpp"

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

/// N x dims, entries approximately N(0, sd^2) (Rng::normal: bounded by +-6 sd) from Rng(seed).
Matrix random_init(index_t n, int dims, std::uint64_t seed, double sd = 1e-4);

/// First `dims` principal components of x, scaled so the first column has standard deviation sd.
/// Constant data has no principal directions: then random_init(N, dims, seed, sd). Rows that coincide
/// (copies of one input row) get a seeded offset of sd * 1e-4, or t-SNE could never separate them.
Matrix pca_init(ConstMatrixView x, int dims, int threads, std::uint64_t seed, double sd = 1e-4);

/// Rescales y in place so its first column has standard deviation sd (after centring every column).
void rescale(Matrix& y, double sd = 1e-4);

/// The initial embedding the options ask for (pca, random, or the user's coordinates).
Matrix initial_embedding(ConstMatrixView x, const Options& options);

}  // namespace treesne
