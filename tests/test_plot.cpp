// plot_embedding: formats, validation, atomic writes, and the colours that end up in the pixels.
#include <cairo/cairo.h>
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/plot/plot.hpp"

namespace fs = std::filesystem;
using treesne::index_t;
using treesne::Matrix;
using treesne::PlotOptions;
using treesne::io::Labels;
using treesne::testing::TempDir;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool is_png(const std::string& bytes) {
    return bytes.rfind("\x89PNG\r\n\x1a\n", 0) == 0;
}

// Two unit-sd Gaussian clusters of n points each in `cols` dimensions (the shared generator): class
// "left" around (-5, +3, 0, ...), class "right" around (+5, -3, 0, ...), fixed seed.
Matrix two_clusters(index_t n, index_t cols, Labels* labels = nullptr) {
    Matrix centres(2, cols, 0.0);
    centres(0, 0) = -5.0;
    centres(1, 0) = 5.0;
    if (cols > 1) {
        centres(0, 1) = 3.0;
        centres(1, 1) = -3.0;
    }
    std::vector<int> codes;
    const Matrix y = treesne::testing::blobs(centres, n, 42, {1.0}, &codes);
    if (labels != nullptr) {
        labels->names = {"left", "right"};
        labels->codes = codes;
    }
    return y;
}

// Pixels whose colour leans clearly to blue (the first class colour) or to orange (the second), with
// the mean column and row of each group.
struct ColourCensus {
    long blue = 0, orange = 0, other = 0;
    double blue_x = 0, blue_y = 0, orange_x = 0, orange_y = 0;
};

ColourCensus census(const std::string& png) {
    cairo_surface_t* image = cairo_image_surface_create_from_png(png.c_str());
    REQUIRE(cairo_surface_status(image) == CAIRO_STATUS_SUCCESS);
    // An opaque picture reads back as RGB24; both formats store 0x??RRGGBB per pixel.
    const cairo_format_t format = cairo_image_surface_get_format(image);
    REQUIRE((format == CAIRO_FORMAT_RGB24 || format == CAIRO_FORMAT_ARGB32));
    const int w = cairo_image_surface_get_width(image), h = cairo_image_surface_get_height(image);
    const int stride = cairo_image_surface_get_stride(image);
    const unsigned char* data = cairo_image_surface_get_data(image);
    ColourCensus c;
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            std::uint32_t px = 0;
            std::memcpy(&px, data + y * stride + 4 * x, 4);  // native-endian 32-bit word
            const int r = (px >> 16) & 0xFF, g = (px >> 8) & 0xFF, b = px & 0xFF;
            if (b - r > 60 && b > g) {
                ++c.blue, c.blue_x += x, c.blue_y += y;
            } else if (r - b > 60 && r > g) {
                ++c.orange, c.orange_x += x, c.orange_y += y;
            } else if (r < 250 || g < 250 || b < 250) {
                ++c.other;
            }
        }
    }
    cairo_surface_destroy(image);
    if (c.blue > 0) c.blue_x /= c.blue, c.blue_y /= c.blue;
    if (c.orange > 0) c.orange_x /= c.orange, c.orange_y /= c.orange;
    return c;
}

}  // namespace

TEST_CASE("plot_embedding writes PNG and SVG chosen by extension") {
    TempDir dir;
    Labels labels;
    const Matrix y = two_clusters(100, 2, &labels);
    PlotOptions options;
    options.title = "two clusters";

    SUBCASE("PNG, extension in any case") {
        treesne::plot_embedding(dir / "a.png", y, &labels, options);
        treesne::plot_embedding(dir / "b.PNG", y, nullptr, options);
        CHECK(is_png(slurp(dir / "a.png")));
        CHECK(is_png(slurp(dir / "b.PNG")));
        CHECK(dir.files().size() == 2);
    }
    SUBCASE("SVG with the legend names and the title as text") {
        labels.names = {"left <L> & co", "right"};
        treesne::plot_embedding(dir / "a.svg", y, &labels, options);
        const std::string svg = slurp(dir / "a.svg");
        CHECK((svg.rfind("<?xml", 0) == 0 || svg.rfind("<svg", 0) == 0));
        CHECK(svg.find("left &lt;L&gt; &amp; co") != std::string::npos);
        CHECK(svg.find(">right<") != std::string::npos);
        CHECK(svg.find("two clusters") != std::string::npos);
        CHECK(svg.find("</svg>") != std::string::npos);
    }
    SUBCASE("the same input gives the same bytes") {
        treesne::plot_embedding(dir / "a.png", y, &labels, options);
        treesne::plot_embedding(dir / "b.png", y, &labels, options);
        CHECK(slurp(dir / "a.png") == slurp(dir / "b.png"));
    }
}

TEST_CASE("plot_embedding colours each class and keeps the orientation") {
    TempDir dir;
    Labels labels;
    const Matrix y = two_clusters(500, 2, &labels);

    SUBCASE("two labels: both class colours, left cluster left and above the right one") {
        treesne::plot_embedding(dir / "labelled.png", y, &labels);
        const ColourCensus c = census(dir / "labelled.png");
        CHECK(c.blue > 2000);  // far more than the legend discs alone
        CHECK(c.orange > 2000);
        CHECK(c.blue_x < c.orange_x);
        CHECK(c.blue_y < c.orange_y);  // higher data y is drawn nearer the top
    }
    SUBCASE("without labels: one colour, no legend") {
        treesne::plot_embedding(dir / "plain.png", y, nullptr);
        const ColourCensus c = census(dir / "plain.png");
        CHECK(c.blue > 4000);
        CHECK(c.orange == 0);
    }
}

TEST_CASE("plot_embedding draws 1-D, 3-D, identical points and many classes") {
    TempDir dir;
    PlotOptions small;
    small.width = 320;
    small.height = 240;

    SUBCASE("1-D against a jitter and 3-D by its first two coordinates") {
        Labels labels;
        const Matrix y1 = two_clusters(50, 1, &labels);
        const Matrix y3 = two_clusters(50, 3, &labels);
        treesne::plot_embedding(dir / "one.png", y1, &labels, small);
        treesne::plot_embedding(dir / "three.svg", y3, &labels, small);
        CHECK(is_png(slurp(dir / "one.png")));
        CHECK(slurp(dir / "three.svg").find("</svg>") != std::string::npos);
    }
    SUBCASE("all points identical still draws them") {
        const Matrix y(20, 2, 7.5);
        treesne::plot_embedding(dir / "same.png", y, nullptr);
        CHECK(census(dir / "same.png").blue > 10);
    }
    SUBCASE("a long name is shortened at a character boundary") {
        Labels labels;
        const Matrix y = two_clusters(5, 2, &labels);
        std::string long_name;
        for (int i = 0; i < 400; ++i) long_name += "\xC3\xA9";  // U+00E9, two bytes in UTF-8
        labels.names[0] = long_name;
        treesne::plot_embedding(dir / "long.svg", y, &labels, small);
        const std::string svg = slurp(dir / "long.svg");
        const std::size_t begin = svg.find("\xC3\xA9");
        REQUIRE(begin != std::string::npos);
        const std::size_t end = svg.find('<', begin);
        std::string shown = svg.substr(begin, end - begin);
        const std::string ellipsis = "\xE2\x80\xA6";
        REQUIRE(shown.size() > ellipsis.size());
        CHECK(shown.compare(shown.size() - ellipsis.size(), ellipsis.size(), ellipsis) == 0);
        shown.resize(shown.size() - ellipsis.size());
        CHECK(shown.size() % 2 == 0);
        CHECK(shown.size() < long_name.size());
        CHECK(long_name.compare(0, shown.size(), shown) == 0);
    }
    SUBCASE("the legend stops at 30 entries") {
        Matrix y(45, 2);
        Labels labels;
        for (int c = 0; c < 45; ++c) {
            y(c, 0) = c;
            y(c, 1) = c % 7;
            labels.codes.push_back(c);
            labels.names.push_back("cls" + std::to_string(c));
        }
        treesne::plot_embedding(dir / "many.svg", y, &labels, small);
        const std::string svg = slurp(dir / "many.svg");
        CHECK(svg.find(">cls29<") != std::string::npos);
        CHECK(svg.find(">cls30<") == std::string::npos);
        CHECK(svg.find("and 15 more") != std::string::npos);
    }
}

TEST_CASE("plot_embedding rejects bad input and leaves no file behind") {
    TempDir dir;
    Labels labels;
    Matrix y = two_clusters(10, 2, &labels);

    SUBCASE("unknown extension") {
        CHECK_THROWS_WITH_AS(treesne::plot_embedding(dir / "a.jpg", y, &labels), doctest::Contains(".jpg"),
                             treesne::IoError);
        CHECK_THROWS_AS(treesne::plot_embedding(dir / "noext", y, &labels), treesne::IoError);
    }
    SUBCASE("labels for a different number of points") {
        labels.codes.pop_back();
        CHECK_THROWS_WITH_AS(treesne::plot_embedding(dir / "a.png", y, &labels),
                             doctest::Contains("19 labels for 20 points"), treesne::InvalidArgument);
    }
    SUBCASE("label code without a name") {
        labels.codes[3] = 2;
        CHECK_THROWS_AS(treesne::plot_embedding(dir / "a.png", y, &labels), treesne::InvalidArgument);
    }
    SUBCASE("empty or 4-column embeddings") {
        CHECK_THROWS_AS(treesne::plot_embedding(dir / "a.png", Matrix(), nullptr), treesne::InvalidArgument);
        CHECK_THROWS_AS(treesne::plot_embedding(dir / "a.png", Matrix(5, 4), nullptr),
                        treesne::InvalidArgument);
    }
    SUBCASE("non-finite coordinate, named by row") {
        y(7, 1) = std::numeric_limits<double>::quiet_NaN();
        CHECK_THROWS_WITH_AS(treesne::plot_embedding(dir / "a.svg", y, nullptr), doctest::Contains("row 7"),
                             treesne::InvalidArgument);
    }
    SUBCASE("missing directory") {
        CHECK_THROWS_AS(treesne::plot_embedding(dir / "missing/a.png", y, &labels), treesne::IoError);
        CHECK_FALSE(fs::exists(dir.path() / "missing"));
    }
    SUBCASE("target is a directory: the rename fails and the temporary file goes") {
        fs::create_directory(dir.path() / "taken.png");
        CHECK_THROWS_AS(treesne::plot_embedding(dir / "taken.png", y, &labels), treesne::IoError);
        CHECK(fs::is_directory(dir.path() / "taken.png"));
        CHECK(fs::is_empty(dir.path() / "taken.png"));
    }
    CHECK(dir.files().size() == (fs::exists(dir.path() / "taken.png") ? 1u : 0u));
}

TEST_CASE("plot_embedding replaces an existing file only when the new picture is complete") {
    TempDir dir;
    Labels labels;
    const Matrix y = two_clusters(50, 2, &labels);
    const std::string target = dir / "plot.png";
    std::ofstream(target) << "old content";

    Labels wrong = labels;
    wrong.codes.resize(3);
    CHECK_THROWS_AS(treesne::plot_embedding(target, y, &wrong), treesne::InvalidArgument);
    CHECK(slurp(target) == "old content");

    treesne::plot_embedding(target, y, &labels);
    CHECK(is_png(slurp(target)));
    CHECK(dir.files().size() == 1);  // no temporary file left beside it
}
