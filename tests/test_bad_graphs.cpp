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

#include "helpers/cli_runs.hpp"
#include "test_helpers.hpp"
#include "treesne/io/io.hpp"
#include "treesne/affinities/precomputed.hpp"
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

bool same_bits(const Matrix& a, const Matrix& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::equal(a.storage().begin(), a.storage().end(), b.storage().begin(), b.storage().end(),
                      [](double u, double v) { return std::memcmp(&u, &v, sizeof u) == 0; });
}

bool same_p(const Affinities& a, const Affinities& b) {
    return a.n == b.n && a.offsets == b.offsets && a.columns == b.columns &&
           a.values.size() == b.values.size() &&
           std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0;
}

// The same pattern, and every value within float rounding (a few ulps of float) of the other's.
bool close_p(const Affinities& a, const Affinities& b) {
    if (a.n != b.n || a.offsets != b.offsets || a.columns != b.columns) return false;
    for (std::size_t e = 0; e < a.values.size(); ++e)
        if (!(std::abs(static_cast<double>(a.values[e]) - b.values[e]) <= 4e-7 * a.values[e])) return false;
    return true;
}

// The graph as lists of unsquared distances, scaled: neighbors_from_lists' input.
void as_lists(const NeighborGraph& g, double scale, std::vector<double>& indices,
              std::vector<double>& distances) {
    indices.assign(g.indices.begin(), g.indices.end());
    distances.resize(g.distances.size());
    for (std::size_t e = 0; e < g.distances.size(); ++e) distances[e] = std::sqrt(g.distances[e]) * scale;
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

TEST_CASE(
    "the calibration weighs huge, subnormal and single distances, and never turns an overflow into NaN") {
    // Rows of huge (finite) and subnormal squared distances, and k = 1: finite rows that sum to 1.
    for (const double unit : {1e300, 1e-310, 1.0}) {
        CAPTURE(unit);
        NeighborGraph g = small_graph();
        for (double& d : g.distances) d = d / 100.0 * unit;
        for (const AffinityKind kind :
             {AffinityKind::perplexity, AffinityKind::sigma, AffinityKind::uniform}) {
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
        const std::string what = e.what();  // named by row (conditional_probabilities) or not (calibrate_row)
        CHECK(what.find("squared distance") != std::string::npos);
        CHECK(what.find(" is inf") != std::string::npos);
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
        for (const float bad :
             {-std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::quiet_NaN(),
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
        {"index far out of range",
         at(12, 0),
         4000000000u,
         {},
         "row 12 lists point 4000000000 but there are 60 points"},
        {"self", at(12, 1), 12, {}, "row 12 lists its own point 12"},
        {"repeat",
         at(12, 1),
         good.indices[at(12, 5)],
         {},
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
    CHECK(defect_everywhere(bad) == concat("row 20: the distance to point ", good.indices[20 * k + 3],
                                           " is -2; distances must be finite and >= 0"));
    bad.indices[static_cast<std::size_t>(20 * k + 4)] = bad.indices[static_cast<std::size_t>(20 * k)];
    CHECK(defect_everywhere(bad) ==
          concat("row 20 lists point ", good.indices[20 * k], " twice (neighbours must be distinct)"));
    bad.indices[static_cast<std::size_t>(3 * k + 1)] = 1000;
    CHECK(defect_everywhere(bad) == "row 3 lists point 1000 but there are 60 points");
    CHECK_THROWS_WITH_AS(validate_neighbor_graph(bad),
                         "neighbour graph: row 3 lists point 1000 but there are 60 points", InvalidArgument);
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

TEST_CASE("the readers of precomputed distances record the power of two they scale extreme ones by") {
    const NeighborGraph exact = small_graph();
    std::vector<double> indices, distances;
    for (int e : {0, 50, -100}) {  // comfortable: the squares as they are
        as_lists(exact, std::ldexp(1.0, e), indices, distances);
        const NeighborGraph g = neighbors_from_lists(exact.n, exact.k, indices, distances);
        CHECK(g.scale_exponent == 0);
    }
    as_lists(exact, std::ldexp(1.0, 600), indices, distances);
    const double largest = *std::max_element(distances.begin(), distances.end());
    const NeighborGraph g = neighbors_from_lists(exact.n, exact.k, indices, distances);
    int exponent = 0;
    std::frexp(largest, &exponent);
    CHECK(g.scale_exponent == exponent);
    CHECK(*std::max_element(g.distances.begin(), g.distances.end()) ==
          std::ldexp(largest, -exponent) * std::ldexp(largest, -exponent));
}

TEST_CASE("locality_order and relabel of a P with a column out of range or a broken layout are refused") {
    const Affinities good = compute_affinities(small_graph(), AffinityOptions{}, 2);
    std::vector<point_t> identity(static_cast<std::size_t>(good.n));
    for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<point_t>(i);
    Affinities bad = good;
    bad.columns[static_cast<std::size_t>(bad.offsets[17] + 1)] = 1000;
    bad.columns[static_cast<std::size_t>(bad.offsets[30])] = 60;
    CHECK_THROWS_WITH_AS(locality_order(bad),
                         doctest::Contains("row 17 has column 1000 but there are 60 points"),
                         InvalidArgument);
    for (int threads : {1, 3})
        CHECK_THROWS_WITH_AS(relabel(bad, identity, threads),
                             doctest::Contains("row 17 has column 1000 but there are 60 points"),
                             InvalidArgument);
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

TEST_CASE("precomputed distances at any scale give the same graph, P and embedding") {
    const NeighborGraph exact = small_graph();
    const index_t n = exact.n, k = exact.k;
    std::vector<double> indices, distances;
    as_lists(exact, 1.0, indices, distances);
    AffinityOptions perplexity;
    perplexity.perplexity = 3;
    AffinityOptions sigma;
    sigma.kind = AffinityKind::sigma;
    sigma.sigma = 1.5;
    const NeighborGraph g1 = neighbors_from_lists(n, k, indices, distances);
    const Affinities p1 = compute_affinities(g1, perplexity, 2);
    const Affinities s1 = compute_affinities(g1, sigma, 2);
    const Matrix y1 = embed_neighbors(g1, quick_options()).y;
    // The dense matrix of all distances.
    const Matrix x = clustered(3, 20, 4, 7, 5.0);
    Matrix d(n, n);
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j) d(i, j) = std::sqrt(squared_distance(x.row(i), x.row(j), x.cols()));
    const NeighborGraph dense1 = neighbors_from_distances(d, k, 2);
    const Affinities dp1 = compute_affinities(dense1, perplexity, 2);

    SUBCASE("powers of two: the same bits") {
        for (int e : {-1000, -600, -300, -101, -20, 20, 101, 300, 600, 1000}) {
            CAPTURE(e);
            as_lists(exact, std::ldexp(1.0, e), indices, distances);
            const NeighborGraph g = neighbors_from_lists(n, k, indices, distances);
            CHECK(g.indices == g1.indices);
            CHECK(same_p(compute_affinities(g, perplexity, 2), p1));
            AffinityOptions scaled = sigma;  // sigma is in the input's units
            scaled.sigma = std::ldexp(sigma.sigma, e);
            CHECK(same_p(compute_affinities(g, scaled, 3), s1));
            Matrix de(n, n);
            for (index_t t = 0; t < d.size(); ++t) de.data()[t] = std::ldexp(d.data()[t], e);
            CHECK(same_p(compute_affinities(neighbors_from_distances(de, k, 2), perplexity, 2), dp1));
            if (e == -600 || e == 1000) {
                CHECK(same_bits(embed_neighbors(g, quick_options()).y, y1));
                CHECK(
                    same_bits(embed_distances(de, quick_options()).y, embed_distances(d, quick_options()).y));
            }
        }
    }
    SUBCASE("decimal scales: the same neighbours, P within float rounding") {
        for (double scale : {1e160, 1e-170, 1e200, 1e-300, 1e300}) {
            CAPTURE(scale);
            as_lists(exact, scale, indices, distances);
            const NeighborGraph g = neighbors_from_lists(n, k, indices, distances);
            CHECK(g.indices == g1.indices);
            CHECK(close_p(compute_affinities(g, perplexity, 2), p1));
            AffinityOptions scaled = sigma;
            scaled.sigma = sigma.sigma * scale;
            CHECK(close_p(compute_affinities(g, scaled, 2), s1));
            Matrix ds(n, n);
            for (index_t t = 0; t < d.size(); ++t) ds.data()[t] = d.data()[t] * scale;
            CHECK(close_p(compute_affinities(neighbors_from_distances(ds, k, 2), perplexity, 2), dp1));
        }
    }
}

TEST_CASE("sigma is in the input's units also where embed() rescales extreme coordinates") {
    const Matrix x = clustered(3, 20, 4, 7, 5.0);
    Options o = quick_options();
    o.affinities.kind = AffinityKind::sigma;
    o.affinities.sigma = 2.0;
    o.affinities.k = 8;
    Callbacks keep;
    keep.keep_affinities = true;
    const Result reference = embed(x, o, keep);
    for (int e : {-400, 200}) {  // beyond 2^+-100: embed() scales the coordinates by a power of two
        CAPTURE(e);
        Matrix scaled = x;
        for (double& v : scaled.storage()) v = std::ldexp(v, e);
        Options so = o;
        so.affinities.sigma = std::ldexp(o.affinities.sigma, e);
        const Result r = embed(scaled, so, keep);
        CHECK(same_p(r.affinities, reference.affinities));
        CHECK(same_bits(r.y, reference.y));
    }
}

#ifdef TREESNE_CLI_PATH

namespace {

}  // namespace

TEST_CASE("cli: --sigma 1e-300 and huge or tiny precomputed distances run to the right result") {
    testing::TempDir dir;
    const Matrix x = clustered(3, 20, 4, 7, 5.0);
    const std::string data = dir / "x.npy";
    io::write_matrix(data, x);
    const std::string fast = " --iterations 60 --seed 3";
    SUBCASE("--sigma 1e-300: all weight on each point's nearest neighbour") {
        const std::string out = dir / "y.npy", p = dir / "p.mtx";
        const testing::Run r =
            testing::run_cli(dir, "embed -q " + testing::quote(data) + " -o " + testing::quote(out) + " --sigma 1e-300 --k 6" + fast +
                                 " --save-affinities " + testing::quote(p));
        CAPTURE(r.err);
        REQUIRE(r.status == 0);
        const Matrix y = io::read_matrix(out);
        for (const double v : y.storage()) REQUIRE(std::isfinite(v));
        const SparseMatrix saved = io::read_affinities(p);
        CHECK(affinities_defect(saved).empty());
    }
    SUBCASE("--neighbor-distances and --input-kind distances scaled by 2^600 and 1e200") {
        const NeighborGraph g = small_graph();
        auto write_lists = [&](double scale, const std::string& idx, const std::string& dist) {
            Matrix i(g.n, g.k), d(g.n, g.k);
            for (index_t t = 0; t < i.size(); ++t) {
                i.data()[t] = g.indices[static_cast<std::size_t>(t)];
                d.data()[t] = std::sqrt(g.distances[static_cast<std::size_t>(t)]) * scale;
            }
            io::write_matrix(idx, i);
            io::write_matrix(dist, d);
        };
        const std::string idx = dir / "idx.npy";
        std::vector<Affinities> saved;
        std::vector<Matrix> embedded;
        for (double scale : {1.0, std::ldexp(1.0, 600), 1e200, 1e-170}) {
            CAPTURE(scale);
            const std::string dist = dir / "dist.npy", out = dir / "y.npy", p = dir / "p.mtx";
            write_lists(scale, idx, dist);
            const testing::Run r = testing::run_cli(dir, "embed -q --neighbors " + testing::quote(idx) + " --neighbor-distances " +
                                                   testing::quote(dist) + " --perplexity 3 -o " + testing::quote(out) + fast +
                                                   " --save-affinities " + testing::quote(p));
            CAPTURE(r.err);
            REQUIRE(r.status == 0);
            saved.push_back(io::read_affinities(p));
            embedded.push_back(io::read_matrix(out));
        }
        CHECK(same_p(saved[1], saved[0]));
        CHECK(same_bits(embedded[1], embedded[0]));
        CHECK(close_p(saved[2], saved[0]));
        CHECK(close_p(saved[3], saved[0]));
        // A dense distance matrix at 2^-700: the run of the unscaled matrix, bit for bit.
        Matrix d(x.rows(), x.rows()), tiny(x.rows(), x.rows());
        for (index_t i = 0; i < x.rows(); ++i)
            for (index_t j = 0; j < x.rows(); ++j) {
                d(i, j) = std::sqrt(squared_distance(x.row(i), x.row(j), x.cols()));
                tiny(i, j) = std::ldexp(d(i, j), -700);
            }
        io::write_matrix(dir / "d.npy", d);
        io::write_matrix(dir / "tiny.npy", tiny);
        for (const char* name : {"d", "tiny"})
            REQUIRE(testing::run_cli(dir, "embed -q " + testing::quote(dir / (std::string(name) + ".npy")) +
                                         " --input-kind distances --perplexity 3 -o " +
                                         testing::quote(dir / (std::string(name) + "_y.npy")) + fast)
                        .status == 0);
        CHECK(same_bits(io::read_matrix(dir / "tiny_y.npy"), io::read_matrix(dir / "d_y.npy")));
    }
}

#endif  // TREESNE_CLI_PATH
