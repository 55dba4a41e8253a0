// Stable parallel sort by key: radix-sorted runs, merged by the merge path (see radix_sort.hpp).
#include "core/radix_sort.hpp"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>

#include "treesne/core/parallel.hpp"

namespace treesne::detail {
namespace {

constexpr int digit_bits = 11;
constexpr std::size_t radix = std::size_t{1} << digit_bits;
constexpr std::uint64_t digit_mask = radix - 1;

int digit_count(int bits) {
    return (bits + digit_bits - 1) / digit_bits;
}

// An array of T at p: plain (Words) or in borrowed bytes that may hold objects of another type (Bytes,
// read and written with memcpy, which compiles to the same loads and stores).
template <class T>
struct Words {
    T* p;
    T get(std::size_t i) const { return p[i]; }
    void set(std::size_t i, T v) const { p[i] = v; }
};
template <class T>
struct Bytes {
    unsigned char* p;
    T get(std::size_t i) const {
        T v;
        std::memcpy(&v, p + i * sizeof(T), sizeof(T));
        return v;
    }
    void set(std::size_t i, T v) const { std::memcpy(p + i * sizeof(T), &v, sizeof(T)); }
};

// One LSD pass: (from_k, from_v)[0, m) scattered by the digit at `shift` into (to_k, to_v), c holding
// each digit's first position (advanced as it goes).
template <class FK, class FV, class TK, class TV>
void radix_pass(FK from_k, FV from_v, TK to_k, TV to_v, std::size_t m, int shift, std::uint32_t* c) {
    for (std::size_t i = 0; i < m; ++i) {
        const std::uint64_t key = from_k.get(i);
        const std::uint32_t at = c[(key >> shift) & digit_mask]++;
        to_k.set(at, key);
        to_v.set(at, from_v.get(i));
    }
}

// LSD radix sort of keys/values [0, m), stable, using skeys/svalues (m entries; Words or Bytes) as the
// other buffer and counts (digit_count(bits) * radix entries); the result is left in keys/values.
template <class SK, class SV>
void sort_run(std::uint64_t* keys, std::uint32_t* values, SK skeys, SV svalues, std::size_t m, int bits,
              std::uint32_t* counts) {
    if (m < 2) return;
    const int digits = digit_count(bits);
    std::fill(counts, counts + static_cast<std::size_t>(digits) * radix, 0u);
    // Every digit's histogram in one pass: a pass permutes the keys, which leaves the histograms as they are.
    for (std::size_t i = 0; i < m; ++i) {
        const std::uint64_t key = keys[i];
        for (int d = 0; d < digits; ++d)
            ++counts[static_cast<std::size_t>(d) * radix + ((key >> (d * digit_bits)) & digit_mask)];
    }
    const Words<std::uint64_t> own_k{keys};
    const Words<std::uint32_t> own_v{values};
    bool in_scratch = false;  // where the keys are now
    for (int d = 0; d < digits; ++d) {
        std::uint32_t* c = counts + static_cast<std::size_t>(d) * radix;
        const int shift = d * digit_bits;
        const std::uint64_t first = in_scratch ? skeys.get(0) : keys[0];
        if (c[(first >> shift) & digit_mask] == m) continue;  // the same digit everywhere: nothing moves
        std::uint32_t sum = 0;
        for (std::size_t digit = 0; digit < radix; ++digit) {
            const std::uint32_t t = c[digit];
            c[digit] = sum;
            sum += t;
        }
        if (in_scratch) {
            radix_pass(skeys, svalues, own_k, own_v, m, shift, c);
        } else {
            radix_pass(own_k, own_v, skeys, svalues, m, shift, c);
        }
        in_scratch = !in_scratch;
    }
    if (in_scratch) {
        for (std::size_t i = 0; i < m; ++i) {
            keys[i] = skeys.get(i);
            values[i] = svalues.get(i);
        }
    }
}

// How many of a's na keys are among the first d outputs of the stable merge of a and b (a's keys first
// on ties): the first i at which a[i] no longer goes before b[d - 1 - i] (the merge path's crossing of
// diagonal d).
std::size_t merge_split(const std::uint64_t* a, std::size_t na, const std::uint64_t* b, std::size_t nb,
                        std::size_t d) {
    std::size_t lo = d > nb ? d - nb : 0, hi = std::min(d, na);
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= b[d - 1 - mid]) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

// Outputs [d0, d1) of the stable merge of runs a (na) and b (nb), written to out_k/out_v at d0.. .
void merge_piece(const std::uint64_t* ak, const std::uint32_t* av, std::size_t na, const std::uint64_t* bk,
                 const std::uint32_t* bv, std::size_t nb, std::size_t d0, std::size_t d1, std::uint64_t* out_k,
                 std::uint32_t* out_v) {
    std::size_t i = merge_split(ak, na, bk, nb, d0), j = d0 - i;
    const std::size_t i_end = merge_split(ak, na, bk, nb, d1), j_end = d1 - i_end;
    std::size_t o = d0;
    while (i < i_end && j < j_end) {  // branch-free: the comparison is unpredictable
        const bool take_b = bk[j] < ak[i];
        out_k[o] = take_b ? bk[j] : ak[i];
        out_v[o] = take_b ? bv[j] : av[i];
        j += take_b;
        i += !take_b;
        ++o;
    }
    for (; i < i_end; ++i, ++o) {
        out_k[o] = ak[i];
        out_v[o] = av[i];
    }
    for (; j < j_end; ++j, ++o) {
        out_k[o] = bk[j];
        out_v[o] = bv[j];
    }
    assert(o == d1);
}

// Merges the sorted runs [bounds[r], bounds[r + 1]) pairwise, round by round, ping-ponging between
// (keys, values) and the scratch arrays; every pair's output is cut into pieces of about n / workers,
// each piece a task writing its own range. Returns whether the result ended in the scratch arrays.
bool merge_runs(std::uint64_t* keys, std::uint32_t* values, std::uint64_t* scratch_keys,
                std::uint32_t* scratch_values, std::vector<std::size_t>& bounds, std::size_t n, std::size_t workers,
                int threads) {
    std::uint64_t *from_k = keys, *to_k = scratch_keys;
    std::uint32_t *from_v = values, *to_v = scratch_values;
    const std::size_t piece = std::max<std::size_t>(sort_min_run / 2, (n + workers - 1) / workers);
    struct Piece {
        std::size_t a0, a1, b1, d0, d1;  // runs [a0, a1) and [a1, b1); outputs [d0, d1) of their merge
    };
    std::vector<Piece> pieces;
    while (bounds.size() > 2) {
        pieces.clear();
        std::vector<std::size_t> next{0};
        for (std::size_t r = 0; r + 1 < bounds.size(); r += 2) {
            const std::size_t a0 = bounds[r], a1 = bounds[r + 1];
            const std::size_t b1 = r + 2 < bounds.size() ? bounds[r + 2] : a1;  // a last run alone: b empty
            for (std::size_t d0 = 0; d0 < b1 - a0; d0 += piece)
                pieces.push_back(Piece{a0, a1, b1, d0, std::min(b1 - a0, d0 + piece)});
            next.push_back(b1);
        }
        parallel_for(
            static_cast<index_t>(pieces.size()), threads,
            [&](index_t p0, index_t p1) {
                for (auto p = static_cast<std::size_t>(p0); p < static_cast<std::size_t>(p1); ++p) {
                    const Piece& s = pieces[p];
                    merge_piece(from_k + s.a0, from_v + s.a0, s.a1 - s.a0, from_k + s.a1, from_v + s.a1,
                                s.b1 - s.a1, s.d0, s.d1, to_k + s.a0, to_v + s.a0);
                }
            },
            1);
        std::swap(from_k, to_k);
        std::swap(from_v, to_v);
        bounds = std::move(next);
    }
    return from_k != keys;
}

}  // namespace

void sort_by_key(std::vector<std::uint64_t>& keys, std::vector<std::uint32_t>& values, int bits, int threads,
                 std::vector<std::uint64_t>& scratch_keys, std::vector<std::uint32_t>& scratch_values,
                 std::vector<std::uint32_t>& counts, unsigned char* borrowed, std::size_t borrowed_bytes) {
    assert(values.size() == keys.size() && bits >= 1 && bits <= 64);
    const std::size_t n = keys.size();
    if (n < 2) return;
    const auto workers = static_cast<std::size_t>(resolve_threads(threads));
    const std::size_t runs = std::max<std::size_t>(1, std::min(workers, n / sort_min_run));
    const std::size_t per_run = static_cast<std::size_t>(digit_count(bits)) * radix;
    if (runs == 1 && borrowed && borrowed_bytes >= sort_borrowed_bytes(n)) {
        counts.resize(per_run);
        sort_run(keys.data(), values.data(), Bytes<std::uint64_t>{borrowed},
                 Bytes<std::uint32_t>{borrowed + n * sizeof(std::uint64_t)}, n, bits, counts.data());
        return;
    }
    scratch_keys.resize(n);
    scratch_values.resize(n);
    counts.resize(runs * per_run);
    std::vector<std::size_t> bounds(runs + 1);
    for (std::size_t r = 0; r <= runs; ++r) bounds[r] = n * r / runs;
    parallel_for(
        static_cast<index_t>(runs), threads,
        [&](index_t r0, index_t r1) {
            for (auto r = static_cast<std::size_t>(r0); r < static_cast<std::size_t>(r1); ++r) {
                const std::size_t b = bounds[r];
                sort_run(keys.data() + b, values.data() + b, Words<std::uint64_t>{scratch_keys.data() + b},
                         Words<std::uint32_t>{scratch_values.data() + b}, bounds[r + 1] - b, bits,
                         counts.data() + r * per_run);
            }
        },
        1);
    // Pairwise merges, from keys into the scratch and back: each round halves the runs.
    if (merge_runs(keys.data(), values.data(), scratch_keys.data(), scratch_values.data(), bounds, n, workers,
                   threads)) {
        keys.swap(scratch_keys);
        values.swap(scratch_values);
    }
}

}  // namespace treesne::detail
