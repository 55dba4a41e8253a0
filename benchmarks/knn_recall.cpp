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

#include "knn/internal.hpp"
#include "recall_common.hpp"
#include "treesne/io/io.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/treesne.hpp"

namespace {

using treesne::bench::peak_rss_mib;
using treesne::bench::process_cpu_seconds;
using treesne::bench::seconds_since;

using treesne::index_t;
using treesne::Matrix;

struct Config {
    std::string input;
    int pca = 0;
    index_t rows = 0;
    index_t k = 90;
    std::vector<int> m{treesne::NeighborOptions{}.hnsw_m};
    std::vector<int> efc{treesne::NeighborOptions{}.hnsw_ef_construction};
    std::vector<int> ef{0};
    int threads = 0;
    index_t sample = 0;
    std::uint64_t seed = 1;
    bool exact_time = false;
};

std::vector<int> parse_list(const std::string& text) {
    std::vector<int> values;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) values.push_back(std::stoi(item));
    if (values.empty()) throw treesne::InvalidArgument("empty list: '" + text + "'");
    return values;
}

Config parse(int argc, char** argv) {
    Config c;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw treesne::InvalidArgument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--pca") {
            c.pca = std::stoi(value());
        } else if (a == "--rows") {
            c.rows = std::stoll(value());
        } else if (a == "--k") {
            c.k = std::stoll(value());
        } else if (a == "--m") {
            c.m = parse_list(value());
        } else if (a == "--efc") {
            c.efc = parse_list(value());
        } else if (a == "--ef") {
            c.ef = parse_list(value());
        } else if (a == "--threads") {
            c.threads = std::stoi(value());
        } else if (a == "--sample") {
            c.sample = std::stoll(value());
        } else if (a == "--seed") {
            c.seed = std::stoull(value());
        } else if (a == "--exact-time") {
            c.exact_time = true;
        } else if (a == "--help" || a == "-h") {
            std::cout << "treesne_knn_recall INPUT [--rows N] [--pca D] [--k 90] [--m LIST] [--efc LIST] "
                         "[--ef LIST] "
                         "[--threads 0] [--sample S] [--seed 1] [--exact-time]\n";
            std::exit(0);
        } else if (c.input.empty() && !a.empty() && a[0] != '-') {
            c.input = a;
        } else {
            throw treesne::InvalidArgument("unknown argument '" + a + "'");
        }
    }
    if (c.input.empty()) throw treesne::InvalidArgument("INPUT is required (see --help)");
    return c;
}

// The exact k-th distance of each query row, and the sum of its k smallest distances.
std::vector<double> exact_kth(treesne::ConstMatrixView x, const std::vector<index_t>& queries, index_t k,
                              int threads, std::vector<double>& sums) {
    const std::vector<double> smallest = treesne::bench::exact_smallest(x, queries, k, threads);
    std::vector<double> kth(queries.size());
    sums.assign(queries.size(), 0.0);
    for (std::size_t s = 0; s < queries.size(); ++s) {
        const double* row = smallest.data() + s * static_cast<std::size_t>(k);
        kth[s] = row[k - 1];
        for (index_t j = 0; j < k; ++j) sums[s] += row[j];
    }
    return kth;
}

}  // namespace

int main(int argc, char** argv) try {
    const Config c = parse(argc, argv);
    Matrix x = treesne::io::read_matrix(c.input);
    if (c.rows > 0 && c.rows < x.rows()) {  // the first rows only
        Matrix head(c.rows, x.cols());
        std::copy(x.data(), x.data() + c.rows * x.cols(), head.data());
        x = std::move(head);
    }
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
    std::vector<index_t> queries;
    std::vector<double> kth, sums;
    const auto start = std::chrono::steady_clock::now();
    if (c.sample > 0 && c.sample < n) {
        std::mt19937_64 rng(c.seed);
        std::vector<index_t> all(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
        for (index_t s = 0; s < c.sample; ++s)  // partial Fisher-Yates: the first `sample` are the draw
            std::swap(all[static_cast<std::size_t>(s)],
                      all[static_cast<std::size_t>(s + static_cast<index_t>(rng() % (n - s)))]);
        queries.assign(all.begin(), all.begin() + c.sample);
        kth = exact_kth(x, queries, c.k, c.threads, sums);
        std::printf("# exact scan of %lld sampled rows (seed %llu): %.2f s\n",
                    static_cast<long long>(c.sample), static_cast<unsigned long long>(c.seed),
                    seconds_since(start));
    } else {
        const treesne::NeighborGraph exact =
            treesne::nearest_neighbors(x, c.k, treesne::KnnBackend::brute, c.threads);
        std::printf("# exact graph (brute): %.2f s\n", seconds_since(start));
        for (index_t i = 0; i < n; ++i) {
            queries.push_back(i);
            kth.push_back(exact.row_distances(i)[c.k - 1]);
            double sum = 0;
            for (index_t j = 0; j < c.k; ++j) sum += exact.row_distances(i)[j];
            sums.push_back(sum);
        }
    }
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
                double sum = 0, lowest = 1, excess = 0;
                index_t poor = 0;
                for (std::size_t s = 0; s < queries.size(); ++s) {
                    const double* d = g.row_distances(queries[s]);
                    index_t hits = 0;
                    for (index_t j = 0; j < c.k; ++j) hits += d[j] <= kth[s] ? 1 : 0;
                    const double recall = static_cast<double>(hits) / static_cast<double>(c.k);
                    sum += recall;
                    lowest = std::min(lowest, recall);
                    poor += recall < 0.5 ? 1 : 0;
                    double found = 0;
                    for (index_t j = 0; j < c.k; ++j) found += d[j];
                    excess += sums[s] > 0 ? found / sums[s] - 1 : 0;
                }
                std::printf(
                    "%5d %6d %6lld %8.2f %8.2f %8.2f %8.2f %8.2f %8.5f %8.3f %7lld %7.3f %6lld %9.0f\n", m,
                    efc, static_cast<long long>(treesne::resolve_hnsw_ef_search(o, c.k)),
                    report.build_seconds, report.search_seconds, report.build_seconds + report.search_seconds,
                    report.build_cpu_seconds, search_cpu, sum / static_cast<double>(queries.size()), lowest,
                    static_cast<long long>(poor), 100 * excess / static_cast<double>(queries.size()),
                    static_cast<long long>(report.exact_rows), peak_rss_mib());
                std::fflush(stdout);
            }
        }
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "treesne_knn_recall: %s\n", e.what());
    return 1;
}
