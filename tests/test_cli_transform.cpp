// `treesne transform`: parse_transform() as a pure function, and the program run as a process (written
// embedding, picture, one-line errors and exit statuses for mismatched files).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/treesne.hpp"

#ifdef TREESNE_HAVE_CLI_LIB

#include "cli.hpp"

namespace {

using treesne::cli::UsageError;

treesne::cli::TransformConfig parse_transform(std::vector<std::string> args) {
    return treesne::cli::parse_transform(args);
}

}  // namespace

TEST_CASE("parse_transform: files, options and their defaults") {
    const auto c = parse_transform({"ref.csv",
                                    "ref_emb.csv",
                                    "new1.csv",
                                    "new2.csv",
                                    "-o",
                                    "out.npy",
                                    "--pca",
                                    "50",
                                    "--perplexity",
                                    "5",
                                    "--iterations",
                                    "100",
                                    "--repel-new",
                                    "--threads",
                                    "2",
                                    "--labels",
                                    "ref_labels.txt",
                                    "--new-labels",
                                    "a.txt",
                                    "--new-labels",
                                    "b.txt",
                                    "--plot",
                                    "out.png",
                                    "--theta",
                                    "0.3",
                                    "--seed",
                                    "7"});
    CHECK(c.reference_input == "ref.csv");
    CHECK(c.reference_embedding == "ref_emb.csv");
    CHECK(c.inputs == std::vector<std::string>{"new1.csv", "new2.csv"});
    CHECK(c.output == "out.npy");
    CHECK(c.options.pca_dims == 50);
    CHECK(c.transform.perplexity == 5.0);
    CHECK(c.transform.iterations == 100);
    CHECK(c.transform.repel_new);
    CHECK(c.options.threads == 2);
    CHECK(c.options.optimizer.theta == 0.3);
    CHECK(c.options.seed == 7);
    CHECK(c.label_path == "ref_labels.txt");
    CHECK(c.new_label_paths.size() == 2);
    CHECK(c.plot_path == "out.png");

    const auto d = parse_transform({"r.csv", "e.csv", "n.csv", "-o", "-"});
    const treesne::TransformOptions defaults;
    CHECK_FALSE(d.transform.perplexity.has_value());  // auto
    CHECK(d.transform.iterations == defaults.iterations);
    CHECK(d.transform.learning_rate == defaults.learning_rate);
    CHECK_FALSE(d.transform.repel_new);
    CHECK(parse_transform({"r.csv", "e.csv", "n.csv", "-o", "x.csv", "--perplexity", "auto"})
              .transform.perplexity == std::nullopt);
}

TEST_CASE("parse_transform: malformed command lines are usage errors") {
    CHECK_THROWS_AS(parse_transform({"r.csv", "e.csv", "-o", "out.csv"}), UsageError);  // no NEW_INPUT
    CHECK_THROWS_AS(parse_transform({"r.csv", "e.csv", "n.csv"}), UsageError);          // no -o
    CHECK_THROWS_AS(parse_transform({"r.csv", "e.csv", "n.csv", "-o", "out.xyz"}), UsageError);
    // -o naming an input is refused when the command runs, by the file itself (see below).
    CHECK_THROWS_AS(parse_transform({"r.csv", "e.csv", "n.csv", "-o", "o.csv", "--perplexity", "0.5"}),
                    UsageError);
    CHECK_THROWS_AS(parse_transform({"r.csv", "e.csv", "n.csv", "-o", "o.csv", "--learning-rate", "-1"}),
                    UsageError);
    CHECK_THROWS_AS(parse_transform({"r.csv", "e.csv", "n.csv", "-o", "o.csv", "--momentum", "1"}),
                    UsageError);
    CHECK_THROWS_AS(parse_transform({"r.csv", "e.csv", "n.csv", "-o", "o.csv", "--plot", "p.gif"}),
                    UsageError);
    CHECK_THROWS_AS(
        parse_transform({"r.csv", "e.csv", "n.csv", "m.csv", "-o", "o.csv", "--new-labels", "a.txt"}),
        UsageError);  // one label file per new input
    CHECK_THROWS_AS(parse_transform({"r.csv", "e.csv", "n.csv", "-o", "o.csv", "--dims", "3"}), UsageError);
}

TEST_CASE("transform help: its own page with an example, and a line in the program's help") {
    const std::vector<const char*> argv = {"treesne", "transform", "--help"};
    const auto c = treesne::cli::parse_cli(static_cast<int>(argv.size()), argv.data());
    CHECK(c.command == treesne::cli::Command::help);
    CHECK(c.help_topic == "transform");
    const std::string help = treesne::cli::help_text("transform");
    CHECK(help.find("Usage: treesne transform REFERENCE_INPUT REFERENCE_EMBEDDING NEW_INPUT") !=
          std::string::npos);
    CHECK(help.find("Example") != std::string::npos);
    CHECK(help.find("--repel-new") != std::string::npos);
    CHECK(treesne::cli::help_text("").find("treesne transform") != std::string::npos);
}

#endif  // TREESNE_HAVE_CLI_LIB

#ifdef TREESNE_CLI_PATH

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "helpers/cli_runs.hpp"
#include "treesne/io/io.hpp"

namespace {

using treesne::Matrix;
using namespace treesne::testing;

/// Reference data (4 clusters, 5 columns), its embedding, new points and labels, written into dir.
void write_inputs(const TempDir& dir) {
    std::vector<int> labels;
    const Matrix x = treesne::testing::clustered(4, 60, 5, 77, 10.0, &labels);
    Matrix ref(200, 5), fresh(40, 5);
    std::ofstream ref_labels(dir / "ref_labels.txt"), new_labels(dir / "new_labels.txt");
    for (treesne::index_t i = 0, r = 0, n = 0; i < x.rows(); ++i) {
        const bool is_new = i % 60 >= 50;
        Matrix& to = is_new ? fresh : ref;
        std::copy(x.row(i), x.row(i) + 5, to.row(is_new ? n++ : r++));
        (is_new ? new_labels : ref_labels) << labels[static_cast<std::size_t>(i)] << '\n';
    }
    treesne::Options o;
    o.threads = 2;
    o.report_every = 0;
    o.optimizer.iterations = 1000;
    treesne::io::write_matrix(dir / "ref.csv", ref);
    treesne::io::write_matrix(dir / "ref_emb.csv", treesne::embed(ref, o).y);
    treesne::io::write_matrix(dir / "new.csv", fresh);
    treesne::io::write_matrix(dir / "short.csv", Matrix(199, 2, 0.5));
    treesne::io::write_matrix(dir / "narrow.csv", Matrix(10, 4, 1.0));
}

}  // namespace

TEST_CASE("treesne transform: writes the new points' embedding, a picture and their accuracy") {
    TempDir dir;
    write_inputs(dir);
    const std::string files =
        quote(dir / "ref.csv") + " " + quote(dir / "ref_emb.csv") + " " + quote(dir / "new.csv");
    const Run ok =
        run_cli(dir, "transform " + files + " -o " + quote(dir / "out.npy") + " --threads 2 --labels " +
                             quote(dir / "ref_labels.txt") + " --new-labels " +
                             quote(dir / "new_labels.txt") + " --plot " + quote(dir / "out.png"));
    CAPTURE(ok.err);
    REQUIRE(ok.status == 0);
    const Matrix y = treesne::io::read_matrix(dir / "out.npy");
    CHECK(y.rows() == 40);
    CHECK(y.cols() == 2);
    CHECK(std::filesystem::file_size(dir / "out.png") > 1000);
    CHECK(ok.err.find("accuracy: 1.0000") != std::string::npos);  // well-separated clusters

    const Run quiet = run_cli(dir, "transform " + files + " -o - --quiet --threads 1");
    CHECK(quiet.status == 0);
    CHECK(quiet.err.empty());
    spit(dir / "out.txt", quiet.out);
    CHECK(treesne::io::read_matrix(dir / "out.txt") == y);  // the same on one thread, as CSV on stdout
}

TEST_CASE("treesne transform: mismatched files and bad command lines are refused with one line") {
    TempDir dir;
    write_inputs(dir);
    const std::string ref = quote(dir / "ref.csv"), emb = quote(dir / "ref_emb.csv"),
                      fresh = quote(dir / "new.csv");
    const std::string out = " -o " + quote(dir / "o.csv");
    const Run rows =
        run_cli(dir, "transform " + ref + " " + quote(dir / "short.csv") + " " + fresh + out);
    CHECK(rows.status == 1);
    CHECK(one_error_line(rows.err));
    CHECK(rows.err.find("short.csv has 199 rows but the reference input") != std::string::npos);
    CHECK(rows.err.find("ref.csv has 200") != std::string::npos);
    const Run cols =
        run_cli(dir, "transform " + ref + " " + emb + " " + quote(dir / "narrow.csv") + out);
    CHECK(cols.status == 1);
    CHECK(one_error_line(cols.err));
    CHECK(cols.err.find("narrow.csv has 4 columns but the reference input") != std::string::npos);
    const Run labels = run_cli(dir, "transform " + ref + " " + emb + " " + fresh + out +
                                                " --labels " + quote(dir / "new_labels.txt"));
    CHECK(labels.status == 1);
    CHECK(one_error_line(labels.err));
    CHECK_FALSE(std::filesystem::exists(dir / "o.csv"));
    const Run usage = run_cli(dir, "transform " + ref + " " + emb + " " + fresh);
    CHECK(usage.status == 2);
    CHECK(one_error_line(usage.err));
    const Run help = run_cli(dir, "transform --help");
    CHECK(help.status == 0);
    CHECK(help.out.find("Usage: treesne transform") != std::string::npos);
    const Run program_help = run_cli(dir, "--help");
    CHECK(program_help.status == 0);
    CHECK(program_help.out.find("treesne transform") != std::string::npos);
}

TEST_CASE(
    "treesne transform: an output that is an input, by any spelling or link, is refused before any work") {
    TempDir dir;
    write_inputs(dir);
    namespace fs = std::filesystem;
    const std::string files =
        quote(dir / "ref.csv") + " " + quote(dir / "ref_emb.csv") + " " + quote(dir / "new.csv");
    const std::string labels =
        " --labels " + quote(dir / "ref_labels.txt") + " --new-labels " + quote(dir / "new_labels.txt");
    fs::create_symlink(dir / "ref_labels.txt", dir / "labels_link.csv");
    fs::create_hard_link(dir / "new_labels.txt", dir / "new_labels.png");
    std::ofstream(dir / "taken.png") << "a picture\n";
    fs::create_hard_link(dir / "taken.png", dir / "taken.csv");
    const std::string before_new = slurp(dir / "new.csv"),
                      before_labels = slurp(dir / "ref_labels.txt"),
                      before_new_labels = slurp(dir / "new_labels.txt");
    struct Case {
        std::string args, expect;
    };
    const Case cases[] = {
        {" -o " + quote(dir.path().string() + "/./new.csv"), "is the same file as the new input"},
        {" -o " + quote(dir / "ref_emb.csv"), "is the same file as the reference embedding"},
        {" -o " + quote(dir / "labels_link.csv") + labels, "is the same file as --labels"},
        {" -o " + quote(dir / "o.csv") + " --plot " + quote(dir / "new_labels.png") + labels,
         "--plot " + (dir / "new_labels.png") + " is the same file as --new-labels"},
        {" -o " + quote(dir / "taken.csv") + " --plot " + quote(dir / "taken.png"),
         "-o " + (dir / "taken.csv") + " and --plot " + (dir / "taken.png") + " name the same file"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.args);
        const Run o = run_cli(dir, "transform " + files + c.args + " --threads 1");
        CHECK(o.status == 2);
        CHECK(one_error_line(o.err));
        CHECK(o.err.find(c.expect) != std::string::npos);
    }
    CHECK(slurp(dir / "new.csv") == before_new);
    CHECK(slurp(dir / "ref_labels.txt") == before_labels);
    CHECK(slurp(dir / "new_labels.txt") == before_new_labels);
    CHECK(fs::is_symlink(dir / "labels_link.csv"));
    CHECK(slurp(dir / "taken.png") == "a picture\n");
    CHECK_FALSE(fs::exists(dir / "o.csv"));
}

TEST_CASE("treesne transform: a picture that cannot be written leaves -o as it was") {
    TempDir dir;
    write_inputs(dir);
    const std::string files =
        quote(dir / "ref.csv") + " " + quote(dir / "ref_emb.csv") + " " + quote(dir / "new.csv");
    std::ofstream(dir / "o.csv") << "an earlier embedding\n";
    // Every file the program writes is cut off at 4 KiB: the 40 new points (about 2 KiB of text) would
    // fit, the picture does not.
    const std::string limited = "trap '' XFSZ; ulimit -f 4; exec " + quote(TREESNE_CLI_PATH) +
                                " transform " + files + " -o " + quote(dir / "o.csv") + " --plot " +
                                quote(dir / "o.png") + " --threads 1 --quiet";
    const int raw = std::system(("sh -c " + quote(limited) + " 2>" + quote(dir / "err.txt")).c_str());
    CHECK((WIFEXITED(raw) && WEXITSTATUS(raw) == 1));
    CHECK(one_error_line(slurp(dir / "err.txt")));
    CHECK(slurp(dir / "o.csv") == "an earlier embedding\n");
    CHECK_FALSE(std::filesystem::exists(dir / "o.png"));
}

TEST_CASE("treesne transform: --memory-limit refuses before any work; 0 turns the check off") {
    TempDir dir;
    write_inputs(dir);
    const std::string files =
        quote(dir / "ref.csv") + " " + quote(dir / "ref_emb.csv") + " " + quote(dir / "new.csv");
    const Run refused = run_cli(dir, "transform " + files + " -o " + quote(dir / "m.csv") +
                                                 " --threads 1 --quiet --memory-limit 0.000001");
    CHECK(refused.status == 1);
    CHECK(one_error_line(refused.err));
    CHECK(refused.err.find("transform needs about ") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "m.csv"));
    const Run unchecked = run_cli(
        dir, "transform " + files + " -o " + quote(dir / "m.csv") + " --threads 1 --quiet --memory-limit 0");
    CHECK(unchecked.status == 0);
    CHECK(std::filesystem::exists(dir / "m.csv"));
}

#endif  // TREESNE_CLI_PATH
