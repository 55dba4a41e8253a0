// The distributed pipeline (TREESNE_MPI builds): the stages of embed() spread over the ranks of a
// Collective, giving the single-process embedding bit for bit for any number of ranks and threads.
//
// Rows are owned in contiguous ranges (RowPartition::even): the input's in units of pca_block_rows, the
// optimisation's (relabelled) in units of parallel_sum_block, so that no fixed block of a sum straddles
// two ranks. Each rank holds
// its rows of X (read by offset where the format allows), finds their neighbours by passing the row
// blocks round the ranks (the exact search), calibrates them, and builds its rows of P with one exchange
// of (j, i, p) triples; rank 0 orders the points for locality from P's pattern (the order the single
// process uses) and P's rows move to their new owners. Every rank then holds the whole embedding and
// computes the gradient of its rows (Session's distributed constructor). See docs/DISTRIBUTED.md.
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
/// (and one visiting block of the ring), its neighbour candidates (12 bytes each, plus a chunk of 8,192
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

/// Runs fn on every rank; if it throws on any rank, every rank throws AgreedError with the message
/// of the lowest rank that failed (so that all stop together, with one message).
void agreed(Collective& collective, const std::function<void()>& fn);

/// The one-line refusal of options a distributed run does not support, or "" if it supports them.
std::string unsupported(const Options& options);

}  // namespace treesne::dist
