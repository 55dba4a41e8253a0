// Readers and writers: round trips bit for bit, format and dialect detection, and one test per class of
// bad input with its message (file name, line and column).
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "../tools/fuzz/format_bytes.hpp"
#include "helpers/io.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"

namespace fs = std::filesystem;
using treesne::Matrix;
using treesne::SparseMatrix;
using namespace treesne::fuzz;
using namespace treesne::testing;

namespace {

// The IoError message from reading `contents`, written to `path` first, as a matrix.
std::string matrix_error(const std::string& path, const std::string& contents) {
    spit(path, contents);
    return io_error([&] { treesne::io::read_matrix(path); });
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
    const auto message_for = [&](const std::string& text) { return matrix_error(path, text); };
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
    const auto message_for = [&](const std::string& bytes) { return matrix_error(path, bytes); };
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
        return matrix_error(dir / "bad-idx3-ubyte", bytes);
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
    const auto message_for = [&](const std::string& bytes) { return matrix_error(path, bytes); };
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
    // Each malformed file and a piece of the message it must give.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"%%MatrixMarket matrix array real general\n2 2\n", "bad.mtx: line 1: expected"},
        {head + "2 3 1\n1 2 0.5\n", "must be square"},
        {head + "2 2 2\n1 2 0.5\n", "expected 2 entries"},
        {head + "2 2 1\n1 2 0.5\n2 1 0.5\n", "line 4: more entries than the 1 declared"},
        {head + "2 2 1\n1 3 0.5\n", "line 3, column 2: '3' is not an index in 1..2"},
        {head + "2 2 1\n0 1 0.5\n", "line 3, column 1"},
        {head + "2 2 1\n1 2 nan\n", "line 3, column 3: 'nan' is not a finite number"},
        {head + "2 2 1\n1 2 -0.5\n", "negative"},
        {head + "2 2 1\n1 2 1e39\n", "line 3, column 3: affinity '1e39' is beyond single"},
        {head + "2 2 1\n1 2\n", "line 3: expected 'row column value'"},
        {head + "2 2 2\n1 2 0.5\n1 2 0.5\n", "duplicate entry (1, 2)"},
        {head + "2 2 999999\n1 2 0.5\n", "more than the file can hold"},
        {head + "4000000000 4000000000 1\n1 2 0.5\n", "some points would have no"},
        {head, "no size line"},
    };
    for (const auto& [file_text, expected] : cases) {
        const auto& body = file_text;  // CAPTURE's lambda cannot capture a structured binding (clang)
        CAPTURE(body);
        CHECK(contains(message_for(body), expected));
    }
}
