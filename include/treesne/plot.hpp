// Scatter pictures of an embedding (Cairo), coloured by labels.
#pragma once

#include <string>

#include "treesne/io.hpp"
#include "treesne/types.hpp"

namespace treesne {

struct PlotOptions {
    int width = 1600;  ///< pixels (PNG) or points (SVG)
    int height = 1200;
    std::string title;        ///< drawn at the top when not empty
    double point_radius = 0;  ///< 0 = auto from N (large for 100 points, sub-pixel alpha for 10^6)
};

/// Draws y (N x 1, 2 or 3; 3-D is shown by its first two coordinates, 1-D against a small jitter) as a
/// scatter plot, PNG or SVG by the extension of path, written atomically. With labels, points are
/// coloured per class with a legend of the class names. Throws IoError for an unknown extension or a
/// failed write, InvalidArgument for a labels/points count mismatch.
void plot_embedding(const std::string& path, ConstMatrixView y, const io::Labels* labels,
                    const PlotOptions& options = {});

}  // namespace treesne
