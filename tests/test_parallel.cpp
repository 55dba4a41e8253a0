// The parallel primitives (include/treesne/core/parallel.hpp): every index covered exactly once, whatever the
// thread count; exceptions reach the caller.
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/treesne.hpp"

using treesne::index_t;

namespace {

// Counts how often each index of [0, n) was visited.
struct Visits {
    explicit Visits(index_t n) : count(static_cast<std::size_t>(n)) {}
    void add(index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) count[static_cast<std::size_t>(i)].fetch_add(1);
    }
    bool each_once() const {
        for (const auto& c : count)
            if (c.load() != 1) return false;
        return true;
    }
    std::vector<std::atomic<int>> count;
};

}  // namespace

TEST_CASE("parallel_for_fixed, parallel_for_guided and parallel_beside cover every index once") {
    for (const index_t n : {index_t{0}, index_t{1}, index_t{3}, index_t{1000}, index_t{100003}})
        for (const int threads : {1, 2, 3, 4, 8}) {
            CAPTURE(n);
            CAPTURE(threads);
            Visits fixed(n);
            int parts = 0;
            std::atomic<int> calls{0};
            treesne::parallel_for_fixed(n, threads, [&](index_t b, index_t e) {
                calls.fetch_add(1);
                fixed.add(b, e);
            });
            parts = calls.load();
            CHECK(fixed.each_once());
            CHECK(parts <= threads);  // one contiguous part per thread at most

            Visits guided(n);
            std::atomic<index_t> shortest{n};
            treesne::parallel_for_guided(
                n, threads,
                [&](index_t b, index_t e) {
                    guided.add(b, e);
                    if (e < n) {  // every range but the last holds at least the grain
                        index_t s = shortest.load();
                        while (e - b < s && !shortest.compare_exchange_weak(s, e - b)) {
                        }
                    }
                },
                5);
            CHECK(guided.each_once());
            CHECK(shortest.load() >= std::min<index_t>(5, n));

            Visits beside(n);
            std::atomic<int> first_runs{0};
            treesne::parallel_beside([&] { first_runs.fetch_add(1); }, n, threads,
                                     [&](index_t b, index_t e) { beside.add(b, e); }, 7);
            CHECK(first_runs.load() == 1);
            CHECK(beside.each_once());
        }
}

TEST_CASE(
    "parallel_beside: the loop runs while the first task does, and exceptions from either reach the caller") {
    // On two threads the loop must make progress before the first task ends (it waits for it).
    std::atomic<index_t> done{0};
    treesne::parallel_beside(
        [&] {
            while (done.load() < 10) {
            }
        },
        1000, 2, [&](index_t b, index_t e) { done.fetch_add(e - b); }, 1);
    CHECK(done.load() == 1000);

    for (const int threads : {1, 2, 4}) {
        CAPTURE(threads);
        CHECK_THROWS_WITH_AS(treesne::parallel_beside([] { throw std::runtime_error("first"); }, 100, threads,
                                                      [](index_t, index_t) {}),
                             "first", std::runtime_error);
        CHECK_THROWS_WITH_AS(treesne::parallel_beside([] {}, 100, threads,
                                                      [](index_t b, index_t) {
                                                          if (b == 0) throw std::runtime_error("loop");
                                                      }),
                             "loop", std::runtime_error);
        CHECK_THROWS_WITH_AS(treesne::parallel_for_fixed(100, threads,
                                                         [](index_t b, index_t) {
                                                             if (b == 0) throw std::runtime_error("part");
                                                         }),
                             "part", std::runtime_error);
        CHECK_THROWS_WITH_AS(treesne::parallel_for_guided(100, threads,
                                                          [](index_t, index_t e) {
                                                              if (e == 100) throw std::runtime_error("last");
                                                          }),
                             "last", std::runtime_error);
    }
}

TEST_CASE(
    "thread counts above thread_limit() are lowered: a million threads runs, with one thread's result") {
    const int limit = treesne::thread_limit();
    CHECK(limit >= 1);
    CHECK(treesne::resolve_threads(1) == 1);
    CHECK(treesne::resolve_threads(0) <= limit);
    CHECK(treesne::resolve_threads(1000000) == limit);
    constexpr int many = 1000000;
    for (const index_t n : {index_t{1}, index_t{7}, index_t{5000}}) {
        CAPTURE(n);
        Visits dynamic(n), guided(n), fixed(n), beside(n);
        treesne::parallel_for(n, many, [&](index_t b, index_t e) { dynamic.add(b, e); });
        treesne::parallel_for_guided(n, many, [&](index_t b, index_t e) { guided.add(b, e); });
        treesne::parallel_for_fixed(n, many, [&](index_t b, index_t e) { fixed.add(b, e); });
        treesne::parallel_beside([] {}, n, many, [&](index_t b, index_t e) { beside.add(b, e); });
        CHECK(dynamic.each_once());
        CHECK(guided.each_once());
        CHECK(fixed.each_once());
        CHECK(beside.each_once());
        const auto sum = [](index_t b, index_t e) {
            double s = 0;
            for (index_t i = b; i < e; ++i) s += 1.0 / static_cast<double>(i + 1);
            return s;
        };
        CHECK(treesne::parallel_sum(n, many, sum) == treesne::parallel_sum(n, 1, sum));
    }
    // A whole embedding, every parallel region included: the same bits as on one thread.
    const treesne::Matrix x = treesne::testing::clustered(3, 40, 4, 11, 10.0);
    treesne::Options o;
    o.affinities.perplexity = 5;
    o.optimizer.iterations = 100;
    o.optimizer.exaggeration_iterations = 30;
    o.report_every = 0;
    o.threads = 1;
    const treesne::Matrix one = treesne::embed(x, o).y;
    o.threads = many;
    CHECK(treesne::embed(x, o).y == one);
}
