// Writes the degenerate data sets of benchmarks/degenerate.sh: the input classes that break t-SNE tools
// (duplicates, ties, constant data, extreme magnitudes), N x D, as a float64 .npy, plus a labels file
// that marks the special rows (1 = a copy of the duplicated row, 0 = the rest).
//
//   treesne_make_degenerate KIND N D OUT.npy [LABELS.txt] [SEED]
//
// KIND:
//   gaussian     N(0, 1) in every coordinate: the baseline
//   duplicates   half the rows one repeated row, the rest Gaussian
//   copies       N / 5 Gaussian points, each repeated 5 times, rows shuffled
//   grid         integers 0..4 in every coordinate: many equal distances and duplicates
//   identical    every row the same
//   constant     Gaussian with one coordinate constant (1e6)
//   near         Gaussian rows plus, for half of them, a copy moved by 1e-12
//   huge, tiny   Gaussian times 1e150 / 1e-150
// Deterministic for a seed (treesne::Rng, the same numbers on every platform).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "generator_common.hpp"
#include "treesne/optimize/init.hpp"
#include "treesne/core/types.hpp"

int main(int argc, char** argv) {
    const char* program = "treesne_make_degenerate";
    using treesne::index_t;
    if (argc < 5 || argc > 7) {
        std::fprintf(stderr, "usage: treesne_make_degenerate KIND N D OUT.npy [LABELS.txt] [SEED]\n");
        return 2;
    }
    const std::string kind = argv[1];
    const index_t n = treesne::bench::parse_count(program, argv[2], "N");
    const index_t d = treesne::bench::parse_count(program, argv[3], "D");
    const auto [out, labels_path, seed] = treesne::bench::parse_outputs(program, argc, argv);

    treesne::Rng rng(seed);
    treesne::Matrix x(n, d);
    for (double& v : x.storage()) v = rng.normal();
    std::vector<int> labels(static_cast<std::size_t>(n), 0);
    if (kind == "gaussian") {
    } else if (kind == "duplicates") {
        for (index_t i = 0; i < n / 2; ++i) {
            for (index_t j = 0; j < d; ++j) x(i, j) = x(0, j);
            labels[static_cast<std::size_t>(i)] = 1;
        }
    } else if (kind == "copies") {
        std::vector<index_t> source(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) source[static_cast<std::size_t>(i)] = i / 5;
        for (std::size_t i = source.size(); i > 1; --i)
            std::swap(source[i - 1], source[static_cast<std::size_t>(rng.next() % i)]);
        const treesne::Matrix base = x;
        for (index_t i = 0; i < n; ++i)
            for (index_t j = 0; j < d; ++j) x(i, j) = base(source[static_cast<std::size_t>(i)], j);
    } else if (kind == "grid") {
        for (double& v : x.storage()) v = static_cast<double>(rng.next() % 5);
    } else if (kind == "identical") {
        for (double& v : x.storage()) v = 3.25;
    } else if (kind == "constant") {
        for (index_t i = 0; i < n; ++i) x(i, 0) = 1e6;
    } else if (kind == "near") {
        for (index_t i = n / 2; i < n; ++i)
            for (index_t j = 0; j < d; ++j) x(i, j) = x(i - n / 2, j) + (j == 0 ? 1e-12 : 0.0);
    } else if (kind == "huge" || kind == "tiny") {
        for (double& v : x.storage()) v *= kind == "huge" ? 1e150 : 1e-150;
    } else {
        std::fprintf(stderr, "treesne_make_degenerate: unknown KIND '%s' (see the comment at the top)\n",
                     kind.c_str());
        return 2;
    }
    if (const int status = treesne::bench::write_outputs(program, out, x, labels_path, labels)) return status;
    return 0;
}
