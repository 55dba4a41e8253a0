// The interactive view of an embedding: one self-contained HTML file (three.js and the data inlined, no
// server, no network) that draws every point with WebGL, coloured by label with a legend that hides and
// highlights classes, with hover, thumbnails of image inputs, box and lasso selection, search, rotation of
// 3-D embeddings and the frames of a recorded optimisation as an animation.
//
// Thread safety: every function is safe to call concurrently on different outputs; the data is only read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "treesne/core/types.hpp"
#include "treesne/io/io.hpp"

namespace treesne {

/// Grey thumbnails of the points, one side x side image per point, row-major, 0 = black, 255 = white.
struct ViewThumbnails {
    int side = 0;                      ///< 0 = no thumbnails
    std::vector<std::uint8_t> pixels;  ///< points x side x side bytes
};

/// What a page shows. Views are not owned: they must outlive the call.
struct ViewData {
    ConstMatrixView y;                   ///< N x 1, 2 or 3: the embedding (the last frame with frames)
    const io::Labels* labels = nullptr;  ///< codes of the N points and the class names; null = one class
    const ViewThumbnails* thumbnails = nullptr;  ///< null or side 0 = none; else N images
    /// The frames of a recorded optimisation (embed --snapshots), each N x y.cols, in order; the page
    /// shows y first and plays the frames with a slider. Empty = no animation.
    std::vector<ConstMatrixView> frames;
    /// The first `faded` points are drawn light, under the others (transform: the reference embedding
    /// under the new points); 0 = none.
    index_t faded = 0;
    std::string title;  ///< shown at the top left and as the page's title
};

/// The smallest and largest side of square images that rows are taken as (thumbnails_from_rows).
inline constexpr int view_min_image_side = 8;
inline constexpr int view_max_image_side = 128;

/// The side s of the square images rows of `cols` values are (cols = s x s with s in
/// [view_min_image_side, view_max_image_side]), or 0 when they are not.
int square_image_side(index_t cols);

/// Thumbnails of rows that are square images (square_image_side(x.cols) > 0): values that are all
/// integers in [0, 255] (IDX ubyte, 8-bit .npy) are taken as they are; any other values are mapped
/// linearly from the data's smallest (black) to its largest (white). Throws InvalidArgument naming the
/// column count when the rows are not square images.
ViewThumbnails thumbnails_from_rows(ConstMatrixView x);

/// The page as a string: three.js (libjs-three, MIT licence, noted in the page), the viewer's script and
/// style, and the data as gzip + base64 blobs (coordinates float32, labels uint8 or uint16, thumbnails
/// uint8, frames float32), decoded in the browser by DecompressionStream. Throws InvalidArgument for an
/// empty embedding, more than 3 columns, a non-finite coordinate, labels or thumbnails or frames whose
/// count or shape disagrees with y, a label code outside the names, and faded > N.
std::string view_html(const ViewData& data);

/// Writes view_html(data) to path atomically (a temporary file beside it, renamed when complete).
/// Throws view_html's errors before creating any file, and IoError for a failed write.
void write_view(const std::string& path, const ViewData& data);

/// The names and order of the blobs in a page, for tests that decode it: each is the text of
/// <script type="application/octet-stream" id="treesne-NAME">, base64 of a gzip stream.
inline constexpr const char* view_blob_names[] = {"coords", "labels", "thumbs", "frames"};

}  // namespace treesne
