// Pictures (Cairo): scatter plots of an embedding coloured by labels, and the chart of an accuracy study.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "treesne/eval/accuracy.hpp"
#include "treesne/io/io.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// A rectangle of data coordinates (the first two of the embedding's).
struct PlotBounds {
    double x_min = 0, y_min = 0, x_max = 0, y_max = 0;
};

struct PlotOptions {
    int width = 1600;  ///< pixels (PNG) or points (SVG)
    int height = 1200;
    std::string title;        ///< drawn at the top when not empty
    double point_radius = 0;  ///< 0 = auto from N (large for 100 points, sub-pixel alpha for 10^6)
    /// The data rectangle to show (padded by 3 % as usual); nullopt = the embedding's own extent. Pictures
    /// drawn with the same bounds and size share their axes (frames of a film); points outside are
    /// clipped at the frame. 1-D embeddings use x_min and x_max only (the jitter strip follows their span).
    std::optional<PlotBounds> bounds;
    /// Points drawn first and faded, under y (transform: the reference embedding under the new points),
    /// with y's number of columns: light grey, or light tints of the class colours with
    /// background_labels (codes of the same classes as the labels'). 0 rows = none. Without bounds, the
    /// picture covers both sets. The legend and the point size follow y.
    ConstMatrixView background;
    const io::Labels* background_labels = nullptr;
};

/// Draws y (N x 1, 2 or 3; 3-D is shown by its first two coordinates, 1-D against a small jitter) as a
/// scatter plot, PNG or SVG by the extension of path, written atomically. With labels, points are
/// coloured per class with a legend of the class names. Throws IoError for an unknown extension or a
/// failed write, InvalidArgument for a labels/points count mismatch.
void plot_embedding(const std::string& path, ConstMatrixView y, const io::Labels* labels,
                    const PlotOptions& options = {});

/// The colour of class `code` (>= 0) in every picture and in the view's page, as 0xRRGGBB: twelve
/// well-separated hues, then the same hues lighter and darker in turn.
std::uint32_t class_colour_rgb(int code);

/// Draws the gradient section of an accuracy study (measure_accuracy) as a two-panel chart against
/// theta, written atomically as PNG or SVG by the extension of path: the relative error of the gradient
/// (log scale; theta = 0, exact up to rounding, drawn at 1e-16) and the median time of one gradient in
/// milliseconds (log scale, the exact gradient's as a dotted line), a colour per embedding (initial,
/// after_ee, final), solid for the quadrupole summary and dashed for the monopole one. title, when not
/// empty, is drawn at the top. Throws IoError for an unknown extension or a failed write,
/// InvalidArgument for a report without gradient measurements.
void plot_accuracy(const std::string& path, const AccuracyReport& report, const std::string& title = "");

}  // namespace treesne
