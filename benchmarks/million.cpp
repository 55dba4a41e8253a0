// Writes a large clustered data set for benchmarks/million.sh: N points in D dimensions drawn from C
// Gaussian clusters of unequal sizes and widths, as a float64 .npy, and the cluster of each point as a
// labels file (one per line).
//
//   treesne_make_clusters N D C OUT.npy [LABELS.txt] [SEED]
//
// Deterministic for a seed (treesne::Rng, the same numbers on every platform). Centres are N(0, 10^2)
// per coordinate, cluster c has standard deviation 1 + (c mod 4) / 2 and weight proportional to 1 + c mod 3,
// so the clusters overlap a little and the neighbour search sees realistic, uneven densities.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "generator_common.hpp"
#include "treesne/optimize/init.hpp"
#include "treesne/core/types.hpp"

int main(int argc, char** argv) {
    const char* program = "treesne_make_clusters";
    if (argc < 5 || argc > 7) {
        std::fprintf(stderr, "usage: treesne_make_clusters N D C OUT.npy [LABELS.txt] [SEED]\n");
        return 2;
    }
    const treesne::index_t n = treesne::bench::parse_count(program, argv[1], "N");
    const treesne::index_t d = treesne::bench::parse_count(program, argv[2], "D");
    const treesne::index_t c = treesne::bench::parse_count(program, argv[3], "C");
    const auto [out, labels_path, seed] = treesne::bench::parse_outputs(program, argc, argv);

    treesne::Rng rng(seed);
    treesne::Matrix centres(c, d);
    for (double& v : centres.storage()) v = 10.0 * rng.normal();
    std::vector<double> cumulative(static_cast<std::size_t>(c));
    double total = 0;
    for (treesne::index_t k = 0; k < c; ++k) cumulative[static_cast<std::size_t>(k)] = total += 1.0 + k % 3;

    treesne::Matrix x(n, d);
    std::vector<int> labels(static_cast<std::size_t>(n));
    for (treesne::index_t i = 0; i < n; ++i) {
        const double u = rng.uniform() * total;
        treesne::index_t k = 0;
        while (k + 1 < c && cumulative[static_cast<std::size_t>(k)] <= u) ++k;
        const double sd = 1.0 + static_cast<double>(k % 4) / 2.0;
        for (treesne::index_t j = 0; j < d; ++j) x(i, j) = centres(k, j) + sd * rng.normal();
        labels[static_cast<std::size_t>(i)] = static_cast<int>(k);
    }
    if (const int status = treesne::bench::write_outputs(program, out, x, labels_path, labels)) return status;
    std::fprintf(stderr, "wrote %s: %lld x %lld, %lld clusters\n", out.c_str(), static_cast<long long>(n),
                 static_cast<long long>(d), static_cast<long long>(c));
    return 0;
}
