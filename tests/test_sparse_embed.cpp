// Sparse rows end to end: embed() of a CsrMatrix against embed() of its dense copy, the sparse PCA
// start, the command line on .npz / .svm files, and the refusals.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "helpers/cli_runs.hpp"
#include "test_helpers.hpp"
#include "treesne/api/embed.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/eval/metrics.hpp"
#include "treesne/io/io.hpp"

namespace treesne {
namespace {

// Six clusters of count-like sparse rows over `cols` features (each row ~25 features from its cluster's
// 80, 5 from anywhere); labels[i] = i % 6.
CsrMatrix clustered_counts(index_t rows, index_t cols, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::vector<index_t>> prototypes(6);
    for (auto& p : prototypes)
        for (int e = 0; e < 80; ++e) p.push_back(static_cast<index_t>(rng() % static_cast<std::uint64_t>(cols)));
    std::vector<Triplet> entries;
    for (index_t i = 0; i < rows; ++i) {
        const auto& p = prototypes[static_cast<std::size_t>(i % 6)];
        for (int e = 0; e < 30; ++e) {
            const index_t col = e < 25 ? p[rng() % p.size()] : static_cast<index_t>(rng() % static_cast<std::uint64_t>(cols));
            entries.push_back({i, col, static_cast<double>(1 + rng() % 3)});
        }
    }
    return from_triplets(rows, cols, std::move(entries));
}

}  // namespace

TEST_CASE("sparse embed: the same embedding as the dense rows (random start), clusters separated") {
    const CsrMatrix x = clustered_counts(600, 500, 3);
    Options options = testing::quick_options(300, 2);
    options.init = InitKind::random;
    for (const Metric metric : {Metric::euclidean, Metric::cosine}) {
        options.neighbors.metric = metric;
        const Result sparse = embed(x.view(), options);
        const Result dense = embed(to_dense(x), options);
        CHECK(sparse.y == dense.y);  // the sparse search's graph is the dense one's, bit for bit
        std::vector<int> labels(600);
        for (index_t i = 0; i < 600; ++i) labels[static_cast<std::size_t>(i)] = static_cast<int>(i % 6);
        CHECK(knn_accuracy(sparse.y, labels, 10, 2) > 0.9);  // chance: 1/6
    }
    // The sparse PCA start, on 1 and 2 threads: the same bits; and the rows handed over.
    options.init = InitKind::pca;
    options.neighbors.metric = Metric::euclidean;
    options.threads = 1;
    const Result one = embed(x.view(), options);
    options.threads = 2;
    CsrMatrix copy = x;
    const Result two = embed(std::move(copy), options);
    CHECK(one.y == two.y);
}

TEST_CASE("sparse embed: --pca reduces through the sparse PCA, then any metric; refusals") {
    const CsrMatrix x = clustered_counts(300, 400, 4);
    Options options = testing::quick_options(100, 2);
    options.pca_dims = 20;
    options.neighbors.metric = Metric::manhattan;  // not a sparse metric, fine after the PCA
    const Result r = embed(x.view(), options);
    CHECK(r.y.rows() == 300);
    CHECK(r.timings.pca > 0);
    options.pca_dims = 0;
    CHECK(testing::message_of([&] { embed(x.view(), options); }) ==
          "the manhattan metric is not available for sparse input (sparse rows support euclidean, cosine, "
          "jaccard and hamming; or reduce them with PCA first)");
    options.neighbors.metric = Metric::euclidean;
    options.optimizer.method = Method::exact_tsne;
    CHECK(testing::message_of([&] { embed(x.view(), options); }).find("sparse input is embedded by the barnes_hut") == 0);
}

#ifdef TREESNE_CLI_PATH
TEST_CASE("sparse embed: the command line reads .npz and svmlight rows, and names what it refuses") {
    testing::TempDir dir;
    const CsrMatrix x = clustered_counts(300, 200, 5);
    io::write_sparse_npz(dir / "x.npz", x);
    const std::string quick = " --perplexity 10 --iterations 60 --quiet --threads 2 --seed 3 --init random";
    const testing::Run run = testing::run_cli(dir, "embed " + testing::quote(dir / "x.npz") + " -o " +
                                                       testing::quote(dir / "y.npy") + quick);
    CAPTURE(run.err);
    REQUIRE(run.status == 0);
    // The dense copy of the same rows gives the same file.
    io::write_matrix(dir / "x.npy", to_dense(x));
    REQUIRE(testing::run_cli(dir, "embed " + testing::quote(dir / "x.npy") + " -o " + testing::quote(dir / "z.npy") + quick)
                .status == 0);
    CHECK(io::read_matrix(dir / "y.npy") == io::read_matrix(dir / "z.npy"));
    // svmlight with its targets as labels.
    std::string svm;
    for (index_t i = 0; i < x.rows; ++i) {
        svm += std::to_string(i % 6);
        for (index_t e = x.row_begin(i); e < x.row_end(i); ++e)
            svm += " " + std::to_string(x.columns[static_cast<std::size_t>(e)] + 1) + ":" +
                   std::to_string(static_cast<int>(x.values[static_cast<std::size_t>(e)]));
        svm += "\n";
    }
    testing::spit(dir / "x.svm", svm);
    const testing::Run labelled = testing::run_cli(dir, "embed " + testing::quote(dir / "x.svm") + " --labels " +
                                                             testing::quote(dir / "x.svm") + " -o " +
                                                             testing::quote(dir / "s.npy") + quick);
    CAPTURE(labelled.err);
    CHECK(labelled.status == 0);
    const testing::Run metric = testing::run_cli(dir, "embed " + testing::quote(dir / "x.npz") + " -o " +
                                                          testing::quote(dir / "w.npy") + " --metric chebyshev" + quick);
    CHECK(metric.status != 0);
    CHECK(testing::contains(metric.err, "the chebyshev metric is not available for sparse input"));
    CHECK(testing::count_lines(metric.err) == 1);
    CHECK(!std::filesystem::exists(dir / "w.npy"));
    const testing::Run two = testing::run_cli(dir, "embed " + testing::quote(dir / "x.npz") + " " +
                                                       testing::quote(dir / "x.npz") + " -o " +
                                                       testing::quote(dir / "w.npy") + quick);
    CHECK(two.status != 0);
    CHECK(testing::contains(two.err, "sparse input is read from one file; got 2 inputs"));
}
#endif

}  // namespace treesne
