// Operations built on Collective's primitives, shared by the distributed stages.
#pragma once
#include <functional>
#include <vector>

#include "treesne/core/collective.hpp"
#include "treesne/core/types.hpp"
#include "treesne/dist/distributed.hpp"

namespace treesne::dist {

/// The bytes a stage's transient buffers may take, about: each round of a bounded exchange (P's
/// stages) and the float copies of the reference rows of one search (the ring). 8 MiB, or the value of
/// the environment variable TREESNE_MPI_BUFFER_BYTES (at least 64; the tests use tiny buffers to get
/// many rounds and slices). Every rank must see the same value (it decides how many rounds all take).
double buffer_bytes();

/// Element-wise sums of blocks of `width` values: 0.0 plus every rank's blocks (own holds this rank's,
/// block after block), ranks in order; the same on every rank. As Eigen's `total += block` over the
/// blocks in order, element by element.
std::vector<double> fold_vectors(Collective& collective, const std::vector<double>& own, std::size_t width);

/// The whole n x cols matrix from every rank's rows (own: this rank's rows.rows(rank) rows), on every rank.
Matrix gather_rows(Collective& collective, ConstMatrixView own, const RowPartition& rows, index_t cols);

}  // namespace treesne::dist
