// The thread-safety contract (README, session.hpp): independent calls may run on several std::threads at
// once and give the bits they give alone; the const members of one Session may run concurrently. These
// tests are most telling under ThreadSanitizer (the tsan preset, tools/run_tests.sh), which reports a
// data race even when the race happens to give the right numbers; without it, a racy cache shows as
// wrong values or a crash in the rounds below.
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/affinities/precomputed.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

// Starts `count` threads running body(t) together (each waits until all are started) and joins them.
void run_together(int count, const std::function<void(int)>& body) {
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < count; ++t)
        threads.emplace_back([&, t] {
            ready.fetch_add(1);
            while (ready.load() < count) std::this_thread::yield();
            body(t);
        });
    for (std::thread& thread : threads) thread.join();
}

// Small runs that take different paths through the library: the kd-tree and brute-force searches, the
// approximate ones, 1-D and 3-D trees, the exact method.
std::vector<Options> varied_options() {
    std::vector<Options> all;
    Options o;
    o.affinities.perplexity = 8;
    o.optimizer.iterations = 120;
    o.optimizer.exaggeration_iterations = 50;
    o.threads = 2;
    all.push_back(o);
    o.neighbors.backend = KnnBackend::hnsw;
    o.dims = 3;
    all.push_back(o);
    o.neighbors.backend = KnnBackend::nndescent;
    o.dims = 1;
    o.optimizer.theta_auto = true;
    all.push_back(o);
    o = all.front();
    o.neighbors.backend = KnnBackend::brute;
    o.neighbors.metric = Metric::cosine;
    all.push_back(o);
    o = all.front();
    o.optimizer.method = Method::exact_tsne;
    o.optimizer.iterations = 60;
    all.push_back(o);
    return all;
}

}  // namespace

TEST_CASE("thread safety: concurrent embed() calls give the bits of the same calls made one at a time") {
    const Matrix x = clustered(4, 40, 6, 31);
    const std::vector<Options> options = varied_options();
    const int jobs = static_cast<int>(options.size());
    std::vector<Matrix> serial;
    for (const Options& o : options) serial.push_back(embed(x, o).y);

    for (int round = 0; round < 2; ++round) {
        std::vector<Matrix> concurrent(static_cast<std::size_t>(jobs));
        run_together(jobs, [&](int t) {
            concurrent[static_cast<std::size_t>(t)] = embed(x, options[static_cast<std::size_t>(t)]).y;
        });
        for (int t = 0; t < jobs; ++t) {
            CAPTURE(t);
            CHECK(concurrent[static_cast<std::size_t>(t)] == serial[static_cast<std::size_t>(t)]);
        }
    }

    // The same call from every thread at once, on one shared input.
    std::vector<Matrix> same(4);
    run_together(4, [&](int t) { same[static_cast<std::size_t>(t)] = embed(x, options.front()).y; });
    for (const Matrix& y : same) CHECK(y == serial.front());
}

TEST_CASE("thread safety: concurrent const reads of one Session see the current state") {
    const Matrix x = clustered(3, 50, 5, 32);
    Options o;
    o.affinities.perplexity = 10;
    o.optimizer.exaggeration_iterations = 20;
    o.threads = 1;
    const Affinities p = testing::affinities_of(x, 10);
    const index_t n = x.rows();
    // A relabelled order: embedding() and state() then build the input-order copy on first use, which
    // is what concurrent readers must not race on.
    std::vector<point_t> order(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = static_cast<point_t>((i * 7 + 3) % n);
    auto relabelled = [&] {
        Affinities q = relabel(p, order, 1);
        Matrix y0 = random_matrix(n, 2, 5, 1e-4);
        Matrix y0_internal(n, 2);
        for (index_t r = 0; r < n; ++r)
            for (index_t c = 0; c < 2; ++c) y0_internal(r, c) = y0(order[static_cast<std::size_t>(r)], c);
        return Session(std::move(q), std::move(y0_internal), o, order);
    };
    Session shared = relabelled();
    Session reference = relabelled();  // read alone, after each step, for the expected values

    constexpr int readers = 4;
    for (index_t until : {5, 10, 30, 31}) {
        CAPTURE(until);
        shared.run(until);
        reference.run(until);
        const Matrix expected_y = reference.embedding();
        const OptimizerState expected = reference.state();
        std::vector<int> right(readers, 0);
        run_together(readers, [&](int t) {
            // Half start with state(), half with embedding(): both fill the same copy.
            OptimizerState first;
            if (t % 2) first = shared.state();
            const Matrix& y = shared.embedding();
            const OptimizerState& s2 = shared.state();
            const bool ok = y == expected_y && s2.gains == expected.gains && s2.velocity == expected.velocity &&
                            s2.iteration == until && shared.iteration() == until &&
                            shared.history().size() == reference.history().size() &&
                            (t % 2 == 0 || first.y == expected_y);
            right[static_cast<std::size_t>(t)] = ok ? 1 : 0;
        });
        for (int t = 0; t < readers; ++t) CHECK(right[static_cast<std::size_t>(t)] == 1);
    }
}
