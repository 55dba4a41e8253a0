// Zip archives, the container of NumPy's .npz files: the reader (end record, central directory, stored and
// deflated members checked against their CRC-32) and the writer (stored or deflated members, written into
// an AtomicFile). Only what np.savez, np.savez_compressed and scipy.sparse.save_npz write is needed: one
// disk, no encryption, no zip64 records (numpy adds a zip64 extra field to every local header, which is
// skipped like any extra field; the sizes are taken from the central directory).
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/internal.hpp"

namespace treesne::io::detail {
namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::size_t kLocalSize = 30;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kEndSize = 22;
constexpr std::uint64_t kMaxComment = 0xFFFF;
constexpr std::uint64_t kZip32 = 0xFFFFFFFF;

/// Compressed bytes are read, and inflated bytes handed over, in blocks of at most this.
constexpr std::size_t kBlock = std::size_t{1} << 20;

std::uint16_t load_le16(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return static_cast<std::uint16_t>(u[0] | u[1] << 8);
}

void store_le16(char* p, std::uint64_t v) {
    p[0] = static_cast<char>(v & 0xFF);
    p[1] = static_cast<char>(v >> 8 & 0xFF);
}

void store_le32(char* p, std::uint64_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i) & 0xFF);
}

std::string method_name(std::uint16_t method) {
    switch (method) {
        case 9:
            return "9 (deflate64)";
        case 12:
            return "12 (bzip2)";
        case 14:
            return "14 (LZMA)";
        case 93:
            return "93 (zstd)";
        default:
            return concat(method);
    }
}

/// The central directory's entries, parsed from its bytes; `end` is where the archive's data end.
std::vector<ZipMember> parse_central(const std::string& name, const Bytes& cd, std::uint64_t entries,
                                     std::uint64_t end) {
    std::vector<ZipMember> members;
    std::size_t at = 0;
    for (std::uint64_t k = 0; k < entries; ++k) {
        if (cd.size() - at < kCentralSize || load_le32(cd.data() + at) != kCentralSig)
            fail(name, "corrupt zip archive: central directory entry ", k + 1,
                 " is cut or has a bad signature");
        const char* e = cd.data() + at;
        ZipMember m;
        m.flags = load_le16(e + 8);
        m.method = load_le16(e + 10);
        m.crc = load_le32(e + 16);
        m.compressed = load_le32(e + 20);
        m.size = load_le32(e + 24);
        const std::size_t name_len = load_le16(e + 28);
        const std::size_t rest = name_len + load_le16(e + 30) + load_le16(e + 32);
        m.header_offset = load_le32(e + 42);
        if (cd.size() - at - kCentralSize < rest)
            fail(name, "corrupt zip archive: central directory entry ", k + 1, " is cut");
        m.name.assign(e + kCentralSize, name_len);
        if (m.compressed == kZip32 || m.size == kZip32 || m.header_offset == kZip32)
            fail(name, "member ", shown(m.name),
                 " is in zip64 form (past 4 GiB); zip64 archives are not supported");
        if (m.header_offset >= end)
            fail(name, "corrupt zip archive: member ", shown(m.name), " starts past the end of its data");
        members.push_back(std::move(m));
        at += kCentralSize + rest;
    }
    return members;
}

}  // namespace

ZipArchive::ZipArchive(Source& src, Loaded& in, bool ended) : src_(src), in_(in) {
    const std::string& name = in.name;
    memory_ = src.known_size() == 0;
    if (memory_) read_all(src, in, ended);
    size_ = memory_ ? in.bytes.size() : src.known_size();
    if (size_ == 0) fail(name, "is empty; expected a zip archive (.npz) as scipy.sparse.save_npz writes");
    // The end record: 22 bytes and a comment of at most 65535, at the very end.
    const std::uint64_t tail_size = std::min<std::uint64_t>(size_, kEndSize + kMaxComment);
    Bytes tail(static_cast<std::size_t>(tail_size));
    read_at(size_ - tail_size, tail.data(), tail.size(), "its end");
    std::size_t end_at = std::string_view::npos;
    for (std::size_t i = tail.size() >= kEndSize ? tail.size() - kEndSize + 1 : 0; i-- > 0;) {
        if (load_le32(tail.data() + i) == kEndSig &&
            i + kEndSize + load_le16(tail.data() + i + 20) == tail.size()) {
            end_at = i;
            break;
        }
    }
    if (end_at == std::string_view::npos) {
        if (in.bytes.size() >= 4 && load_le32(in.bytes.data()) == kLocalSig)
            fail(name, "truncated zip archive (no end of central directory record)");
        fail(name,
             "is not a zip archive (no end of central directory record); expected an .npz as "
             "scipy.sparse.save_npz writes");
    }
    const char* e = tail.data() + end_at;
    const std::uint64_t entries = load_le16(e + 10);
    const std::uint64_t cd_size = load_le32(e + 12);
    const std::uint64_t cd_offset = load_le32(e + 16);
    if (load_le16(e + 8) == 0xFFFF || entries == 0xFFFF || cd_size == kZip32 || cd_offset == kZip32)
        fail(name, "is a zip64 archive (past 4 GiB or 65535 members), which is not supported");
    if (load_le16(e + 4) != 0 || load_le16(e + 6) != 0 || load_le16(e + 8) != entries)
        fail(name, "is a multi-disk (split) zip archive, which is not supported");
    const std::uint64_t end_offset = size_ - tail_size + end_at;
    if (cd_offset > end_offset || cd_size > end_offset - cd_offset)
        fail(name, "corrupt zip archive: its central directory (", cd_size, " bytes at offset ", cd_offset,
             ") is not before its end record");
    check_fits(in, held() + cd_size, 0, "its zip central directory");
    Bytes cd(static_cast<std::size_t>(cd_size));
    read_at(cd_offset, cd.data(), cd.size(), "its central directory");
    members_ = parse_central(name, cd, entries, cd_offset);
}

const ZipMember* ZipArchive::find(std::string_view name) const {
    for (const ZipMember& m : members_) {
        if (m.name == name) return &m;
    }
    return nullptr;
}

void ZipArchive::read_at(std::uint64_t offset, char* dst, std::size_t n, const char* what) {
    if (offset > size_ || n > size_ - offset)
        fail(in_.name, "truncated zip archive: ", what, " passes the end of the file");
    if (memory_) {
        std::memcpy(dst, in_.bytes.data() + offset, n);
    } else if (src_.read_at(offset, dst, n) < n) {
        fail(in_.name, "ended while reading ", what, "; was it changed while being read?");
    }
}

/// Where the member's data start, after its local header (whose sizes are not used: numpy writes them
/// in a zip64 extra field, and a data descriptor may hold them instead).
std::uint64_t ZipArchive::member_start(const ZipMember& m) {
    const std::string what = concat("member ", shown(m.name));
    char h[kLocalSize];
    read_at(m.header_offset, h, kLocalSize, what.c_str());
    if (load_le32(h) != kLocalSig) fail(in_.name, "corrupt zip archive: ", what, " has no local header");
    const std::uint64_t start = m.header_offset + kLocalSize + load_le16(h + 26) + load_le16(h + 28);
    if (start > size_ || m.compressed > size_ - start)
        fail(in_.name, "truncated zip archive: ", what, " passes the end of the file");
    return start;
}

Bytes ZipArchive::read(const ZipMember& m) {
    const std::string& name = in_.name;
    if (m.flags & 0x41) fail(name, m.name, " is encrypted; encrypted zip archives are not supported");
    if (m.method != 0 && m.method != 8)
        fail(name, m.name, " is compressed with method ", method_name(m.method),
             "; only stored and deflate members are read (as numpy writes them)");
    if (m.method == 0 && m.compressed != m.size)
        fail(name, m.name, " is stored uncompressed, yet its sizes differ (", m.compressed, " and ", m.size,
             " bytes): corrupt zip archive");
    const std::uint64_t start = member_start(m);
    Bytes out(static_cast<std::size_t>(m.size));
    if (m.method == 0) {
        read_at(start, out.data(), out.size(), m.name.c_str());
    } else {
        inflate_member(m, start, out);
    }
    std::uint32_t crc = 0;
    for (std::size_t at = 0; at < out.size(); at += kBlock) {
        const std::size_t n = std::min(kBlock, out.size() - at);
        crc = static_cast<std::uint32_t>(
            crc32(crc, reinterpret_cast<const Bytef*>(out.data() + at), static_cast<uInt>(n)));
    }
    if (crc != m.crc) fail(name, m.name, " fails its CRC-32 check: corrupt zip archive");
    return out;
}

void ZipArchive::inflate_member(const ZipMember& m, std::uint64_t start, Bytes& out) {
    z_stream zs{};
    if (inflateInit2(&zs, -15) != Z_OK) fail(in_.name, "cannot start inflating ", m.name);
    struct End {
        z_stream& zs;
        ~End() { inflateEnd(&zs); }
    } end{zs};
    Bytes in(std::min<std::uint64_t>(kBlock, m.compressed));
    std::uint64_t consumed = 0;  // compressed bytes handed to zlib
    char spare = 0;              // room for one byte past the declared size, which shows a bad size
    for (int rc = Z_OK; rc != Z_STREAM_END;) {
        if (zs.avail_in == 0 && consumed < m.compressed) {
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), m.compressed - consumed));
            read_at(start + consumed, in.data(), n, m.name.c_str());
            consumed += n;
            zs.next_in = reinterpret_cast<Bytef*>(in.data());
            zs.avail_in = static_cast<uInt>(n);
        }
        const std::uint64_t produced = zs.total_out;
        const bool full = produced == out.size();
        zs.next_out = reinterpret_cast<Bytef*>(full ? &spare : out.data() + produced);
        zs.avail_out = full ? 1 : static_cast<uInt>(std::min<std::uint64_t>(kBlock, out.size() - produced));
        rc = inflate(&zs, Z_NO_FLUSH);
        if (zs.total_out > out.size())
            fail(in_.name, m.name, " inflates to more than the ", m.size, " bytes its directory entry says");
        if (rc == Z_DATA_ERROR)
            fail(in_.name, m.name, ": corrupt deflate data (", zs.msg ? zs.msg : "?", ")");
        if (rc == Z_MEM_ERROR) fail(in_.name, "out of memory while inflating ", m.name);
        if ((rc == Z_OK || rc == Z_BUF_ERROR) && zs.avail_in == 0 && consumed == m.compressed &&
            zs.avail_out > 0)
            fail(in_.name, m.name, ": truncated deflate data (it ends before its stream does)");
        if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
            fail(in_.name, "inflating ", m.name, " failed (zlib error ", rc, ")");
    }
    if (zs.total_out != out.size())
        fail(in_.name, m.name, " inflates to ", zs.total_out, " bytes; its directory entry says ", m.size);
}

// --- writer ------------------------------------------------------------------------------------------

ZipWriter::ZipWriter(AtomicFile& file, std::string name, bool deflate)
    : file_(file), name_(std::move(name)), deflate_(deflate) {}

ZipWriter::~ZipWriter() {
    if (zs_) {
        deflateEnd(static_cast<z_stream*>(zs_));
        delete static_cast<z_stream*>(zs_);
    }
}

void ZipWriter::emit(const void* data, std::size_t n) {
    if (n > kZip32 - written_)
        fail(name_, "the archive would pass 4 GiB; .npz files that large (zip64) are not written");
    file_.write(data, n);
    written_ += n;
}

void ZipWriter::begin(const std::string& member) {
    current_ = ZipMember{};
    current_.name = member;
    current_.method = deflate_ ? 8 : 0;
    current_.header_offset = written_;
    // Sizes and CRC-32 are written into the header by end(); the time is fixed (1980-01-01 00:00), so
    // that the same matrix gives the same bytes.
    char h[kLocalSize] = {};
    store_le32(h, kLocalSig);
    store_le16(h + 4, 20);
    store_le16(h + 8, current_.method);
    store_le16(h + 12, 0x21);
    store_le16(h + 26, member.size());
    emit(h, sizeof h);
    emit(member.data(), member.size());
    if (deflate_) {
        auto* zs = new z_stream{};
        if (deflateInit2(zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            delete zs;
            fail(name_, "cannot start compressing ", member);
        }
        zs_ = zs;
        zbuf_.resize(kBlock);
    }
}

void ZipWriter::deflate_some(const void* data, std::size_t n, bool last) {
    auto& zs = *static_cast<z_stream*>(zs_);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<void*>(data));
    zs.avail_in = static_cast<uInt>(n);
    int rc = Z_OK;
    do {
        zs.next_out = reinterpret_cast<Bytef*>(zbuf_.data());
        zs.avail_out = static_cast<uInt>(zbuf_.size());
        rc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) fail(name_, "compression of ", current_.name, " failed");
        const std::size_t out = zbuf_.size() - zs.avail_out;
        emit(zbuf_.data(), out);
        current_.compressed += out;
    } while (zs.avail_out == 0 || (last && rc != Z_STREAM_END));
}

void ZipWriter::put(const void* data, std::size_t n) {
    for (std::size_t at = 0; at < n; at += kBlock) {
        const std::size_t part = std::min(kBlock, n - at);
        const char* p = static_cast<const char*>(data) + at;
        current_.crc = static_cast<std::uint32_t>(
            crc32(current_.crc, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(part)));
        current_.size += part;
        if (current_.size > kZip32)
            fail(name_, current_.name, " would pass 4 GiB; .npz members that large (zip64) are not written");
        if (deflate_) {
            deflate_some(p, part, false);
        } else {
            emit(p, part);
            current_.compressed += part;
        }
    }
}

void ZipWriter::end() {
    if (deflate_) {
        deflate_some(nullptr, 0, true);
        deflateEnd(static_cast<z_stream*>(zs_));
        delete static_cast<z_stream*>(zs_);
        zs_ = nullptr;
    }
    char sizes[12];
    store_le32(sizes, current_.crc);
    store_le32(sizes + 4, current_.compressed);
    store_le32(sizes + 8, current_.size);
    file_.write_at(current_.header_offset + 14, sizes, sizeof sizes);
    done_.push_back(current_);
}

void ZipWriter::finish() {
    const std::uint64_t cd_offset = written_;
    for (const ZipMember& m : done_) {
        char e[kCentralSize] = {};
        store_le32(e, kCentralSig);
        store_le16(e + 4, 20);
        store_le16(e + 6, 20);
        store_le16(e + 10, m.method);
        store_le16(e + 14, 0x21);
        store_le32(e + 16, m.crc);
        store_le32(e + 20, m.compressed);
        store_le32(e + 24, m.size);
        store_le16(e + 28, m.name.size());
        store_le32(e + 42, m.header_offset);
        emit(e, sizeof e);
        emit(m.name.data(), m.name.size());
    }
    char end[kEndSize] = {};
    store_le32(end, kEndSig);
    store_le16(end + 8, done_.size());
    store_le16(end + 10, done_.size());
    store_le32(end + 12, written_ - cd_offset);
    store_le32(end + 16, cd_offset);
    emit(end, sizeof end);
}

}  // namespace treesne::io::detail
