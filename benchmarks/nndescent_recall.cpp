// Recall, time and memory of the approximate kNN backend --knn nndescent against the exact graph, over a
// grid of its parameters: the measurements behind the defaults in resolve_nndescent
// (src/knn/nndescent.cpp).
//
//   treesne_nndescent_recall INPUT [--rows N] [--k 90] [--threads 0] [--sample 0] [--seed 1]
//                                  [--trees LIST] [--leaf LIST] [--rounds LIST] [--candidates LIST]
//                                  [--reverse LIST] [--check-threads T]
//
// --rows N keeps the first N rows. The parameter options take comma-separated lists (default: the
// library's defaults); every combination is run; --rounds -1 measures the first graph alone. Reference:
// --sample 0 computes the whole exact graph (brute backend) and measures recall over every row; --sample S >
// 0 draws S rows at random (seeded) and finds their exact neighbours by a scan of all N points, O(S N D).
// Recall of a row: the share of its k neighbours whose distance is at most the exact k-th distance.
// --check-threads T also builds the graph of the first combination with T threads and reports whether it is
// identical. One line per run: the parameters, wall seconds of the forest, the first graph, the refinement
// and the exact distances, the total, the process CPU seconds, rounds run, the entries changed per round (in
// thousandths of N k), mean recall, the lowest row recall, rows with recall below 0.5, rows answered by
// an exact scan and the peak resident memory so far (VmHWM).
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
    std::vector<long long> trees{0}, leaf{0}, rounds{0}, candidates{0}, reverse{-1};
    int check_threads = 0;
};

Config parse(int argc, char** argv) {
    Config c;
    using treesne::bench::into;
    treesne::bench::parse_args(
        argc, argv,
        "treesne_nndescent_recall INPUT [--rows N] [--k 90] [--threads 0] [--sample S] [--seed 1] "
        "[--trees LIST] [--leaf LIST] [--rounds LIST] [--candidates LIST] [--reverse LIST] "
        "[--check-threads T]\n",
        &c.input,
        treesne::bench::recall_options(c, {{"--trees", into(&c.trees)},
                                           {"--leaf", into(&c.leaf)},
                                           {"--rounds", into(&c.rounds)},
                                           {"--candidates", into(&c.candidates)},
                                           {"--reverse", into(&c.reverse)},
                                           {"--check-threads", into(&c.check_threads)}}));
    return c;
}

}  // namespace

int main(int argc, char** argv) try {
    const Config c = parse(argc, argv);
    const Matrix x = treesne::bench::read_first_rows(c.input, c.rows);
    const index_t n = x.rows();
    std::printf("# data %s: %lld x %lld, k = %lld, threads %d, peak %.0f MiB after loading\n",
                c.input.c_str(), static_cast<long long>(n), static_cast<long long>(x.cols()),
                static_cast<long long>(c.k), treesne::resolve_threads(c.threads), peak_rss_mib());

    const index_t top = std::min<index_t>(10, c.k);
    const treesne::bench::Reference ref =
        treesne::bench::exact_reference(x, c.k, top, c.sample, c.seed, c.threads);

    std::printf("%5s %5s %6s %7s %7s %7s %7s %7s %7s %7s %8s %6s %-28s %8s %7s %7s %6s %8s %7s %8s\n",
                "trees", "leaf", "rounds", "cands", "reverse", "forest", "init", "refine", "finish", "total",
                "cpu", "ran", "changed/1000", "recall", "min_row", "rows<.5", "exact", "peak_MiB", "dist/pt",
                "recall10");
    std::fflush(stdout);
    bool first = true;
    for (long long trees : c.trees)
        for (long long leaf : c.leaf)
            for (long long rounds : c.rounds)
                for (long long candidates : c.candidates)
                    for (long long reverse : c.reverse) {
                        treesne::NeighborOptions o;
                        o.nndescent_trees = static_cast<int>(trees);
                        o.nndescent_leaf_size = static_cast<int>(leaf);
                        o.nndescent_rounds = static_cast<int>(std::max(rounds, 0LL));
                        treesne::validate(o);
                        treesne::detail::NndescentParameters p =
                            treesne::detail::resolve_nndescent(o, n, c.k);
                        if (rounds < 0) p.rounds = 0;  // the first graph alone
                        if (candidates > 0) p.candidates = candidates;
                        if (reverse >= 0) p.reverse_cap = reverse;
                        treesne::detail::NndescentReport r;
                        const double cpu_start = process_cpu_seconds();
                        const treesne::NeighborGraph g =
                            treesne::detail::knn_nndescent(x, c.k, p, c.threads, &r);
                        const double cpu = process_cpu_seconds() - cpu_start;
                        const treesne::bench::Recall recall = treesne::bench::recall_of(g, ref, c.k, top);
                        double per_point = 0;
                        for (index_t v : r.distances)
                            per_point += static_cast<double>(v) / static_cast<double>(n);
                        std::string changed;
                        for (index_t v : r.changes)
                            changed +=
                                (changed.empty() ? "" : ",") +
                                std::to_string(static_cast<long long>(
                                    1000.0 * static_cast<double>(v) / static_cast<double>(n * c.k) + 0.5));
                        std::printf(
                            "%5lld %5lld %6lld %7lld %7lld %7.2f %7.2f %7.2f %7.2f %7.2f %8.2f %6lld %-28s "
                            "%8.5f %7.3f %7lld %6lld %8.0f %7.0f %8.5f\n",
                            static_cast<long long>(p.trees), static_cast<long long>(p.leaf_size),
                            static_cast<long long>(p.rounds), static_cast<long long>(p.candidates),
                            static_cast<long long>(p.reverse_cap), r.forest_seconds, r.init_seconds,
                            r.refine_seconds, r.finish_seconds,
                            r.forest_seconds + r.init_seconds + r.refine_seconds + r.finish_seconds, cpu,
                            static_cast<long long>(r.rounds), changed.c_str(), recall.mean, recall.lowest,
                            static_cast<long long>(recall.poor), static_cast<long long>(r.exact_rows),
                            peak_rss_mib(), per_point, recall.top_mean);
                        std::fflush(stdout);
                        if (first && c.check_threads > 0) {
                            const treesne::NeighborGraph h =
                                treesne::detail::knn_nndescent(x, c.k, p, c.check_threads);
                            std::printf("# same graph with %d threads: %s\n", c.check_threads,
                                        h.indices == g.indices && h.distances == g.distances ? "yes" : "NO");
                        }
                        first = false;
                    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "treesne_nndescent_recall: %s\n", e.what());
    return 1;
}
