// The command line: parse_cli() as a pure function (when the test binary links treesne_cli_lib), and the
// real `treesne` program run as a process (when TREESNE_CLI_PATH is defined): help, exit codes, one-line
// errors, nothing written on failure, round trips, pictures, affinities, evaluate, determinism, Ctrl-C.
#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/eval/accuracy.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/options.hpp"

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

CliConfig parse(std::vector<std::string> args) {
    args.insert(args.begin(), "treesne");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return parse_cli(static_cast<int>(argv.size()), argv.data());
}

// Every field of each options aggregate as a tuple. A structured binding must name every field, so adding
// a field to one of these structs stops this file from compiling until the field is compared here too.
auto fields(const treesne::NeighborOptions& o) {
    const auto& [backend, metric, hnsw_m, hnsw_ef_construction, hnsw_ef_search, nndescent_trees, nndescent_leaf_size,
                 nndescent_rounds] = o;
    return std::tie(backend, metric, hnsw_m, hnsw_ef_construction, hnsw_ef_search, nndescent_trees, nndescent_leaf_size,
                    nndescent_rounds);
}
auto fields(const treesne::AffinityOptions& o) {
    const auto& [kind, perplexity, more_perplexities, sigma, k, entropy_tolerance, max_steps] = o;
    return std::tie(kind, perplexity, more_perplexities, sigma, k, entropy_tolerance, max_steps);
}
auto fields(const treesne::OptimizerOptions& o) {
    const auto& [method, dof, theta, theta_auto, target_error, iterations, exaggeration, exaggeration_iterations,
                 learning_rate, late_exaggeration, late_exaggeration_start, momentum_switch, momentum,
                 final_momentum, gain_increase, gain_decrease, min_gain, early_stop, max_step_norm] = o;
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
    const treesne::NeighborOptions hnsw =
        parse({"embed", "x", "-o", "y.csv", "--knn", "hnsw", "--hnsw-m", "24", "--hnsw-ef-construction",
               "150", "--hnsw-ef-search", "300"})
            .embed.options.neighbors;
    CHECK(hnsw.backend == treesne::KnnBackend::hnsw);
    CHECK(hnsw.hnsw_m == 24);
    CHECK(hnsw.hnsw_ef_construction == 150);
    CHECK(hnsw.hnsw_ef_search == 300);
    CHECK(parse({"embed", "x", "-o", "y.csv", "--hnsw-ef-search", "auto"})
              .embed.options.neighbors.hnsw_ef_search == 0);
    CHECK(parse({"embed", "x", "-o", "y.csv", "--hnsw-ef-search", "0"})
              .embed.options.neighbors.hnsw_ef_search == 0);
    const treesne::NeighborOptions nndescent =
        parse({"embed", "x", "-o", "y.csv", "--knn", "nndescent", "--nndescent-trees", "4", "--nndescent-leaf",
               "50", "--nndescent-rounds", "3"})
            .embed.options.neighbors;
    CHECK(nndescent.backend == treesne::KnnBackend::nndescent);
    CHECK(nndescent.nndescent_trees == 4);
    CHECK(nndescent.nndescent_leaf_size == 50);
    CHECK(nndescent.nndescent_rounds == 3);
    const treesne::NeighborOptions nndescent_auto =
        parse({"embed", "x", "-o", "y.csv", "--nndescent-trees", "auto", "--nndescent-leaf", "0",
               "--nndescent-rounds", "auto"})
            .embed.options.neighbors;
    CHECK(nndescent_auto.nndescent_trees == 0);
    CHECK(nndescent_auto.nndescent_leaf_size == 0);
    CHECK(nndescent_auto.nndescent_rounds == 0);
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

TEST_CASE("cli parse: accuracy") {
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

#ifdef TREESNE_CLI_PATH

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "helpers/cli.hpp"
#include "treesne/io/checkpoint.hpp"
#include "treesne/io/io.hpp"
#include "treesne/version.hpp"

namespace treesne {
/// The documented limit of `treesne evaluate` without --sample (tools/cli.hpp: evaluate_max_points).
constexpr index_t cli_test_evaluate_max_points = 200000;
}  // namespace treesne

namespace {

namespace fs = std::filesystem;

using namespace treesne::testing;

/// The first n points of `clusters` equal blobs in d dimensions (the shared generator testing::clustered),
/// as rows for write_csv; labels[i] = blob of point i.
struct Blobs {
    std::vector<std::vector<double>> x;
    std::vector<int> labels;
};

Blobs make_blobs(int n, int d, int clusters, std::uint64_t seed = 1) {
    Blobs b;
    const treesne::Matrix x =
        treesne::testing::clustered(clusters, (n + clusters - 1) / clusters, d, seed, 10.0, &b.labels);
    for (treesne::index_t i = 0; i < n; ++i) b.x.emplace_back(x.row(i), x.row(i) + x.cols());
    b.labels.resize(static_cast<std::size_t>(n));
    return b;
}

void write_csv(const std::string& path, const std::vector<std::vector<double>>& x, char sep = ',') {
    std::ofstream out(path);
    out.precision(17);
    for (const auto& row : x) {
        for (std::size_t j = 0; j < row.size(); ++j) out << (j ? std::string(1, sep) : "") << row[j];
        out << '\n';
    }
}

void write_labels(const std::string& path, const std::vector<int>& labels) {
    std::ofstream out(path);
    for (int l : labels) out << l << '\n';
}

/// Small, fast runs: perplexity 5, 60 iterations, one thread (ctest runs tests in parallel, and OpenMP's
/// spinning threads crawl on an oversubscribed machine).
const std::string fast = " --perplexity 5 --iterations 60 --exaggeration-iterations 20 --quiet --threads 1";
/// For a dozen points.
const std::string tiny = " --perplexity 3 --iterations 30 --exaggeration-iterations 10 --quiet --threads 1";

void check_embedding(const std::string& path, treesne::index_t rows, treesne::index_t cols) {
    const treesne::Matrix y = treesne::io::read_matrix(path);
    CHECK(y.rows() == rows);
    CHECK(y.cols() == cols);
    for (double v : y.storage()) REQUIRE(std::isfinite(v));
}

/// bhtsne's result layout: int32 N, int32 D, N*D doubles, N int32 landmarks, N doubles costs.
void check_dat_result(const std::string& path, int rows, int cols) {
    const std::string bytes = slurp(path);
    REQUIRE(bytes.size() >= 8);
    std::int32_t header[2];
    std::memcpy(header, bytes.data(), sizeof header);
    CHECK(header[0] == rows);
    CHECK(header[1] == cols);
    CHECK(bytes.size() ==
          8 + static_cast<std::size_t>(rows) * cols * 8 + static_cast<std::size_t>(rows) * 12);
    std::vector<double> y(static_cast<std::size_t>(rows) * cols);
    std::memcpy(y.data(), bytes.data() + 8, y.size() * sizeof(double));
    for (double v : y) REQUIRE(std::isfinite(v));
}

}  // namespace

TEST_CASE("cli binary: help and version") {
    TempDir dir;
    // The binary prints exactly the help texts whose content "cli help: every option and its default"
    // checks.
    const std::pair<const char*, const char*> cases[] = {{"--help", ""},
                                                         {"help", ""},
                                                         {"-h", ""},
                                                         {"embed --help", "embed"},
                                                         {"help embed", "embed"},
                                                         {"embed -h", "embed"},
                                                         {"evaluate --help", "evaluate"},
                                                         {"help evaluate", "evaluate"},
                                                         {"accuracy --help", "accuracy"},
                                                         {"help accuracy", "accuracy"}};
    for (const auto& [args, topic] : cases) {
        const auto& command = args;  // CAPTURE's lambda cannot capture a structured binding (clang)
        CAPTURE(command);
        const Run r = run_cli(dir, args);
        CHECK(r.status == 0);
        CHECK(r.out == treesne::cli::help_text(topic));
        CHECK(r.err.empty());
    }
    CHECK(contains(treesne::cli::help_text(""), "treesne evaluate"));
    CHECK(contains(treesne::cli::help_text("embed"), "Example"));
    const Run v = run_cli(dir, "--version");
    CHECK(v.status == 0);
    CHECK(v.out == std::string("treesne ") + treesne::version + "\n");
}

TEST_CASE("cli binary: usage errors exit 2 with one line") {
    TempDir dir;
    const Blobs b = make_blobs(60, 4, 3);
    const std::string in = dir / "in.csv", out = dir / "out.csv";
    write_csv(in, b.x);
    const std::string io = quote(in) + " -o " + quote(out);
    for (const std::string& args : {
             std::string(""),
             std::string("frobnicate"),
             "embed " + io + " --frobnicate",
             "embed " + io + " --perplexity",
             "embed " + io + " --perplexity abc",
             "embed " + io + " --dims 0",
             "embed " + io + " --dims 4",
             "embed " + io + " --perplexity 0",
             "embed " + io + " --perplexity -3",
             "embed " + io + " --theta -1",
             "embed " + io + " --method fast",
             "embed " + io + " --init sideways --quiet --verbose",
             "embed " + io + " --init ''",
             "embed " + io + " --knn faiss",
             "embed " + io + " --knn hnsw --hnsw-m 0",
             "embed " + io + " --knn nndescent --nndescent-leaf 1",
             "embed " + io + " --knn nndescent --nndescent-rounds x",
             "embed " + io + " --learning-rate quick",
             "embed -o " + quote(out),
             "embed " + quote(in),
             "embed " + quote(in) + " -o " + quote(dir / "out.xyz"),
             "embed " + io + " --method exact_tsne --save-affinities " + quote(dir / "p.mtx"),
             "evaluate " + quote(in),
             "embed " + io + " --target-error 0.01",
             "embed " + io + " --theta auto --target-error 2",
             std::string("accuracy"),
             "accuracy " + quote(in) + " --theta 0.5,x",
             "accuracy " + quote(in) + " --plot " + quote(dir / "chart.gif"),
         }) {
        CAPTURE(args);
        const Run r = run_cli(dir, args);
        CHECK(r.status == 2);
        check_one_error_line(r);
        CHECK_FALSE(fs::exists(out));
    }
}

TEST_CASE("cli binary: data errors exit 1 with one line and write nothing") {
    TempDir dir;
    const std::string out = dir / "out.csv";
    struct Case {
        const char* name;
        std::string content;  // written to dir/name unless it is the missing file
        const char* expect;   // a part of the message
    };
    const std::vector<Case> cases = {
        {"missing.csv", "", "missing.csv"},
        {"empty.csv", "", "empty.csv"},
        {"header.csv", "a,b,c\n", "header.csv"},
        {"ragged.csv", "1,2,3\n4,5,6\n7,8\n", "line"},
        {"text.csv", "1,2,3\n4,five,6\n", "line"},
        {"nan.csv", "1,2,3\n4,nan,6\n", "line"},
        {"inf.csv", "1,2,3\n4,inf,6\n", "line"},
        {"garbage.csv", std::string("\x01\x02\xff\xfe\x00\x10garbage\x7f\x80", 16), "garbage.csv"},
        {"truncated.npy",
         std::string("\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (100, 3), }",
                     70) +
             std::string(100, '\0'),
         "truncated.npy"},
    };
    SUBCASE("unreadable inputs") {
        for (const Case& c : cases) {
            CAPTURE(c.name);
            const std::string path = dir / c.name;
            if (std::string(c.name) != "missing.csv") spit(path, c.content);
            const Run r = run_cli(dir, "embed " + quote(path) + " -o " + quote(out) + fast);
            CHECK(r.status == 1);
            check_one_error_line(r);
            CHECK(contains(r.err, c.expect));
            CHECK_FALSE(fs::exists(out));
        }
    }

    const Blobs b = make_blobs(12, 3, 2);
    const std::string small = dir / "small.csv";
    write_csv(small, b.x);
    SUBCASE("too few points for the perplexity") {
        const Run r = run_cli(
            dir, "embed " + quote(small) + " -o " + quote(out) + " --perplexity 30 --quiet --threads 1");
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, "perplexity 30 must be below N - 1 = 11 for 12 points"));
        CHECK_FALSE(fs::exists(out));
    }
    SUBCASE("output directory missing") {
        const Run r =
            run_cli(dir, "embed " + quote(small) + " -o " + quote(dir / "no/such/dir/out.csv") + tiny);
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, "no/such/dir"));
    }
    SUBCASE("plot directory missing") {
        const Run r = run_cli(dir, "embed " + quote(small) + " -o " + quote(out) + " --plot " +
                                       quote(dir / "nowhere/pic.png") + tiny);
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK_FALSE(fs::exists(out));
    }
    SUBCASE("unwritable directory") {
        if (::geteuid() == 0) {
            MESSAGE("skipped: root ignores directory permissions");
        } else {
            const std::string locked = dir / "locked";
            fs::create_directory(locked);
            fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
            const Run r = run_cli(dir, "embed " + quote(small) + " -o " + quote(locked + "/out.csv") + tiny);
            CHECK(r.status == 1);
            check_one_error_line(r);
            CHECK_FALSE(fs::exists(locked + "/out.csv"));
        }
    }
    SUBCASE("labels count differs from the points") {
        write_labels(dir / "labels.txt", {0, 1, 0});
        const Run r = run_cli(dir, "embed " + quote(small) + " -o " + quote(out) + " --labels " +
                                       quote(dir / "labels.txt") + tiny);
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, "3"));
        CHECK(contains(r.err, "12"));
        CHECK_FALSE(fs::exists(out));
    }
    SUBCASE("stacked inputs with different columns") {
        write_csv(dir / "wide.csv", make_blobs(12, 4, 2).x);
        const Run r = run_cli(
            dir, "embed " + quote(small) + " " + quote(dir / "wide.csv") + " -o " + quote(out) + tiny);
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, "wide.csv"));
    }
    SUBCASE("init file of the wrong shape") {
        write_csv(dir / "init.csv", {{0.0, 1.0}, {1.0, 0.0}});
        const Run r = run_cli(
            dir, "embed " + quote(small) + " -o " + quote(out) + " --init " + quote(dir / "init.csv") + tiny);
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, "init"));
    }
    SUBCASE("a degenerate init file: coincident points, a constant column, too small to keep") {
        // 4ae5c90 wrote a collapsed embedding with exit 0 for each.
        const treesne::index_t n = treesne::io::read_matrix(small).rows();
        std::vector<std::vector<double>> zeros(static_cast<std::size_t>(n), {0.0, 0.0}), column, tiny_init;
        for (treesne::index_t i = 0; i < n; ++i) {
            column.push_back({static_cast<double>(i), 7.0});
            tiny_init.push_back({1e-300 * static_cast<double>(i), 1e-300 * static_cast<double>(i % 3)});
        }
        for (const auto& [rows, more, says] :
             {std::make_tuple(zeros, std::string(), std::string("same position")),
              std::make_tuple(column, std::string(), std::string("column 2 is constant")),
              std::make_tuple(tiny_init, std::string(" --keep-init-scale"),
                              std::string("too small to keep"))}) {
            const std::string expected = says;  // clang cannot capture a structured binding
            CAPTURE(expected);
            write_csv(dir / "init.csv", rows);
            const Run r = run_cli(dir, "embed " + quote(small) + " -o " + quote(out) + " --init " +
                                           quote(dir / "init.csv") + more + tiny);
            CHECK(r.status == 1);
            check_one_error_line(r);
            CHECK(contains(r.err, "--init " + dir / "init.csv" + ": "));
            CHECK(contains(r.err, says));
            CHECK_FALSE(fs::exists(out));
        }
        // Values near 1e-300 are rescaled like any others, unless kept.
        write_csv(dir / "init.csv", tiny_init);
        CHECK(run_cli(dir, "embed " + quote(small) + " -o " + quote(out) + " --init " +
                               quote(dir / "init.csv") + tiny)
                  .status == 0);
        check_embedding(out, n, 2);
    }
    SUBCASE("a failed run leaves an existing output unchanged") {
        spit(out, "precious\n");
        const Run r = run_cli(dir, "embed " + quote(small) + " -o " + quote(out) + " --plot " +
                                       quote(dir / "nowhere/pic.png") + tiny);
        CHECK(r.status == 1);
        CHECK(slurp(out) == "precious\n");
        spit(dir / "ragged.csv", "1,2\n3\n");
        const Run r2 = run_cli(dir, "embed " + quote(dir / "ragged.csv") + " -o " + quote(out) + tiny);
        CHECK(r2.status == 1);
        CHECK(slurp(out) == "precious\n");
    }
    // Nothing but our own files: no temporary files left behind.
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        const std::string name = entry.path().filename().string();
        CAPTURE(name);
        CHECK((name.find(".csv") != std::string::npos || name.find(".npy") != std::string::npos ||
               name.find(".txt") != std::string::npos || name == "locked"));
    }
}

TEST_CASE("cli binary: embeddings round-trip in every format") {
    TempDir dir;
    const Blobs b = make_blobs(90, 6, 3);
    const std::string in = dir / "in.tsv";
    write_csv(in, b.x, '\t');
    SUBCASE("formats and dimensions") {
        for (const char* ext : {".csv", ".tsv", ".npy"}) {
            CAPTURE(ext);
            const std::string out = dir / (std::string("y") + ext);
            const Run r = run_cli(dir, "embed " + quote(in) + " -o " + quote(out) + fast);
            CHECK(r.status == 0);
            CHECK(r.err.empty());
            check_embedding(out, 90, 2);
        }
        const Run r = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y.dat") + fast);
        CHECK(r.status == 0);
        check_dat_result(dir / "y.dat", 90, 2);
        for (int dims : {1, 3}) {
            const std::string out = dir / "y_dims.csv";
            const Run d = run_cli(
                dir, "embed " + quote(in) + " -o " + quote(out) + fast + " --dims " + std::to_string(dims));
            CHECK(d.status == 0);
            check_embedding(out, 90, dims);
        }
    }
    SUBCASE("stdout") {
        const Run r = run_cli(dir, "embed " + quote(in) + " -o -" + fast);
        CHECK(r.status == 0);
        spit(dir / "from_stdout.csv", r.out);
        check_embedding(dir / "from_stdout.csv", 90, 2);
    }
    SUBCASE("exact methods, random and file initialisation, pca preprocessing") {
        std::vector<std::vector<double>> init;
        for (int i = 0; i < 90; ++i) init.push_back({std::sin(i * 1.0), std::cos(i * 0.7)});
        write_csv(dir / "init.csv", init);
        for (const std::string& extra :
             {std::string(" --method exact_tsne"), std::string(" --method exact_sne"),
              std::string(" --init random"), std::string(" --pca 3 --knn kdtree"),
              std::string(" --knn brute --theta 0"), " --init " + quote(dir / "init.csv")}) {
            CAPTURE(extra);
            const std::string out = dir / "y_variant.npy";
            const Run r = run_cli(dir, "embed " + quote(in) + " -o " + quote(out) + fast + extra);
            CHECK(r.status == 0);
            CHECK(r.err.empty());
            check_embedding(out, 90, 2);
        }
    }
    SUBCASE("stacked inputs") {
        write_csv(dir / "a.csv", std::vector<std::vector<double>>(b.x.begin(), b.x.begin() + 50));
        write_csv(dir / "b.csv", std::vector<std::vector<double>>(b.x.begin() + 50, b.x.end()));
        const Run r = run_cli(dir, "embed " + quote(dir / "a.csv") + " " + quote(dir / "b.csv") + " -o " +
                                       quote(dir / "stacked.csv") + fast);
        CHECK(r.status == 0);
        check_embedding(dir / "stacked.csv", 90, 2);
    }
}

TEST_CASE("cli binary: progress lines, pictures and affinities") {
    TempDir dir;
    const Blobs b = make_blobs(120, 5, 4);
    const std::string in = dir / "in.csv";
    write_csv(in, b.x);
    write_labels(dir / "a.txt", std::vector<int>(b.labels.begin(), b.labels.begin() + 70));
    write_labels(dir / "b.txt", std::vector<int>(b.labels.begin() + 70, b.labels.end()));
    write_csv(dir / "in_a.csv", std::vector<std::vector<double>>(b.x.begin(), b.x.begin() + 70));
    write_csv(dir / "in_b.csv", std::vector<std::vector<double>>(b.x.begin() + 70, b.x.end()));

    SUBCASE("stage lines and a plain progress line every --log-every iterations") {
        const Run r =
            run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y.csv") +
                             " --perplexity 5 --iterations 60 --log-every 20 --verbose --threads 1");
        CHECK(r.status == 0);
        CAPTURE(r.err);
        CHECK(contains(r.err, "read: 120 x 5"));
        CHECK(contains(r.err, "settings:"));
        CHECK(contains(r.err, "learning rate"));
        CHECK(contains(r.err, "optimise: 20/60"));
        CHECK(contains(r.err, "optimise: 60/60"));
        CHECK(contains(r.err, "write: "));
        CHECK_FALSE(contains(r.err, "\r"));
    }
    SUBCASE("labels and --plot give a PNG, and an SVG") {
        const Run r =
            run_cli(dir, "embed " + quote(dir / "in_a.csv") + " " + quote(dir / "in_b.csv") + " -o " +
                             quote(dir / "y.csv") + " --labels " + quote(dir / "a.txt") + " --labels " +
                             quote(dir / "b.txt") + " --label-names 'zero,one,two,three' --plot " +
                             quote(dir / "pic.png") + fast);
        CHECK(r.status == 0);
        CAPTURE(r.err);
        const std::string png = slurp(dir / "pic.png");
        REQUIRE(png.size() > 1000);
        CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
        const Run s = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y.csv") + " --plot " +
                                       quote(dir / "pic.svg") + fast);
        CHECK(s.status == 0);
        CHECK(contains(slurp(dir / "pic.svg"), "<svg"));
    }
    SUBCASE("--label-names must cover the labels") {
        const Run r = run_cli(dir, "embed " + quote(dir / "in_a.csv") + " -o " + quote(dir / "y.csv") +
                                       " --labels " + quote(dir / "a.txt") +
                                       " --label-names 'zero,one' --plot " + quote(dir / "pic.png") + fast);
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK_FALSE(fs::exists(dir / "y.csv"));
    }
    SUBCASE("--save-affinities writes P, which sums to 1") {
        const Run r = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y.csv") +
                                       " --save-affinities " + quote(dir / "p.mtx") + fast);
        CHECK(r.status == 0);
        const treesne::SparseMatrix p = treesne::io::read_affinities(dir / "p.mtx");
        CHECK(p.n == 120);
        double sum = 0;
        for (double v : p.values) sum += v;
        CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
    }
}

TEST_CASE("cli binary: evaluate") {
    TempDir dir;
    const Blobs b = make_blobs(150, 5, 3);
    const std::string in = dir / "in.csv", y = dir / "y.csv", labels = dir / "labels.txt";
    write_csv(in, b.x);
    write_labels(labels, b.labels);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(y) +
                             " --perplexity 5 --iterations 100 --quiet --threads 1")
                .status == 0);

    const Run text = run_cli(dir, "evaluate " + quote(in) + " " + quote(y) + " --labels " + quote(labels) +
                                      " --perplexity 5 --quiet --threads 1");
    CAPTURE(text.err);
    CHECK(text.status == 0);
    CHECK(contains(text.out, "KL divergence:"));
    CHECK(contains(text.out, "10-NN preservation:"));
    CHECK(contains(text.out, "trustworthiness:"));
    CHECK(contains(text.out, "10-NN accuracy:"));
    CHECK(text.err.empty());

    const Run json = run_cli(dir, "evaluate " + quote(in) + " " + quote(y) + " --labels " + quote(labels) +
                                      " --perplexity 5 --k 5 --json --quiet --threads 1");
    CHECK(json.status == 0);
    CAPTURE(json.out);
    REQUIRE(json.out.size() > 2);
    CHECK(json.out.front() == '{');
    CHECK(json.out[json.out.find_last_not_of("\n")] == '}');
    CHECK(count_lines(json.out) == 1);
    for (const char* key : {"\"kl_divergence\":", "\"knn_preservation\":", "\"trustworthiness\":",
                            "\"knn_accuracy\":", "\"points\": 150", "\"k\": 5"})
        CHECK(contains(json.out, key));

    const Run sampled = run_cli(
        dir, "evaluate " + quote(in) + " " + quote(y) + " --perplexity 5 --sample 60 --json --threads 1");
    CHECK(sampled.status == 0);
    CHECK(contains(sampled.out, "\"points\": 60"));
    CHECK(contains(sampled.out, "\"sampled\": true"));
    CHECK_FALSE(contains(sampled.out, "knn_accuracy"));

    SUBCASE("more points than the exact KL divergence allows, unless sampled") {
        const treesne::index_t big = treesne::cli_test_evaluate_max_points + 1;
        {
            std::ofstream x(dir / "big_x.csv"), e(dir / "big_y.csv");
            for (treesne::index_t i = 0; i < big; ++i) {
                x << i % 1000 << '\n';
                e << i % 997 << ',' << i % 13 << '\n';
            }
        }
        const Run r = run_cli(dir, "evaluate " + quote(dir / "big_x.csv") + " " + quote(dir / "big_y.csv") +
                                       " --quiet --threads 1");
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, "--sample"));
        CHECK(contains(r.err, std::to_string(treesne::cli_test_evaluate_max_points)));
    }
    write_csv(dir / "short.csv", std::vector<std::vector<double>>(b.x.begin(), b.x.begin() + 100));
    const Run mismatch = run_cli(
        dir, "evaluate " + quote(dir / "short.csv") + " " + quote(y) + " --perplexity 5 --quiet --threads 1");
    CHECK(mismatch.status == 1);
    check_one_error_line(mismatch);
}

TEST_CASE("cli binary: evaluate rescales extreme data and embeddings as embed does") {
    // 4ae5c90: an embedding scaled by 1e200 gave a KL of -nan (null in --json) and a wrong preservation;
    // data scaled by 2^660 wrong numbers too (embed handles it bit for bit).
    TempDir dir;
    const Blobs b = make_blobs(120, 5, 3);
    const std::string in = dir / "in.csv", y = dir / "y.csv";
    write_csv(in, b.x);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(y) + fast).status == 0);
    auto scaled = [&](const std::string& from, const std::string& to, double factor) {
        std::vector<std::vector<double>> rows;
        const treesne::Matrix m = treesne::io::read_matrix(from);
        for (treesne::index_t i = 0; i < m.rows(); ++i) {
            rows.emplace_back(m.row(i), m.row(i) + m.cols());
            for (double& v : rows.back()) v *= factor;
        }
        write_csv(to, rows);
    };
    scaled(in, dir / "in_big.csv", 0x1p660);
    scaled(in, dir / "in_small.csv", 0x1p-660);
    scaled(y, dir / "y_big.csv", 1e200);
    const std::string options = " --perplexity 5 --json --quiet --threads 1";
    auto evaluate = [&](const std::string& x_path, const std::string& y_path, const std::string& more = "") {
        const Run r = run_cli(dir, "evaluate " + quote(x_path) + " " + quote(y_path) + options + more);
        CAPTURE(r.err);
        CHECK(r.status == 0);
        return r.out;
    };
    auto field = [](const std::string& json, const std::string& key) {
        const std::size_t at = json.find("\"" + key + "\": ");
        REQUIRE(at != std::string::npos);
        const std::size_t begin = at + key.size() + 4;
        return json.substr(begin, json.find_first_of(",}", begin) - begin);
    };
    const std::string base = evaluate(in, y);
    CHECK(evaluate(dir / "in_big.csv", y) == base);
    CHECK(evaluate(dir / "in_small.csv", y) == base);
    CHECK(evaluate(dir / "in_big.csv", y, " --pca 3") == evaluate(in, y, " --pca 3"));
    const std::string far = evaluate(in, dir / "y_big.csv");
    CAPTURE(far);
    CHECK(field(far, "kl_divergence") != "null");
    CHECK(std::stod(field(far, "kl_divergence")) > 0);
    for (const char* rank_measure : {"knn_preservation", "trustworthiness"})
        CHECK(field(far, rank_measure) == field(base, rank_measure));
}

TEST_CASE("cli binary: accuracy") {
    TempDir dir;
    const Blobs b = make_blobs(150, 5, 3);
    const std::string in = dir / "in.csv", labels = dir / "labels.txt";
    write_csv(in, b.x);
    write_labels(labels, b.labels);
    const std::string json = dir / "r.json", csv = dir / "r.csv", png = dir / "r.png";
    const Run r =
        run_cli(dir, "accuracy " + quote(in) + " --labels " + quote(labels) +
                         " --theta 0,0.5 --runs --perplexity 5 --iterations 60 --threads 1 --quiet" +
                         " --json " + quote(json) + " --csv " + quote(csv) + " --plot " + quote(png));
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    CHECK(contains(r.out, "grad_err"));
    CHECK(contains(r.out, "exact_tsne"));

    const std::string j = slurp(json);
    CAPTURE(j);
    REQUIRE(j.size() > 2);
    CHECK(j.front() == '{');
    CHECK(j[j.find_last_not_of("\n")] == '}');
    for (const char* key : {"\"points\": 150", "\"gradient\": [", "\"runs\": [",
                            "\"grad_rel_error\": ", "\"repulsion_rel_error\": ", "\"z_rel_error\": ",
                            "\"kl_sparse\": ", "\"kl_dense\": ", "\"knn_accuracy\": "})
        CHECK(contains(j, key));
    CHECK_FALSE(contains(j, "nan"));
    CHECK_FALSE(contains(j, "inf"));
    // Every measured number is a finite number (null only for the exact run's theta).
    for (const char* key : {"\"grad_rel_error\": ", "\"kl_sparse\": ", "\"kl_dense\": ", "\"wall_s\": "}) {
        std::size_t count = 0;
        for (auto at = j.find(key); at != std::string::npos; at = j.find(key, at + 1)) {
            const double v = std::strtod(j.c_str() + at + std::strlen(key), nullptr);
            CHECK(std::isfinite(v));
            CHECK(std::isdigit(static_cast<unsigned char>(j[at + std::strlen(key)])));
            ++count;
        }
        CHECK(count == (std::string(key) == "\"grad_rel_error\": " ? 12u : 3u));
    }

    const std::string c = slurp(csv);
    CHECK(c.rfind("kind,embedding,exaggeration,method,theta,scheme,grad_rel_error,", 0) == 0);
    CHECK(count_lines(c) == 1 + 12 + 3);  // 3 embeddings x 2 thetas x 2 summaries, 2 runs + exact
    CHECK(slurp(png).substr(1, 3) == "PNG");

    SUBCASE("too many points for the exact run, unless sampled") {
        const treesne::index_t big = treesne::accuracy_max_points_runs + 1;
        {
            std::ofstream x(dir / "big.csv");
            for (treesne::index_t i = 0; i < big; ++i) x << i % 1000 << ',' << i % 7 << '\n';
        }
        const Run refused =
            run_cli(dir, "accuracy " + quote(dir / "big.csv") + " --runs --quiet --threads 1" + " --json " +
                             quote(dir / "big.json"));
        CHECK(refused.status == 1);
        check_one_error_line(refused);
        CHECK(contains(refused.err, "--sample"));
        CHECK(contains(refused.err, std::to_string(treesne::accuracy_max_points_runs)));
        CHECK(contains(refused.err, std::to_string(big)));
        CHECK_FALSE(fs::exists(dir / "big.json"));
        const Run sampled =
            run_cli(dir, "accuracy " + quote(dir / "big.csv") + " --sample 100 --theta 0.5 --perplexity 5" +
                             " --iterations 30 --quiet --threads 1 --json " + quote(dir / "big.json"));
        CAPTURE(sampled.err);
        CHECK(sampled.status == 0);
        CHECK(contains(slurp(dir / "big.json"), "\"points\": 100"));
        CHECK(contains(slurp(dir / "big.json"), std::string("\"input_points\": ") + std::to_string(big)));
    }
}

TEST_CASE("cli binary: the same seed gives the same file for 1 and 2 threads") {
    TempDir dir;
    const Blobs b = make_blobs(200, 8, 4);
    const std::string in = dir / "in.csv";
    write_csv(in, b.x);
    for (const char* method : {"barnes_hut", "exact_tsne"}) {
        CAPTURE(method);
        const std::string common = " --perplexity 5 --iterations 80 --seed 7 --init random --quiet --method ";
        REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "t1.npy") + common + method +
                                 " --threads 1")
                    .status == 0);
        REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "t2.npy") + common + method +
                                 " --threads 2")
                    .status == 0);
        const std::string one = slurp(dir / "t1.npy"), two = slurp(dir / "t2.npy");
        CHECK(one.size() > 200 * 2 * 8);
        CHECK(one == two);
    }
}

TEST_CASE("cli binary: --knn hnsw embeds, the same file for 1 and 2 threads") {
    TempDir dir;
    const Blobs b = make_blobs(300, 8, 4);  // k = 15, ef 50 < N - 1: the index is used, not an exact scan
    const std::string in = dir / "in.csv";
    write_csv(in, b.x);
    const std::string common = " --perplexity 5 --iterations 60 --exaggeration-iterations 20 --knn hnsw";
    const Run r1 = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "h1.npy") + common +
                                    " --threads 1 --verbose --hnsw-m 8 --hnsw-ef-search 40");
    CAPTURE(r1.err);
    REQUIRE(r1.status == 0);
    CHECK(contains(r1.err, "knn hnsw (M 8, ef construction"));
    CHECK(contains(r1.err, "ef search 40)"));
    check_embedding(dir / "h1.npy", 300, 2);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "h2.npy") + common +
                             " --threads 2 --quiet --hnsw-m 8 --hnsw-ef-search 40")
                .status == 0);
    CHECK(slurp(dir / "h1.npy") == slurp(dir / "h2.npy"));
}

TEST_CASE("cli binary: --knn nndescent embeds, the same file for 1 and 2 threads") {
    TempDir dir;
    const Blobs b = make_blobs(300, 8, 4);  // N = 300 > leaf 100 and 4 (k + 1): the forest is used
    const std::string in = dir / "in.csv";
    write_csv(in, b.x);
    const std::string common =
        " --perplexity 5 --iterations 60 --exaggeration-iterations 20 --knn nndescent --nndescent-trees 3";
    const Run r1 = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "n1.npy") + common +
                                    " --threads 1 --verbose --nndescent-rounds 4");
    CAPTURE(r1.err);
    REQUIRE(r1.status == 0);
    CHECK(contains(r1.err, "knn nndescent (trees 3, leaf auto, rounds 4)"));
    check_embedding(dir / "n1.npy", 300, 2);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "n2.npy") + common +
                             " --threads 2 --quiet --nndescent-rounds 4")
                .status == 0);
    CHECK(slurp(dir / "n1.npy") == slurp(dir / "n2.npy"));
}

namespace {

struct Child {
    pid_t pid = -1;
};

/// Starts `sh -c "exec CMD"`; everything the child needs is prepared before fork(): it only calls exec.
Child start_child(const std::string& cmd) {
    const std::string line = "exec " + cmd;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    return {pid};
}

/// Waits up to `seconds` for `ready`, then sends `sig` and reaps the child; returns the raw wait status.
int interrupt_child(const Child& child, int sig, const std::function<bool()>& ready, int seconds = 60) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!ready() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ::kill(child.pid, sig);
    int raw = 0;
    while (::waitpid(child.pid, &raw, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline + std::chrono::seconds(20)) {
            ::kill(child.pid, SIGKILL);
            ::waitpid(child.pid, &raw, 0);
            FAIL("treesne did not stop after the signal");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return raw;
}

/// 200 points in 5-D, four blobs, written as CSV to dir/in.csv.
std::string small_input(const TempDir& dir) {
    const std::string in = dir / "in.csv";
    write_csv(in, make_blobs(200, 5, 4).x);
    return in;
}

}  // namespace

TEST_CASE("cli binary: SIGINT or SIGTERM during the optimisation writes nothing and exits 130") {
    TempDir dir;
    const std::string in = small_input(dir), out = dir / "y.csv", err = dir / "stderr.txt";
    for (int sig : {SIGINT, SIGTERM}) {
        CAPTURE(sig);
        fs::remove(err);
        const Child child =
            start_child(quote(TREESNE_CLI_PATH) + " embed " + quote(in) + " -o " + quote(out) +
                        " --perplexity 5 --iterations 100000000 --log-every 1 --threads 1 2>" + quote(err) +
                        " </dev/null >/dev/null");
        // Wait until the optimisation reports, then interrupt.
        const int raw = interrupt_child(child, sig, [&] { return contains(slurp(err), "optimise: "); });
        REQUIRE(WIFEXITED(raw));
        CHECK(WEXITSTATUS(raw) == 130);
        const std::string message = slurp(err);
        CAPTURE(message);
        CHECK(contains(message, "interrupted at iteration"));
        CHECK(contains(message, "nothing written"));
        CHECK_FALSE(fs::exists(out));
        for (const auto& entry : fs::directory_iterator(dir.path()))  // no temporary file left either
            CHECK(entry.path().filename().string().find(".tmp.") == std::string::npos);
    }
}

TEST_CASE("cli: malloc's tunables are added to the user's GLIBC_TUNABLES, never replacing a setting") {
    using treesne::cli::with_malloc_tunables;
    CHECK(with_malloc_tunables(nullptr) == "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576");
    CHECK(with_malloc_tunables("") == "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576");
    CHECK(with_malloc_tunables("glibc.malloc.hugetlb=0") ==
          "glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=1048576");
    CHECK(with_malloc_tunables("glibc.malloc.mmap_threshold=65536:glibc.rtld.nns=2") ==
          "glibc.malloc.mmap_threshold=65536:glibc.rtld.nns=2:glibc.malloc.hugetlb=1");
    const char* both = "glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=65536";
    CHECK(with_malloc_tunables(both) == both);
}

TEST_CASE("cli binary: the running program has a wait policy and malloc's tunables in its environment") {
    TempDir dir;
    const std::string in = small_input(dir), out = dir / "y.csv", err = dir / "stderr.txt";
    const Child child = start_child("env -u GLIBC_TUNABLES -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " +
                                    quote(TREESNE_CLI_PATH) + " embed " + quote(in) + " -o " + quote(out) +
                                    " --perplexity 5 --iterations 100000000 --log-every 1 --threads 1 2>" +
                                    quote(err) + " </dev/null >/dev/null");
    // The environment of the process after its re-exec (the same process id), read from /proc. glibc may
    // rewrite GLIBC_TUNABLES there while it parses it, so only its first setting is checked.
    std::string environment;
    const int raw = interrupt_child(child, SIGTERM, [&] {
        if (!contains(slurp(err), "optimise: ")) return false;
        environment = slurp("/proc/" + std::to_string(child.pid) + "/environ");
        return true;
    });
    CHECK(WIFEXITED(raw));
    std::vector<std::string> entries;
    for (std::size_t at = 0; at < environment.size();) {
        const std::size_t end = std::min(environment.find('\0', at), environment.size());
        entries.push_back(environment.substr(at, end - at));
        at = end + 1;
    }
    const auto has = [&](const std::string& prefix) {
        return std::any_of(entries.begin(), entries.end(),
                           [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
    };
    CHECK(has("GLIBC_TUNABLES=glibc.malloc.hugetlb=1"));
    CHECK((has("GOMP_SPINCOUNT=3000") || has("OMP_WAIT_POLICY=passive")));
}

TEST_CASE("cli binary: a checkpoint at 300 resumed to 1000 gives the file of a straight run of 1000") {
    TempDir dir;
    const std::string in = small_input(dir);
    const std::string common = " --perplexity 10 --seed 3 --quiet --threads 1";
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "straight.npy") + common +
                             " --iterations 1000")
                .status == 0);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "first.npy") + common +
                             " --iterations 300 --checkpoint " + quote(dir / "run.ckpt"))
                .status == 0);
    const treesne::OptimizerState at_300 = treesne::load_checkpoint(dir / "run.ckpt");
    CHECK(at_300.iteration == 300);
    CHECK(at_300.y == treesne::io::read_matrix(dir / "first.npy"));
    // Resume, checkpointing into the same file as it goes.
    const Run resumed = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "resumed.npy") +
                                         " --perplexity 10 --seed 3 --threads 1 --iterations 1000 --resume " +
                                         quote(dir / "run.ckpt") + " --checkpoint " +
                                         quote(dir / "run.ckpt") + " --checkpoint-every 250 --log-every 100");
    CAPTURE(resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(contains(resumed.err, "resume: " + dir / "run.ckpt" + " at iteration 300"));
    CHECK(contains(resumed.err, "optimise: 400/1000"));
    CHECK_FALSE(contains(resumed.err, "init:"));
    const std::string straight = slurp(dir / "straight.npy");
    CHECK(straight.size() > 200 * 2 * 8);
    CHECK(slurp(dir / "resumed.npy") == straight);
    CHECK(treesne::load_checkpoint(dir / "run.ckpt").iteration == 1000);

    // The exact method resumes the same way.
    const std::string exact = common + " --method exact_tsne";
    REQUIRE(
        run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "exact.npy") + exact + " --iterations 400")
            .status == 0);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "e1.npy") + exact +
                             " --iterations 150 --checkpoint " + quote(dir / "exact.ckpt"))
                .status == 0);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "e2.npy") + exact +
                             " --iterations 400 --resume " + quote(dir / "exact.ckpt"))
                .status == 0);
    CHECK(slurp(dir / "e2.npy") == slurp(dir / "exact.npy"));
}

TEST_CASE("cli binary: interrupted with --checkpoint, resumed, equals the straight run") {
    TempDir dir;
    const std::string in = small_input(dir), out = dir / "y.csv", err = dir / "stderr.txt",
                      ckpt = dir / "run.ckpt";
    const std::string common = " --perplexity 10 --seed 5 --threads 1";
    const Child child =
        start_child(quote(TREESNE_CLI_PATH) + " embed " + quote(in) + " -o " + quote(out) + common +
                    " --iterations 100000000 --checkpoint " + quote(ckpt) +
                    " --checkpoint-every 40 --log-every 1 2>" + quote(err) + " </dev/null >/dev/null");
    const int raw = interrupt_child(child, SIGINT, [&] { return fs::exists(ckpt); });
    REQUIRE(WIFEXITED(raw));
    CHECK(WEXITSTATUS(raw) == 130);
    const std::string message = slurp(err);
    CAPTURE(message);
    CHECK(contains(message, "nothing written (" + ckpt + " holds iteration "));
    CHECK(contains(message, "continue with --resume"));
    CHECK_FALSE(fs::exists(out));
    const treesne::index_t saved = treesne::load_checkpoint(ckpt).iteration;
    CHECK(saved % 40 == 0);
    CHECK(saved >= 40);
    const std::string until = " --iterations " + std::to_string(saved + 60);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "resumed.npy") + common + until +
                             " --quiet --resume " + quote(ckpt))
                .status == 0);
    REQUIRE(run_cli(dir,
                    "embed " + quote(in) + " -o " + quote(dir / "straight.npy") + common + until + " --quiet")
                .status == 0);
    CHECK(slurp(dir / "resumed.npy") == slurp(dir / "straight.npy"));
}

TEST_CASE("cli binary: a resume that cannot continue the saved run exits 1 with one line") {
    TempDir dir;
    const std::string in = small_input(dir), out = dir / "out.csv", ckpt = dir / "run.ckpt";
    const std::string common = " --quiet --threads 1";
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "first.csv") + common +
                             " --perplexity 10 --iterations 50 --checkpoint " + quote(ckpt))
                .status == 0);
    Blobs other = make_blobs(200, 5, 4);
    other.x[7][2] += 1e-9;
    write_csv(dir / "other.csv", other.x);
    write_csv(dir / "fewer.csv", make_blobs(150, 5, 4).x);
    spit(dir / "broken.ckpt", slurp(ckpt).substr(0, 100));
    const struct {
        std::string args, expect;
    } cases[] = {
        {quote(in) + " --perplexity 12", "was made with --perplexity 10; this run uses --perplexity 12"},
        {quote(in) + " --perplexity 10 --theta 0.3", "--theta 0.5; this run uses --theta 0.3"},
        {quote(in) + " --perplexity 10 --learning-rate 100", "--learning-rate"},
        {quote(in) + " --perplexity 10 --metric cosine",
         "--resume " + ckpt + " was made with --metric euclidean; this run uses --metric cosine"},
        {quote(in) + " --affinity uniform --k 30",
         "was made with --affinity perplexity; this run uses --affinity uniform"},
        {quote(in) + " --perplexity 10,20", "was made with --perplexity 10; this run uses --perplexity 10, 20"},
        {quote(in) + " --perplexity 10 --k 40", "was made with --k 30; this run uses --k 40"},
        {quote(in) + " --perplexity 10 --dims 3",
         "holds 200 points in 2 dimensions, this run embeds 200 points in 3"},
        {quote(dir / "fewer.csv") + " --perplexity 10", "this run embeds 150 points"},
        {quote(dir / "other.csv") + " --perplexity 10", "different input data"},
        {quote(in) + " --perplexity 10 --method exact_tsne",
         "was made with --method barnes_hut; this run uses --method exact_tsne"},
        {quote(in) + " --perplexity 10 --iterations 40", "is at iteration 50, beyond --iterations 40"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.args);
        const Run r =
            run_cli(dir, "embed " + c.args + common + " -o " + quote(out) + " --resume " + quote(ckpt));
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, c.expect));
        CHECK_FALSE(fs::exists(out));
    }
    for (const std::string& bad : {dir / "broken.ckpt", in, dir / "missing.ckpt"}) {
        CAPTURE(bad);
        const Run r = run_cli(dir, "embed " + quote(in) + common + " --perplexity 10 -o " + quote(out) +
                                       " --resume " + quote(bad));
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, bad));
        CHECK_FALSE(fs::exists(out));
    }
    // A checkpoint that cannot be written fails before the work starts.
    const Run r = run_cli(dir, "embed " + quote(in) + common + " -o " + quote(out) + " --checkpoint " +
                                   quote(dir / "no/such/dir/c.ckpt"));
    CHECK(r.status == 1);
    check_one_error_line(r);
}

TEST_CASE("cli binary: degenerate inputs embed, and --verbose prints the memory estimate") {
    TempDir dir;
    std::vector<std::vector<double>> same(120, std::vector<double>{1.5, -2.0, 3.0});
    write_csv(dir / "same.csv", same);
    Blobs b = make_blobs(150, 4, 3);
    for (auto& row : b.x)
        for (double& v : row) v *= 1e150;
    write_csv(dir / "huge.csv", b.x);
    Blobs d = make_blobs(150, 4, 3);
    for (std::size_t i = 0; i < d.x.size(); i += 2) d.x[i] = d.x[0];  // half the rows identical
    write_csv(dir / "dups.csv", d.x);
    for (const char* name : {"same.csv", "huge.csv", "dups.csv"}) {
        CAPTURE(name);
        const Run r =
            run_cli(dir, "embed " + quote(dir / name) + " -o " + quote(dir / "y.csv") +
                             " --perplexity 10 --iterations 200 --threads 1 --verbose --log-every 0");
        CAPTURE(r.err);
        CHECK(r.status == 0);
        CHECK(contains(r.err, "memory: about "));
        CHECK(contains(r.err, " available"));
        check_embedding(dir / "y.csv", name == std::string("same.csv") ? 120 : 150, 2);
    }
    // --memory-limit: refused before the work, with the estimate; 0 turns the check off.
    Run refused = run_cli(dir, "embed " + quote(dir / "dups.csv") + " -o " + quote(dir / "z.csv") + fast +
                                   " --memory-limit 0.00001");
    CHECK(refused.status == 1);
    check_one_error_line(refused);
    CHECK(contains(refused.err, "needs about"));
    CHECK(contains(refused.err, "but 10.5 KiB is available"));
    CHECK_FALSE(fs::exists(dir / "z.csv"));
    CHECK(run_cli(dir, "embed " + quote(dir / "dups.csv") + " -o " + quote(dir / "z.csv") + fast +
                           " --memory-limit 0")
              .status == 0);
    fs::remove(dir / "z.csv");
    CHECK(run_cli(dir, "embed " + quote(dir / "dups.csv") + " -o " + quote(dir / "z.csv") + fast +
                           " --memory-limit -1")
              .status == 2);

    spit(dir / "nan.csv", "1,2\n3,nan\n5,6\n");
    const Run r = run_cli(dir, "embed " + quote(dir / "nan.csv") + " -o " + quote(dir / "z.csv") + fast);
    CHECK(r.status == 1);
    check_one_error_line(r);
    CHECK_FALSE(fs::exists(dir / "z.csv"));
}

TEST_CASE("cli binary: small data embeds at the default perplexity; only perplexity >= N - 1 is refused") {
    TempDir dir;
    std::mt19937_64 rng(5);
    std::vector<std::vector<double>> x(50, std::vector<double>(2));
    for (auto& row : x)
        for (double& v : row) v = std::generate_canonical<double, 53>(rng);
    write_csv(dir / "fifty.csv", x);
    // As a new user would: 50 random 2-D points, every option at its default (perplexity 30, k = 49).
    Run r = run_cli(dir, "embed " + quote(dir / "fifty.csv") + " -o " + quote(dir / "y.csv") + " --quiet");
    CAPTURE(r.err);
    CHECK(r.status == 0);
    check_embedding(dir / "y.csv", 50, 2);
    r = run_cli(dir, "evaluate " + quote(dir / "fifty.csv") + " " + quote(dir / "y.csv") + " --quiet");
    CHECK(r.status == 0);
    CHECK(contains(r.out, "KL divergence"));

    x.resize(31);  // perplexity 30 needs N - 1 > 30
    write_csv(dir / "thirty-one.csv", x);
    write_csv(dir / "y31.csv", x);  // any 31 x 2 matrix will do as the embedding to evaluate
    for (const std::string command : {"embed", "evaluate"}) {
        CAPTURE(command);
        const std::string args =
            command == "embed" ? " -o " + quote(dir / "z.csv") : " " + quote(dir / "y31.csv");
        r = run_cli(dir, command + " " + quote(dir / "thirty-one.csv") + args + " --quiet");
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, "perplexity 30 must be below N - 1 = 30 for 31 points"));
    }
    CHECK_FALSE(fs::exists(dir / "z.csv"));
    r = run_cli(dir, "embed " + quote(dir / "thirty-one.csv") + " -o " + quote(dir / "z.csv") +
                         " --perplexity 29.5 --quiet --iterations 100");
    CHECK(r.status == 0);
    check_embedding(dir / "z.csv", 31, 2);
}

TEST_CASE("cli binary: an output naming an input or another output is refused before any work") {
    TempDir dir;
    const Blobs b = make_blobs(40, 3, 2);
    write_csv(dir / "data.csv", b.x);
    write_labels(dir / "labels.csv", b.labels);
    const std::string data = slurp(dir / "data.csv"), labels = slurp(dir / "labels.csv");
    fs::create_symlink(dir / "data.csv", dir / "link.csv");
    fs::create_hard_link(dir / "data.csv", dir / "hard.csv");
    fs::create_directory(dir / "sub");
    const std::string in = quote(dir / "data.csv");
    const std::string opts =
        " --perplexity 5 --iterations 20 --threads 1";  // not --quiet: no stage line either
    struct Case {
        std::string args, expect;
    };
    const Case cases[] = {
        {in + " -o " + in, "-o " + (dir / "data.csv") + " is the same file as the input"},
        {in + " -o " + quote((dir / "sub") + "/../data.csv"), "is the same file as the input"},
        {in + " -o " + quote(dir / "link.csv"), "is the same file as the input"},
        {in + " -o " + quote(dir / "hard.csv"), "is the same file as the input"},
        {quote(dir / "link.csv") + " -o " + quote(dir / "hard.csv"), "is the same file as the input"},
        {in + " -o y.csv --labels " + quote(dir / "labels.csv") + " --checkpoint " +
             quote(dir / "labels.csv"),
         "--checkpoint " + (dir / "labels.csv") + " is the same file as --labels"},
        {in + " -o " + quote(dir / "labels.csv") + " --labels " + quote(dir / "labels.csv"),
         "is the same file as --labels"},
        {in + " -o " + quote(dir / "y.csv") + " --init " + quote(dir / "y.csv"),
         "is the same file as --init"},
        {in + " -o " + quote(dir / "y.csv") + " --checkpoint " + quote(dir / "./y.csv"),
         "-o " + (dir / "y.csv") + " and --checkpoint " + (dir / "./y.csv") + " name the same file"},
        {in + " -o " + quote(dir / "y.csv") + " --checkpoint " + in, "is the same file as the input"},
    };
    fs::copy_file(dir / "data.csv", dir / "y.csv");  // for --init
    for (const Case& c : cases) {
        CAPTURE(c.args);
        const Run r = run_cli(dir, "embed " + c.args + opts);
        CHECK(r.status == 2);
        check_one_error_line(r);
        CHECK(contains(r.err, c.expect));
        CHECK(contains(r.err, "refusing to overwrite an input") != contains(r.err, "name the same file"));
    }
    CHECK(slurp(dir / "data.csv") == data);
    CHECK(slurp(dir / "labels.csv") == labels);
    // The one pair allowed: a run that checkpoints into the file it resumes from.
    const std::string ckpt = quote(dir / "run.ckpt");
    CHECK(
        run_cli(dir, "embed " + in + " -o " + quote(dir / "a.csv") + " --checkpoint " + ckpt + opts).status ==
        0);
    const Run resumed = run_cli(dir, "embed " + in + " -o " + quote(dir / "b.csv") + " --checkpoint " + ckpt +
                                         " --resume " + ckpt + " --perplexity 5 --iterations 40 --threads 1");
    CAPTURE(resumed.err);
    CHECK(resumed.status == 0);
}

TEST_CASE("cli binary: a diverging exact run exits 1 naming the iteration and writes nothing") {
    TempDir dir;
    const Blobs b = make_blobs(60, 4, 2);
    write_csv(dir / "data.csv", b.x);
    const Run r =
        run_cli(dir, "embed " + quote(dir / "data.csv") + " -o " + quote(dir / "y.csv") +
                         " --method exact_sne --learning-rate 1e12 --max-step-norm 0 --perplexity 5 --quiet --threads 1");
    CHECK(r.status == 1);
    check_one_error_line(r);
    CHECK(contains(r.err, "the optimisation diverged at iteration "));
    CHECK_FALSE(fs::exists(dir / "y.csv"));
}

/// Runs `sh -c 'trap "" XFSZ; ulimit -f BLOCKS; exec treesne ARGS'`: every file the program writes is cut off
/// at BLOCKS KiB (the write fails with EFBIG), so that a run fails while writing, at a known output.
Run run_cli_file_limit(const TempDir& dir, int kib, const std::string& args) {
    const std::string inner =
        "trap '' XFSZ; ulimit -f " + std::to_string(kib) + "; exec " + quote(TREESNE_CLI_PATH) + " " + args;
    const std::string command = "sh -c " + quote(inner) + " >" + quote(dir / "stdout.txt") + " 2>" +
                                quote(dir / "stderr.txt") + " </dev/null";
    const int raw = std::system(command.c_str());
    Run r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    r.out = slurp(dir / "stdout.txt");
    r.err = slurp(dir / "stderr.txt");
    fs::remove(dir / "stdout.txt");
    fs::remove(dir / "stderr.txt");
    return r;
}

/// The names in dir that a run's temporary files would have (".treesne-...", ".NAME.tmp....").
std::vector<std::string> leftover_temporaries(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(".treesne", 0) == 0 || name.find(".tmp.") != std::string::npos) names.push_back(name);
    }
    return names;
}

TEST_CASE("cli binary: accuracy and embed refuse an output that is an input or another output, by the file") {
    TempDir dir;
    const Blobs b = make_blobs(60, 3, 3);
    write_csv(dir / "data.csv", b.x);
    write_labels(dir / "labels.csv", b.labels);
    spit(dir / "names.csv", "a\nb\nc\n");
    fs::create_hard_link(dir / "data.csv", dir / "hard.png");
    fs::create_directory(dir / "sub");
    fs::create_directory_symlink(dir / "sub", dir / "linked");
    const std::string data = slurp(dir / "data.csv"), names = slurp(dir / "names.csv");
    const std::string in = quote(dir / "data.csv");
    const std::string accuracy = " --theta 0.5 --iterations 20 --threads 1";
    const std::string embed =
        " --labels " + quote(dir / "labels.csv") + " --perplexity 5 --iterations 20 --threads 1";
    struct Case {
        std::string args, expect;
    };
    const Case cases[] = {
        {"accuracy " + in + " --csv " + quote(dir.path().string() + "/./data.csv") + accuracy,
         "--csv " + dir.path().string() + "/./data.csv is the same file as the input"},
        {"accuracy " + in + " --json " + quote(dir / "r.txt") + " --csv " + quote(dir / "sub/../r.txt") +
             accuracy,
         "--json " + (dir / "r.txt") + " and --csv " + (dir / "sub/../r.txt") + " name the same file"},
        {"accuracy " + in + " --plot " + quote(dir / "hard.png") + accuracy,
         "--plot " + (dir / "hard.png") + " is the same file as the input"},
        {"accuracy " + in + " --labels " + quote(dir / "labels.csv") + " --json " +
             quote(dir / "labels.csv") + accuracy,
         "--json " + (dir / "labels.csv") + " is the same file as --labels"},
        {"embed " + in + embed + " --label-names " + quote(dir / "names.csv") + " -o " +
             quote(dir / "names.csv"),
         "-o " + (dir / "names.csv") + " is the same file as --label-names"},
        {"embed " + in + embed + " --label-names " + quote(dir / "names.csv") + " -o " +
             quote(dir / "y.csv") + " --kl-log " + quote(dir / "./names.csv"),
         "--kl-log " + (dir / "./names.csv") + " is the same file as --label-names"},
        // Outputs not there yet, one spelled through a linked directory.
        {"embed " + in + embed + " -o " + quote(dir / "sub/y.csv") + " --checkpoint " +
             quote(dir / "linked/y.csv"),
         "-o " + (dir / "sub/y.csv") + " and --checkpoint " + (dir / "linked/y.csv") + " name the same file"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.args);
        const Run r = run_cli(dir, c.args);
        CHECK(r.status == 2);
        check_one_error_line(r);
        CHECK(contains(r.err, c.expect));
    }
    CHECK(slurp(dir / "data.csv") == data);
    CHECK(slurp(dir / "names.csv") == names);
    CHECK_FALSE(fs::exists(dir / "r.txt"));
    CHECK_FALSE(fs::exists(dir / "sub/y.csv"));
    CHECK(leftover_temporaries(dir.path().string()).empty());
    // Names that are not files are names: --label-names a,b,c may sit beside an output called a,b,c.csv.
    const Run listed = run_cli(
        dir, "embed " + in + embed + " --label-names a,b,c -o " + quote(dir / "a,b,c.csv") + " --quiet");
    CAPTURE(listed.err);
    CHECK(listed.status == 0);
}

TEST_CASE("cli binary: a run that fails while writing replaces no output and leaves nothing behind") {
    TempDir dir;
    const Blobs b = make_blobs(200, 3, 4);
    write_csv(dir / "data.csv", b.x);
    spit(dir / "y.csv", "an earlier embedding\n");
    spit(dir / "P.mtx", "earlier affinities\n");
    // -o (200 x 2 as text, about 8 KiB) fits under the 40 KiB limit; P (about 4,500 entries) does not.
    const std::string args = "embed " + quote(dir / "data.csv") + " -o " + quote(dir / "y.csv") +
                             " --save-affinities " + quote(dir / "P.mtx") +
                             " --snapshot-every 20 --snapshot-plots " + quote(dir / "frames") + " --kl-log " +
                             quote(dir / "kl.csv") + fast;
    const Run r = run_cli_file_limit(dir, 40, args);
    CHECK(r.status == 1);
    check_one_error_line(r);
    CHECK(contains(r.err, "cannot write " + (dir / "P.mtx")));  // the output's own name, not a temporary's
    CHECK(slurp(dir / "y.csv") == "an earlier embedding\n");
    CHECK(slurp(dir / "P.mtx") == "earlier affinities\n");
    CHECK_FALSE(fs::exists(dir / "frames"));
    CHECK_FALSE(fs::exists(dir / "kl.csv"));
    CHECK(leftover_temporaries(dir.path().string()).empty());
    // Without the limit the same command replaces them all.
    const Run ok = run_cli(dir, args);
    CAPTURE(ok.err);
    REQUIRE(ok.status == 0);
    check_embedding(dir / "y.csv", 200, 2);
    CHECK(fs::exists(dir / "frames/0003.png"));  // iterations 20, 40 and 60
    CHECK(fs::exists(dir / "kl.csv"));
    CHECK(leftover_temporaries(dir.path().string()).empty());
    CHECK(leftover_temporaries(dir / "frames").empty());

    // accuracy: the small --json fits, the --plot does not; neither is written.
    const Run accuracy = run_cli_file_limit(dir, 4,
                                            "accuracy " + quote(dir / "data.csv") + " --json " +
                                                quote(dir / "r.json") + " --plot " + quote(dir / "r.png") +
                                                " --theta 0.5 --iterations 20 --threads 1 --quiet");
    CHECK(accuracy.status == 1);
    check_one_error_line(accuracy);
    CHECK_FALSE(fs::exists(dir / "r.json"));
    CHECK_FALSE(fs::exists(dir / "r.png"));
    CHECK(leftover_temporaries(dir.path().string()).empty());
}

TEST_CASE("cli binary: --threads far above the cores is lowered, with a note, to the same result") {
    TempDir dir;
    const Blobs b = make_blobs(120, 3, 3);
    write_csv(dir / "data.csv", b.x);
    const std::string in = quote(dir / "data.csv");
    const std::string run = " --perplexity 5 --iterations 60 --exaggeration-iterations 20";
    REQUIRE(
        run_cli(dir, "embed " + in + " -o " + quote(dir / "one.csv") + run + " --quiet --threads 1").status ==
        0);
    const Run many =
        run_cli(dir, "embed " + in + " -o " + quote(dir / "many.csv") + run + " --threads 100000");
    CAPTURE(many.err);
    REQUIRE(many.status == 0);
    CHECK(contains(many.err, "note: --threads 100000 is more than this machine's limit of "));
    CHECK(slurp(dir / "many.csv") == slurp(dir / "one.csv"));
    for (const std::string& command : {"evaluate " + in + " " + quote(dir / "one.csv") + " --perplexity 5",
                                       "accuracy " + in + " --theta 0.5 --iterations 20",
                                       "transform " + in + " " + quote(dir / "one.csv") + " " + in + " -o " +
                                           quote(dir / "t.csv") + " --perplexity 5 --iterations 20"}) {
        CAPTURE(command);
        const Run r = run_cli(dir, command + " --quiet --threads 1048576");
        CAPTURE(r.err);
        CHECK(r.status == 0);
        CHECK(r.err.empty());
    }
}

TEST_CASE("cli binary: evaluate and accuracy honour --memory-limit like embed") {
    TempDir dir;
    const Blobs b = make_blobs(100, 3, 2);
    write_csv(dir / "data.csv", b.x);
    const std::string in = quote(dir / "data.csv");
    REQUIRE(run_cli(dir, "embed " + in + " -o " + quote(dir / "y.csv") + fast).status == 0);
    const std::string evaluate =
        "evaluate " + in + " " + quote(dir / "y.csv") + " --perplexity 5 --threads 1";
    const std::string accuracy = "accuracy " + in + " --theta 0.5 --iterations 20 --threads 1";
    for (const std::string& command : {evaluate, accuracy}) {
        CAPTURE(command);
        const Run refused = run_cli(dir, command + " --memory-limit 0.000001 --quiet");
        CHECK(refused.status == 1);
        check_one_error_line(refused);
        CHECK(contains(refused.err, " needs about "));
        CHECK(contains(refused.err, "is allowed by --memory-limit"));
        CHECK(refused.out.empty());  // refused before any measurement
        const Run unchecked = run_cli(dir, command + " --memory-limit 0 --quiet");
        CAPTURE(unchecked.err);
        CHECK(unchecked.status == 0);
        const Run verbose = run_cli(dir, command + " --verbose");
        CHECK(verbose.status == 0);
        CHECK(contains(verbose.err, "memory: about "));
    }
    CHECK(run_cli(dir, evaluate + " --memory-limit -1").status == 2);
    for (const char* command : {"evaluate", "accuracy", "transform"}) {
        CAPTURE(command);
        const Run help = run_cli(dir, std::string(command) + " --help");
        CHECK(help.status == 0);
        CHECK(contains(help.out, "--memory-limit GIB"));
        CHECK(contains(help.out, "At most 4 x the cores"));
    }
}

#endif  // TREESNE_CLI_PATH
