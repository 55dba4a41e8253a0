// The view's page (treesne/view/html.hpp): the blobs decode (base64, then gzip) to the data given, the
// metadata names the classes in the pictures' colours, scripts cannot be closed early, and bad data is
// refused before any file is made; io::read_matrix_stack reads what embed --snapshots writes. The page in
// a browser is tests/browser/test_view.py. Also parse_cli() of `view` and --html, and the program's
// one-line errors for bad inputs (when the test binary links the command line).
#include <doctest/doctest.h>

#ifdef TREESNE_HAVE_VIEW

#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "helpers/cli_runs.hpp"
#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"
#include "treesne/plot/plot.hpp"
#include "treesne/view/html.hpp"

namespace {

using treesne::index_t;
using treesne::Matrix;
using namespace treesne::testing;
namespace fs = std::filesystem;

std::string base64_decode(const std::string& text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    };
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : text) {
        const int v = value(c);
        if (v < 0) continue;  // '=' padding
        bits = bits << 6 | static_cast<std::uint32_t>(v);
        if ((count += 6) >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xFF);
        }
    }
    return out;
}

std::string gunzip(const std::string& in) {
    z_stream zs{};
    REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    std::string out;
    char buffer[1 << 16];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(buffer);
        zs.avail_out = sizeof buffer;
        rc = inflate(&zs, Z_NO_FLUSH);
        REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
        out.append(buffer, sizeof buffer - zs.avail_out);
    }
    inflateEnd(&zs);
    return out;
}

/// The decoded bytes of blob `name` of a page, or "" when the page has none.
std::string blob(const std::string& page, const std::string& name) {
    const std::string open = "<script type=\"application/octet-stream\" id=\"treesne-" + name + "\">";
    const std::size_t at = page.find(open);
    if (at == std::string::npos) return "";
    const std::size_t end = page.find("</script>", at);
    return gunzip(base64_decode(page.substr(at + open.size(), end - at - open.size())));
}

template <class T>
std::vector<T> values(const std::string& bytes) {
    std::vector<T> out(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
}

std::size_t occurrences(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
}

struct Sample {
    Matrix y{4, 2, {0.5, -1.25, 3, 4, -7, 8.125, 1e-3, 2}};
    treesne::io::Labels labels{{0, 1, 1, 0}, {"</script> cat", "dog \"d\""}};
    treesne::ViewThumbnails thumbs;
    Matrix frame0{4, 2, {1, 2, 3, 4, 5, 6, 7, 8}};
    treesne::ViewData data;
    Sample() {
        thumbs.side = 8;
        for (int i = 0; i < 4 * 64; ++i) thumbs.pixels.push_back(static_cast<std::uint8_t>(i * 7));
        data.y = y;
        data.labels = &labels;
        data.thumbnails = &thumbs;
        data.frames = {frame0.view(), y.view()};
        data.faded = 1;
        data.title = "a <b> title";
    }
};

}  // namespace

TEST_CASE("view: the page holds the data, and each blob decodes to it") {
    Sample s;
    const std::string page = treesne::view_html(s.data);
    const auto coords = values<float>(blob(page, "coords"));
    REQUIRE(coords.size() == 8);
    for (index_t k = 0; k < 8; ++k)
        CHECK(coords[static_cast<std::size_t>(k)] == static_cast<float>(s.y.data()[k]));
    CHECK(values<std::uint8_t>(blob(page, "labels")) == std::vector<std::uint8_t>{0, 1, 1, 0});
    CHECK(values<std::uint8_t>(blob(page, "thumbs")) == s.thumbs.pixels);
    const auto frames = values<float>(blob(page, "frames"));
    REQUIRE(frames.size() == 16);
    CHECK(frames[0] == 1);
    CHECK(frames[15] == 2);
    // The metadata: counts, the classes in the pictures' colours, and JSON that no name can break.
    CHECK(page.find("\"n\":4,\"dims\":2") != std::string::npos);
    CHECK(page.find("\"thumbSide\":8,\"frames\":2,\"faded\":1") != std::string::npos);
    CHECK(page.find(R"("names":["<\/script> cat","dog \"d\""])") != std::string::npos);
    char colour[16];
    std::snprintf(colour, sizeof colour, "\"#%06x\"", static_cast<unsigned>(treesne::class_colour_rgb(1)));
    CHECK(page.find(colour) != std::string::npos);
    CHECK(page.find("\"title\":\"a <b> title\"") != std::string::npos);  // set by the script, as text
    // Every script element ends where it should: "</script" appears only as their closing tags.
    CHECK(occurrences(page, "<script") == occurrences(page, "</script>"));
    CHECK(page.find("three.js r") != std::string::npos);  // the credit line with three.js's licence
    CHECK(page.find("{{") == std::string::npos);          // every placeholder filled
}

TEST_CASE("view: optional parts are left out; many classes take two bytes a label") {
    Matrix y(300, 3);
    for (index_t i = 0; i < y.size(); ++i) y.data()[i] = static_cast<double>(i % 17) - 8;
    treesne::ViewData data;
    data.y = y;
    const std::string bare = treesne::view_html(data);
    CHECK(blob(bare, "labels").empty());
    CHECK(blob(bare, "thumbs").empty());
    CHECK(blob(bare, "frames").empty());
    treesne::io::Labels labels;
    for (int c = 0; c < 300; ++c)
        labels.names.push_back("class " + std::to_string(c)), labels.codes.push_back(c);
    data.labels = &labels;
    const std::string page = treesne::view_html(data);
    const auto codes = values<std::uint16_t>(blob(page, "labels"));
    REQUIRE(codes.size() == 300);
    CHECK(codes[299] == 299);
    CHECK(page.find("\"labelBytes\":2") != std::string::npos);
}

TEST_CASE("view: bad data is refused with one line, before any file is made") {
    TempDir dir;
    const std::string path = dir / "page.html";
    auto refused = [&](treesne::ViewData data, const std::string& message) {
        CAPTURE(message);
        CHECK_THROWS_WITH_AS(treesne::write_view(path, data), doctest::Contains(message.c_str()),
                             treesne::InvalidArgument);
        CHECK_FALSE(fs::exists(path));
    };
    Sample s;
    treesne::io::Labels short_labels{{0, 1, 1}, {"a", "b"}};
    treesne::ViewData d = s.data;
    d.labels = &short_labels;
    refused(d, "view: 3 labels for 4 points");
    treesne::io::Labels bad_code{{0, 1, 2, 0}, {"a", "b"}};
    d.labels = &bad_code;
    refused(d, "view: label code 2 of point 2 is outside [0, 2)");
    d = s.data;
    treesne::ViewThumbnails few = s.thumbs;
    few.pixels.resize(3 * 64);
    d.thumbnails = &few;
    refused(d, "view: 3 thumbnails of 8 x 8 for 4 points");
    d = s.data;
    Matrix small(3, 2);
    d.frames = {small.view()};
    refused(d, "view: frame 1 is 3 x 2; the embedding is 4 x 2");
    d = s.data;
    Matrix wide(4, 4);
    d.y = wide;
    d.frames.clear();
    refused(d, "view: the embedding needs 1, 2 or 3 columns; got 4");
    d = s.data;
    d.faded = 5;
    refused(d, "view: 5 faded points of 4");
    Matrix huge = s.y;
    huge(2, 1) = 1e300;
    d = s.data;
    d.y = huge;
    refused(d, "view: row 3 column 2 of the embedding is 1e+300, not a finite float32");
    huge(2, 1) = std::numeric_limits<double>::quiet_NaN();
    refused(d, "not a finite float32");
}

TEST_CASE("view: thumbnails of square rows; bytes kept, other values scaled to 0..255") {
    CHECK(treesne::square_image_side(784) == 28);
    CHECK(treesne::square_image_side(64) == 8);
    CHECK(treesne::square_image_side(49) == 0);  // 7 x 7: below the smallest side
    CHECK(treesne::square_image_side(50) == 0);
    CHECK(treesne::square_image_side(129 * 129) == 0);
    Matrix bytes(2, 64);
    for (index_t i = 0; i < bytes.size(); ++i) bytes.data()[i] = static_cast<double>(i % 200);
    const auto kept = treesne::thumbnails_from_rows(bytes);
    CHECK(kept.side == 8);
    CHECK(kept.pixels[127] == 127);
    Matrix scaled(1, 64);
    for (index_t i = 0; i < 64; ++i) scaled.data()[i] = -1 + 0.5 * static_cast<double>(i) / 63;
    const auto t = treesne::thumbnails_from_rows(scaled);
    CHECK(t.pixels.front() == 0);
    CHECK(t.pixels.back() == 255);
    CHECK_THROWS_WITH_AS(treesne::thumbnails_from_rows(Matrix(2, 50)),
                         "rows of 50 values are not square images (s x s values, s from 8 to 128)",
                         treesne::InvalidArgument);
}

TEST_CASE("io: read_matrix_stack reads the frames embed --snapshots writes, and refuses other arrays") {
    TempDir dir;
    const std::string path = dir / "frames.npy";
    {
        treesne::io::NpyStackWriter w(path, 3, 2);
        w.append(Matrix(3, 2, {1, 2, 3, 4, 5, 6}).view());
        w.append(Matrix(3, 2, {7, 8, 9, 10, 11, 12}).view());
        w.commit();
    }
    const treesne::io::MatrixStack s = treesne::io::read_matrix_stack(path);
    CHECK(s.frames == 2);
    CHECK(s.rows_per_frame == 3);
    CHECK(s.values.cols() == 2);
    CHECK(s.frame(1)(0, 0) == 7);
    CHECK(s.frame(1)(2, 1) == 12);
    const std::string flat = dir / "flat.npy";
    treesne::io::write_matrix(flat, Matrix(3, 2));
    CHECK_THROWS_WITH_AS(treesne::io::read_matrix_stack(flat), doctest::Contains("a 2-D array; expected 3-D"),
                         treesne::IoError);
    const std::string text = dir / "y.csv";
    treesne::io::write_matrix(text, Matrix(3, 2));
    CHECK_THROWS_WITH_AS(treesne::io::read_matrix_stack(text), doctest::Contains("is not a .npy file"),
                         treesne::IoError);
}

#ifdef TREESNE_HAVE_CLI_LIB
TEST_CASE("cli parse: view and --html") {
    const auto c = parse({"view", "e.csv", "-o", "v.html", "--labels", "a.txt", "--labels", "b.txt",
                          "--input", "x.npy", "--thumbnails", "--snapshots", "f.npy", "--title", "T"});
    CHECK(c.command == treesne::cli::Command::view);
    CHECK(c.view.embedding == "e.csv");
    CHECK(c.view.output == "v.html");
    CHECK(c.view.label_paths.size() == 2);
    CHECK(c.view.inputs == std::vector<std::string>{"x.npy"});
    CHECK(c.view.thumbnails == treesne::cli::Thumbnails::on);
    CHECK(c.view.snapshots_path == "f.npy");
    CHECK(parse({"embed", "x.csv", "-o", "y.csv", "--html", "v.htm"}).embed.html_path == "v.htm");
    CHECK(parse({"transform", "r.csv", "e.csv", "n.csv", "-o", "y.csv", "--html", "v.html"})
              .transform.html_path == "v.html");
    auto usage = [](std::vector<std::string> args, const char* message) {
        CAPTURE(message);
        CHECK_THROWS_WITH_AS(parse(args), doctest::Contains(message), treesne::cli::UsageError);
    };
    usage({"view", "-o", "v.html"}, "view needs an EMBEDDING file");
    usage({"view", "a.csv", "b.csv", "-o", "v.html"}, "view takes one EMBEDDING; got 2 files");
    usage({"view", "e.csv"}, "view needs -o FILE.html");
    usage({"view", "e.csv", "-o", "v.png"},
          "-o writes an HTML page; the file must end in .html, got 'v.png'");
    usage({"view", "e.csv", "-o", "v.html", "--thumbnails"}, "--thumbnails needs --input FILE");
    usage({"view", "e.csv", "-o", "v.html", "--input", "x", "--thumbnails", "--no-thumbnails"},
          "exclude each other");
    usage({"view", "e.csv", "-o", "v.html", "--label-names", "a,b"}, "--label-names needs --labels");
    usage({"view", "e.csv", "-o", "v.html", "--snapshots", "f.csv"},
          "--snapshots reads the stacked NumPy array");
    usage({"embed", "x.csv", "-o", "y.csv", "--html", "v.txt"}, "--html writes an HTML page");
    CHECK(treesne::cli::help_text("view").find("Usage: treesne view EMBEDDING") == 0);
    CHECK(treesne::cli::help_text("").find("treesne view EMBEDDING") != std::string::npos);
}
#endif

#ifdef TREESNE_CLI_PATH
TEST_CASE("cli binary: view writes a page; bad inputs get one line and status 1 or 2") {
    TempDir dir;
    const Blobs b = make_blobs(30, 64, 3);
    write_csv(dir / "x.csv", b.x);
    std::vector<std::vector<double>> y;
    for (const auto& row : b.x) y.push_back({row[0], row[1]});
    write_csv(dir / "y.csv", y);
    write_csv(dir / "short.csv", {y.begin(), y.begin() + 20});
    write_csv(dir / "x50.csv", {{1, 2}, {3, 4}});
    write_labels(dir / "labels.txt", b.labels);
    write_labels(dir / "few.txt", {0, 1});
    const std::string page = quote(dir / "v.html");
    const Run ok = run_cli(dir, "view " + quote(dir / "y.csv") + " --labels " + quote(dir / "labels.txt") +
                                    " --input " + quote(dir / "x.csv") + " --thumbnails -o " + page);
    CAPTURE(ok.err);
    REQUIRE(ok.status == 0);
    const std::string html = slurp(dir / "v.html");
    CHECK(values<std::uint8_t>(blob(html, "thumbs")).size() == 30 * 64);
    CHECK(ok.err.find("30 points, 3 classes, thumbnails 8 x 8") != std::string::npos);
    auto refused = [&](const std::string& args, int status, const std::string& message) {
        const Run r = run_cli(dir, args);
        CAPTURE(args);
        CHECK(r.status == status);
        check_one_error_line(r);
        CHECK(r.err.find(message) != std::string::npos);
    };
    const std::string y_csv = quote(dir / "y.csv");
    refused("view " + y_csv + " --labels " + quote(dir / "few.txt") + " -o " + page, 1,
            "--labels: 2 labels for 30 points");
    refused("view " + y_csv + " --input " + quote(dir / "short.csv") + " -o " + page, 1,
            "has 20 rows; the embedding");
    refused("view " + y_csv + " --input " + quote(dir / "y.csv") + " --thumbnails -o " + page, 1,
            "rows of 2 values, not square images");
    refused("view " + y_csv + " -o " + quote(dir / "y.html") + " --title x --input " + quote(dir / "x.csv") +
                " --snapshots " + quote(dir / "none.npy"),
            1, "none.npy");
    refused("view " + quote(dir / "x.csv") + " -o " + page, 1, "an embedding has 1, 2 or 3 columns");
    refused("view " + y_csv + " -o " + quote(dir / "no/such/dir/v.html"), 1, "v.html");
    fs::copy_file(dir / "v.html", dir / "in.html");
    refused("view " + y_csv + " --labels " + quote(dir / "in.html") + " -o " + quote(dir / "in.html"), 2,
            "is the same file");
}

TEST_CASE(
    "cli binary: embed --html carries thumbnails and the frames; transform --html the reference, light") {
    using namespace treesne::testing::quick_runs;
    TempDir dir;
    const Blobs b = make_blobs(60, 64, 3);
    write_csv(dir / "x.csv", b.x);
    write_labels(dir / "labels.txt", b.labels);
    const std::string x = quote(dir / "x.csv"), y = quote(dir / "y.csv");
    const Run e = run_cli(dir, "embed " + x + " --labels " + quote(dir / "labels.txt") + " -o " + y +
                                   " --html " + quote(dir / "e.html") + " --snapshot-every 20 --snapshots " +
                                   quote(dir / "f.npy") + fast);
    CAPTURE(e.err);
    REQUIRE(e.status == 0);
    const std::string page = slurp(dir / "e.html");
    CHECK(page.find("\"thumbSide\":8,\"frames\":3,") != std::string::npos);  // iterations 20, 40, 60
    CHECK(values<float>(blob(page, "frames")).size() == 3 * 60 * 2);
    CHECK(values<std::uint8_t>(blob(page, "thumbs")).size() == 60 * 64);
    const auto coords = values<float>(blob(page, "coords"));
    const Matrix result = treesne::io::read_matrix(dir / "y.csv");
    REQUIRE(coords.size() == 120);
    CHECK(coords[7] == static_cast<float>(result.data()[7]));
    const Run t =
        run_cli(dir, "transform " + x + " " + y + " " + x + " -o " + quote(dir / "new.csv") + " --html " +
                         quote(dir / "t.html") + " --iterations 20 --quiet --threads 1");
    CAPTURE(t.err);
    REQUIRE(t.status == 0);
    const std::string moved = slurp(dir / "t.html");
    CHECK(moved.find("\"n\":120,") != std::string::npos);
    CHECK(moved.find("\"names\":[\"reference\",\"new\"]") != std::string::npos);
    CHECK(moved.find("\"faded\":60,") != std::string::npos);
}
#endif

#endif  // TREESNE_HAVE_VIEW
