// Initial embeddings.
#pragma once

#include <cstdint>
#include <string>

#include "treesne/core/options.hpp"
#include "treesne/core/random.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// N x dims, entries approximately N(0, sd^2) (Rng::normal: bounded by +-6 sd) from Rng(seed).
Matrix random_init(index_t n, int dims, std::uint64_t seed, double sd = 1e-4);

/// First `dims` principal components of x, scaled so the first column has standard deviation sd.
/// Constant data has no principal directions: then random_init(N, dims, seed, sd); a further component
/// without any variance (x varies in fewer than dims directions) would be a constant column, along which
/// t-SNE never moves the points, and gets seeded N(0, sd^2) values instead. Rows that coincide (copies
/// of one input row) get a seeded offset of sd * 1e-4, or t-SNE could never separate them.
Matrix pca_init(ConstMatrixView x, int dims, int threads, std::uint64_t seed, double sd = 1e-4);
/// pca_init() from the PCA scores of the data (N x dims, as pca().projected): what it does after the
/// PCA. A distributed run computes the scores rank by rank and gathers them.
Matrix pca_init_from(Matrix projected, std::uint64_t seed, double sd = 1e-4);

/// Rescales y in place so its first column has standard deviation sd (after centring every column).
/// Values of any finite magnitude (beyond 2^+-100 they are first scaled exactly by a power of two); a
/// constant first column is only centred.
void rescale(Matrix& y, double sd = 1e-4);

/// With Options::keep_user_scale, user coordinates must lie within 2^+-keep_scale_limit (largest |value|
/// below 2^500, every column's sd above 2^-500): beyond, their squared distances overflow or underflow.
inline constexpr int keep_scale_limit = 500;

/// What makes user coordinates y (N x dims) unusable as a start, in one line, or "" when nothing does:
/// a non-finite value; all points at one position, or a constant column (t-SNE's gradient along a
/// constant column is exactly 0, so the result would lie on a line or a point); with keep_scale, values
/// beyond keep_scale_limit; without it, a column that rescaling (column 1 to sd 1e-4) would shrink
/// below the smallest normal double. Any finite magnitude is fine otherwise: rescale() handles it.
/// O(N dims).
std::string init_defect(ConstMatrixView y, bool keep_scale);

/// Throws InvalidArgument("initial coordinates: ...") naming init_defect() of options.init_coordinates
/// when options.init is InitKind::user (whose shape validate() has checked). The pipelines call it right
/// after validate(), before any work.
void require_usable_init(const Options& options);

/// The initial embedding the options ask for (pca, random, or the user's coordinates).
Matrix initial_embedding(ConstMatrixView x, const Options& options);

}  // namespace treesne
