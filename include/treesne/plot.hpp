// Pictures (Cairo): scatter plots of an embedding coloured by labels, and the chart of an accuracy study.
#pragma once

#include <string>

#include "treesne/accuracy.hpp"
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

/// Draws the gradient section of an accuracy study (measure_accuracy) as a two-panel chart against
/// theta, written atomically as PNG or SVG by the extension of path: the relative error of the gradient
/// (log scale; theta = 0, exact up to rounding, drawn at 1e-16) and the median time of one gradient in
/// milliseconds (log scale, the exact gradient's as a dotted line), a colour per embedding (initial,
/// after_ee, final), solid for the quadrupole summary and dashed for the monopole one. title, when not
/// empty, is drawn at the top. Throws IoError for an unknown extension or a failed write,
/// InvalidArgument for a report without gradient measurements.
void plot_accuracy(const std::string& path, const AccuracyReport& report, const std::string& title = "");

}  // namespace treesne
