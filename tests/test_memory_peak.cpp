// The memory estimate against the real peak of a run: the process's high-water mark (VmHWM), not the
// estimate's own formulas.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "doctest/doctest.h"
#include "test_helpers.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

// VmHWM of this process in bytes (Linux), or -1.
double high_water_mark() {
    std::ifstream status("/proc/self/status");
    std::string key;
    double kib = -1;
    while (status >> key) {
        if (key == "VmHWM:") {
            status >> kib;
            return kib * 1024.0;
        }
        status.ignore(1 << 20, '\n');
    }
    return -1;
}

/// The high-water mark of embedding `clusters` equal blobs of n points in d dimensions under o, measured
/// in a forked child (so that it is this run's alone, plus the test program's), or -1.
double measured_peak(index_t n, index_t d, const Options& o) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(fds[0]);
        double peak = -1;
        try {
            Matrix x = clustered(10, n / 10, d, 5);
            const Result r = embed(std::move(x), o, Callbacks{});
            if (r.iterations == o.optimizer.iterations) peak = high_water_mark();
        } catch (...) {
        }
        const ssize_t written = ::write(fds[1], &peak, sizeof peak);
        ::_exit(written == sizeof peak ? 0 : 1);
    }
    ::close(fds[1]);
    double peak = -1;
    const ssize_t got = ::read(fds[0], &peak, sizeof peak);
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(got == sizeof peak);
    REQUIRE(WIFEXITED(status));
    return peak;
}

bool can_measure() {
    if (kAddressSanitizer) {  // its shadow memory and quarantine are not the program's own
        MESSAGE("skipped: AddressSanitizer changes the memory footprint");
        return false;
    }
    if (high_water_mark() < 0) {
        MESSAGE("skipped: /proc/self/status has no VmHWM on this system");
        return false;
    }
    return true;
}

}  // namespace

TEST_CASE("memory: the estimate is within 10 % of the measured peak of a mid-sized embed") {
    // 100,000 clustered 3-D points, perplexity 30 (k = 90): the kNN graph (108 MB) and P (~100 MB) dwarf
    // the program itself (~10 MB), as they do at any size worth estimating. The embedding runs in a
    // forked child, so that its high-water mark is that of this run alone (plus the test program), and
    // the child reports VmHWM through a pipe.
    if (!can_measure()) return;
    constexpr index_t n = 100'000, d = 3;
    Options o;
    o.threads = 2;
    o.optimizer.iterations = 20;
    o.optimizer.exaggeration_iterations = 10;
    const double estimate = estimate_memory(n, d, o, false, true).peak;
    const double peak = measured_peak(n, d, o);
    REQUIRE(peak > 0);
    MESSAGE("estimate ", estimate / 1048576.0, " MiB, measured peak (VmHWM) ", peak / 1048576.0, " MiB");
    CHECK(std::abs(estimate - peak) <= 0.10 * peak);
}

TEST_CASE("memory: the estimate counts the k the run uses: every perplexity, --k, every kernel") {
    // k follows the largest perplexity (multiscale), or --k; the graph and P grow with it. (nndescent, which
    // auto picks at this size, ends with indices and conditionals: 8 bytes an entry.)
    const index_t n = 1'000'000, d = 50;
    const double nd = 1e6;
    Options o;
    o.affinities.perplexity = 30;
    o.affinities.more_perplexities = {300};
    CHECK(estimate_memory(n, d, o).neighbors == doctest::Approx(nd * 900 * 8));
    o.affinities.more_perplexities = {300, 10};
    CHECK(estimate_memory(n, d, o).neighbors == doctest::Approx(nd * 900 * 8));
    o = Options();
    o.affinities.kind = AffinityKind::uniform;
    o.affinities.k = 15;
    CHECK(estimate_memory(n, d, o).neighbors == doctest::Approx(nd * 15 * 8));
    o.affinities.kind = AffinityKind::sigma;
    o.affinities.k = 200;
    CHECK(estimate_memory(n, d, o).neighbors == doctest::Approx(nd * 200 * 8));
    o.affinities.k = 0;  // sigma without --k: 3 x the perplexity, as the run searches
    o.affinities.perplexity = 10;
    CHECK(estimate_memory(n, d, o).neighbors == doctest::Approx(nd * 30 * 8));

    // And the real peak of a multiscale run (perplexities 5 and 50: k = 150, ten times the first
    // perplexity's 15) is what the estimate says, within the 10 % of the single-scale test.
    if (!can_measure()) return;
    constexpr index_t m = 50'000, dims = 3;
    Options multi;
    multi.threads = 2;
    multi.affinities.perplexity = 5;
    multi.affinities.more_perplexities = {50};
    multi.optimizer.iterations = 20;
    multi.optimizer.exaggeration_iterations = 10;
    const double estimate = estimate_memory(m, dims, multi, false, true).peak;
    const double peak = measured_peak(m, dims, multi);
    REQUIRE(peak > 0);
    MESSAGE("multiscale: estimate ", estimate / 1048576.0, " MiB, measured peak (VmHWM) ", peak / 1048576.0,
            " MiB");
    CHECK(std::abs(estimate - peak) <= 0.10 * peak);
}
