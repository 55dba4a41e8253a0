// Reading and writing data, labels and affinities. Every error is an IoError naming the file and, for
// text, the line and column. Every write goes to a temporary file in the target directory and is renamed
// over the target only when complete.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/core/types.hpp"

namespace treesne::io {

/// Class labels: codes[i] in [0, names.size()) for every point; names[c] is the label as written.
struct Labels {
    std::vector<int> codes;
    std::vector<std::string> names;
};

/// Bounds on what a reader takes in, so that a wrong input (a device such as /dev/zero, a decompression
/// bomb, a binary file read as text, an endless pipe) fails at once with a message naming the file,
/// instead of filling memory. Every reader first decides the format from the name and the first bytes
/// (of the decompressed stream for gzip), then reads no more than the header promises (binary formats)
/// or than these bounds allow (text).
struct ReadLimits {
    /// Most bytes of content (after decompression) a read may hold, and with the parsed values; 0 = the
    /// memory available when the read starts (available_memory(); no bound where it is unknown). Gzip
    /// content is in any case refused past 16 GiB.
    std::uint64_t max_bytes = 0;
    /// Longest line of a text format, in bytes: text with no line end within it (a binary stream, a
    /// file of one endless line) is refused. 64 MiB holds rows of millions of numbers.
    std::uint64_t max_line_bytes = std::uint64_t{64} << 20;
};

/// What a read took in (filled as it goes, so also when it throws): to check that a bad input was
/// refused early.
struct ReadStats {
    std::uint64_t file_bytes = 0;     ///< bytes read from the file (compressed, for gzip)
    std::uint64_t content_bytes = 0;  ///< bytes of content handed to the parser (decompressed)
};

/// Reads an N x D matrix, choosing the format by name and content:
///  - `.npy` (float32/float64/(u)int8..64, C order; Fortran order or other dtypes refused),
///  - IDX (`*-idx3-ubyte`, `*-idx1-ubyte`, any IDX magic; images flattened to rows),
///  - bhtsne's `data.dat` (int32 N, int32 D, double theta, double perplexity, N*D doubles),
///  - anything else as delimited text: delimiter (comma, tab, semicolon, whitespace) and a header line
///    detected, `#` comment lines and blank lines skipped.
/// A `.gz` suffix (or gzip magic) is decompressed first. Rejects empty input, ragged rows, non-numeric
/// cells and NaN/Inf with the file, line and column.
/// A file longer than its header promises, a directory, and an unreadable path are refused too.
Matrix read_matrix(const std::string& path);
/// read_matrix within `limits`, reporting what it read in `stats` (when not null).
Matrix read_matrix(const std::string& path, const ReadLimits& limits, ReadStats* stats = nullptr);

/// The shape of a matrix in a file.
struct MatrixShape {
    index_t rows = 0;
    index_t cols = 0;
};

/// The shape read_matrix(path) would return, from the header alone, for a file whose rows can be read by
/// offset (read_matrix_rows): an uncompressed regular file in .npy (C order, every dtype read_matrix
/// takes), IDX or bhtsne .dat format. Reads the header (and the 8 bytes of landmarks that tell a 2-point
/// bhtsne result file from a data file), never the values as such: the reader's first buffer holds at most
/// the first MiB of the file. Returns nullopt
/// for a file whose rows cannot be read by offset: text (CSV, TSV, Matrix Market...), anything
/// gzip-compressed, standard input ("-") and what is not a regular file (a pipe, which is not touched):
/// read it whole with read_matrix then. Throws the IoError that read_matrix throws, with its message,
/// for a file that cannot be opened, a directory, a bad header (Fortran-order .npy included) and a file
/// shorter or longer than its header declares. `limits` is resolved as read_matrix resolves it; only the
/// header is held. Safe to call concurrently (each call opens the file anew).
std::optional<MatrixShape> read_matrix_shape(const std::string& path, const ReadLimits& limits = {},
                                             ReadStats* stats = nullptr);

/// Rows [first, first + count) of the matrix in path, equal bit for bit to those rows of
/// read_matrix(path): for one process of many (MPI), which reads only its own block. Checks the file as
/// read_matrix_shape does, then reads the block by offset and converts it as read_matrix does; holds
/// O(count x cols) memory (the raw block and its doubles, bounded by `limits`, as read_matrix bounds the
/// whole file), beside 1 MiB of read buffer and the header. A NaN or infinite value in the block is
/// refused with read_matrix's message, naming its row in the file (first + i + 1, 1-based). Throws
/// InvalidArgument for a file whose rows cannot be read by offset (read_matrix_shape gives nullopt) and
/// for a range outside [0, rows] (count 0 gives a 0 x cols matrix). Safe to call concurrently.
Matrix read_matrix_rows(const std::string& path, index_t first, index_t count, const ReadLimits& limits = {},
                        ReadStats* stats = nullptr);

/// A stack of equally shaped matrices: frame f is rows [f * rows_per_frame, (f + 1) * rows_per_frame) of
/// values.
struct MatrixStack {
    index_t frames = 0;
    index_t rows_per_frame = 0;
    Matrix values;  ///< (frames * rows_per_frame) x cols
    ConstMatrixView frame(index_t f) const {
        return {values.data() + f * rows_per_frame * values.cols(), rows_per_frame, values.cols()};
    }
};

/// Reads a 3-D .npy array (frames, rows, cols), as `embed --snapshots` writes it (float64; every dtype
/// read_matrix takes), `.gz` too, with read_matrix's checks and bounds. Refuses anything else (another
/// format, another number of dimensions, an empty axis) with one line naming the file.
MatrixStack read_matrix_stack(const std::string& path, const ReadLimits& limits = {});

/// Reads labels: one per line (numbers or names), `.npy` integers, an IDX labels file, or the targets of
/// an svmlight file (`.svm`, `.svmlight`, `.libsvm`: the first number of each row, codes in numeric order,
/// names as written), so that `--labels data.svm` labels the points of `data.svm`; `.gz` too.
Labels read_labels(const std::string& path);
/// read_labels within `limits`, reporting what it read in `stats` (when not null).
Labels read_labels(const std::string& path, const ReadLimits& limits, ReadStats* stats = nullptr);

/// Reads the lines of a text file (`.gz` too), without their line ends ("\n" or "\r\n"), with the checks
/// and bounds of the text formats: NUL bytes, invalid UTF-8 and lines without an end are refused.
std::vector<std::string> read_lines(const std::string& path, const ReadLimits& limits = {});

/// Reads a sparse N x D feature matrix (rows are points, columns features), choosing the format by name
/// (after removing `.gz`) and, where the name says nothing, by the first bytes:
///  - `.npz` as written by scipy.sparse.save_npz (a zip archive, members stored or deflated): csr, csc or
///    coo (format.npy), shape.npy, and data.npy with indices.npy and indptr.npy (csr, csc) or row.npy
///    and col.npy (coo); indices int32 or int64, values float32/float64, 8- to 64-bit integers or bool.
///    csc and coo are regrouped by row. Other formats (bsr, dia), an archive without format.npy (dense
///    arrays saved with np.savez), zip64, encrypted and otherwise compressed archives are refused.
///  - Matrix Market `coordinate` (`.mtx`): `real`, `integer` or `pattern` (values 1), `general` only
///    (a symmetric matrix is not a feature matrix); 1-based entries, comments and blank lines skipped.
///  - svmlight / libsvm text (`.svm`, `.svmlight`, `.libsvm`): `target [qid:n] index:value ... [# c]`,
///    indices increasing within a line; 0-based when any index is 0, else 1-based (scikit-learn's
///    zero_based="auto"); columns = the largest index + 1 (0-based) or the largest index (1-based); a
///    line with only a target is a row without entries, blank and comment lines are not rows.
/// Entries at the same place are added (in the order stored), zeros dropped: the result meets
/// CsrMatrix's invariants. Refuses any other format, input without rows (or, for svmlight, without any
/// index), out-of-range indices, inconsistent arrays, and NaN/Inf, each with one line naming the file
/// and the line (text) or the member and entry (0-based, as numpy indexes them). Sizes are checked
/// against `limits` before anything is allocated; a regular .npz is read by offset, a member at a time.
CsrMatrix read_sparse_matrix(const std::string& path, const ReadLimits& limits = {},
                             ReadStats* stats = nullptr);

/// True when path names sparse input read_sparse_matrix reads: `.npz`, `.svm`, `.svmlight`, `.libsvm`
/// (`.gz` of them too) by name alone, and a regular `.mtx` (or `.mtx.gz`) file whose first line is a
/// Matrix Market `coordinate` banner (any field and symmetry, so that what read_sparse_matrix refuses
/// in it, such as `symmetric`, is explained by its message). Reads at most the first KiB; never throws
/// (a file that cannot be read gives false, and the read that follows says why).
bool is_sparse_input(const std::string& path);

/// Writes a CSR matrix as scipy.sparse.save_npz does (format.npy '|S3' "csr", shape.npy int64, data.npy
/// float64, indices.npy and indptr.npy int32, or int64 when a count passes 2^31 - 1), deflated
/// (`compress`, save_npz's default) or stored, atomically. scipy.sparse.load_npz and read_sparse_matrix
/// read it back. Throws InvalidArgument for a matrix that breaks CsrMatrix's invariants, and IoError for a
/// non-finite value (named by row and column, 1-based) and for an archive past 4 GiB (zip64 is not
/// written), before creating any file.
void write_sparse_npz(const std::string& path, ConstCsrView m, bool compress = true);

/// Writes by extension: `.csv`, `.tsv`, `.npy` (float64), `.dat` (bhtsne's result layout: int32 N,
/// int32 D, N*D doubles, N int32 landmarks 0..N-1, N doubles costs set to 0); "-" writes CSV to stdout.
/// Anything else is refused with an IoError naming the extension. A NaN or infinite value is refused
/// with an IoError naming it, its row and its column (1-based), before any file is created.
void write_matrix(const std::string& path, ConstMatrixView m);

/// Matrix Market `coordinate real general`, 1-based, every stored entry. Like write_matrix, refuses a
/// non-finite value before creating any file.
void write_affinities(const std::string& path, const SparseMatrix& p);
/// Reads Matrix Market affinities (`coordinate real general` or `symmetric`, `.gz` too); the banner is
/// checked on the first bytes, before the rest is read.
SparseMatrix read_affinities(const std::string& path);
/// read_affinities within `limits`, reporting what it read in `stats` (when not null).
SparseMatrix read_affinities(const std::string& path, const ReadLimits& limits, ReadStats* stats = nullptr);

/// Throws IoError unless a file could be created at path now (its directory exists and is writable) and
/// the extension is one write_matrix (or, with is_matrix false, the caller) accepts. Called before long
/// work so a bad output path fails in a second, not after an hour. Leaves nothing behind.
void check_writable(const std::string& path, bool is_matrix = true);

/// True for the extensions write_matrix accepts (and "-").
bool is_writable_matrix_format(const std::string& path);

/// Writes a file atomically: content goes to a temporary file beside `path` (same directory), and the
/// file is renamed over `path` by commit(). Destroyed without commit(), it removes the temporary file.
class AtomicFile {
  public:
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    /// The temporary file's path, for libraries that write by name (e.g. Cairo).
    const std::string& temp_path() const { return temp_; }
    /// Appends bytes; throws IoError on failure (disk full...).
    void write(const void* data, std::size_t size);
    void write(const std::string& text) { write(text.data(), text.size()); }
    /// Overwrites `size` bytes at `offset` of what was written so far (a header completed at the end);
    /// the next write() appends again. Throws IoError on failure or when the bytes pass the end.
    void write_at(std::uint64_t offset, const void* data, std::size_t size);
    /// Pushes buffered bytes into the temporary file, so that temp_path() can be read back.
    void flush();
    /// Flushes, closes and renames over the target. Throws IoError on failure.
    void commit();

  private:
    std::string path_;
    std::string temp_;
    void* file_ = nullptr;  // std::FILE*
    bool committed_ = false;
};

/// A float64 .npy array of shape (frames, rows, cols) written one rows x cols frame at a time, for
/// recordings too large to hold: each frame goes to an AtomicFile as it comes (no memory beyond the
/// caller's frame), the header reserves room for any frame count, and commit() writes the final count
/// into it and renames the file into place. The layout is numpy's C order: frame f, row i, column j at
/// element (f * rows + i) * cols + j after the header (numpy.load reads it as is).
class NpyStackWriter {
  public:
    /// Creates the temporary file beside path. Throws IoError when it cannot, InvalidArgument for rows
    /// or cols < 1.
    NpyStackWriter(std::string path, index_t rows, index_t cols);
    /// Appends a frame. Throws InvalidArgument for another shape and IoError for a failed write or a
    /// non-finite value (named by frame, row and column; nothing of that frame is written).
    void append(ConstMatrixView frame);
    index_t frames() const { return frames_; }
    index_t rows() const { return rows_; }
    index_t cols() const { return cols_; }
    /// Frame f (0-based) as appended, read back from the temporary file; before commit() only.
    Matrix frame(index_t f);
    /// Writes the frame count into the header, then flushes and renames over the target.
    void commit();

  private:
    std::string path_;
    AtomicFile file_;
    index_t rows_, cols_;
    index_t frames_ = 0;
    std::size_t header_size_ = 0;
};

}  // namespace treesne::io
