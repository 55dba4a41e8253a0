// Each module's memory model (pca_bytes, neighbor_graph_bytes, conditional_bytes, affinities_bytes,
// space_tree_bytes, gradient_workspace_bytes, session_bytes, neighbor_search_bytes) against the buffers
// the module really allocates, where they can be measured cheaply; and estimate_memory as their sum.
#include <cmath>
#include <vector>

#include "doctest/doctest.h"
#include "test_helpers.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

TEST_CASE("memory model: the kNN graph and the conditionals are the bytes the stages allocate") {
    const Matrix x = clustered(4, 150, 5, 7);
    const index_t k = 30;
    const NeighborGraph graph = nearest_neighbors(x.view(), k, KnnBackend::kdtree, 2);
    const double n = static_cast<double>(x.rows());
    CHECK(neighbor_graph_bytes(n, static_cast<double>(k)) ==
          static_cast<double>(graph.indices.size() * sizeof(point_t) + graph.distances.size() * sizeof(double)));
    AffinityOptions a;
    a.perplexity = 10;
    const std::vector<float> conditional = conditional_probabilities(graph, a, 2);
    CHECK(conditional_bytes(n, static_cast<double>(k)) == static_cast<double>(conditional.size() * sizeof(float)));
}

TEST_CASE("memory model: P's estimate covers the symmetric P of an exact graph") {
    const Matrix x = clustered(4, 300, 3, 11);
    const index_t k = 30;
    AffinityOptions a;
    a.perplexity = 10;
    const Affinities p = compute_affinities(nearest_neighbors(x.view(), k, KnnBackend::kdtree, 2), a, 2);
    const double n = static_cast<double>(p.n), kk = static_cast<double>(k);
    const double actual = static_cast<double>(p.values.size() * sizeof(float) + p.columns.size() * sizeof(point_t) +
                                              p.offsets.size() * sizeof(index_t));
    // Between N k and 2 N k entries; the model (1.5 N k) must cover an exact graph's fill.
    CHECK(actual >= n * kk * 8 + (n + 1) * 8);
    CHECK(actual <= affinities_bytes(n, kk, false));
    CHECK(affinities_bytes(n, kk, false) < affinities_bytes(n, kk, true));
}

TEST_CASE_TEMPLATE("memory model: the tree's nodes and points fit space_tree_bytes", T,
                   std::integral_constant<int, 1>, std::integral_constant<int, 2>, std::integral_constant<int, 3>) {
    constexpr int Dim = T::value;
    const Matrix y = random_matrix(5000, Dim, 3);
    SpaceTree<Dim> tree;
    tree.build(y.view(), 2);
    // The model's node term is the real node's size.
    CHECK(static_cast<double>(sizeof(typename SpaceTree<Dim>::Node)) == 8 + 8 * Dim + 4 * Dim * (Dim + 1) + 16);
    const double n = static_cast<double>(y.rows());
    const double per_point = n * (4 + 8 + 8 + 4 + 8 + 8 * Dim);
    CHECK(per_point + static_cast<double>(tree.nodes().size() * sizeof(typename SpaceTree<Dim>::Node)) <=
          space_tree_bytes(n, Dim));
}

TEST_CASE("memory model: the gradient workspace and the session's state") {
    const Matrix x = clustered(3, 100, 4, 5);
    const Options o = quick_options(2);
    const Affinities p = compute_affinities(nearest_neighbors(x.view(), 30, KnnBackend::kdtree, 2), o.affinities, 2);
    const Matrix y = random_matrix(x.rows(), 2, 9, 1e-2);
    SpaceTree<2> tree;
    Matrix grad(x.rows(), 2);
    GradientWorkspace work;
    barnes_hut_gradient<2>(p, y.view(), tree, 0.5, 1.0, grad.view(), 2, nullptr, nullptr, &work);
    const double n = static_cast<double>(x.rows());
    // On two threads the attraction goes into the workspace (the tree is built beside it).
    CHECK(gradient_workspace_bytes(n, 2) == static_cast<double>(work.attraction.size()) * sizeof(double));
    Session session(p, y, o);
    session.run(1);
    const OptimizerState& s = session.state();
    const double state = static_cast<double>(s.y.size() + s.gains.size() + s.velocity.size()) * sizeof(double);
    // Y, gains, velocity and the gradient (the size of Y): a report's embedding in the input's order
    // is written into the gradient, and into_embedding() frees the rest before it reorders Y.
    CHECK(session_bytes(n, 2) == state / 3 * 4);
}

TEST_CASE("memory model: the search buffers by backend") {
    NeighborOptions o;
    const double n = 100000, d = 50, k = 90;
    // nndescent: 4 bytes a point for each tree of the forest.
    NeighborOptions more = o;
    more.nndescent_trees = 12;
    o.nndescent_trees = 8;
    CHECK(neighbor_search_bytes(KnnBackend::nndescent, n, d, k, more) -
              neighbor_search_bytes(KnnBackend::nndescent, n, d, k, o) ==
          doctest::Approx(4 * n * sizeof(point_t)));
    // cosine searches a unit-length double copy of the rows, whatever the backend.
    NeighborOptions cosine = o;
    cosine.metric = Metric::cosine;
    for (KnnBackend b : {KnnBackend::kdtree, KnnBackend::brute, KnnBackend::hnsw, KnnBackend::nndescent})
        CHECK(neighbor_search_bytes(b, n, d, k, cosine) - neighbor_search_bytes(b, n, d, k, o) ==
              doctest::Approx(n * d * sizeof(double)));
}

TEST_CASE("memory model: estimate_memory sums the modules' models") {
    Options o;
    o.threads = 2;  // whatever the machine: the tree's sort is then borrowed (below)
    o.pca_dims = 30;
    o.neighbors.backend = KnnBackend::brute;
    const index_t n = 20000, d = 100;
    const MemoryEstimate e = estimate_memory(n, d, o);
    const double nn = static_cast<double>(n);
    const double k = static_cast<double>(neighbor_count(o.affinities, n));
    CHECK(e.pca == pca_bytes(nn, 100, 30));
    CHECK(e.neighbors == neighbor_graph_bytes(nn, k));
    CHECK(e.neighbor_search == neighbor_search_bytes(KnnBackend::brute, nn, 30, k, o.neighbors));
    CHECK(e.affinities == packed_p_bytes(nn, k, false));  // P as the session holds it
    CHECK(e.affinities == affinities_bytes(nn, k, false));  // not packed (packed.hpp)
    // On up to tree_beside_max_threads threads the tree sorts through the gradient's buffer.
    CHECK(e.tree == space_tree_bytes(nn, 2, true));
    CHECK(space_tree_bytes(nn, 2, true) == space_tree_bytes(nn, 2) - 12 * nn);
    Options many = o;
    many.threads = tree_beside_max_threads + 1;
    CHECK(estimate_memory(n, d, many).tree == space_tree_bytes(nn, 2));
    Options line = o;
    line.dims = 1;  // a gradient of 8 bytes a point is too small for the sort's 12
    CHECK(estimate_memory(n, d, line).tree == space_tree_bytes(nn, 1));
    CHECK(e.session == session_bytes(nn, 2) + gradient_workspace_bytes(nn, 2));
    Options exact = o;
    exact.optimizer.method = Method::exact_tsne;
    CHECK(estimate_memory(n, d, exact).dense == dense_affinities_bytes(nn));
}

TEST_CASE("memory model: pca_bytes counts the scores pca() returns and its per-block covariances") {
    const Matrix x = random_matrix(5000, 12, 4);
    const PcaResult r = pca(x.view(), 3, 2);
    const double blocks = std::ceil(5000.0 / static_cast<double>(pca_block_rows));
    CHECK(blocks == 3);
    CHECK(pca_bytes(5000, 12, 3) == static_cast<double>(r.projected.size()) * sizeof(double) + blocks * 12 * 12 * 8);
}
