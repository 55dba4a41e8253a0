// Phases, snapshots and the cost history of `treesne embed`: the stacked .npy writer and the fixed plot
// bounds they use; parse_cli() of --late-exaggeration, --late-exaggeration-start, --momentum-switch,
// --early-stop, --snapshot-every, --snapshots, --snapshot-plots and --kl-log (when the test binary links
// treesne_cli_lib); and the real program (when TREESNE_CLI_PATH is defined): frames whose last one is the
// output, pictures of one size, the KL log, early stopping, late exaggeration, and resuming.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <regex>
#include <string>
#include <vector>

#include "helpers/cli_runs.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"
#include "treesne/core/options.hpp"
#include "treesne/plot/plot.hpp"

namespace {

namespace fs = std::filesystem;

using treesne::index_t;
using treesne::Matrix;
using namespace treesne::testing;

/// A float64 C-order .npy of any rank, read by hand (io::read_matrix takes 1-D and 2-D only), so that
/// the test checks the format itself: magic, version 1.0, a header padded to a multiple of 64.
struct Npy {
    std::vector<std::uint64_t> shape;
    std::vector<double> data;
    std::size_t header_size = 0;
};

Npy read_npy(const std::string& path) {
    const std::string bytes = slurp(path);
    REQUIRE(bytes.size() >= 10);
    REQUIRE(bytes.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
    const std::size_t length = static_cast<unsigned char>(bytes[8]) |
                               static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8;
    Npy npy;
    npy.header_size = 10 + length;
    REQUIRE(bytes.size() >= npy.header_size);
    const std::string dict = bytes.substr(10, length);
    CAPTURE(dict);
    CHECK(npy.header_size % 64 == 0);
    CHECK(dict.back() == '\n');
    CHECK(contains(dict, "'descr': '<f8'"));
    CHECK(contains(dict, "'fortran_order': False"));
    const std::size_t open = dict.find("'shape': (");
    REQUIRE(open != std::string::npos);
    std::istringstream shape(dict.substr(open + 10, dict.find(')', open) - open - 10));
    std::size_t count = 1;
    for (std::string item; std::getline(shape, item, ',');) {
        if (item.find_first_not_of(' ') == std::string::npos) continue;
        npy.shape.push_back(std::stoull(item));
        count *= npy.shape.back();
    }
    REQUIRE(bytes.size() == npy.header_size + count * sizeof(double));
    npy.data.resize(count);
    if (count > 0)  // memcpy from or to a null pointer is undefined even for 0 bytes
        std::memcpy(npy.data.data(), bytes.data() + npy.header_size, count * sizeof(double));
    return npy;
}

/// Width and height of a PNG from its IHDR chunk.
std::pair<std::uint32_t, std::uint32_t> png_size(const std::string& path) {
    const std::string b = slurp(path);
    REQUIRE(b.size() > 24);
    REQUIRE(b.compare(1, 3, "PNG") == 0);
    auto be32 = [&](std::size_t at) {
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(b[at + i]);
        return v;
    };
    return {be32(16), be32(20)};
}

Matrix filled(index_t rows, index_t cols, double start) {
    Matrix m(rows, cols);
    for (index_t i = 0; i < m.size(); ++i) m.data()[i] = start + 0.25 * static_cast<double>(i);
    return m;
}

}  // namespace

TEST_CASE("io: NpyStackWriter streams frames into one (frames, rows, cols) .npy, atomically") {
    TempDir dir;
    const std::string path = dir / "frames.npy";
    SUBCASE("three frames round-trip bit for bit") {
        treesne::io::NpyStackWriter stack(path, 4, 2);
        const Matrix a = filled(4, 2, -1.0), b = filled(4, 2, 0.1), c = filled(4, 2, 1e300);
        stack.append(a);
        stack.append(b);
        CHECK_FALSE(fs::exists(path));  // nothing at the target before commit()
        CHECK(stack.frame(1) == b);     // read back from the temporary file
        stack.append(c);
        CHECK(stack.frames() == 3);
        CHECK(stack.frame(0) == a);
        stack.commit();
        const Npy npy = read_npy(path);
        CHECK(npy.shape == std::vector<std::uint64_t>{3, 4, 2});
        std::vector<double> expected;
        for (const Matrix* m : {&a, &b, &c})
            expected.insert(expected.end(), m->storage().begin(), m->storage().end());
        CHECK(std::memcmp(npy.data.data(), expected.data(), expected.size() * sizeof(double)) == 0);
        CHECK(dir.files() == std::vector<std::string>{"frames.npy"});  // no temporary file left
    }
    SUBCASE("no frames, and frames of one value") {
        {
            treesne::io::NpyStackWriter stack(path, 7, 3);
            stack.commit();
        }
        CHECK(read_npy(path).shape == std::vector<std::uint64_t>{0, 7, 3});
        treesne::io::NpyStackWriter stack(path, 1, 1);
        stack.append(filled(1, 1, 2.5));
        stack.commit();
        const Npy npy = read_npy(path);
        CHECK(npy.shape == std::vector<std::uint64_t>{1, 1, 1});
        CHECK(npy.data == std::vector<double>{2.5});
    }
    SUBCASE("refusals, and no file without commit()") {
        {
            treesne::io::NpyStackWriter stack(path, 4, 2);
            stack.append(filled(4, 2, 0));
            Matrix bad = filled(4, 2, 0);
            bad(2, 1) = std::numeric_limits<double>::quiet_NaN();
            try {
                stack.append(bad);
                FAIL("a NaN was written");
            } catch (const treesne::IoError& e) {
                CHECK(contains(e.what(), "frame 2"));
                CHECK(contains(e.what(), "row 3, column 2"));
            }
            CHECK(stack.frames() == 1);
            CHECK_THROWS_AS(stack.append(filled(3, 2, 0)), treesne::InvalidArgument);
            CHECK_THROWS_AS(stack.frame(1), treesne::InvalidArgument);
        }
        CHECK(dir.files().empty());
        CHECK_THROWS_AS(treesne::io::NpyStackWriter(dir / "no/such/dir.npy", 4, 2), treesne::IoError);
        CHECK_THROWS_AS(treesne::io::NpyStackWriter(path, 0, 2), treesne::InvalidArgument);
        CHECK(dir.files().empty());
    }
    SUBCASE("the 2-D writer is unchanged: numpy's header, read back by read_matrix") {
        const Matrix m = filled(5, 3, 1.0);
        treesne::io::write_matrix(path, m);
        const Npy npy = read_npy(path);
        CHECK(npy.header_size == 128);
        CHECK(npy.shape == std::vector<std::uint64_t>{5, 3});
        CHECK(treesne::io::read_matrix(path) == m);
    }
}

TEST_CASE("plot: fixed bounds fix the axes; points outside them are clipped") {
    TempDir dir;
    treesne::PlotOptions options;
    options.width = 320;
    options.height = 240;
    options.point_radius = 3;  // the automatic radius depends on N
    options.bounds = treesne::PlotBounds{-6, -6, 6, 6};
    Matrix inside(2, 2), with_outlier(3, 2);
    inside(0, 0) = 0, inside(0, 1) = 0, inside(1, 0) = 5, inside(1, 1) = 5;
    with_outlier(0, 0) = 0, with_outlier(0, 1) = 0, with_outlier(1, 0) = 5, with_outlier(1, 1) = 5;
    with_outlier(2, 0) = 100, with_outlier(2, 1) = -80;
    treesne::plot_embedding(dir / "a.png", inside, nullptr, options);
    treesne::plot_embedding(dir / "b.png", with_outlier, nullptr, options);
    CHECK(slurp(dir / "a.png") == slurp(dir / "b.png"));  // same axes, the outlier drawn nowhere
    options.bounds.reset();
    treesne::plot_embedding(dir / "c.png", with_outlier, nullptr, options);
    CHECK(slurp(dir / "c.png") != slurp(dir / "a.png"));
    Matrix line(3, 1);
    line(0, 0) = -1, line(1, 0) = 0, line(2, 0) = 2;
    options.bounds = treesne::PlotBounds{-4, 0, 4, 0};  // 1-D: only the x span counts
    treesne::plot_embedding(dir / "d.svg", line, nullptr, options);
    // Cairo numbers its surfaces in the SVG's ids, one more for every picture the process draws.
    auto svg_of = [&](const std::string& name) {
        return std::regex_replace(slurp(dir / name), std::regex("id=\"surface[0-9]+\""), "id=\"surface\"");
    };
    const std::string svg = svg_of("d.svg");
    CHECK(svg.find("<svg") != std::string::npos);
    // The x span fixes the axis (a point beyond it is drawn nowhere), and the y span does not count.
    Matrix line_with_outlier(4, 1);
    for (index_t i = 0; i < 3; ++i) line_with_outlier(i, 0) = line(i, 0);
    line_with_outlier(3, 0) = 50;
    treesne::plot_embedding(dir / "d2.svg", line_with_outlier, nullptr, options);
    CHECK(svg_of("d2.svg") == svg);
    options.bounds = treesne::PlotBounds{-4, -100, 4, 100};
    treesne::plot_embedding(dir / "d3.svg", line, nullptr, options);
    CHECK(svg_of("d3.svg") == svg);
    options.bounds = treesne::PlotBounds{-8, 0, 8, 0};
    treesne::plot_embedding(dir / "d4.svg", line, nullptr, options);
    CHECK(svg_of("d4.svg") != svg);
    for (const treesne::PlotBounds& bad : {treesne::PlotBounds{1, 0, -1, 1}, treesne::PlotBounds{0, 2, 1, 1},
                                           treesne::PlotBounds{0, 0, std::nan(""), 1}}) {
        options.bounds = bad;
        CHECK_THROWS_AS(treesne::plot_embedding(dir / "e.png", inside, nullptr, options),
                        treesne::InvalidArgument);
    }
    CHECK_FALSE(fs::exists(dir / "e.png"));
}

#ifdef TREESNE_HAVE_CLI_LIB

#include "cli.hpp"
#include "run_snapshots.hpp"

namespace {

using treesne::cli::CliConfig;
using treesne::cli::UsageError;


}  // namespace

TEST_CASE("cli parse: phases, snapshots and the cost history") {
    const CliConfig plain = parse({"embed", "in.csv", "-o", "out.csv"});
    const treesne::OptimizerOptions defaults;
    CHECK(plain.embed.options.optimizer.late_exaggeration == defaults.late_exaggeration);
    CHECK(plain.embed.options.optimizer.late_exaggeration_start == defaults.late_exaggeration_start);
    CHECK(plain.embed.options.optimizer.momentum_switch == defaults.momentum_switch);
    CHECK(plain.embed.options.optimizer.early_stop == defaults.early_stop);
    CHECK(plain.embed.snapshot_every == 0);
    CHECK(plain.embed.snapshots_path.empty());
    CHECK(plain.embed.snapshot_plots_dir.empty());
    CHECK(plain.embed.kl_log_path.empty());

    const CliConfig c = parse({"embed",
                               "in.csv",
                               "-o",
                               "out.npy",
                               "--late-exaggeration",
                               "2.5",
                               "--late-exaggeration-start",
                               "600",
                               "--momentum-switch",
                               "100",
                               "--early-stop",
                               "1e-3",
                               "--snapshot-every",
                               "25",
                               "--snapshots",
                               "frames.NPY",
                               "--snapshot-plots",
                               "pictures",
                               "--kl-log",
                               "kl.csv"});
    const treesne::OptimizerOptions& p = c.embed.options.optimizer;
    CHECK(p.late_exaggeration == 2.5);
    CHECK(p.late_exaggeration_start == 600);
    CHECK(p.momentum_switch == 100);
    CHECK(p.early_stop == 1e-3);
    CHECK(c.embed.snapshot_every == 25);
    CHECK(c.embed.snapshots_path == "frames.NPY");
    CHECK(c.embed.snapshot_plots_dir == "pictures");
    CHECK(c.embed.kl_log_path == "kl.csv");
    // Each alone; late exaggeration from right after early exaggeration; the earliest start allowed.
    CHECK(parse({"embed", "in.csv", "-o", "o.csv", "--late-exaggeration", "4"})
              .embed.options.optimizer.late_exaggeration_start == -1);
    CHECK(parse({"embed", "in.csv", "-o", "o.csv", "--late-exaggeration", "4", "--late-exaggeration-start",
                 "250"})
              .embed.options.optimizer.late_exaggeration_start == 250);
    CHECK(parse({"embed", "in.csv", "-o", "o.csv", "--exaggeration-iterations", "0", "--late-exaggeration",
                 "3", "--late-exaggeration-start", "0"})
              .embed.options.optimizer.late_exaggeration_start == 0);
    CHECK(parse({"embed", "in.csv", "-o", "o.csv", "--early-stop", "0"}).embed.options.optimizer.early_stop ==
          0);
    CHECK(parse({"embed", "in.csv", "-o", "o.csv", "--snapshot-every", "1", "--snapshot-plots", "d"})
              .embed.snapshots_path.empty());
    CHECK(parse({"embed", "in.csv", "-o", "o.csv", "--kl-log", "k.txt"}).embed.kl_log_path == "k.txt");

    const std::vector<std::pair<std::vector<std::string>, std::string>> errors = {
        {{"--late-exaggeration-start", "300"}, "--late-exaggeration-start needs --late-exaggeration"},
        {{"--late-exaggeration", "2", "--late-exaggeration-start", "100"}, "falls inside early exaggeration"},
        {{"--late-exaggeration", "0"}, "--late-exaggeration must be > 0"},
        {{"--late-exaggeration", "-1"}, "--late-exaggeration must be > 0"},
        {{"--late-exaggeration", "x"}, "--late-exaggeration expects a number"},
        {{"--late-exaggeration", "2", "--late-exaggeration-start", "-1"},
         "--late-exaggeration-start must be >= 0"},
        {{"--momentum-switch", "-1"}, "--momentum-switch must be >= 0"},
        {{"--momentum-switch", "1.5"}, "--momentum-switch expects an integer"},
        {{"--early-stop", "1"}, "--early-stop must be in [0, 1)"},
        {{"--early-stop", "-0.01"}, "--early-stop must be in [0, 1)"},
        {{"--early-stop", "nan"}, "--early-stop expects a finite number"},
        {{"--snapshot-every", "10"}, "--snapshot-every needs --snapshots FILE.npy or --snapshot-plots DIR"},
        {{"--snapshots", "s.npy"}, "--snapshots needs --snapshot-every N"},
        {{"--snapshot-plots", "d"}, "--snapshot-plots needs --snapshot-every N"},
        {{"--snapshot-every", "0", "--snapshots", "s.npy"}, "--snapshot-every must be >= 1"},
        {{"--snapshot-every", "5", "--snapshots", "s.csv"}, "must end in .npy"},
        {{"--snapshot-every", "5", "--snapshots", "-"}, "--snapshots needs a file name"},
        {{"--snapshot-every", "5", "--snapshot-plots", ""}, "--snapshot-plots needs a directory name"},
        {{"--kl-log", ""}, "--kl-log needs a file name"},
        {{"--kl-log", "-"}, "--kl-log needs a file name"},
    };
    for (const auto& [extra, message] : errors) {
        std::vector<std::string> args = {"embed", "in.csv", "-o", "out.csv"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto& options = extra;  // CAPTURE's lambda cannot capture a structured binding (clang)
        CAPTURE(options);
        try {
            parse(args);
            FAIL("no usage error");
        } catch (const UsageError& e) {
            CHECK(contains(e.what(), message));
        }
    }
}

TEST_CASE("cli help: phases, snapshots and the cost history, with defaults and sources") {
    // The help as one line: descriptions are wrapped at any space.
    std::string embed;
    for (char c : treesne::cli::help_text("embed")) {
        const char ch = c == '\n' ? ' ' : c;
        if (!(ch == ' ' && !embed.empty() && embed.back() == ' ')) embed += ch;
    }
    for (const std::string text :
         {"--late-exaggeration A", "--late-exaggeration-start N", "--momentum-switch N", "--early-stop TOL",
          "--snapshot-every N", "--snapshots FILE.npy", "--snapshot-plots DIR", "--kl-log FILE", "FIt-SNE",
          "Linderman et al. 2019", "Default: right after early exaggeration.", "%04d.png", "ffmpeg",
          "iteration,phase,kl,gradient_norm,seconds,theta", "union of every frame's extent"}) {
        CAPTURE(text);
        CHECK(contains(embed, text));
    }
    const treesne::OptimizerOptions d;
    CHECK(contains(embed, treesne::concat("1 = off. Default: ", d.late_exaggeration, ".")));
    CHECK(contains(embed, treesne::concat("(all --iterations run). Default: ", d.early_stop, ".")));
}

TEST_CASE("cli snapshots: report cadence, frame names, the KL log") {
    using treesne::cli::plan_reports;
    treesne::cli::EmbedConfig e;
    treesne::OptimizerOptions p;
    auto cadence = [&](index_t configured, index_t log_every) {
        const auto c = plan_reports(e, p, configured, log_every);
        return std::vector<index_t>{c.log_every, c.trace_every, c.report_every};
    };
    CHECK(cadence(50, 50) == std::vector<index_t>{50, 50, 50});
    CHECK(cadence(50, 10) == std::vector<index_t>{10, 50, 10});  // a terminal's live line
    CHECK(cadence(0, 0) == std::vector<index_t>{0, 0, 0});       // only at the end
    e.snapshot_every = 20;
    CHECK(cadence(50, 50) == std::vector<index_t>{50, 10, 10});
    CHECK(cadence(0, 0) == std::vector<index_t>{0, 20, 20});
    p.early_stop = 0.01;
    e.snapshot_every = 0;
    CHECK(cadence(0, 0) == std::vector<index_t>{0, treesne::early_stop_window, treesne::early_stop_window});
    CHECK(cadence(100, 100) == std::vector<index_t>{100, 50, 50});

    CHECK(treesne::cli::frame_file_name(0) == "0001.png");
    CHECK(treesne::cli::frame_file_name(12344) == "12345.png");
    CHECK(treesne::cli::is_frame_file_name("0001.png"));
    CHECK(treesne::cli::is_frame_file_name("12345.png"));
    for (const char* name : {"001.png", "0001.svg", "a001.png", "0001.png.tmp", ".png", "0001"})
        CHECK_FALSE(treesne::cli::is_frame_file_name(name));

    TempDir dir;
    std::vector<treesne::CostPoint> history = {
        {30, treesne::Phase::early_exaggeration, 3.5, 0.25, 0.001, 0.5},  // a checkpoint segment's end
        {50, treesne::Phase::early_exaggeration, 3.25, 0.5, 0.002, 0.5},
        {100, treesne::Phase::main, 1.0 / 3.0, 0.125, 0.0031234567, 0.45},
        {120, treesne::Phase::late_exaggeration, 1.5, 0.75, 0.004, 0.5},
    };
    CHECK(treesne::cli::write_kl_log(dir / "kl.csv", history, 50, 120) == 3);
    CHECK(slurp(dir / "kl.csv") ==
          "iteration,phase,kl,gradient_norm,seconds,theta\n"
          "50,early_exaggeration,3.25,0.5,0.002000,0.5\n"
          "100,main,0.3333333333333333,0.125,0.003123,0.45\n"
          "120,late_exaggeration,1.5,0.75,0.004000,0.5\n");
    history[2].kl = std::numeric_limits<double>::infinity();
    CHECK_THROWS_AS(treesne::cli::write_kl_log(dir / "bad.csv", history, 50, 120), treesne::IoError);
    CHECK_FALSE(fs::exists(dir / "bad.csv"));
}

#endif  // TREESNE_HAVE_CLI_LIB

#ifdef TREESNE_CLI_PATH

#include <sys/wait.h>

namespace {

/// 300 points in four clusters of 5-D Gaussians (the shared generator), as .npy, with labels.
std::string clustered_input(const TempDir& dir) {
    std::vector<int> labels;
    treesne::io::write_matrix(dir / "in.npy", treesne::testing::clustered(4, 75, 5, 7, 10.0, &labels));
    std::ofstream out(dir / "labels.txt");
    for (int l : labels) out << l << '\n';
    return dir / "in.npy";
}

/// Small and quick on one thread: ctest runs two tests at a time on two cores.
const std::string common = " --perplexity 10 --threads 1 --seed 3";

/// The rows of a CSV file after its header, split at commas.
std::vector<std::vector<std::string>> csv_rows(const std::string& path, std::string* header) {
    std::istringstream in(slurp(path));
    std::getline(in, *header);
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> cells;
        std::istringstream fields(line);
        for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
        rows.push_back(cells);
    }
    return rows;
}

}  // namespace

TEST_CASE("cli snapshots: frames every 50 iterations, the last one the output; pictures; the KL log") {
    TempDir dir;
    const std::string in = clustered_input(dir);
    const Run r =
        run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y.npy") + common +
                         " --iterations 300 --snapshot-every 50 --snapshots " + quote(dir / "s.npy") +
                         " --snapshot-plots " + quote(dir / "frames") + " --labels " +
                         quote(dir / "labels.txt") + " --kl-log " + quote(dir / "kl.csv"));
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    CHECK(contains(r.err, "(6 pictures, 0001.png to 0006.png)"));
    CHECK(contains(r.err, "s.npy (6 snapshots of 300 x 2)"));
    CHECK(contains(r.err, "kl.csv (6 rows)"));

    const Npy frames = read_npy(dir / "s.npy");
    CHECK(frames.shape == std::vector<std::uint64_t>{6, 300, 2});
    const Npy y = read_npy(dir / "y.npy");
    REQUIRE(y.data.size() == 600);
    CHECK(std::memcmp(frames.data.data() + 5 * 600, y.data.data(), 600 * sizeof(double)) == 0);
    CHECK(std::memcmp(frames.data.data() + 4 * 600, y.data.data(), 600 * sizeof(double)) != 0);
    for (double v : frames.data) REQUIRE(std::isfinite(v));

    std::vector<std::string> pictures;
    for (const auto& entry : fs::directory_iterator(dir / "frames"))
        pictures.push_back(entry.path().filename().string());
    std::sort(pictures.begin(), pictures.end());
    CHECK(pictures ==
          std::vector<std::string>{"0001.png", "0002.png", "0003.png", "0004.png", "0005.png", "0006.png"});
    for (const std::string& name : pictures) {
        CAPTURE(name);
        CHECK(png_size(dir / "frames/" + name) == png_size(dir / "frames/0001.png"));
    }
    CHECK(slurp(dir / "frames/0001.png") != slurp(dir / "frames/0006.png"));

    std::string header;
    const auto rows = csv_rows(dir / "kl.csv", &header);
    CHECK(header == "iteration,phase,kl,gradient_norm,seconds,theta");
    REQUIRE(rows.size() == 6);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        CAPTURE(i);
        REQUIRE(rows[i].size() == 6);
        CHECK(rows[i][0] == std::to_string(50 * (i + 1)));
        CHECK(rows[i][1] == (i < 5 ? "early_exaggeration" : "main"));
        CHECK(std::isfinite(std::stod(rows[i][2])));
        CHECK(rows[i][5] == "0.5");
    }
    // Progress keeps its cadence (--log-every 20 here) while snapshots come every 50 and the final one
    // at 290 is added; the output is the same as without snapshots.
    const Run again = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y2.npy") + common +
                                       " --iterations 290 --log-every 20 --snapshot-every 50 --snapshots " +
                                       quote(dir / "s2.npy"));
    CAPTURE(again.err);
    REQUIRE(again.status == 0);
    CHECK(contains(again.err, "optimise: 40/290"));
    CHECK_FALSE(contains(again.err, "optimise: 50/290"));
    CHECK(read_npy(dir / "s2.npy").shape == std::vector<std::uint64_t>{6, 300, 2});
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y3.npy") + common +
                             " --iterations 290 --quiet")
                .status == 0);
    CHECK(slurp(dir / "y2.npy") == slurp(dir / "y3.npy"));
    CHECK(std::memcmp(read_npy(dir / "s2.npy").data.data() + 5 * 600, read_npy(dir / "y3.npy").data.data(),
                      600 * sizeof(double)) == 0);
}

TEST_CASE("cli snapshots: --early-stop ends an easy run early, says so, writes the output, exits 0") {
    TempDir dir;
    const std::string in = clustered_input(dir);
    const Run r = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y.csv") + common +
                                   " --iterations 1000 --early-stop 0.01 --log-every 100 --kl-log " +
                                   quote(dir / "kl.csv"));
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    const std::string marker = "optimise: converged at iteration ";
    const std::size_t at = r.err.find(marker);
    REQUIRE(at != std::string::npos);
    const long stopped = std::stol(r.err.substr(at + marker.size()));
    CHECK(stopped < 1000);
    CHECK(stopped > 250);
    CHECK(stopped % treesne::early_stop_window == 0);
    CHECK(contains(r.err, "(KL fell by less than 1 % over 50 iterations)"));
    CHECK(contains(r.err, "optimise: " + std::to_string(stopped) + " iterations, KL"));
    const Matrix y = treesne::io::read_matrix(dir / "y.csv");
    CHECK(y.rows() == 300);
    CHECK(y.cols() == 2);
    // The log holds every check (every 50 iterations) up to the stop.
    std::string header;
    const auto rows = csv_rows(dir / "kl.csv", &header);
    REQUIRE(!rows.empty());
    CHECK(rows.size() == static_cast<std::size_t>(stopped / 50));
    CHECK(rows.back()[0] == std::to_string(stopped));
}

TEST_CASE("cli snapshots: late exaggeration and the momentum switch change the run; resume matches") {
    TempDir dir;
    const std::string in = clustered_input(dir);
    const std::string budget = " --iterations 600 --quiet";
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "plain.npy") + common + budget).status ==
            0);
    const Run late = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "late.npy") + common +
                                      " --iterations 600 --late-exaggeration 4 --log-every 100");
    CAPTURE(late.err);
    REQUIRE(late.status == 0);
    CHECK(contains(late.err, "optimise: 300/600 (late exaggeration)"));
    CHECK(slurp(dir / "late.npy") != slurp(dir / "plain.npy"));
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "switch.npy") + common + budget +
                             " --momentum-switch 100")
                .status == 0);
    CHECK(slurp(dir / "switch.npy") != slurp(dir / "plain.npy"));

    // Late exaggeration from 400, a momentum switch and early stopping, straight and in two processes.
    const std::string options =
        common +
        " --late-exaggeration 2 --late-exaggeration-start 400 --momentum-switch 200 --early-stop 0.002";
    const Run straight = run_cli(
        dir, "embed " + quote(in) + " -o " + quote(dir / "straight.npy") + options + " --iterations 1000");
    CAPTURE(straight.err);
    REQUIRE(straight.status == 0);
    REQUIRE(contains(straight.err, "converged at iteration"));
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "first.npy") + options +
                             " --iterations 300 --quiet --checkpoint " + quote(dir / "run.ckpt"))
                .status == 0);
    const Run resumed = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "resumed.npy") + options +
                                         " --iterations 1000 --resume " + quote(dir / "run.ckpt") +
                                         " --snapshot-every 100 --snapshots " + quote(dir / "s.npy"));
    CAPTURE(resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(slurp(dir / "resumed.npy") == slurp(dir / "straight.npy"));
    const std::string marker = "converged at iteration ";
    const std::string line = straight.err.substr(straight.err.find(marker));
    CHECK(contains(resumed.err, line.substr(0, line.find('\n'))));
    // The resumed process records its own iterations only: 400, 500, ... up to the stop.
    const long stopped = std::stol(line.substr(marker.size()));
    const Npy frames = read_npy(dir / "s.npy");
    CHECK(frames.shape[0] == static_cast<std::uint64_t>(stopped / 100 - 3 + (stopped % 100 != 0 ? 1 : 0)));
}

TEST_CASE("cli snapshots: bad snapshot and log outputs are refused before the run, with one line") {
    TempDir dir;
    const std::string in = clustered_input(dir), out = dir / "y.csv";
    std::ofstream(dir / "taken") << "a file\n";
    fs::create_directory(dir / "shown");
    std::ofstream(dir / "shown/0001.png") << "an earlier frame\n";
    fs::create_hard_link(dir / "shown/0001.png", dir / "linked.png");  // another name of that frame
    const std::string io = "embed " + quote(in) + " -o " + quote(out) + common + " --iterations 60 --quiet";
    const std::vector<std::pair<std::string, int>> cases = {
        {" --snapshot-every 10 --snapshot-plots " + quote(dir / "taken"), 1},
        {" --snapshot-every 10 --snapshots " + quote(dir / "missing/s.npy"), 1},
        {" --kl-log " + quote(dir / "missing/kl.csv"), 1},
        {" --kl-log " + quote(in), 2},
        {" --snapshot-every 10 --snapshots " + quote(dir / "s.npy") + " --kl-log " + quote(dir / "s.npy"), 2},
        {" --snapshot-every 10 --snapshot-plots " + quote(dir.path().string()) + " --plot " +
             quote(dir / "0002.png"),
         2},
        {" --snapshot-every 10 --snapshot-plots " + quote(dir / "shown") + " --plot " +
             quote(dir / "linked.png"),
         2},
        {" --late-exaggeration-start 300", 2},
        {" --snapshot-every 10", 2},
    };
    for (const auto& [extra, status] : cases) {
        const auto& options = extra;  // CAPTURE's lambda cannot capture a structured binding (clang)
        CAPTURE(options);
        const Run r = run_cli(dir, io + extra);
        CHECK(r.status == status);
        CAPTURE(r.err);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.rfind("treesne: error: ", 0) == 0);
        CHECK_FALSE(fs::exists(out));
    }
    // A missing directory is created; nothing but the frames is left in it, nor anything beside it.
    REQUIRE(run_cli(dir, io + " --snapshot-every 25 --snapshot-plots " + quote(dir / "new/frames")).status ==
            0);
    std::vector<std::string> made;
    for (const auto& entry : fs::directory_iterator(dir / "new/frames"))
        made.push_back(entry.path().filename().string());
    std::sort(made.begin(), made.end());
    CHECK(made == std::vector<std::string>{"0001.png", "0002.png", "0003.png"});
    for (const auto& entry : fs::directory_iterator(dir.path()))
        CHECK(entry.path().filename().string()[0] != '.');
}

TEST_CASE("cli snapshots: --snapshot-plots DIR is made only with the pictures, never by a failed run") {
    TempDir dir;
    const std::string in = clustered_input(dir);
    // A diverging run fails during the optimisation, after every check: no directory is left behind.
    const Run diverged =
        run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y.csv") + common +
                         " --method exact_sne --learning-rate 1e12 --max-step-norm 0 --quiet --snapshot-every 5"
                         " --snapshot-plots " +
                         quote(dir / "new/frames"));
    CHECK(diverged.status == 1);
    CAPTURE(diverged.err);
    CHECK(diverged.err.find("diverged") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "new"));
    CHECK_FALSE(fs::exists(dir / "y.csv"));
    // A directory that cannot be made is refused before the run, with one line, and nothing is made.
    std::ofstream(dir / "taken") << "a file\n";
    const Run blocked =
        run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "y.csv") + common +
                         " --quiet --snapshot-every 5 --snapshot-plots " + quote(dir / "taken/frames"));
    CHECK(blocked.status == 1);
    CHECK(std::count(blocked.err.begin(), blocked.err.end(), '\n') == 1);
    CHECK(blocked.err.find("--snapshot-plots " + (dir / "taken/frames") + ": cannot be created") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(dir / "y.csv"));
}

#endif  // TREESNE_CLI_PATH
