// The chart of an accuracy study (plot_accuracy): gradient error and time against theta, log scales,
// one colour per embedding, quadrupole solid and monopole dashed. Cairo's toy text API is enough for
// axis labels; the bytes stream into an io::AtomicFile, so a failed write leaves no torn file.
#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "treesne/core/errors.hpp"
#include "treesne/plot/plot.hpp"

namespace treesne {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kWidth = 1500, kHeight = 680;
constexpr double kErrorFloor = 1e-16;  // theta = 0 is exact up to rounding: drawn at this floor
constexpr double kTimeFloor = 1e-6;    // milliseconds; below the clock's resolution

const char* const kEmbeddings[] = {"initial", "after_ee", "final"};
const double kColours[3][3] = {{0.12, 0.47, 0.71}, {0.85, 0.37, 0.01}, {0.17, 0.63, 0.17}};

struct SurfaceDeleter {
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
    void operator()(cairo_t* c) const { cairo_destroy(c); }
};

std::string number_text(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", v);
    return buffer;
}

/// A plotting area: theta linear on x, log10 of the value on y.
struct Panel {
    double x0, y0, w, h;            // pixel box
    double tmin, tmax, lmin, lmax;  // theta range, log10 value range
    double px(double theta) const { return x0 + (theta - tmin) / (tmax - tmin) * w; }
    double py(double value) const { return y0 + h - (std::log10(value) - lmin) / (lmax - lmin) * h; }
};

/// Text at (x, y), its anchor `align` of the way along its width (0 left, 0.5 centre, 1 right).
void text(cairo_t* cr, double x, double y, const std::string& s, double align = 0.0, double size = 14) {
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, s.c_str(), &e);
    cairo_move_to(cr, x - align * e.width, y);
    cairo_show_text(cr, s.c_str());
}

void draw_axes(cairo_t* cr, const Panel& p, const std::vector<double>& thetas, const std::string& title,
               const std::string& ylabel) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, p.x0, p.y0, p.w, p.h);
    cairo_stroke(cr);
    for (int e = static_cast<int>(std::ceil(p.lmin)); e <= static_cast<int>(std::floor(p.lmax)); ++e) {
        const double y = p.py(std::pow(10.0, e));
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, p.x0, y);
        cairo_line_to(cr, p.x0 + p.w, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, p.x0 - 6, y + 5, "1e" + std::to_string(e), 1.0, 12);
        if (p.lmax - p.lmin > 3) continue;  // over a short range, also mark 2 and 5 times each decade
        for (double m : {2.0, 5.0}) {
            const double v = m * std::pow(10.0, e);
            if (std::log10(v) <= p.lmax) text(cr, p.x0 - 6, p.py(v) + 5, number_text(v), 1.0, 11);
        }
    }
    for (double t : thetas) text(cr, p.px(t), p.y0 + p.h + 18, number_text(t), 0.5, 12);
    text(cr, p.x0 + p.w / 2, p.y0 + p.h + 40, "theta", 0.5);
    text(cr, p.x0 + p.w / 2, p.y0 - 12, title, 0.5, 16);
    cairo_save(cr);
    cairo_translate(cr, p.x0 - 58, p.y0 + p.h / 2);
    cairo_rotate(cr, -kPi / 2);
    text(cr, 0, 0, ylabel, 0.5);
    cairo_restore(cr);
}

void polyline(cairo_t* cr, const Panel& p, const std::vector<std::pair<double, double>>& points,
              bool dashed) {
    if (points.empty()) return;
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, p.px(points[0].first), p.py(points[0].second));
    for (std::size_t i = 1; i < points.size(); ++i)
        cairo_line_to(cr, p.px(points[i].first), p.py(points[i].second));
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    for (const auto& q : points) {
        cairo_arc(cr, p.px(q.first), p.py(q.second), 3.5, 0, 2 * kPi);
        cairo_fill(cr);
    }
}

/// log10 range [floor, ceil] covering the values (at least one decade).
std::pair<double, double> log_range(const std::vector<double>& values) {
    double lo = 1e300, hi = 0;
    for (double v : values) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    const double a = std::floor(std::log10(lo)), b = std::ceil(std::log10(hi));
    return {a, std::max(b, a + 1)};
}

double error_value(const GradientAccuracy& g) {
    return std::isfinite(g.gradient_error) ? std::max(g.gradient_error, kErrorFloor) : kErrorFloor;
}
double ms_value(double seconds) {
    return std::max(1e3 * seconds, kTimeFloor);
}

// The colours of the three embeddings and the line styles, below the panels.
void draw_legend(cairo_t* cr) {
    const double legend_y = 625;
    for (int e = 0; e < 3; ++e) {
        const double x = 90 + 230 * e;
        cairo_set_source_rgb(cr, kColours[e][0], kColours[e][1], kColours[e][2]);
        cairo_rectangle(cr, x, legend_y - 10, 22, 10);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, x + 28, legend_y, std::string(kEmbeddings[e]) + " embedding");
    }
    text(cr, 90, legend_y + 28,
         "solid: quadrupole (treesne default)   dashed: monopole (bhtsne)   dotted: exact O(N^2) gradient"
         "   theta 0 errors drawn at 1e-16");
}

void draw(cairo_t* cr, const AccuracyReport& report, const std::string& title) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

    std::vector<double> thetas, errors, times;
    for (const auto& g : report.gradients) {
        if (std::find(thetas.begin(), thetas.end(), g.theta) == thetas.end()) thetas.push_back(g.theta);
        errors.push_back(error_value(g));
        times.push_back(ms_value(g.seconds));
        times.push_back(ms_value(g.exact_seconds));
    }
    const double tmin = *std::min_element(thetas.begin(), thetas.end());
    const double tmax = std::max(*std::max_element(thetas.begin(), thetas.end()), tmin + 1e-9);
    const auto er = log_range(errors), tr = log_range(times);
    const Panel left{90, 70, 560, 470, tmin, tmax, er.first, er.second};
    const Panel right{820, 70, 560, 470, tmin, tmax, tr.first, tr.second};
    draw_axes(cr, left, thetas, "relative L2 error of the gradient", "||g_BH - g_exact|| / ||g_exact||");
    draw_axes(cr, right, thetas, "time of one gradient, tree build included (median)", "milliseconds");
    cairo_set_source_rgb(cr, 0, 0, 0);
    if (!title.empty()) text(cr, kWidth / 2.0, 24, title, 0.5, 15);

    for (int e = 0; e < 3; ++e) {
        const double* colour = kColours[e];
        double exact_ms = 0;
        bool any = false;
        for (bool quadrupole : {true, false}) {
            std::vector<std::pair<double, double>> error_points, time_points;
            for (const auto& g : report.gradients) {
                if (g.embedding != kEmbeddings[e] || g.quadrupole != quadrupole) continue;
                error_points.emplace_back(g.theta, error_value(g));
                time_points.emplace_back(g.theta, ms_value(g.seconds));
                exact_ms = ms_value(g.exact_seconds);
                any = true;
            }
            cairo_set_source_rgb(cr, colour[0], colour[1], colour[2]);
            polyline(cr, left, error_points, !quadrupole);
            polyline(cr, right, time_points, !quadrupole);
        }
        if (!any) continue;
        const double dots[] = {2, 3};  // the exact gradient's time
        cairo_set_dash(cr, dots, 2, 0);
        cairo_set_line_width(cr, 1.5);
        cairo_move_to(cr, right.x0, right.py(exact_ms));
        cairo_line_to(cr, right.x0 + right.w, right.py(exact_ms));
        cairo_stroke(cr);
        cairo_set_dash(cr, dots, 0, 0);
    }
    draw_legend(cr);
}

/// Cairo's write callback into the AtomicFile; an exception must not cross Cairo's C frames, so it is
/// kept and rethrown once Cairo has returned.
struct Sink {
    io::AtomicFile& file;
    std::exception_ptr error;
    static cairo_status_t write(void* closure, const unsigned char* data, unsigned int length) {
        auto* sink = static_cast<Sink*>(closure);
        try {
            sink->file.write(data, length);
            return CAIRO_STATUS_SUCCESS;
        } catch (...) {
            sink->error = std::current_exception();
            return CAIRO_STATUS_WRITE_ERROR;
        }
    }
};

void check(cairo_status_t status, const std::string& path, const char* what) {
    if (status != CAIRO_STATUS_SUCCESS)
        throw IoError(concat("plot ", path, ": ", what, ": ", cairo_status_to_string(status)));
}

std::string lowercase_extension(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    const std::size_t dot = path.find_last_of('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {};
    std::string ext = path.substr(dot);
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

}  // namespace

void plot_accuracy(const std::string& path, const AccuracyReport& report, const std::string& title) {
    const std::string ext = lowercase_extension(path);
    if (ext != ".png" && ext != ".svg")
        throw IoError(
            concat("plot ", path, ": ",
                   ext.empty() ? std::string("no file extension") : "unsupported extension '" + ext + "'",
                   "; accepted: .png, .svg"));
    require(!report.gradients.empty(), "plot ", path, ": the accuracy report has no gradient measurements");
    io::AtomicFile file(path);
    Sink sink{file, nullptr};
    std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
        ext == ".png" ? cairo_image_surface_create(CAIRO_FORMAT_ARGB32, kWidth, kHeight)
                      : cairo_svg_surface_create_for_stream(&Sink::write, &sink, kWidth, kHeight));
    check(cairo_surface_status(surface.get()), path, "cannot create the picture");
    {
        std::unique_ptr<cairo_t, ContextDeleter> cr(cairo_create(surface.get()));
        draw(cr.get(), report, title);
        check(cairo_status(cr.get()), path, "drawing failed");
    }
    cairo_status_t status = CAIRO_STATUS_SUCCESS;
    if (ext == ".png") {
        cairo_surface_flush(surface.get());
        status = cairo_surface_write_to_png_stream(surface.get(), &Sink::write, &sink);
    } else {
        cairo_surface_finish(surface.get());
        status = cairo_surface_status(surface.get());
    }
    if (sink.error) std::rethrow_exception(sink.error);
    check(status, path, "cannot write the picture");
    surface.reset();
    file.commit();
}

}  // namespace treesne
