// Sparse feature matrices (read_sparse_matrix, write_sparse_npz, is_sparse_input, svmlight labels): the
// files scipy and scikit-learn write (tests/data/sparse, made by tests/data/make_sparse_fixtures.py) read
// as the same CsrMatrix in every format, round trips, and one test per class of bad input with its
// one-line message.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "helpers/io.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/io/io.hpp"

namespace fs = std::filesystem;
using treesne::CsrMatrix;
using treesne::index_t;
using treesne::point_t;
using namespace treesne::testing;

namespace {

std::string fixture(const std::string& name) {
    return (fs::path(TREESNE_TEST_DATA_DIR) / "sparse" / name).string();
}

CsrMatrix csr(index_t rows, index_t cols, std::vector<index_t> offsets, std::vector<point_t> columns,
              std::vector<double> values) {
    CsrMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.offsets = std::move(offsets);
    m.columns = std::move(columns);
    m.values = std::move(values);
    REQUIRE(treesne::csr_matrix_defect(m) == "");
    return m;
}

/// F of make_sparse_fixtures.py: 4 x 6, row 1 empty.
CsrMatrix matrix_f() {
    return csr(4, 6, {0, 2, 2, 5, 7}, {0, 3, 1, 2, 5, 0, 4}, {1.5, -2, 0.25, 3, 7, -0.5, 10});
}

/// F with the given values in its pattern (in order).
CsrMatrix pattern_f(std::vector<double> values) {
    CsrMatrix m = matrix_f();
    m.values = std::move(values);
    return m;
}

std::string read_error(const std::string& path) {
    return io_error([&] { treesne::io::read_sparse_matrix(path); });
}

// --- .npz files built byte by byte, for the bad inputs ------------------------------------------------

template <class T>
std::string bytes_of(std::initializer_list<T> values) {
    std::string out;
    for (const T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
    return out;
}

/// A .npy 1.0 file: dtype, shape as Python writes it ("(3,)", "()"), data.
std::string npy(const std::string& descr, const std::string& shape, const std::string& data) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(dict.size() & 0xFF);
    out += static_cast<char>(dict.size() >> 8);
    return out + dict + data;
}

template <class T>
std::string npy1(const std::string& descr, std::initializer_list<T> values) {
    return npy(descr, "(" + std::to_string(values.size()) + ",)", bytes_of(values));
}

void put16(std::string& s, std::uint32_t v) {
    s += static_cast<char>(v & 0xFF);
    s += static_cast<char>(v >> 8 & 0xFF);
}

void put32(std::string& s, std::uint32_t v) {
    put16(s, v & 0xFFFF);
    put16(s, v >> 16);
}

using Members = std::vector<std::pair<std::string, std::string>>;

/// A zip archive of stored members, as np.savez writes them (without numpy's zip64 extra fields).
std::string zip_stored(const Members& members) {
    std::string out, directory;
    for (const auto& [name, content] : members) {
        const auto crc = static_cast<std::uint32_t>(
            crc32(0, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size())));
        std::string fixed;
        put16(fixed, 20);  // version needed
        put16(fixed, 0);   // flags
        put16(fixed, 0);   // stored
        put32(fixed, 0);   // time, date
        put32(fixed, crc);
        put32(fixed, static_cast<std::uint32_t>(content.size()));
        put32(fixed, static_cast<std::uint32_t>(content.size()));
        put16(fixed, static_cast<std::uint32_t>(name.size()));
        put16(fixed, 0);  // extra
        const auto offset = static_cast<std::uint32_t>(out.size());
        put32(out, 0x04034b50);
        out += fixed + name + content;
        put32(directory, 0x02014b50);
        put16(directory, 20);  // version made by
        directory += fixed;
        put16(directory, 0);  // comment
        put16(directory, 0);  // disk
        put16(directory, 0);  // internal attributes
        put32(directory, 0);  // external attributes
        put32(directory, offset);
        directory += name;
    }
    const auto cd_offset = static_cast<std::uint32_t>(out.size());
    out += directory;
    put32(out, 0x06054b50);
    put32(out, 0);  // disks
    put16(out, static_cast<std::uint32_t>(members.size()));
    put16(out, static_cast<std::uint32_t>(members.size()));
    put32(out, static_cast<std::uint32_t>(directory.size()));
    put32(out, cd_offset);
    put16(out, 0);
    return out;
}

/// F's members as save_npz writes them (csr, int32 indices, float64 values).
Members members_f() {
    return {{"indices.npy", npy1<std::int32_t>("<i4", {0, 3, 1, 2, 5, 0, 4})},
            {"indptr.npy", npy1<std::int32_t>("<i4", {0, 2, 2, 5, 7})},
            {"format.npy", npy("|S3", "()", "csr")},
            {"shape.npy", npy1<std::int64_t>("<i8", {4, 6})},
            {"data.npy", npy1<double>("<f8", {1.5, -2, 0.25, 3, 7, -0.5, 10})}};
}

Members with(Members members, const std::string& name, const std::string& content) {
    for (auto& member : members) {
        if (member.first == name) member.second = content;
    }
    return members;
}

/// The message of reading `members` as x.npz in dir (the file name in it replaced by "x.npz").
std::string npz_error(const TempDir& dir, const Members& members) {
    const std::string path = dir / "x.npz";
    spit(path, zip_stored(members));
    std::string message = read_error(path);
    if (message.compare(0, path.size(), path) == 0) message = "x.npz" + message.substr(path.size());
    return message;
}

/// The message of reading `text` as a file of that name in dir, the directory left out.
std::string text_error(const TempDir& dir, const std::string& name, const std::string& text) {
    const std::string path = dir / name;
    spit(path, text);
    std::string message = read_error(path);
    if (message.compare(0, path.size(), path) == 0) message = name + message.substr(path.size());
    return message;
}

/// A random n x d matrix with about `density` of its entries non-zero, full-precision values.
CsrMatrix random_csr(index_t n, index_t d, double density, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    treesne::Matrix dense(n, d);
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < d; ++j) dense(i, j) = u(rng) < density ? gaussian(rng) * 1e3 : 0.0;
    return treesne::to_csr(dense);
}

}  // namespace

TEST_CASE("io sparse: scipy's and scikit-learn's files of one matrix read as the same CsrMatrix") {
    const CsrMatrix f = matrix_f();
    for (const char* name : {"f_csr.npz", "f_csr_stored.npz", "f_csc.npz", "f_coo.npz", "f.mtx", "f.svm",
                             "f_one_based.svmlight"}) {
        CAPTURE(name);
        CHECK(treesne::io::read_sparse_matrix(fixture(name)) == f);
    }
    // gzip, and a name that says nothing (the content decides for .npz and Matrix Market).
    TempDir dir;
    for (const char* name : {"f_csr.npz", "f.mtx", "f.svm", "f_coo.npz"}) {
        CAPTURE(name);
        write_gz(dir / (std::string(name) + ".gz"), slurp(fixture(name)));
        CHECK(treesne::io::read_sparse_matrix(dir / (std::string(name) + ".gz")) == f);
    }
    spit(dir / "archive.bin", slurp(fixture("f_csc.npz")));
    spit(dir / "coordinates.txt", slurp(fixture("f.mtx")));
    CHECK(treesne::io::read_sparse_matrix(dir / "archive.bin") == f);
    CHECK(treesne::io::read_sparse_matrix(dir / "coordinates.txt") == f);
}

TEST_CASE("io sparse: pattern, boolean and integer data") {
    const CsrMatrix ones = pattern_f({1, 1, 1, 1, 1, 1, 1});
    CHECK(treesne::io::read_sparse_matrix(fixture("pattern.mtx")) == ones);
    CHECK(treesne::io::read_sparse_matrix(fixture("pattern_bool.npz")) == ones);
    const CsrMatrix counts = pattern_f({3, 3, 1, 1, 1, 250, 250});
    CHECK(treesne::io::read_sparse_matrix(fixture("counts.mtx")) == counts);
    CHECK(treesne::io::read_sparse_matrix(fixture("counts_u16.npz")) == counts);
}

TEST_CASE("io sparse: duplicates are added in order, zeros dropped, rows sorted") {
    TempDir dir;
    // COO with (0, 3) twice, (1, 2) three times adding to 0, an explicit zero, rows out of order.
    const Members coo = {{"format.npy", npy("<U3", "()", bytes_of<std::uint32_t>({'c', 'o', 'o'}))},
                         {"shape.npy", npy1<std::int32_t>("<i4", {2, 5})},
                         {"row.npy", npy1<std::int64_t>("<i8", {1, 0, 1, 0, 1, 0, 1})},
                         {"col.npy", npy1<std::int64_t>("<i8", {2, 3, 2, 0, 2, 3, 4})},
                         {"data.npy", npy1<float>("<f4", {0.5f, 1.0f, -1.0f, 0.0f, 0.5f, 0.25f, 2.0f})}};
    spit(dir / "coo.npz", zip_stored(coo));
    CHECK(treesne::io::read_sparse_matrix(dir / "coo.npz") == csr(2, 5, {0, 1, 2}, {3, 4}, {1.25, 2}));
    // CSR with unsorted columns and a duplicate within a row.
    Members unsorted = with(members_f(), "indices.npy", npy1<std::int32_t>("<i4", {3, 0, 5, 1, 5, 4, 0}));
    unsorted = with(unsorted, "data.npy", npy1<double>("<f8", {-2, 1.5, 3, 0.25, 4, 10, -0.5}));
    spit(dir / "unsorted.npz", zip_stored(unsorted));
    CHECK(treesne::io::read_sparse_matrix(dir / "unsorted.npz") ==
          csr(4, 6, {0, 2, 2, 4, 6}, {0, 3, 1, 5, 0, 4}, {1.5, -2, 0.25, 7, -0.5, 10}));
    // Matrix Market and svmlight: duplicates added, zeros dropped (an index with value 0 still counts
    // towards the columns and the base).
    CHECK(
        treesne::io::read_sparse_matrix((
            spit(dir / "d.mtx",
                 "%%MatrixMarket matrix coordinate real general\n% c\n\n2 3 4\n2 1 1\n1 3 0\n2 1 2\n1 2 5\n"),
            dir / "d.mtx")) == csr(2, 3, {0, 1, 2}, {1, 0}, {5, 3}));
    CHECK(treesne::io::read_sparse_matrix((spit(dir / "d.svm", "1 2:3 7:0 # c\n# only a comment\n\n-1\n"),
                                           dir / "d.svm")) == csr(2, 7, {0, 1, 1}, {1}, {3}));
    CHECK(treesne::io::read_sparse_matrix((spit(dir / "z.svm", "1 qid:3 0:1 4:2\n2 1:5\n"), dir / "z.svm")) ==
          csr(2, 5, {0, 2, 3}, {0, 4, 1}, {1, 2, 5}));
}

TEST_CASE("io sparse: write_sparse_npz round-trips, stored and deflated, and is deterministic") {
    TempDir dir;
    const CsrMatrix m = random_csr(300, 40, 0.1, 7);
    REQUIRE(m.nnz() > 1000);
    for (const bool compress : {true, false}) {
        CAPTURE(compress);
        const std::string path = dir / (compress ? "deflated.npz" : "stored.npz");
        treesne::io::write_sparse_npz(path, m, compress);
        CHECK(treesne::io::read_sparse_matrix(path) == m);
        const std::string first = slurp(path);
        treesne::io::write_sparse_npz(path, m, compress);
        CHECK(slurp(path) == first);
    }
    CHECK(fs::file_size(dir / "deflated.npz") < fs::file_size(dir / "stored.npz"));
    // The stored archive holds the members as numpy writes them: F's arrays can be found in its bytes.
    treesne::io::write_sparse_npz(dir / "f.npz", matrix_f(), false);
    const std::string f = slurp(dir / "f.npz");
    for (const auto& member : members_f()) {  // (clang 14 cannot capture a structured binding: CAPTURE)
        const std::string& name = member.first;
        CAPTURE(name);
        CHECK(f.find(name + member.second) != std::string::npos);
    }
    CHECK(treesne::io::read_sparse_matrix(dir / "f.npz") == matrix_f());
    CHECK(dir.files() == std::vector<std::string>{"deflated.npz", "f.npz", "stored.npz"});
}

TEST_CASE("io sparse: write_sparse_npz refuses non-finite values and broken matrices, writing nothing") {
    TempDir dir;
    CsrMatrix m = matrix_f();
    m.values[3] = std::numeric_limits<double>::infinity();
    CHECK(io_error([&] { treesne::io::write_sparse_npz(dir / "x.npz", m); }) ==
          dir / "x.npz" + ": refusing to write a non-finite value (inf) at row 3, column 3");
    m = matrix_f();
    m.columns[1] = 0;
    CHECK(message_of<treesne::InvalidArgument>([&] { treesne::io::write_sparse_npz(dir / "x.npz", m); }) ==
          "write_sparse_npz: not a valid CSR matrix: row 0: columns not increasing (0 after 0)");
    CHECK(dir.files().empty());
}

TEST_CASE("io sparse: svmlight targets are labels") {
    for (const char* name : {"f.svm", "f_one_based.svmlight"}) {
        CAPTURE(name);
        const treesne::io::Labels labels = treesne::io::read_labels(fixture(name));
        CHECK(labels.codes == std::vector<int>{0, 1, 1, 2});
        CHECK(labels.names == std::vector<std::string>{"0", "1", "2"});
    }
    TempDir dir;
    spit(dir / "t.libsvm", "# header\n-1 3:1\n+1\n\n2.5 1:1 # x\n-1 qid:2\n");
    const treesne::io::Labels labels = treesne::io::read_labels(dir / "t.libsvm");
    CHECK(labels.codes == std::vector<int>{0, 1, 2, 0});
    CHECK(labels.names == std::vector<std::string>{"-1", "+1", "2.5"});
    CHECK(text_error(dir, "bad.svm", "1 1:2\nnan 2:1\n") ==
          "bad.svm: line 2: target 'nan' is not a finite number "
          "(NaN and Inf are not allowed)");
    CHECK(io_error([&] { treesne::io::read_labels(dir / "bad.svm"); }) ==
          dir / "bad.svm" + ": line 2: target 'nan' is not a finite number (NaN and Inf are not allowed)");
}

TEST_CASE("io sparse: is_sparse_input") {
    TempDir dir;
    spit(dir / "c.mtx", "%%MatrixMarket matrix coordinate real general\n1 1 0\n");
    spit(dir / "s.MTX", "%%matrixmarket MATRIX Coordinate pattern symmetric\n1 1 0\n");
    spit(dir / "a.mtx", "%%MatrixMarket matrix array real general\n1 1\n1\n");
    spit(dir / "t.mtx", "1 2 3\n");
    write_gz(dir / "c.mtx.gz", "%%MatrixMarket matrix coordinate integer general\n1 1 0\n");
    for (const std::string sparse :
         {"x.npz", "x.NPZ", "x.svm", "x.svmlight.gz", "x.LIBSVM", "c.mtx", "s.MTX", "c.mtx.gz"}) {
        CAPTURE(sparse);
        CHECK(treesne::io::is_sparse_input(dir / sparse));
    }
    for (const std::string dense : {"a.mtx", "t.mtx", "missing.mtx", "x.csv", "x.npy", "x.gz", "-", "npz"}) {
        CAPTURE(dense);
        CHECK_FALSE(treesne::io::is_sparse_input(dense == "-" ? dense : dir / dense));
    }
}

TEST_CASE("io sparse: bad .npz arrays, each refused with one line naming the member and entry") {
    TempDir dir;
    CHECK(npz_error(dir, members_f()) == "<no IoError thrown>");
    CHECK(npz_error(dir,
                    with(members_f(), "indices.npy", npy1<std::int32_t>("<i4", {0, 3, 1, 2, 900, 0, 4}))) ==
          "x.npz: indices.npy entry 4 is column 900 but the shape has 6 columns");
    CHECK(
        npz_error(dir, with(members_f(), "indices.npy", npy1<std::int64_t>("<i8", {0, 3, 1, -2, 5, 0, 4}))) ==
        "x.npz: indices.npy entry 3 is column -2, a negative index");
    CHECK(npz_error(dir, with(members_f(), "indptr.npy", npy1<std::int32_t>("<i4", {0, 2, 2, 5, 4}))) ==
          "x.npz: indptr.npy entry 4 is 4, less than entry 3 (5); it must not decrease");
    CHECK(npz_error(dir, with(members_f(), "indptr.npy", npy1<std::int32_t>("<i4", {1, 2, 2, 5, 7}))) ==
          "x.npz: indptr.npy entry 0 is 1; it must be 0");
    CHECK(npz_error(dir, with(members_f(), "indptr.npy", npy1<std::int32_t>("<i4", {0, 2, 5, 7}))) ==
          "x.npz: indptr.npy holds 4 entries; a csr matrix of 4 rows needs 5");
    CHECK(npz_error(dir, with(members_f(), "indptr.npy", npy1<std::int32_t>("<i4", {0, 2, 2, 5, 6}))) ==
          "x.npz: indices.npy holds 7 entries but indptr.npy ends at 6");
    CHECK(npz_error(dir, with(members_f(), "data.npy", npy1<double>("<f8", {1.5, -2, 0.25, 3, 7, -0.5}))) ==
          "x.npz: data.npy holds 6 entries but indptr.npy ends at 7");
    CHECK(npz_error(dir, with(members_f(), "indices.npy", npy1<double>("<f8", {0, 3, 1, 2, 5, 0, 4}))) ==
          "x.npz: indices.npy has dtype '<f8'; indices must be int32 or int64 (little-endian)");
    CHECK(
        npz_error(dir, with(members_f(), "data.npy", npy("<c8", "(7,)", std::string(56, '\0')))) ==
        "x.npz: data.npy has dtype '<c8'; values must be float64, float32, integers or bool (little-endian)");
    CHECK(
        npz_error(dir, with(members_f(), "data.npy", npy1<double>("<f8", {1.5, -2, NAN, 3, 7, -0.5, 10}))) ==
        "x.npz: data.npy entry 2 is NaN (NaN and Inf are not allowed)");
    CHECK(npz_error(dir, with(members_f(), "data.npy",
                              npy1<float>("<f4", {1.5f, -2, 0.25f, 3, 7, -INFINITY, 1}))) ==
          "x.npz: data.npy entry 5 is infinite (NaN and Inf are not allowed)");
    CHECK(npz_error(dir, with(members_f(), "data.npy", npy("<f8", "(7,)", std::string(48, '\0')))) ==
          "x.npz: data.npy holds 48 bytes of data, but its 7 entries of dtype '<f8' need 56");
    CHECK(npz_error(dir, with(members_f(), "shape.npy", npy1<std::int64_t>("<i8", {0, 6}))) ==
          "x.npz: shape.npy says 0 rows; there are no points");
    CHECK(npz_error(dir, with(members_f(), "format.npy", npy("|S3", "()", "dia"))) ==
          "x.npz: format.npy says 'dia'; only csr, csc and coo matrices are read (convert it with .tocsr() "
          "before saving)");
    Members no_indptr = members_f();
    no_indptr.erase(no_indptr.begin() + 1);
    CHECK(npz_error(dir, no_indptr) ==
          "x.npz: has no indptr.npy; a csr matrix is saved with data.npy, indices.npy and indptr.npy");
}

TEST_CASE("io sparse: files that are not scipy.sparse .npz") {
    const std::string bsr = fixture("bsr.npz");
    CHECK(read_error(bsr) == bsr +
                                 ": format.npy says 'bsr'; only csr, csc and coo matrices are read "
                                 "(convert it with .tocsr() before saving)");
    const std::string dense = fixture("dense.npz");
    CHECK(read_error(dense) == dense +
                                   ": is not a scipy.sparse .npz: it has no format.npy (its members: "
                                   "'x.npy', 'y.npy'); save the matrix with scipy.sparse.save_npz");
    TempDir dir;
    const std::string whole = slurp(fixture("f_csr.npz"));
    CHECK(text_error(dir, "half.npz", whole.substr(0, whole.size() / 2)) ==
          "half.npz: truncated zip archive (no end of central directory record)");
    CHECK(text_error(dir, "empty.npz", "") ==
          "empty.npz: is empty; expected a zip archive (.npz) as scipy.sparse.save_npz writes");
    CHECK(text_error(dir, "text.npz", "1,2,3\n") ==
          "text.npz: is not a zip archive (no end of central directory record); expected an .npz as "
          "scipy.sparse.save_npz writes");
}

TEST_CASE("io sparse: zip64, encrypted, otherwise compressed and corrupt archives") {
    TempDir dir;
    const std::string good = zip_stored(members_f());
    const std::size_t cd = good.rfind(std::string("PK\x01\x02", 4));  // the last member's directory entry
    const std::size_t end = good.size() - 22;
    const auto patched = [&](std::size_t at, const std::string& bytes) {
        std::string z = good;
        z.replace(at, bytes.size(), bytes);
        return z;
    };
    CHECK(text_error(dir, "a.npz", patched(end + 8, "\xFF\xFF\xFF\xFF")) ==
          "a.npz: is a zip64 archive (past 4 GiB or 65535 members), which is not supported");
    CHECK(text_error(dir, "b.npz", patched(cd + 24, std::string(4, '\xFF'))) ==
          "b.npz: member 'data.npy' is in zip64 form (past 4 GiB); zip64 archives are not supported");
    CHECK(text_error(dir, "c.npz", patched(cd + 8, std::string("\x01\x00", 2))) ==
          "c.npz: data.npy is encrypted; encrypted zip archives are not supported");
    CHECK(text_error(dir, "d.npz", patched(cd + 10, std::string("\x0E\x00", 2))) ==
          "d.npz: data.npy is compressed with method 14 (LZMA); only stored and deflate members are read (as "
          "numpy writes them)");
    // A flipped byte in data.npy's values.
    std::string flipped = good;
    flipped[good.find(std::string("data.npy\x93NUMPY", 14)) + 8 + 128 + 3] ^= 0x10;
    CHECK(text_error(dir, "e.npz", flipped) == "e.npz: data.npy fails its CRC-32 check: corrupt zip archive");
    // A deflated member cut short: save_npz's own file with its data.npy shortened in the directory.
    std::string deflated = slurp(fixture("f_csr.npz"));
    const std::size_t data_entry = deflated.rfind(std::string("PK\x01\x02", 4));
    const std::uint32_t size = static_cast<unsigned char>(deflated[data_entry + 20]);
    deflated[data_entry + 20] = static_cast<char>(size - 10);
    CHECK(text_error(dir, "f.npz", deflated) ==
          "f.npz: data.npy: truncated deflate data (it ends before its stream does)");
}

TEST_CASE("io sparse: bad Matrix Market files, each refused with one line naming the line") {
    TempDir dir;
    const std::string head = "%%MatrixMarket matrix coordinate real general\n";
    CHECK(text_error(dir, "s.mtx", "%%MatrixMarket matrix coordinate real symmetric\n2 2 1\n1 1 1\n") ==
          "s.mtx: line 1: a symmetric matrix is not a feature matrix (rows are points, columns features); "
          "write "
          "it as 'general'");
    CHECK(text_error(dir, "a.mtx", "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n") ==
          "a.mtx: line 1: expected '%%MatrixMarket matrix coordinate real general' (or integer or pattern), "
          "got "
          "'%%MatrixMarket matrix array real general'");
    CHECK(text_error(dir, "n.mtx", "1 2 3\n") ==
          "n.mtx: line 1: expected '%%MatrixMarket matrix coordinate real general' (or integer or pattern), "
          "got "
          "'1 2 3'");
    CHECK(text_error(dir, "r.mtx", head + "2 3 2\n1 1 1\n3 1 1\n") ==
          "r.mtx: line 4, column 1: '3' is not a row in 1..2");
    CHECK(text_error(dir, "c.mtx", head + "2 3 2\n1 4 1\n2 1 1\n") ==
          "c.mtx: line 3, column 2: '4' is not a column in 1..3");
    CHECK(text_error(dir, "few.mtx", head + "2 3 3\n1 1 1\n2 1 1\n") ==
          "few.mtx: expected 3 entries (line 2), found 2 (truncated?)");
    CHECK(text_error(dir, "many.mtx", head + "2 3 1\n1 1 1\n2 1 1\n") ==
          "many.mtx: line 4: more entries than the 1 declared on line 2");
    CHECK(text_error(dir, "v.mtx", head + "2 3 2\n1 1 1\n2 1 x1\n") ==
          "v.mtx: line 4, column 3: 'x1' is not a number");
    CHECK(text_error(dir, "i.mtx", head + "2 3 1\n1 1 inf\n") ==
          "i.mtx: line 3, column 3: 'inf' is not a finite number (NaN and Inf are not allowed)");
    CHECK(text_error(dir, "int.mtx", "%%MatrixMarket matrix coordinate integer general\n2 3 1\n1 1 1.5\n") ==
          "int.mtx: line 3, column 3: '1.5' is not an integer (the banner says integer)");
    CHECK(text_error(dir, "z.mtx", head + "0 3 0\n") ==
          "z.mtx: line 2: the matrix has 0 rows; there are no points");
    CHECK(text_error(dir, "e.mtx", "") == "e.mtx: is empty; expected a Matrix Market file");
}

TEST_CASE("io sparse: bad svmlight files, each refused with one line naming the line") {
    TempDir dir;
    CHECK(text_error(dir, "d.svm", "1 1:1 5:2\n0 3:1 2:4\n") ==
          "d.svm: line 2: index 2 after 3; indices must increase within a line");
    CHECK(text_error(dir, "e.svm", "1 1:1 1:2\n") ==
          "e.svm: line 1: index 1 after 1; indices must increase within a line");
    CHECK(text_error(dir, "n.svm", "1 1:1\n0 2:nan\n") ==
          "n.svm: line 2: the value of '2:nan' is not a finite number (NaN and Inf are not allowed)");
    CHECK(text_error(dir, "p.svm", "1 1:1 7\n") == "p.svm: line 1: '7' is not index:value");
    CHECK(text_error(dir, "i.svm", "1 -1:1\n") ==
          "i.svm: line 1: the index of '-1:1' is not a non-negative integer");
    CHECK(text_error(dir, "t.svm", "a 1:1\n") == "t.svm: line 1: target 'a' is not a number");
    CHECK(text_error(dir, "q.svm", "1 qid:x 1:1\n") == "q.svm: line 1: 'qid:x' is not qid:<integer>");
    CHECK(text_error(dir, "big.svm", "1 4294967295:1\n") ==
          "big.svm: line 1: the index of '4294967295:1' is too large (at most 4294967294)");
    CHECK(text_error(dir, "f.svm", "1\n2 # no entries\n") ==
          "f.svm: no features (no line holds an index:value pair)");
    CHECK(text_error(dir, "c.svm", "# only\n\n") ==
          "c.svm: no rows (the file is empty or has only comments)");
    CHECK(text_error(dir, "empty.svmlight", "") ==
          "empty.svmlight: no rows (the file is empty or has only comments)");
}

TEST_CASE("io sparse: other formats are not sparse, and the bounds hold") {
    TempDir dir;
    CHECK(text_error(dir, "x.csv", "1,2\n3,4\n") ==
          "x.csv: is not in a sparse format (extension '.csv', and the content is neither a zip archive nor "
          "Matrix Market); sparse input is a scipy.sparse .npz, a Matrix Market coordinate .mtx or svmlight "
          "text (.svm, .svmlight, .libsvm), each also gzip-compressed (.gz)");
    CHECK(
        text_error(dir, "data", "") ==
        "data: is not in a sparse format (no extension, and the content is neither a zip archive nor Matrix "
        "Market); sparse input is a scipy.sparse .npz, a Matrix Market coordinate .mtx or svmlight text "
        "(.svm, .svmlight, .libsvm), each also gzip-compressed (.gz)");
    // A member larger than the bound is refused before it is read (indptr.npy fits, indices.npy does not),
    // and the same file reads within a larger bound.
    const CsrMatrix big = random_csr(2000, 100, 0.2, 3);
    REQUIRE(big.nnz() > 35000);
    treesne::io::write_sparse_npz(dir / "big.npz", big, false);
    treesne::io::ReadLimits limits;
    limits.max_bytes = 100000;
    const std::string message = io_error([&] { treesne::io::read_sparse_matrix(dir / "big.npz", limits); });
    const std::string expected = dir / "big.npz" + ": reading indices.npy (" +
                                 std::to_string(128 + 4 * big.nnz()) + " bytes) needs about ";
    CHECK(message.substr(0, expected.size()) == expected);
    limits.max_bytes = 2000000;
    CHECK(treesne::io::read_sparse_matrix(dir / "big.npz", limits) == big);
    // Text is bounded as it is read.
    std::string rows;
    for (int i = 0; i < 500; ++i) rows += "1 1:1\n";
    spit(dir / "long.svm", rows);
    limits.max_bytes = 1000;
    const std::string text = io_error([&] { treesne::io::read_sparse_matrix(dir / "long.svm", limits); });
    CHECK(text.substr(0, text.find(" holds more than ")) == dir / "long.svm:");
    CHECK(contains(text, "of text, more than the memory available to read it"));
    limits.max_bytes = 100000;
    CHECK(treesne::io::read_sparse_matrix(dir / "long.svm", limits).nnz() == 500);
}
