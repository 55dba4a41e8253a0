// The brute force's two exact paths for jaccard and hamming on 0/1 rows: popcounts of the bit-packed rows
// (taken when every entry is 0 or 1) against the coordinate scan (the same rows times 2: the same
// distances, not 0/1, so the scan runs). Random fingerprints: `clusters` prototypes of D bits (each 1
// with probability 0.2), every row its prototype with each bit flipped with probability 0.1.
//
//   treesne_knn_binary [--rows 20000] [--dims 1024] [--k 90] [--threads 0] [--metric jaccard] [--clusters 20]
//
// Prints one line per path: wall seconds of nearest_neighbors (brute), and whether both graphs are equal
// bit for bit (they must be).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "treesne/treesne.hpp"

namespace {

double seconds(const std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    using treesne::index_t;
    index_t n = 20000, d = 1024, k = 90, clusters = 20;
    int threads = 0;
    std::string metric = "jaccard";
    for (int a = 1; a + 1 < argc; a += 2) {
        const std::string name = argv[a], value = argv[a + 1];
        if (name == "--rows") n = std::stoll(value);
        else if (name == "--dims") d = std::stoll(value);
        else if (name == "--k") k = std::stoll(value);
        else if (name == "--threads") threads = std::stoi(value);
        else if (name == "--metric") metric = value;
        else if (name == "--clusters") clusters = std::stoll(value);
        else {
            std::cerr << "unknown option " << name << "\n";
            return 2;
        }
    }
    std::mt19937_64 rng(1);
    std::bernoulli_distribution prototype_bit(0.2), flip(0.1);
    treesne::Matrix prototypes(clusters, d), bits(n, d), doubled(n, d);
    for (double& v : prototypes.storage()) v = prototype_bit(rng) ? 1.0 : 0.0;
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < d; ++j) {
            const double p = prototypes(i % clusters, j);
            bits(i, j) = flip(rng) ? 1.0 - p : p;
            doubled(i, j) = 2.0 * bits(i, j);
        }
    treesne::NeighborOptions options;
    options.backend = treesne::KnnBackend::brute;
    options.metric = *treesne::parse_metric(metric);
    auto start = std::chrono::steady_clock::now();
    const treesne::NeighborGraph popcount = treesne::nearest_neighbors(bits, k, options, threads);
    const double popcount_seconds = seconds(start);
    start = std::chrono::steady_clock::now();
    const treesne::NeighborGraph scan = treesne::nearest_neighbors(doubled, k, options, threads);
    const double scan_seconds = seconds(start);
    const bool same = popcount.indices == scan.indices && popcount.distances == scan.distances;
    std::cout << metric << " " << n << " x " << d << ", k " << k << ", threads " << treesne::resolve_threads(threads)
              << ": popcount " << popcount_seconds << " s, coordinate scan " << scan_seconds << " s ("
              << scan_seconds / popcount_seconds << "x), same graph: " << (same ? "yes" : "NO") << "\n";
    return same ? 0 : 1;
}
