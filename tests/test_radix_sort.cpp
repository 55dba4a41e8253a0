// The space tree's stable parallel sort (src/core/radix_sort.hpp, internal) against std::stable_sort, for
// every thread count and run layout: keys with many ties, few distinct digits, skipped passes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "../src/core/radix_sort.hpp"
#include "treesne/core/parallel.hpp"

namespace {

using Keys = std::vector<std::uint64_t>;
using Values = std::vector<std::uint32_t>;

// The reference: (key, value) pairs stably sorted by key.
std::pair<Keys, Values> reference(const Keys& keys, const Values& values) {
    std::vector<std::size_t> at(keys.size());
    std::iota(at.begin(), at.end(), std::size_t{0});
    std::stable_sort(at.begin(), at.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
    Keys k;
    Values v;
    for (std::size_t i : at) {
        k.push_back(keys[i]);
        v.push_back(values[i]);
    }
    return {k, v};
}

void check(const Keys& keys, int bits, int threads) {
    Values values(keys.size());
    std::iota(values.begin(), values.end(), 0u);  // the input position: ties must keep it increasing
    const auto [want_k, want_v] = reference(keys, values);
    Keys k = keys;
    Values v = values;
    Keys sk;
    Values sv;
    std::vector<std::uint32_t> counts;
    treesne::detail::sort_by_key(k, v, bits, threads, sk, sv, counts);
    CHECK(k == want_k);
    CHECK(v == want_v);
    // The workspace is reused: a second sort of other data through it is right too.
    Keys k2(keys.rbegin(), keys.rend());
    Values v2 = values;
    const auto [want_k2, want_v2] = reference(k2, v2);
    treesne::detail::sort_by_key(k2, v2, bits, threads, sk, sv, counts);
    CHECK(k2 == want_k2);
    CHECK(v2 == want_v2);
}

// The same sort through borrowed memory (the space tree lends the gradient's doubles): the same result,
// the scratch vectors untouched where it is one run, and the borrowed bytes enough or the vectors used.
void check_borrowed(const Keys& keys, int bits, int threads) {
    Values values(keys.size());
    std::iota(values.begin(), values.end(), 0u);
    const auto [want_k, want_v] = reference(keys, values);
    for (std::size_t spare : {std::size_t{0}, std::size_t{1}}) {  // exactly enough, and one double short
        CAPTURE(spare);
        const std::size_t bytes = treesne::detail::sort_borrowed_bytes(keys.size());
        std::vector<double> lent((bytes + 7) / 8 + 1, 0.5);
        Keys k = keys, sk;
        Values v = values, sv;
        std::vector<std::uint32_t> counts;
        const std::size_t given = spare == 0 ? bytes : bytes - 8;
        treesne::detail::sort_by_key(k, v, bits, threads, sk, sv, counts,
                                     reinterpret_cast<unsigned char*>(lent.data()), given);
        CHECK(k == want_k);
        CHECK(v == want_v);
        const bool one_run =
            treesne::resolve_threads(threads) == 1 || keys.size() < 2 * treesne::detail::sort_min_run;
        if (keys.size() >= 2) CHECK(sk.empty() == (one_run && spare == 0));
        CHECK(lent.back() == 0.5);  // nothing written past the bytes given
    }
}

}  // namespace

TEST_CASE("sort_by_key equals std::stable_sort for any thread count, size and key spread") {
    std::mt19937_64 rng(7);
    const std::size_t min_run = treesne::detail::sort_min_run;
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{1000}, min_run * 2 - 1,
                                min_run * 2, min_run * 3 + 17, min_run * 5 + 3, std::size_t{100000}}) {
        for (const int bits : {1, 11, 12, 42, 63}) {
            for (const std::uint64_t distinct : {std::uint64_t{1}, std::uint64_t{3}, std::uint64_t{0}}) {
                // distinct 0: any key of `bits` bits; else keys drawn from a few values (many ties).
                const std::uint64_t mask = bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
                Keys keys(n);
                std::vector<std::uint64_t> pool(distinct == 0 ? 1 : distinct);
                for (auto& p : pool) p = rng() & mask;
                for (auto& key : keys) key = distinct == 0 ? rng() & mask : pool[rng() % pool.size()];
                for (const int threads : {1, 2, 3, 4, 7}) {
                    CAPTURE(n);
                    CAPTURE(bits);
                    CAPTURE(distinct);
                    CAPTURE(threads);
                    check(keys, bits, threads);
                    check_borrowed(keys, bits, threads);
                }
            }
        }
    }
}

TEST_CASE("sort_by_key: keys already sorted, reversed, and sorted runs that interleave") {
    const std::size_t n = 50000;
    Keys up(n), down(n), zigzag(n);
    for (std::size_t i = 0; i < n; ++i) {
        up[i] = i / 3;                  // ties in runs of three
        down[i] = (n - i) / 3;
        zigzag[i] = (i * 2654435761u) % 1024;  // the runs of 2 and 4 threads interleave completely
    }
    for (const int threads : {1, 2, 4}) {
        CAPTURE(threads);
        check(up, 42, threads);
        check(down, 42, threads);
        check(zigzag, 42, threads);
    }
}
