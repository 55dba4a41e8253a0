// Precomputed inputs (neighbour lists, sparse neighbour matrices, distance matrices, joint affinities),
// the affinity kernels (multiscale perplexities, a fixed sigma, uniform) against naive dense
// computations, and the CLI's --affinities / --neighbors / --input-kind / --affinity options.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "helpers/cli_runs.hpp"
#include "test_helpers.hpp"
#include "treesne/io/io.hpp"
#include "treesne/affinities/precomputed.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

// The dense N x N Euclidean distances of x, not squared.
Matrix distance_matrix(const Matrix& x) {
    Matrix d(x.rows(), x.rows());
    for (index_t i = 0; i < x.rows(); ++i)
        for (index_t j = 0; j < x.rows(); ++j) {
            double s = 0;
            for (index_t c = 0; c < x.cols(); ++c) s += (x(i, c) - x(j, c)) * (x(i, c) - x(j, c));
            d(i, j) = std::sqrt(s);
        }
    return d;
}

// Dense joint P of the naive computation: conditional rows over each point's k nearest (by an
// independent scan), each row from `row_of` (distances squared -> probabilities), symmetrised / 2N.
template <class RowOf>
Matrix naive_joint(const Matrix& x, index_t k, RowOf row_of) {
    const index_t n = x.rows();
    const Matrix d = distance_matrix(x);
    Matrix conditional(n, n);
    for (index_t i = 0; i < n; ++i) {
        std::vector<std::pair<double, index_t>> row;
        for (index_t j = 0; j < n; ++j)
            if (j != i) row.emplace_back(d(i, j) * d(i, j), j);
        std::sort(row.begin(), row.end());
        row.resize(static_cast<std::size_t>(k));
        std::vector<double> squared;
        for (const auto& e : row) squared.push_back(e.first);
        const std::vector<double> p = row_of(squared);
        for (std::size_t s = 0; s < row.size(); ++s) conditional(i, row[s].second) = p[s];
    }
    Matrix joint(n, n);
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j) joint(i, j) = (conditional(i, j) + conditional(j, i)) / (2.0 * n);
    return joint;
}

// Row probabilities of a Gaussian with precision beta over squared distances.
std::vector<double> gaussian_row(const std::vector<double>& squared, double beta) {
    std::vector<double> p;
    double sum = 0;
    for (double s : squared) {
        p.push_back(std::exp(-beta * (s - squared.front())));
        sum += p.back();
    }
    for (double& v : p) v /= sum;
    return p;
}

// The Gaussian row of perplexity `perplexity`, by plain bisection on beta (independent of the library's
// Newton search).
std::vector<double> perplexity_row(const std::vector<double>& squared, double perplexity) {
    double lo = 0, hi = 1e6;
    for (int step = 0; step < 200; ++step) {
        const double beta = 0.5 * (lo + hi);
        const std::vector<double> p = gaussian_row(squared, beta);
        double h = 0;
        for (double v : p)
            if (v > 0) h -= v * std::log(v);
        (h > std::log(perplexity) ? lo : hi) = beta;
    }
    return gaussian_row(squared, 0.5 * (lo + hi));
}

double max_abs_difference(const Matrix& a, const Matrix& b) {
    double m = 0;
    for (index_t i = 0; i < a.rows(); ++i)
        for (index_t j = 0; j < a.cols(); ++j) m = std::max(m, std::abs(a(i, j) - b(i, j)));
    return m;
}

Affinities kind_affinities(const Matrix& x, const AffinityOptions& a) {
    const NeighborGraph g = nearest_neighbors_naive(x, neighbor_count(a, x.rows()));
    return compute_affinities(g, a, 1);
}

void check_joint_invariants(const Affinities& p) {
    CHECK(affinities_defect(p) == "");
}

bool same_bits(const Matrix& a, const Matrix& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() && a.storage() == b.storage();
}

}  // namespace

TEST_CASE("affinity kinds: multiscale, sigma and uniform match a naive dense computation") {
    const Matrix x = clustered(3, 20, 4, 11, 4.0);
    const index_t n = x.rows();
    SUBCASE("uniform: 1/k on the k nearest, symmetrised") {
        AffinityOptions a;
        a.kind = AffinityKind::uniform;
        a.k = 7;
        const Affinities p = kind_affinities(x, a);
        check_joint_invariants(p);
        const Matrix naive = naive_joint(x, 7, [](const std::vector<double>& s) {
            return std::vector<double>(s.size(), 1.0 / static_cast<double>(s.size()));
        });
        CHECK(max_abs_difference(densify(p), naive) < 1e-8);
    }
    SUBCASE("sigma: one Gaussian width for every point") {
        AffinityOptions a;
        a.kind = AffinityKind::sigma;
        a.sigma = 1.7;
        a.k = 12;
        const Affinities p = kind_affinities(x, a);
        check_joint_invariants(p);
        const Matrix naive = naive_joint(x, 12, [](const std::vector<double>& s) {
            return gaussian_row(s, 1.0 / (2 * 1.7 * 1.7));
        });
        CHECK(max_abs_difference(densify(p), naive) < 1e-8);
    }
    SUBCASE("multiscale: the mean of each scale's calibrated rows, k from the largest") {
        AffinityOptions a;
        a.perplexity = 3;
        a.more_perplexities = {9};
        CHECK(neighbor_count(a, n) == 27);
        const Affinities p = kind_affinities(x, a);
        check_joint_invariants(p);
        const Matrix naive = naive_joint(x, 27, [](const std::vector<double>& s) {
            const std::vector<double> small = perplexity_row(s, 3), large = perplexity_row(s, 9);
            std::vector<double> mean(s.size());
            for (std::size_t j = 0; j < s.size(); ++j) mean[j] = 0.5 * (small[j] + large[j]);
            return mean;
        });
        CHECK(max_abs_difference(densify(p), naive) < 1e-6);
        // One scale is the ordinary perplexity P.
        AffinityOptions single;
        single.perplexity = 3;
        single.k = 27;
        const Matrix one = naive_joint(x, 27, [](const std::vector<double>& s) { return perplexity_row(s, 3); });
        CHECK(max_abs_difference(densify(kind_affinities(x, single)), one) < 1e-6);
    }
}

TEST_CASE("affinity kinds: invalid settings are refused naming the field") {
    Options o;
    o.affinities.kind = AffinityKind::sigma;
    o.affinities.sigma = 0;
    CHECK_THROWS_WITH_AS(validate(o, 100, 3), doctest::Contains("sigma must be > 0"), InvalidArgument);
    o = Options{};
    o.affinities.more_perplexities = {200};
    CHECK_THROWS_WITH_AS(validate(o, 100, 3), doctest::Contains("perplexity 200 must be below N - 1"),
                         InvalidArgument);
    o = Options{};
    o.affinities.k = 20;
    CHECK_THROWS_WITH_AS(validate(o, 100, 3), doctest::Contains("needs more than k = 20"), InvalidArgument);
    o = Options{};
    o.affinities.kind = AffinityKind::uniform;
    o.affinities.more_perplexities = {5};
    CHECK_THROWS_WITH_AS(validate(o, 100, 3), doctest::Contains("several perplexities"), InvalidArgument);
    o = Options{};
    o.affinities.kind = AffinityKind::uniform;
    o.affinities.k = 100;
    CHECK_THROWS_WITH_AS(validate(o, 100, 3), doctest::Contains("k = 100 neighbours need more than"),
                         InvalidArgument);
}

TEST_CASE("neighbors_from_distances and neighbors_from_lists give the search's graph") {
    const Matrix x = clustered(3, 25, 5, 3, 3.0);
    const index_t k = 10;
    const NeighborGraph expected = nearest_neighbors(x, k, KnnBackend::brute, 1);
    const Matrix d = distance_matrix(x);
    for (int threads : {1, 3}) {
        const NeighborGraph g = neighbors_from_distances(d, k, threads);
        CHECK(g.indices == expected.indices);
        for (std::size_t e = 0; e < g.distances.size(); ++e)
            CHECK(g.distances[e] == doctest::Approx(expected.distances[e]).epsilon(1e-12));
    }
    // Lists with the point itself first (as scikit-learn's kneighbors(X) returns), in a shuffled order.
    std::vector<double> indices, distances;
    for (index_t i = 0; i < x.rows(); ++i) {
        indices.push_back(static_cast<double>(i));
        distances.push_back(0);
        for (index_t s = k - 1; s >= 0; --s) {
            indices.push_back(expected.row_indices(i)[s]);
            distances.push_back(std::sqrt(expected.row_distances(i)[s]));
        }
    }
    const NeighborGraph lists = neighbors_from_lists(x.rows(), k + 1, indices, distances);
    CHECK(lists.k == k);
    CHECK(lists.indices == expected.indices);
    // The same graph as a sparse matrix of distances.
    SparseMatrix m;
    m.n = x.rows();
    m.offsets.push_back(0);
    for (index_t i = 0; i < x.rows(); ++i) {
        std::vector<std::pair<point_t, float>> row;
        for (index_t s = 0; s < k; ++s)
            row.emplace_back(expected.row_indices(i)[s], static_cast<float>(std::sqrt(expected.row_distances(i)[s])));
        std::sort(row.begin(), row.end());
        for (const auto& [j, v] : row) {
            m.columns.push_back(j);
            m.values.push_back(v);
        }
        m.offsets.push_back(m.nnz());
    }
    const NeighborGraph sparse = neighbors_from_sparse(m);
    CHECK(sparse.k == k);
    // float distances may reorder near-ties; the sets of each row agree.
    for (index_t i = 0; i < x.rows(); ++i) {
        std::vector<point_t> a(sparse.row_indices(i), sparse.row_indices(i) + k),
            b(expected.row_indices(i), expected.row_indices(i) + k);
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        CHECK(a == b);
    }
}

TEST_CASE("precomputed inputs: malformed graphs, distance matrices and P are refused naming the defect") {
    auto refused = [](auto call, const std::string& part) {
        CHECK_THROWS_WITH_AS(call(), doctest::Contains(part.c_str()), InvalidArgument);
    };
    refused([] { return neighbors_from_lists(3, 1, {1, 2, 5}, {1, 1, 1}); }, "row 3, column 1: 5 is not a point index");
    refused([] { return neighbors_from_lists(3, 1, {1, 2, 0.5}, {1, 1, 1}); }, "0.5 is not a point index");
    refused([] { return neighbors_from_lists(3, 1, {1, 1, 2}, {1, 1, 1}); }, "row 2, column 1: the point itself");
    refused([] { return neighbors_from_lists(3, 2, {1, 1, 0, 2, 0, 1}, {1, 1, 1, 1, 1, 1}); }, "lists point 1 twice");
    refused([] { return neighbors_from_lists(3, 1, {1, 2, 0}, {1, -1, 1}); }, "distance -1 is not a finite number");
    refused([] { return neighbors_from_lists(3, 1, {1, 2, 0}, {1, 1}); }, "same shape");
    Matrix d(3, 3);
    d(0, 1) = d(1, 0) = 1;
    d(0, 2) = d(2, 0) = 2;
    d(1, 2) = 3;
    d(2, 1) = 3.5;
    refused([&] { return neighbors_from_distances(d, 1, 1); }, "not symmetric: row 3, column 2");
    d(2, 1) = 3;
    d(1, 1) = 0.1;
    refused([&] { return neighbors_from_distances(d, 1, 1); }, "the diagonal must be 0");
    d(1, 1) = 0;
    d(0, 2) = d(2, 0) = std::nan("");
    refused([&] { return neighbors_from_distances(d, 1, 1); }, "is not a finite distance");
    SparseMatrix p;
    p.n = 2;
    p.offsets = {0, 1, 2};
    p.columns = {1, 0};
    p.values = {0.5f, -0.5f};
    refused([&] { return prepare_affinities(p, 1); }, "row 2, column 1: -0.5 is not a finite value >= 0");
    p.values = {0, 0};
    refused([&] { return prepare_affinities(p, 1); }, "every entry is 0");
}

TEST_CASE("prepare_affinities: a valid P is kept bit for bit; others are repaired with a note each") {
    const Matrix x = clustered(2, 20, 3, 5, 3.0);
    const Affinities valid = affinities_of(x, 5);
    std::vector<std::string> notes;
    const Affinities kept = prepare_affinities(valid, 1, &notes);
    CHECK(notes.empty());
    CHECK(kept.columns == valid.columns);
    CHECK(kept.values == valid.values);
    // An asymmetric, unnormalised matrix with a diagonal: a P with the same relative weights.
    SparseMatrix raw;
    raw.n = 3;
    raw.offsets = {0, 2, 3, 5};
    raw.columns = {0, 1, 2, 0, 1};
    raw.values = {7, 2, 4, 6, 1};  // (0,0)=7 dropped; (0,1)=2, (1,2)=4, (2,0)=6, (2,1)=1
    const Affinities p = prepare_affinities(raw, 1, &notes);
    CHECK(notes.size() == 3);
    CHECK(affinities_defect(p) == "");
    const Matrix dense = densify(p);
    // (P + P^T) / 2 then / sum: sum of the symmetrised off-diagonal entries is 2 + 4 + 6 + 1 = 13.
    CHECK(dense(0, 1) == doctest::Approx(1.0 / 13));
    CHECK(dense(1, 2) == doctest::Approx(2.5 / 13));
    CHECK(dense(0, 2) == doctest::Approx(3.0 / 13));
    CHECK(dense(0, 0) == 0);
}

TEST_CASE("embed_affinities: a P of few points runs whatever the perplexity option says") {
    // A chain of 10 points: P is given, so the default perplexity 30 (above N - 1) calibrates nothing.
    SparseMatrix p;
    p.n = 10;
    p.offsets.push_back(0);
    for (point_t i = 0; i < 10; ++i) {
        if (i > 0) p.columns.push_back(i - 1);
        if (i < 9) p.columns.push_back(i + 1);
        p.offsets.push_back(static_cast<index_t>(p.columns.size()));
    }
    p.values.assign(p.columns.size(), 1.0f / static_cast<float>(p.columns.size()));
    Options o;
    o.init = InitKind::random;
    o.optimizer.iterations = 300;
    const Result r = embed_affinities(prepare_affinities(p, 1), o);
    CHECK(r.y.rows() == 10);
    // Neighbours along the chain stay nearer than the ends.
    auto distance = [&](index_t a, index_t b) { return std::hypot(r.y(a, 0) - r.y(b, 0), r.y(a, 1) - r.y(b, 1)); };
    CHECK(distance(0, 1) < distance(0, 9));
    SparseMatrix two;
    two.n = 2;
    two.offsets = {0, 1, 2};
    two.columns = {1, 0};
    two.values = {0.5f, 0.5f};
    CHECK_THROWS_WITH_AS(embed_affinities(two, o), doctest::Contains("at least 3 points"), InvalidArgument);
}

TEST_CASE("locality orders: a graph's order is its P's order, and relabel(P) is symmetrize of the relabelled graph") {
    const Matrix x = clustered(4, 30, 3, 8, 2.0);
    const NeighborGraph graph = nearest_neighbors(x, 9, KnnBackend::brute, 1);
    const Affinities p = compute_affinities(graph, AffinityOptions{}, 1);
    const std::vector<point_t> order = locality_order(graph);
    CHECK(order == locality_order(p));
    std::vector<point_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) CHECK(sorted[i] == i);
    NeighborGraph relabelled = graph;
    relabel(relabelled, order);
    const Affinities direct = compute_affinities(relabelled, AffinityOptions{}, 1);
    const Affinities moved = relabel(p, order, 2);
    CHECK(moved.offsets == direct.offsets);
    CHECK(moved.columns == direct.columns);
    CHECK(moved.values == direct.values);
}

TEST_CASE("embed_affinities with embed()'s P, embed_neighbors and embed_distances repeat embed() bit for bit") {
    std::vector<int> labels;
    const Matrix x = clustered(3, 40, 6, 21, 10.0, &labels);
    Options o;
    o.affinities.perplexity = 10;
    o.optimizer.iterations = 200;
    o.threads = 2;
    Callbacks keep;
    keep.keep_affinities = true;
    const Result reference = embed(x, o, keep);
    SUBCASE("P and the coordinates for the PCA initialisation") {
        const Result again = embed_affinities(reference.affinities, o, {}, x);
        CHECK(same_bits(again.y, reference.y));
        CHECK(again.kl == reference.kl);
    }
    SUBCASE("the kNN graph, with and without coordinates") {
        const NeighborGraph graph = nearest_neighbors(x, neighbor_count(o.affinities, x.rows()), o.neighbors, 1);
        CHECK(same_bits(embed_neighbors(graph, o, {}, x).y, reference.y));
        Options random = o;
        random.init = InitKind::random;
        const Result from_graph = embed_neighbors(graph, random);
        const Result from_data = embed(x, random);
        CHECK(same_bits(from_graph.y, from_data.y));
        CHECK_THROWS_WITH_AS(embed_neighbors(graph, o), doctest::Contains("pca initialisation needs"),
                             InvalidArgument);
        Options exact = random;
        exact.optimizer.method = Method::exact_tsne;
        CHECK_THROWS_WITH_AS(embed_neighbors(graph, exact), doctest::Contains("barnes_hut method only"),
                             InvalidArgument);
        Options too_wide = random;
        too_wide.affinities.perplexity = 40;  // the graph holds 30 neighbours
        CHECK_THROWS_WITH_AS(embed_neighbors(graph, too_wide), doctest::Contains("needs more than k = 30"),
                             InvalidArgument);
    }
    SUBCASE("a dense distance matrix, random initialisation") {
        Options random = o;
        random.init = InitKind::random;
        const Result from_distances = embed_distances(distance_matrix(x), random);
        const Result from_data = embed(x, random);
        // The distances are sqrt then squared again: the same graph, P within float rounding.
        CHECK(from_distances.kl == doctest::Approx(from_data.kl).epsilon(1e-3));
        CHECK(knn_accuracy(from_distances.y, labels, 5, 1) > 0.95);
    }
}

TEST_CASE("Matrix Market 'symmetric' files (scipy.io.mmwrite's default for a symmetric P) read as the full matrix") {
    TempDir dir;
    const std::string sym = dir / "sym.mtx", full = dir / "full.mtx";
    {
        std::ofstream out(sym);
        out << "%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 0.25\n3 2 0.25\n";
        std::ofstream g(full);
        g << "%%MatrixMarket matrix coordinate real general\n3 3 4\n1 2 0.25\n2 1 0.25\n2 3 0.25\n3 2 0.25\n";
    }
    const SparseMatrix a = io::read_affinities(sym), b = io::read_affinities(full);
    CHECK(a.offsets == b.offsets);
    CHECK(a.columns == b.columns);
    CHECK(a.values == b.values);
    {
        std::ofstream out(sym);
        out << "%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 0.25\n1 2 0.25\n";
    }
    CHECK_THROWS_WITH(io::read_affinities(sym), doctest::Contains("duplicate entry"));
}

#ifdef TREESNE_CLI_PATH

namespace {

namespace fs = std::filesystem;

}  // namespace

TEST_CASE("cli: --save-affinities then --affinities repeats the run bit for bit; --neighbors and --input-kind distances run") {
    TempDir dir;
    const Matrix x = clustered(3, 40, 6, 4, 4.0);
    const std::string data = dir / "x.npy", p = dir / "p.mtx", a = dir / "a.npy", b = dir / "b.npy";
    io::write_matrix(data, x);
    const std::string fast = " --perplexity 10 --iterations 150 -q";
    REQUIRE(run_cli(dir, "embed " + quote(data) + " -o " + quote(a) + " --save-affinities " + quote(p) + fast).status == 0);
    REQUIRE(run_cli(dir, "embed " + quote(data) + " --affinities " + quote(p) + " -o " + quote(b) +
                                 " --iterations 150 -q").status == 0);
    CHECK(same_bits(io::read_matrix(a), io::read_matrix(b)));
    // Without INPUT: random initialisation, still a finished run.
    const std::string c = dir / "c.npy";
    CHECK(run_cli(dir, "embed --affinities " + quote(p) + " -o " + quote(c) + " --iterations 150 -q").status == 0);
    CHECK(io::read_matrix(c).rows() == x.rows());
    // A kNN graph as indices and distances.
    const NeighborGraph g = nearest_neighbors(x, 30, KnnBackend::brute, 1);
    Matrix idx(x.rows(), 30), dist(x.rows(), 30);
    for (index_t i = 0; i < x.rows(); ++i)
        for (index_t s = 0; s < 30; ++s) {
            idx(i, s) = g.row_indices(i)[s];
            dist(i, s) = std::sqrt(g.row_distances(i)[s]);
        }
    io::write_matrix(dir / "idx.npy", idx);
    io::write_matrix(dir / "dist.npy", dist);
    const std::string e = dir / "e.npy";
    CHECK(run_cli(dir, "embed --neighbors " + quote(dir / "idx.npy") + " --neighbor-distances " +
                               quote(dir / "dist.npy") + " -o " + quote(e) + fast).status == 0);
    CHECK(io::read_matrix(e).rows() == x.rows());
    // A dense distance matrix.
    io::write_matrix(dir / "d.npy", distance_matrix(x));
    CHECK(run_cli(dir, "embed " + quote(dir / "d.npy") + " --input-kind distances -o " + quote(e) + fast).status == 0);
    // Other kernels and several perplexities.
    CHECK(run_cli(dir, "embed " + quote(data) + " -o " + quote(e) + " --perplexity 5,15 --iterations 100 -q").status == 0);
    CHECK(run_cli(dir, "embed " + quote(data) + " -o " + quote(e) + " --sigma 2 --k 12 --iterations 100 -q").status == 0);
    CHECK(run_cli(dir, "embed " + quote(data) + " -o " + quote(e) + " --affinity uniform --k 8 --iterations 100 -q").status == 0);
}

TEST_CASE("cli: precomputed inputs and affinity kernels refuse bad combinations with one line, exit 2 or 1") {
    TempDir dir;
    const Matrix x = clustered(2, 30, 4, 4, 4.0);
    const std::string data = dir / "x.npy", out = dir / "o.npy", p = dir / "p.mtx";
    io::write_matrix(data, x);
    REQUIRE(run_cli(dir, "embed " + quote(data) + " -o " + quote(out) + " --perplexity 5 --iterations 10 -q --save-affinities " + quote(p)).status == 0);
    fs::remove(out);
    const std::vector<std::pair<std::string, int>> cases = {
        {"embed --affinities " + quote(p) + " --perplexity 5 -o " + quote(out), 2},
        {"embed --affinities " + quote(p) + " --knn brute -o " + quote(out), 2},
        {"embed --affinities " + quote(p) + " --init pca -o " + quote(out), 2},
        {"embed --affinities " + quote(p) + " --method exact_tsne -o " + quote(out), 2},
        {"embed --affinities " + quote(p) + " -o " + quote(p), 2},  // output over an input
        {"embed --neighbors " + quote(dir / "idx.npy") + " -o " + quote(out), 2},
        {"embed " + quote(data) + " --input-kind distances -o " + quote(out), 1},  // not square
        {"embed " + quote(data) + " --input-kind pairs -o " + quote(out), 2},
        {"embed " + quote(data) + " --perplexity 5,x -o " + quote(out), 2},
        {"embed " + quote(data) + " --sigma 0 -o " + quote(out), 2},
        {"embed " + quote(data) + " --affinity uniform --perplexity 5 -o " + quote(out), 2},
        {"embed " + quote(data) + " --perplexity 20 --k 10 -o " + quote(out), 2},
        {"embed " + quote(data) + " --affinity gamma -o " + quote(out), 2},
        {"embed " + quote(data) + " --perplexity 5,100 -o " + quote(out), 1},  // 100 >= N - 1
        {"embed " + quote(data) + " --affinities " + quote(dir / "missing.mtx") + " -o " + quote(out), 1},
    };
    for (const auto& [args, status] : cases) {
        const auto& command = args;  // CAPTURE's lambda cannot capture a structured binding (clang)
        CAPTURE(command);
        const Run r = run_cli(dir, args + " -q");  // quiet: only the error line
        CAPTURE(r.err);
        CHECK(r.status == status);
        CHECK(count_lines(r.err) == 1);
        CHECK(r.err.rfind("treesne: error: ", 0) == 0);
        CHECK(!fs::exists(out));
    }
    // The input P of a wrong size against INPUT.
    const Matrix other = clustered(2, 20, 4, 5, 4.0);
    io::write_matrix(dir / "y.npy", other);
    const Run r = run_cli(dir, "embed " + quote(dir / "y.npy") + " --affinities " + quote(p) + " -o " + quote(out));
    CHECK(r.status == 1);
    CHECK(r.err.find("describes 60 points but the input has 40 rows") != std::string::npos);
}

#endif  // TREESNE_CLI_PATH
