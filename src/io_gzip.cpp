// Whole-file input: a file (or standard input) read into memory, inflated there when it is gzip. Every
// reader starts here, so a `.gz` suffix (or gzip magic) works for every format.
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "io_internal.hpp"

namespace treesne::io::detail {
namespace {

/// Inflated data larger than this is refused: far beyond any data set t-SNE can embed, small enough that a
/// decompression bomb fails with a message instead of exhausting memory.
constexpr std::uint64_t kMaxDecompressed = std::uint64_t{16} << 30;

/// zlib counts in 32-bit uInt: input and output are handed over in chunks of at most this.
constexpr std::size_t kChunk = std::size_t{1} << 30;

struct FileCloser {
    std::FILE* file;
    bool owned;
    ~FileCloser() {
        if (owned && file) std::fclose(file);
    }
};

/// Reads a whole file ("-": standard input) into memory.
Bytes read_all(const std::string& path, const std::string& name) {
    std::FILE* file = stdin;
    std::size_t hint = std::size_t{1} << 16;
    if (path != "-") {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) fail(name, "cannot open: ", std::strerror(errno));
        if (S_ISDIR(st.st_mode)) fail(name, "is a directory, not a file");
        file = std::fopen(path.c_str(), "rb");
        if (!file) fail(name, "cannot open: ", std::strerror(errno));
        // One byte more than the size, so the first read already meets the end of the file.
        if (S_ISREG(st.st_mode)) hint = static_cast<std::size_t>(st.st_size) + 1;
    }
    const FileCloser closer{file, path != "-"};
    Bytes buf(hint);
    std::size_t used = 0;
    for (;;) {
        if (used == buf.size()) buf.resize(buf.size() * 2);
        const std::size_t got = std::fread(buf.data() + used, 1, buf.size() - used, file);
        used += got;
        if (got == 0) {
            if (std::ferror(file)) fail(name, "read error: ", std::strerror(errno));
            break;
        }
    }
    buf.resize(used);
    return buf;
}

bool is_gzip(const Bytes& b) {
    return b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0x1F &&
           static_cast<unsigned char>(b[1]) == 0x8B;
}

/// After one gzip member ends: true when another member follows (concatenated .gz files are one stream),
/// false when only zero padding (or nothing) is left; anything else is an error.
bool another_gzip_member(const std::string& name, const Bytes& in, std::size_t consumed) {
    if (consumed == in.size()) return false;
    if (in.size() - consumed >= 2 && static_cast<unsigned char>(in[consumed]) == 0x1F &&
        static_cast<unsigned char>(in[consumed + 1]) == 0x8B) {
        return true;
    }
    for (std::size_t i = consumed; i < in.size(); ++i) {
        if (in[i] != 0) fail(name, "unexpected data after the end of the gzip stream (byte offset ", i, ")");
    }
    return false;
}

/// The first size of the output buffer. The trailer's ISIZE (size mod 2^32 of the last member) is only a
/// hint: bounded by deflate's maximum ratio (about 1032:1) and by 1 GiB, so that a forged trailer cannot
/// make us allocate much; the buffer doubles when the data turns out larger.
std::size_t initial_gunzip_size(const Bytes& in) {
    std::uint64_t hint = in.size() >= 18 ? load_le32(in.data() + in.size() - 4) : 0;
    hint = std::min<std::uint64_t>({hint, std::uint64_t{in.size()} * 1032 + 1024, std::uint64_t{1} << 30});
    return static_cast<std::size_t>(std::max<std::uint64_t>(hint, 4096));
}

/// Doubles the output buffer, up to kMaxDecompressed.
void grow_gunzip_output(const std::string& name, Bytes& out) {
    if (out.size() >= kMaxDecompressed) fail(name, "decompresses to more than 16 GiB; refusing");
    out.resize(static_cast<std::size_t>(std::min<std::uint64_t>(out.size() * 2, kMaxDecompressed)));
}

/// Throws the IoError for an inflate() result other than Z_OK and Z_STREAM_END.
[[noreturn]] void fail_inflate(const std::string& name, int rc, const z_stream& zs, bool input_exhausted) {
    if (rc == Z_BUF_ERROR && input_exhausted) {
        fail(name, "truncated gzip data (the file ends inside the compressed stream)");
    }
    if (rc == Z_DATA_ERROR) fail(name, "corrupt gzip data: ", zs.msg ? zs.msg : "invalid stream");
    if (rc == Z_MEM_ERROR) fail(name, "out of memory while decompressing");
    fail(name, "gzip decompression failed (zlib error ", rc, ")");
}

/// Inflates a gzip file (all its members) into memory.
Bytes gunzip(const std::string& name, const Bytes& in) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) fail(name, "cannot start gzip decompression");
    struct Ender {
        z_stream* z;
        ~Ender() { inflateEnd(z); }
    } ender{&zs};
    Bytes out(initial_gunzip_size(in));
    std::size_t fed = 0;  // bytes of `in` handed to zlib so far
    std::size_t pos = 0;  // bytes produced so far
    for (;;) {
        if (zs.avail_in == 0 && fed < in.size()) {
            const std::size_t n = std::min(in.size() - fed, kChunk);
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
            zs.avail_in = static_cast<uInt>(n);
            fed += n;
        }
        if (pos == out.size()) grow_gunzip_output(name, out);
        const std::size_t room = std::min(out.size() - pos, kChunk);
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + pos);
        zs.avail_out = static_cast<uInt>(room);
        const int rc = inflate(&zs, Z_NO_FLUSH);
        pos += room - zs.avail_out;
        if (rc == Z_OK) continue;
        if (rc != Z_STREAM_END) fail_inflate(name, rc, zs, zs.avail_in == 0 && fed == in.size());
        const std::size_t consumed = fed - zs.avail_in;
        if (!another_gzip_member(name, in, consumed)) break;
        if (inflateReset(&zs) != Z_OK) fail(name, "cannot restart gzip decompression");
        zs.avail_in = 0;
        fed = consumed;
    }
    out.resize(pos);
    return out;
}

}  // namespace

Loaded load(const std::string& path) {
    Loaded in{{}, display_name(path), path == "-" ? std::string() : path};
    in.bytes = read_all(path, in.name);
    const bool gz_name = extension_of(in.inner) == ".gz";
    if (is_gzip(in.bytes)) {
        in.bytes = gunzip(in.name, in.bytes);
        if (gz_name) in.inner.resize(in.inner.size() - 3);
        if (is_gzip(in.bytes) || extension_of(in.inner) == ".gz") {
            fail(in.name, "is compressed twice (gzip inside gzip); decompress it once first");
        }
    } else if (gz_name) {
        fail(in.name, "is named .gz but is not gzip-compressed");
    }
    return in;
}

}  // namespace treesne::io::detail
