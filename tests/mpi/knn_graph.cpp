// The single process's neighbour graph of a matrix, for tests/mpi/test_mpi_nndescent.sh's references
// (the CLI has no command that writes a graph):
//   knn_graph INPUT BACKEND METRIC PERPLEXITY OUTPUT
// writes the N x k indices (k = neighbor_count(PERPLEXITY, N)) as doubles, with 2 threads.
#include <exception>
#include <iostream>
#include <string>

#include "treesne/io/io.hpp"
#include "treesne/treesne.hpp"

int main(int argc, char** argv) {
    using namespace treesne;
    if (argc != 6) {
        std::cerr << "usage: knn_graph INPUT BACKEND METRIC PERPLEXITY OUTPUT\n";
        return 2;
    }
    try {
        const Matrix x = io::read_matrix(argv[1]);
        NeighborOptions options;
        options.backend = parse_backend(argv[2]).value();
        options.metric = parse_metric(argv[3]).value();
        const index_t k = neighbor_count(std::stod(argv[4]), x.rows());
        const NeighborGraph graph = nearest_neighbors(x.view(), k, options, 2);
        Matrix out(graph.n, graph.k);
        for (std::size_t e = 0; e < graph.indices.size(); ++e) out.data()[e] = static_cast<double>(graph.indices[e]);
        io::write_matrix(argv[5], out.view());
    } catch (const std::exception& e) {
        std::cerr << "knn_graph: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
