// Input affinities: per-point Gaussian calibration to a perplexity, then symmetrisation.
#pragma once

#include <string>
#include <memory>
#include <vector>

#include "treesne/knn/neighbors.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

struct PackedAffinities;
/// Whether P is packed for the optimisation (packed.hpp: packs()): automatic does not pack for now;
/// always and never are for tests and benchmarks.
enum class Packing { automatic, always, never };

/// Sparse matrix in CSR form with 64-bit row offsets, 32-bit columns and single-precision values: P's
/// entries need no more than float's 24 bits (the perplexity search itself stops at an entropy tolerance
/// of 1e-5), and 8 bytes an entry instead of 12 are a third less memory and memory traffic in the
/// attractive forces; all arithmetic on them is in double.
struct SparseMatrix {
    index_t n = 0;                 ///< rows = columns
    std::vector<index_t> offsets;  ///< n+1 row offsets
    std::vector<point_t> columns;  ///< column of each entry, increasing within a row
    std::vector<float> values;     ///< value of each entry

    index_t nnz() const { return static_cast<index_t>(values.size()); }
};

/// Joint affinities P of t-SNE. Invariants: symmetric, non-negative, zero diagonal, sums to 1,
/// columns increasing within each row.
using Affinities = SparseMatrix;

/// Conditional probabilities p_{j|i} over a neighbour graph, in the graph's layout (n*k values, rows sum
/// to 1). Each row's precision beta_i is found by safeguarded Newton steps so that the Shannon entropy (nats)
/// of P_i equals log(perplexity) within options.entropy_tolerance. Robust to duplicate points (zero
/// distances) and rows whose distances are all equal (then the row is uniform). If betas is given it receives
/// beta_i (in the graph's unit, NeighborGraph::scale_exponent). The graph may also be one of other points'
/// neighbours (nearest_neighbors_of; transform): each row is calibrated alone, and only the distances
/// are read (n*k of them, as many as indices). AffinityKind::sigma puts all of a row's weight on its
/// nearest neighbour(s) when sigma is too narrow for exp() to tell the others from 0, and weighs a row
/// uniformly when sigma is too wide to tell them apart. Throws, naming the lowest such row,
/// NumericalError for an infinite distance (an overflowed square) and InvalidArgument for a NaN or
/// negative one. Computed in double, stored in float.
std::vector<float> conditional_probabilities(const NeighborGraph& graph, const AffinityOptions& options,
                                             int threads, std::vector<double>* betas = nullptr);

/// P = (P_{j|i} + P_{i|j}) / (2N) from the conditional probabilities on a graph. Takes both by value
/// (move them in to save their memory: beyond them it needs 4 bytes a point per block, see
/// symmetrize_blocks, and the one-sided entries; P then replaces them row by row, so the graph and the
/// whole of P are never held together; the graph's distances are not used, and freed at once). The same
/// P bit for bit for
/// any thread count. Checks what it reads as it reads it (at no measurable cost): 1 <= k <= n - 1, n*k
/// indices and values; each index in [0, n), not its row's point, distinct within its row; each
/// conditional finite and >= +0 (not -0). Throws InvalidArgument naming the lowest row's defect
/// otherwise. The rows are expected to sum to 1 (then P does), as conditional_probabilities' do.
Affinities symmetrize(NeighborGraph graph, std::vector<float> conditional, int threads);

namespace detail {
/// conditional_probabilities() one row at a time, as nearest_neighbors' RowValues::compute (embed() with
/// nndescent, so that the search's exact distances are never all held): the same values bit for bit.
/// Thread-safe; copies share their state. A row with an unusable distance gets zeros and is remembered:
/// check() then throws what conditional_probabilities() throws for the lowest such row.
class ConditionalRows {
  public:
    ConditionalRows(const AffinityOptions& options, index_t k, int scale_exponent);
    void operator()(index_t i, const point_t* indices, const double* distances, float* out) const;
    void check() const;

  private:
    struct State;
    std::shared_ptr<State> state_;
    index_t k_;
};

/// symmetrize() with P's rows written in chunks of about chunk_entries entries (symmetrize: 2^22), the
/// consumed pages of its buffers given back after each chunk. The same P for any chunk size (tested).
Affinities symmetrize_in_chunks(NeighborGraph graph, std::vector<float> conditional, int threads,
                                index_t chunk_entries);
/// symmetrize() into the P the optimisation holds (PackedAffinities, packed.hpp), packed where `packing`
/// says (automatic: by P's number of entries) chunk by chunk as it is written: the same P (unpack() gives
/// symmetrize()'s bit for bit), 1 to 2 bytes an entry less at the end of the stage where packed.
PackedAffinities symmetrize_packed(NeighborGraph graph, std::vector<float> conditional, int threads,
                                   Packing packing = Packing::automatic, index_t chunk_entries = index_t{1} << 18);
/// Sorts each row of the graph by column (rows already sorted are left as they are), carrying the
/// conditional values (graph.n * graph.k of them) along. Parallel over rows. Throws InvalidArgument
/// unless there are n*k indices and as many values (their values are not checked).
void sort_rows_by_column(NeighborGraph& graph, std::vector<float>& conditional, int threads);
}  // namespace detail

/// symmetrize() counts the one-sided entries per block of source rows, one block per thread, at most
/// this many (each block holds a 4-byte counter per point).
inline constexpr int symmetrize_max_blocks = 16;
/// The blocks symmetrize() uses for n points on `threads` threads (0 = all): min(threads, 16), >= 1.
index_t symmetrize_blocks(index_t n, int threads);

/// Bytes of the affinity stage's own buffers (memory.hpp's model). conditional_bytes: the float
/// conditionals p_j|i of N rows of k (conditional_probabilities). symmetrize_workspace_bytes: those plus
/// symmetrize()'s counters, 4 bytes a point per block (symmetrize_blocks), and its tails, the one-sided
/// entries (P's entries beyond N k, 8 bytes each) with N + 1 offsets. affinities_bytes: the
/// symmetric P in CSR, float values and 4-byte columns for between N k and 2 N k entries (estimated 1.5 N k
/// from an exact graph, 1.75 N k from an approximate one, whose misses are rarely mutual), and N + 1
/// 8-byte offsets. packed_p_bytes: the same P as the optimisation holds it (packed.hpp): as is, or where
/// automatic packs, with 2.5-byte column offsets on average and 12 bytes a row more.
double conditional_bytes(double n, double k);
double symmetrize_workspace_bytes(index_t n, double k, int threads, bool approximate_graph);
double affinities_bytes(double n, double k, bool approximate_graph);
double packed_p_bytes(double n, double k, bool approximate_graph);
/// Bytes of the dense P of the exact methods: dense_p_bytes for one N x N double matrix (held during the
/// optimisation), dense_affinities_bytes while it is built (the conditional and the joint P plus one more
/// for the sweeps: 3 N^2 8, the bound require_dense_fits applies).
double dense_p_bytes(double n);
double dense_affinities_bytes(double n);

/// What is wrong with p's CSR layout, in one line, or "" when nothing is: n+1 row offsets running from 0
/// to nnz without decreasing, as many columns as values. An empty default-constructed matrix is sound.
/// O(n) time.
std::string csr_defect(const SparseMatrix& p);

/// What is wrong with p as t-SNE's joint affinities, in one line, or "" when nothing is: CSR shape
/// (n >= 2, n+1 offsets from 0 to nnz, non-decreasing), columns in range, strictly increasing within a
/// row and off the diagonal, values finite and non-negative, symmetric (pattern and values, to 1e-6
/// relative), summing to 1 (within 1e-6). O(nnz log k) time.
std::string affinities_defect(const Affinities& p, int threads = 0);

/// Throws InvalidArgument("affinities: ...") naming the first defect affinities_defect() finds.
void validate_affinities(const Affinities& p, int threads = 0);

/// The whole stage: conditional_probabilities then symmetrize. Move the graph in to free it on the way
/// (its distances before P is allocated). The graph is validated first (validate_neighbor_graph, and
/// distances are required); a defect throws InvalidArgument naming it.
Affinities compute_affinities(NeighborGraph graph, const AffinityOptions& options, int threads);

/// Dense conditional probabilities p_{j|i} (N x N, zero diagonal), for the exact methods: row i over all
/// N-1 other points, or over its k nearest when options.k is set (and for AffinityKind::uniform, with k
/// from neighbor_count(options, N)), by neighbors.metric (squared, as NeighborGraph holds it) and every
/// kind of options (perplexity, multiscale, sigma, uniform): the rows conditional_probabilities() makes
/// from nearest_neighbors(x, k, neighbors) (the exact brute scan when every point is a neighbour), so
/// with k set they equal the Barnes-Hut P's rows, in float like them. O(N^2) memory: refuses N whose
/// matrices would not fit (see require_dense_fits). threads: 0 = all; the result does not depend on it.
Matrix dense_conditional_probabilities(ConstMatrixView x, const AffinityOptions& options, int threads,
                                       const NeighborOptions& neighbors = {});

/// Dense joint P = (P_{j|i} + P_{i|j}) / (2N) from dense conditionals. threads: 0 = all.
Matrix dense_joint_probabilities(const Matrix& conditional, int threads = 0);

/// Throws NumericalError when `count` dense N x N double matrices would not fit in available memory.
void require_dense_fits(index_t n, int count, const char* what);

}  // namespace treesne
