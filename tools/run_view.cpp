// `treesne view`: the interactive page of an embedding (treesne/view/html.hpp), and the --html page of
// embed and transform.
#include "run_view.hpp"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "run_common.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/system_memory.hpp"

namespace treesne::cli {
namespace {

/// The file's size ("40.8 MiB").
std::string file_bytes(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    return ec ? std::string("?") : format_bytes(static_cast<double>(size));
}

std::vector<NamedFile> view_files(const ViewConfig& c) {
    std::vector<NamedFile> files{{"the embedding", c.embedding}};
    for (const auto& path : c.label_paths) files.push_back({"--labels", path});
    std::error_code ec;
    if (std::filesystem::is_regular_file(c.label_names, ec))
        files.push_back({"--label-names", c.label_names});
    for (const auto& path : c.inputs) files.push_back({"--input", path});
    files.push_back({"--snapshots", c.snapshots_path});
    files.push_back({"-o", c.output, FileRole::output});
    return files;
}

Matrix read_embedding(const std::string& path) {
    Matrix y = io::read_matrix(path);
    if (y.cols() < 1 || y.cols() > 3)
        throw InvalidArgument(concat(path, ": ", y.rows(), " x ", y.cols(),
                                     "; an embedding has 1, 2 or 3 columns (is it the data instead?)"));
    return y;
}

/// The frames of --snapshots, checked against the embedding's shape.
io::MatrixStack read_frames(const std::string& path, ConstMatrixView y) {
    io::MatrixStack frames = reading("--snapshots", [&] { return io::read_matrix_stack(path); });
    if (frames.rows_per_frame != y.rows || frames.values.cols() != y.cols)
        throw InvalidArgument(concat("--snapshots ", path, ": frames of ", frames.rows_per_frame, " x ",
                                     frames.values.cols(), "; the embedding is ", y.rows, " x ", y.cols));
    return frames;
}

}  // namespace

std::optional<ViewThumbnails> view_thumbnails(ConstMatrixView x, Thumbnails mode, const std::string& what) {
    if (mode == Thumbnails::off || x.rows == 0) return std::nullopt;
    if (square_image_side(x.cols) == 0) {
        if (mode == Thumbnails::on)
            throw InvalidArgument(concat("--thumbnails: ", what, " has rows of ", x.cols,
                                         " values, not square images (s x s values, s from ",
                                         view_min_image_side, " to ", view_max_image_side, ")"));
        return std::nullopt;
    }
    return thumbnails_from_rows(x);
}

std::string describe_view(const ViewData& data) {
    const ViewThumbnails* t = data.thumbnails;
    return concat(data.y.rows, " points",
                  data.labels ? concat(", ", data.labels->names.size(), " classes") : std::string(),
                  t && t->side > 0 ? concat(", thumbnails ", t->side, " x ", t->side) : std::string(),
                  data.frames.empty() ? std::string() : concat(", ", data.frames.size(), " frames"));
}

int run_view(const ViewConfig& c) {
    Progress progress(c.verbosity, ::isatty(STDERR_FILENO) == 1);
    check_distinct_files(view_files(c));
    io::check_writable(c.output, false);
    Stopwatch clock;
    progress.start("read");
    const Matrix y = read_embedding(c.embedding);
    io::Labels labels;
    if (!c.label_paths.empty()) {
        labels = read_labels_checked(c.label_paths, y.rows());
        if (!c.label_names.empty()) apply_label_names(labels, c.label_names);
    }
    std::optional<ViewThumbnails> thumbnails;
    if (!c.inputs.empty()) {
        const Matrix x = reading("--input", [&] { return read_stacked(c.inputs); });
        if (x.rows() != y.rows())
            throw InvalidArgument(concat("--input ",
                                         c.inputs.size() == 1 ? c.inputs[0] : "(the stacked files)", " has ",
                                         x.rows(), " rows; the embedding ", c.embedding, " has ", y.rows(),
                                         " (give the data the embedding was made from)"));
        thumbnails =
            view_thumbnails(x, c.thumbnails, c.inputs.size() == 1 ? c.inputs[0] : "the stacked input");
    }
    io::MatrixStack frames;
    if (!c.snapshots_path.empty()) frames = read_frames(c.snapshots_path, y);
    progress.done("read", clock.seconds(), concat(y.rows(), " x ", y.cols()));

    ViewData data;
    data.y = y;
    data.labels = labels.codes.empty() ? nullptr : &labels;
    data.thumbnails = thumbnails ? &*thumbnails : nullptr;
    for (index_t f = 0; f < frames.frames; ++f) data.frames.push_back(frames.frame(f));
    data.title = c.title.empty() ? file_name(c.embedding) : c.title;
    Stopwatch write_time;
    progress.start("view");
    write_view(c.output, data);
    progress.done("view", write_time.seconds(),
                  concat(c.output, " (", file_bytes(c.output), ", ", describe_view(data), ")"));
    return 0;
}

void stage_view(OutputBatch& outputs, const std::string& target, const ViewData& data, Progress& progress) {
    Stopwatch clock;
    progress.start("view");
    std::string staged;
    outputs.write(target, [&](const std::string& temp) {
        write_view(temp, data);
        staged = temp;
    });
    progress.done("view", clock.seconds(),
                  concat(target, " (", file_bytes(staged), ", ", describe_view(data), ")"));
}

}  // namespace treesne::cli
