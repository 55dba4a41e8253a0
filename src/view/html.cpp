// The view's page: the template (src/view/assets/template.html) with the style, three.js, the viewer's
// script and the data put in. The data are binary blobs, each gzip-compressed (zlib) and base64-encoded
// in a <script type="application/octet-stream"> element: the browser inflates them with its own
// DecompressionStream, so no JavaScript inflater is inlined. Coordinates are float32 (7 significant
// digits: far below a pixel at any zoom a page allows), labels uint8 (up to 256 classes) or uint16,
// thumbnails and frames as described in treesne/view/html.hpp.
#include "treesne/view/html.hpp"

#include <zlib.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "treesne/core/errors.hpp"
#include "treesne/plot/plot.hpp"
#include "treesne/version.hpp"
#include "view/assets.hpp"

namespace treesne {
namespace {

// ---------------------------------------------------------------------------------------------------
// Checks

void validate_frames(const ViewData& data) {
    for (std::size_t f = 0; f < data.frames.size(); ++f) {
        const ConstMatrixView m = data.frames[f];
        require(m.rows == data.y.rows && m.cols == data.y.cols, "view: frame ", f + 1, " is ", m.rows, " x ",
                m.cols, "; the embedding is ", data.y.rows, " x ", data.y.cols);
    }
}

void validate(const ViewData& data) {
    const index_t n = data.y.rows;
    require(data.y.data != nullptr && n > 0, "view: the embedding is empty");
    require(data.y.cols >= 1 && data.y.cols <= 3, "view: the embedding needs 1, 2 or 3 columns; got ",
            data.y.cols);
    if (data.labels) {
        const io::Labels& l = *data.labels;
        require(static_cast<index_t>(l.codes.size()) == n, "view: ", l.codes.size(), " labels for ", n,
                " points");
        require(l.names.size() <= 65536, "view: at most 65536 classes; got ", l.names.size());
        const auto classes = static_cast<int>(l.names.size());
        for (std::size_t i = 0; i < l.codes.size(); ++i)
            require(l.codes[i] >= 0 && l.codes[i] < classes, "view: label code ", l.codes[i], " of point ", i,
                    " is outside [0, ", classes, ")");
    }
    if (data.thumbnails && data.thumbnails->side > 0) {
        const ViewThumbnails& t = *data.thumbnails;
        const auto per_image = static_cast<std::size_t>(t.side) * static_cast<std::size_t>(t.side);
        require(t.pixels.size() == per_image * static_cast<std::size_t>(n),
                "view: ", t.pixels.size() / per_image, " thumbnails of ", t.side, " x ", t.side, " for ", n,
                " points");
    }
    require(data.faded >= 0 && data.faded <= n, "view: ", data.faded, " faded points of ", n);
    validate_frames(data);
}

// ---------------------------------------------------------------------------------------------------
// Encoding: gzip (zlib), base64, JSON strings

std::string gzip(const void* bytes, std::size_t size) {
    z_stream zs{};
    // windowBits 15 + 16: a gzip wrapper, which DecompressionStream("gzip") reads.
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw IoError("view: cannot start gzip compression");
    std::string out(deflateBound(&zs, static_cast<uLong>(size)), '\0');
    zs.next_in = static_cast<Bytef*>(const_cast<void*>(bytes));
    zs.avail_in = static_cast<uInt>(size);
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw IoError(concat("view: gzip compression failed (zlib error ", rc, ")"));
    return out;
}

/// zlib's counts are 32-bit: larger blobs go as several gzip members, which DecompressionStream reads
/// as one stream (RFC 1952 allows concatenated members).
std::string gzip_blob(const void* bytes, std::size_t size) {
    constexpr std::size_t piece = std::size_t{1} << 30;
    std::string out;
    const auto* p = static_cast<const char*>(bytes);
    for (std::size_t at = 0; at < size || at == 0; at += piece) {
        out += gzip(p + at, std::min(piece, size - at));
        if (size == 0) break;
    }
    return out;
}

std::string base64(std::string_view in) {
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = std::uint32_t{static_cast<unsigned char>(in[i])} << 16 |
                                std::uint32_t{static_cast<unsigned char>(in[i + 1])} << 8 |
                                static_cast<unsigned char>(in[i + 2]);
        for (int k = 18; k >= 0; k -= 6) out += digits[(v >> k) & 63];
    }
    if (i < in.size()) {
        std::uint32_t v = std::uint32_t{static_cast<unsigned char>(in[i])} << 16;
        if (i + 1 < in.size()) v |= std::uint32_t{static_cast<unsigned char>(in[i + 1])} << 8;
        out += digits[(v >> 18) & 63];
        out += digits[(v >> 12) & 63];
        out += i + 1 < in.size() ? digits[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

/// A JSON string literal that is also safe inside a <script> element ("</" written as "<\/").
std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else if (c == '/' && i > 0 && s[i - 1] == '<') {
            out += "\\/";
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// ---------------------------------------------------------------------------------------------------
// The blobs

std::vector<float> to_float32(ConstMatrixView m, const char* what) {
    std::vector<float> out(static_cast<std::size_t>(m.size()));
    for (index_t i = 0; i < m.rows; ++i) {
        for (index_t j = 0; j < m.cols; ++j) {
            const double v = m(i, j);
            require(std::isfinite(v) && std::fabs(v) <= FLT_MAX, "view: row ", i + 1, " column ", j + 1,
                    " of ", what, " is ", v, ", not a finite float32");
            out[static_cast<std::size_t>(i * m.cols + j)] = static_cast<float>(v);
        }
    }
    return out;
}

std::string blob_element(const char* name, const void* bytes, std::size_t size) {
    return concat("<script type=\"application/octet-stream\" id=\"treesne-", name, "\">",
                  base64(gzip_blob(bytes, size)), "</script>\n");
}

std::string label_blob(const io::Labels& labels) {
    if (labels.names.size() <= 256) {
        std::vector<std::uint8_t> codes(labels.codes.begin(), labels.codes.end());
        return blob_element("labels", codes.data(), codes.size());
    }
    std::vector<std::uint16_t> codes(labels.codes.begin(), labels.codes.end());
    return blob_element("labels", codes.data(), codes.size() * sizeof(std::uint16_t));
}

std::string frames_blob(const ViewData& data) {
    std::vector<float> all;
    all.reserve(static_cast<std::size_t>(data.y.size()) * data.frames.size());
    for (std::size_t f = 0; f < data.frames.size(); ++f) {
        const std::vector<float> frame = to_float32(data.frames[f], concat("frame ", f + 1).c_str());
        all.insert(all.end(), frame.begin(), frame.end());
    }
    return blob_element("frames", all.data(), all.size() * sizeof(float));
}

std::string blobs(const ViewData& data) {
    const std::vector<float> coords = to_float32(data.y, "the embedding");
    std::string out = blob_element("coords", coords.data(), coords.size() * sizeof(float));
    if (data.labels) out += label_blob(*data.labels);
    if (data.thumbnails && data.thumbnails->side > 0)
        out += blob_element("thumbs", data.thumbnails->pixels.data(), data.thumbnails->pixels.size());
    if (!data.frames.empty()) out += frames_blob(data);
    return out;
}

// ---------------------------------------------------------------------------------------------------
// The page

/// Pixels a point is drawn with by default: large for a few hundred points, 2 for a million.
double default_point_size(index_t n) {
    return n <= 2000 ? 7 : n <= 20000 ? 5 : n <= 200000 ? 3 : 2;
}

std::string colour_text(int code) {
    char text[8];
    std::snprintf(text, sizeof text, "#%06x", static_cast<unsigned>(class_colour_rgb(code)));
    return text;
}

std::string meta_json(const ViewData& data) {
    std::string names = "[", colours = "[";
    const std::size_t classes = data.labels ? data.labels->names.size() : 0;
    for (std::size_t c = 0; c < classes; ++c) {
        names += concat(c ? "," : "", json_string(data.labels->names[c]));
        colours += concat(c ? "," : "", "\"", colour_text(static_cast<int>(c)), "\"");
    }
    if (classes == 0) colours += concat("\"", colour_text(0), "\"");
    const int side = data.thumbnails ? data.thumbnails->side : 0;
    return concat("{\"n\":", data.y.rows, ",\"dims\":", data.y.cols, ",\"title\":", json_string(data.title),
                  ",\"names\":", names, "],\"colours\":", colours, "],\"labelBytes\":", classes > 256 ? 2 : 1,
                  ",\"thumbSide\":", side, ",\"frames\":", data.frames.size(), ",\"faded\":", data.faded,
                  ",\"pointSize\":", default_point_size(data.y.rows), "}");
}

/// "111": three.js's REVISION, for the credit line.
std::string three_revision() {
    const std::string_view js = view_assets::three_js();
    const std::string_view key = "REVISION=\"";
    const std::size_t at = js.find(key);
    if (at == std::string_view::npos) return "?";
    const std::size_t end = js.find('"', at + key.size());
    return std::string(js.substr(at + key.size(), end - at - key.size()));
}

/// Script text as it may sit inside <script>: "</script" cannot end the element early.
std::string script_text(std::string_view js) {
    std::string out(js);
    for (std::size_t at = out.find("</"); at != std::string::npos; at = out.find("</", at + 3))
        out.replace(at, 2, "<\\/");
    return out;
}

/// The template with each {{NAME}} replaced once, in one pass (a value is never searched again).
std::string fill_template(const std::vector<std::pair<std::string, std::string>>& values) {
    const std::string_view page = view_assets::template_html();
    std::string out;
    std::size_t at = 0;
    for (std::size_t open = page.find("{{"); open != std::string_view::npos; open = page.find("{{", at)) {
        const std::size_t close = page.find("}}", open);
        const std::string_view key = page.substr(open + 2, close - open - 2);
        out.append(page.substr(at, open - at));
        bool known = false;
        for (const auto& [name, value] : values)
            if (name == key) out += value, known = true;
        if (!known) throw std::logic_error(concat("view template: no value for {{", key, "}}"));
        at = close + 2;
    }
    out.append(page.substr(at));
    return out;
}

}  // namespace

int square_image_side(index_t cols) {
    const auto side = static_cast<index_t>(std::llround(std::sqrt(static_cast<double>(cols))));
    if (side * side != cols || side < view_min_image_side || side > view_max_image_side) return 0;
    return static_cast<int>(side);
}

ViewThumbnails thumbnails_from_rows(ConstMatrixView x) {
    const int side = square_image_side(x.cols);
    require(side > 0, "rows of ", x.cols, " values are not square images (s x s values, s from ",
            view_min_image_side, " to ", view_max_image_side, ")");
    double lo = x.data[0], hi = x.data[0];
    bool bytes = true;
    for (index_t i = 0; i < x.size(); ++i) {
        const double v = x.data[i];
        lo = std::min(lo, v), hi = std::max(hi, v);
        bytes = bytes && v >= 0 && v <= 255 && v == std::floor(v);
    }
    const double scale = bytes ? 1.0 : hi > lo ? 255.0 / (hi - lo) : 0.0;
    const double offset = bytes ? 0.0 : lo;
    ViewThumbnails t;
    t.side = side;
    t.pixels.resize(static_cast<std::size_t>(x.size()));
    for (index_t i = 0; i < x.size(); ++i)
        t.pixels[static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(std::lround((x.data[i] - offset) * scale));
    return t;
}

std::string view_html(const ViewData& data) {
    validate(data);
    return fill_template({{"VERSION", treesne::version},
                          {"STYLE", std::string(view_assets::viewer_css())},
                          {"THREE_REVISION", three_revision()},
                          {"META", meta_json(data)},
                          {"BLOBS", blobs(data)},
                          {"THREE", script_text(view_assets::three_js())},
                          {"ORBIT_CONTROLS", script_text(view_assets::orbit_controls())},
                          {"VIEWER", script_text(view_assets::viewer_js())}});
}

void write_view(const std::string& path, const ViewData& data) {
    const std::string page = view_html(data);
    io::AtomicFile file(path);
    file.write(page);
    file.commit();
}

}  // namespace treesne
