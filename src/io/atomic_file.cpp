// Output paths: AtomicFile (write beside the target, rename over it when complete), the checks made
// before long work (check_writable), and the checks every writer makes before creating a file.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "io/internal.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"

namespace treesne::io {
namespace {

std::atomic<unsigned> temp_counter{0};

}  // namespace

namespace detail {

void fail_non_finite(const std::string& name, double value, index_t row, index_t column) {
    const char* shown_value = std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf";
    fail(name, "refusing to write a non-finite value (", shown_value, ") at row ", row, ", column ", column);
}

void check_finite(const std::string& name, ConstMatrixView m) {
    const index_t size = m.size();
    for (index_t i = 0; i < size; ++i) {
        if (!std::isfinite(m.data[i])) fail_non_finite(name, m.data[i], i / m.cols + 1, i % m.cols + 1);
    }
}

void fail_unknown_format(const std::string& path) {
    const std::string ext = extension_of(path);
    const std::string what = ext.empty() ? "has no extension" : concat("unknown output format '", ext, "'");
    fail(path, what, " (use .csv, .tsv, .npy or .dat, or - for standard output)");
}

}  // namespace detail

bool is_writable_matrix_format(const std::string& path) {
    if (path == "-") return true;
    const std::string ext = detail::extension_of(path);
    return ext == ".csv" || ext == ".tsv" || ext == ".npy" || ext == ".dat";
}

void check_writable(const std::string& path, bool is_matrix) {
    if (path == "-") return;
    if (is_matrix && !is_writable_matrix_format(path)) detail::fail_unknown_format(path);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw IoError(concat("cannot write ", path, ": is a directory"));
    const AtomicFile probe(path);  // created, then removed by its destructor
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    const std::filesystem::path target(path_);
    std::string leaf = target.filename().string();
    if (leaf.empty() || leaf == "." || leaf == "..")
        throw IoError(concat("cannot write ", path_, ": not a file name"));
    // Keep the temporary name within NAME_MAX even for long targets.
    if (leaf.size() > 200) leaf.resize(200);
    for (int attempt = 0;; ++attempt) {
        const std::string temp_leaf = concat(".", leaf, ".tmp.", ::getpid(), ".", temp_counter++);
        temp_ = (target.parent_path() / temp_leaf).string();
        // "x": fail rather than reuse a file that exists (a stale temporary from a crashed run).
        std::FILE* f = std::fopen(temp_.c_str(), "wbx");
        if (f) {
            file_ = f;
            return;
        }
        if (errno != EEXIST || attempt >= 100) {
            const int err = errno;
            temp_.clear();
            throw IoError(concat("cannot write ", path_, ": ", std::strerror(err)));
        }
    }
}

AtomicFile::~AtomicFile() {
    if (file_) std::fclose(static_cast<std::FILE*>(file_));
    if (!committed_ && !temp_.empty()) std::remove(temp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
    if (!file_) throw IoError(concat("cannot write ", path_, ": file already closed"));
    if (size > 0 && std::fwrite(data, 1, size, static_cast<std::FILE*>(file_)) != size) {
        throw IoError(concat("cannot write ", path_, ": ", std::strerror(errno)));
    }
}

void AtomicFile::write_at(std::uint64_t offset, const void* data, std::size_t size) {
    if (!file_) throw IoError(concat("cannot write ", path_, ": file already closed"));
    auto* f = static_cast<std::FILE*>(file_);
    const long end = std::ftell(f);
    if (end < 0 || offset > static_cast<std::uint64_t>(end) ||
        size > static_cast<std::uint64_t>(end) - offset)
        throw IoError(concat("cannot write ", path_, ": ", size, " bytes at offset ", offset,
                             " pass the end of what was written"));
    // Back to the end afterwards, so that write() keeps appending.
    if (std::fseek(f, static_cast<long>(offset), SEEK_SET) != 0 ||
        (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fseek(f, end, SEEK_SET) != 0)
        throw IoError(concat("cannot write ", path_, ": ", std::strerror(errno)));
}

void AtomicFile::flush() {
    if (!file_) throw IoError(concat("cannot write ", path_, ": file already closed"));
    if (std::fflush(static_cast<std::FILE*>(file_)) != 0)
        throw IoError(concat("cannot write ", path_, ": ", std::strerror(errno)));
}

void AtomicFile::commit() {
    if (!file_) throw IoError(concat("cannot write ", path_, ": file already closed"));
    auto* f = static_cast<std::FILE*>(file_);
    file_ = nullptr;
    int err = 0;
    if (std::fflush(f) != 0) err = errno;
    // fsync so that a crash after the rename cannot leave a renamed but empty file.
    if (err == 0 && ::fsync(::fileno(f)) != 0 && errno != EINVAL && errno != EROFS) err = errno;
    if (std::fclose(f) != 0 && err == 0) err = errno;
    if (err == 0 && std::rename(temp_.c_str(), path_.c_str()) != 0) err = errno;
    if (err != 0) throw IoError(concat("cannot write ", path_, ": ", std::strerror(err)));
    committed_ = true;
}

}  // namespace treesne::io
