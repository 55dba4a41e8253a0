// The splitmix64 generator and its mixing function (Steele, Lea & Flood 2014): the one definition behind
// every deterministic hash and seed in treesne (tie order, random start, picture order, checksums).
#pragma once

#include <cstdint>

namespace treesne {

/// splitmix64's golden-ratio increment.
inline constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15ull;

/// splitmix64's finaliser: a bijection of 64-bit words (each step is invertible) with full avalanche.
constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/// The splitmix64 value at counter x, mix64(x + gamma): a pseudo-random word per index, no state.
constexpr std::uint64_t splitmix64_at(std::uint64_t x) {
    return mix64(x + golden_gamma);
}

/// The next splitmix64 value of a sequence: advances state by gamma and mixes it.
constexpr std::uint64_t splitmix64(std::uint64_t& state) {
    return mix64(state += golden_gamma);
}

}  // namespace treesne
