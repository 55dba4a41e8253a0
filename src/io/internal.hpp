// Private to the readers and writers (src/io*.cpp, src/io/atomic_file.cpp): what the formats share. Not
// installed, not part of the API.
//
// Every reader first decides the format from the name and the first bytes of the content (inflated, for
// gzip), then reads the rest into memory and parses that buffer in one pass: no per-line or per-cell
// allocation, so a 60,000 x 784 Fashion-MNIST file or a 70,000 x 50 CSV reads in a fraction of a second.
// What is read is bounded before it is read: a binary format no further than its header promises (one
// byte more shows a file too long), text no further than the memory limit, with NUL bytes, invalid UTF-8
// and over-long lines refused as they arrive, so /dev/zero or a decompression bomb fails in a moment.
// Sizes declared inside binary files are checked with overflow-safe arithmetic before anything is
// allocated: a corrupt header cannot make us reserve terabytes. Binary formats are little-endian (IDX is
// big-endian by definition); the host must be too.
#pragma once

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "treesne/core/errors.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/core/types.hpp"
#include "treesne/io/io.hpp"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "treesne's binary readers and writers assume a little-endian host"
#endif

namespace treesne::io::detail {

using Bytes = std::vector<char>;

template <class... Parts>
[[noreturn]] void fail(std::string_view file, const Parts&... parts) {
    throw IoError(concat(file, ": ", parts...));
}

// --- small string helpers (io.cpp) ----------------------------------------------------------------

/// The name used in messages: the path as given, or "standard input" for "-".
std::string display_name(const std::string& path);
std::string to_lower(std::string_view s);
bool ends_with(std::string_view s, std::string_view suffix);
/// Lower-case extension of the last path component, with its dot ("" when there is none).
std::string extension_of(std::string_view path);

inline bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s);

/// A cell as it may appear in a message: at most 40 bytes (cut at a character boundary), control
/// characters escaped, so the message stays on one line.
std::string shown(std::string_view cell);

inline std::uint32_t load_le32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return std::uint32_t{u[0]} | std::uint32_t{u[1]} << 8 | std::uint32_t{u[2]} << 16 |
           std::uint32_t{u[3]} << 24;
}

inline std::uint32_t load_be32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return std::uint32_t{u[0]} << 24 | std::uint32_t{u[1]} << 16 | std::uint32_t{u[2]} << 8 |
           std::uint32_t{u[3]};
}

/// Runs a reader, reporting a failed allocation as an IoError about the file: input too large for memory
/// is a property of the input, and the caller should see which file and why.
template <class Fn>
auto with_memory_check(const std::string& path, Fn&& fn) {
    try {
        return fn();
    } catch (const std::bad_alloc&) {
        fail(display_name(path), "not enough memory to read it");
    }
}

// --- input: files, standard input and gzip (io/gzip.cpp) ------------------------------------------

/// A file ("-": standard input) as a stream of content bytes, inflated as it is read when it is
/// gzip-compressed (recognised by its magic, whatever its name). Counts what it reads into a ReadStats.
class Source {
  public:
    /// Opens the file and reads its first bytes. Throws IoError naming it when the name is empty, the
    /// path is a directory or it cannot be opened ("cannot open: <strerror>").
    Source(const std::string& path, ReadStats* stats);
    ~Source();
    Source(const Source&) = delete;
    Source& operator=(const Source&) = delete;

    /// Appends up to n content bytes to out; returns how many, 0 only at the end of the content. Throws
    /// IoError for a read error, broken gzip data and gzip content past 16 GiB.
    std::size_t read(Bytes& out, std::size_t n);
    bool gzip() const;
    /// The size in bytes of an uncompressed regular file (what its content will be), else 0.
    std::uint64_t known_size() const;
    /// The likely size of the content, to reserve for it: known_size(), or for a gzip regular file the
    /// size its trailer records (bounded: see io/gzip.cpp); 0 when unknown.
    std::uint64_t size_hint() const;
    /// Reads up to n bytes at byte `offset` of an uncompressed regular file (known_size() > 0), without
    /// moving the stream read() reads from; returns how many, fewer only at the end of the file. Throws
    /// IoError for a read error. For readers of a block of rows (read_matrix_rows).
    std::size_t read_at(std::uint64_t offset, char* dst, std::size_t n);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Appends content from src to out until out holds `want` bytes or the content ends; returns whether it
/// holds them. Reads in growing chunks, never past `want`.
bool fill(Source& src, Bytes& out, std::uint64_t want);

/// A file's content (inflated if it was gzip) and the name that decides its format (".gz" removed).
struct Loaded {
    Bytes bytes;
    std::string name;   ///< for messages
    std::string inner;  ///< for format dispatch
    /// Bytes the read may hold, the content and what is parsed from it together (ReadLimits, resolved:
    /// never 0; the largest uint64 where there is no bound).
    std::uint64_t max_bytes = 0;
};

/// What load() reads: a data matrix or labels (any format), Matrix Market affinities (text whose banner
/// is checked on the first bytes), or lines of text.
enum class Expect { data, affinities, text };

/// Reads a file within limits: its first bytes, which decide the format (or, for affinities, must hold
/// the Matrix Market banner), then as much more as the format's header promises, or, for text, up to the
/// limits, refusing NUL bytes, invalid UTF-8 and lines without an end as they arrive.
Loaded load(const std::string& path, Expect expect, const ReadLimits& limits, ReadStats* stats);

/// load()'s first step, on an open src: sets in's names and bound (limits resolved), refuses a `.gz` name
/// on content that is not gzip and gzip inside gzip, and reads the first bytes, which decide the format.
/// With `reserve`, first reserves room for the whole content (where its size is known or likely).
/// Returns whether the content ended within those bytes.
bool load_prefix(Source& src, const std::string& path, const ReadLimits& limits, bool reserve, Loaded& in);

/// Throws IoError naming the file unless `bytes` plus `values` doubles fit in in.max_bytes; `what` says
/// what they hold ("its 70000 x 784 values").
void check_fits(const Loaded& in, std::uint64_t bytes, std::uint64_t values, const std::string& what);

/// load()'s reading of text, after load_prefix(): the rest of the content chunk by chunk, each checked as
/// it arrives (TextCheck), up to the memory bound. With a non-empty `banner`, the first chunk must start
/// with the Matrix Market banner, `banner` being what the message says is expected.
void read_text(Source& src, Loaded& in, const ReadLimits& limits, bool ended, std::string_view banner);

/// The whole content of src after load_prefix() into in.bytes, up to the memory bound (binary content
/// read whole, such as a zip archive that cannot be read by offset).
void read_all(Source& src, Loaded& in, bool ended);

// --- format dispatch (io.cpp) ---------------------------------------------------------------------

enum class Format { text, npy, idx, dat };

/// The format of loaded content, from its name first, then its first bytes; text when nothing else fits.
Format detect_format(const Loaded& in);
Matrix parse_matrix(const Loaded& in);

// --- delimited text (io/text.cpp) -----------------------------------------------------------------

/// Checks text as it arrives, chunk by chunk: refuses NUL bytes and invalid UTF-8 (most likely a binary
/// file whose format we did not recognise) and lines longer than max_line bytes (no line end: a binary
/// stream, an endless line), each with the file's name and the offset or line.
class TextCheck {
  public:
    TextCheck(const std::string& name, std::uint64_t max_line) : name_(name), max_line_(max_line) {}
    /// Checks the bytes of text not checked yet; `last`: no more will come.
    void check(const Bytes& text, bool last);

  private:
    const std::string& name_;
    std::uint64_t max_line_;
    std::size_t utf8_done_ = 0;   // bytes valid as UTF-8 so far (a sequence cut by the chunk waits)
    std::size_t lines_done_ = 0;  // bytes whose line ends were scanned
    std::size_t line_start_ = 0;  // where the current line starts
    index_t line_ = 1;            // its number
};

/// The text of content that load() has checked (TextCheck), without a leading byte-order mark.
std::string_view text_of(const Bytes& bytes);

/// Splits text into lines ("\n" or "\r\n"), counting them from 1.
class Lines {
  public:
    explicit Lines(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}
    bool next(std::string_view& line) {
        if (p_ == end_) return false;
        const auto* nl = static_cast<const char*>(std::memchr(p_, '\n', static_cast<std::size_t>(end_ - p_)));
        const char* stop = nl ? nl : end_;
        const char* e = stop;
        if (e > p_ && e[-1] == '\r') --e;
        line = std::string_view(p_, static_cast<std::size_t>(e - p_));
        p_ = nl ? nl + 1 : end_;
        ++number_;
        return true;
    }
    index_t number() const { return number_; }
    std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }

  private:
    const char* p_;
    const char* end_;
    index_t number_ = 0;
};

enum class Num { ok, empty, not_number, not_finite, overflow };

/// Parses a whole cell as a finite double: "1e5", "-.5", "+3" are numbers; "nan", "inf" and values that
/// overflow to infinity are not finite; underflow gives zero or a subnormal, as strtod does.
Num parse_number(std::string_view s, double& out);

inline std::string_view unquote(std::string_view cell) {
    if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"') return cell.substr(1, cell.size() - 2);
    return cell;
}

/// Calls fn(cell, column) for each trimmed, unquoted cell (columns from 1); returns the number of cells.
/// A delimiter of ' ' splits at runs of whitespace.
template <class Fn>
index_t for_each_cell(std::string_view line, char delim, Fn&& fn) {
    index_t column = 0;
    const char* p = line.data();
    const char* end = p + line.size();
    if (delim == ' ') {
        for (;;) {
            while (p < end && is_space(*p)) ++p;
            if (p == end) break;
            const char* start = p;
            while (p < end && !is_space(*p)) ++p;
            fn(unquote(std::string_view(start, static_cast<std::size_t>(p - start))), ++column);
        }
        return column;
    }
    for (;;) {
        const auto* d = static_cast<const char*>(std::memchr(p, delim, static_cast<std::size_t>(end - p)));
        const char* stop = d ? d : end;
        fn(unquote(trim(std::string_view(p, static_cast<std::size_t>(stop - p)))), ++column);
        if (!d) break;
        p = d + 1;
    }
    return column;
}

/// Throws the IoError for a cell that parse_number refused with `status`.
[[noreturn]] void fail_cell(const std::string& name, index_t line, index_t column, std::string_view cell,
                            Num status);

/// Delimited text: one pass over the buffer, values appended to one vector.
Matrix parse_text_matrix(const Loaded& in);

// --- labels (io/labels.cpp) -----------------------------------------------------------------------

/// One label per line: numbers (codes in numeric order) or names (codes in order of first appearance).
Labels parse_text_labels(const Loaded& in);
/// The targets of svmlight text as labels (codes in numeric order, names as written).
Labels svmlight_labels(const Loaded& in);
/// Labels from a one-column matrix of integers.
Labels labels_from_matrix(const std::string& name, const Matrix& m);

// --- binary matrices (io/binary.cpp, io/npy.cpp, io/idx.cpp, io/dat.cpp) ---------------------------

enum class Elem { u8, i8, i16, u16, i32, u32, i64, u64, f32, f64 };

std::size_t elem_size(Elem e);

/// Converts rows x cols packed elements to a Matrix of doubles, refusing NaN and Inf (named by row
/// first_row + i + 1, so that a block of rows names the row of the file). Instantiated for little-endian
/// (false) and big-endian (true) data.
template <bool BigEndian>
Matrix convert(const std::string& name, Elem e, const char* src, index_t rows, index_t cols,
               index_t first_row = 0);

/// rows x cols elements of `size` bytes: refuses 0 rows or columns and products too large to address;
/// returns the data size in bytes.
std::uint64_t data_bytes(const std::string& name, std::uint64_t rows, std::uint64_t cols, std::size_t size);

/// rows x cols elements of `size` bytes: checks that the product neither overflows nor exceeds `avail`
/// bytes, and that there is nothing after the data. Returns the data size in bytes.
std::uint64_t check_data_size(const std::string& name, std::uint64_t rows, std::uint64_t cols,
                              std::size_t size, std::uint64_t avail);

Matrix parse_npy(const Loaded& in);

/// A .npy header as written: dtype string, order, shape, and where the data start.
struct NpyInfo {
    std::string descr;
    bool fortran = false;
    std::vector<std::uint64_t> shape;
    std::size_t data_start = 0;
};
/// The header at the start of b (all of it present): magic, version and the dict, parsed but not
/// interpreted (any dtype, any number of dimensions), or an IoError naming `name`.
NpyInfo npy_info(const std::string& name, const Bytes& b);
/// Maps a numpy dtype string ('<f8', '|u1', '=i4'...) to an element type; refuses the rest clearly.
Elem npy_elem(const std::string& name, const std::string& descr);
Matrix parse_idx(const Loaded& in);
Matrix parse_dat(const Loaded& in);

/// What a binary header promises: the most bytes the file may have, the values it holds, and those
/// values in words ("the 2 x 3 values it declares"), for messages.
struct Promise {
    std::uint64_t bytes = 0;
    std::uint64_t values = 0;
    std::string what;
};

/// How many bytes of a file starting with `head` its header needs: more than head.size() while the
/// header is incomplete (the loader reads that many, then asks again), at most head.size() when head
/// holds it or cannot start one (promise() then explains).
std::size_t npy_header_size(const Bytes& head);
std::size_t idx_header_size(const Bytes& head);
constexpr std::size_t dat_header_size = 8;

/// The promise of the header at the start of `head` (all of it present, or the file ended), or an
/// IoError for a header that is truncated or invalid.
Promise npy_promise(const std::string& name, const Bytes& head);
Promise idx_promise(const std::string& name, const Bytes& head);
Promise dat_promise(const std::string& name, const Bytes& head);

/// The header of a binary format at the start of in.bytes, read from src as far as it needs, and what it
/// promises (or an IoError, as *_promise()).
Promise read_header(Source& src, Loaded& in, Format format);
/// Throws the IoError of a file of `size` bytes longer than its header promises.
void check_not_longer(const std::string& name, std::uint64_t size, const Promise& promise);

/// Where the values of a binary matrix file lie, for reading rows by offset: row i (0-based) is the
/// cols elements from data_start + i * cols * elem_size(elem).
struct BinaryLayout {
    Elem elem = Elem::f64;
    bool big_endian = false;
    std::uint64_t rows = 0, cols = 0;
    std::uint64_t data_start = 0;
};

/// The layout of a regular uncompressed file of file_size bytes whose whole header is at the start of
/// `head`, after the checks its parser makes on the size (truncated, too long, no layout that fits), with
/// the parser's messages. dat_layout_of reads the landmarks of a possible result file from src.
BinaryLayout npy_layout_of(const std::string& name, const Bytes& head, std::uint64_t file_size);
BinaryLayout idx_layout_of(const std::string& name, const Bytes& head, std::uint64_t file_size);
BinaryLayout dat_layout_of(const std::string& name, const Bytes& head, std::uint64_t file_size, Source& src);

// --- blocks of rows (io.cpp) ----------------------------------------------------------------------

/// A matrix file opened for reading blocks of its rows: src is null when its rows cannot be read by
/// offset (text, gzip, standard input, a pipe); else `in` holds its first bytes and header.
struct BlockFile {
    std::unique_ptr<Source> src;
    Loaded in;
    BinaryLayout layout;
};

/// Opens path for read_matrix_shape and read_matrix_rows, with every check read_matrix makes before the
/// values (the file, its header, its size against the header), with read_matrix's messages.
BlockFile open_blocks(const std::string& path, const ReadLimits& limits, ReadStats* stats);
/// Rows [first, first + count) of an opened file (src not null, the range checked), converted as
/// read_matrix converts them; a non-finite value is named by its row in the file.
Matrix read_block(BlockFile& file, index_t first, index_t count);

/// The Matrix Market banner on the first line of `head` (a prefix of the file, or all of it), or an
/// IoError naming the file and saying that `expected` was expected.
void check_mtx_banner(const std::string& name, const Bytes& head, std::string_view expected);
/// What read_affinities expects on the first line, for messages.
inline constexpr std::string_view kAffinitiesBanner =
    "'%%MatrixMarket matrix coordinate real general' (or symmetric)";

/// Splits a line on whitespace into at most `max` tokens; returns the token count (max + 1 if more).
std::size_t tokens(std::string_view line, std::string_view* out, std::size_t max);
/// A whole token as a decimal integer.
bool parse_int(std::string_view s, index_t& v);

// --- sparse feature matrices (io/sparse.cpp, io/svmlight.cpp, io/npz.cpp, io/zip.cpp) --------------

/// The Matrix Market coordinate feature matrix of loaded text (banner, size line, 1-based entries).
CsrMatrix parse_mtx_features(const Loaded& in);

/// True for a name (without ".gz") that svmlight / libsvm text goes by: .svm, .svmlight, .libsvm.
bool is_svmlight_name(std::string_view inner);
/// The feature matrix of loaded svmlight text ("target [qid:n] index:value ... [# comment]").
CsrMatrix parse_svmlight(const Loaded& in);
/// The targets of loaded svmlight text, one per row as written, each checked to be a finite number.
std::vector<std::string_view> svmlight_targets(const Loaded& in);

/// Bytes a CsrMatrix of `rows` rows and `nnz` entries holds (csr_matrix_bytes, in integers).
inline std::uint64_t csr_bytes(std::uint64_t rows, std::uint64_t nnz) {
    return 8 * (rows + 1) + 12 * nnz;
}

/// Brings m's rows to CsrMatrix's invariants in place: each row's entries sorted by column (stably),
/// entries at one column added in the order stored, zeros dropped. Rows and columns are named in
/// messages `base`-based (0 for numpy arrays, 1 for text formats). Columns must be below m.cols.
void canonicalize_rows(const std::string& name, CsrMatrix& m, index_t base);
/// The CSR matrix of entries k = (row[k], col[k], values[k]), each within rows x cols (checked by the
/// caller): grouped by row (stably), then canonicalize_rows. Releases the inputs as it goes.
CsrMatrix csr_from_entries(const std::string& name, index_t rows, index_t cols, std::vector<point_t> row,
                           std::vector<point_t> col, std::vector<double> values, index_t base);

/// One member of a zip archive, as its central directory describes it.
struct ZipMember {
    std::string name;
    std::uint16_t flags = 0;
    std::uint16_t method = 0;  ///< 0 stored, 8 deflate
    std::uint32_t crc = 0;
    std::uint64_t compressed = 0, size = 0;
    std::uint64_t header_offset = 0;  ///< of its local header
};

/// A zip archive (the container of .npz files) read by offset: a regular uncompressed file through
/// Source::read_at, anything else (standard input, gzip, a pipe) read whole first, within the bound.
/// Zip64 archives (members or offsets past 4 GiB, more than 65535 members) and multi-disk archives are
/// refused on opening; an encrypted member, or one compressed otherwise than stored or deflate, when read.
class ZipArchive {
  public:
    /// Reads the end record and the central directory (after load_prefix(); `ended`: the content ended
    /// within the prefix). Throws IoError naming the file for what is not a zip archive, a truncated one
    /// and the refused kinds.
    ZipArchive(Source& src, Loaded& in, bool ended);
    const std::vector<ZipMember>& members() const { return members_; }
    /// The member of that name, or null.
    const ZipMember* find(std::string_view name) const;
    /// Bytes held in memory for the archive itself (0 when read by offset).
    std::uint64_t held() const { return memory_ ? in_.bytes.size() : 0; }
    /// The content of a member, inflated and checked against its size and CRC-32 (the caller bounds
    /// m.size first: it is allocated at once).
    Bytes read(const ZipMember& m);

  private:
    void read_at(std::uint64_t offset, char* dst, std::size_t n, const char* what);
    std::uint64_t member_start(const ZipMember& m);
    void inflate_member(const ZipMember& m, std::uint64_t start, Bytes& out);

    Source& src_;
    Loaded& in_;
    bool memory_ = false;
    std::uint64_t size_ = 0;
    std::vector<ZipMember> members_;
};

/// Writes a zip archive into an AtomicFile, member by member, stored or deflated (no zip64: a member or
/// the archive past 4 GiB is refused with an IoError).
class ZipWriter {
  public:
    ZipWriter(AtomicFile& file, std::string name, bool deflate);
    ~ZipWriter();
    ZipWriter(const ZipWriter&) = delete;
    ZipWriter& operator=(const ZipWriter&) = delete;
    /// Starts a member (writes its local header).
    void begin(const std::string& member);
    /// Appends to the current member's content.
    void put(const void* data, std::size_t n);
    /// Ends the current member (writes its sizes and CRC-32 into its local header).
    void end();
    /// Writes the central directory and the end record.
    void finish();

  private:
    void emit(const void* data, std::size_t n);
    void deflate_some(const void* data, std::size_t n, bool last);

    AtomicFile& file_;
    std::string name_;
    bool deflate_;
    void* zs_ = nullptr;  // z_stream of the current member, when deflating
    std::vector<char> zbuf_;
    std::uint64_t written_ = 0;
    ZipMember current_;
    std::vector<ZipMember> done_;
};

/// The scipy.sparse matrix (csr, csc or coo) saved in a zip archive by scipy.sparse.save_npz.
CsrMatrix parse_npz(ZipArchive& zip, const Loaded& in);

// --- output (atomic_file.cpp and each format's writer) ---------------------------------------------

/// Buffers output for an AtomicFile or, without one, standard output.
class Output {
  public:
    explicit Output(AtomicFile* file) : file_(file) { buf_.reserve(kFlushAt + 4096); }
    void put(const void* data, std::size_t n) {
        if (n >= kFlushAt) {  // a large block (a whole binary matrix) goes out without a copy
            flush();
            sink(data, n);
            return;
        }
        buf_.append(static_cast<const char*>(data), n);
        if (buf_.size() >= kFlushAt) flush();
    }
    void put(char c) { buf_.push_back(c); }
    void number(double v) {
        char tmp[64];
        const auto r = std::to_chars(tmp, tmp + sizeof tmp, v, std::chars_format::general, 17);
        put(tmp, static_cast<std::size_t>(r.ptr - tmp));
    }
    /// A float with 9 significant digits: enough to read back the same float.
    void number(float v) {
        char tmp[64];
        const auto r = std::to_chars(tmp, tmp + sizeof tmp, v, std::chars_format::general, 9);
        put(tmp, static_cast<std::size_t>(r.ptr - tmp));
    }
    template <class T>
    void binary(T v) {
        put(&v, sizeof v);
    }
    void flush() {
        sink(buf_.data(), buf_.size());
        buf_.clear();
    }
    void finish() {
        flush();
        if (!file_ && std::fflush(stdout) != 0) {
            throw IoError(concat("cannot write to standard output: ", std::strerror(errno)));
        }
    }

  private:
    void sink(const void* data, std::size_t n) {
        if (file_) {
            file_->write(data, n);
        } else if (n > 0 && std::fwrite(data, 1, n, stdout) != n) {
            throw IoError(concat("cannot write to standard output: ", std::strerror(errno)));
        }
    }

    static constexpr std::size_t kFlushAt = std::size_t{1} << 20;
    AtomicFile* file_;
    std::string buf_;
};

/// Throws the IoError of a writer asked to write a non-finite value; row and column are 1-based.
[[noreturn]] void fail_non_finite(const std::string& name, double value, index_t row, index_t column);
/// Throws unless every value of m is finite, naming the first one that is not. Writers call it before
/// creating any file, so a diverged run leaves nothing behind that treesne's own readers would refuse.
void check_finite(const std::string& name, ConstMatrixView m);
[[noreturn]] void fail_unknown_format(const std::string& path);

void write_text(Output& out, ConstMatrixView m, char delim);
void write_npy(Output& out, ConstMatrixView m);
/// The .npy 1.0 header of a C-order array of `shape` and dtype `descr` (little-endian float64 unless
/// said): magic, version, length and the dict, padded with spaces and ended by '\n' to `size` bytes (0 =
/// the next multiple of 64, as numpy writes it). Throws IoError when the dict does not fit in `size`.
std::string npy_header(const std::vector<std::uint64_t>& shape, std::size_t size = 0,
                       std::string_view descr = "<f8");
void write_dat(Output& out, ConstMatrixView m);

}  // namespace treesne::io::detail
