// Input: a file (or standard input) read as a stream of content bytes, inflated on the fly when it is
// gzip. Every reader starts here, so a `.gz` suffix (or gzip magic) works for every format, and what a
// reader takes in is decided chunk by chunk (see load() in io.cpp), never by reading the whole file first.
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "io/internal.hpp"

namespace treesne::io::detail {
namespace {

/// Inflated data larger than this is refused: far beyond any data set t-SNE can embed, small enough that a
/// decompression bomb fails with a message instead of exhausting memory.
constexpr std::uint64_t kMaxDecompressed = std::uint64_t{16} << 30;

/// zlib counts in 32-bit uInt: output is handed over in chunks of at most this.
constexpr std::size_t kChunk = std::size_t{1} << 30;

/// Compressed input is read in blocks of this size.
constexpr std::size_t kRawBlock = std::size_t{1} << 20;

/// Zero bytes allowed after the last gzip member (tape and tar-like padding); more is not padding.
constexpr std::uint64_t kMaxPadding = std::uint64_t{1} << 20;

bool is_gzip_magic(const unsigned char* p) {
    return p[0] == 0x1F && p[1] == 0x8B;
}

}  // namespace

struct Source::Impl {
    std::string name;
    std::FILE* file = stdin;
    bool owned = false;
    ReadStats own_stats;
    ReadStats* stats = &own_stats;
    std::uint64_t size = 0;  // of a regular file, else 0
    std::uint64_t hint = 0;  // the content's likely size (size_hint())
    std::uint64_t produced = 0;

    // Raw bytes read from the file and not yet consumed: raw[raw_pos, raw_end). raw_offset is the file
    // offset of raw[0], for messages.
    Bytes raw;
    std::size_t raw_pos = 0, raw_end = 0;
    std::uint64_t raw_offset = 0;
    bool raw_eof = false;

    bool gzip = false;
    z_stream zs{};
    bool inflating = false;  // inflateInit2 done
    bool done = false;       // the content has ended

    ~Impl() {
        if (inflating) inflateEnd(&zs);
        if (owned && file) std::fclose(file);
    }

    /// Reads up to n raw bytes into dst; 0 at the end of the file.
    std::size_t read_file(char* dst, std::size_t n) {
        if (raw_eof || n == 0) return 0;
        const std::size_t got = std::fread(dst, 1, n, file);
        stats->file_bytes += got;
        if (got < n) {
            if (std::ferror(file)) fail(name, "read error: ", std::strerror(errno));
            raw_eof = true;
        }
        return got;
    }

    /// Makes raw hold at least `want` unconsumed bytes where the file has them (moving the rest to the
    /// front); returns the unconsumed count.
    std::size_t ensure_raw(std::size_t want) {
        if (raw_end - raw_pos >= want || raw_eof) return raw_end - raw_pos;
        if (raw.size() < kRawBlock) raw.resize(kRawBlock);
        std::memmove(raw.data(), raw.data() + raw_pos, raw_end - raw_pos);
        raw_offset += raw_pos;
        raw_end -= raw_pos;
        raw_pos = 0;
        while (raw_end < want && !raw_eof) raw_end += read_file(raw.data() + raw_end, raw.size() - raw_end);
        return raw_end;
    }

    /// ISIZE, the last member's size mod 2^32 from the gzip trailer of a regular file, as a hint of the
    /// content's size: bounded by deflate's largest ratio (about 1032:1) and by 1 GiB, so that a forged
    /// trailer cannot make the reader reserve much. 0 where the file cannot be seeked.
    std::uint64_t gzip_size_hint() {
        if (size < 18) return 0;
        const off_t here = ::ftello(file);
        unsigned char trailer[4];
        const bool ok =
            here >= 0 && ::fseeko(file, -4, SEEK_END) == 0 && std::fread(trailer, 1, 4, file) == 4;
        if (here < 0 || ::fseeko(file, here, SEEK_SET) != 0)
            fail(name, "cannot seek: ", std::strerror(errno));
        if (!ok) return 0;
        const std::uint64_t isize = load_le32(reinterpret_cast<const char*>(trailer));
        return std::min<std::uint64_t>({isize, size * 1032 + 1024, std::uint64_t{1} << 30});
    }

    std::size_t read_plain(char* dst, std::size_t n) {
        // The bytes read to look for the gzip magic come first.
        std::size_t got = std::min(n, raw_end - raw_pos);
        if (got > 0) std::memcpy(dst, raw.data() + raw_pos, got);
        raw_pos += got;
        while (got < n && !raw_eof) got += read_file(dst + got, n - got);
        return got;
    }

    /// After one gzip member ends: true when another member follows (concatenated .gz files are one
    /// stream), false when only zero padding (or nothing) is left; anything else is an error.
    bool another_member() {
        if (ensure_raw(2) >= 2 && is_gzip_magic(reinterpret_cast<unsigned char*>(raw.data() + raw_pos)))
            return true;
        std::uint64_t padding = 0;
        while (ensure_raw(1) > 0) {
            for (std::size_t i = raw_pos; i < raw_end; ++i) {
                if (raw[i] != 0 || ++padding > kMaxPadding)
                    fail(name, "unexpected data after the end of the gzip stream (byte offset ",
                         raw_offset + i, ")");
            }
            raw_pos = raw_end;
        }
        return false;
    }

    /// Throws the IoError for an inflate() result other than Z_OK and Z_STREAM_END.
    [[noreturn]] void fail_inflate(int rc) const {
        if (rc == Z_BUF_ERROR && raw_eof && zs.avail_in == 0) {
            fail(name, "truncated gzip data (the file ends inside the compressed stream)");
        }
        if (rc == Z_DATA_ERROR) fail(name, "corrupt gzip data: ", zs.msg ? zs.msg : "invalid stream");
        if (rc == Z_MEM_ERROR) fail(name, "out of memory while decompressing");
        fail(name, "gzip decompression failed (zlib error ", rc, ")");
    }

    std::size_t read_gzip(char* dst, std::size_t n) {
        std::size_t got = 0;
        while (got < n && !done) {
            if (zs.avail_in == 0) {
                ensure_raw(1);
                zs.next_in = reinterpret_cast<Bytef*>(raw.data() + raw_pos);
                zs.avail_in = static_cast<uInt>(raw_end - raw_pos);
            }
            const std::size_t room = std::min(n - got, kChunk);
            zs.next_out = reinterpret_cast<Bytef*>(dst + got);
            zs.avail_out = static_cast<uInt>(room);
            const int rc = inflate(&zs, Z_NO_FLUSH);
            got += room - zs.avail_out;
            raw_pos = raw_end - zs.avail_in;
            if (rc == Z_STREAM_END) {
                if (another_member()) {
                    if (inflateReset(&zs) != Z_OK) fail(name, "cannot restart gzip decompression");
                    zs.avail_in = 0;
                } else {
                    done = true;
                }
            } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs.avail_in == 0 && !raw_eof)) {
                fail_inflate(rc);
            }
        }
        return got;
    }
};

Source::Source(const std::string& path, ReadStats* stats) : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    if (path.empty()) throw IoError("cannot open a file with an empty name");
    s.name = display_name(path);
    if (stats) s.stats = stats;
    *s.stats = ReadStats{};
    if (path != "-") {
        // fopen succeeds on a directory (reading then fails with EISDIR), so look at what was opened.
        s.file = std::fopen(path.c_str(), "rb");
        if (!s.file) fail(s.name, "cannot open: ", std::strerror(errno));
        s.owned = true;
        struct stat st {};
        if (::fstat(fileno(s.file), &st) == 0) {
            if (S_ISDIR(st.st_mode)) fail(s.name, "is a directory");
            if (S_ISREG(st.st_mode)) s.size = static_cast<std::uint64_t>(st.st_size);
        }
    }
    s.hint = s.size;
    if (s.ensure_raw(2) >= 2 && is_gzip_magic(reinterpret_cast<unsigned char*>(s.raw.data()))) {
        s.gzip = true;
        s.hint = s.gzip_size_hint();
        s.size = 0;
        if (inflateInit2(&s.zs, 15 + 16) != Z_OK) fail(s.name, "cannot start gzip decompression");
        s.inflating = true;
    }
}

Source::~Source() = default;

std::size_t Source::read(Bytes& out, std::size_t n) {
    Impl& s = *impl_;
    std::size_t got = 0;
    while (got < n) {
        // Where the content's size is known or likely (size_hint()), no more than its rest and one byte
        // (which shows the end, or that there is more) is asked for first, so that out, reserved for the
        // content, need not grow past it.
        std::size_t step = n - got;
        if (s.hint > 0 && s.produced <= s.hint)
            step = static_cast<std::size_t>(std::min<std::uint64_t>(step, s.hint - s.produced + 1));
        const std::size_t before = out.size();
        out.resize(before + step);
        const std::size_t part =
            s.gzip ? s.read_gzip(out.data() + before, step) : s.read_plain(out.data() + before, step);
        out.resize(before + part);
        got += part;
        s.produced += part;
        s.stats->content_bytes += part;
        if (s.gzip && s.stats->content_bytes > kMaxDecompressed)
            fail(s.name, "decompresses to more than 16 GiB; refusing");
        if (part < step) break;  // the end of the content
    }
    return got;
}

bool Source::gzip() const {
    return impl_->gzip;
}

std::uint64_t Source::known_size() const {
    return impl_->size;
}

std::uint64_t Source::size_hint() const {
    return impl_->hint;
}

std::size_t Source::read_at(std::uint64_t offset, char* dst, std::size_t n) {
    Impl& s = *impl_;
    if (s.gzip || s.size == 0) fail(s.name, "cannot be read by offset (compressed, or not a regular file)");
    // pread leaves the FILE's position and buffer alone, so read() would go on where it was; one call
    // may return fewer bytes than asked (Linux moves at most about 2 GiB per call) or be interrupted.
    std::size_t got = 0;
    while (got < n) {
        const ::ssize_t r = ::pread(fileno(s.file), dst + got, n - got, static_cast<off_t>(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) fail(s.name, "read error: ", std::strerror(errno));
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
        s.stats->file_bytes += static_cast<std::uint64_t>(r);
    }
    return got;
}

bool fill(Source& src, Bytes& out, std::uint64_t want) {
    while (out.size() < want) {
        // Chunks grow with what was read, so that a short file costs one small read and a long one few.
        const std::uint64_t chunk =
            std::clamp<std::uint64_t>(out.size(), std::uint64_t{1} << 16, std::uint64_t{1} << 26);
        const auto n = static_cast<std::size_t>(std::min(want - out.size(), chunk));
        if (src.read(out, n) < n) return out.size() >= want;
    }
    return true;
}

}  // namespace treesne::io::detail
