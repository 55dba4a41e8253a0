// Readers and writers at their limits: the format decided on the first bytes (gzip bombs), devices and
// endless or overlong inputs refused with the reason, read_lines, atomic writes, output checks, the real
// Fashion-MNIST files when installed, and the inputs fuzzing found (tests/data/fuzz). test_io.cpp has the
// round trips and the per-format checks.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../tools/fuzz/format_bytes.hpp"
#include "helpers/io.hpp"
#include "test_helpers.hpp"
#include "treesne/io/checkpoint.hpp"
#include "treesne/io/io.hpp"

namespace fs = std::filesystem;
using namespace treesne;
using namespace treesne::fuzz;
using namespace treesne::testing;

namespace {

/// A gzip file whose content is `members` MiB of zero bytes: one compressed MiB repeated as concatenated
/// members (one stream to a reader), so that a large content costs a small, quickly made file.
std::string zeros_gz(const TempDir& dir, int members) {
    write_gz(dir / "member.gz", std::string(std::size_t{1} << 20, '\0'));
    const std::string member = slurp(dir / "member.gz");
    std::string out;
    for (int i = 0; i < members; ++i) out += member;
    return out;
}

constexpr std::uint64_t kKiB = 1024;

}  // namespace

TEST_CASE("io: the format is decided on the first bytes: 64 MiB of gzipped zeros are refused after 4 KiB") {
    // Whatever the name promises, the first decompressed bytes decide: a .npy must start with its magic,
    // text has no NUL bytes, IDX has a known data type, bhtsne's header a positive N. The reader stops
    // there instead of inflating the whole stream first (4ae5c90 inflated all 64 MiB: 3 GiB and 9 s for
    // the 2 MB file of issue 24).
    TempDir dir;
    const std::string bomb = zeros_gz(dir, 64);
    REQUIRE(bomb.size() < 200 * kKiB);
    using treesne::io::ReadStats;
    const struct {
        const char* name;
        const char* reason;
    } cases[] = {{"z.npy.gz", "is not a .npy file (bad magic)"},
                 {"z.csv.gz", "unknown IDX data type 0x0"},
                 {"z.gz", "unknown IDX data type 0x0"},
                 {"z.dat.gz", "bhtsne header gives N = 0, D = 0"},
                 {"z-idx3-ubyte.gz", "unknown IDX data type 0x0"}};
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const std::string path = dir / c.name;
        spit(path, bomb);
        ReadStats stats;
        const std::string message = io_error([&] { treesne::io::read_matrix(path, {}, &stats); });
        CHECK(message.rfind(path + ": ", 0) == 0);
        CHECK(contains(message, c.reason));
        CHECK(stats.content_bytes <= 4 * kKiB);
        CHECK(stats.file_bytes <= 1024 * kKiB);  // one block of compressed input
        stats = ReadStats{};
        CHECK(contains(io_error([&] { treesne::io::read_labels(path, {}, &stats); }), c.reason));
        CHECK(stats.content_bytes <= 4 * kKiB);
    }
    spit(dir / "z.mtx.gz", bomb);
    ReadStats stats;
    CHECK(contains(io_error([&] { treesne::io::read_affinities(dir / "z.mtx.gz", {}, &stats); }),
                   "z.mtx.gz: looks like a binary file (NUL byte at offset 0"));
    CHECK(stats.content_bytes <= 4 * kKiB);
}

namespace {

/// A line longer than max_line_bytes is refused naming its number, in text, affinities and gzip.
void check_line_without_end(const TempDir& dir) {
    using treesne::io::ReadLimits;
    treesne::io::ReadStats stats;
    ReadLimits limits;
    limits.max_line_bytes = 1024;
    spit(dir / "long.csv", std::string(100 * kKiB, '7'));
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "long.csv", limits, &stats); }),
                   "long.csv: line 1: no line end within 1.0 KiB"));
    spit(dir / "third.csv", "1\n2\n" + std::string(1999, '0') + "3\n4\n");
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "third.csv", limits); }),
                   "third.csv: line 3: no line end within 1.0 KiB"));
    CHECK(contains(io_error([&] { treesne::io::read_affinities(dir / "long.csv", limits); }), "long.csv"));
    write_gz(dir / "long.csv.gz", std::string(8 * 1024 * kKiB, 'x'));
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "long.csv.gz", limits, &stats); }),
                   "no line end"));
    CHECK(stats.content_bytes <= 128 * kKiB);  // stopped at the first chunk past the bound
    limits.max_line_bytes = 2000;              // a line of exactly the bound is fine
    CHECK(treesne::io::read_matrix(dir / "third.csv", limits).rows() == 4);
}

/// Bytes after the values a .npy, IDX or bhtsne header declares, and a header that promises more than
/// the memory bound, are refused, having read little.
void check_no_more_than_header(const TempDir& dir) {
    using treesne::io::ReadLimits;
    treesne::io::ReadStats stats;
    // A .npy of 1 x 1 followed by 64 MiB of zeros: refused after the promised bytes and one more.
    const std::string small = npy("<f8", "(1, 1)", le(2.0));
    spit(dir / "long.npy", small + std::string(8, '\0'));
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "long.npy"); }),
                   "long.npy: has 8 bytes after the 1 x 1 values it declares"));
    write_gz(dir / "tail.npy.gz", small + std::string(64 * 1024 * kKiB, '\0'));
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "tail.npy.gz", {}, &stats); }),
                   "tail.npy.gz: has more bytes after the 1 x 1 values it declares (" +
                       std::to_string(small.size()) + " bytes in all)"));
    CHECK(stats.content_bytes <= 128 * kKiB);
    const std::string pixels = idx(0x08, {2, 3}, "abcdef");
    write_gz(dir / "tail-idx2-ubyte.gz", pixels + std::string(1024 * kKiB, 'x'));
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "tail-idx2-ubyte.gz", {}, &stats); }),
                   "has more bytes after the 2 x 3 values it declares"));
    CHECK(stats.content_bytes <= 128 * kKiB);
    std::string dat = le<std::int32_t>(1) + le<std::int32_t>(1) + le(0.5) + le(30.0) + le(1.0);
    spit(dir / "long.dat", dat + std::string(100, '\0'));
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "long.dat"); }),
                   "long.dat: has 88 bytes after any bhtsne file of 1 x 1 values"));
    // A header that promises more than the memory bound is refused before its data are read.
    write_gz(dir / "huge.npy.gz", npy("<f8", "(1000000, 1000)", std::string(64 * kKiB, '\0')));
    ReadLimits limits;
    limits.max_bytes = 64 * 1024 * kKiB;
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "huge.npy.gz", limits, &stats); }),
                   "huge.npy.gz: reading the 1000000 x 1000 values it declares needs about 14.9 GiB of "
                   "memory; 64.0 MiB is available"));
    CHECK(stats.content_bytes <= 4 * kKiB);
}

}  // namespace

TEST_CASE("io: devices, endless text and files longer than their header are refused with the reason") {
    TempDir dir;
    using treesne::io::ReadLimits;
    using treesne::io::ReadStats;
    ReadStats stats;

    SUBCASE("devices: /dev/zero and /dev/urandom are refused on their first bytes") {
        for (const char* device : {"/dev/zero", "/dev/urandom"}) {
            CAPTURE(device);
            if (!fs::exists(device)) continue;
            const std::string message = io_error([&] { treesne::io::read_matrix(device, {}, &stats); });
            CHECK(message.rfind(std::string(device) + ": ", 0) == 0);
            CHECK(message.find('\n') == std::string::npos);
            CHECK(stats.content_bytes <= 4 * kKiB);
            CHECK(contains(io_error([&] { treesne::io::read_labels(device, {}, &stats); }), device));
            CHECK(stats.content_bytes <= 4 * kKiB);
            CHECK(contains(io_error([&] { treesne::io::read_affinities(device, {}, &stats); }), device));
            CHECK(stats.content_bytes <= 4 * kKiB);
            CHECK(contains(io_error([&] { treesne::io::read_lines(device); }), device));
        }
        if (fs::exists("/dev/zero"))
            CHECK(contains(io_error([&] { treesne::io::read_matrix("/dev/zero"); }),
                           "unknown IDX data type 0x0"));
    }
    SUBCASE("text beyond the memory bound, read from a file or a stream") {
        std::string rows;
        while (rows.size() < 2 * 1024 * kKiB) rows += "1.5,2.5\n";
        spit(dir / "big.csv", rows);
        write_gz(dir / "big.csv.gz", rows);
        ReadLimits limits;
        limits.max_bytes = 512 * kKiB;
        for (const char* name : {"big.csv", "big.csv.gz"}) {
            CAPTURE(name);
            const std::string message =
                io_error([&] { treesne::io::read_matrix(dir / name, limits, &stats); });
            CHECK(contains(message, dir / name + ": holds more than 512 KiB of text"));
            CHECK(stats.content_bytes <= limits.max_bytes + 1);
            CHECK(contains(io_error([&] { treesne::io::read_labels(dir / name, limits); }), "512 KiB"));
        }
        // Within the bound the text reads, and its values count: 2 MiB of text is 262,144 rows of 2
        // doubles (4 MiB more).
        limits.max_bytes = 4 * 1024 * kKiB;
        CHECK(
            contains(io_error([&] { treesne::io::read_matrix(dir / "big.csv", limits); }),
                     "big.csv: reading its 262144 rows of 2 values needs about 6.0 MiB of memory; 4.0 MiB"));
        limits.max_bytes = 8 * 1024 * kKiB;
        CHECK(treesne::io::read_matrix(dir / "big.csv", limits).rows() == 262144);
    }
    SUBCASE("a line without an end") {
        check_line_without_end(dir);
    }
    SUBCASE("no more than the header promises") {
        check_no_more_than_header(dir);
    }
    SUBCASE("directories and empty names") {
        const std::string here = dir.path().string();
        CHECK(io_error([&] { treesne::io::read_matrix(here); }) == here + ": is a directory");
        CHECK(io_error([&] { treesne::io::read_labels(here); }) == here + ": is a directory");
        CHECK(io_error([&] { treesne::io::read_affinities(here); }) == here + ": is a directory");
        CHECK(io_error([&] { treesne::io::read_lines(here); }) == here + ": is a directory");
        CHECK(io_error([&] { treesne::load_checkpoint(here); }) == here + ": is a directory");
        CHECK(io_error([&] { treesne::io::read_matrix(""); }) == "cannot open a file with an empty name");
        CHECK(io_error([&] { treesne::load_checkpoint(dir / "none.ckpt"); }) ==
              dir / "none.ckpt" + ": cannot open: No such file or directory");
        if (fs::exists("/dev/zero"))
            CHECK(contains(io_error([&] { treesne::load_checkpoint("/dev/zero"); }),
                           "not a treesne checkpoint"));
    }
}

TEST_CASE("io: read_lines reads text lines with the text checks") {
    TempDir dir;
    spit(dir / "names.txt",
                "\xEF\xBB\xBF"
                "cat\r\ndog\n\nbird");
    CHECK(treesne::io::read_lines(dir / "names.txt") == std::vector<std::string>{"cat", "dog", "", "bird"});
    write_gz(dir / "names.txt.gz", "a\nb\n");
    CHECK(treesne::io::read_lines(dir / "names.txt.gz") == std::vector<std::string>{"a", "b"});
    spit(dir / "bin.txt", std::string("a\0b", 3));
    CHECK(contains(io_error([&] { treesne::io::read_lines(dir / "bin.txt"); }),
                   "bin.txt: looks like a binary"));
}

TEST_CASE("io: AtomicFile never leaves a torn file or a temporary behind") {
    TempDir dir;
    const std::string target = dir / "out.csv";
    SUBCASE("destroyed without commit: no temporary, no target") {
        {
            treesne::io::AtomicFile f(target);
            f.write("partial");
            CHECK(fs::exists(f.temp_path()));
            CHECK(fs::path(f.temp_path()).parent_path() == dir.path());
        }
        CHECK(dir.files().empty());
    }
    SUBCASE("commit renames over the target") {
        spit(target, "old\n");
        treesne::io::AtomicFile f(target);
        f.write("new\n");
        CHECK(slurp(target) == "old\n");
        f.commit();
        CHECK(slurp(target) == "new\n");
        CHECK(dir.files() == std::vector<std::string>{"out.csv"});
        CHECK_THROWS_AS(f.write("more"), IoError);
    }
    SUBCASE("an existing target is unchanged when a write fails") {
        spit(dir / "out.dat", "good");
        const Matrix wide(1, 2);
        treesne::ConstMatrixView huge{wide.data(), std::int64_t{3} << 31, 0};
        CHECK(contains(io_error([&] { treesne::io::write_matrix(dir / "out.dat", huge); }), "out.dat"));
        CHECK(slurp(dir / "out.dat") == "good");
        // A commit that cannot rename (the target is a non-empty directory) fails and cleans up.
        fs::create_directories(dir.path() / "taken.csv" / "inside");
        CHECK(
            contains(io_error([&] { treesne::io::write_matrix(dir / "taken.csv", wide); }), "cannot write"));
        CHECK(fs::is_directory(dir.path() / "taken.csv" / "inside"));
        CHECK(dir.files() == std::vector<std::string>{"out.dat", "taken.csv"});
    }
    SUBCASE("a missing directory is reported at construction") {
        const std::string msg = io_error([&] { treesne::io::AtomicFile f(dir / "missing/out.csv"); });
        CHECK(contains(msg, "cannot write " + dir / "missing/out.csv" + ": No such file or directory"));
    }
}

TEST_CASE("io: check_writable and output formats") {
    TempDir dir;
    CHECK_NOTHROW(treesne::io::check_writable("-"));
    CHECK_NOTHROW(treesne::io::check_writable(dir / "ok.npy"));
    CHECK_NOTHROW(treesne::io::check_writable(dir / "picture.png", false));
    CHECK(dir.files().empty());
    CHECK(contains(io_error([&] { treesne::io::check_writable(dir / "no/such/dir/out.csv"); }),
                   "cannot write"));
    CHECK(contains(io_error([&] { treesne::io::check_writable(dir / "out.txt"); }), "'.txt'"));
    CHECK(contains(io_error([&] { treesne::io::check_writable(dir.path().string() + "/", false); }),
                   "cannot write"));
    CHECK(contains(io_error([&] { treesne::io::check_writable(dir / "noext"); }), "no extension"));
    CHECK(contains(io_error([&] { treesne::io::write_matrix(dir / "out.json", Matrix(1, 1)); }), "'.json'"));
    CHECK(dir.files().empty());
    CHECK(treesne::io::is_writable_matrix_format("-"));
    CHECK(treesne::io::is_writable_matrix_format("a/b.TSV"));
    CHECK_FALSE(treesne::io::is_writable_matrix_format("a.csv/b"));
    CHECK_FALSE(treesne::io::is_writable_matrix_format("a.gz"));
}

namespace {
const std::string kFashion = "/usr/share/datasets/fashion-mnist/";
bool fashion_missing() {
    return !fs::exists(kFashion + "t10k-images-idx3-ubyte.gz");
}
}  // namespace

TEST_CASE("io: Fashion-MNIST test set, if installed" * doctest::skip(fashion_missing())) {
    const Matrix x = treesne::io::read_matrix(kFashion + "t10k-images-idx3-ubyte.gz");
    CHECK(x.rows() == 10000);
    CHECK(x.cols() == 784);
    const auto [lo, hi] = std::minmax_element(x.storage().begin(), x.storage().end());
    CHECK(*lo == 0);
    CHECK(*hi == 255);
    const auto labels = treesne::io::read_labels(kFashion + "t10k-labels-idx1-ubyte.gz");
    CHECK(labels.codes.size() == 10000);
    CHECK(labels.names == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
}

namespace {

/// The file name that picks the reader for a fuzz target's input, and the bytes to write there, exactly as
/// tools/fuzz does (fuzz_gz.cpp: the first byte chooses the format inside the gzip stream).
std::pair<std::string, std::string> fuzz_file(const std::string& target, const std::string& bytes) {
    if (target == "gz") {
        static const char* const inner[] = {".csv.gz", ".npy.gz", "-idx3-ubyte.gz", ".dat.gz"};
        if (bytes.empty()) return {std::string("input") + inner[0], bytes};
        return {std::string("input") + inner[static_cast<unsigned char>(bytes[0]) % 4], bytes.substr(1)};
    }
    if (target == "text") return {"input.csv", bytes};
    if (target == "idx") return {"input-idx3-ubyte", bytes};
    if (target == "smtx") return {"input.mtx", bytes};  // read as a sparse feature matrix
    return {"input." + target, bytes};  // npy, dat, mtx, npz, svm
}

/// Runs fn; returns "" when it returns or throws a treesne::Error (a clean refusal), else what escaped.
std::string unexpected_exception(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const treesne::Error&) {
    } catch (const std::exception& e) {
        return std::string("a non-treesne exception escaped: ") + e.what();
    } catch (...) {
        return "an exception of unknown type escaped";
    }
    return {};
}

/// Replays one fuzz input through the readers its target exercises; what read must keep the readers'
/// promises (finite values, codes naming a label).
void replay_fuzz_input(const std::string& target, const std::string& path) {
    if (target == "npz" || target == "svm" || target == "smtx") {
        const std::string why = unexpected_exception([&] {
            const treesne::CsrMatrix m = treesne::io::read_sparse_matrix(path);
            CHECK(treesne::csr_matrix_defect(m) == "");
        });
        CHECK_MESSAGE(why.empty(), why);
        return;
    }
    if (target == "mtx") {
        const std::string why = unexpected_exception([&] {
            const SparseMatrix p = treesne::io::read_affinities(path);
            CHECK(p.offsets.size() == static_cast<std::size_t>(p.n) + 1);
            for (const double v : p.values) CHECK((std::isfinite(v) && v >= 0));
        });
        CHECK_MESSAGE(why.empty(), why);
        return;
    }
    std::string why = unexpected_exception([&] {
        const Matrix m = treesne::io::read_matrix(path);
        CHECK((m.rows() > 0 && m.cols() > 0));
        for (const double v : m.storage()) CHECK(std::isfinite(v));
    });
    CHECK_MESSAGE(why.empty(), why);
    why = unexpected_exception([&] {
        const auto labels = treesne::io::read_labels(path);
        for (const int c : labels.codes) CHECK((c >= 0 && static_cast<std::size_t>(c) < labels.names.size()));
    });
    CHECK_MESSAGE(why.empty(), why);
}

}  // namespace

// Inputs that fuzzing found troublesome (tools/run_fuzzers.sh copies them to tests/data/fuzz/TARGET), kept
// as regressions: each must read or fail with a treesne::Error. The folder must be there, and hold at least
// the inputs it held when this test was last updated, so a moved or emptied folder fails instead of
// passing with nothing replayed. tests/data/fuzz/cli holds command lines, replayed by test_cli.cpp.
TEST_CASE("io: fuzz regression inputs") {
    const fs::path root = fs::path(TREESNE_TEST_DATA_DIR) / "fuzz";
    REQUIRE_MESSAGE(fs::is_directory(root), root.string() << " is missing");
    const std::map<std::string, int> minimum = {{"text", 0}, {"npy", 0}, {"idx", 0}, {"gz", 0},  {"dat", 0},
                                                {"mtx", 1},  {"npz", 0}, {"svm", 0}, {"smtx", 0}};
    std::map<std::string, int> replayed;
    TempDir dir;
    for (const auto& folder : fs::directory_iterator(root)) {
        const std::string target = folder.path().filename().string();
        if (target == "cli") continue;
        CAPTURE(target);
        REQUIRE_MESSAGE(minimum.count(target) == 1, "no reader is known for fuzz target '" << target << "'");
        for (const auto& entry : fs::directory_iterator(folder.path())) {
            CAPTURE(entry.path().string());
            const auto [name, content] = fuzz_file(target, slurp(entry.path().string()));
            spit(dir / name, content);
            replay_fuzz_input(target, dir / name);
            ++replayed[target];
        }
    }
    for (const auto& entry : minimum) {  // not a structured binding: CHECK_MESSAGE's lambda captures it (clang)
        const auto& target = entry.first;
        const auto count = entry.second;
        CHECK_MESSAGE(replayed[target] >= count, "fuzz target '" << target << "': expected at least " << count
                                                                 << " inputs, replayed " << replayed[target]);
    }
    int total = 0;
    for (const auto& [target, count] : replayed) total += count;
    MESSAGE(total << " fuzz regression inputs replayed");
}
