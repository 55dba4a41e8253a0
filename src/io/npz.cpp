// scipy.sparse .npz files (scipy.sparse.save_npz, load_npz): a zip archive (io/zip.cpp) of .npy members.
// format.npy names the layout (a 0-d '|S3' or '<U3' array: csr, csc or coo), shape.npy holds (rows,
// columns); csr and csc store data.npy, indices.npy and indptr.npy, coo stores data.npy, row.npy and
// col.npy. Each member is read whole (its size checked against the bound first), converted into the
// arrays of the result and released, so that at most one raw member is held beside the result. csc and
// coo are regrouped by row; duplicates are added and zeros dropped, as scipy's sum_duplicates and
// eliminate_zeros would. The writer stores a CsrMatrix as save_npz does.
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/internal.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/io/io.hpp"

namespace treesne::io {
namespace detail {
namespace {

constexpr index_t kMaxDim = std::numeric_limits<point_t>::max();
/// format.npy and shape.npy hold a few hundred bytes; a larger one is not scipy's.
constexpr std::uint64_t kMaxSmallMember = 4096;

/// What the read holds, so that each allocation is checked against the bound before it is made: the
/// archive itself where it is in memory, the arrays converted so far, the raw member being converted.
class Budget {
  public:
    Budget(const Loaded& in, std::uint64_t held) : in_(in), held_(held) {}
    void need(std::uint64_t bytes, const std::string& what) const { check_fits(in_, held_ + bytes, 0, what); }
    void hold(std::uint64_t bytes) { held_ += bytes; }
    void release(std::uint64_t bytes) { held_ -= bytes; }

  private:
    const Loaded& in_;
    std::uint64_t held_;
};

/// A 1-D array member: its bytes, element type and length.
struct Array {
    std::string member;
    Bytes raw;
    Elem elem = Elem::f64;
    bool boolean = false;  ///< '|b1', held as u8
    std::uint64_t length = 0;
    std::size_t start = 0;  ///< of the elements in raw
};

/// The dtype's type code without its byte-order character ("<i4" -> "i4"); "" for big-endian.
std::string type_code(const std::string& descr) {
    if (descr.empty() || descr[0] == '>') return "";
    return descr.substr(descr[0] == '<' || descr[0] == '=' || descr[0] == '|' ? 1 : 0);
}

/// Sets a.elem from the dtype, refusing what an index array (integers) or a value array cannot be.
void set_elem(const std::string& file, Array& a, const std::string& descr, bool values) {
    const std::string code = type_code(descr);
    if (!values) {
        if ((code != "i4" && code != "i8") || descr[0] == '|')
            fail(file, a.member, " has dtype ", shown(descr),
                 "; indices must be int32 or int64 (little-endian)");
        a.elem = code == "i4" ? Elem::i32 : Elem::i64;
        return;
    }
    if (descr == "|b1") {
        a.boolean = true;
        a.elem = Elem::u8;
        return;
    }
    static const char* const kNumbers[] = {"f4", "f8", "u1", "i1", "i2", "u2", "i4", "u4", "i8", "u8"};
    for (const char* number : kNumbers) {
        if (code == number) {
            a.elem = npy_elem(concat(file, ": ", a.member), descr);
            return;
        }
    }
    fail(file, a.member, " has dtype ", shown(descr),
         "; values must be float64, float32, integers or bool (little-endian)");
}

/// The member, whose absence is explained by what the format needs.
const ZipMember& member_of(const ZipArchive& zip, const std::string& file, const char* member,
                           const std::string& format) {
    const ZipMember* m = zip.find(member);
    if (m) return *m;
    fail(file, "has no ", member, "; a ", format, " matrix is saved with data.npy, ",
         format == "coo" ? "row.npy and col.npy" : "indices.npy and indptr.npy");
}

/// A 1-D member read whole and checked: dtype (indices or values), length against its bytes.
Array read_array(ZipArchive& zip, const Loaded& in, Budget& budget, const ZipMember& zm, bool values) {
    budget.need(zm.size, concat(zm.name, " (", zm.size, " bytes)"));
    Array a;
    a.member = zm.name;
    a.raw = zip.read(zm);
    budget.hold(a.raw.size());
    const std::string label = concat(in.name, ": ", zm.name);
    const NpyInfo h = npy_info(label, a.raw);
    if (h.shape.size() != 1) fail(in.name, zm.name, " is a ", h.shape.size(), "-D array; expected 1-D");
    set_elem(in.name, a, h.descr, values);
    a.length = h.shape[0];
    a.start = h.data_start;
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(a.length, elem_size(a.elem), &bytes))
        fail(in.name, zm.name, " declares ", a.length, " entries, too many to address");
    if (bytes != a.raw.size() - a.start) {
        fail(in.name, zm.name, " holds ", a.raw.size() - a.start, " bytes of data, but its ", a.length,
             " entries of dtype ", shown(h.descr), " need ", bytes);
    }
    return a;
}

void drop(Array& a, Budget& budget) {
    budget.release(a.raw.size());
    Bytes().swap(a.raw);
}

template <class T, class Fn>
void each_as(const Array& a, Fn& fn) {
    const char* p = a.raw.data() + a.start;
    for (std::uint64_t k = 0; k < a.length; ++k) {
        T v;
        std::memcpy(&v, p + k * sizeof(T), sizeof(T));
        fn(k, v);
    }
}

/// Calls fn(k, value) for every element, value in its own type.
template <class Fn>
void each_element(const Array& a, Fn&& fn) {
    switch (a.elem) {
        case Elem::u8:
            return each_as<std::uint8_t>(a, fn);
        case Elem::i8:
            return each_as<std::int8_t>(a, fn);
        case Elem::i16:
            return each_as<std::int16_t>(a, fn);
        case Elem::u16:
            return each_as<std::uint16_t>(a, fn);
        case Elem::i32:
            return each_as<std::int32_t>(a, fn);
        case Elem::u32:
            return each_as<std::uint32_t>(a, fn);
        case Elem::i64:
            return each_as<std::int64_t>(a, fn);
        case Elem::u64:
            return each_as<std::uint64_t>(a, fn);
        case Elem::f32:
            return each_as<float>(a, fn);
        case Elem::f64:
            return each_as<double>(a, fn);
    }
}

/// Calls fn(k, value) for every element of an index array (int32 or int64), value as int64.
template <class Fn>
void each_index(const Array& a, Fn&& fn) {
    auto wide = [&](std::uint64_t k, auto v) { fn(k, static_cast<std::int64_t>(v)); };
    if (a.elem == Elem::i32) return each_as<std::int32_t>(a, wide);
    each_as<std::int64_t>(a, wide);
}

/// indptr.npy as offsets: major + 1 entries from 0, never decreasing.
std::vector<index_t> read_pointers(const std::string& file, const Array& a, index_t major,
                                   const std::string& format) {
    if (a.length != static_cast<std::uint64_t>(major) + 1) {
        fail(file, a.member, " holds ", a.length, " entries; a ", format, " matrix of ", major,
             format == "csr" ? " rows" : " columns", " needs ", major + 1);
    }
    std::vector<index_t> offsets(static_cast<std::size_t>(a.length));
    each_index(a, [&](std::uint64_t k, std::int64_t v) {
        if (k == 0 && v != 0) fail(file, a.member, " entry 0 is ", v, "; it must be 0");
        if (k > 0 && v < offsets[k - 1]) {
            fail(file, a.member, " entry ", k, " is ", v, ", less than entry ", k - 1, " (", offsets[k - 1],
                 "); it must not decrease");
        }
        offsets[k] = v;
    });
    return offsets;
}

/// An index array (indices, row, col) as point_t, each in [0, limit).
std::vector<point_t> read_indices(const std::string& file, const Array& a, index_t limit, const char* what) {
    std::vector<point_t> out(static_cast<std::size_t>(a.length));
    each_index(a, [&](std::uint64_t k, std::int64_t v) {
        if (v < 0) fail(file, a.member, " entry ", k, " is ", what, " ", v, ", a negative index");
        if (v >= limit)
            fail(file, a.member, " entry ", k, " is ", what, " ", v, " but the shape has ", limit, " ", what,
                 "s");
        out[k] = static_cast<point_t>(v);
    });
    return out;
}

/// data.npy as doubles (bool as 0 and 1), each finite.
std::vector<double> read_values(const std::string& file, const Array& a) {
    std::vector<double> out(static_cast<std::size_t>(a.length));
    each_element(a, [&](std::uint64_t k, auto v) {
        const double d = a.boolean ? static_cast<double>(v != 0) : static_cast<double>(v);
        if (!std::isfinite(d))
            fail(file, a.member, " entry ", k, " is ", std::isnan(d) ? "NaN" : "infinite",
                 " (NaN and Inf are not allowed)");
        out[k] = d;
    });
    return out;
}

void check_length(const std::string& file, const Array& a, std::uint64_t n, const std::string& from) {
    if (a.length != n) fail(file, a.member, " holds ", a.length, " entries but ", from);
}

/// The members' names, for the message about an archive that is not scipy's.
std::string member_list(const ZipArchive& zip) {
    std::string out;
    std::size_t n = 0;
    for (const ZipMember& m : zip.members()) {
        if (n++ == 5) return out + ", ...";
        out += concat(out.empty() ? "" : ", ", shown(m.name));
    }
    return out.empty() ? "none" : out;
}

/// A 0-d or small member (format.npy, shape.npy) read whole, with its header.
std::pair<Bytes, NpyInfo> read_small(ZipArchive& zip, const Loaded& in, const ZipMember& zm) {
    if (zm.size > kMaxSmallMember)
        fail(in.name, zm.name, " is ", zm.size, " bytes; scipy.sparse writes a few hundred");
    Bytes raw = zip.read(zm);
    NpyInfo h = npy_info(concat(in.name, ": ", zm.name), raw);
    return {std::move(raw), std::move(h)};
}

/// format.npy: a 0-d byte ('|S3') or unicode ('<U3') string; returns it in lower case.
std::string read_format(ZipArchive& zip, const Loaded& in) {
    const ZipMember* zm = zip.find("format.npy");
    if (!zm) {
        fail(in.name, "is not a scipy.sparse .npz: it has no format.npy (its members: ", member_list(zip),
             "); save the matrix with scipy.sparse.save_npz");
    }
    const auto [raw, h] = read_small(zip, in, *zm);
    const std::string code = type_code(h.descr);
    const bool bytes = !code.empty() && code[0] == 'S', unicode = !code.empty() && code[0] == 'U';
    index_t chars = 0;
    if (!h.shape.empty() || (!bytes && !unicode) || !parse_int(std::string_view(code).substr(1), chars) ||
        chars < 1 || chars > 16 ||
        raw.size() - h.data_start != static_cast<std::size_t>(chars * (unicode ? 4 : 1))) {
        fail(in.name, "format.npy is not a short string (dtype ", shown(h.descr), ", ", h.shape.size(),
             "-D); expected the format name as scipy.sparse.save_npz writes it");
    }
    std::string format;
    for (index_t c = 0; c < chars; ++c) {
        const char* p = raw.data() + h.data_start + c * (unicode ? 4 : 1);
        const std::uint32_t u = unicode ? load_le32(p) : static_cast<unsigned char>(*p);
        if (u == 0) break;
        format.push_back(u < 0x80 ? static_cast<char>(u) : '?');
    }
    return to_lower(format);
}

/// shape.npy: (rows, columns), each in [1, 2^32 - 1].
std::pair<index_t, index_t> read_shape(ZipArchive& zip, const Loaded& in, const std::string& format) {
    const ZipMember& zm = member_of(zip, in.name, "shape.npy", format);
    const auto [raw, h] = read_small(zip, in, zm);
    Array a;
    a.member = zm.name;
    set_elem(in.name, a, h.descr, false);
    if (h.shape.size() != 1 || h.shape[0] != 2 || raw.size() - h.data_start != 2 * elem_size(a.elem))
        fail(in.name, "shape.npy does not hold 2 numbers (rows, columns)");
    a.raw = raw;
    a.length = 2;
    a.start = h.data_start;
    std::int64_t dims[2] = {0, 0};
    each_index(a, [&](std::uint64_t k, std::int64_t v) { dims[k] = v; });
    if (dims[0] < 1) fail(in.name, "shape.npy says ", dims[0], " rows; there are no points");
    if (dims[1] < 1) fail(in.name, "shape.npy says ", dims[1], " columns; there are no features");
    if (dims[0] > kMaxDim || dims[1] > kMaxDim) {
        fail(in.name, "shape.npy says ", dims[0], " x ", dims[1], ", too large (at most ", kMaxDim,
             " rows and columns)");
    }
    return {dims[0], dims[1]};
}

/// The values of data.npy, nnz of them (as `from` says).
std::vector<double> read_data(ZipArchive& zip, const Loaded& in, Budget& budget, const std::string& format,
                              std::uint64_t nnz, const std::string& from) {
    Array a = read_array(zip, in, budget, member_of(zip, in.name, "data.npy", format), true);
    check_length(in.name, a, nnz, from);
    budget.need(8 * nnz, "its values");
    std::vector<double> values = read_values(in.name, a);
    budget.hold(8 * nnz);
    drop(a, budget);
    return values;
}

/// An index member (indices, row, col), nnz of them (as `from` says), each below limit.
std::vector<point_t> read_index_member(ZipArchive& zip, const Loaded& in, Budget& budget, const char* member,
                                       const std::string& format, std::uint64_t nnz, const std::string& from,
                                       index_t limit, const char* what) {
    Array a = read_array(zip, in, budget, member_of(zip, in.name, member, format), false);
    if (!from.empty()) check_length(in.name, a, nnz, from);
    budget.need(4 * a.length, concat("its ", a.length, " indices"));
    std::vector<point_t> out = read_indices(in.name, a, limit, what);
    budget.hold(4 * a.length);
    drop(a, budget);
    return out;
}

/// csr or csc: indptr, indices, data; csc is regrouped by row.
CsrMatrix read_compressed(ZipArchive& zip, const Loaded& in, Budget& budget, const std::string& format,
                          index_t rows, index_t cols) {
    const bool csr = format == "csr";
    const index_t major = csr ? rows : cols;
    Array ptr = read_array(zip, in, budget, member_of(zip, in.name, "indptr.npy", format), false);
    budget.need(8 * (static_cast<std::uint64_t>(major) + 1), "its index pointers");
    std::vector<index_t> offsets = read_pointers(in.name, ptr, major, format);
    budget.hold(8 * (static_cast<std::uint64_t>(major) + 1));
    drop(ptr, budget);
    const auto nnz = static_cast<std::uint64_t>(offsets.back());
    const std::string from = concat("indptr.npy ends at ", nnz);
    std::vector<point_t> minor = read_index_member(zip, in, budget, "indices.npy", format, nnz, from,
                                                   csr ? cols : rows, csr ? "column" : "row");
    std::vector<double> values = read_data(zip, in, budget, format, nnz, from);
    if (csr) {
        CsrMatrix m;
        m.rows = rows;
        m.cols = cols;
        m.offsets = std::move(offsets);
        m.columns = std::move(minor);
        m.values = std::move(values);
        canonicalize_rows(in.name, m, 0);
        return m;
    }
    budget.need(4 * nnz + csr_bytes(static_cast<std::uint64_t>(rows), nnz), "its rows regrouped");
    std::vector<point_t> col(static_cast<std::size_t>(nnz));
    for (index_t j = 0; j < cols; ++j) {
        for (index_t k = offsets[static_cast<std::size_t>(j)]; k < offsets[static_cast<std::size_t>(j) + 1];
             ++k)
            col[static_cast<std::size_t>(k)] = static_cast<point_t>(j);
    }
    std::vector<index_t>().swap(offsets);
    return csr_from_entries(in.name, rows, cols, std::move(minor), std::move(col), std::move(values), 0);
}

/// coo: row, col, data of one length; regrouped by row.
CsrMatrix read_coo(ZipArchive& zip, const Loaded& in, Budget& budget, index_t rows, index_t cols) {
    std::vector<point_t> row = read_index_member(zip, in, budget, "row.npy", "coo", 0, "", rows, "row");
    const std::uint64_t nnz = row.size();
    const std::string from = concat("row.npy holds ", nnz);
    std::vector<point_t> col =
        read_index_member(zip, in, budget, "col.npy", "coo", nnz, from, cols, "column");
    std::vector<double> values = read_data(zip, in, budget, "coo", nnz, from);
    budget.need(csr_bytes(static_cast<std::uint64_t>(rows), nnz), "its rows regrouped");
    return csr_from_entries(in.name, rows, cols, std::move(row), std::move(col), std::move(values), 0);
}

/// Writes an array's elements as T, converted a block at a time.
template <class T, class Src>
void put_as(ZipWriter& zip, const Src* src, std::uint64_t n) {
    constexpr std::size_t kBlock = 8192;
    T buf[kBlock];
    for (std::uint64_t at = 0; at < n; at += kBlock) {
        const auto part = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, n - at));
        for (std::size_t i = 0; i < part; ++i) buf[i] = static_cast<T>(src[at + i]);
        zip.put(buf, part * sizeof(T));
    }
}

/// An index array (indices or indptr) as a member of int32 or int64 elements.
template <class Src>
void put_index_member(ZipWriter& zip, const char* member, const Src* src, std::uint64_t n, bool wide) {
    zip.begin(member);
    const std::string header = npy_header({n}, 0, wide ? "<i8" : "<i4");
    zip.put(header.data(), header.size());
    if (wide) {
        put_as<std::int64_t>(zip, src, n);
    } else {
        put_as<std::int32_t>(zip, src, n);
    }
    zip.end();
}

/// Refuses, before any file is created, a matrix whose archive would pass 4 GiB (zip64 is not written).
void check_npz_size(const std::string& path, ConstCsrView m, bool wide) {
    const auto nnz = static_cast<std::uint64_t>(m.nnz());
    const std::uint64_t index = wide ? 8 : 4;
    const std::uint64_t sizes[] = {index * nnz, index * (static_cast<std::uint64_t>(m.rows) + 1), 8 * nnz};
    std::uint64_t total = 4096;  // headers, the small members, the directory
    for (const std::uint64_t size : sizes) total += compressBound(static_cast<uLong>(size)) + 256;
    if (total > 0xFFFFFFFFu)
        fail(path, "a matrix of ", nnz, " entries makes an .npz past 4 GiB; zip64 archives are not written");
}

}  // namespace

CsrMatrix parse_npz(ZipArchive& zip, const Loaded& in) {
    const std::string format = read_format(zip, in);
    if (format != "csr" && format != "csc" && format != "coo") {
        fail(in.name, "format.npy says ", shown(format),
             "; only csr, csc and coo matrices are read (convert it with .tocsr() before saving)");
    }
    const auto [rows, cols] = read_shape(zip, in, format);
    Budget budget(in, zip.held());
    return format == "coo" ? read_coo(zip, in, budget, rows, cols)
                           : read_compressed(zip, in, budget, format, rows, cols);
}

}  // namespace detail

void write_sparse_npz(const std::string& path, ConstCsrView m, bool compress) {
    const std::string defect = csr_matrix_defect(m);
    // A non-finite value is an IoError, as for write_matrix; the rows are looked at only while their
    // offsets are sound.
    for (index_t i = 0; !defect.empty() && m.offsets && i < m.rows && m.row_end(i) >= m.row_begin(i); ++i) {
        for (index_t e = m.row_begin(i); e < m.row_end(i); ++e) {
            if (!std::isfinite(m.values[e]))
                detail::fail_non_finite(path, m.values[e], i + 1, index_t{m.columns[e]} + 1);
        }
    }
    require(defect.empty(), "write_sparse_npz: not a valid CSR matrix: ", defect);
    const auto nnz = static_cast<std::uint64_t>(m.nnz());
    constexpr auto kInt32 = static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max());
    const bool wide = nnz > kInt32 || static_cast<std::uint64_t>(m.rows) > kInt32 ||
                      static_cast<std::uint64_t>(m.cols) > kInt32;
    detail::check_npz_size(path, m, wide);
    AtomicFile file(path);
    detail::ZipWriter zip(file, path, compress);
    // The members in save_npz's order.
    detail::put_index_member(zip, "indices.npy", m.columns, nnz, wide);
    detail::put_index_member(zip, "indptr.npy", m.offsets, static_cast<std::uint64_t>(m.rows) + 1, wide);
    const std::string format = detail::npy_header({}, 0, "|S3") + "csr";
    zip.begin("format.npy");
    zip.put(format.data(), format.size());
    zip.end();
    const std::int64_t shape[2] = {m.rows, m.cols};
    const std::string shape_header = detail::npy_header({2}, 0, "<i8");
    zip.begin("shape.npy");
    zip.put(shape_header.data(), shape_header.size());
    zip.put(shape, sizeof shape);
    zip.end();
    const std::string data_header = detail::npy_header({nnz}, 0, "<f8");
    zip.begin("data.npy");
    zip.put(data_header.data(), data_header.size());
    zip.put(m.values, nnz * sizeof(double));
    zip.end();
    zip.finish();
    file.commit();
}

}  // namespace treesne::io
