// Recall and time of the approximate kNN backend (--knn hnsw) against the exact graph, for a grid of
// hnsw parameters: the measurements behind the defaults in NeighborOptions (see src/knn/neighbors.cpp).
//
//   treesne_knn_recall INPUT [--rows N] [--pca D] [--k 90] [--m LIST] [--efc LIST] [--ef LIST]
//                            [--threads 0] [--sample 0] [--seed 1] [--exact-time]
//
// --rows N keeps the first N rows. --m, --efc and --ef take comma-separated lists (default: the
// library's defaults; ef 0 = auto); every combination is run. Each run builds the index anew (the library has
// no index object to reuse), so the build time is measured once per (M, efc) and again for every ef; the
// search time is the ef's own. Reference: --sample 0 computes the whole exact graph (brute backend) and
// measures recall over every row; --sample S > 0 draws S rows at random (seeded) and finds their exact
// neighbours by a scan of all N points, O(S N D), for N where the whole exact graph is too slow. --exact-time
// stops after the reference (with --sample 0: the time of the exact brute-force graph, for the crossover).
// Recall of a row: the share of its k reported neighbours whose distance is at most the exact k-th
// distance (the same as the share of the exact neighbours found when no two distances tie; with ties at
// the k-th distance any of the tied points is as good as another).
// One line per run: M, efc, ef; wall seconds of the build, the search and both; CPU seconds of the build
// (one thread) and of the search (all threads; run with OMP_WAIT_POLICY=passive so that idle workers
// do not add to it); mean recall, lowest row recall, rows with recall below 0.5, how much larger (%) the
// sum of a row's k squared distances is than the exact one (mean over rows: a missed neighbour replaced
// by an almost as near one costs little), rows answered by an exact scan, and the peak
// resident memory so far (VmHWM). On a shared machine the CPU seconds are the steadier measure.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "args_common.hpp"
#include "knn/internal.hpp"
#include "recall_common.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/io/io.hpp"
#include "treesne/treesne.hpp"

namespace {

using treesne::bench::peak_rss_mib;
using treesne::bench::process_cpu_seconds;
using treesne::bench::seconds_since;

using treesne::index_t;
using treesne::Matrix;

struct Config : treesne::bench::RecallOptions {
    int pca = 0;
    std::vector<int> m{treesne::NeighborOptions{}.hnsw_m};
    std::vector<int> efc{treesne::NeighborOptions{}.hnsw_ef_construction};
    std::vector<int> ef{0};
    bool exact_time = false;
};

Config parse(int argc, char** argv) {
    Config c;
    using treesne::bench::into;
    treesne::bench::parse_args(
        argc, argv,
        "treesne_knn_recall INPUT [--rows N] [--pca D] [--k 90] [--m LIST] [--efc LIST] [--ef LIST] "
        "[--threads 0] [--sample S] [--seed 1] [--exact-time]\n",
        &c.input,
        treesne::bench::recall_options(c, {{"--pca", into(&c.pca)},
                                           {"--m", into(&c.m)},
                                           {"--efc", into(&c.efc)},
                                           {"--ef", into(&c.ef)},
                                           {"--exact-time", treesne::bench::flag(&c.exact_time)}}));
    return c;
}

}  // namespace

int main(int argc, char** argv) try {
    const Config c = parse(argc, argv);
    Matrix x = treesne::bench::read_first_rows(c.input, c.rows);
    if (c.pca > 0 && c.pca < x.cols()) {
        const auto start = std::chrono::steady_clock::now();
        x = treesne::pca(x, c.pca, c.threads).projected;
        std::printf("# pca to %d dims: %.2f s\n", c.pca, seconds_since(start));
    }
    const index_t n = x.rows();
    std::printf("# data %s: %lld x %lld, k = %lld, threads %d\n", c.input.c_str(), static_cast<long long>(n),
                static_cast<long long>(x.cols()), static_cast<long long>(c.k),
                treesne::resolve_threads(c.threads));

    // Reference k-th distances: of every row, or of a seeded sample of rows.
    const treesne::bench::Reference ref =
        treesne::bench::exact_reference(x, c.k, c.k, c.sample, c.seed, c.threads);
    if (c.exact_time) return 0;

    std::printf("%5s %6s %6s %8s %8s %8s %8s %8s %8s %8s %7s %7s %6s %9s\n", "M", "efc", "ef", "build_s",
                "search_s", "total_s", "bld_cpu", "srch_cpu", "recall", "min_row", "rows<.5", "dist+%",
                "exact", "peak_MiB");
    std::fflush(stdout);
    for (int m : c.m) {
        for (int efc : c.efc) {
            for (int ef : c.ef) {
                treesne::NeighborOptions o;
                o.backend = treesne::KnnBackend::hnsw;
                o.hnsw_m = m;
                o.hnsw_ef_construction = efc;
                o.hnsw_ef_search = ef;
                treesne::validate(o);
                treesne::detail::HnswReport report;
                const double cpu_start = process_cpu_seconds();
                const treesne::NeighborGraph g = treesne::detail::knn_hnsw(x, c.k, o, c.threads, &report);
                const double search_cpu = process_cpu_seconds() - cpu_start - report.build_cpu_seconds;
                const treesne::bench::Recall r = treesne::bench::recall_of(g, ref, c.k, c.k);
                std::printf(
                    "%5d %6d %6lld %8.2f %8.2f %8.2f %8.2f %8.2f %8.5f %8.3f %7lld %7.3f %6lld %9.0f\n", m,
                    efc, static_cast<long long>(treesne::resolve_hnsw_ef_search(o, c.k)),
                    report.build_seconds, report.search_seconds, report.build_seconds + report.search_seconds,
                    report.build_cpu_seconds, search_cpu, r.mean, r.lowest, static_cast<long long>(r.poor),
                    100 * r.excess, static_cast<long long>(report.exact_rows), peak_rss_mib());
                std::fflush(stdout);
            }
        }
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "treesne_knn_recall: %s\n", e.what());
    return 1;
}
