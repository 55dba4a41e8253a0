// Internal pieces shared by the nearest-neighbour backends (neighbors.cpp, knn/brute.cpp, knn/kdtree.cpp,
// knn/hnsw.cpp, knn/nndescent.cpp).
// Not installed; nothing here is part of the public API.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "treesne/knn/neighbors.hpp"
#include "treesne/core/types.hpp"

namespace treesne::detail {

/// Progress of a search: called with the fraction done, from the thread that called the search.
using SearchProgress = std::function<void(double)>;

/// parallel_for over [0, n) in chunks of about 1/64 of a thread's share, calling progress(from + (to -
/// from) * done / n) from the calling thread about 32 times as the work is done, and progress(to) at the
/// end (fn must make each index's result independent of the chunking, as parallel_for requires).
void parallel_for_reporting(index_t n, int threads, const std::function<void(index_t, index_t)>& fn,
                            const SearchProgress& progress, double from = 0.0, double to = 1.0);

// --- metrics ---------------------------------------------------------------------------------------
//
// Every backend ranks candidates by a metric's rank distance r, computed by rank_distance() alone (one
// definition), and reports reported_distance(r), the squared metric distance, in
// NeighborGraph::distances. Cosine works on the rows scaled to unit length (unit_rows()), where it is
// the Euclidean order: r is the squared Euclidean distance of the unit rows, and 1 - cos = r / 2.
// Correlation is cosine on the rows centred on their own mean (centred_unit_rows()): the same r, on
// those rows, and 1 - corr = r / 2. Jaccard and hamming are ratios of counts of coordinates, so any
// backend that counts the same coordinates (a lane per pair, a popcount of packed bits) and divides the
// same two integers gets r bit for bit.

/// The counts of jaccard and hamming for rows a and b: `differ` coordinates where a_j != b_j, `either`
/// where a_j or b_j is non-zero (a_j != b_j implies that one of them is: differ <= either).
struct CoordinateCounts {
    index_t differ = 0;
    index_t either = 0;
};

inline CoordinateCounts count_coordinates(const double* a, const double* b, index_t d) {
    CoordinateCounts c;
    for (index_t j = 0; j < d; ++j) {
        c.differ += a[j] != b[j] ? 1 : 0;
        c.either += ((a[j] != 0.0) | (b[j] != 0.0)) ? 1 : 0;
    }
    return c;
}

/// Jaccard's r from its counts: differ / either, 0 when both rows are all zeros. The one division every
/// path computes.
inline double jaccard_ratio(index_t differ, index_t either) {
    return either == 0 ? 0.0 : static_cast<double>(differ) / static_cast<double>(either);
}

/// Hamming's r from its count: differ / d.
inline double hamming_ratio(index_t differ, index_t d) {
    return static_cast<double>(differ) / static_cast<double>(d);
}

/// The rank distance of rows a and b (for cosine: rows of unit_rows(); correlation: rows of
/// centred_unit_rows()), d coordinates, in index order: sum (a_j - b_j)^2 for euclidean, cosine and
/// correlation (squared_distance()), sum |a_j - b_j| for manhattan, max |a_j - b_j| for chebyshev,
/// jaccard_ratio() and hamming_ratio() of count_coordinates(). Symmetric bit for bit (only differences'
/// signs change; the counts are symmetric).
inline double rank_distance(Metric metric, const double* a, const double* b, index_t d) {
    switch (metric) {
        case Metric::manhattan: {
            double sum = 0.0;
            for (index_t j = 0; j < d; ++j) sum += std::abs(a[j] - b[j]);
            return sum;
        }
        case Metric::chebyshev: {
            double largest = 0.0;
            for (index_t j = 0; j < d; ++j) largest = std::max(largest, std::abs(a[j] - b[j]));
            return largest;
        }
        case Metric::jaccard: {
            const CoordinateCounts c = count_coordinates(a, b, d);
            return jaccard_ratio(c.differ, c.either);
        }
        case Metric::hamming:
            return hamming_ratio(count_coordinates(a, b, d).differ, d);
        case Metric::euclidean:
        case Metric::cosine:
        case Metric::correlation:
        default:
            return squared_distance(a, b, d);
    }
}

/// The squared metric distance that NeighborGraph reports for rank distance r: r (euclidean),
/// (r / 2)^2 (cosine and correlation: for unit u, v, 1 - cos = |u - v|^2 / 2), r^2 (manhattan,
/// chebyshev, jaccard, hamming). Non-decreasing in r, and strictly increasing wherever the square does
/// not underflow (r above ~1e-154; jaccard's and hamming's nonzero r are at least 1 / D).
inline double reported_distance(Metric metric, double r) {
    switch (metric) {
        case Metric::euclidean:
            return r;
        case Metric::cosine:
        case Metric::correlation: {
            const double d = 0.5 * r;
            return d * d;
        }
        case Metric::manhattan:
        case Metric::chebyshev:
        case Metric::jaccard:
        case Metric::hamming:
        default:
            return r * r;
    }
}

/// The rows of x scaled to unit Euclidean length, for cosine (each row first scaled exactly by a power
/// of two that brings its largest |entry| into [1/2, 1), so that the norm neither overflows nor
/// underflows; then divided by the norm, summed in index order). Throws InvalidArgument naming the first
/// all-zero row (1-based). threads: 0 = all; the result does not depend on it.
Matrix unit_rows(ConstMatrixView x, int threads);

/// The rows of x centred on their own mean (the row summed in index order, divided by D; then each
/// entry minus it), then scaled to unit length as unit_rows() does, for correlation. Throws
/// InvalidArgument naming the first constant row (1-based; every entry equal to the first: its
/// correlation is undefined). threads: 0 = all; the result does not depend on it.
Matrix centred_unit_rows(ConstMatrixView x, int threads);

/// The rows a metric's search runs on: unit_rows() for cosine, centred_unit_rows() for correlation (N D
/// doubles), and an empty Matrix for the metrics that search x itself.
Matrix metric_rows(ConstMatrixView x, Metric metric, int threads);

/// Whether a metric searches metric_rows() rather than x: cosine and correlation.
inline bool searches_metric_rows(Metric metric) {
    return metric == Metric::cosine || metric == Metric::correlation;
}

/// Whether every entry of x is 0 or 1 (-0.0 counts as 0): jaccard and hamming then count by popcounts
/// of bit-packed rows.
bool is_binary(ConstMatrixView x);

/// A candidate neighbour of a query: its rank distance from rank_distance(), the tie key and the
/// point's index. Ordered by (distance, tie), the one order every backend reports; for one query the
/// tie keys of different points differ (tie_key is a bijection of (query, index)), so that order is
/// total and the index never needs to break a tie.
struct Neighbor {
    double distance;
    std::uint64_t tie;
    point_t index;
};

inline Neighbor candidate(index_t query, point_t index, double distance) {
    return {distance, tie_key(query, index), index};
}

inline bool operator<(const Neighbor& a, const Neighbor& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.tie < b.tie);
}

/// Throws InvalidArgument unless 1 <= k <= N-1, N <= 2^32-1 and every entry of x is finite (a NaN would
/// break the strict weak order the selections rely on).
void check_knn_arguments(ConstMatrixView x, index_t k);

/// Throws InvalidArgument unless the queries of nearest_neighbors_of() fit the reference: 1 <= k <= N,
/// N <= 2^32-1, M >= 1, the same column count, every entry of both finite.
void check_query_arguments(ConstMatrixView reference, ConstMatrixView queries, index_t k);

/// An n x k graph with its storage allocated.
NeighborGraph allocate_graph(index_t n, index_t k);

/// Exact neighbours of point `query` by a scan of all N points with rank_distance(metric), self
/// excluded: the k smallest by (distance, tie key), sorted, written to graph row `query`. scratch is
/// reused storage.
void exact_scan_row(ConstMatrixView x, index_t query, index_t k, std::vector<Neighbor>& scratch,
                    NeighborGraph& graph, Metric metric);

/// The same for any point q (x.cols coordinates): the k nearest rows of x by (distance,
/// tie_key(query, j)), row `skip` left out (-1: none), written to graph row `query`.
void exact_scan(ConstMatrixView x, const double* q, index_t query, index_t skip, index_t k,
                std::vector<Neighbor>& scratch, NeighborGraph& graph, Metric metric);

/// Sorts candidates (rank distances) by (distance, tie key) and writes the first k to graph row
/// `query`, each distance as reported_distance(metric, r).
void write_row(std::vector<Neighbor>& candidates, index_t query, index_t k, NeighborGraph& graph,
               Metric metric);
/// The same into a row's k indices and distances wherever they are kept.
void write_row(std::vector<Neighbor>& candidates, index_t k, point_t* indices, double* distances, Metric metric);

/// exact_scan()'s candidates (every row of x but `skip`, by rank distance to q), unsorted, in scratch.
void exact_candidates(ConstMatrixView x, const double* q, index_t query, index_t skip,
                      std::vector<Neighbor>& scratch, Metric metric);

/// Exact backends. Arguments are already checked (for cosine and correlation, x holds metric_rows());
/// results equal nearest_neighbors_naive bit for bit. kdtree: euclidean, cosine, correlation, manhattan;
/// brute: every metric.
NeighborGraph knn_kdtree(ConstMatrixView x, index_t k, Metric metric, int threads,
                         const SearchProgress& progress = {});
NeighborGraph knn_brute(ConstMatrixView x, index_t k, Metric metric, int threads,
                        const SearchProgress& progress = {});

/// The same backends for queries that are not reference points (nearest_neighbors_of): row i of the
/// M x k graph holds query i's k nearest rows of x, nothing skipped. Arguments are already checked;
/// results equal an exact scan bit for bit.
NeighborGraph knn_kdtree_queries(ConstMatrixView x, ConstMatrixView queries, index_t k, int threads,
                                 const SearchProgress& progress = {});
NeighborGraph knn_brute_queries(ConstMatrixView x, ConstMatrixView queries, index_t k, int threads,
                                const SearchProgress& progress = {});

// --- exact search in blocks (brute.cpp, blocks.cpp) -------------------------------------------------
//
// For a distributed run: each process holds a block of rows of X and sees the other blocks one at a
// time. The k best of each of its rows among one reference block (knn_block_candidates), merged over
// every block (merge_candidates), are its rows' k nearest among all of X, and write_candidates turns
// them into exactly the rows knn_brute and knn_kdtree give: every row is labelled by its index in the
// whole X (the tie keys and the reported indices), so (distance, tie) is the same total order in every
// block, and the k best of a union are the k best of the parts' k bests. A process holding rows
// [f, f + M) as `own`, for each other block b (rows [fb, fb + Mb)) as it arrives:
//   BlockCandidates c = knn_block_candidates(own, f, own, f, k, metric, threads);
//   merge_candidates(c, knn_block_candidates(own, f, b, fb, k, metric, threads, &c));   // per block
//   write_candidates(c, k, metric, graph);                   // rows f .. f + M - 1 of the exact graph
// The functions only read their const arguments: calls on different outputs may run concurrently.

/// The ranked candidates of a block of query rows: row i (query row first + i of the whole data) holds
/// count[i] <= k Neighbors at best[i k, i k + count[i]), sorted by (rank distance, tie), best first;
/// indices and tie keys are those of the whole data. count[i] < k where fewer than k other points have
/// been seen, or in the result of a search given `known` candidates (see knn_block_candidates).
struct BlockCandidates {
    index_t first = 0;            ///< the global index of query row 0
    index_t rows = 0;             ///< query rows
    index_t k = 0;                ///< most candidates kept per row
    std::vector<index_t> count;   ///< rows entries: candidates held per row
    std::vector<Neighbor> best;   ///< rows x k, only the first count[i] of row i meaningful

    const Neighbor* row(index_t i) const { return best.data() + i * k; }
};

/// rows empty rows of at most k candidates, the first labelled `first`.
BlockCandidates allocate_candidates(index_t first, index_t rows, index_t k);

/// Keeps the min(k, size) best of `candidates` by (distance, tie), sorted, as row `row` of c (reorders
/// `candidates`).
void store_row(std::vector<Neighbor>& candidates, index_t row, BlockCandidates& c);

/// For each row i of queries (global index query_first + i), the min(k, available) best rows j of
/// reference (global index reference_first + j) by (rank distance, tie_key(query_first + i,
/// reference_first + j)), the row with the query's own global index skipped (blocks may overlap or be
/// the same rows; rows with equal global indices must be equal). The distances are rank_distance() of
/// the two rows, bit for bit as knn_brute's; for cosine and correlation the caller passes rows of
/// metric_rows(). Every metric: euclidean, cosine and correlation by the brute force's float prefilter
/// and exact re-ranking (the float frame covers both blocks, so the prefilter's bound holds for any
/// split), manhattan and chebyshev by its exact panel scan, jaccard and hamming by its exact count scan
/// (popcounts when both blocks are 0/1). Throws InvalidArgument unless k >= 1, the column counts agree, both firsts
/// are >= 0 and every global index fits a point_t; the entries must be finite (not checked). The result
/// does not depend on threads (0 = all). Memory: block_candidates_bytes(M, k) for the result, plus
/// brute_bytes(M + N, D) while it runs.
///
/// known (optional): the candidates already held for these query rows (same first, rows and k, else
/// InvalidArgument), e.g. those of the blocks searched before. A row holding k of them then gets only
/// reference rows at most as far as its k-th (possibly none, fewer than min(k, available)): rows that
/// could not enter its k best anyway. merge_candidates(known, result) is the same as without, and the
/// search is faster (most reference rows are rejected by the float prefilter before any exact
/// distance). Without it, each row holds the block's min(k, available) best.
BlockCandidates knn_block_candidates(ConstMatrixView queries, index_t query_first, ConstMatrixView reference,
                                     index_t reference_first, index_t k, Metric metric, int threads,
                                     const BlockCandidates* known = nullptr);

/// Keeps in each row of `into` the k best of its candidates and those of the same row of `from` by
/// (distance, tie). The blocks whose candidates are merged must be disjoint (a point found twice would
/// be kept twice). Throws InvalidArgument unless both have the same first, rows and k.
void merge_candidates(BlockCandidates& into, const BlockCandidates& from);

/// The graph of c's rows: graph.n = c.rows, graph.k = k, row i the first k candidates of row i (global
/// indices), each distance as reported_distance(metric, r), as write_row writes them. Throws
/// InvalidArgument unless 1 <= k <= c.k and every row holds at least k candidates.
void write_candidates(const BlockCandidates& c, index_t k, Metric metric, NeighborGraph& graph);

/// A block's candidates in 12 bytes each, not 24: the rank distance and the global index, each row
/// sorted by (distance, tie) as in BlockCandidates; the tie key is recomputed from the two indices
/// (tie_key(first + i, index)) where a row is expanded. For the candidates a process of a distributed
/// search holds for all its rows (its largest array there).
struct CompactCandidates {
    index_t first = 0, rows = 0, k = 0;
    std::vector<index_t> count;     ///< rows entries
    std::vector<double> distance;   ///< rows x k rank distances
    std::vector<point_t> index;     ///< rows x k global indices
};

/// rows empty rows of at most k candidates, the first labelled `first`.
CompactCandidates allocate_compact(index_t first, index_t rows, index_t k);

/// store_row() into a CompactCandidates.
void store_row(std::vector<Neighbor>& candidates, index_t row, CompactCandidates& c);

/// Keeps as row `row` of c the k best of its candidates and `found` (candidates of rows not among
/// them, e.g. of another block; reorders and extends `found`).
void merge_row(std::vector<Neighbor>& found, index_t row, CompactCandidates& c);

/// Rows [q0, q0 + rows) of c as a BlockCandidates (its first: c.first + q0), and back.
BlockCandidates expand_candidates(const CompactCandidates& c, index_t q0, index_t rows);
void compress_candidates(const BlockCandidates& block, index_t q0, CompactCandidates& c);

/// Merges into c (the candidates of the rows `queries`, global indices c.first ...) their candidates
/// among `reference` (global indices reference_first ..., disjoint from c's rows, else
/// InvalidArgument): the same as merging knn_block_candidates(queries, c.first, reference,
/// reference_first, c.k, metric, threads, &known) into the known candidates, but the reference is put
/// in the float frame once and the queries are searched `chunk` rows at a time, each query's new
/// candidates merged into its row as it is settled (no BlockCandidates). Memory: brute_bytes(
/// reference.rows + chunk, D).
void knn_block_merge(CompactCandidates& c, ConstMatrixView queries, ConstMatrixView reference,
                     index_t reference_first, Metric metric, int threads, index_t query_chunk);

/// knn_block_candidates(x, first, x, first, k, metric, threads) kept compactly: a block of rows
/// against itself by the whole-data search (the references nearest each query visited first), the
/// same candidates, without a BlockCandidates of the whole block. Memory: 12 bytes a candidate plus
/// brute_bytes(M, D) while it runs.
CompactCandidates knn_block_self(ConstMatrixView x, index_t first, index_t k, Metric metric, int threads);

/// Bytes of a BlockCandidates of `rows` rows of k candidates: 24 per candidate (a Neighbor) and 8 per
/// row (its count). A process of a distributed search holds two (its rows' candidates so far and one
/// block's) beside the search's own memory.
double block_candidates_bytes(double rows, double k);

/// What knn_hnsw did, for benchmarks/knn_recall.cpp: wall seconds of the serial index build and of the
/// parallel searches, CPU seconds of the build, and the rows answered by an exact scan (the search found
/// fewer than k other points).
struct HnswReport {
    double build_seconds = 0;
    double search_seconds = 0;
    double build_cpu_seconds = 0;
    index_t exact_rows = 0;
};

/// Bytes the brute-force backend allocates beyond the graph for N points of D dimensions (brute.cpp).
double brute_bytes(double n, double d);
/// The same for jaccard and hamming (brute.cpp): the bit-packed copy of 0/1 rows, ceil(D / 64) words and
/// a count a point (other rows are scanned in place).
double count_scan_bytes(double n, double d);
/// Bytes the kd-tree backend allocates beyond the graph for N points (kdtree.cpp).
double kdtree_bytes(double n);
/// Bytes the hnsw backend allocates beyond the graph for N points of D dimensions (hnsw.cpp).
double hnsw_bytes(double n, double d, const NeighborOptions& options);
/// Bytes the nndescent backend allocates beyond the graph's 12 N k for N points of D dimensions and k
/// neighbours, at its largest (nndescent.cpp).
double nndescent_bytes(double n, double d, double k, const NeighborOptions& options);

/// Approximate backend (hnswlib). Arguments and options are already checked (for cosine and
/// correlation, x holds metric_rows(); options.metric euclidean, cosine or correlation); the result keeps every NeighborGraph invariant and
/// is the same bit for bit for any thread count.
NeighborGraph knn_hnsw(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                       HnswReport* report = nullptr, const SearchProgress& progress = {});

/// The parameters of knn_nndescent (see src/knn/nndescent.cpp): the public ones resolved from
/// NeighborOptions (0 = auto), and internal ones that only the benchmarks change.
struct NndescentParameters {
    index_t trees = 0;            ///< random-projection trees of the first graph
    index_t leaf_size = 0;        ///< most points per leaf
    index_t rounds = 0;           ///< most refinement rounds
    index_t candidates = 0;       ///< most new (and most old) candidates per point in a local join
    index_t reverse_cap = 0;      ///< reverse neighbours kept per point
    double stop_fraction = 0;     ///< stop when fewer than this share of the N k entries changed in a round
    index_t block = 0;            ///< points per block of a round (fixed: the result depends on it)
    Metric metric = Metric::euclidean;  ///< the working distance's (cosine, correlation: x holds metric_rows())
};

/// NeighborOptions' nndescent fields with each 0 (auto) replaced by its default for N points, k neighbours.
NndescentParameters resolve_nndescent(const NeighborOptions& options, index_t n, index_t k);

/// What knn_nndescent did, for the benchmarks: wall seconds of each step, the rounds run, the entries
/// changed and the distances computed in each round, and the rows answered by an exact scan.
struct NndescentReport {
    double forest_seconds = 0;
    double init_seconds = 0;
    double refine_seconds = 0;
    double finish_seconds = 0;
    index_t rounds = 0;
    std::vector<index_t> changes;
    std::vector<index_t> distances;  ///< pair distances computed in each round
    index_t exact_rows = 0;
};

/// Approximate backend (random-projection forest + NN-descent). Arguments and parameters are already
/// checked (for cosine and correlation, x holds metric_rows()); the result keeps every NeighborGraph invariant and is the
/// same bit for bit for any thread count.
/// With row_values, each row's exact distances are handed to it as the last step settles them, and the
/// graph returned holds no distances (nearest_neighbors' RowValues overload). reorderable: x.data,
/// writable, where the caller lets the search move x's rows while it runs (they are put back before the
/// exact distances, and when it throws): then the search reads them instead of a float copy.
NeighborGraph knn_nndescent(ConstMatrixView x, index_t k, const NndescentParameters& parameters, int threads,
                            NndescentReport* report = nullptr, const SearchProgress& progress = {},
                            RowValues* row_values = nullptr, double* reorderable = nullptr);
NeighborGraph knn_nndescent(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                            const SearchProgress& progress = {}, RowValues* row_values = nullptr,
                            double* reorderable = nullptr);

}  // namespace treesne::detail
