// The view's page from the command line (internal to tools/): `treesne view` (run_view in cli.hpp) and
// the --html page of embed and transform.
#pragma once

#include <optional>
#include <string>

#include "cli.hpp"
#include "run_common.hpp"
#include "treesne/view/html.hpp"

namespace treesne::cli {

/// Thumbnails of the data rows x for the page: none with `off` or without rows; with `automatic`, only
/// when the rows are square images; with `on`, InvalidArgument naming `what` when they are not.
std::optional<ViewThumbnails> view_thumbnails(ConstMatrixView x, Thumbnails mode, const std::string& what);

/// "70000 points, 10 classes, thumbnails 28 x 28": what a page holds, for the progress line.
std::string describe_view(const ViewData& data);

/// Writes the page of `data` for `target` into the batch (renamed into place with the other outputs) and
/// reports it as a stage line.
void stage_view(OutputBatch& outputs, const std::string& target, const ViewData& data, Progress& progress);

}  // namespace treesne::cli
