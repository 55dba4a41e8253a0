// The command line: parse_cli() as a pure function (when the test binary links treesne_cli_lib). The real
// `treesne` program run as a process (when TREESNE_CLI_PATH is defined) is tested in test_cli_binary.cpp
// and test_cli_runs.cpp: help, exit codes, one-line errors, nothing written on failure, round trips,
// pictures, affinities, evaluate, determinism, Ctrl-C.
#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "helpers/cli_runs.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/options.hpp"
#include "treesne/eval/accuracy.hpp"

#ifdef TREESNE_HAVE_CLI_LIB
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli.hpp"

namespace {

using treesne::cli::CliConfig;
using treesne::cli::Command;
using treesne::cli::parse_cli;
using treesne::cli::UsageError;

using treesne::testing::parse;

// Every field of each options aggregate as a tuple. A structured binding must name every field, so adding
// a field to one of these structs stops this file from compiling until the field is compared here too.
auto fields(const treesne::NeighborOptions& o) {
    const auto& [backend, metric, hnsw_m, hnsw_ef_construction, hnsw_ef_search, nndescent_trees,
                 nndescent_leaf_size, nndescent_rounds] = o;
    return std::tie(backend, metric, hnsw_m, hnsw_ef_construction, hnsw_ef_search, nndescent_trees,
                    nndescent_leaf_size, nndescent_rounds);
}
auto fields(const treesne::AffinityOptions& o) {
    const auto& [kind, perplexity, more_perplexities, sigma, k, entropy_tolerance, max_steps] = o;
    return std::tie(kind, perplexity, more_perplexities, sigma, k, entropy_tolerance, max_steps);
}
auto fields(const treesne::OptimizerOptions& o) {
    const auto& [method, dof, theta, theta_auto, target_error, iterations, exaggeration,
                 exaggeration_iterations, learning_rate, late_exaggeration, late_exaggeration_start,
                 momentum_switch, momentum, final_momentum, gain_increase, gain_decrease, min_gain,
                 early_stop, max_step_norm] = o;
    return std::tie(method, dof, theta, theta_auto, target_error, iterations, exaggeration,
                    exaggeration_iterations, learning_rate, late_exaggeration, late_exaggeration_start,
                    momentum_switch, momentum, final_momentum, gain_increase, gain_decrease, min_gain,
                    early_stop, max_step_norm);
}
auto fields(const treesne::Options& o) {
    const auto& [dims, seed, threads, pca_dims, init, init_coordinates, keep_user_scale, report_every,
                 neighbors, affinities, optimizer] = o;
    return std::tie(dims, seed, threads, pca_dims, init, init_coordinates, keep_user_scale, report_every);
}

void check_same_options(const treesne::Options& a, const treesne::Options& b) {
    CHECK((fields(a) == fields(b)));
    CHECK((fields(a.neighbors) == fields(b.neighbors)));
    CHECK((fields(a.affinities) == fields(b.affinities)));
    CHECK((fields(a.optimizer) == fields(b.optimizer)));
}

// `embed x -o y.csv FLAGS...` parses to the default neighbour options but for `backend` and the integer
// fields in `set`.
void check_neighbors(std::vector<std::string> flags, treesne::KnnBackend backend,
                     std::initializer_list<std::pair<int treesne::NeighborOptions::*, int>> set) {
    CAPTURE(flags.front());
    flags.insert(flags.begin(), {"embed", "x", "-o", "y.csv"});
    CHECK((fields(parse(flags).embed.options.neighbors) ==
           fields(treesne::testing::neighbor_options(backend, set))));
}

}  // namespace

TEST_CASE("cli parse: embed defaults are a default-constructed Options") {
    const CliConfig c = parse({"embed", "in.csv", "-o", "out.csv"});
    CHECK(c.command == Command::embed);
    CHECK(c.verbosity == treesne::cli::Verbosity::normal);
    CHECK(c.embed.inputs == std::vector<std::string>{"in.csv"});
    CHECK(c.embed.output == "out.csv");
    CHECK(c.embed.plot_path.empty());
    CHECK(c.embed.affinities_path.empty());
    CHECK(c.embed.label_paths.empty());
    CHECK(c.embed.init_path.empty());
    CHECK_FALSE(c.embed.log_every_given);
    check_same_options(c.embed.options, treesne::Options{});
}

TEST_CASE("cli parse: every embed option reaches its field") {
    const CliConfig c = parse({"embed",
                               "a.csv",
                               "b.csv",
                               "--output=out.npy",
                               "--dims",
                               "3",
                               "--perplexity",
                               "7.5",
                               "--perplexity-tolerance",
                               "1e-3",
                               "--perplexity-steps",
                               "77",
                               "--theta",
                               "0.25",
                               "--method",
                               "barnes_hut",
                               "--iterations",
                               "321",
                               "--exaggeration",
                               "4",
                               "--exaggeration-iterations",
                               "99",
                               "--learning-rate",
                               "150.5",
                               "--momentum",
                               "0.4",
                               "--final-momentum",
                               "0.7",
                               "--gain-increase",
                               "0.3",
                               "--gain-decrease",
                               "0.6",
                               "--min-gain",
                               "0.02",
                               "--max-step-norm",
                               "5",
                               "--init",
                               "start.csv",
                               "--keep-init-scale",
                               "--seed",
                               "18446744073709551615",
                               "--threads",
                               "3",
                               "--knn",
                               "brute",
                               "--pca",
                               "4",
                               "--labels",
                               "la.txt",
                               "--labels",
                               "lb.txt",
                               "--label-names",
                               "x,y",
                               "--plot",
                               "pic.SVG",
                               "--save-affinities",
                               "p.mtx",
                               "--log-every",
                               "5",
                               "--verbose"});
    const auto& e = c.embed;
    const auto& o = e.options;
    CHECK(e.inputs == std::vector<std::string>{"a.csv", "b.csv"});
    CHECK(e.output == "out.npy");
    CHECK(o.dims == 3);
    CHECK(o.affinities.perplexity == 7.5);
    CHECK(o.affinities.entropy_tolerance == 1e-3);
    CHECK(o.affinities.max_steps == 77);
    CHECK(o.optimizer.theta == 0.25);
    CHECK(o.optimizer.method == treesne::Method::barnes_hut);
    CHECK(o.optimizer.iterations == 321);
    CHECK(o.optimizer.exaggeration == 4);
    CHECK(o.optimizer.exaggeration_iterations == 99);
    REQUIRE(o.optimizer.learning_rate.has_value());
    CHECK(*o.optimizer.learning_rate == 150.5);
    CHECK(o.optimizer.momentum == 0.4);
    CHECK(o.optimizer.final_momentum == 0.7);
    CHECK(o.optimizer.gain_increase == 0.3);
    CHECK(o.optimizer.gain_decrease == 0.6);
    CHECK(o.optimizer.min_gain == 0.02);
    CHECK(o.optimizer.max_step_norm == 5);
    CHECK(o.init == treesne::InitKind::user);
    CHECK(e.init_path == "start.csv");
    CHECK(o.keep_user_scale);
    CHECK(o.seed == std::numeric_limits<std::uint64_t>::max());
    CHECK(o.threads == 3);
    CHECK(o.neighbors.backend == treesne::KnnBackend::brute);
    CHECK(o.pca_dims == 4);
    CHECK(e.label_paths == std::vector<std::string>{"la.txt", "lb.txt"});
    CHECK(e.label_names == "x,y");
    CHECK(e.plot_path == "pic.SVG");
    CHECK(e.affinities_path == "p.mtx");
    CHECK(o.report_every == 5);
    CHECK(e.log_every_given);
    CHECK(c.verbosity == treesne::cli::Verbosity::verbose);
}

TEST_CASE("cli parse: enumerations, auto, stdout and negative values") {
    CHECK(parse({"embed", "x", "-o", "-"}).embed.output == "-");
    CHECK(parse({"embed", "x", "-o", "y.csv", "--method", "exact_tsne"}).embed.options.optimizer.method ==
          treesne::Method::exact_tsne);
    CHECK(parse({"embed", "x", "-o", "y.csv", "--method", "exact_sne"}).embed.options.optimizer.method ==
          treesne::Method::exact_sne);
    CHECK(parse({"embed", "x", "-o", "y.csv", "--knn", "kdtree"}).embed.options.neighbors.backend ==
          treesne::KnnBackend::kdtree);
    CHECK(parse({"embed", "x", "-o", "y.csv", "--knn", "auto"}).embed.options.neighbors.backend ==
          treesne::KnnBackend::automatic);
    using N = treesne::NeighborOptions;
    check_neighbors(
        {"--knn", "hnsw", "--hnsw-m", "24", "--hnsw-ef-construction", "150", "--hnsw-ef-search", "300"},
        treesne::KnnBackend::hnsw,
        {{&N::hnsw_m, 24}, {&N::hnsw_ef_construction, 150}, {&N::hnsw_ef_search, 300}});
    check_neighbors({"--hnsw-ef-search", "auto"}, treesne::KnnBackend::automatic, {{&N::hnsw_ef_search, 0}});
    check_neighbors({"--hnsw-ef-search", "0"}, treesne::KnnBackend::automatic, {{&N::hnsw_ef_search, 0}});
    check_neighbors(
        {"--knn", "nndescent", "--nndescent-trees", "4", "--nndescent-leaf", "50", "--nndescent-rounds", "3"},
        treesne::KnnBackend::nndescent,
        {{&N::nndescent_trees, 4}, {&N::nndescent_leaf_size, 50}, {&N::nndescent_rounds, 3}});
    check_neighbors({"--nndescent-trees", "auto", "--nndescent-leaf", "0", "--nndescent-rounds", "auto"},
                    treesne::KnnBackend::automatic,
                    {{&N::nndescent_trees, 0}, {&N::nndescent_leaf_size, 0}, {&N::nndescent_rounds, 0}});
    CHECK(parse({"embed", "x", "-o", "y.csv", "--init", "random"}).embed.options.init ==
          treesne::InitKind::random);
    CHECK(parse({"embed", "x", "-o", "y.csv", "--init", "pca"}).embed.options.init == treesne::InitKind::pca);
    CHECK_FALSE(parse({"embed", "x", "-o", "y.csv", "--learning-rate", "auto"})
                    .embed.options.optimizer.learning_rate);
    CHECK(parse({"embed", "x", "-o", "y.csv", "-q"}).verbosity == treesne::cli::Verbosity::quiet);
    CHECK(parse({"embed", "x", "-o", "y.csv", "--theta", "0"}).embed.options.optimizer.theta == 0);
    // "--theta -1" reaches the range check instead of being read as an option.
    try {
        parse({"embed", "x", "-o", "y.csv", "--theta", "-1"});
        FAIL("no UsageError");
    } catch (const UsageError& e) {
        CHECK(std::string(e.what()).find("--theta must be >= 0") != std::string::npos);
    }
}

TEST_CASE("cli parse: help, version and evaluate") {
    CHECK(parse({"--help"}).command == Command::help);
    CHECK(parse({"-h"}).help_topic.empty());
    CHECK(parse({"--version"}).command == Command::version);
    CHECK(parse({"help", "embed"}).help_topic == "embed");
    CHECK(parse({"embed", "--help"}).help_topic == "embed");
    CHECK(parse({"embed", "--perplexity", "oops", "-h"}).help_topic == "embed");
    CHECK(parse({"evaluate", "--help"}).help_topic == "evaluate");

    const CliConfig d = parse({"evaluate", "x.csv", "y.csv"});
    CHECK(d.command == Command::evaluate);
    CHECK(d.evaluate.inputs == std::vector<std::string>{"x.csv"});
    CHECK(d.evaluate.embedding == "y.csv");
    CHECK(d.evaluate.perplexity == treesne::Options{}.affinities.perplexity);
    CHECK(d.evaluate.k == 10);
    CHECK(d.evaluate.sample == 0);
    CHECK_FALSE(d.evaluate.json);

    const CliConfig e = parse({"evaluate",
                               "a.csv",
                               "b.csv",
                               "y.npy",
                               "--labels",
                               "la",
                               "--labels",
                               "lb",
                               "--k",
                               "5",
                               "--perplexity",
                               "12",
                               "--sample",
                               "100",
                               "--json",
                               "--threads",
                               "2",
                               "--seed",
                               "7",
                               "--pca",
                               "3",
                               "--trust-queries",
                               "50"});
    CHECK(e.evaluate.inputs == std::vector<std::string>{"a.csv", "b.csv"});
    CHECK(e.evaluate.embedding == "y.npy");
    CHECK(e.evaluate.label_paths.size() == 2);
    CHECK(e.evaluate.k == 5);
    CHECK(e.evaluate.perplexity == 12);
    CHECK(e.evaluate.sample == 100);
    CHECK(e.evaluate.json);
    CHECK(e.evaluate.threads == 2);
    CHECK(e.evaluate.seed == 7);
    CHECK(e.evaluate.pca_dims == 3);
    CHECK(e.evaluate.trust_queries == 50);
}

TEST_CASE("cli parse: usage errors throw UsageError") {
    const std::vector<std::vector<std::string>> bad = {
        {},
        {"frobnicate"},
        {"--frobnicate"},
        {"help", "frobnicate"},
        {"embed", "x.csv", "-o", "y.csv", "--frobnicate"},
        {"embed", "x.csv", "-o", "y.csv", "--perplexity"},
        {"embed", "x.csv", "-o", "y.csv", "--perplexity", "abc"},
        {"embed", "x.csv", "-o", "y.csv", "--perplexity", "30x"},
        {"embed", "x.csv", "-o", "y.csv", "--perplexity", "nan"},
        {"embed", "x.csv", "-o", "y.csv", "--perplexity", "0"},
        {"embed", "x.csv", "-o", "y.csv", "--perplexity", "-5"},
        {"embed", "x.csv", "-o", "y.csv", "--perplexity", "5", "--perplexity", "6"},
        {"embed", "x.csv", "-o", "y.csv", "--dims", "0"},
        {"embed", "x.csv", "-o", "y.csv", "--dims", "4"},
        {"embed", "x.csv", "-o", "y.csv", "--dims", "2.5"},
        {"embed", "x.csv", "-o", "y.csv", "--theta", "-1"},
        {"embed", "x.csv", "-o", "y.csv", "--theta=-0.1"},
        {"embed", "x.csv", "-o", "y.csv", "--method", "tsne"},
        {"embed", "x.csv", "-o", "y.csv", "--knn", "hnsw2"},
        {"embed", "x.csv", "-o", "y.csv", "--hnsw-m", "1"},
        {"embed", "x.csv", "-o", "y.csv", "--hnsw-m", "1001"},
        {"embed", "x.csv", "-o", "y.csv", "--hnsw-m", "16.5"},
        {"embed", "x.csv", "-o", "y.csv", "--hnsw-ef-construction", "0"},
        {"embed", "x.csv", "-o", "y.csv", "--hnsw-ef-search", "-1"},
        {"embed", "x.csv", "-o", "y.csv", "--hnsw-ef-search", "many"},
        {"embed", "x.csv", "-o", "y.csv", "--hnsw-ef-search", "100001"},
        {"embed", "x.csv", "-o", "y.csv", "--knn", "nn-descent"},
        {"embed", "x.csv", "-o", "y.csv", "--nndescent-trees", "-1"},
        {"embed", "x.csv", "-o", "y.csv", "--nndescent-trees", "1001"},
        {"embed", "x.csv", "-o", "y.csv", "--nndescent-trees", "many"},
        {"embed", "x.csv", "-o", "y.csv", "--nndescent-leaf", "1"},
        {"embed", "x.csv", "-o", "y.csv", "--nndescent-leaf", "100001"},
        {"embed", "x.csv", "-o", "y.csv", "--nndescent-rounds", "2.5"},
        {"embed", "x.csv", "-o", "y.csv", "--nndescent-rounds", "1001"},
        {"embed", "x.csv", "-o", "y.csv", "--init", ""},
        {"embed", "x.csv", "-o", "y.csv", "--iterations", "-1"},
        {"embed", "x.csv", "-o", "y.csv", "--learning-rate", "0"},
        {"embed", "x.csv", "-o", "y.csv", "--learning-rate", "fast"},
        {"embed", "x.csv", "-o", "y.csv", "--momentum", "1"},
        {"embed", "x.csv", "-o", "y.csv", "--threads", "-2"},
        {"embed", "x.csv", "-o", "y.csv", "--seed", "-1"},
        {"embed", "x.csv", "-o", "y.csv", "--quiet", "--verbose"},
        {"embed", "x.csv", "-o", "y.csv", "--keep-init-scale"},
        {"embed", "x.csv", "-o", "y.csv", "--plot", "pic.jpg"},
        {"embed", "x.csv", "-o", "y.csv", "--save-affinities", "p.txt"},
        {"embed", "x.csv", "-o", "y.csv", "--save-affinities", "p.mtx", "--method", "exact_tsne"},
        {"embed", "x.csv", "-o", "y.csv", "--label-names", "a,b"},
        {"embed", "x.csv", "-o", "y.csv", "--labels", "a", "--labels", "b"},
        {"embed", "x.csv", "-o", "y.txt"},
        {"embed", "x.csv"},
        {"embed", "-o", "y.csv"},
        {"evaluate", "x.csv"},
        {"evaluate", "x.csv", "y.csv", "--k", "0"},
        {"evaluate", "x.csv", "y.csv", "--sample", "1"},
        {"evaluate", "x.csv", "y.csv", "--dims", "2"},
        {"evaluate", "x.csv", "", "--json"},
        {"embed", "", "-o", "y.csv"},
        {"embed", "x.csv", "-o", "y.csv", "--labels", ""},
        {"embed", "x.csv", "-o", "y.csv", "--checkpoint-every", "10"},
        {"embed", "x.csv", "-o", "y.csv", "--checkpoint", "c.ckpt", "--checkpoint-every", "0"},
        {"embed", "x.csv", "-o", "y.csv", "--checkpoint", ""},
        {"embed", "x.csv", "-o", "y.csv", "--checkpoint", "-"},
        {"embed", "x.csv", "-o", "y.csv", "--resume", ""},
        {"embed", "x.csv", "-o", "y.csv", "--resume", "c.ckpt", "--init", "random"},
    };
    for (const auto& args : bad) {
        std::string joined;
        for (const auto& a : args) joined += a + " ";
        CAPTURE(joined);
        CHECK_THROWS_AS(parse(args), UsageError);
    }
}

TEST_CASE("cli parse: checkpoint and resume") {
    CliConfig c = parse({"embed", "x.csv", "-o", "y.csv"});
    CHECK(c.embed.checkpoint_path.empty());
    CHECK(c.embed.resume_path.empty());
    CHECK(c.embed.checkpoint_every == treesne::Callbacks{}.checkpoint_every);
    c = parse({"embed", "x.csv", "-o", "y.csv", "--checkpoint", "c.ckpt", "--checkpoint-every", "25",
               "--resume", "c.ckpt"});
    CHECK(c.embed.checkpoint_path == "c.ckpt");
    CHECK(c.embed.checkpoint_every == 25);
    CHECK(c.embed.resume_path == "c.ckpt");
    c = parse({"embed", "x.csv", "-o", "y.csv", "--resume", "old.ckpt", "--iterations", "2000"});
    CHECK(c.embed.resume_path == "old.ckpt");
    CHECK(c.embed.options.optimizer.iterations == 2000);
}

TEST_CASE("cli parse: embed --theta auto and --target-error") {
    const treesne::OptimizerOptions defaults;
    treesne::OptimizerOptions p =
        parse({"embed", "x", "-o", "y.csv", "--theta", "auto"}).embed.options.optimizer;
    CHECK(p.theta_auto);
    CHECK(p.theta == defaults.theta);  // the controller's start
    CHECK(p.target_error == defaults.target_error);
    p = parse({"embed", "x", "-o", "y.csv", "--theta", "auto", "--target-error", "0.003"})
            .embed.options.optimizer;
    CHECK(p.theta_auto);
    CHECK(p.target_error == 0.003);
    CHECK(parse({"embed", "x", "-o", "y.csv", "--theta", "auto", "--target-error", "0"})
              .embed.options.optimizer.target_error == 0);
    p = parse({"embed", "x", "-o", "y.csv", "--theta", "0.3"}).embed.options.optimizer;
    CHECK_FALSE(p.theta_auto);
    CHECK(p.theta == 0.3);
    CHECK_FALSE(parse({"embed", "x", "-o", "y.csv"}).embed.options.optimizer.theta_auto);
    for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
             {"embed", "x", "-o", "y.csv", "--target-error", "0.01"},
             {"embed", "x", "-o", "y.csv", "--theta", "0.5", "--target-error", "0.01"},
             {"embed", "x", "-o", "y.csv", "--theta", "auto", "--target-error", "1.5"},
             {"embed", "x", "-o", "y.csv", "--theta", "auto", "--target-error", "-0.1"},
             {"embed", "x", "-o", "y.csv", "--theta", "auto", "--target-error", "small"},
             {"embed", "x", "-o", "y.csv", "--theta", "Auto"},
             {"embed", "x", "-o", "y.csv", "--theta", ""}}) {
        std::string joined;
        for (const auto& a : bad) joined += a + " ";
        CAPTURE(joined);
        CHECK_THROWS_AS(parse(bad), UsageError);
    }
    try {
        parse({"embed", "x", "-o", "y.csv", "--target-error", "0.01"});
    } catch (const UsageError& e) {
        CHECK(std::string(e.what()).find("--theta auto") != std::string::npos);
    }
}

namespace {

// accuracy with no options: the defaults of Options and AccuracyOptions, and no outputs.
void check_accuracy_defaults() {
    const CliConfig d = parse({"accuracy", "x.csv"});
    CHECK(d.command == Command::accuracy);
    CHECK(d.accuracy.inputs == std::vector<std::string>{"x.csv"});
    check_same_options(d.accuracy.options, treesne::Options{});
    const treesne::AccuracyOptions defaults;
    CHECK(d.accuracy.accuracy.thetas == defaults.thetas);
    CHECK(d.accuracy.accuracy.monopole);
    CHECK_FALSE(d.accuracy.accuracy.runs);
    CHECK(d.accuracy.accuracy.sample == 0);
    CHECK(d.accuracy.json_path.empty());
    CHECK(d.accuracy.csv_path.empty());
    CHECK(d.accuracy.plot_path.empty());
    CHECK(parse({"accuracy", "--help"}).help_topic == "accuracy");
    CHECK(parse({"help", "accuracy"}).help_topic == "accuracy");
}

// Every accuracy option reaches its field.
void check_accuracy_options() {
    const CliConfig c = parse({"accuracy",
                               "a.csv",
                               "b.csv",
                               "--theta",
                               "0,0.3,1.5",
                               "--runs",
                               "--sample",
                               "500",
                               "--no-monopole",
                               "--json",
                               "r.json",
                               "--csv",
                               "r.csv",
                               "--plot",
                               "r.PNG",
                               "--labels",
                               "la",
                               "--labels",
                               "lb",
                               "--perplexity",
                               "12",
                               "--dims",
                               "3",
                               "--pca",
                               "20",
                               "--seed",
                               "9",
                               "--threads",
                               "2",
                               "--knn",
                               "brute",
                               "--iterations",
                               "400",
                               "--verbose"});
    const auto& a = c.accuracy;
    CHECK(a.inputs == std::vector<std::string>{"a.csv", "b.csv"});
    CHECK(a.accuracy.thetas == std::vector<double>{0, 0.3, 1.5});
    CHECK(a.accuracy.runs);
    CHECK(a.accuracy.sample == 500);
    CHECK_FALSE(a.accuracy.monopole);
    CHECK(a.json_path == "r.json");
    CHECK(a.csv_path == "r.csv");
    CHECK(a.plot_path == "r.PNG");
    CHECK(a.label_paths == std::vector<std::string>{"la", "lb"});
    CHECK(a.options.affinities.perplexity == 12);
    CHECK(a.options.dims == 3);
    CHECK(a.options.pca_dims == 20);
    CHECK(a.options.seed == 9);
    CHECK(a.options.threads == 2);
    CHECK(a.options.neighbors.backend == treesne::KnnBackend::brute);
    CHECK(a.options.optimizer.iterations == 400);
    CHECK(c.verbosity == treesne::cli::Verbosity::verbose);
    CHECK(parse({"accuracy", "x", "--theta", "0.5"}).accuracy.accuracy.thetas == std::vector<double>{0.5});
    CHECK(parse({"accuracy", "x", "-q"}).verbosity == treesne::cli::Verbosity::quiet);
}

// Malformed accuracy command lines throw UsageError.
void check_accuracy_refusals() {
    const std::vector<std::vector<std::string>> bad = {
        {"accuracy"},
        {"accuracy", "--runs"},
        {"accuracy", "x", "--theta"},
        {"accuracy", "x", "--theta", ""},
        {"accuracy", "x", "--theta", "0.5,"},
        {"accuracy", "x", "--theta", ",0.5"},
        {"accuracy", "x", "--theta", "0.5,,1"},
        {"accuracy", "x", "--theta", "0.5;1"},
        {"accuracy", "x", "--theta", "-1"},
        {"accuracy", "x", "--theta", "0,-0.5"},
        {"accuracy", "x", "--theta", "auto"},
        {"accuracy", "x", "--theta", "nan"},
        {"accuracy", "x", "--sample", "1"},
        {"accuracy", "x", "--sample", "-5"},
        {"accuracy", "x", "--sample", "many"},
        {"accuracy", "x", "--dims", "4"},
        {"accuracy", "x", "--perplexity", "0"},
        {"accuracy", "x", "--knn", "faiss"},
        {"accuracy", "x", "--iterations", "-1"},
        {"accuracy", "x", "--plot", "chart.jpg"},
        {"accuracy", "x", "--json", ""},
        {"accuracy", "x", "--csv", "-"},
        {"accuracy", "x", "--labels", "a", "--labels", "b"},
        {"accuracy", "x", "-o", "y.csv"},  // an output that is an input is refused when run, by the file
        {"accuracy", "x", "--method", "exact_tsne"},
        {"accuracy", "x", "--quiet", "--verbose"},
        {"accuracy", "x", "--target-error", "0.01"},
    };
    for (const auto& args : bad) {
        std::string joined;
        for (const auto& arg : args) joined += arg + " ";
        CAPTURE(joined);
        CHECK_THROWS_AS(parse(args), UsageError);
    }
    try {
        parse({"accuracy", "x", "--theta", "-1"});
        FAIL("no UsageError");
    } catch (const UsageError& e) {
        CHECK(std::string(e.what()).find("--theta must be >= 0") != std::string::npos);
    }
}

}  // namespace

TEST_CASE("cli parse: accuracy") {
    check_accuracy_defaults();
    check_accuracy_options();
    check_accuracy_refusals();
}

namespace {

/// The fuzz_cli target's argv: words split at '\n' and '\0', a final newline ending the last word.
std::vector<std::string> split_words(const std::string& bytes) {
    if (bytes.empty()) return {};
    std::vector<std::string> words(1);
    for (char ch : bytes) {
        if (ch == '\n' || ch == '\0') {
            words.emplace_back();
        } else {
            words.back() += ch;
        }
    }
    if (words.back().empty()) words.pop_back();
    return words;
}

}  // namespace

// Command lines that fuzzing found troublesome (tools/fuzz/fuzz_cli.cpp), kept as regressions: each must
// parse into a sane configuration or throw UsageError.
TEST_CASE("cli parse: fuzz regression inputs") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(TREESNE_TEST_DATA_DIR) / "fuzz" / "cli";
    int count = 0;
    if (fs::exists(dir)) {
        for (const auto& entry : fs::directory_iterator(dir)) {
            std::ifstream in(entry.path(), std::ios::binary);
            const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            CAPTURE(entry.path().string());
            try {
                const CliConfig c = parse(split_words(bytes));
                if (c.command == Command::embed) {
                    CHECK_FALSE(c.embed.inputs.empty());
                    for (const auto& f : c.embed.inputs) CHECK_FALSE(f.empty());
                }
                if (c.command == Command::evaluate) {
                    CHECK_FALSE(c.evaluate.embedding.empty());
                    for (const auto& f : c.evaluate.inputs) CHECK_FALSE(f.empty());
                }
                if (c.command == Command::accuracy) {
                    CHECK_FALSE(c.accuracy.inputs.empty());
                    for (const auto& f : c.accuracy.inputs) CHECK_FALSE(f.empty());
                }
            } catch (const UsageError&) {
            }
            ++count;
        }
    }
    MESSAGE(count << " fuzz regression command lines parsed");
}

TEST_CASE("cli help: every option and its default") {
    const std::string embed = treesne::cli::help_text("embed");
    for (const char* name : {"--output",
                             "--dims",
                             "--perplexity",
                             "--perplexity-tolerance",
                             "--perplexity-steps",
                             "--theta",
                             "--target-error",
                             "--method",
                             "--iterations",
                             "--exaggeration",
                             "--exaggeration-iterations",
                             "--learning-rate",
                             "--momentum",
                             "--final-momentum",
                             "--gain-increase",
                             "--gain-decrease",
                             "--min-gain",
                             "--max-step-norm",
                             "--init",
                             "--keep-init-scale",
                             "--seed",
                             "--threads",
                             "--knn",
                             "--hnsw-m",
                             "--hnsw-ef-construction",
                             "--hnsw-ef-search",
                             "--nndescent-trees",
                             "--nndescent-leaf",
                             "--nndescent-rounds",
                             "--pca",
                             "--labels",
                             "--label-names",
                             "--plot",
                             "--save-affinities",
                             "--log-every",
                             "--checkpoint",
                             "--checkpoint-every",
                             "--resume",
                             "--memory-limit",
                             "--quiet",
                             "--verbose",
                             "--help"}) {
        CAPTURE(name);
        CHECK(embed.find(name) != std::string::npos);
    }
    const treesne::Options d;
    for (const std::string& text :
         {treesne::concat("Default: ", d.affinities.perplexity, "."),
          treesne::concat("Default: ", d.optimizer.theta, "."),
          treesne::concat("Default: ", d.optimizer.iterations, "."),
          treesne::concat("Default: ", d.optimizer.exaggeration_iterations, "."),
          treesne::concat("Default: ", d.seed, "."), treesne::concat("Default: ", d.dims, "."),
          std::string("Default: auto."), std::string("Default: barnes_hut."), std::string("Default: pca."),
          std::string("half-width / distance"), std::string("auto|kdtree|brute|hnsw|nndescent"),
          std::string("approximate"), std::string("T|auto"),
          treesne::concat("Default: ", d.optimizer.target_error, "."),
          treesne::concat("Default: ", d.neighbors.hnsw_m, "."),
          treesne::concat("Default: ", d.neighbors.hnsw_ef_construction, ".")}) {
        CAPTURE(text);
        CHECK(embed.find(text) != std::string::npos);
    }
    const std::string evaluate = treesne::cli::help_text("evaluate");
    for (const char* name : {"--labels", "--perplexity", "--k", "--sample", "--json", "--threads", "--pca"}) {
        CAPTURE(name);
        CHECK(evaluate.find(name) != std::string::npos);
    }
    const std::string accuracy = treesne::cli::help_text("accuracy");
    for (const char* name : {"--theta",      "--runs",    "--sample",  "--no-monopole",
                             "--json",       "--csv",     "--plot",    "--labels",
                             "--perplexity", "--dims",    "--pca",     "--knn",
                             "--iterations", "--seed",    "--threads", "--quiet",
                             "--verbose",    "Example",   "grad_err",  "repul_err",
                             "Z_err",        "KL_sparse", "KL_dense",  "Default: 0,0.25,0.5,0.75,1."}) {
        CAPTURE(name);
        CHECK(accuracy.find(name) != std::string::npos);
    }
    CHECK(accuracy.find(std::to_string(treesne::accuracy_max_points)) != std::string::npos);
    CHECK(accuracy.find(std::to_string(treesne::accuracy_max_points_runs)) != std::string::npos);
    CHECK(treesne::cli::help_text("").find("treesne embed") != std::string::npos);
    CHECK(treesne::cli::help_text("").find("treesne accuracy") != std::string::npos);
    CHECK_THROWS_AS(treesne::cli::help_text("nope"), UsageError);
}

#endif  // TREESNE_HAVE_CLI_LIB
