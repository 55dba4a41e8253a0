// The splitmix64 generator and its mixing function (Steele, Lea & Flood 2014): the one definition behind
// every deterministic hash and seed in treesne (tie order, random start, picture order, checksums).
#pragma once

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <vector>

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

/// A 64-bit hash over 64-bit words, for fingerprints and checksums (not for security): FNV-1a's
/// xor-multiply step on whole words (eight times fewer steps than bytes), then mix64 so that every input
/// bit reaches every output bit. About 1 ns per 8 bytes (one multiply's latency), so a fingerprint of a
/// P of 12 million entries costs tens of milliseconds, far less than building it.
class WordHasher {
  public:
    /// Adds one word.
    void word(std::uint64_t w) { h_ = (h_ ^ w) * 0x100000001b3ull; }
    /// Adds `size` bytes, as little-endian words and a last partial word tagged with its length.
    void bytes(const void* data, std::size_t size) {
        const auto* p = static_cast<const unsigned char*>(data);
        std::size_t i = 0;
        for (; i + 8 <= size; i += 8) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            word(w);
        }
        std::uint64_t tail = 0;
        if (size > i) std::memcpy(&tail, p + i, size - i);
        word(tail ^ (static_cast<std::uint64_t>(size - i) << 56));
    }
    /// The hash of everything added so far.
    std::uint64_t value() const { return mix64(h_); }

    /// The running state, and a hasher that continues from one (StreamHasher).
    std::uint64_t state() const { return h_; }
    static WordHasher resume(std::uint64_t state) {
        WordHasher h;
        h.h_ = state;
        return h;
    }

  private:
    std::uint64_t h_ = 0xcbf29ce484222325ull;
};

/// WordHasher::bytes() of an array given in pieces (each piece may end inside a word), with a state that
/// can be saved and restored: a distributed array hashed rank after rank gives the value one bytes()
/// call over the whole array gives.
class StreamHasher {
  public:
    void word(std::uint64_t w) { h_.word(w); }
    /// The next piece of the current array.
    void feed(const void* data, std::size_t size) {
        const auto* p = static_cast<const unsigned char*>(data);
        std::size_t i = 0;
        if (carry_size_ != 0) {  // complete the word a piece left open
            i = std::min<std::size_t>(8 - carry_size_, size);
            std::memcpy(carry_ + carry_size_, p, i);
            carry_size_ += i;
            if (carry_size_ < 8) return;
            std::uint64_t w;
            std::memcpy(&w, carry_, 8);
            h_.word(w);
            carry_size_ = 0;
        }
        for (; i + 8 <= size; i += 8) {  // then whole words
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            h_.word(w);
        }
        carry_size_ = size - i;  // < 8
        std::memcpy(carry_, p + i, carry_size_);
    }
    /// Ends the current array: its last partial word, tagged with its length, as bytes() adds it.
    void end_array() {
        std::uint64_t tail = 0;
        std::memcpy(&tail, carry_, carry_size_);
        h_.word(tail ^ (static_cast<std::uint64_t>(carry_size_) << 56));
        carry_size_ = 0;
    }
    std::uint64_t value() const { return h_.value(); }
    /// The state as bytes (17), and a hasher restored from them.
    std::vector<unsigned char> save() const {
        std::vector<unsigned char> out(17);
        const std::uint64_t s = h_.state();
        std::memcpy(out.data(), &s, 8);
        std::memcpy(out.data() + 8, carry_, 8);
        out[16] = static_cast<unsigned char>(carry_size_);
        return out;
    }
    static StreamHasher restore(const std::vector<unsigned char>& bytes) {
        StreamHasher h;
        if (bytes.size() != 17) return h;
        std::uint64_t s;
        std::memcpy(&s, bytes.data(), 8);
        h.h_ = WordHasher::resume(s);
        std::memcpy(h.carry_, bytes.data() + 8, 8);
        h.carry_size_ = bytes[16] & 7u;
        return h;
    }

  private:
    WordHasher h_;
    unsigned char carry_[8] = {};
    std::size_t carry_size_ = 0;
};

}  // namespace treesne
