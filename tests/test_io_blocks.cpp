// Reading a block of rows by offset (read_matrix_shape, read_matrix_rows), as each MPI rank reads its own
// rows: for every splittable format and dtype, blocks of any split concatenate to read_matrix's matrix bit
// for bit; the files that cannot be split say so; a bad file gives read_matrix's message; a non-finite
// value names its row in the file; a block holds and reads no more than its own rows.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../tools/fuzz/format_bytes.hpp"
#include "helpers/io.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"

using treesne::index_t;
using treesne::Matrix;
using namespace treesne::fuzz;
using namespace treesne::testing;

namespace {

bool bit_identical(const Matrix& a, const Matrix& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(double)) == 0;
}

/// The blocks' rows one after the other.
Matrix stacked(const std::vector<Matrix>& blocks, index_t cols) {
    std::vector<double> all;
    for (const Matrix& b : blocks) all.insert(all.end(), b.storage().begin(), b.storage().end());
    const auto rows = static_cast<index_t>(all.size()) / cols;
    return Matrix(rows, cols, std::move(all));
}

/// Splits of rows into 1 to 4 blocks, as boundaries: MPI's rows * r / R for R = 1..4, and uneven ones
/// with empty blocks at the start, the middle and the end.
std::vector<std::vector<index_t>> splits(index_t rows) {
    std::vector<std::vector<index_t>> out;
    for (index_t ranks = 1; ranks <= 4; ++ranks) {
        std::vector<index_t> cut;
        for (index_t r = 0; r <= ranks; ++r) cut.push_back(rows * r / ranks);
        out.push_back(cut);
    }
    out.push_back({0, 0, rows});
    out.push_back({0, rows, rows});
    if (rows >= 3) {
        out.push_back({0, 2, 2, rows - 1, rows});
        out.push_back({0, 1, rows - 1, rows - 1, rows});
    }
    return out;
}

/// Checks read_matrix_shape and, for every split, that the blocks read by read_matrix_rows stack up to
/// read_matrix(path) bit for bit.
void check_blocks(const std::string& path) {
    CAPTURE(path);
    const Matrix whole = treesne::io::read_matrix(path);
    const auto shape = treesne::io::read_matrix_shape(path);
    REQUIRE(shape.has_value());
    CHECK(shape->rows == whole.rows());
    CHECK(shape->cols == whole.cols());
    for (const auto& cut : splits(whole.rows())) {
        std::vector<Matrix> blocks;
        for (std::size_t b = 0; b + 1 < cut.size(); ++b) {
            blocks.push_back(treesne::io::read_matrix_rows(path, cut[b], cut[b + 1] - cut[b]));
            CHECK(blocks.back().rows() == cut[b + 1] - cut[b]);
            CHECK(blocks.back().cols() == whole.cols());
        }
        CHECK(bit_identical(stacked(blocks, whole.cols()), whole));
    }
}

/// rows x cols values of type T from a fixed seed, packed little- or big-endian; floating-point values
/// span magnitudes and include -0 and a subnormal, integers span the type's range.
template <class T>
std::string values_of(index_t count, bool big_endian, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string out;
    for (index_t i = 0; i < count; ++i) {
        T v;
        if constexpr (std::is_floating_point_v<T>) {
            v = static_cast<T>(gaussian(rng) * std::pow(10.0, static_cast<double>(i % 9) - 4));
            if (i == 1) v = static_cast<T>(-0.0);
            if (i == 2) v = std::numeric_limits<T>::denorm_min();
        } else {
            const std::uint64_t bits = rng();
            std::memcpy(&v, &bits, sizeof v);
        }
        out += big_endian ? be(v) : le(v);
    }
    return out;
}

/// A .npy file of version 2 whose dict is padded past the 4 KiB that decide the format, so that the
/// header is read beyond the first bytes.
std::string npy_long_header(const std::string& descr, const std::string& shape, const std::string& data) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    dict.append(6000 - dict.size() - 12 - 1, ' ');
    dict += '\n';
    return std::string("\x93NUMPY\x02\x00", 8) + le<std::uint32_t>(static_cast<std::uint32_t>(dict.size())) +
           dict + data;
}

/// The message of the InvalidArgument that fn throws, or a marker.
std::string invalid_argument(const std::function<void()>& fn) {
    return message_of<treesne::InvalidArgument>(fn, "<no InvalidArgument thrown>");
}

/// The IoError messages of read_matrix, read_matrix_shape and read_matrix_rows on path.
std::vector<std::string> three_messages(const std::string& path, index_t first, index_t count) {
    return {io_error([&] { treesne::io::read_matrix(path); }),
            io_error([&] { treesne::io::read_matrix_shape(path); }),
            io_error([&] { treesne::io::read_matrix_rows(path, first, count); })};
}

/// Checks that the three readers refuse path with one and the same one-line IoError containing `part`.
void check_same_error(const std::string& path, const std::string& part) {
    CAPTURE(path);
    const auto m = three_messages(path, 0, 1);
    CHECK(contains(m[0], part));
    CHECK(m[0].find('\n') == std::string::npos);
    CHECK(m[1] == m[0]);
    CHECK(m[2] == m[0]);
}

}  // namespace

TEST_CASE("io blocks: .npy of every dtype, any split, equals read_matrix bit for bit") {
    TempDir dir;
    const auto check_type = [&](const std::string& descr, auto tag) {
        using T = decltype(tag);
        const std::string data = values_of<T>(7 * 3, false, 11 + descr.size());
        spit(dir / "m.npy", npy(descr, "(7, 3)", data));
        check_blocks(dir / "m.npy");
        spit(dir / "v2.npy", npy(descr, "(7, 3)", data, 2));
        check_blocks(dir / "v2.npy");
        spit(dir / "vector.npy", npy(descr, "(21,)", data));
        check_blocks(dir / "vector.npy");
        spit(dir / "long-header.npy", npy_long_header(descr, "(7, 3)", data));
        check_blocks(dir / "long-header.npy");
        spit(dir / "no-extension", npy(descr, "(7, 3)", data));  // recognised by its magic
        check_blocks(dir / "no-extension");
    };
    check_type("<f4", float{});
    check_type("<f8", double{});
    check_type("=f8", double{});
    check_type("|u1", std::uint8_t{});
    check_type("|i1", std::int8_t{});
    check_type("<i2", std::int16_t{});
    check_type("<u2", std::uint16_t{});
    check_type("<i4", std::int32_t{});
    check_type("<u4", std::uint32_t{});
    check_type("<i8", std::int64_t{});
    check_type("<u8", std::uint64_t{});
}

TEST_CASE("io blocks: IDX of every type, any split, equals read_matrix bit for bit") {
    TempDir dir;
    const auto check_type = [&](unsigned char type, auto tag) {
        using T = decltype(tag);
        const std::string data = values_of<T>(7 * 2 * 3, true, 5 + type);
        spit(dir / "images-idx3-ubyte", idx(type, {7, 2, 3}, data));
        check_blocks(dir / "images-idx3-ubyte");
        spit(dir / "labels-idx1-ubyte", idx(type, {42}, data));
        check_blocks(dir / "labels-idx1-ubyte");
    };
    check_type(0x08, std::uint8_t{});
    check_type(0x09, std::int8_t{});
    check_type(0x0B, std::int16_t{});
    check_type(0x0C, std::int32_t{});
    check_type(0x0D, float{});
    check_type(0x0E, double{});
    const auto shape = treesne::io::read_matrix_shape(dir / "images-idx3-ubyte");
    REQUIRE(shape.has_value());
    CHECK(shape->rows == 7);
    CHECK(shape->cols == 6);
}

TEST_CASE("io blocks: bhtsne .dat, its four data layouts and the result file, any split") {
    TempDir dir;
    const std::string values = values_of<double>(6 * 4, false, 3);
    const std::string old_head = le<std::int32_t>(6) + le<std::int32_t>(4) + le(0.5) + le(30.0);
    const std::string new_head = old_head + le<std::int32_t>(2) + le<std::int32_t>(1000);
    for (const std::string& file : {old_head + values, old_head + values + le<std::int32_t>(42),
                                    new_head + values, new_head + values + le<std::int32_t>(42)}) {
        spit(dir / "data.dat", file);
        check_blocks(dir / "data.dat");
    }
    treesne::io::write_matrix(dir / "result.dat", treesne::io::read_matrix(dir / "data.dat"));
    check_blocks(dir / "result.dat");

    // Two points: a result file and a data file with the 32-byte header have the same size; the landmarks
    // 0, 1 (read by offset) decide, as they decide for read_matrix.
    const std::string two = values_of<double>(2 * 3, false, 4);
    const Matrix pair = Matrix(2, 3, std::vector<double>{1, 2, 3, 4, 5, 6});
    treesne::io::write_matrix(dir / "pair.dat", pair);
    check_blocks(dir / "pair.dat");
    CHECK(treesne::io::read_matrix_rows(dir / "pair.dat", 1, 1) ==
          Matrix(1, 3, std::vector<double>{4, 5, 6}));
    const std::string pair_head = le<std::int32_t>(2) + le<std::int32_t>(3) + le(0.5) + le(30.0) +
                                  le<std::int32_t>(2) + le<std::int32_t>(1);
    spit(dir / "pair-data.dat", pair_head + two);
    REQUIRE(slurp(dir / "pair-data.dat").size() == slurp(dir / "pair.dat").size());
    check_blocks(dir / "pair-data.dat");
}

TEST_CASE("io blocks: files whose rows cannot be read by offset give nullopt and are refused by rows") {
    TempDir dir;
    const std::string data = values_of<double>(4, false, 1);
    spit(dir / "m.csv", "1,2\n3,4\n");
    spit(dir / "m.tsv", "1\t2\n3\t4\n");
    spit(dir / "p.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 2 0.5\n");
    spit(dir / "m.txt", "1 2\n3 4\n");
    write_gz(dir / "m.npy.gz", npy("<f8", "(2, 2)", data));
    write_gz(dir / "images-idx3-ubyte.gz", idx(0x0E, {2, 2}, values_of<double>(4, true, 1)));
    write_gz(dir / "gzip-named-plain.npy", npy("<f8", "(2, 2)", data));  // gzip by its magic
    for (const char* name :
         {"m.csv", "m.tsv", "p.mtx", "m.txt", "m.npy.gz", "images-idx3-ubyte.gz", "gzip-named-plain.npy"}) {
        CAPTURE(name);
        CHECK_FALSE(treesne::io::read_matrix_shape(dir / name).has_value());
        const std::string msg = invalid_argument([&] { treesne::io::read_matrix_rows(dir / name, 0, 1); });
        CHECK(contains(msg, dir / name));
        CHECK(contains(msg, "cannot be read by offset"));
        CHECK(msg.find('\n') == std::string::npos);
        if (std::string(name) != "p.mtx")  // the whole read on one process works
            CHECK(treesne::io::read_matrix(dir / name).rows() == 2);
    }
    // Standard input and a pipe are not touched (reading a pipe's header would take its bytes away from
    // the whole read; opening it would wait for a writer).
    CHECK_FALSE(treesne::io::read_matrix_shape("-").has_value());
    REQUIRE(::mkfifo((dir / "pipe.npy").c_str(), 0600) == 0);
    CHECK_FALSE(treesne::io::read_matrix_shape(dir / "pipe.npy").has_value());
    CHECK(contains(invalid_argument([&] { treesne::io::read_matrix_rows(dir / "pipe.npy", 0, 0); }),
                   "cannot be read by offset"));
}

TEST_CASE("io blocks: a bad file gives read_matrix's message, from the shape and from every block") {
    TempDir dir;
    const std::string six = values_of<double>(6, false, 2);
    spit(dir / "short.npy", npy("<f8", "(3, 2)", six.substr(0, 40)));
    check_same_error(dir / "short.npy", "is truncated: 3 x 2 values need 48 bytes of data, found 40");
    spit(dir / "long.npy", npy("<f8", "(3, 2)", six + "x"));
    check_same_error(dir / "long.npy", "has 1 bytes after the 3 x 2 values it declares");
    spit(dir / "short-idx2", idx(0x0E, {3, 2}, six.substr(0, 47)));
    check_same_error(dir / "short-idx2", "is truncated");
    spit(dir / "long-idx2", idx(0x0E, {3, 2}, six + "xy"));
    check_same_error(dir / "long-idx2", "has 2 bytes after");
    const std::string head = le<std::int32_t>(3) + le<std::int32_t>(2) + le(0.5) + le(30.0);
    spit(dir / "short.dat", head + six.substr(0, 40));
    check_same_error(dir / "short.dat", "does not fit a bhtsne data file of 3 x 2");
    spit(dir / "long.dat", head + six + std::string(100, 'x'));
    check_same_error(dir / "long.dat", "bytes after any bhtsne file of 3 x 2 values");
    spit(dir / "tiny.dat", "tiny");
    check_same_error(dir / "tiny.dat", "too short");
    spit(dir / "fortran.npy", npy("<f8", "(3, 2)", six, 1, "True"));
    check_same_error(dir / "fortran.npy", "Fortran-order arrays are not supported");
    spit(dir / "empty.npy", npy("<f8", "(0, 2)", ""));
    check_same_error(dir / "empty.npy", "no data rows");
    spit(dir / "bad-magic.npy", "not a numpy file at all");
    check_same_error(dir / "bad-magic.npy", "bad magic");
    spit(dir / "plain.npy.gz", npy("<f8", "(3, 2)", six));
    check_same_error(dir / "plain.npy.gz", "is named .gz but is not gzip-compressed");
    check_same_error(dir / "missing.npy", "missing.npy: cannot open");
    check_same_error(dir.path().string(), "is a directory");
}

TEST_CASE("io blocks: a range outside the rows is refused with one line") {
    TempDir dir;
    const std::string path = dir / "m.npy";
    spit(path, npy("<f4", "(5, 2)", values_of<float>(10, false, 8)));
    const index_t huge = std::numeric_limits<index_t>::max();
    for (const auto& range : std::vector<std::pair<index_t, index_t>>{
             {-1, 1}, {0, -1}, {0, 6}, {5, 1}, {6, 0}, {3, 3}, {1, huge}, {huge, 1}, {-huge, huge}}) {
        // Named copies, not a structured binding: clang (the TSan build) cannot capture one in a lambda.
        const index_t first = range.first, count = range.second;
        CAPTURE(first);
        CAPTURE(count);
        const std::string msg = invalid_argument([&] { treesne::io::read_matrix_rows(path, first, count); });
        CHECK(contains(msg, path + ": "));
        CHECK(contains(msg, "is not within its 5 rows"));
        CHECK(msg.find('\n') == std::string::npos);
    }
    // Empty blocks anywhere in [0, rows], the end included.
    for (const index_t first : {0, 2, 5}) {
        const Matrix m = treesne::io::read_matrix_rows(path, first, 0);
        CHECK(m.rows() == 0);
        CHECK(m.cols() == 2);
    }
}

TEST_CASE("io blocks: NaN and Inf in a block name their row in the file") {
    TempDir dir;
    const auto with_value_at = [](std::string data, std::size_t index, double v, bool big_endian, bool f32) {
        const std::string bytes = f32 ? (big_endian ? be(static_cast<float>(v)) : le(static_cast<float>(v)))
                                      : (big_endian ? be(v) : le(v));
        data.replace(index * bytes.size(), bytes.size(), bytes);
        return data;
    };
    // Row 6 (1-based), column 2 of a 7 x 3 matrix: value index 5 * 3 + 1.
    const std::size_t at = 16;
    spit(dir / "nan.npy",
         npy("<f8", "(7, 3)", with_value_at(values_of<double>(21, false, 1), at, NAN, false, false)));
    spit(dir / "inf.npy",
         npy("<f4", "(7, 3)", with_value_at(values_of<float>(21, false, 1), at, -INFINITY, false, true)));
    spit(dir / "nan-idx2",
         idx(0x0D, {7, 3}, with_value_at(values_of<float>(21, true, 1), at, NAN, true, true)));
    const std::string head = le<std::int32_t>(7) + le<std::int32_t>(3) + le(0.5) + le(30.0);
    spit(dir / "inf.dat", head + with_value_at(values_of<double>(21, false, 1), at, INFINITY, false, false));
    for (const char* name : {"nan.npy", "inf.npy", "nan-idx2", "inf.dat"}) {
        const std::string path = dir / name;
        CAPTURE(path);
        const std::string whole = io_error([&] { treesne::io::read_matrix(path); });
        CHECK(contains(whole, "row 6, column 2 is "));
        // Every block holding row 6 gives read_matrix's message, naming row 6 of the file.
        for (const auto& range : std::vector<std::pair<index_t, index_t>>{{5, 1}, {4, 3}, {3, 3}, {0, 7}}) {
            const index_t first = range.first, count = range.second;  // no structured binding (clang)
            CAPTURE(first);
            CHECK(io_error([&] { treesne::io::read_matrix_rows(path, first, count); }) == whole);
        }
        // The blocks without it read, and equal the rows of the file as written.
        CHECK(treesne::io::read_matrix_rows(path, 0, 5).rows() == 5);
        CHECK(treesne::io::read_matrix_rows(path, 6, 1).rows() == 1);
        CHECK(treesne::io::read_matrix_shape(path).has_value());
    }
}

TEST_CASE("io blocks: a block holds and reads its own rows, not the file") {
    TempDir dir;
    const std::string path = dir / "big.npy";
    const index_t rows = 4000, cols = 100;  // 3.2 MB of float64
    spit(path, npy("<f8", "(4000, 100)", values_of<double>(rows * cols, false, 9)));
    const Matrix whole = treesne::io::read_matrix(path);

    // A bound that the whole matrix passes by far, but a block of 100 rows fits: only the block is held.
    const std::uint64_t block_need = 100 * cols * (8 + 8);
    treesne::io::ReadLimits tight;
    tight.max_bytes = block_need + 1024;
    CHECK(contains(io_error([&] { treesne::io::read_matrix(path, tight); }), "needs about"));
    treesne::io::ReadStats stats;
    const Matrix block = treesne::io::read_matrix_rows(path, 2500, 100, tight, &stats);
    CHECK(bit_identical(block, Matrix(treesne::ConstMatrixView{whole.row(2500), 100, cols})));
    CHECK(contains(io_error([&] { treesne::io::read_matrix_rows(path, 2500, 101, tight); }),
                   "reading rows 2501 to 2601 (10100 values) needs about"));

    // What was read from the file: the first MiB (the reader's buffer, which holds the header) and the
    // block's bytes, not the 3.2 MB of the file.
    const std::uint64_t file_size = slurp(path).size();
    CHECK(stats.file_bytes >= 100 * cols * 8);
    CHECK(stats.file_bytes <= (std::uint64_t{1} << 20) + 100 * cols * 8);
    CHECK(stats.file_bytes < file_size / 2);

    treesne::io::ReadStats shape_stats;
    CHECK(treesne::io::read_matrix_shape(path, {}, &shape_stats)->rows == rows);
    CHECK(shape_stats.file_bytes <= std::uint64_t{1} << 20);
}
