// Readers and writers: round trips bit for bit, format and dialect detection, and one test per class of
// bad input with its message (file name, line and column).
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../tools/fuzz/format_bytes.hpp"
#include "test_helpers.hpp"
#include "treesne/io/checkpoint.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"

namespace fs = std::filesystem;
using treesne::IoError;
using treesne::Matrix;
using treesne::SparseMatrix;
using treesne::fuzz::be;
using treesne::fuzz::idx;
using treesne::fuzz::le;
using treesne::fuzz::npy;
using treesne::testing::contains;
using treesne::testing::slurp;
using treesne::testing::spit;
using treesne::testing::TempDir;

namespace {

void write_gz(const std::string& path, const std::string& bytes) {
    gzFile gz = gzopen(path.c_str(), "wb");
    REQUIRE(gz != nullptr);
    REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    REQUIRE(gzclose(gz) == Z_OK);
}

/// The message of the IoError that fn throws, or a marker that none was thrown.
std::string io_error(const std::function<void()>& fn) {
    return treesne::testing::message_of<IoError>(fn, "<no IoError thrown>");
}

bool bit_identical(const Matrix& a, const Matrix& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(double)) == 0;
}

Matrix tricky_matrix() {
    const double values[] = {0.1,
                             -0.0,
                             1.0 / 3.0,
                             -2.5e-300,
                             1.7976931348623157e308,
                             4.9406564584124654e-324,
                             3.141592653589793,
                             -123456789.123456789,
                             1e22,
                             7.0,
                             -1e-5,
                             2.2250738585072014e-308};
    return Matrix(4, 3, std::vector<double>(std::begin(values), std::end(values)));
}

}  // namespace

TEST_CASE("io: every writable format round-trips bit for bit") {
    TempDir dir;
    const Matrix m = tricky_matrix();
    for (const char* name : {"out.csv", "out.tsv", "out.npy", "out.dat", "OUT.CSV"}) {
        CAPTURE(name);
        treesne::io::write_matrix(dir / name, m);
        CHECK(bit_identical(treesne::io::read_matrix(dir / name), m));
    }
    CHECK(dir.files().size() == 5);  // no temporary file left behind
}

TEST_CASE("io: written files have the documented layouts") {
    TempDir dir;
    const Matrix m(2, 3, std::vector<double>{1, 2, 3, 4, 5, 6.5});
    treesne::io::write_matrix(dir / "m.csv", m);
    CHECK(slurp(dir / "m.csv") == "1,2,3\n4,5,6.5\n");
    treesne::io::write_matrix(dir / "m.tsv", m);
    CHECK(slurp(dir / "m.tsv") == "1\t2\t3\n4\t5\t6.5\n");

    treesne::io::write_matrix(dir / "m.npy", m);
    const std::string n = slurp(dir / "m.npy");
    // The header (magic to '\n') is padded to a multiple of 64 bytes: 128 here, as numpy writes it.
    REQUIRE(n.size() == 128 + 6 * 8);
    CHECK(n.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
    CHECK(n[127] == '\n');
    CHECK(contains(n.substr(0, 128), "'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)"));

    treesne::io::write_matrix(dir / "m.dat", m);
    const std::string d = slurp(dir / "m.dat");
    std::string expected = le<std::int32_t>(2) + le<std::int32_t>(3);
    for (const double v : m.storage()) expected += le(v);
    expected += le<std::int32_t>(0) + le<std::int32_t>(1) + le(0.0) + le(0.0);
    CHECK(d == expected);
    // With N = 2 the result layout has the size of a data layout; the landmarks 0, 1 tell them apart.
    CHECK(treesne::io::read_matrix(dir / "m.dat") == m);
}

TEST_CASE("io: \"-\" writes CSV to standard output") {
    TempDir dir;
    const std::string captured = dir / "stdout.txt";
    std::fflush(stdout);
    const int saved = ::dup(1);
    std::FILE* f = std::fopen(captured.c_str(), "wb");
    REQUIRE(f != nullptr);
    ::dup2(::fileno(f), 1);
    treesne::io::write_matrix("-", Matrix(2, 2, std::vector<double>{1, 0.1, -3, 4}));
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    std::fclose(f);
    CHECK(slurp(captured) == "1,0.10000000000000001\n-3,4\n");
}

namespace {

/// A non-finite value and its name in the writers' messages.
struct NonFinite {
    double value;
    const char* shown;
};

const NonFinite kNonFinite[] = {
    {std::nan(""), "nan"}, {-std::nan(""), "nan"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}};

/// The message every writer gives for a non-finite value at (row, column), both 1-based.
std::string non_finite_message(const std::string& file, const char* shown, int row, int column) {
    return file + ": refusing to write a non-finite value (" + shown + ") at row " + std::to_string(row) +
           ", column " + std::to_string(column);
}

}  // namespace

TEST_CASE("io: matrix writers refuse non-finite values before creating any file") {
    TempDir dir;
    for (const NonFinite& bad : kNonFinite) {
        CAPTURE(bad.shown);
        Matrix m(3, 2, 1.0);
        m(2, 1) = bad.value;  // row 3, column 2
        for (const char* name : {"out.csv", "out.tsv", "out.npy", "out.dat", "OUT.CSV"}) {
            CAPTURE(name);
            CHECK(io_error([&] { treesne::io::write_matrix(dir / name, m); }) ==
                  non_finite_message(dir / name, bad.shown, 3, 2));
            CHECK_FALSE(fs::exists(dir / name));
            CHECK(dir.files().empty());  // no temporary file either
        }
    }
    // The first bad value is named; an existing target is left as it was.
    spit(dir / "old.npy", "old");
    const Matrix first(2, 2, std::vector<double>{INFINITY, 0, 0, std::nan("")});
    CHECK(io_error([&] { treesne::io::write_matrix(dir / "old.npy", first); }) ==
          non_finite_message(dir / "old.npy", "inf", 1, 1));
    CHECK(slurp(dir / "old.npy") == "old");
    CHECK(dir.files() == std::vector<std::string>{"old.npy"});
}

TEST_CASE("io: \"-\" refuses non-finite values before writing anything") {
    TempDir dir;
    const std::string captured = dir / "stdout.txt";
    for (const NonFinite& bad : kNonFinite) {
        CAPTURE(bad.shown);
        const Matrix m(2, 3, std::vector<double>{1, 2, 3, 4, bad.value, 6});
        std::fflush(stdout);
        const int saved = ::dup(1);
        std::FILE* f = std::fopen(captured.c_str(), "wb");
        REQUIRE(f != nullptr);
        ::dup2(::fileno(f), 1);
        const std::string msg = io_error([&] { treesne::io::write_matrix("-", m); });
        std::fflush(stdout);
        ::dup2(saved, 1);
        ::close(saved);
        std::fclose(f);
        CHECK(msg == non_finite_message("standard output", bad.shown, 2, 2));
        CHECK(slurp(captured).empty());
    }
}

TEST_CASE("io: write_affinities refuses non-finite values before creating any file") {
    TempDir dir;
    for (const NonFinite& bad : kNonFinite) {
        CAPTURE(bad.shown);
        SparseMatrix p;
        p.n = 3;
        p.offsets = {0, 2, 3, 5};
        p.columns = {1, 2, 0, 0, 1};
        p.values = {0.1f, 0.2f, 0.3f, 0.25f, static_cast<float>(bad.value)};  // row 3, column 2
        CHECK(io_error([&] { treesne::io::write_affinities(dir / "p.mtx", p); }) ==
              non_finite_message(dir / "p.mtx", bad.shown, 3, 2));
        CHECK_FALSE(fs::exists(dir / "p.mtx"));
        CHECK(dir.files().empty());
    }
}

TEST_CASE("io: delimiters, headers, comments and line endings are detected") {
    TempDir dir;
    const Matrix expected(2, 3, std::vector<double>{1, 2, 3, 4.5, -0.5, 300});
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"comma", "1,2,3\n4.5,-.5,3e2\n"},
        {"tab", "1\t2\t3\n4.5\t-.5\t3e2\n"},
        {"semicolon", "1;2;3\n4.5;-.5;3e2\n"},
        {"whitespace runs", "  1   2\t 3 \n4.5 \t-.5   +3e2\n"},
        {"header", "x,y,z\n1,2,3\n4.5,-.5,3e2\n"},
        {"header with spaces in names", "sepal length,sepal width,z\n1,2,3\n4.5,-.5,3e2\n"},
        {"comments and blank lines",
         "# produced by a test\n\n# x y z\n1,2,3\n\n   \n# middle\n4.5,-.5,3e2\n\n"},
        {"CRLF", "a;b;c\r\n1;2;3\r\n4.5;-.5;3e2\r\n"},
        {"byte-order mark",
         "\xEF\xBB\xBF"
         "1,2,3\n4.5,-.5,+300\n"},
        {"no final newline", "1,2,3\n4.5,-.5,3e2"},
        {"spaces around cells", "1 , 2 , 3\n 4.5,\t-.5 ,3e2 \n"},
        {"quoted cells", "\"x\",\"y\",\"z\"\n\"1\",2,3\n4.5,-.5,\"3e2\"\n"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.first);
        spit(dir / "in.txt", c.second);
        const Matrix m = treesne::io::read_matrix(dir / "in.txt");
        CHECK(m == expected);
    }
    // One column, no delimiter at all.
    spit(dir / "col.csv", "value\n1\n2\n");
    CHECK(treesne::io::read_matrix(dir / "col.csv") == Matrix(2, 1, std::vector<double>{1, 2}));
    // Underflow reads as zero or a subnormal, as strtod does; not an error.
    spit(dir / "tiny.csv", "1e-400,5e-324\n");
    const Matrix tiny = treesne::io::read_matrix(dir / "tiny.csv");
    CHECK(tiny(0, 0) == 0.0);
    CHECK(tiny(0, 1) == 4.9406564584124654e-324);
}

TEST_CASE("io: bad text input is refused with file, line and column") {
    TempDir dir;
    const std::string path = dir / "data.csv";
    const auto message_for = [&](const std::string& text) {
        spit(path, text);
        return io_error([&] { treesne::io::read_matrix(path); });
    };
    SUBCASE("empty and header-only files") {
        for (const char* text : {"", "\n\n", "# only a comment\n", "x,y\n", "x,y\n# nothing\n\n"}) {
            CAPTURE(text);
            const std::string msg = message_for(text);
            CHECK(contains(msg, "data.csv"));
            CHECK(contains(msg, "no data rows"));
        }
    }
    SUBCASE("non-numeric cell") {
        const std::string msg = message_for("x,y\n1,2\n3,abc\n");
        CHECK(contains(msg, "data.csv: line 3, column 2: 'abc' is not a number"));
    }
    SUBCASE("a first row with numbers and text is data with a bad cell, not a header") {
        CHECK(contains(message_for("1,NA,3\n4,5,6\n"), "data.csv: line 1, column 2: 'NA' is not a number"));
        CHECK(contains(message_for("# c\nx,y,2019\n4,5,6\n"),
                       "data.csv: line 2, column 1: 'x' is not a number"));
    }
    SUBCASE("ragged rows") {
        std::string msg = message_for("1,2,3\n4,5,6\n7,8\n");
        CHECK(contains(msg, "data.csv: line 3"));
        CHECK(contains(msg, "expected 3 columns"));
        CHECK(contains(msg, "got 2"));
        msg = message_for("1 2\n# c\n3 4 5\n");
        CHECK(contains(msg, "line 3"));
        CHECK(contains(msg, "got 3"));
    }
    SUBCASE("NaN, Inf and overflow") {
        CHECK(contains(message_for("1,2\n3,nan\n"), "line 2, column 2: 'nan' is not a finite number"));
        CHECK(contains(message_for("1,2\n-inf,4\n"), "line 2, column 1: '-inf' is not a finite number"));
        CHECK(contains(message_for("1,2\n3,NaN\n"), "line 2, column 2"));
        CHECK(contains(message_for("1,2\n3,1e999\n"), "line 2, column 2: '1e999' is too large"));
    }
    SUBCASE("empty cell") {
        CHECK(contains(message_for("1,2,3\n4,,6\n"), "line 2, column 2: empty cell"));
    }
    SUBCASE("malformed numbers") {
        for (const char* cell : {"1e", "0x10", "1.2.3", "++1", "+-1", "1,5x", "--2", "."}) {
            CAPTURE(cell);
            const std::string msg = message_for(std::string("1;2\n3;") + cell + "\n");
            CHECK(contains(msg, "line 2, column 2"));
            CHECK(contains(msg, "is not a number"));
        }
    }
    SUBCASE("binary garbage") {
        CHECK(contains(message_for(std::string("1,2\n3,\0\x01\n", 8)), "looks like a binary file"));
        const std::string msg = message_for("1,2\n3,4\n\xff\xfe,5\n");
        CHECK(contains(msg, "data.csv"));
        CHECK(contains(msg, "looks like a binary file"));
        CHECK(contains(msg, "line 3"));
        CHECK(contains(message_for("1,2\n\xC0\x80,4\n"), "binary"));  // overlong NUL
    }
    SUBCASE("control characters are escaped so the message is one line") {
        const std::string msg = message_for("1,2\n3,a\rb\n");
        CHECK(contains(msg, "'a\\x0Db'"));
        CHECK(msg.find('\n') == std::string::npos);
    }
    SUBCASE("missing file and directories") {
        CHECK(
            contains(io_error([&] { treesne::io::read_matrix(dir / "nope.csv"); }), "nope.csv: cannot open"));
        CHECK(contains(io_error([&] { treesne::io::read_matrix(dir.path().string()); }), "is a directory"));
    }
}

TEST_CASE("io: .npy of every supported dtype") {
    TempDir dir;
    const std::string path = dir / "a.npy";
    const auto read = [&](const std::string& bytes) {
        spit(path, bytes);
        return treesne::io::read_matrix(path);
    };
    const Matrix expected(2, 2, std::vector<double>{1, 2, 3, 100});
    const auto check_type = [&](const char* descr, auto type_tag) {
        using T = decltype(type_tag);
        std::string data;
        for (const double v : expected.storage()) data += le(static_cast<T>(v));
        CAPTURE(descr);
        CHECK(read(npy(descr, "(2, 2)", data)) == expected);
    };
    check_type("<f4", float{});
    check_type("<f8", double{});
    check_type("|u1", std::uint8_t{});
    check_type("|i1", std::int8_t{});
    check_type("<i2", std::int16_t{});
    check_type("<u2", std::uint16_t{});
    check_type("<i4", std::int32_t{});
    check_type("<u4", std::uint32_t{});
    check_type("<i8", std::int64_t{});
    check_type("<u8", std::uint64_t{});
    check_type("=f8", double{});
    check_type("<u1", std::uint8_t{});

    // Negative integers, 1-D shape, versions 2.0 and 3.0, a Python 2 long.
    CHECK(read(npy("<i2", "(3,)", le<std::int16_t>(-7) + le<std::int16_t>(0) + le<std::int16_t>(32767))) ==
          Matrix(3, 1, std::vector<double>{-7, 0, 32767}));
    CHECK(read(npy("|i1", "(2,)", "\xff\x80")) == Matrix(2, 1, std::vector<double>{-1, -128}));
    CHECK(read(npy("<f8", "(1, 1)", le(2.5), 2)) == Matrix(1, 1, std::vector<double>{2.5}));
    CHECK(read(npy("<f8", "(1, 1)", le(2.5), 3)) == Matrix(1, 1, std::vector<double>{2.5}));
    CHECK(read(npy("<f8", "(1L, 1L)", le(2.5))) == Matrix(1, 1, std::vector<double>{2.5}));
}

TEST_CASE("io: bad .npy files are refused clearly") {
    TempDir dir;
    const std::string path = dir / "a.npy";
    const auto message_for = [&](const std::string& bytes) {
        spit(path, bytes);
        return io_error([&] { treesne::io::read_matrix(path); });
    };
    const std::string two = le(1.0) + le(2.0);
    CHECK(contains(message_for(npy(">f8", "(2,)", two)), "big-endian"));
    CHECK(contains(message_for(npy("<f8", "(2,)", two, 1, "True")), "Fortran"));
    CHECK(contains(message_for(npy("|O", "(2,)", two)), "object"));
    CHECK(contains(message_for(npy("<c16", "(1,)", two)), "unsupported .npy dtype '<c16'"));
    CHECK(contains(message_for(npy("|f8", "(2,)", two)), "invalid .npy dtype"));
    CHECK(contains(message_for(npy("<f8", "(1, 1, 2)", two)), "3-D array is not supported"));
    CHECK(contains(message_for(npy("<f8", "()", le(1.0))), "0-D array is not supported"));
    CHECK(contains(message_for(npy("<f8", "(3,)", two)), "truncated"));
    CHECK(contains(message_for(npy("<f8", "(1,)", two)), "bytes after"));
    CHECK(contains(message_for(npy("<f8", "(0, 2)", "")), "no data rows"));
    CHECK(contains(message_for(npy("<f8", "(4294967296, 4294967296)", two)), "a.npy"));
    CHECK(contains(message_for("\x93NUMPY\x01"), "a.npy"));
    CHECK(contains(message_for("PK\x03\x04 zip"), "bad magic"));
    CHECK(contains(message_for(npy("<f8", "(1, 2)", le(1.0) + le(std::nan("")))), "row 1, column 2 is NaN"));
    CHECK(
        contains(message_for(npy("<f4", "(2, 1)", le(1.0f) + le(-INFINITY))), "row 2, column 1 is infinite"));
    std::string bad_header = npy("<f8", "(2,)", two);
    bad_header[12] = '[';  // "{'descr'" -> "{'d[scr'": the key is then unknown
    CHECK(contains(message_for(bad_header), "invalid .npy header"));
    std::string bad_version = npy("<f8", "(2,)", two);
    bad_version[6] = 9;
    CHECK(contains(message_for(bad_version), "version 9.0"));
}

TEST_CASE("io: IDX images and labels, plain and gzipped") {
    TempDir dir;
    std::string pixels;
    for (int i = 0; i < 12; ++i) pixels += static_cast<char>(i * 20);
    const std::string images = idx(0x08, {2, 2, 3}, pixels);
    const std::string labels = idx(0x08, {2}, std::string("\x07\x02", 2));

    spit(dir / "train-images-idx3-ubyte", images);
    write_gz(dir / "train-images-idx3-ubyte.gz", images);
    spit(dir / "train-labels-idx1-ubyte", labels);
    write_gz(dir / "train-labels-idx1-ubyte.gz", labels);
    spit(dir / "images.bin", images);  // recognised by its magic alone

    for (const char* name : {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz", "images.bin"}) {
        CAPTURE(name);
        const Matrix m = treesne::io::read_matrix(dir / name);
        REQUIRE(m.rows() == 2);
        REQUIRE(m.cols() == 6);
        for (int i = 0; i < 12; ++i) CHECK(m.storage()[static_cast<std::size_t>(i)] == i * 20);
    }
    for (const char* name : {"train-labels-idx1-ubyte", "train-labels-idx1-ubyte.gz"}) {
        const auto l = treesne::io::read_labels(dir / name);
        CHECK(l.codes == std::vector<int>{1, 0});
        CHECK(l.names == std::vector<std::string>{"2", "7"});
    }

    // The other element types, big-endian.
    const auto read = [&](const std::string& bytes) {
        spit(dir / "x-idx2", bytes);
        return treesne::io::read_matrix(dir / "x-idx2");
    };
    const Matrix expected(1, 2, std::vector<double>{-3, 1000});
    CHECK(read(idx(0x09, {1, 2}, std::string("\xfd\x7f", 2))) == Matrix(1, 2, std::vector<double>{-3, 127}));
    CHECK(read(idx(0x0B, {1, 2}, be<std::int16_t>(-3) + be<std::int16_t>(1000))) == expected);
    CHECK(read(idx(0x0C, {1, 2}, be<std::int32_t>(-3) + be<std::int32_t>(1000))) == expected);
    CHECK(read(idx(0x0D, {1, 2}, be<float>(-3) + be<float>(1000))) == expected);
    CHECK(read(idx(0x0E, {2}, be<double>(-3) + be<double>(1000))) ==
          Matrix(2, 1, std::vector<double>{-3, 1000}));

    const auto message_for = [&](const std::string& bytes) {
        spit(dir / "bad-idx3-ubyte", bytes);
        return io_error([&] { treesne::io::read_matrix(dir / "bad-idx3-ubyte"); });
    };
    CHECK(contains(message_for(idx(0x08, {2, 2, 3}, pixels.substr(0, 11))), "truncated"));
    CHECK(contains(message_for(idx(0x08, {2, 2, 3}, pixels + "x")), "bytes after"));
    CHECK(contains(message_for(idx(0x07, {2}, "ab")), "unknown IDX data type 0x7"));
    CHECK(contains(message_for(std::string("\0\0\x08\x03\0\0", 6)), "truncated IDX header"));
    CHECK(contains(message_for(idx(0x0E, {1, 1}, be(std::nan("")))), "row 1, column 1 is NaN"));
    CHECK(contains(message_for(idx(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, "")),
                   "bad-idx3-ubyte"));
    CHECK(contains(message_for(idx(0x08, {0, 28, 28}, "")), "no data rows"));
    CHECK(contains(message_for("abcdef"), "not an IDX file"));
}

TEST_CASE("io: gzip of any format, and broken gzip") {
    TempDir dir;
    write_gz(dir / "m.csv.gz", "1,2\n3,4\n");
    CHECK(treesne::io::read_matrix(dir / "m.csv.gz") == Matrix(2, 2, std::vector<double>{1, 2, 3, 4}));
    write_gz(dir / "m.npy.gz", npy("<f8", "(1,)", le(9.0)));
    CHECK(treesne::io::read_matrix(dir / "m.npy.gz") == Matrix(1, 1, std::vector<double>{9}));
    write_gz(dir / "hidden.csv", "5 6\n");  // gzip magic without the suffix
    CHECK(treesne::io::read_matrix(dir / "hidden.csv") == Matrix(1, 2, std::vector<double>{5, 6}));

    // Two gzip members concatenated are one stream (as `cat a.gz b.gz` makes).
    write_gz(dir / "a.gz", "1,2\n");
    write_gz(dir / "b.gz", "3,4\n");
    spit(dir / "ab.csv.gz", slurp(dir / "a.gz") + slurp(dir / "b.gz"));
    CHECK(treesne::io::read_matrix(dir / "ab.csv.gz") == Matrix(2, 2, std::vector<double>{1, 2, 3, 4}));

    std::string body;
    for (int i = 0; i < 2000; ++i) body += std::to_string(i) + "," + std::to_string(i * 7 % 13) + "\n";
    write_gz(dir / "big.csv.gz", body);
    const std::string gz = slurp(dir / "big.csv.gz");

    spit(dir / "truncated.csv.gz", gz.substr(0, gz.size() / 2));
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "truncated.csv.gz"); }),
                   "truncated.csv.gz: truncated gzip"));
    std::string corrupt = gz;
    for (std::size_t i = 20; i < 60; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
    spit(dir / "corrupt.csv.gz", corrupt);
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "corrupt.csv.gz"); }), "corrupt.csv.gz"));
    spit(dir / "trailing.csv.gz", gz + "garbage");
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "trailing.csv.gz"); }), "after the end"));
    spit(dir / "plain.csv.gz", "1,2\n");
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "plain.csv.gz"); }), "not gzip-compressed"));
    write_gz(dir / "twice.csv.gz", gz);
    CHECK(contains(io_error([&] { treesne::io::read_matrix(dir / "twice.csv.gz"); }), "compressed twice"));
}

TEST_CASE("io: bhtsne data.dat, both header layouts") {
    TempDir dir;
    const std::string path = dir / "data.dat";
    std::string values;
    for (const double v : {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}) values += le(v);
    const std::string old_head = le<std::int32_t>(3) + le<std::int32_t>(2) + le(0.5) + le(30.0);
    const std::string new_head = old_head + le<std::int32_t>(2) + le<std::int32_t>(1000);
    const Matrix expected(3, 2, std::vector<double>{1, 2, 3, 4, 5, 6});
    for (const std::string& file : {old_head + values, old_head + values + le<std::int32_t>(42),
                                    new_head + values, new_head + values + le<std::int32_t>(42)}) {
        spit(path, file);
        CHECK(treesne::io::read_matrix(path) == expected);
    }
    const auto message_for = [&](const std::string& bytes) {
        spit(path, bytes);
        return io_error([&] { treesne::io::read_matrix(path); });
    };
    CHECK(contains(message_for(old_head + values.substr(0, 40)), "does not fit a bhtsne data file of 3 x 2"));
    CHECK(contains(message_for("short"), "too short"));
    CHECK(contains(message_for(le<std::int32_t>(-1) + le<std::int32_t>(2) + le(0.5) + le(30.0)), "positive"));
    std::string with_inf = values;
    std::memcpy(with_inf.data() + 3 * 8, le(static_cast<double>(INFINITY)).data(), 8);
    CHECK(contains(message_for(old_head + with_inf), "row 2, column 2 is infinite"));
}

TEST_CASE("io: labels from text, .npy and IDX") {
    TempDir dir;
    const std::string path = dir / "labels.txt";
    SUBCASE("numbers: codes follow numeric order, names keep the text") {
        spit(path, "10\n2\r\n2\n-1\n10\n\n\n");
        const auto l = treesne::io::read_labels(path);
        CHECK(l.codes == std::vector<int>{2, 1, 1, 0, 2});
        CHECK(l.names == std::vector<std::string>{"-1", "2", "10"});
    }
    SUBCASE("strings: codes in order of first appearance") {
        spit(path, "cat\ndog\n cat \nbird\n10\n");
        const auto l = treesne::io::read_labels(path);
        CHECK(l.codes == std::vector<int>{0, 1, 0, 2, 3});
        CHECK(l.names == std::vector<std::string>{"cat", "dog", "bird", "10"});
    }
    SUBCASE("empty lines only at the end") {
        spit(path, "a\n\nb\n");
        const std::string msg = io_error([&] { treesne::io::read_labels(path); });
        CHECK(contains(msg, "labels.txt: line 2: empty label"));
        spit(path, "\n\n");
        CHECK(contains(io_error([&] { treesne::io::read_labels(path); }), "no labels"));
        spit(path, std::string("a\n\x01\x02\0\n", 6));
        CHECK(contains(io_error([&] { treesne::io::read_labels(path); }), "binary"));
    }
    SUBCASE(".npy integers and integral floats") {
        spit(dir / "l.npy",
                    npy("<i8", "(3,)", le<std::int64_t>(5) + le<std::int64_t>(-2) + le<std::int64_t>(5)));
        auto l = treesne::io::read_labels(dir / "l.npy");
        CHECK(l.codes == std::vector<int>{1, 0, 1});
        CHECK(l.names == std::vector<std::string>{"-2", "5"});
        spit(dir / "f.npy", npy("<f8", "(2, 1)", le(1.0) + le(0.0)));
        l = treesne::io::read_labels(dir / "f.npy");
        CHECK(l.codes == std::vector<int>{1, 0});
        spit(dir / "g.npy", npy("<f8", "(2,)", le(1.0) + le(0.5)));
        CHECK(contains(io_error([&] { treesne::io::read_labels(dir / "g.npy"); }),
                       "row 2: label 0.5 is not an integer"));
        spit(dir / "h.npy", npy("<f8", "(1, 2)", le(1.0) + le(0.5)));
        CHECK(contains(io_error([&] { treesne::io::read_labels(dir / "h.npy"); }), "one column"));
    }
}

TEST_CASE("io: Matrix Market affinities round-trip and are validated") {
    TempDir dir;
    SparseMatrix p;
    p.n = 3;
    p.offsets = {0, 2, 3, 5};
    p.columns = {1, 2, 0, 0, 1};
    p.values = {0.1f, 1.0f / 3.0f, 0.2f, 5e-44f, 0.25f};  // 5e-44: a subnormal float
    treesne::io::write_affinities(dir / "p.mtx", p);
    const std::string text = slurp(dir / "p.mtx");
    CHECK(text.rfind("%%MatrixMarket matrix coordinate real general\n%", 0) == 0);
    CHECK(contains(text, "\n3 3 5\n1 2 0.100000001\n"));  // P is float: 9 digits read back the same
    const SparseMatrix q = treesne::io::read_affinities(dir / "p.mtx");
    CHECK(q.n == p.n);
    CHECK(q.offsets == p.offsets);
    CHECK(q.columns == p.columns);
    CHECK(std::memcmp(q.values.data(), p.values.data(), p.values.size() * sizeof(float)) == 0);

    // Entries in any order come back sorted by row, then column.
    spit(dir / "u.mtx",
                "%%MatrixMarket matrix coordinate real general\n% c\n\n3 3 3\n3 2 0.5\r\n1 3 1\n3 1 2\n");
    const SparseMatrix u = treesne::io::read_affinities(dir / "u.mtx");
    CHECK(u.offsets == std::vector<treesne::index_t>{0, 1, 1, 3});
    CHECK(u.columns == std::vector<treesne::point_t>{2, 0, 1});
    CHECK(u.values == std::vector<float>{1, 2, 0.5});

    const auto message_for = [&](const std::string& body) {
        spit(dir / "bad.mtx", body);
        return io_error([&] { treesne::io::read_affinities(dir / "bad.mtx"); });
    };
    const std::string head = "%%MatrixMarket matrix coordinate real general\n";
    CHECK(contains(message_for("%%MatrixMarket matrix array real general\n2 2\n"),
                   "bad.mtx: line 1: expected"));
    CHECK(contains(message_for(head + "2 3 1\n1 2 0.5\n"), "must be square"));
    CHECK(contains(message_for(head + "2 2 2\n1 2 0.5\n"), "expected 2 entries"));
    CHECK(contains(message_for(head + "2 2 1\n1 2 0.5\n2 1 0.5\n"),
                   "line 4: more entries than the 1 declared"));
    CHECK(contains(message_for(head + "2 2 1\n1 3 0.5\n"), "line 3, column 2: '3' is not an index in 1..2"));
    CHECK(contains(message_for(head + "2 2 1\n0 1 0.5\n"), "line 3, column 1"));
    CHECK(contains(message_for(head + "2 2 1\n1 2 nan\n"), "line 3, column 3: 'nan' is not a finite number"));
    CHECK(contains(message_for(head + "2 2 1\n1 2 -0.5\n"), "negative"));
    CHECK(contains(message_for(head + "2 2 1\n1 2 1e39\n"),
                   "line 3, column 3: affinity '1e39' is beyond single"));
    CHECK(contains(message_for(head + "2 2 1\n1 2\n"), "line 3: expected 'row column value'"));
    CHECK(contains(message_for(head + "2 2 2\n1 2 0.5\n1 2 0.5\n"), "duplicate entry (1, 2)"));
    CHECK(contains(message_for(head + "2 2 999999\n1 2 0.5\n"), "more than the file can hold"));
    CHECK(contains(message_for(head + "4000000000 4000000000 1\n1 2 0.5\n"), "some points would have no"));
    CHECK(contains(message_for(head), "no size line"));
}

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

/// The message of the IoError of `read` (given the limits and stats to use).
template <class Read>
std::string refusal(Read&& read) {
    try {
        read();
    } catch (const IoError& e) {
        return e.what();
    }
    return "<no IoError thrown>";
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
        const std::string message = refusal([&] { treesne::io::read_matrix(path, {}, &stats); });
        CHECK(message.rfind(path + ": ", 0) == 0);
        CHECK(contains(message, c.reason));
        CHECK(stats.content_bytes <= 4 * kKiB);
        CHECK(stats.file_bytes <= 1024 * kKiB);  // one block of compressed input
        stats = ReadStats{};
        CHECK(contains(refusal([&] { treesne::io::read_labels(path, {}, &stats); }), c.reason));
        CHECK(stats.content_bytes <= 4 * kKiB);
    }
    spit(dir / "z.mtx.gz", bomb);
    ReadStats stats;
    CHECK(contains(refusal([&] { treesne::io::read_affinities(dir / "z.mtx.gz", {}, &stats); }),
                   "z.mtx.gz: looks like a binary file (NUL byte at offset 0"));
    CHECK(stats.content_bytes <= 4 * kKiB);
}

TEST_CASE("io: devices, endless text and files longer than their header are refused with the reason") {
    TempDir dir;
    using treesne::io::ReadLimits;
    using treesne::io::ReadStats;
    ReadStats stats;

    SUBCASE("devices: /dev/zero and /dev/urandom are refused on their first bytes") {
        for (const char* device : {"/dev/zero", "/dev/urandom"}) {
            CAPTURE(device);
            if (!fs::exists(device)) continue;
            const std::string message = refusal([&] { treesne::io::read_matrix(device, {}, &stats); });
            CHECK(message.rfind(std::string(device) + ": ", 0) == 0);
            CHECK(message.find('\n') == std::string::npos);
            CHECK(stats.content_bytes <= 4 * kKiB);
            CHECK(contains(refusal([&] { treesne::io::read_labels(device, {}, &stats); }), device));
            CHECK(stats.content_bytes <= 4 * kKiB);
            CHECK(contains(refusal([&] { treesne::io::read_affinities(device, {}, &stats); }), device));
            CHECK(stats.content_bytes <= 4 * kKiB);
            CHECK(contains(refusal([&] { treesne::io::read_lines(device); }), device));
        }
        if (fs::exists("/dev/zero"))
            CHECK(contains(refusal([&] { treesne::io::read_matrix("/dev/zero"); }),
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
                refusal([&] { treesne::io::read_matrix(dir / name, limits, &stats); });
            CHECK(contains(message, dir / name + ": holds more than 512 KiB of text"));
            CHECK(stats.content_bytes <= limits.max_bytes + 1);
            CHECK(contains(refusal([&] { treesne::io::read_labels(dir / name, limits); }), "512 KiB"));
        }
        // Within the bound the text reads, and its values count: 2 MiB of text is 262,144 rows of 2
        // doubles (4 MiB more).
        limits.max_bytes = 4 * 1024 * kKiB;
        CHECK(
            contains(refusal([&] { treesne::io::read_matrix(dir / "big.csv", limits); }),
                     "big.csv: reading its 262144 rows of 2 values needs about 6.0 MiB of memory; 4.0 MiB"));
        limits.max_bytes = 8 * 1024 * kKiB;
        CHECK(treesne::io::read_matrix(dir / "big.csv", limits).rows() == 262144);
    }
    SUBCASE("a line without an end") {
        ReadLimits limits;
        limits.max_line_bytes = 1024;
        spit(dir / "long.csv", std::string(100 * kKiB, '7'));
        CHECK(contains(refusal([&] { treesne::io::read_matrix(dir / "long.csv", limits, &stats); }),
                       "long.csv: line 1: no line end within 1.0 KiB"));
        spit(dir / "third.csv", "1\n2\n" + std::string(1999, '0') + "3\n4\n");
        CHECK(contains(refusal([&] { treesne::io::read_matrix(dir / "third.csv", limits); }),
                       "third.csv: line 3: no line end within 1.0 KiB"));
        CHECK(contains(refusal([&] { treesne::io::read_affinities(dir / "long.csv", limits); }), "long.csv"));
        write_gz(dir / "long.csv.gz", std::string(8 * 1024 * kKiB, 'x'));
        CHECK(contains(refusal([&] { treesne::io::read_matrix(dir / "long.csv.gz", limits, &stats); }),
                       "no line end"));
        CHECK(stats.content_bytes <= 128 * kKiB);  // stopped at the first chunk past the bound
        limits.max_line_bytes = 2000;              // a line of exactly the bound is fine
        CHECK(treesne::io::read_matrix(dir / "third.csv", limits).rows() == 4);
    }
    SUBCASE("no more than the header promises") {
        // A .npy of 1 x 1 followed by 64 MiB of zeros: refused after the promised bytes and one more.
        const std::string small = npy("<f8", "(1, 1)", le(2.0));
        spit(dir / "long.npy", small + std::string(8, '\0'));
        CHECK(contains(refusal([&] { treesne::io::read_matrix(dir / "long.npy"); }),
                       "long.npy: has 8 bytes after the 1 x 1 values it declares"));
        write_gz(dir / "tail.npy.gz", small + std::string(64 * 1024 * kKiB, '\0'));
        CHECK(contains(refusal([&] { treesne::io::read_matrix(dir / "tail.npy.gz", {}, &stats); }),
                       "tail.npy.gz: has more bytes after the 1 x 1 values it declares (" +
                           std::to_string(small.size()) + " bytes in all)"));
        CHECK(stats.content_bytes <= 128 * kKiB);
        const std::string pixels = idx(0x08, {2, 3}, "abcdef");
        write_gz(dir / "tail-idx2-ubyte.gz", pixels + std::string(1024 * kKiB, 'x'));
        CHECK(contains(refusal([&] { treesne::io::read_matrix(dir / "tail-idx2-ubyte.gz", {}, &stats); }),
                       "has more bytes after the 2 x 3 values it declares"));
        CHECK(stats.content_bytes <= 128 * kKiB);
        std::string dat = le<std::int32_t>(1) + le<std::int32_t>(1) + le(0.5) + le(30.0) + le(1.0);
        spit(dir / "long.dat", dat + std::string(100, '\0'));
        CHECK(contains(refusal([&] { treesne::io::read_matrix(dir / "long.dat"); }),
                       "long.dat: has 88 bytes after any bhtsne file of 1 x 1 values"));
        // A header that promises more than the memory bound is refused before its data are read.
        write_gz(dir / "huge.npy.gz", npy("<f8", "(1000000, 1000)", std::string(64 * kKiB, '\0')));
        ReadLimits limits;
        limits.max_bytes = 64 * 1024 * kKiB;
        CHECK(contains(refusal([&] { treesne::io::read_matrix(dir / "huge.npy.gz", limits, &stats); }),
                       "huge.npy.gz: reading the 1000000 x 1000 values it declares needs about 14.9 GiB of "
                       "memory; 64.0 MiB is available"));
        CHECK(stats.content_bytes <= 4 * kKiB);
    }
    SUBCASE("directories and empty names") {
        const std::string here = dir.path().string();
        CHECK(refusal([&] { treesne::io::read_matrix(here); }) == here + ": is a directory");
        CHECK(refusal([&] { treesne::io::read_labels(here); }) == here + ": is a directory");
        CHECK(refusal([&] { treesne::io::read_affinities(here); }) == here + ": is a directory");
        CHECK(refusal([&] { treesne::io::read_lines(here); }) == here + ": is a directory");
        CHECK(refusal([&] { treesne::load_checkpoint(here); }) == here + ": is a directory");
        CHECK(refusal([&] { treesne::io::read_matrix(""); }) == "cannot open a file with an empty name");
        CHECK(refusal([&] { treesne::load_checkpoint(dir / "none.ckpt"); }) ==
              dir / "none.ckpt" + ": cannot open: No such file or directory");
        if (fs::exists("/dev/zero"))
            CHECK(contains(refusal([&] { treesne::load_checkpoint("/dev/zero"); }),
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
    return {"input." + target, bytes};  // npy, dat, mtx
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
    const std::map<std::string, int> minimum = {{"text", 0}, {"npy", 0}, {"idx", 0},
                                                {"gz", 0},   {"dat", 0}, {"mtx", 1}};
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
