// Scatter pictures of an embedding with Cairo: PNG through an image surface, SVG through Cairo's SVG
// surface. Both stream their bytes into an io::AtomicFile, so a failed write never leaves a torn file.
#include "treesne/plot/plot.hpp"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "treesne/core/errors.hpp"
#include "treesne/core/hash.hpp"

namespace treesne {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr std::size_t kMaxLegendEntries = 30;  // more classes end the legend with "… and K more"
constexpr int kMinSide = 64;                   // below this, margins and legend leave no room for data
constexpr int kMaxSide = 32767;                // Cairo's limit for image surfaces

enum class Format { png, svg };

// ---------------------------------------------------------------------------------------------------
// Inputs

std::string lowercase_extension(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    const std::size_t name = slash == std::string::npos ? 0 : slash + 1;
    const std::size_t dot = path.find_last_of('.');
    if (dot == std::string::npos || dot < name) return {};
    std::string ext = path.substr(dot);
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

Format format_of(const std::string& path) {
    const std::string ext = lowercase_extension(path);
    if (ext == ".png") return Format::png;
    if (ext == ".svg") return Format::svg;
    throw IoError(
        concat("plot ", path, ": ",
               ext.empty() ? std::string("no file extension") : "unsupported extension '" + ext + "'",
               "; accepted: .png, .svg"));
}

void validate_labels(const io::Labels& labels, index_t n, const char* what) {
    require(static_cast<index_t>(labels.codes.size()) == n, "plot: ", labels.codes.size(), " labels for ", n,
            what);
    const auto classes = static_cast<int>(labels.names.size());
    for (std::size_t i = 0; i < labels.codes.size(); ++i)
        require(labels.codes[i] >= 0 && labels.codes[i] < classes, "plot: label code ", labels.codes[i],
                " of point ", i, " is outside [0, ", classes, ")");
}

void validate_background(ConstMatrixView y, const PlotOptions& options) {
    const ConstMatrixView b = options.background;
    if (b.rows == 0) {
        require(options.background_labels == nullptr, "plot: background labels without background points");
        return;
    }
    require(b.data != nullptr && b.cols == y.cols, "plot: the background has ", b.cols,
            " columns but the embedding ", y.cols);
    for (index_t i = 0; i < b.size(); ++i)
        require(std::isfinite(b.data[i]), "plot: row ", i / b.cols, " column ", i % b.cols,
                " of the background is not finite (", b.data[i], ")");
    if (options.background_labels) validate_labels(*options.background_labels, b.rows, " background points");
}

void validate(ConstMatrixView y, const io::Labels* labels, const PlotOptions& options) {
    require(y.data != nullptr && y.rows > 0, "plot: the embedding is empty");
    require(y.cols >= 1 && y.cols <= 3, "plot: the embedding needs 1, 2 or 3 columns; got ", y.cols);
    require(options.width >= kMinSide && options.width <= kMaxSide, "plot: width must be in [", kMinSide,
            ", ", kMaxSide, "]; got ", options.width);
    require(options.height >= kMinSide && options.height <= kMaxSide, "plot: height must be in [", kMinSide,
            ", ", kMaxSide, "]; got ", options.height);
    require(std::isfinite(options.point_radius) && options.point_radius >= 0,
            "plot: point_radius must be >= 0 (0 = auto); got ", options.point_radius);
    if (options.bounds) {
        const PlotBounds& b = *options.bounds;
        require(std::isfinite(b.x_min) && std::isfinite(b.x_max) && b.x_min <= b.x_max, "plot: bounds x ",
                b.x_min, " to ", b.x_max, " must be finite and in order");
        require(y.cols < 2 || (std::isfinite(b.y_min) && std::isfinite(b.y_max) && b.y_min <= b.y_max),
                "plot: bounds y ", b.y_min, " to ", b.y_max, " must be finite and in order");
    }
    validate_background(y, options);
    for (index_t i = 0; i < y.rows; ++i) {
        for (index_t j = 0; j < y.cols; ++j) {
            require(std::isfinite(y(i, j)), "plot: row ", i, " column ", j,
                    " of the embedding is not finite (", y(i, j), ")");
        }
    }
    if (labels != nullptr) validate_labels(*labels, y.rows, " points");
}

// ---------------------------------------------------------------------------------------------------
// Deterministic pseudo-randomness: splitmix64 at the point index (treesne/core/hash.hpp), so pictures are
// identical on every platform and run.

double unit_hash(std::uint64_t i) {
    return static_cast<double>(splitmix64_at(i) >> 11) * 0x1.0p-53;
}

// Points are painted in a fixed pseudo-random order (Fisher-Yates with splitmix64_at): input files are
// usually sorted by class, and painting in file order would let the last class cover all the others.
std::vector<index_t> draw_order(index_t n) {
    std::vector<index_t> order(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    for (index_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<index_t>(splitmix64_at(static_cast<std::uint64_t>(i)) %
                                            static_cast<std::uint64_t>(i + 1));
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
    }
    return order;
}

// ---------------------------------------------------------------------------------------------------
// Data coordinates and their bounds

struct Point2 {
    double x, y;
};

// 2-D and 3-D use the first two coordinates. 1-D has no second axis, so x is the coordinate and y is a
// deterministic jitter (a hash of the row index) of half-height `jitter`, which spreads the points into a
// strip where overlaps and density show.
struct Coordinates {
    ConstMatrixView y;
    double jitter = 0;

    Point2 operator()(index_t i) const {
        const double* row = y.row(i);
        if (y.cols >= 2) return {row[0], row[1]};
        return {row[0], (2 * unit_hash(static_cast<std::uint64_t>(i)) - 1) * jitter};
    }
};

struct Box {
    double x0, y0, x1, y1;
    double width() const { return x1 - x0; }
    double height() const { return y1 - y0; }
};

// All points identical: any scale is right; a unit range centred on them keeps the arithmetic finite.
Box widen_if_empty(Box b) {
    if (!(std::max(b.width(), b.height()) > 0)) b = {b.x0 - 0.5, b.y0 - 0.5, b.x1 + 0.5, b.y1 + 0.5};
    return b;
}

// The data's own extent, or the fixed bounds of the options (1-D: their x span and the jitter strip).
Box data_bounds(const Coordinates& at, index_t n, const PlotOptions& options) {
    if (options.bounds) {
        const PlotBounds& f = *options.bounds;
        if (at.y.cols < 2) return widen_if_empty({f.x_min, -at.jitter, f.x_max, at.jitter});
        return widen_if_empty({f.x_min, f.y_min, f.x_max, f.y_max});
    }
    Box b{at(0).x, at(0).y, at(0).x, at(0).y};
    for (index_t i = 1; i < n; ++i) {
        const Point2 p = at(i);
        b = {std::min(b.x0, p.x), std::min(b.y0, p.y), std::max(b.x1, p.x), std::max(b.y1, p.y)};
    }
    return widen_if_empty(b);
}

Coordinates make_coordinates(ConstMatrixView y, const PlotOptions& options) {
    Coordinates at{y, 0};
    if (y.cols == 1) {
        double lo = y(0, 0), hi = y(0, 0);
        for (index_t i = 1; i < y.rows; ++i) lo = std::min(lo, y(i, 0)), hi = std::max(hi, y(i, 0));
        if (options.bounds) lo = options.bounds->x_min, hi = options.bounds->x_max;
        at.jitter = 0.15 * (hi > lo ? hi - lo : 1.0);
    }
    return at;
}

// ---------------------------------------------------------------------------------------------------
// Colours

struct Rgb {
    double r, g, b;
};

constexpr Rgb hex(unsigned v) {
    return {((v >> 16) & 0xFF) / 255.0, ((v >> 8) & 0xFF) / 255.0, (v & 0xFF) / 255.0};
}

// Twelve well-separated hues, ordered so that the first few classes differ the most.
constexpr Rgb kPalette[] = {hex(0x2E6FD8), hex(0xE8601C), hex(0x1E9E4A), hex(0xD62839),
                            hex(0x8E44AD), hex(0x17B3C4), hex(0x8C5A2B), hex(0xE05EB0),
                            hex(0xB5B80F), hex(0x6B6B6B), hex(0xF2B705), hex(0x0B3C6E)};
constexpr int kPaletteSize = static_cast<int>(sizeof(kPalette) / sizeof(kPalette[0]));

Rgb mix(Rgb a, Rgb b, double t) {
    return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

// Beyond the palette the hues repeat, alternately lighter and darker each round.
Rgb class_colour(int code) {
    const Rgb base = kPalette[code % kPaletteSize];
    const int round = code / kPaletteSize;
    if (round == 0) return base;
    const double t = std::min(0.6, 0.2 * ((round + 1) / 2) + 0.15);
    return round % 2 == 1 ? mix(base, {1, 1, 1}, t) : mix(base, {0, 0, 0}, t);
}

}  // namespace

std::uint32_t class_colour_rgb(int code) {
    const Rgb c = class_colour(code);
    const auto byte = [](double v) { return static_cast<std::uint32_t>(std::lround(v * 255)); };
    return byte(c.r) << 16 | byte(c.g) << 8 | byte(c.b);
}

namespace {

// ---------------------------------------------------------------------------------------------------
// Cairo resources and errors

struct SurfaceDeleter {
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
    void operator()(cairo_t* c) const { cairo_destroy(c); }
};
struct PatternDeleter {
    void operator()(cairo_pattern_t* p) const { cairo_pattern_destroy(p); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;
using Pattern = std::unique_ptr<cairo_pattern_t, PatternDeleter>;

void check(cairo_status_t status, const std::string& path, const char* what) {
    if (status != CAIRO_STATUS_SUCCESS) {
        throw IoError(concat("plot ", path, ": ", what, ": ", cairo_status_to_string(status)));
    }
}

// Receives Cairo's output and appends it to the AtomicFile. Exceptions must not cross Cairo's C frames,
// so a failed write is kept and rethrown once Cairo has returned. For SVG the last bytes are held back,
// because the legend and title text go in just before the closing </svg> tag (see finish_svg).
class Sink {
  public:
    Sink(io::AtomicFile& file, std::size_t hold_back) : file_(file), hold_back_(hold_back) {}

    static cairo_status_t write(void* closure, const unsigned char* data, unsigned int length) {
        auto* sink = static_cast<Sink*>(closure);
        try {
            sink->pending_.append(reinterpret_cast<const char*>(data), length);
            if (sink->pending_.size() > sink->hold_back_ + (1u << 16)) {
                const std::size_t n = sink->pending_.size() - sink->hold_back_;
                sink->file_.write(sink->pending_.data(), n);
                sink->pending_.erase(0, n);
            }
            return CAIRO_STATUS_SUCCESS;
        } catch (...) {
            sink->error_ = std::current_exception();
            return CAIRO_STATUS_WRITE_ERROR;
        }
    }

    void rethrow_if_failed() const {
        if (error_) std::rethrow_exception(error_);
    }
    /// Writes everything still held, with `insert` placed just before the last `before` (if given).
    void flush(const std::string& path, const std::string& insert = {}, const char* before = nullptr) {
        std::size_t at = pending_.size();
        if (before != nullptr) {
            at = pending_.rfind(before);
            if (at == std::string::npos)
                throw IoError(concat("plot ", path, ": Cairo's SVG has no ", before));
        }
        file_.write(pending_.data(), at);
        file_.write(insert);
        file_.write(pending_.data() + at, pending_.size() - at);
        pending_.clear();
    }

  private:
    io::AtomicFile& file_;
    std::size_t hold_back_;
    std::string pending_;
    std::exception_ptr error_;
};

// ---------------------------------------------------------------------------------------------------
// Text. PNG text is drawn with Cairo's toy API on a context of its own: on a machine without fonts a text
// failure then only leaves the text out, instead of putting the drawing context into an error state.
// SVG text is written as real <text> elements (Cairo would write glyph outlines), so names in the file
// stay searchable and editable; Cairo's toy metrics are used to lay it out in both formats.

struct TextItem {
    double x, y;  // baseline start, or baseline centre when centred
    double size;
    bool bold;
    bool centred;
    std::string text;
};

std::string xml_escape(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                // Control characters are not allowed in XML 1.0.
                if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') out += c;
        }
    }
    return out;
}

class Text {
  public:
    Text(cairo_surface_t* surface, Format format) : cr_(cairo_create(surface)), format_(format) {}

    void font(double size, bool bold) {
        cairo_select_font_face(cr_.get(), "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr_.get(), size);
        size_ = size;
        bold_ = bold;
    }
    /// Advance width of text in the current font; 0 where no font could be loaded.
    double width(const std::string& text) {
        cairo_text_extents_t e{};
        cairo_text_extents(cr_.get(), text.c_str(), &e);
        return cairo_status(cr_.get()) == CAIRO_STATUS_SUCCESS && std::isfinite(e.x_advance) ? e.x_advance
                                                                                             : 0;
    }
    void draw(double x, double baseline, const std::string& text, bool centred, Rgb colour) {
        if (format_ == Format::svg) {
            items_.push_back({x, baseline, size_, bold_, centred, text});
            return;
        }
        cairo_set_source_rgb(cr_.get(), colour.r, colour.g, colour.b);
        cairo_move_to(cr_.get(), centred ? x - width(text) / 2 : x, baseline);
        cairo_show_text(cr_.get(), text.c_str());
    }
    /// The <text> elements to insert into the SVG.
    std::string svg_elements() const {
        std::string out;
        for (const TextItem& t : items_) {
            out += concat("<text x=\"", t.x, "\" y=\"", t.y, "\" font-family=\"sans-serif\" font-size=\"",
                          t.size, "\"", t.bold ? " font-weight=\"bold\"" : "",
                          t.centred ? " text-anchor=\"middle\"" : "", " fill=\"#222222\">",
                          xml_escape(t.text), "</text>\n");
        }
        return out;
    }

  private:
    Context cr_;
    Format format_;
    double size_ = 10;
    bool bold_ = false;
    std::vector<TextItem> items_;
};

// Shortens text with a trailing ellipsis until it fits max_width, dropping whole UTF-8 characters
// (continuation bytes 10xxxxxx, then their lead byte). Very long names are first cut to 200 bytes so the
// measuring loop stays short.
std::string fit_text(Text& text, const std::string& s, double max_width) {
    if (text.width(s) <= max_width) return s;
    const auto drop_last_char = [](std::string& t) {
        while (!t.empty() && (static_cast<unsigned char>(t.back()) & 0xC0) == 0x80) t.pop_back();
        if (!t.empty()) t.pop_back();
    };
    std::string cut = s.substr(0, 201);
    drop_last_char(cut);
    while (!cut.empty() && text.width(cut + "\u2026") > max_width) drop_last_char(cut);
    return cut + "\u2026";
}

// ---------------------------------------------------------------------------------------------------
// Layout: title on top, the data frame (equal aspect: t-SNE distances matter) centred with the legend to
// its right. No axes: t-SNE coordinates have no meaning of their own.

struct Legend {
    std::vector<std::string> lines;  // names as shown (truncated), then "… and K more" when capped
    std::size_t shown = 0;           // entries with a coloured disc
    double font = 0, line = 0, width = 0, height = 0;
};

struct Layout {
    double ui = 1;  // scale of margins and fonts relative to a 1000-pixel picture
    double radius = 1, alpha = 1;
    Box frame{};            // in pixels
    double k = 1;           // pixels per data unit
    double ox = 0, oy = 0;  // pixel position of data coordinate (cx, cy)
    double cx = 0, cy = 0;
    double legend_x = 0, legend_y = 0;
    Legend legend;
};

// Point size and opacity from N: on a picture whose smaller side is 1200 px, about 4 px at 100 points
// down to 0.6 px at 10^6 (the power law through both), scaled with the smaller side; opacity falls
// alongside so that overlapping points build up visible density.
void point_style(index_t n, const PlotOptions& options, Layout& out) {
    const double decades = std::log10(std::max<double>(static_cast<double>(n), 1.0) / 100.0);
    const double side = std::min(options.width, options.height) / 1200.0;
    const double auto_radius =
        std::clamp(4.0 * std::pow(10.0, -0.206 * decades), 0.6, 5.0) * std::max(side, 0.4);
    out.radius = options.point_radius > 0 ? options.point_radius : auto_radius;
    out.alpha = std::clamp(0.85 * std::pow(10.0, -0.125 * decades), 0.25, 0.85);
}

Legend make_legend(Text& text, const io::Labels& labels, double ui, double max_width, double max_height) {
    Legend lg;
    const std::size_t classes = labels.names.size();
    lg.shown = std::min(classes, kMaxLegendEntries);
    const std::size_t rows = lg.shown + (classes > lg.shown ? 1 : 0);
    lg.font = 15 * ui;
    lg.line = 1.6 * lg.font;
    if (rows > 0 && rows * lg.line > max_height) {
        lg.line = max_height / static_cast<double>(rows);
        lg.font = lg.line / 1.6;
    }
    text.font(lg.font, false);
    const double disc = lg.line;  // the disc and its gap take one line height
    for (std::size_t c = 0; c < lg.shown; ++c)
        lg.lines.push_back(fit_text(text, labels.names[c], max_width - disc));
    if (classes > lg.shown) lg.lines.push_back(concat("\u2026 and ", classes - lg.shown, " more"));
    double widest = 0;
    for (const std::string& s : lg.lines) widest = std::max(widest, text.width(s));
    lg.width = disc + widest;
    lg.height = static_cast<double>(rows) * lg.line;
    return lg;
}

Layout make_layout(Text& text, const Coordinates& at, index_t n, const io::Labels* labels,
                   const PlotOptions& options) {
    Layout L;
    const double w = options.width, h = options.height;
    L.ui = std::min(w, h) / 1000.0;
    point_style(n, options, L);
    const double margin = 24 * L.ui;
    const double top = margin + (options.title.empty() ? 0 : 40 * L.ui);
    const double gap = 24 * L.ui;
    const double avail_h = std::max(h - top - margin, 8.0);
    if (labels != nullptr) L.legend = make_legend(text, *labels, L.ui, 0.3 * w, avail_h);
    const double legend_w = labels != nullptr ? L.legend.width + gap : 0;
    const double avail_w = std::max(w - 2 * margin - legend_w, 8.0);

    // Data box padded by 3% of its span plus the point radius in pixels, then scaled to fit.
    const Box b = data_bounds(at, n, options);
    const double pad_data = 0.03 * std::max(b.width(), b.height());
    const double pad_px = L.radius + 2 * L.ui;
    const double box_w = b.width() + 2 * pad_data, box_h = b.height() + 2 * pad_data;
    L.k = std::max(std::min((avail_w - 2 * pad_px) / box_w, (avail_h - 2 * pad_px) / box_h), 1e-300);
    const double frame_w = box_w * L.k + 2 * pad_px, frame_h = box_h * L.k + 2 * pad_px;
    const double left = (w - frame_w - legend_w) / 2;
    L.frame = {left, top + (avail_h - frame_h) / 2, left + frame_w, top + (avail_h + frame_h) / 2};
    L.cx = (b.x0 + b.x1) / 2;
    L.cy = (b.y0 + b.y1) / 2;
    L.ox = (L.frame.x0 + L.frame.x1) / 2;
    L.oy = (L.frame.y0 + L.frame.y1) / 2;
    L.legend_x = L.frame.x1 + gap;
    const double centred = (L.frame.y0 + L.frame.y1 - L.legend.height) / 2;
    L.legend_y = std::clamp(centred, top, std::max(top, h - margin - L.legend.height));
    return L;
}

// ---------------------------------------------------------------------------------------------------
// Drawing

// tint > 0 fades the colours towards white by that fraction (the background layer; without labels it
// starts from grey).
void draw_points(cairo_t* cr, const Coordinates& at, const io::Labels* labels, const Layout& L, Format format,
                 double tint = 0) {
    const std::size_t classes = labels != nullptr ? labels->names.size() : 1;
    std::vector<Pattern> source;
    source.reserve(classes);
    for (std::size_t c = 0; c < classes; ++c) {
        const Rgb base =
            labels == nullptr && tint > 0 ? Rgb{0.45, 0.45, 0.45} : class_colour(static_cast<int>(c));
        const Rgb rgb = mix(base, {1, 1, 1}, tint);
        source.emplace_back(cairo_pattern_create_rgba(rgb.r, rgb.g, rgb.b, L.alpha));
    }
    // Below 1.5 px a disc and a square of equal area look alike in a raster, and the square is much
    // cheaper for Cairo to fill; vector output is zoomed, so SVG always gets discs.
    const bool discs = format == Format::svg || L.radius >= 1.5;
    const double side = L.radius * std::sqrt(kPi);
    cairo_pattern_t* current = nullptr;
    for (const index_t i : draw_order(at.y.rows)) {
        const Point2 p = at(i);
        const double sx = L.ox + (p.x - L.cx) * L.k;
        const double sy = L.oy - (p.y - L.cy) * L.k;  // screen y grows downwards
        cairo_pattern_t* want =
            source[labels != nullptr ? static_cast<std::size_t>(labels->codes[i]) : 0].get();
        if (want != current) cairo_set_source(cr, current = want);
        if (discs) {
            cairo_arc(cr, sx, sy, L.radius, 0, 2 * kPi);
        } else {
            cairo_rectangle(cr, sx - side / 2, sy - side / 2, side, side);
        }
        cairo_fill(cr);
    }
}

// The background layer (PlotOptions::background): faded, in the size and opacity of its own count.
void draw_background(cairo_t* cr, const PlotOptions& options, const Layout& L, Format format) {
    Layout faded = L;
    point_style(options.background.rows, options, faded);
    draw_points(cr, make_coordinates(options.background, options), options.background_labels, faded, format,
                0.7);
}

// With a background and no fixed bounds: bounds that cover both sets (1-D: the x span).
PlotOptions with_background_extent(const PlotOptions& options, ConstMatrixView y) {
    if (options.background.rows == 0 || options.bounds) return options;
    constexpr double inf = std::numeric_limits<double>::infinity();
    PlotBounds b{inf, inf, -inf, -inf};
    for (const ConstMatrixView& m : {y, options.background})
        for (index_t i = 0; i < m.rows; ++i) {
            b.x_min = std::min(b.x_min, m(i, 0));
            b.x_max = std::max(b.x_max, m(i, 0));
            b.y_min = m.cols >= 2 ? std::min(b.y_min, m(i, 1)) : 0.0;
            b.y_max = m.cols >= 2 ? std::max(b.y_max, m(i, 1)) : 0.0;
        }
    PlotOptions out = options;
    out.bounds = b;
    return out;
}

void draw_frame(cairo_t* cr, const Layout& L) {
    const double lw = std::max(1.0, L.ui);
    cairo_set_source_rgb(cr, 0.72, 0.72, 0.72);
    cairo_set_line_width(cr, lw);
    cairo_rectangle(cr, L.frame.x0, L.frame.y0, L.frame.width(), L.frame.height());
    cairo_stroke(cr);
}

void draw_legend(cairo_t* cr, Text& text, const Layout& L) {
    const Legend& lg = L.legend;
    text.font(lg.font, false);
    for (std::size_t r = 0; r < lg.lines.size(); ++r) {
        const double mid = L.legend_y + (static_cast<double>(r) + 0.5) * lg.line;
        if (r < lg.shown) {
            const Rgb c = class_colour(static_cast<int>(r));
            cairo_set_source_rgb(cr, c.r, c.g, c.b);
            cairo_arc(cr, L.legend_x + 0.3 * lg.line, mid, 0.28 * lg.line, 0, 2 * kPi);
            cairo_fill(cr);
        }
        text.draw(L.legend_x + lg.line, mid + 0.36 * lg.font, lg.lines[r], false, {0.13, 0.13, 0.13});
    }
}

void draw_title(Text& text, const Layout& L, const PlotOptions& options) {
    if (options.title.empty()) return;
    const double size = 22 * L.ui;
    text.font(size, true);
    const std::string title = fit_text(text, options.title, options.width - 48 * L.ui);
    text.draw(options.width / 2.0, 24 * L.ui + size, title, true, {0.13, 0.13, 0.13});
}

void draw(cairo_surface_t* surface, Text& text, ConstMatrixView y, const io::Labels* labels,
          const PlotOptions& options, Format format, const std::string& path) {
    Context cr(cairo_create(surface));
    check(cairo_status(cr.get()), path, "cannot create a drawing context");
    cairo_set_source_rgb(cr.get(), 1, 1, 1);
    cairo_paint(cr.get());

    const Coordinates at = make_coordinates(y, options);
    const Layout L = make_layout(text, at, y.rows, labels, options);
    draw_frame(cr.get(), L);
    if (options.bounds) {  // fixed bounds may leave points outside: keep them off the legend and title
        cairo_rectangle(cr.get(), L.frame.x0, L.frame.y0, L.frame.width(), L.frame.height());
        cairo_clip(cr.get());
    }
    if (options.background.rows > 0) draw_background(cr.get(), options, L, format);
    draw_points(cr.get(), at, labels, L, format);
    cairo_reset_clip(cr.get());
    if (labels != nullptr) draw_legend(cr.get(), text, L);
    draw_title(text, L, options);
    check(cairo_status(cr.get()), path, "drawing failed");
}

void write_png(io::AtomicFile& file, ConstMatrixView y, const io::Labels* labels, const PlotOptions& options,
               const std::string& path) {
    Surface surface(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, options.width, options.height));
    check(cairo_surface_status(surface.get()), path, "cannot create the image");
    {
        Text text(surface.get(), Format::png);
        draw(surface.get(), text, y, labels, options, Format::png, path);
    }
    cairo_surface_flush(surface.get());
    Sink sink(file, 0);
    const cairo_status_t status = cairo_surface_write_to_png_stream(surface.get(), &Sink::write, &sink);
    sink.rethrow_if_failed();
    check(status, path, "cannot write the PNG");
    sink.flush(path);
}

void write_svg(io::AtomicFile& file, ConstMatrixView y, const io::Labels* labels, const PlotOptions& options,
               const std::string& path) {
    Sink sink(file, 64);
    Surface surface(cairo_svg_surface_create_for_stream(&Sink::write, &sink, options.width, options.height));
    check(cairo_surface_status(surface.get()), path, "cannot create the SVG");
    Text text(surface.get(), Format::svg);
    draw(surface.get(), text, y, labels, options, Format::svg, path);
    cairo_surface_finish(surface.get());
    sink.rethrow_if_failed();
    check(cairo_surface_status(surface.get()), path, "cannot write the SVG");
    sink.flush(path, text.svg_elements(), "</svg>");
}

}  // namespace

void plot_embedding(const std::string& path, ConstMatrixView y, const io::Labels* labels,
                    const PlotOptions& options) {
    const Format format = format_of(path);
    validate(y, labels, options);
    const PlotOptions framed = with_background_extent(options, y);
    io::AtomicFile file(path);
    if (format == Format::png) {
        write_png(file, y, labels, framed, path);
    } else {
        write_svg(file, y, labels, framed, path);
    }
    file.commit();
}

}  // namespace treesne
