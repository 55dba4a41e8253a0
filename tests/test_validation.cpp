// A user-supplied P is validated once, with a message naming the defect.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/optimize/session.hpp"

using treesne::Affinities;
using treesne::Matrix;

namespace {

// 4 points, symmetric, summing to 1: pairs (0,1) 0.2, (0,2) 0.1, (1,2) 0.1, (2,3) 0.1.
Affinities good_p() {
    Affinities p;
    p.n = 4;
    p.offsets = {0, 2, 4, 7, 8};
    p.columns = {1, 2, 0, 2, 0, 1, 3, 2};
    p.values = {0.2, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1};
    return p;
}

// The InvalidArgument message of a Session over p ("" when none is thrown).
// The message of the Session constructor's refusal, "" if none; `ordered`: the constructor with an
// order (the identity), which validates P just the same.
std::string session_error(const Affinities& p, bool ordered = false) {
    treesne::Options options;
    options.threads = 2;
    try {
        if (ordered) {
            std::vector<treesne::point_t> order(static_cast<std::size_t>(std::max<treesne::index_t>(p.n, 1)));
            std::iota(order.begin(), order.end(), treesne::point_t{0});
            treesne::Session session(p, Matrix(p.n, 2, 0.0), options, order);
        } else {
            treesne::Session session(p, Matrix(p.n, 2, 0.0), options);
        }
    } catch (const treesne::InvalidArgument& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("validation: a well-formed P is accepted and runs") {
    CHECK(treesne::affinities_defect(good_p()).empty());
    treesne::Options options;
    Matrix y0(4, 2, {0.1, 0, 0, 0.1, -0.1, 0, 0, -0.1});
    treesne::Session session(good_p(), y0, options);
    CHECK(session.run(10) == treesne::RunStatus::completed);
}

TEST_CASE("validation: Session refuses a malformed P with InvalidArgument naming the defect") {
    struct Case {
        const char* name;
        void (*spoil)(Affinities&);
        const char* message;
    };
    const Case cases[] = {
        {"too few offsets", [](Affinities& p) { p.offsets.pop_back(); }, "needs 5 row offsets; got 4"},
        {"nnz disagrees", [](Affinities& p) { p.offsets.back() = 7; },
         "row offsets must run from 0 to nnz = 8"},
        {"values and columns differ", [](Affinities& p) { p.values.push_back(0); }, "8 column indices but 9"},
        {"offsets decrease",
         [](Affinities& p) {
             p.offsets[2] = 1;
             p.offsets[1] = 3;
         },
         "row offsets decrease"},
        {"column out of range", [](Affinities& p) { p.columns[7] = 4; }, "row 3 has column 4, outside 0..3"},
        {"huge column", [](Affinities& p) { p.columns[1] = 4000000000u; }, "outside 0..3"},
        {"diagonal", [](Affinities& p) { p.columns[0] = 0; }, "row 0 has an entry on the diagonal"},
        {"unsorted row", [](Affinities& p) { std::swap(p.columns[4], p.columns[5]); },
         "not strictly increasing"},
        {"negative",
         [](Affinities& p) {
             p.values[3] = -0.1;
             p.values[5] = -0.1;
         },
         "p(1, 2) = -0.1"},
        {"NaN", [](Affinities& p) { p.values[6] = std::nanf(""); }, "p(2, 3) = nan"},
        {"infinite", [](Affinities& p) { p.values[6] = std::numeric_limits<float>::infinity(); },
         "p(2, 3) = inf"},
        {"asymmetric value",
         [](Affinities& p) {
             p.values[0] = 0.25;
             p.values[1] = 0.05;
         },
         "not symmetric"},
        {"asymmetric pattern",
         [](Affinities& p) {
             p = good_p();
             p.offsets = {0, 2, 4, 7, 7};
             p.columns.pop_back();
             p.values = {0.2, 0.15, 0.2, 0.1, 0.15, 0.1, 0.1};
         },
         "p(2, 3) = 0.1 but p(3, 2) is absent"},
        {"sum not 1",
         [](Affinities& p) {
             for (float& v : p.values) v *= 2;
         },
         "P must sum to 1; its entries sum to 2"},
        {"one point",
         [](Affinities& p) {
             p = Affinities{};
             p.n = 1;
             p.offsets = {0, 0};
         },
         "at least 2 points"},
    };
    for (const Case& c : cases) {
        const std::string name = c.name;
        CAPTURE(name);
        Affinities p = good_p();
        c.spoil(p);
        const std::string message = session_error(p);
        CAPTURE(message);
        CHECK(message.rfind("affinities: ", 0) == 0);
        CHECK(message.find(c.message) != std::string::npos);
        CHECK(treesne::affinities_defect(p, 1) == message.substr(std::string("affinities: ").size()));
        CHECK(session_error(p, true) == message);
    }
}

TEST_CASE("validation: a P built by compute_affinities satisfies its invariants") {
    treesne::NeighborGraph g;
    g.n = 5;
    g.k = 2;
    g.indices = {1, 2, 0, 2, 1, 3, 2, 4, 3, 2};
    g.distances = {1, 4, 1, 1, 1, 1, 1, 1, 1, 4};
    treesne::AffinityOptions options;
    options.perplexity = 1.5;
    CHECK(treesne::affinities_defect(treesne::compute_affinities(g, options, 2)) == "");
}

TEST_CASE("validation: an exact-method Session refuses a dense P with negative or non-finite entries") {
    treesne::Options options;
    options.optimizer.method = treesne::Method::exact_tsne;
    Matrix p(3, 3, {0, 0.25, 0.25, 0.25, 0, 0, 0.25, 0, 0});
    const Matrix y0(3, 2, {0, 0, 1, 0, 0, 1});
    CHECK_NOTHROW(treesne::Session(p, y0, options));
    p(1, 2) = std::nan("");
    CHECK_THROWS_WITH_AS(treesne::Session(p, y0, options),
                         doctest::Contains("dense P has nan at row 1, column 2"), treesne::InvalidArgument);
    p(1, 2) = -1;
    CHECK_THROWS_AS(treesne::Session(p, y0, options), treesne::InvalidArgument);
}

TEST_CASE("validation: a diverging exact run stops with a NumericalError naming the iteration") {
    for (auto method : {treesne::Method::exact_tsne, treesne::Method::exact_sne}) {
        CAPTURE(treesne::to_string(method));
        treesne::Options options;
        options.optimizer.method = method;
        options.optimizer.learning_rate = 1e300;
        options.optimizer.max_step_norm = 0;  // unclipped, so that the steps overflow
        Matrix p(3, 3, {0, 0.25, 0.25, 0.25, 0, 0, 0.25, 0, 0});
        if (method == treesne::Method::exact_sne) p = Matrix(3, 3, {0, 0.5, 0.5, 0.5, 0, 0.5, 0.5, 0.5, 0});
        treesne::Session session(p, Matrix(3, 2, {0, 0, 1, 0, 0, 1}), options);
        CHECK_THROWS_WITH_AS(session.run(50), doctest::Contains("the optimisation diverged at iteration "),
                             treesne::NumericalError);
    }
}
