// Checkpoint files of the optimiser state. See checkpoint.hpp for the layout.
#include "treesne/io/checkpoint.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "treesne/core/errors.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/core/option_table.hpp"
#include "treesne/io/io.hpp"

namespace treesne {
namespace {

constexpr char magic[8] = {'T', 'S', 'N', 'E', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t version = checkpoint_version;
// Version 1: no controller theta and early-stopping KL (read as NaN); versions 1 and 2: no fingerprint
// of P, and settings without the options that shape P (check_resumable refuses them).
constexpr std::uint32_t oldest_version = 1;
constexpr std::uint32_t first_version_with_p = 3;
constexpr std::uint32_t byte_order_mark = 0x01020304;
constexpr std::size_t max_settings = 256;
constexpr std::size_t max_name = 64;

using Hasher = WordHasher;

// Appends plain values to a byte buffer (the checksum is taken over the buffer, then it is written).
class Writer {
  public:
    template <class T>
    void put(const T& v) {
        const auto* p = reinterpret_cast<const char*>(&v);
        bytes_.append(p, sizeof(T));
    }
    void put_bytes(const void* data, std::size_t size) {
        bytes_.append(static_cast<const char*>(data), size);
    }
    const std::string& bytes() const { return bytes_; }

  private:
    std::string bytes_;
};

// Reads plain values from a byte buffer; running past its end is a truncated file.
class Reader {
  public:
    Reader(const std::string& bytes, const std::string& path) : bytes_(bytes), path_(path) {}
    template <class T>
    T get(const char* what) {
        T v;
        take(&v, sizeof(T), what);
        return v;
    }
    void take(void* out, std::size_t size, const char* what) {
        if (size > bytes_.size() - at_) throw IoError(concat(path_, ": checkpoint truncated in the ", what));
        std::memcpy(out, bytes_.data() + at_, size);
        at_ += size;
    }
    std::size_t position() const { return at_; }
    std::size_t left() const { return bytes_.size() - at_; }

  private:
    const std::string& bytes_;
    const std::string& path_;
    std::size_t at_ = 0;
};

// The whole checkpoint file. Its first bytes must be the magic before anything else is read, so a wrong
// path (a data file, /dev/zero) is refused at once; a directory, a path that cannot be opened and a
// stream without a size (device, FIFO) are refused with one line naming the path.
std::string slurp(const std::string& path) {
    if (path.empty()) throw IoError("cannot open a checkpoint with an empty file name");
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) throw IoError(concat(path, ": cannot open: ", std::strerror(errno)));
    struct Closer {
        std::FILE* f;
        ~Closer() { std::fclose(f); }
    } closer{file};
    struct stat st {};
    if (::fstat(fileno(file), &st) != 0) throw IoError(concat(path, ": cannot open: ", std::strerror(errno)));
    if (S_ISDIR(st.st_mode)) throw IoError(concat(path, ": is a directory"));
    std::string bytes(sizeof magic, '\0');
    const std::size_t head = std::fread(bytes.data(), 1, bytes.size(), file);
    if (std::ferror(file)) throw IoError(concat(path, ": read error: ", std::strerror(errno)));
    bytes.resize(head);
    if (head < sizeof magic || std::memcmp(bytes.data(), magic, sizeof magic) != 0) return bytes;
    if (!S_ISREG(st.st_mode)) throw IoError(concat(path, ": not a regular file (a checkpoint is a file)"));
    bytes.resize(std::max(static_cast<std::size_t>(st.st_size), head));
    const std::size_t rest = bytes.size() - head;
    if (std::fread(bytes.data() + head, 1, rest, file) != rest)
        throw IoError(concat(path, ": read error: ",
                             std::ferror(file) ? std::strerror(errno) : "the file shrank while it was read"));
    return bytes;
}

void check_matrix_shape(const Matrix& m, index_t n, index_t dims, const char* what) {
    require(m.rows() == n && m.cols() == dims, "checkpoint: ", what, " is ", m.rows(), " x ", m.cols(),
            " but y is ", n, " x ", dims);
}

}  // namespace

std::uint64_t data_fingerprint(ConstMatrixView x) {
    Hasher h;
    h.word(static_cast<std::uint64_t>(x.rows));
    h.word(static_cast<std::uint64_t>(x.cols));
    if (x.data && x.size() > 0) h.bytes(x.data, static_cast<std::size_t>(x.size()) * sizeof(double));
    const std::uint64_t v = h.value();
    return v == 0 ? 1 : v;  // 0 means "not recorded"
}

std::uint64_t data_fingerprint(std::uint64_t previous, const void* bytes, std::size_t size) {
    Hasher h;
    h.word(previous);
    h.word(static_cast<std::uint64_t>(size));
    if (bytes && size > 0) h.bytes(bytes, size);
    const std::uint64_t v = h.value();
    return v == 0 ? 1 : v;
}

std::vector<std::pair<std::string, double>> trajectory_settings(const Options& o, index_t n, index_t d) {
    // Every option the table marks as shaping P or the steps, in the table's order, which is chosen so
    // that the first difference named is the cause: a kind before its parameters, PCA before the backend
    // it resolves to, the perplexity before the k it implies. The values are those the run uses (auto
    // resolved, 0 where an option has no effect; OptionDescriptor::effective).
    std::vector<std::pair<std::string, double>> s;
    for (const OptionDescriptor& entry : option_table()) {
        if (!entry.has(shapes_p) && !entry.has(shapes_trajectory)) continue;
        s.emplace_back(entry.cli, entry.in_effect(o, n, d));
        // A multiscale records each further perplexity under the same name, right after the first.
        if (std::string(entry.cli) == "perplexity" && o.affinities.kind == AffinityKind::perplexity)
            for (double more : o.affinities.more_perplexities) s.emplace_back("perplexity", more);
    }
    return s;
}

namespace {

// The shortest decimal that reads back as v (so that two values that differ never print alike).
std::string exact_decimal(double v) {
    if (std::isnan(v)) return "auto";  // only theta is ever NaN (theta auto)
    char text[40];
    for (int digits = 6; digits <= 17; ++digits) {
        std::snprintf(text, sizeof text, "%.*g", digits, v);
        if (std::strtod(text, nullptr) == v) break;
    }
    return text;
}

// A setting's value as the command line spells it: names for the enumerations.
std::string setting_text(const std::string& name, double v) {
    const bool small_integer = v >= 0 && v < 16 && v == std::floor(v);
    const int c = small_integer ? static_cast<int>(v) : -1;
    const OptionDescriptor* entry = find_option(name);
    if (c >= 0 && entry && entry->kind == OptionKind::enumeration)
        return static_cast<std::size_t>(c) < entry->names.size() ? entry->names[static_cast<std::size_t>(c)] : "?";
    if ((c == 0 || c == 1) && name == "input-kind") return c == 0 ? "coordinates" : "distances";  // the CLI's
    return exact_decimal(v);
}

// Every value recorded under `name`, in order (several for the perplexities of a multiscale run).
std::vector<double> values_of(const CheckpointInfo& info, const std::string& name) {
    std::vector<double> out;
    for (const auto& [n, v] : info.settings)
        if (n == name) out.push_back(v);
    return out;
}

std::string values_text(const std::string& name, const std::vector<double>& values) {
    std::string text;
    for (double v : values) text += (text.empty() ? "" : ", ") + setting_text(name, v);
    return text;
}

// Compares bit patterns: the same option parsed from the same text gives the same double, and a NaN
// (theta auto) equals itself.
bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace

void check_resumable(const CheckpointInfo& saved, const CheckpointInfo& now, const std::string& name,
                     const std::string& option_prefix) {
    if (saved.version < first_version_with_p)
        throw InvalidArgument(concat(
            name, " was written by an older treesne (checkpoint version ", saved.version,
            "), which did not record the options that shape P (metric, affinity, sigma, k, perplexities, "
            "neighbour search), so it cannot be checked against this run; resume it with the treesne that "
            "wrote it, or start again"));
    if (saved.data_fingerprint != 0 && now.data_fingerprint != 0 &&
        saved.data_fingerprint != now.data_fingerprint)
        throw InvalidArgument(concat(name,
                                     " was written for different input data (same shape, other values); "
                                     "resume with the input of the original run"));
    std::vector<std::string> checked;
    for (const auto& entry : now.settings) {
        const std::string& setting = entry.first;
        if (std::find(checked.begin(), checked.end(), setting) != checked.end()) continue;
        checked.push_back(setting);
        const std::vector<double> mine = values_of(now, setting), theirs = values_of(saved, setting);
        if (theirs.empty())
            throw InvalidArgument(concat(name, " does not record ", option_prefix, setting,
                                         ", so it cannot be checked against this run; start again"));
        if (!same_values(mine, theirs))
            throw InvalidArgument(concat(name, " was made with ", option_prefix, setting, " ",
                                         values_text(setting, theirs), "; this run uses ", option_prefix,
                                         setting, " ", values_text(setting, mine),
                                         " (resume with the options of the original run)"));
    }
    for (const auto& entry : saved.settings)
        if (std::find(checked.begin(), checked.end(), entry.first) == checked.end())
            throw InvalidArgument(concat(name, " records the setting '", entry.first,
                                         "', which this version of treesne does not know"));
}

void save_checkpoint(const std::string& path, const OptimizerState& state, const CheckpointInfo& info) {
    const index_t n = state.y.rows(), dims = state.y.cols();
    require(n >= 1 && dims >= 1 && dims <= 3, "checkpoint: y must be N x 1..3; got ", n, " x ", dims);
    check_matrix_shape(state.gains, n, dims, "gains");
    check_matrix_shape(state.velocity, n, dims, "velocity");
    require(state.iteration >= 0, "checkpoint: iteration must be >= 0; got ", state.iteration);
    require(info.settings.size() <= max_settings, "checkpoint: too many settings");

    Writer w;
    w.put_bytes(magic, sizeof magic);
    w.put(version);
    w.put(byte_order_mark);
    w.put(static_cast<std::int64_t>(n));
    w.put(static_cast<std::int64_t>(dims));
    w.put(static_cast<std::int64_t>(state.iteration));
    w.put(info.data_fingerprint);
    w.put(state.theta);
    w.put(state.stop_kl);
    w.put(state.affinities_fingerprint);
    w.put(static_cast<std::uint32_t>(info.settings.size()));
    for (const auto& [name, value] : info.settings) {
        require(!name.empty() && name.size() <= max_name, "checkpoint: setting names have 1 to ", max_name,
                " characters; got '", name, "'");
        w.put(static_cast<std::uint16_t>(name.size()));
        w.put_bytes(name.data(), name.size());
        w.put(value);
    }
    for (const Matrix* m : {&state.y, &state.gains, &state.velocity})
        w.put_bytes(m->data(), static_cast<std::size_t>(m->size()) * sizeof(double));
    Hasher h;
    h.bytes(w.bytes().data(), w.bytes().size());
    const std::uint64_t checksum = h.value();

    io::AtomicFile file(path);
    file.write(w.bytes());
    file.write(&checksum, sizeof checksum);
    file.commit();
}

namespace {

// load_checkpoint's steps, in the order the file is read; each refuses what it reads with one line
// naming the path.

/// The fixed header fields after the preamble.
struct Header {
    std::int64_t n = 0, dims = 0, iteration = 0;
    double theta = 0, stop_kl = 0;
    std::uint64_t p_fingerprint = 0;
};

/// Magic, version and byte order, then the checksum over the whole file; returns the file's version.
std::uint32_t read_preamble(Reader& r, const std::string& bytes, const std::string& path) {
    char head[sizeof magic];
    if (bytes.size() < sizeof magic ||
        (r.take(head, sizeof head, "header"), std::memcmp(head, magic, sizeof magic)))
        throw IoError(concat(path, ": not a treesne checkpoint (no TSNECKPT header)"));
    const auto file_version = r.get<std::uint32_t>("header");
    if (file_version < oldest_version || file_version > version)
        throw IoError(concat(path, ": checkpoint version ", file_version, "; this treesne reads versions ",
                             oldest_version, " to ", version));
    if (r.get<std::uint32_t>("header") != byte_order_mark)
        throw IoError(concat(path, ": checkpoint written on a machine of the other byte order"));
    // The checksum first, so that any damage is reported as such rather than as an odd field.
    if (bytes.size() < r.position() + sizeof(std::uint64_t))
        throw IoError(concat(path, ": checkpoint truncated in the header"));
    Hasher h;
    h.bytes(bytes.data(), bytes.size() - sizeof(std::uint64_t));
    std::uint64_t checksum = 0;
    std::memcpy(&checksum, bytes.data() + bytes.size() - sizeof checksum, sizeof checksum);
    if (checksum != h.value())
        throw IoError(concat(path, ": checkpoint checksum mismatch (the file is truncated or corrupt)"));
    return file_version;
}

/// Shape, iteration, fingerprints and the controller's values (NaN where the version has none).
Header read_header(Reader& r, std::uint32_t file_version, const std::string& path, CheckpointInfo& meta) {
    Header h;
    h.n = r.get<std::int64_t>("header");
    h.dims = r.get<std::int64_t>("header");
    h.iteration = r.get<std::int64_t>("header");
    meta.data_fingerprint = r.get<std::uint64_t>("header");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    h.theta = file_version >= 2 ? r.get<double>("header") : nan;
    h.stop_kl = file_version >= 2 ? r.get<double>("header") : nan;
    h.p_fingerprint = file_version >= first_version_with_p ? r.get<std::uint64_t>("header") : 0;
    meta.version = file_version;
    if (!std::isnan(h.theta) && !(std::isfinite(h.theta) && h.theta >= 0))
        throw IoError(concat(path, ": checkpoint holds theta ", h.theta, " (corrupt)"));
    if (!std::isnan(h.stop_kl) && !std::isfinite(h.stop_kl))
        throw IoError(concat(path, ": checkpoint holds a non-finite early-stopping KL (corrupt)"));
    if (h.n < 1 || h.dims < 1 || h.dims > 3 || h.iteration < 0)
        throw IoError(concat(path, ": checkpoint header out of range (N ", h.n, ", dims ", h.dims,
                             ", iteration ", h.iteration, ")"));
    return h;
}

/// The (name, value) settings the run was started with.
void read_settings(Reader& r, const std::string& path, CheckpointInfo& meta) {
    const auto settings = r.get<std::uint32_t>("settings");
    if (settings > max_settings)
        throw IoError(concat(path, ": checkpoint has ", settings, " settings (corrupt)"));
    for (std::uint32_t s = 0; s < settings; ++s) {
        const auto length = r.get<std::uint16_t>("settings");
        if (length == 0 || length > max_name)
            throw IoError(concat(path, ": checkpoint setting name corrupt"));
        std::string name(length, '\0');
        r.take(name.data(), length, "settings");
        meta.settings.emplace_back(std::move(name), r.get<double>("settings"));
    }
}

/// Y, gains and velocity (N x dims each), sized against what is left before anything is allocated.
OptimizerState read_arrays(Reader& r, const Header& h, const std::string& path) {
    // Size check before allocating: 3 N dims doubles and the checksum must be exactly what is left.
    const std::size_t values = static_cast<std::size_t>(h.dims) * 3;
    if (static_cast<std::uint64_t>(h.n) > (r.left() / sizeof(double)) / values)
        throw IoError(concat(path, ": checkpoint truncated (", h.n, " x ", h.dims,
                             " needs more bytes than the file has)"));
    const std::size_t matrix_bytes =
        static_cast<std::size_t>(h.n) * static_cast<std::size_t>(h.dims) * sizeof(double);
    if (r.left() != 3 * matrix_bytes + sizeof(std::uint64_t))
        throw IoError(concat(path, ": checkpoint has ", r.left(), " bytes of data; ", h.n, " x ", h.dims,
                             " needs ", 3 * matrix_bytes + sizeof(std::uint64_t)));
    OptimizerState state;
    state.iteration = h.iteration;
    state.theta = h.theta;
    state.stop_kl = h.stop_kl;
    state.affinities_fingerprint = h.p_fingerprint;
    for (Matrix* m : {&state.y, &state.gains, &state.velocity}) {
        *m = Matrix(h.n, h.dims);
        r.take(m->data(), matrix_bytes, "matrices");
    }
    for (const Matrix* m : {&state.y, &state.gains, &state.velocity})
        for (double v : m->storage())
            if (!std::isfinite(v)) throw IoError(concat(path, ": checkpoint holds a non-finite value"));
    for (double g : state.gains.storage())
        if (!(g > 0)) throw IoError(concat(path, ": checkpoint holds a gain <= 0"));
    return state;
}

}  // namespace

OptimizerState load_checkpoint(const std::string& path, CheckpointInfo* info) {
    const std::string bytes = slurp(path);
    Reader r(bytes, path);
    const std::uint32_t file_version = read_preamble(r, bytes, path);
    CheckpointInfo meta;
    const Header header = read_header(r, file_version, path, meta);
    read_settings(r, path, meta);
    OptimizerState state = read_arrays(r, header, path);
    if (info) *info = std::move(meta);
    return state;
}

}  // namespace treesne
