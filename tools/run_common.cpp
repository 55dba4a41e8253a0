// What the commands share: the signal handling, the progress helpers, reading stacked inputs and
// labels, and the one-line error (see run_common.hpp).
#include "run_common.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

#include "run_snapshots.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::cli {

// --- interruption (see run_common.hpp) ---------------------------------------------------------------

std::atomic<bool> g_cancel{false};
std::atomic<int> g_phase{preparing};
std::atomic<bool> g_live_line{false};  // a progress line without a newline is on the terminal

namespace {

extern "C" void on_signal(int) {
    const int phase = g_phase.load();
    if ((phase == optimising || phase == writing) && !g_cancel.load()) {
        g_cancel.store(true);
        return;
    }
    static const char message[] = "\ntreesne: interrupted; nothing written\n";
    const char* text = message + (g_live_line.load() ? 0 : 1);
    const ssize_t ignored = ::write(STDERR_FILENO, text, sizeof message - 1 - (text - message));
    (void)ignored;
    ::_exit(130);
}

/// Reads each labels file and stacks them; the same name in two files is the same class.
io::Labels read_labels_stacked(const std::vector<std::string>& paths) {
    io::Labels merged = reading("--labels", [&] { return io::read_labels(paths.at(0)); });
    std::map<std::string, int> code_of;
    for (std::size_t c = 0; c < merged.names.size(); ++c) code_of[merged.names[c]] = static_cast<int>(c);
    for (std::size_t i = 1; i < paths.size(); ++i) {
        const io::Labels next = reading("--labels", [&] { return io::read_labels(paths[i]); });
        std::vector<int> remap(next.names.size());
        for (std::size_t c = 0; c < next.names.size(); ++c) {
            auto [it, inserted] = code_of.emplace(next.names[c], static_cast<int>(merged.names.size()));
            if (inserted) merged.names.push_back(next.names[c]);
            remap[c] = it->second;
        }
        for (int code : next.codes) merged.codes.push_back(remap.at(static_cast<std::size_t>(code)));
    }
    return merged;
}

}  // namespace

SignalScope::SignalScope() {
    g_cancel.store(false);
    g_phase.store(preparing);
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
}

SignalScope::~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_phase.store(preparing);
}

std::string format_seconds(double s) {
    char buffer[64];
    if (!(s >= 0)) s = 0;
    if (s < 10) {
        std::snprintf(buffer, sizeof buffer, "%.2f s", s);
    } else if (s < 60) {
        std::snprintf(buffer, sizeof buffer, "%.1f s", s);
    } else if (s < 3600) {
        const long total = std::lround(s);
        std::snprintf(buffer, sizeof buffer, "%ld min %02ld s", total / 60, total % 60);
    } else {
        const long total = std::lround(s / 60);
        std::snprintf(buffer, sizeof buffer, "%ld h %02ld min", total / 60, total % 60);
    }
    return buffer;
}

std::string format_value(double v, int precision) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", precision, v);
    return buffer;
}

/// The library's stage names, spelled for people.
std::string display_name(const std::string& stage) {
    if (stage == "neighbors") return "neighbours";
    if (stage == "optimize") return "optimise";
    return stage;
}

Matrix read_stacked(const std::vector<std::string>& paths) {
    for (const std::string& path : paths)
        if (io::is_sparse_input(path))
            throw InvalidArgument(concat(path, ": a sparse matrix is embedded by `treesne embed` (one file); this "
                                         "command and stacked inputs read dense rows"));
    Matrix first = io::read_matrix(paths.at(0));
    if (paths.size() == 1) return first;
    const index_t cols = first.cols();
    index_t rows = first.rows();
    std::vector<double> data = std::move(first.storage());
    for (std::size_t i = 1; i < paths.size(); ++i) {
        Matrix next = io::read_matrix(paths[i]);
        if (next.cols() != cols)
            throw IoError(concat(paths[i], ": ", next.cols(), " columns, but ", paths[0], " has ", cols,
                                 " (stacked inputs need the same number of columns)"));
        data.insert(data.end(), next.storage().begin(), next.storage().end());
        rows += next.rows();
    }
    return Matrix(rows, cols, std::move(data));
}

namespace {

std::string trim(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return "";
    return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

/// --label-names: a file with one name per line, or a comma-separated list.
std::vector<std::string> label_name_list(const std::string& spec) {
    std::vector<std::string> names;
    std::error_code ec;
    // Anything that exists is a file, read with the readers' bounds and checks (a directory or a device
    // such as /dev/zero is refused, not taken for a list of one name or read without end).
    if (std::filesystem::exists(spec, ec)) {
        for (const std::string& l : reading("--label-names", [&] { return io::read_lines(spec); }))
            names.push_back(trim(l));
        while (!names.empty() && names.back().empty()) names.pop_back();
    } else {
        std::stringstream in(spec);
        for (std::string item; std::getline(in, item, ',');) names.push_back(trim(item));
    }
    if (names.empty()) throw InvalidArgument(concat("--label-names: no names in '", spec, "'"));
    return names;
}

/// Replaces numeric label names v by names[v].
void apply_label_names(io::Labels& labels, const std::string& spec) {
    const std::vector<std::string> names = label_name_list(spec);
    for (std::string& name : labels.names) {
        char* end = nullptr;
        const long v = std::strtol(name.c_str(), &end, 10);
        if (name.empty() || *end != '\0' || v < 0 || v >= static_cast<long>(names.size()))
            throw InvalidArgument(concat("--label-names gives ", names.size(), " names (labels 0 to ",
                                         names.size() - 1, "); label '", name, "' is not one of them"));
        name = names[static_cast<std::size_t>(v)];
    }
}

io::Labels read_labels_checked(const std::vector<std::string>& paths, index_t n) {
    io::Labels labels = read_labels_stacked(paths);
    const auto count = static_cast<index_t>(labels.codes.size());
    if (count != n)
        throw InvalidArgument(concat("--labels: ", count, " labels for ", n, " points (",
                                     paths.size() == 1 ? paths[0] : std::string("the stacked label files"),
                                     ")"));
    return labels;
}

void require_points(const std::vector<std::string>& paths, index_t n) {
    if (n >= 2) return;
    throw InvalidArgument(
        concat(paths.size() == 1 ? paths[0] : concat("the ", paths.size(), " stacked inputs"), ": ", n,
               n == 1 ? " point" : " points", "; t-SNE needs at least 2"));
}

std::string describe_inputs(const std::vector<std::string>& paths) {
    if (paths.size() == 1) return "";
    return concat(" (", paths.size(), " files)");
}

std::string file_name(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

void print_error(const std::string& message) {
    if (g_live_line.exchange(false)) std::fputs("\r\033[K", stderr);
    std::string line = message;
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::fprintf(stderr, "treesne: error: %s\n", line.c_str());
    std::fflush(stderr);
}

// --- files named on the command line (see run_common.hpp) -------------------------------------------

namespace {

namespace fs = std::filesystem;

/// What a path names on disk: (device, inode) of an existing file, so links and other spellings of one
/// file compare equal; for a file not there yet, its directory's (device, inode) and its name.
struct FileId {
    dev_t device = 0;
    ino_t inode = 0;
    std::string name;  ///< empty for an existing file
    bool operator==(const FileId& o) const {
        return device == o.device && inode == o.inode && name == o.name;
    }
};

std::optional<FileId> file_id(const std::string& given) {
    const std::string path = without_trailing_slashes(given);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return FileId{st.st_dev, st.st_ino, {}};
    const fs::path p(path);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    if (::stat(dir.c_str(), &st) == 0) return FileId{st.st_dev, st.st_ino, p.filename().string()};
    return std::nullopt;  // an unreachable directory: the output's own check reports it, an input's read
}

/// The directory entry a write to `path` replaces, symbolic links followed: its directory's (device,
/// inode) and its name.
std::optional<FileId> entry_id(const std::string& path) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(without_trailing_slashes(path), ec);
    if (ec) p = path;
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return std::nullopt;
    return FileId{st.st_dev, st.st_ino, p.filename().string()};
}

struct Identified {
    const NamedFile* file;
    std::optional<FileId> id;
};

/// A file that a --snapshot-plots picture (DIR/0001.png, ...) would replace: named there (through any
/// links), or another link to a picture already there. DIR is created at the end when missing, so only
/// an existing DIR can hold such a file.
void check_frame_names(const Identified& frames, const std::vector<Identified>& files) {
    const std::string dir_path = without_trailing_slashes(frames.file->path);
    struct stat dir {};
    if (::stat(dir_path.c_str(), &dir) != 0 || !S_ISDIR(dir.st_mode)) return;
    std::vector<FileId> pictures;  // the frames there now
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir_path, ec)) {
        struct stat st {};
        if (is_frame_file_name(entry.path().filename().string()) && ::stat(entry.path().c_str(), &st) == 0)
            pictures.push_back({st.st_dev, st.st_ino, {}});
    }
    for (const Identified& f : files) {
        if (f.file == frames.file) continue;
        const std::optional<FileId> entry = entry_id(f.file->path);
        const bool named_there = entry && is_frame_file_name(entry->name) && entry->device == dir.st_dev &&
                                 entry->inode == dir.st_ino;
        const bool linked = f.id && std::find(pictures.begin(), pictures.end(), *f.id) != pictures.end();
        if (named_there || linked)
            throw UsageError(concat(f.file->option, " ", f.file->path, " is where ", frames.file->option, " ",
                                    frames.file->path, " draws a frame; give it another name or directory"));
    }
}

std::atomic<unsigned> staged_counter{0};

/// ".treesne-PID-N-NAME.EXT": hidden, unique to this process, with the target's extension. A long name is
/// shortened before its extension so that the temporary's own temporary stays within NAME_MAX.
std::string temporary_name(const fs::path& target) {
    std::string stem = target.stem().string(), extension = target.extension().string();
    if (extension.size() > 16) {
        stem += extension;
        extension.clear();
    }
    if (stem.size() > 150) stem.resize(150);
    return concat(".treesne-", ::getpid(), "-", staged_counter++, "-", stem, extension);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    if (from.empty()) return text;
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

}  // namespace

std::string without_trailing_slashes(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    return path;
}

std::string existing_ancestor(const std::string& path) {
    std::error_code ec;
    fs::path p = fs::path(path).parent_path();
    while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
    return p.empty() ? std::string(".") : p.string();
}

void check_distinct_files(const std::vector<NamedFile>& files) {
    std::vector<Identified> named;
    for (const NamedFile& f : files)
        if (!f.path.empty() && f.path != "-") named.push_back({&f, file_id(f.path)});
    for (const Identified& f : named)
        if (f.file->role == FileRole::frames) check_frame_names(f, named);
    // Each output against every input, then against the outputs before it: the first clash is reported.
    for (std::size_t i = 0; i < named.size(); ++i) {
        const Identified& out = named[i];
        if (out.file->role == FileRole::input || !out.id) continue;
        for (const Identified& in : named) {
            if (in.file->role != FileRole::input || !in.id || !(*in.id == *out.id)) continue;
            if (!out.file->may_be.empty() && out.file->may_be == in.file->option) continue;
            throw UsageError(concat(out.file->option, " ", out.file->path, " is the same file as ",
                                    in.file->option, " ", in.file->path, "; refusing to overwrite an input"));
        }
        for (std::size_t j = 0; j < i; ++j) {
            const Identified& other = named[j];
            if (other.file->role != FileRole::input && other.id && *other.id == *out.id)
                throw UsageError(concat(other.file->option, " ", other.file->path, " and ", out.file->option,
                                        " ", out.file->path,
                                        " name the same file; give each output its own"));
        }
    }
}

// --- outputs replaced together (see run_common.hpp) ----------------------------------------------------

OutputBatch::~OutputBatch() {
    for (const Staged& s : staged_) {
        if (s.temp.empty()) continue;  // in place
        std::error_code ec;
        if (s.directory) {
            fs::remove_all(s.temp, ec);
        } else {
            fs::remove(s.temp, ec);
        }
    }
}

std::string OutputBatch::file(const std::string& target) {
    const fs::path t(target);
    staged_.push_back({target, (t.parent_path() / temporary_name(t)).string(), false});
    return staged_.back().temp;
}

std::string OutputBatch::directory(const std::string& given) {
    const fs::path target(without_trailing_slashes(given));
    std::error_code ec;
    const fs::path base =
        fs::is_directory(target, ec) ? target : fs::path(existing_ancestor(target.string()));
    const fs::path temp = base / temporary_name(target.filename());
    if (!fs::create_directory(temp, ec) || ec)
        throw IoError(concat("cannot write ", given, ": cannot create a directory in ", base.string(), ": ",
                             ec ? ec.message() : std::string("it exists")));
    staged_.push_back({target.string(), temp.string(), true});
    return staged_.back().temp;
}

void OutputBatch::write(const std::string& target, const std::function<void(const std::string&)>& write) {
    const std::string temp = file(target);
    try {
        write(temp);
    } catch (...) {
        rethrow_naming_targets();
    }
}

void OutputBatch::rethrow_naming_targets() const {
    auto named = [this](const char* what) {
        std::string text = what;
        for (const Staged& s : staged_)
            if (!s.temp.empty()) text = replace_all(text, s.temp, s.target);
        return text;
    };
    try {
        throw;
    } catch (const IoError& e) {
        throw IoError(named(e.what()));
    } catch (const InvalidArgument& e) {
        throw InvalidArgument(named(e.what()));
    } catch (const NumericalError& e) {
        throw NumericalError(named(e.what()));
    } catch (const Error& e) {
        throw Error(named(e.what()));
    }
    throw;  // not reached: anything else left the try block as it was
}

void OutputBatch::commit() {
    for (Staged& s : staged_) {
        std::error_code ec;
        if (!s.directory) {
            if (std::rename(s.temp.c_str(), s.target.c_str()) != 0)
                throw IoError(concat("cannot write ", s.target, ": ", std::strerror(errno)));
        } else if (fs::is_directory(s.target, ec)) {
            // An existing directory keeps its other files; each new one replaces its namesake.
            for (const fs::directory_entry& entry : fs::directory_iterator(s.temp, ec)) {
                fs::rename(entry.path(), fs::path(s.target) / entry.path().filename(), ec);
                if (ec) throw IoError(concat("cannot write ", s.target, ": ", ec.message()));
            }
            if (ec) throw IoError(concat("cannot write ", s.target, ": ", ec.message()));
            fs::remove(s.temp, ec);
        } else {
            const fs::path parent = fs::path(s.target).parent_path();
            if (!parent.empty()) fs::create_directories(parent, ec);
            if (!ec) fs::rename(s.temp, s.target, ec);
            if (ec) throw IoError(concat("cannot write ", s.target, ": ", ec.message()));
        }
        s.temp.clear();
    }
}

int report_interrupted_while_writing(Progress& progress) {
    progress.end_line();
    std::fputs("treesne: interrupted; nothing written\n", stderr);
    std::fflush(stderr);
    return 130;
}

void require_command_memory(const MemoryEstimate& estimate, const std::optional<double>& limit_gib,
                            const std::string& command, const std::string& advice) {
    if (limit_gib && *limit_gib == 0) return;
    const std::optional<double> available =
        limit_gib ? std::optional<double>(*limit_gib * 1073741824.0) : available_memory();
    // The input is already in memory, so only the rest has to fit in what is left.
    if (!available || !(estimate.peak - estimate.input > *available)) return;
    throw NumericalError(concat(command, " needs about ", estimate.describe(), " but ",
                                format_bytes(std::max(0.0, *available)),
                                limit_gib ? " is allowed by --memory-limit" : " is available",
                                " besides the input already loaded; ", advice));
}

void print_command_memory(Progress& progress, const MemoryEstimate& estimate) {
    const std::optional<double> available = available_memory();
    progress.line(
        concat("memory: about ", estimate.describe(), "; ",
               available ? format_bytes(*available) + " available" : std::string("available unknown")));
}

void note_thread_limit(Progress& progress, int requested) {
    if (requested > thread_limit())
        progress.line(concat("note: --threads ", requested, " is more than this machine's limit of ",
                             thread_limit(), " (4 x its processors); using ", thread_limit()));
}

}  // namespace treesne::cli
