// Writes the inputs every tool of benchmarks/peers.sh reads, so all of them see the same numbers:
// Fashion-MNIST (train 60k then t10k 10k = 70k images, pixels / 255), projected on its top principal
// components (fitted once on all 70k rows), and for each requested N the first N rows as
//   DIR/fmnist50_N.npy  (float64, treesne and scikit-learn)
//   DIR/fmnist50_N.csv  (17 significant digits, so R reads back the same doubles)
//   DIR/labels_N.txt    (one class 0-9 per line)
//
//   treesne_prepare_data [--data-dir /usr/share/datasets/fashion-mnist] [--out benchmarks/out/data]
//                        [--sizes 5000,20000,70000] [--dims 50] [--threads 0]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "args_common.hpp"
#include "treesne/io/io.hpp"
#include "treesne/treesne.hpp"

namespace {

struct Config {
    std::string data_dir = "/usr/share/datasets/fashion-mnist";
    std::string out = "benchmarks/out/data";
    std::vector<treesne::index_t> sizes{5000, 20000, 70000};
    int dims = 50;
    int threads = 0;
};

Config parse(int argc, char** argv) {
    Config c;
    using treesne::bench::into;
    treesne::bench::parse_args(argc, argv,
                               "treesne_prepare_data [--data-dir DIR] [--out DIR] [--sizes 5000,20000,70000] "
                               "[--dims 50] [--threads 0]\n",
                               nullptr,
                               {{"--data-dir", into(&c.data_dir)},
                                {"--out", into(&c.out)},
                                {"--sizes", into(&c.sizes)},
                                {"--dims", into(&c.dims)},
                                {"--threads", into(&c.threads)}});
    return c;
}

/// Rows of a on top of rows of b.
treesne::Matrix stack(const treesne::Matrix& a, const treesne::Matrix& b) {
    treesne::Matrix m(a.rows() + b.rows(), a.cols());
    std::copy(a.storage().begin(), a.storage().end(), m.storage().begin());
    std::copy(b.storage().begin(), b.storage().end(),
              m.storage().begin() + static_cast<std::ptrdiff_t>(a.size()));
    return m;
}

}  // namespace

int main(int argc, char** argv) try {
    const Config c = parse(argc, argv);
    const std::string d = c.data_dir + "/";
    treesne::Matrix x = stack(treesne::io::read_matrix(d + "train-images-idx3-ubyte.gz"),
                              treesne::io::read_matrix(d + "t10k-images-idx3-ubyte.gz"));
    const auto train_labels = treesne::io::read_labels(d + "train-labels-idx1-ubyte.gz");
    const auto test_labels = treesne::io::read_labels(d + "t10k-labels-idx1-ubyte.gz");
    std::vector<std::string> labels;
    for (const auto* l : {&train_labels, &test_labels})
        for (int code : l->codes) labels.push_back(l->names[static_cast<std::size_t>(code)]);
    for (double& v : x.storage()) v /= 255.0;
    std::cerr << "read " << x.rows() << " x " << x.cols() << ", PCA to " << c.dims << "\n";
    const treesne::Matrix reduced = treesne::pca(x, c.dims, c.threads).projected;

    std::filesystem::create_directories(c.out);
    for (treesne::index_t n : c.sizes) {
        if (n < 1 || n > reduced.rows())
            throw treesne::InvalidArgument("size " + std::to_string(n) + " is outside 1.." +
                                           std::to_string(reduced.rows()));
        const treesne::ConstMatrixView head{reduced.data(), n, reduced.cols()};
        const std::string stem = c.out + "/fmnist" + std::to_string(c.dims) + "_" + std::to_string(n);
        treesne::io::write_matrix(stem + ".npy", head);
        treesne::io::write_matrix(stem + ".csv", head);
        std::ofstream out(c.out + "/labels_" + std::to_string(n) + ".txt");
        for (treesne::index_t i = 0; i < n; ++i) out << labels[static_cast<std::size_t>(i)] << '\n';
        if (!out) throw treesne::IoError("could not write labels for size " + std::to_string(n));
        std::cerr << "wrote " << stem << ".{npy,csv} and labels\n";
    }
    return 0;
} catch (const std::exception& e) {
    std::cerr << "treesne_prepare_data: " << e.what() << "\n";
    return 1;
}
