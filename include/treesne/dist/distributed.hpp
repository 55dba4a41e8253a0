// The distributed pipeline (TREESNE_MPI builds): the stages of embed() spread over the ranks of a
// Collective, giving the single-process embedding bit for bit for any number of ranks and threads.
//
// Rows are owned in contiguous ranges (RowPartition::even): the input's in units of pca_block_rows, the
// optimisation's (relabelled) in units of parallel_sum_block, so that no fixed block of a sum straddles
// two ranks. Each rank holds its rows of X (read by offset where the format allows), finds their
// neighbours by passing the row blocks round the ranks (the exact search) and calibrates them; the
// ranks build P's pattern, order the points for locality by a level-synchronous breadth-first search
// (the single process's order), and build P's rows at their new owners, each exchange in bounded
// rounds. Every rank then holds the whole embedding and computes the gradient of its rows (Session's
// distributed constructor). See docs/DISTRIBUTED.md.
#pragma once
#include <optional>
#include <string>

#include "treesne/api/embed.hpp"
#include "treesne/api/memory.hpp"
#include "treesne/core/collective.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/io/io.hpp"

namespace treesne::dist {

/// This rank's rows of the input: rows [rows.begin(rank), rows.end(rank)) of an n x d matrix.
struct LocalRows {
    index_t n = 0, d = 0;
    RowPartition rows;
    Matrix x;
};

/// Reads this rank's rows of the matrix at path: by offset where the format allows it
/// (io::read_matrix_rows), otherwise rank 0 reads the file and sends each rank its rows. An error on any
/// rank (a missing file, a non-finite value) is thrown on every rank, with the lowest rank's message.
LocalRows read_rows(Collective& collective, const std::string& path, const io::ReadLimits& limits);

/// data_fingerprint() (io/checkpoint.hpp) of the whole matrix, from every rank's rows: the same value.
std::uint64_t data_fingerprint(const LocalRows& data, Collective& collective);

/// The memory one rank of embed_rows needs, stage by stage (api/memory.hpp's terms): its rows of X
/// (and one visiting block of the ring), its neighbour candidates (12 bytes each, plus a chunk of 4,096
/// rows at 48), its rows of the graph, conditionals, exchange buffers and P, and the replicated
/// optimisation state and tree; with nndescent, its graph rows, offers and one batch instead of the
/// ring's. `rows`: this rank's rows; `largest`: the largest block of any rank.
MemoryEstimate estimate_rank_memory(index_t n, index_t d, index_t rows, index_t largest, int ranks,
                                    const Options& options);

/// embed() of the distributed rows (the exact neighbour search, or the distributed nndescent where the
/// backend resolves to nndescent: the same graph for any R >= 2, not the single process's). Every rank returns the same Result; only
/// the callbacks of rank 0 should print or write (the caller passes empty ones elsewhere, except that a
/// checkpoint callback is given on rank 0 only and the observer must return true on every rank).
Result embed_rows(LocalRows data, const Options& options, const Callbacks& callbacks, Collective& collective);

/// embed_affinities() of a P that rank 0 holds (the others pass nullopt and n): rank 0 checks and orders
/// it, every rank receives its rows. coordinates (whole, on every rank, or empty) start the PCA
/// initialisation as embed_affinities' do.
Result embed_affinities_from_root(std::optional<Affinities> p, index_t n, const Options& options,
                                  const Callbacks& callbacks, Collective& collective);

/// The error every rank throws together (agreed()): the program prints it once.
class AgreedError : public InvalidArgument {
  public:
    using InvalidArgument::InvalidArgument;
};

/// embed_neighbors() of a graph that rank 0 holds (the others pass nullopt and n): rank 0 checks it and
/// sends every rank its rows; the calibration, P and the optimisation are then distributed as in
/// embed_rows. Without coordinates the start is random or user (as embed_neighbors').
Result embed_neighbors_from_root(std::optional<NeighborGraph> graph, index_t n, const Options& options,
                                 const Callbacks& callbacks, Collective& collective);

/// This rank's rows of a neighbour graph given as lists: `indices` and `distances` are its rows
/// (rows.begin(rank) ..) of the n x k files of --neighbors and --neighbor-distances. The graph of
/// neighbors_from_lists() of the whole, split by rows: the self column dropped when every row of every
/// rank starts with its point, the unit from the largest distance of all, each row checked and sorted
/// alike (messages name global rows, after `context`). Errors are agreed.
NeighborGraph neighbor_rows_from_lists(const RowPartition& rows, index_t k, const Matrix& indices,
                                       const Matrix& distances, const std::string& context, Collective& collective);

/// embed_neighbors() of a graph spread by rows (own: this rank's rows under `rows`, global indices,
/// checked), e.g. from neighbor_rows_from_lists: no rank holds the whole graph.
Result embed_neighbor_rows(NeighborGraph own, const RowPartition& rows, const Options& options,
                           const Callbacks& callbacks, Collective& collective);

/// The fingerprint tools/run.cpp's input_fingerprint() gives a given graph, from every rank's rows.
std::uint64_t graph_fingerprint(const NeighborGraph& own, Collective& collective);

/// Runs fn on every rank; if it throws on any rank, every rank throws AgreedError with the message
/// of the lowest rank that failed (so that all stop together, with one message).
void agreed(Collective& collective, const std::function<void()>& fn);

/// The one-line refusal of options a distributed run does not support, or "" if it supports them.
std::string unsupported(const Options& options);

}  // namespace treesne::dist
