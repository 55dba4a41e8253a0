// The program's input files as a user meets them (issue 24): what is not data (a device, a gzip bomb, a
// directory) fails at once with one line naming the option and the file, and every complaint about an
// input's content names the file (and the option that gave it).
#include <doctest/doctest.h>

#ifdef TREESNE_CLI_PATH

#include <sys/wait.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "helpers/cli_runs.hpp"
#include "test_helpers.hpp"
#include "treesne/io/io.hpp"

namespace {

namespace fs = std::filesystem;
using treesne::index_t;
using treesne::Matrix;
using namespace treesne::testing;

/// Runs `treesne ARGS --quiet` in dir (so ARGS may name its files alone), `prefix` first ("ulimit -v
/// ...;"), under a 60 s guard against a reader that never ends (then status 124).
Run run_in(const TempDir& dir, const std::string& args, const std::string& prefix = "") {
    return run_cli(dir, args + " --quiet", "cd " + quote(dir.path().string()) + " && " + prefix + " timeout 60");
}

/// Status 1 and exactly the line "treesne: error: MESSAGE".
void check_error(const Run& o, const std::string& message) {
    CAPTURE(o.err);
    CHECK(o.status == 1);
    CHECK(o.err == "treesne: error: " + message + "\n");
}

/// Status 1, one error line, containing `part`.
void check_error_with(const Run& o, const std::string& part) {
    CAPTURE(o.err);
    CHECK(o.status == 1);
    CHECK(one_error_line(o.err));
    CHECK(o.err.find(part) != std::string::npos);
}

void write_csv(const std::string& path, const Matrix& m) {
    std::ofstream out(path);
    out.precision(17);
    for (index_t i = 0; i < m.rows(); ++i) {
        for (index_t j = 0; j < m.cols(); ++j) out << (j ? "," : "") << m(i, j);
        out << '\n';
    }
}

/// 60 clustered points in 4 dimensions, their exact 10 nearest neighbours (0-based indices and distances)
/// and their distance matrix, written as x.csv, idx.csv, dist.csv and d.csv; the graph as G.Mtx, a
/// 2-D "embedding" emb.csv, labels.txt and a one-point one.csv.
void write_inputs(const TempDir& dir) {
    const Matrix x = treesne::testing::clustered(3, 20, 4, 9);
    write_csv(dir / "x.csv", x);
    const index_t n = x.rows(), k = 10;
    Matrix d(n, n), idx(n, k), dist(n, k);
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j) {
            double s = 0;
            for (index_t c = 0; c < x.cols(); ++c) s += (x(i, c) - x(j, c)) * (x(i, c) - x(j, c));
            d(i, j) = std::sqrt(s);
        }
    for (index_t i = 0; i < n; ++i) {
        std::vector<index_t> order;
        for (index_t j = 0; j < n; ++j)
            if (j != i) order.push_back(j);
        std::sort(order.begin(), order.end(), [&](index_t a, index_t b) { return d(i, a) < d(i, b); });
        for (index_t s = 0; s < k; ++s) {
            idx(i, s) = static_cast<double>(order[static_cast<std::size_t>(s)]);
            dist(i, s) = d(i, order[static_cast<std::size_t>(s)]);
        }
    }
    write_csv(dir / "d.csv", d);
    write_csv(dir / "idx.csv", idx);
    write_csv(dir / "dist.csv", dist);
    // The same graph as Matrix Market, with an upper-case extension and no comment line.
    std::ostringstream mtx;
    mtx.precision(17);
    mtx << "%%MatrixMarket matrix coordinate real general\n" << n << ' ' << n << ' ' << n * k << '\n';
    for (index_t i = 0; i < n; ++i)
        for (index_t s = 0; s < k; ++s) mtx << i + 1 << ' ' << idx(i, s) + 1 << ' ' << dist(i, s) << '\n';
    spit(dir / "G.Mtx", mtx.str());
    spit(dir / "one.csv", "1,2,3,4\n");
    write_csv(dir / "emb.csv", treesne::testing::clustered(3, 20, 2, 10));
    std::ofstream labels(dir / "labels.txt");
    for (index_t i = 0; i < n; ++i) labels << i % 3 << '\n';
}

const std::string quick = " --perplexity 3 --iterations 30 --exaggeration-iterations 10 --threads 1";

}  // namespace

TEST_CASE("cli inputs: a device, a gzip bomb and a directory fail at once with one line") {
    TempDir dir;
    write_inputs(dir);
    // /dev/zero starts with NUL bytes: not text, not .npy, no IDX data type 0 (4ae5c90 read it without
    // end, past all memory; the guard's timeout would end it with status 124).
    if (fs::exists("/dev/zero")) {
        const Run o = run_in(dir, "embed /dev/zero -o y.csv");
        check_error_with(o, "/dev/zero: unknown IDX data type 0x0");
    }
    // 2 GiB of zeros, gzipped to 2 MB and named .npy.gz: refused on its first bytes, so even with 1 GiB of
    // address space (4ae5c90 inflated all of it, 3 GiB of RSS, and failed for lack of memory instead).
    {
        gzFile gz = gzopen((dir / "member.gz").c_str(), "wb9");
        REQUIRE(gz != nullptr);
        const std::string mib(std::size_t{1} << 20, '\0');
        REQUIRE(gzwrite(gz, mib.data(), static_cast<unsigned>(mib.size())) == static_cast<int>(mib.size()));
        REQUIRE(gzclose(gz) == Z_OK);
        const std::string member = slurp(dir / "member.gz");
        std::ofstream out(dir / "zeros.npy.gz", std::ios::binary);
        for (int i = 0; i < 2048; ++i) out << member;
    }
    const std::string limit = kAddressSanitizer ? "" : "ulimit -v 1048576;";  // ASan reserves terabytes
    check_error(run_in(dir, "embed zeros.npy.gz -o y.csv", limit),
                "zeros.npy.gz: is not a .npy file (bad magic)");
    check_error(run_in(dir, "embed x.csv -o y.csv --labels zeros.npy.gz", limit),
                "--labels zeros.npy.gz: is not a .npy file (bad magic)");

    // A directory given to any input option: the option, the path, and why.
    fs::create_directory(dir / "folder");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"embed folder -o y.csv", "folder: is a directory"},
        {"embed x.csv -o y.csv --init folder", "--init folder: is a directory"},
        {"embed x.csv -o y.csv --labels folder", "--labels folder: is a directory"},
        {"embed x.csv -o y.csv --labels labels.txt --label-names folder",
         "--label-names folder: is a directory"},
        {"embed -o y.csv --affinities folder", "--affinities folder: is a directory"},
        {"embed -o y.csv --neighbors folder --neighbor-distances dist.csv",
         "--neighbors folder: is a directory"},
        {"embed -o y.csv --neighbors idx.csv --neighbor-distances folder",
         "--neighbor-distances folder: is a directory"},
        {"embed x.csv -o y.csv --resume folder", "--resume folder: is a directory"},
        {"embed x.csv -o y.csv --resume missing.ckpt",
         "--resume missing.ckpt: cannot open: No such file or directory"},
        {"evaluate x.csv folder", "folder: is a directory"},
        {"transform x.csv emb.csv x.csv -o z.csv --labels folder", "--labels folder: is a directory"},
    };
    for (const auto& [line, message] : cases) {
        const auto& command = line;  // CAPTURE's lambda cannot capture a structured binding (clang)
        CAPTURE(command);
        check_error(run_in(dir, command), message);
    }
    if (fs::exists("/dev/zero"))
        check_error_with(run_in(dir, "embed x.csv -o y.csv --labels labels.txt --label-names /dev/zero"),
                         "--label-names /dev/zero: looks like a binary file");
    CHECK_FALSE(fs::exists(dir / "y.csv"));
}

TEST_CASE("cli inputs: complaints about an input's content name its file and option") {
    TempDir dir;
    write_inputs(dir);
    // A Matrix Market graph is recognised in any case of its extension (4ae5c90 read G.Mtx as a list of
    // indices, then the distances from a file of no name: "': cannot open'").
    const Run graph = run_in(dir, "embed --neighbors G.Mtx -o y.csv --init random" + quick);
    CAPTURE(graph.err);
    CHECK(graph.status == 0);
    CHECK(fs::exists(dir / "y.csv"));

    // A negative distance is in the distances file, not the indices file.
    Matrix dist = treesne::io::read_matrix(dir / "dist.csv");
    dist(4, 2) = -1;
    write_csv(dir / "dist_negative.csv", dist);
    check_error(
        run_in(dir, "embed -o z.csv --neighbors idx.csv --neighbor-distances dist_negative.csv" + quick),
        "--neighbor-distances dist_negative.csv: row 5, column 3: distance -1 is negative (distances are "
        ">= 0)");
    Matrix idx = treesne::io::read_matrix(dir / "idx.csv");
    idx(5, 3) = 999;
    write_csv(dir / "idx_bad.csv", idx);
    check_error_with(
        run_in(dir, "embed -o z.csv --neighbors idx_bad.csv --neighbor-distances dist.csv" + quick),
        "--neighbors idx_bad.csv: neighbours: row 6, column 4: 999 is not a point index");

    // A distance matrix that is not symmetric: the file says where.
    Matrix d = treesne::io::read_matrix(dir / "d.csv");
    d(3, 5) += 1;
    write_csv(dir / "d_asymmetric.csv", d);
    check_error_with(run_in(dir, "embed d_asymmetric.csv --input-kind distances -o z.csv" + quick),
                     "d_asymmetric.csv: distance matrix: not symmetric: row 6, column 4");

    // Too few points: which input has them.
    check_error(run_in(dir, "embed one.csv -o z.csv"), "one.csv: 1 point; t-SNE needs at least 2");
    check_error(run_in(dir, "evaluate one.csv one.csv"), "one.csv: 1 point; t-SNE needs at least 2");
    check_error(run_in(dir, "accuracy one.csv"), "one.csv: 1 point; t-SNE needs at least 2");
    spit(dir / "one_y.csv", "0.5,0.5\n");
    check_error(run_in(dir, "transform one.csv one_y.csv x.csv -o z.csv"),
                "one.csv: 1 point; t-SNE needs at least 2");
    // evaluate's --k against the points it has (4ae5c90: "trustworthiness needs 1 <= k < N/2; ...").
    write_csv(dir / "x15.csv", treesne::testing::clustered(3, 5, 4, 11));
    write_csv(dir / "y15.csv", treesne::testing::clustered(3, 5, 2, 12));
    check_error(run_in(dir, "evaluate x15.csv y15.csv --perplexity 3"),
                "--k 10 needs more than 20 points (trustworthiness needs k < N/2); got 15");
    // An "embedding" of 4 columns given to evaluate (4ae5c90: "sparse_kl: the embedding must have ...").
    check_error(run_in(dir, "evaluate x.csv x.csv"), "x.csv: 4 columns; an embedding has 1, 2 or 3");
    CHECK_FALSE(fs::exists(dir / "z.csv"));
}

#endif  // TREESNE_CLI_PATH
