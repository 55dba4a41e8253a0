// treesne_accuracy: Barnes-Hut t-SNE against the exact method on Fashion-MNIST (or any data), for
// benchmarks/RESULTS.md. A thin caller of treesne::measure_accuracy (src/eval/accuracy.cpp), the one
// implementation that `treesne accuracy` also runs; this program only keeps the benchmark's defaults:
// the first N rows of Fashion-MNIST t10k (PCA to 50) or Gaussian clusters, more thetas, the full runs on,
// 5 to 15 timed calls per gradient, and --out PREFIX writing PREFIX.json, PREFIX.csv and PREFIX.png.
//
//  1. Gradient error at the initial, after-exaggeration and final embeddings of one theta = 0.5 run:
//     relative L2 error of the gradient, of the repulsion, of Z, and the time of one gradient.
//  2. Optimisation outcome: a full run per theta and one exact t-SNE run, judged by the exact KL against
//     the sparse and the dense P, 10-NN preservation and accuracy, and wall time.
//
// Run `treesne_accuracy --help` for the options. Not part of ctest.
#include "treesne/eval/accuracy.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "args_common.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/io/io.hpp"
#include "treesne/plot/plot.hpp"
#include "treesne/treesne.hpp"

namespace {

using treesne::ConstMatrixView;
using treesne::index_t;
using treesne::Matrix;

const char* const fashion_images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* const fashion_labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

struct Config {
    std::string input;
    std::string labels;
    index_t n = 2000;
    std::vector<double> thetas{0, 0.1, 0.25, 0.5, 0.75, 1.0};
    index_t iterations = 1000;
    int threads = 0;
    std::string out = "benchmarks/out/accuracy";
    bool skip_runs = false;
};

const char* const usage =
    "treesne_accuracy [options]: Barnes-Hut t-SNE gradient and outcome against the exact method\n"
    "  --input FILE      data (any format treesne reads); default: Fashion-MNIST t10k if\n"
    "                    installed (first N rows, PCA to 50), else 10 Gaussian clusters in 50-D\n"
    "  --labels FILE     class labels for the kNN accuracy (default: Fashion-MNIST's)\n"
    "  --n N             points, first N rows (default 2000; the exact run is O(N^2))\n"
    "  --thetas LIST     comma-separated (default 0,0.1,0.25,0.5,0.75,1)\n"
    "  --iterations N    per full run (default 1000)\n"
    "  --threads N       (default 0 = all)\n"
    "  --out PREFIX      writes PREFIX.json, PREFIX.csv, PREFIX.png (default "
    "benchmarks/out/accuracy)\n"
    "  --skip-runs       gradient errors only, no full optimisations\n"
    "The same measurements for any data: treesne accuracy --help.\n";

Config parse(int argc, char** argv) {
    Config c;
    using treesne::bench::into;
    treesne::bench::parse_args(argc, argv, usage, nullptr,
                               {{"--input", into(&c.input)},
                                {"--labels", into(&c.labels)},
                                {"--n", into(&c.n)},
                                {"--thetas", into(&c.thetas)},
                                {"--iterations", into(&c.iterations)},
                                {"--threads", into(&c.threads)},
                                {"--out", into(&c.out)},
                                {"--skip-runs", treesne::bench::flag(&c.skip_runs)}});
    treesne::require(c.n >= 100, "--n must be at least 100; got ", c.n);
    treesne::require(!c.thetas.empty(), "--thetas is empty");
    return c;
}

struct Data {
    Matrix x;
    std::vector<int> labels;
    std::string description;
};

/// 10 Gaussian clusters in 50-D: centres N(0, 3^2), points N(centre, 1).
Data gaussian_clusters(index_t n) {
    Data d;
    const index_t dim = 50, clusters = 10;
    treesne::Rng rng(7);
    Matrix centres(clusters, dim);
    for (double& v : centres.storage()) v = 3.0 * rng.normal();
    d.x = Matrix(n, dim);
    for (index_t i = 0; i < n; ++i) {
        const index_t c = i % clusters;
        for (index_t j = 0; j < dim; ++j) d.x(i, j) = centres(c, j) + rng.normal();
        d.labels.push_back(static_cast<int>(c));
    }
    d.description = "10 Gaussian clusters in 50-D (seed 7)";
    return d;
}

Matrix head(const Matrix& m, index_t n) {
    return Matrix(ConstMatrixView{m.data(), std::min(n, m.rows()), m.cols()});
}

Data load(const Config& c) {
    Data d;
    std::string source = c.input;
    std::string labels = c.labels;
    if (source.empty()) {
        if (!std::filesystem::exists(fashion_images)) return gaussian_clusters(c.n);
        source = fashion_images;
        if (labels.empty()) labels = fashion_labels;
    }
    d.x = head(treesne::io::read_matrix(source), c.n);
    d.description = source + ", first " + std::to_string(d.x.rows()) + " rows";
    if (d.x.cols() > 50) d.description += ", PCA to 50";
    if (!labels.empty()) {
        const auto l = treesne::io::read_labels(labels);
        treesne::require(static_cast<index_t>(l.codes.size()) >= d.x.rows(), "labels file ", labels, " has ",
                         l.codes.size(), " labels for ", d.x.rows(), " points");
        d.labels.assign(l.codes.begin(), l.codes.begin() + d.x.rows());
    }
    return d;
}

void write_file(const std::string& path, const std::string& text) {
    treesne::io::AtomicFile f(path);
    f.write(text);
    f.commit();
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
    }
    return out + "\"";
}

}  // namespace

int main(int argc, char** argv) try {
    const Config c = parse(argc, argv);
    const Data data = load(c);
    std::cerr << "data: " << data.description << " (" << data.x.rows() << " x " << data.x.cols() << ")\n";

    treesne::Options options;
    options.threads = c.threads;
    options.optimizer.iterations = c.iterations;
    if (data.x.cols() > 50) options.pca_dims = 50;
    treesne::AccuracyOptions a;
    a.thetas = c.thetas;
    a.runs = !c.skip_runs;
    a.timing_calls = 15;  // 5 to 15 calls of at most 3 s in all, as the numbers in RESULTS.md were taken
    a.timing_seconds = 3.0;
    std::string last_stage;
    const treesne::AccuracyReport report =
        treesne::measure_accuracy(data.x, options, a, data.labels.empty() ? nullptr : &data.labels,
                                  [&last_stage](const std::string& stage, double) {
                                      if (stage != last_stage) std::cerr << stage << "\n";
                                      last_stage = stage;
                                  });

    std::cout << "\n" << treesne::format_accuracy_table(report);
    const auto parent = std::filesystem::path(c.out).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    write_file(c.out + ".csv", treesne::format_accuracy_csv(report));
    // The library's JSON with the data's description added as the first key.
    write_file(c.out + ".json", "{\n  \"data\": " + json_string(data.description) + "," +
                                    treesne::format_accuracy_json(report).substr(1));
    treesne::plot_accuracy(c.out + ".png", report,
                           "Barnes-Hut vs exact t-SNE gradient: " + data.description + ", " +
                               std::to_string(report.threads) + " threads");
    std::cerr << "wrote " << c.out << ".{csv,json,png}\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "treesne_accuracy: " << e.what() << "\n";
    return 1;
}
