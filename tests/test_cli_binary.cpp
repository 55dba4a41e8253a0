// The treesne program as a process, part 1: help and version, usage and data errors (exit status and one
// error line, nothing written), every output format, progress lines and pictures, evaluate, accuracy, and
// the same file for 1 and 2 threads with each kNN backend. Part 2 is test_cli_runs.cpp; the parser alone is
// tested in test_cli.cpp.
#include <doctest/doctest.h>

#ifdef TREESNE_CLI_PATH

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include "helpers/cli_runs.hpp"
#include "treesne/eval/accuracy.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/version.hpp"

namespace fs = std::filesystem;

using namespace treesne::testing;
using namespace treesne::testing::quick_runs;

namespace treesne {
/// The documented limit of `treesne evaluate` without --sample (tools/cli.hpp: evaluate_max_points).
constexpr index_t cli_test_evaluate_max_points = 200000;
}  // namespace treesne

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
    // The introduction's first line names the program and what it is (not the --version text, which
    // has a second line).
    const std::string intro = treesne::cli::help_text("");
    CHECK(intro.substr(0, intro.find('\n')) ==
          std::string("treesne ") + treesne::version + ": Barnes-Hut t-SNE. Embeds N points of D dimensions in 1, 2 or 3");
    const Run v = run_cli(dir, "--version");
    CHECK(v.status == 0);
    CHECK(v.out == std::string("treesne ") + treesne::version + "\n" + treesne::simd_kernels() + "\n");
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

namespace {

/// An input that embed must refuse: the file, its bytes, and a part of the message.
struct UnreadableInput {
    const char* name;
    std::string content;  // written to dir/name unless it is the missing file
    const char* expect;   // a part of the message
};

std::vector<UnreadableInput> unreadable_inputs() {
    return {
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
}

/// A data error: exit 1 with one error line that contains `part`.
void check_refused(const Run& r, const std::string& part) {
    CHECK(r.status == 1);
    check_one_error_line(r);
    CHECK(contains(r.err, part));
}

/// Init files with coincident points, a constant column, or values too small to keep (with
/// --keep-init-scale) are refused naming the file and the reason; the small values are rescaled without it.
void check_degenerate_inits(const TempDir& dir, const std::string& small, const std::string& out) {
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
          std::make_tuple(tiny_init, std::string(" --keep-init-scale"), std::string("too small to keep"))}) {
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
    CHECK(run_cli(dir,
                  "embed " + quote(small) + " -o " + quote(out) + " --init " + quote(dir / "init.csv") + tiny)
              .status == 0);
    check_embedding(out, n, 2);
}

/// Nothing in dir but the test's own files: no temporary files left behind.
void check_only_own_files(const TempDir& dir) {
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        const std::string name = entry.path().filename().string();
        CAPTURE(name);
        CHECK((name.find(".csv") != std::string::npos || name.find(".npy") != std::string::npos ||
               name.find(".txt") != std::string::npos || name == "locked"));
    }
}

}  // namespace

TEST_CASE("cli binary: data errors exit 1 with one line and write nothing") {
    TempDir dir;
    const std::string out = dir / "out.csv";
    SUBCASE("unreadable inputs") {
        for (const UnreadableInput& c : unreadable_inputs()) {
            CAPTURE(c.name);
            const std::string path = dir / c.name;
            if (std::string(c.name) != "missing.csv") spit(path, c.content);
            const Run r = run_cli(dir, "embed " + quote(path) + " -o " + quote(out) + fast);
            check_refused(r, c.expect);
            CHECK_FALSE(fs::exists(out));
        }
    }

    const Blobs b = make_blobs(12, 3, 2);
    const std::string small = dir / "small.csv";
    write_csv(small, b.x);
    SUBCASE("too few points for the perplexity") {
        const Run r = run_cli(
            dir, "embed " + quote(small) + " -o " + quote(out) + " --perplexity 30 --quiet --threads 1");
        check_refused(r, "perplexity 30 must be below N - 1 = 11 for 12 points");
        CHECK_FALSE(fs::exists(out));
    }
    SUBCASE("output directory missing") {
        const Run r =
            run_cli(dir, "embed " + quote(small) + " -o " + quote(dir / "no/such/dir/out.csv") + tiny);
        check_refused(r, "no/such/dir");
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
        check_refused(r, "3");
        CHECK(contains(r.err, "12"));
        CHECK_FALSE(fs::exists(out));
    }
    SUBCASE("stacked inputs with different columns") {
        write_csv(dir / "wide.csv", make_blobs(12, 4, 2).x);
        const Run r = run_cli(
            dir, "embed " + quote(small) + " " + quote(dir / "wide.csv") + " -o " + quote(out) + tiny);
        check_refused(r, "wide.csv");
    }
    SUBCASE("init file of the wrong shape") {
        write_csv(dir / "init.csv", {{0.0, 1.0}, {1.0, 0.0}});
        const Run r = run_cli(
            dir, "embed " + quote(small) + " -o " + quote(out) + " --init " + quote(dir / "init.csv") + tiny);
        check_refused(r, "init");
    }
    SUBCASE("a degenerate init file: coincident points, a constant column, too small to keep") {
        check_degenerate_inits(dir, small, out);
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
    check_only_own_files(dir);
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

namespace {

/// Embeds 300 points in 8-D (four blobs) as `embed IN -o OUT COMMON --threads T LOG EXTRA`, once on 1
/// thread with --verbose (whose log must contain each of `log`) and once on 2 with --quiet: a valid
/// 300 x 2 embedding, the same file both times.
void check_same_for_1_and_2_threads(const std::string& common, const std::string& extra,
                                    std::initializer_list<const char*> log) {
    TempDir dir;
    const std::string in = dir / "in.csv";
    write_csv(in, make_blobs(300, 8, 4).x);
    const auto embed = [&](const std::string& out, const std::string& threads) {
        return run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / out) + common + threads + extra);
    };
    const Run r1 = embed("one.npy", " --threads 1 --verbose");
    CAPTURE(r1.err);
    REQUIRE(r1.status == 0);
    for (const char* part : log) CHECK(contains(r1.err, part));
    check_embedding(dir / "one.npy", 300, 2);
    REQUIRE(embed("two.npy", " --threads 2 --quiet").status == 0);
    CHECK(slurp(dir / "one.npy") == slurp(dir / "two.npy"));
}

}  // namespace

TEST_CASE("cli binary: --knn hnsw embeds, the same file for 1 and 2 threads") {
    // k = 15, ef 50 < N - 1: the index is used, not an exact scan.
    check_same_for_1_and_2_threads(" --perplexity 5 --iterations 60 --exaggeration-iterations 20 --knn hnsw",
                                   " --hnsw-m 8 --hnsw-ef-search 40",
                                   {"knn hnsw (M 8, ef construction", "ef search 40)"});
}

TEST_CASE("cli binary: --knn nndescent embeds, the same file for 1 and 2 threads") {
    // N = 300 > leaf 100 and 4 (k + 1): the forest is used.
    check_same_for_1_and_2_threads(
        " --perplexity 5 --iterations 60 --exaggeration-iterations 20 --knn nndescent --nndescent-trees 3",
        " --nndescent-rounds 4", {"knn nndescent (trees 3, leaf auto, rounds 4)"});
}

#endif  // TREESNE_CLI_PATH

TEST_CASE("cli binary: every instruction set this CPU runs gives the same file (TREESNE_SIMD)") {
    // The kernels' copies (src/tree/simd.hpp) must agree to the bit: float and double walks, the Cauchy
    // and the general kernel, 1, 2 and 3 dimensions, the KL at reports. A target the CPU or the build
    // lacks must be refused with one line, never run.
    TempDir dir;
    const std::string in = dir / "in.csv";
    write_csv(in, make_blobs(300, 8, 4).x);
    for (const char* setting : {" --dims 2 --theta 0.5 --knn brute", " --dims 3 --theta 0.1 --dof 0.7 --knn nndescent", " --dims 1 --dof 3"}) {
        CAPTURE(setting);
        std::string baseline;
        int ran = 0;
        for (const char* target : {"baseline", "avx2", "avx512", "auto"}) {
            CAPTURE(target);
            const std::string out = dir / (std::string(target) + ".npy");
            const Run r = run_cli(dir,
                                  "embed " + quote(in) + " -o " + quote(out) + setting +
                                      " --perplexity 10 --iterations 120 --exaggeration-iterations 40 --seed 3 "
                                      "--log-every 20 --threads 2 --verbose",
                                  std::string("TREESNE_SIMD=") + target);
            if (r.status != 0) {
                check_one_error_line(r);
                CHECK((contains(r.err, "cannot run") || contains(r.err, "has only the baseline")));
                CHECK(!std::filesystem::exists(out));
                continue;
            }
            ++ran;
            // The forced target is the one that ran (a build with copies to choose from says which).
            if (contains(treesne::simd_kernels(), "chosen at run time") && std::string(target) != "auto")
                CHECK(contains(r.err, std::string("kernels: ") + target + " "));
            if (baseline.empty()) {
                baseline = slurp(out);
                CHECK(baseline.size() > 300 * 8);
            } else {
                CHECK(slurp(out) == baseline);
            }
        }
        CHECK(ran >= 2);  // baseline and auto always run
    }
    const Run bad = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "x.npy"), "TREESNE_SIMD=sse9");
    CHECK(bad.status == 1);
    check_one_error_line(bad);
    CHECK(contains(bad.err, "TREESNE_SIMD=sse9: unknown target"));
    CHECK(!std::filesystem::exists(dir / "x.npy"));
}
