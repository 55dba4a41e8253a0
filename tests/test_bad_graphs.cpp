// What reaches the affinities from outside: neighbour graphs with out-of-range, repeated or self
// indices and unusable distances, conditionals whose sign bit is set (x86's NaN), a sigma too narrow or
// too wide for doubles, P matrices with columns out of range, and precomputed distances at scales whose
// squares overflow or underflow. Each is refused with one message naming the lowest bad row, or gives the
// correct limit; none may write out of bounds (before these checks several did: run under ASan).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "test_helpers.hpp"
#include "treesne/io.hpp"
#include "treesne/precomputed.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using treesne::testing::clustered;

namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_value = std::numeric_limits<double>::infinity();

// A small exact graph of three clusters: 60 points, k = 6, rows sorted by distance.
NeighborGraph small_graph() {
    const Matrix x = clustered(3, 20, 4, 7, 5.0);
    return nearest_neighbors(x, 6, KnnBackend::brute, 1);
}

Options quick_options() {
    Options o;
    o.affinities.perplexity = 3;
    o.init = InitKind::random;
    o.optimizer.iterations = 60;
    o.threads = 2;
    return o;
}

bool same_p(const Affinities& a, const Affinities& b) {
    return a.n == b.n && a.offsets == b.offsets && a.columns == b.columns && a.values.size() == b.values.size() &&
           std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("sigma narrower or wider than doubles can square gives the limits, never a NaN") {
    NeighborGraph g = small_graph();
    const index_t k = g.k;
    g.distances[1] = g.distances[0];  // row 0: two nearest neighbours at the same distance
    AffinityOptions o;
    o.kind = AffinityKind::sigma;
    for (double sigma : {1e-300, 1e-160, 1e-155}) {  // 1 / (2 sigma^2) overflows to inf
        CAPTURE(sigma);
        o.sigma = sigma;
        const std::vector<float> p = conditional_probabilities(g, o, 2);
        for (index_t i = 0; i < g.n; ++i) {
            const double* d = g.row_distances(i);
            const double nearest = *std::min_element(d, d + k);
            const auto ties = static_cast<float>(std::count(d, d + k, nearest));
            for (index_t s = 0; s < k; ++s)
                REQUIRE(p[static_cast<std::size_t>(i * k + s)] == (d[s] == nearest ? 1.0f / ties : 0.0f));
        }
        CHECK(p[0] == 0.5f);
        const Affinities joint = compute_affinities(g, o, 2);
        CHECK(affinities_defect(joint).empty());
    }
    o.sigma = 1e300;  // 2 sigma^2 overflows, 1 / inf = 0: every row uniform
    for (const float v : conditional_probabilities(g, o, 2)) REQUIRE(v == 1.0f / static_cast<float>(k));
    // The whole pipeline on coordinates: finite, no heap corruption.
    Options narrow = quick_options();
    narrow.affinities.kind = AffinityKind::sigma;
    narrow.affinities.sigma = 1e-300;
    narrow.affinities.k = 6;
    const Result r = embed(clustered(3, 20, 4, 7, 5.0), narrow);
    for (const double v : r.y.storage()) REQUIRE(std::isfinite(v));
}

TEST_CASE("the calibration weighs huge, subnormal and single distances, and never turns an overflow into NaN") {
    // Rows of huge (finite) and subnormal squared distances, and k = 1: finite rows that sum to 1.
    for (const double unit : {1e300, 1e-310, 1.0}) {
        CAPTURE(unit);
        NeighborGraph g = small_graph();
        for (double& d : g.distances) d = d / 100.0 * unit;
        for (const AffinityKind kind : {AffinityKind::perplexity, AffinityKind::sigma, AffinityKind::uniform}) {
            AffinityOptions o;
            o.kind = kind;
            o.perplexity = 3;
            o.more_perplexities = {2.0};
            const std::vector<float> p = conditional_probabilities(g, o, 2);
            for (index_t i = 0; i < g.n; ++i) {
                double sum = 0;
                for (index_t s = 0; s < g.k; ++s) {
                    REQUIRE(std::isfinite(p[static_cast<std::size_t>(i * g.k + s)]));
                    sum += p[static_cast<std::size_t>(i * g.k + s)];
                }
                REQUIRE(sum == doctest::Approx(1.0).epsilon(1e-6));
            }
        }
    }
    NeighborGraph pair;
    pair.n = 2;
    pair.k = 1;
    pair.indices = {1, 0};
    pair.distances = {4.0, 4.0};
    CHECK(conditional_probabilities(pair, AffinityOptions{}, 1) == std::vector<float>{1.0f, 1.0f});
    // Coordinates whose squared distances overflow, on the exact methods' dense path: an error, or (if
    // they are rescaled first) a finite P, never NaN.
    // Within a cluster d^2 ~ 1e307 is finite, across clusters it overflows: rows mix finite and inf.
    Matrix x = clustered(2, 10, 3, 5, 40.0);
    for (double& v : x.storage()) v *= 1e153;
    AffinityOptions o;
    o.perplexity = 3;
    try {
        const Matrix dense = dense_conditional_probabilities(x, o, 2);
        for (const double v : dense.storage()) REQUIRE(std::isfinite(v));
    } catch (const NumericalError& e) {
        CHECK(std::string(e.what()).find("squared distance is inf") != std::string::npos);
    }
}

TEST_CASE("symmetrize checks every entry before pass 2 scatters it, naming the lowest bad row") {
    const NeighborGraph good = small_graph();
    const std::vector<float> conditional = conditional_probabilities(good, AffinityOptions{}, 1);
    const index_t n = good.n, k = good.k;
    auto refused = [&](const NeighborGraph& g, const std::vector<float>& c, const std::string& part) {
        for (int threads : {1, 2, 4}) {
            CAPTURE(threads);
            CHECK_THROWS_WITH_AS(symmetrize(g, c, threads), doctest::Contains(part.c_str()), InvalidArgument);
        }
    };
    // An entry of row i whose point lists i too (a mutual pair: pass 1 leaves its sign bit alone), or -1.
    const auto mutual = [&](index_t i) {
        for (index_t s = 0; s < k; ++s) {
            const point_t j = good.row_indices(i)[s];
            const point_t* back = good.row_indices(j);
            if (std::find(back, back + k, static_cast<point_t>(i)) != back + k) return i * k + s;
        }
        return index_t{-1};
    };
    SUBCASE("conditionals with the sign bit, NaN, inf or negative") {
        index_t row = 9;
        while (mutual(row) < 0) ++row;
        // -NaN is x86's default NaN (0 * inf); in a mutual entry it used to be scattered uncounted.
        for (const float bad : {-std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::quiet_NaN(),
                                std::numeric_limits<float>::infinity(), -0.25f, -0.0f}) {
            CAPTURE(bad);
            for (const index_t e : {mutual(row), row * k, row * k + k - 1}) {
                std::vector<float> c = conditional;
                c[static_cast<std::size_t>(e)] = bad;
                refused(good, c, "row " + std::to_string(row) + ": the conditional p(");
            }
        }
        std::vector<float> c = conditional;  // +0 is a valid conditional
        c[static_cast<std::size_t>(mutual(row))] = 0.0f;
        CHECK_NOTHROW(symmetrize(good, c, 2));
    }
    SUBCASE("indices out of range, the row's own point, repeats") {
        NeighborGraph g = good;
        g.indices[static_cast<std::size_t>(7 * k + 2)] = static_cast<point_t>(n + 5);
        refused(g, conditional, "row 7 lists point 65 but there are 60 points");
        g = good;
        g.indices[static_cast<std::size_t>(7 * k + 2)] = std::numeric_limits<point_t>::max();
        refused(g, conditional, "row 7 lists point 4294967295 but there are 60 points");
        g = good;
        g.indices[static_cast<std::size_t>(7 * k + 3)] = 7;
        refused(g, conditional, "row 7 lists its own point 7");
        g = good;
        g.indices[static_cast<std::size_t>(7 * k + 3)] = g.indices[static_cast<std::size_t>(7 * k + 1)];
        refused(g, conditional, "row 7 lists point " + std::to_string(good.indices[7 * k + 1]) + " twice");
    }
    SUBCASE("the lowest bad row, whatever the thread count") {
        NeighborGraph g = good;
        std::vector<float> c = conditional;
        g.indices[static_cast<std::size_t>(50 * k)] = static_cast<point_t>(n);
        c[static_cast<std::size_t>(31 * k + 1)] = -std::numeric_limits<float>::quiet_NaN();
        g.indices[static_cast<std::size_t>(44 * k)] = 44;
        refused(g, c, "row 31: the conditional");
    }
    SUBCASE("shapes") {
        refused(good, std::vector<float>(conditional.begin(), conditional.end() - 1), "conditional values");
        NeighborGraph g = good;
        g.k = 0;
        refused(g, {}, "1 <= k <= n - 1");
        g = good;
        g.n = 1;
        g.k = 1;
        g.indices.resize(1);
        refused(g, {1.0f}, "need n >= 2");
        g.n = -1;
        g.k = -1;
        refused(g, {1.0f}, "need n >= 2");
    }
    // A valid input still gives a valid P, the same bits on any thread count.
    const Affinities p1 = symmetrize(good, conditional, 1);
    CHECK(affinities_defect(p1).empty());
    CHECK(same_p(p1, symmetrize(good, conditional, 4)));
}

TEST_CASE("every public function that takes a neighbour graph refuses a bad one, naming its lowest bad row") {
    const NeighborGraph good = small_graph();
    const index_t k = good.k;
    const Options o = quick_options();
    std::vector<point_t> identity(static_cast<std::size_t>(good.n));
    for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<point_t>(i);
    struct Case {
        const char* name;
        std::size_t entry;
        std::optional<point_t> index;
        std::optional<double> distance;
        std::string message;
    };
    const auto at = [k](index_t row, index_t s) { return static_cast<std::size_t>(row * k + s); };
    const std::vector<Case> cases = {
        {"index out of range", at(12, 4), 60, {}, "row 12 lists point 60 but there are 60 points"},
        {"index far out of range", at(12, 0), 4000000000u, {}, "row 12 lists point 4000000000 but there are 60 points"},
        {"self", at(12, 1), 12, {}, "row 12 lists its own point 12"},
        {"repeat", at(12, 1), good.indices[at(12, 5)], {},
         "row 12 lists point " + std::to_string(good.indices[at(12, 5)]) + " twice"},
        {"NaN distance", at(12, 2), {}, nan_value, "row 12: the distance to point"},
        {"negative distance", at(12, 2), {}, -1.0, "is -1; distances must be finite and >= 0"},
        {"infinite distance", at(12, 2), {}, inf_value, "is inf; distances must be finite and >= 0"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        NeighborGraph bad = good;
        if (c.index) bad.indices[c.entry] = *c.index;
        if (c.distance) bad.distances[c.entry] = *c.distance;
        // A second defect in a later row: the lowest row's is named.
        bad.indices[static_cast<std::size_t>(40 * k)] = 40;
        const auto message = doctest::Contains(c.message.c_str());
        CHECK_THROWS_WITH_AS(embed_neighbors(bad, o), message, InvalidArgument);
        CHECK_THROWS_WITH_AS(compute_affinities(bad, o.affinities, 3), message, InvalidArgument);
        CHECK_THROWS_WITH_AS(locality_order(bad), message, InvalidArgument);
        NeighborGraph moved = bad;
        CHECK_THROWS_WITH_AS(relabel(moved, identity), message, InvalidArgument);
        CHECK(moved.indices == bad.indices);  // refused before anything moved
    }
    // Shapes: sizes that do not match n and k.
    NeighborGraph short_rows = good;
    short_rows.indices.pop_back();
    CHECK_THROWS_AS(embed_neighbors(short_rows, o), InvalidArgument);
    CHECK_THROWS_AS(compute_affinities(short_rows, o.affinities, 1), InvalidArgument);
    CHECK_THROWS_AS(locality_order(short_rows), InvalidArgument);
    CHECK_THROWS_AS(relabel(short_rows, identity), InvalidArgument);
    // conditional_probabilities reads only the distances (a transform's graph names other points):
    // an infinite one is an overflowed square, a NaN or negative one a bad input.
    NeighborGraph far = good;
    far.distances[static_cast<std::size_t>(33 * k + 5)] = inf_value;
    CHECK_THROWS_WITH_AS(conditional_probabilities(far, AffinityOptions{}, 2),
                         doctest::Contains("row 33's squared distance to point"), NumericalError);
    far.distances[static_cast<std::size_t>(21 * k)] = nan_value;
    CHECK_THROWS_WITH_AS(conditional_probabilities(far, AffinityOptions{}, 2), doctest::Contains("row 21's"),
                         InvalidArgument);
    AffinityOptions multiscale;
    multiscale.more_perplexities = {2.0};
    CHECK_THROWS_AS(conditional_probabilities(far, multiscale, 2), InvalidArgument);
    NeighborGraph no_distances = good;
    no_distances.distances.clear();
    CHECK_THROWS_AS(conditional_probabilities(no_distances, AffinityOptions{}, 2), InvalidArgument);
    CHECK_THROWS_WITH_AS(embed_neighbors(no_distances, o), doctest::Contains("360 indices but 0 distances"),
                         InvalidArgument);
    CHECK_THROWS_AS(compute_affinities(no_distances, o.affinities, 2), InvalidArgument);
}

TEST_CASE("neighbor_graph_defect names the lowest row's defect, the same on any thread count") {
    const NeighborGraph good = small_graph();
    const index_t k = good.k;
    CHECK(neighbor_graph_defect(good).empty());
    NeighborGraph released = good;  // distances released after the calibration: the indices are checked
    released.distances.clear();
    CHECK(neighbor_graph_defect(released).empty());
    const auto defect_everywhere = [](const NeighborGraph& g) {
        const std::string one = neighbor_graph_defect(g, 1);
        for (int threads : {2, 3, 8}) CHECK(neighbor_graph_defect(g, threads) == one);
        return one;
    };
    NeighborGraph bad = good;
    bad.indices[static_cast<std::size_t>(55 * k + 5)] = 55;
    CHECK(defect_everywhere(bad) == "row 55 lists its own point 55 (a point is not its own neighbour)");
    bad.distances[static_cast<std::size_t>(20 * k + 3)] = -2;
    CHECK(defect_everywhere(bad) ==
          concat("row 20: the distance to point ", good.indices[20 * k + 3], " is -2; distances must be finite and >= 0"));
    bad.indices[static_cast<std::size_t>(20 * k + 4)] = bad.indices[static_cast<std::size_t>(20 * k)];
    CHECK(defect_everywhere(bad) ==
          concat("row 20 lists point ", good.indices[20 * k], " twice (neighbours must be distinct)"));
    bad.indices[static_cast<std::size_t>(3 * k + 1)] = 1000;
    CHECK(defect_everywhere(bad) == "row 3 lists point 1000 but there are 60 points");
    CHECK_THROWS_WITH_AS(validate_neighbor_graph(bad), "neighbour graph: row 3 lists point 1000 but there are 60 points",
                         InvalidArgument);
    // Shapes.
    NeighborGraph shape = good;
    shape.n = 1;
    CHECK(neighbor_graph_defect(shape) == "t-SNE needs at least 2 points; got n = 1");
    shape = good;
    shape.k = 60;
    CHECK(neighbor_graph_defect(shape) == "k = 60 neighbours per point; need 1 <= k <= n - 1 = 59");
    shape = good;
    shape.indices.push_back(0);
    CHECK(neighbor_graph_defect(shape) == "60 points with k = 6 need 360 indices; got 361");
    shape = good;
    shape.distances.pop_back();
    CHECK(neighbor_graph_defect(shape) == "60 points with k = 6 need 360 distances (or none); got 359");
    shape = good;
    shape.n = std::int64_t{1} << 33;
    CHECK(neighbor_graph_defect(shape).find("at most 4294967295 points") != std::string::npos);
}

TEST_CASE("locality_order and relabel of a P with a column out of range or a broken layout are refused") {
    const Affinities good = compute_affinities(small_graph(), AffinityOptions{}, 2);
    std::vector<point_t> identity(static_cast<std::size_t>(good.n));
    for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<point_t>(i);
    Affinities bad = good;
    bad.columns[static_cast<std::size_t>(bad.offsets[17] + 1)] = 1000;
    bad.columns[static_cast<std::size_t>(bad.offsets[30])] = 60;
    CHECK_THROWS_WITH_AS(locality_order(bad), doctest::Contains("row 17 has column 1000 but there are 60 points"),
                         InvalidArgument);
    for (int threads : {1, 3})
        CHECK_THROWS_WITH_AS(relabel(bad, identity, threads),
                             doctest::Contains("row 17 has column 1000 but there are 60 points"), InvalidArgument);
    bad = good;
    bad.offsets.back() += 7;
    CHECK_THROWS_AS(locality_order(bad), InvalidArgument);
    CHECK_THROWS_AS(relabel(bad, identity), InvalidArgument);
    bad = good;
    bad.offsets.pop_back();
    CHECK_THROWS_AS(locality_order(bad), InvalidArgument);
    CHECK_THROWS_AS(relabel(bad, identity), InvalidArgument);
    CHECK(same_p(relabel(good, identity), good));
}

#ifdef TREESNE_CLI_PATH

namespace {

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

struct Outcome {
    int status = -1;
    std::string err;
};

Outcome run_treesne(const testing::TempDir& dir, const std::string& args) {
    const std::string err = dir / "stderr.txt";
    const std::string command =
        quoted(TREESNE_CLI_PATH) + " " + args + " -q >/dev/null 2>" + quoted(err) + " </dev/null";
    const int raw = std::system(command.c_str());
    Outcome o;
    o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    std::ifstream in(err);
    std::ostringstream s;
    s << in.rdbuf();
    o.err = s.str();
    return o;
}

}  // namespace

TEST_CASE("cli: --sigma 1e-300 runs to a finite embedding and a valid P") {
    testing::TempDir dir;
    const Matrix x = clustered(3, 20, 4, 7, 5.0);
    const std::string data = dir / "x.npy";
    io::write_matrix(data, x);
    const std::string fast = " --iterations 60 --seed 3";
    SUBCASE("--sigma 1e-300: all weight on each point's nearest neighbour") {
        const std::string out = dir / "y.npy", p = dir / "p.mtx";
        const Outcome r = run_treesne(dir, "embed " + quoted(data) + " -o " + quoted(out) + " --sigma 1e-300 --k 6" +
                                               fast + " --save-affinities " + quoted(p));
        CAPTURE(r.err);
        REQUIRE(r.status == 0);
        const Matrix y = io::read_matrix(out);
        for (const double v : y.storage()) REQUIRE(std::isfinite(v));
        const SparseMatrix saved = io::read_affinities(p);
        CHECK(affinities_defect(saved).empty());
    }
}

#endif  // TREESNE_CLI_PATH
