// treesne::evaluate(): the same numbers as the metric functions called directly, the sample and its limit,
// the order of the stages and the memory hook, the errors; and the one check of a given P's size.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/affinities/affinities.hpp"
#include "treesne/api/embed.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/eval/evaluate.hpp"
#include "treesne/eval/metrics.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/knn/pca.hpp"
#include "treesne/tree/exact.hpp"

using namespace treesne;
using treesne::testing::clustered;
using treesne::testing::random_matrix;

namespace {

/// Every measure of evaluate(), computed by hand from the library's stages on these rows.
struct Direct {
    double kl, preservation, trust, accuracy;
};

Direct direct_measures(ConstMatrixView x, ConstMatrixView y, const std::vector<int>& labels,
                       const EvaluateOptions& o) {
    NeighborOptions neighbors;
    neighbors.metric = o.metric;
    AffinityOptions affinities;
    affinities.perplexity = o.perplexity;
    const NeighborGraph graph = nearest_neighbors(x, neighbor_count(o.perplexity, x.rows), neighbors, 1);
    const Affinities p = compute_affinities(graph, affinities, 1);
    return {exact_tsne_kl_sparse(p, y, 1, o.dof), knn_preservation(x, y, o.k, 1, o.metric),
            trustworthiness(x, y, o.k, 1, o.trust_queries, o.metric), knn_accuracy(y, labels, o.k, 1)};
}

/// The given rows of m, in that order.
Matrix rows_of(ConstMatrixView m, const std::vector<index_t>& rows) {
    Matrix out(static_cast<index_t>(rows.size()), m.cols);
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (index_t c = 0; c < m.cols; ++c) out(static_cast<index_t>(i), c) = m(rows[i], c);
    return out;
}

/// Labelled clusters X, a random embedding Y of them with `embed_dims` columns (seeded `seed + 1`), and
/// options at perplexity 10.
struct LabelledProblem {
    std::vector<int> labels;
    Matrix x, y;
    EvaluateOptions o;
};

LabelledProblem labelled_problem(index_t clusters, index_t per_cluster, index_t dims, std::uint64_t seed,
                                 double spread, index_t embed_dims) {
    LabelledProblem t;
    t.x = clustered(clusters, per_cluster, dims, seed, spread, &t.labels);
    t.y = random_matrix(clusters * per_cluster, embed_dims, seed + 1);
    t.o.perplexity = 10;
    return t;
}

}  // namespace

TEST_CASE("evaluate: the numbers of the metric functions called directly, bit for bit") {
    std::vector<int> labels;
    const Matrix x = clustered(4, 50, 6, 7, 10.0, &labels);
    Matrix y = random_matrix(200, 2, 8);
    for (index_t i = 0; i < 200; ++i) y(i, 0) += x(i, 0);  // keeps some of the clusters apart
    EvaluateOptions o;
    o.threads = 2;  // the direct calls use 1: the results do not depend on it
    o.perplexity = 15;
    o.k = 7;
    o.trust_queries = 150;  // fewer than N: the evenly spaced sample
    SUBCASE("euclidean, dof 1") {}
    SUBCASE("manhattan, dof 0.5") {
        o.metric = Metric::manhattan;
        o.dof = 0.5;
    }
    const EvaluationReport r = evaluate(x, y, &labels, o);
    const Direct d = direct_measures(x, y, labels, o);
    CHECK(r.input_points == 200);
    CHECK(r.points == 200);
    CHECK_FALSE(r.sampled);
    CHECK(r.affinity_neighbors == neighbor_count(15.0, 200));
    REQUIRE(r.kl_divergence);
    CHECK(*r.kl_divergence == d.kl);
    CHECK(*r.knn_preservation == d.preservation);
    CHECK(*r.trustworthiness == d.trust);
    CHECK(r.trustworthiness_queries == 150);
    CHECK(*r.knn_accuracy == d.accuracy);
    CHECK(*r.knn_accuracy > 0.5);  // the labels were used: chance is 0.25
    CHECK_FALSE(evaluate(x, y, nullptr, o).knn_accuracy);
}

TEST_CASE("evaluate: the PCA and the metrics asked for") {
    auto [labels, x, y, o] = labelled_problem(3, 40, 8, 11, 5.0, 3);
    o.pca_dims = 3;
    const Matrix reduced = pca(x, 3, 1).projected;
    const Direct d = direct_measures(reduced, y, labels, o);
    const EvaluationReport all = evaluate(x, y, &labels, o);
    CHECK(*all.kl_divergence == d.kl);
    CHECK(*all.trustworthiness == d.trust);

    o.metrics.kl_divergence = false;
    o.metrics.trustworthiness = false;
    std::vector<std::string> stages;
    EvaluateCallbacks callbacks;
    callbacks.stage_start = [&](const std::string& stage) { stages.push_back(stage); };
    const EvaluationReport some = evaluate(x, y, &labels, o, callbacks);
    CHECK(stages == std::vector<std::string>{"pca", "measures"});
    CHECK_FALSE(some.kl_divergence);
    CHECK_FALSE(some.trustworthiness);
    CHECK(some.affinity_neighbors == 0);
    CHECK(*some.knn_preservation == d.preservation);
    CHECK(*some.knn_accuracy == d.accuracy);
}

TEST_CASE("evaluate: a sample is the seeded rows, evaluated as if given alone") {
    auto [labels, x, y, o] = labelled_problem(4, 60, 5, 21, 10.0, 2);
    o.sample = 100;
    o.seed = 5;
    std::vector<std::string> stages;
    EvaluateCallbacks callbacks;
    callbacks.stage_done = [&](const std::string& stage, double seconds, const EvaluationReport& so_far) {
        CHECK(seconds >= 0);
        if (stage == "sample") CHECK(so_far.points == 100);
        stages.push_back(stage);
    };
    const EvaluationReport r = evaluate(x, y, &labels, o, callbacks);
    CHECK(stages == std::vector<std::string>{"sample", "neighbours", "affinities", "kl", "measures"});
    CHECK(r.input_points == 240);
    CHECK(r.points == 100);
    CHECK(r.sampled);

    const std::vector<index_t> rows = seeded_sample(240, 100, 5);
    std::vector<int> sampled_labels;
    for (index_t row : rows) sampled_labels.push_back(labels[static_cast<std::size_t>(row)]);
    EvaluateOptions whole = o;
    whole.sample = 0;
    const EvaluationReport alone = evaluate(rows_of(x, rows), rows_of(y, rows), &sampled_labels, whole);
    CHECK(*r.kl_divergence == *alone.kl_divergence);
    CHECK(*r.knn_preservation == *alone.knn_preservation);
    CHECK(*r.trustworthiness == *alone.trustworthiness);
    CHECK(*r.knn_accuracy == *alone.knn_accuracy);

    o.sample = 240;  // all the rows: no sample
    CHECK_FALSE(evaluate(x, y, &labels, o).sampled);
}

TEST_CASE("evaluate: above evaluate_max_points only a sample of at most that many") {
    const index_t n = evaluate_max_points + 1;
    const Matrix x = random_matrix(n, 1, 31);
    const Matrix y = random_matrix(n, 1, 32);
    EvaluateOptions o;
    for (index_t sample : {index_t{0}, evaluate_max_points + 1}) {
        o.sample = sample;
        const std::string limit = concat("refuses more than ", evaluate_max_points, " points; got ", n);
        CHECK_THROWS_WITH_AS(evaluate(x, y, nullptr, o), doctest::Contains(limit.c_str()), InvalidArgument);
    }
    o.sample = 300;
    const EvaluationReport r = evaluate(x, y, nullptr, o);
    CHECK(r.points == 300);
    CHECK(r.input_points == n);
    CHECK(std::isfinite(*r.kl_divergence));
}

TEST_CASE("evaluate: the memory estimate goes to the hook, then the limit refuses") {
    const Matrix x = random_matrix(150, 4, 41);
    const Matrix y = random_matrix(150, 2, 42);
    EvaluateOptions o;
    o.perplexity = 10;
    double seen = 0;
    EvaluateCallbacks callbacks;
    callbacks.memory = [&](const MemoryEstimate& m) { seen = m.peak; };
    o.memory_limit_bytes = 1024;  // far below the kNN graph of 150 points
    CHECK_THROWS_WITH_AS(evaluate(x, y, nullptr, o, callbacks), doctest::Contains("evaluate needs about"),
                         NumericalError);
    CHECK(seen == estimate_evaluate_memory(150, 4, 2, o).peak);
    CHECK(seen > 1024);
    o.memory_limit_bytes = HUGE_VAL;  // off
    CHECK_NOTHROW(evaluate(x, y, nullptr, o, callbacks));
    callbacks.memory = [](const MemoryEstimate&) { throw NumericalError("the caller's refusal"); };
    CHECK_THROWS_WITH_AS(evaluate(x, y, nullptr, o, callbacks), "the caller's refusal", NumericalError);
}

TEST_CASE("evaluate: errors for mismatched rows, columns, labels, k and values") {
    const Matrix x = random_matrix(60, 3, 51);
    const Matrix y = random_matrix(60, 2, 52);
    EvaluateOptions o;
    o.perplexity = 5;
    CHECK_THROWS_WITH_AS(evaluate(x, random_matrix(59, 2, 53), nullptr, o),
                         "Y has 59 rows, but X has 60 points", InvalidArgument);
    CHECK_THROWS_WITH_AS(evaluate(x, random_matrix(60, 4, 54), nullptr, o),
                         "Y: 4 columns; an embedding has 1, 2 or 3", InvalidArgument);
    const std::vector<int> short_labels(59, 0);
    CHECK_THROWS_WITH_AS(evaluate(x, y, &short_labels, o), "labels: 59 labels for 60 points",
                         InvalidArgument);
    Matrix bad = y;
    bad(3, 1) = std::nan("");
    CHECK_THROWS_WITH_AS(evaluate(x, bad, nullptr, o), doctest::Contains("embedding"), InvalidArgument);
    o.k = 30;  // 2k = N
    CHECK_THROWS_WITH_AS(evaluate(x, y, nullptr, o),
                         "k 30 needs more than 60 points (trustworthiness needs k < N/2); got 60",
                         InvalidArgument);
    o.metrics.trustworthiness = false;  // then k < N is enough
    CHECK_NOTHROW(evaluate(x, y, nullptr, o));
    o.k = 60;
    CHECK_THROWS_WITH_AS(evaluate(x, y, nullptr, o), "k 60 needs more than 60 points; got 60",
                         InvalidArgument);
    o.k = 0;
    CHECK_THROWS_WITH_AS(evaluate(x, y, nullptr, o), "k must be >= 1; got 0", InvalidArgument);
    o.k = 10;
    o.perplexity = -1;  // embed()'s own check
    CHECK_THROWS_WITH_AS(evaluate(x, y, nullptr, o), doctest::Contains("perplexity"), InvalidArgument);
}

TEST_CASE("validate_given_affinities: at least 3 points, whatever the perplexity") {
    Options o;
    o.affinities.perplexity = 30;  // would need more than 90 points if P were calibrated
    CHECK_NOTHROW(validate_given_affinities(o, 3, 2, "p.mtx"));
    CHECK_THROWS_WITH_AS(validate_given_affinities(o, 2, 2, "p.mtx"),
                         "p.mtx: t-SNE from a given P needs at least 3 points; got 2", InvalidArgument);
    o.dims = 0;  // the other options are still checked
    CHECK_THROWS_AS(validate_given_affinities(o, 10, 2, "p.mtx"), InvalidArgument);
}
