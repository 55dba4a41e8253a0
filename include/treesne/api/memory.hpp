// How much memory an embedding needs, stage by stage, so that embed() can refuse a run that cannot fit
// before it allocates anything large, instead of being killed an hour later.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "treesne/core/options.hpp"
#include "treesne/core/system_memory.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// The buffers alive during one stage of embed(), and their total.
struct MemoryStage {
    std::string name;                                   ///< "pca", "neighbours", "affinities", "optimise"
    std::vector<std::pair<std::string, double>> parts;  ///< each buffer alive then, with its bytes
    double bytes = 0;                                   ///< the sum of the parts
};

/// Bytes of the large buffers of one embed() call and the stage totals. Counts times element sizes, not
/// measurements: allocator overhead, per-thread scratch (a few MiB per thread) and the program itself are
/// left out, so read it as "about". Doubles, because N^2 bytes for the exact methods may pass 2^64.
///
/// Each term is its module's own model, declared beside the code that allocates it: pca_bytes (knn/pca.hpp),
/// neighbor_search_bytes and neighbor_graph_bytes (knn/), conditional_bytes, symmetrize_workspace_bytes,
/// affinities_bytes and dense_affinities_bytes (affinities/), space_tree_bytes and gradient_workspace_bytes
/// (tree/), session_bytes (optimize/session.hpp); estimate_memory only decides which live together.
///
/// Barnes-Hut, with k = neighbor_count(options.affinities, N), the k the run uses (affinities.k when set,
/// else min(N-1, floor(3 x the largest perplexity)), for every kind) and D' = pca_dims (or D without PCA):
///   input            N D 8                      the caller's X (already in memory when embed() runs)
///   pca              N D' 8 + ceil(N/2048) D^2 8   the reduced copy and the per-block covariances
///                                               (2048 = pca_block_rows)
///   neighbour search brute: N (8 D' + 16) (a float copy, twice); kd-tree: N 16
///   kNN graph        N k (4 + 8)                point indices and squared distances
///   P workspace      N k 4 + N 4 B              float conditionals p_j|i and B = min(threads, 16)
///                                               counters a point (symmetrize_blocks)
///   P                1.5 N k (4 + 4) + (N+1) 8  symmetric CSR, float values: between N k and 2 N k
///                                               entries, typically 1.4-1.5 N k (measured)
///   session          6 N dims 8                 Y0, Y, gains, velocity, gradient, the returned copy
///                    + N dims 8 (Barnes-Hut)    the attraction buffer of barnes_hut_gradient
///   tree             N (4+8+8+4+8 + 8 dims) + N/4 nodes of (8 + 8 dims + 4 dims (dims+1) + 16)
/// The affinities stage is counted twice: while the rows are calibrated (whole graph and conditionals)
/// and while P is assembled (graph indices, conditionals, P; the distances are freed).
/// Exact methods: 3 N^2 8 (the conditional and the joint dense P plus one more for the sweeps: the bound
/// require_dense_fits applies) while P is built, N^2 8 during the optimisation, plus input, PCA and session.
/// Not counted: the scaled copy of the input (N D 8) that embed() makes when its magnitudes are extreme.
struct MemoryEstimate {
    double input = 0;                 ///< X itself
    double pca = 0;                   ///< PCA copy and workspace (0 without PCA)
    double neighbor_search = 0;       ///< the kNN backend's own buffers
    double neighbors = 0;             ///< the kNN graph
    double affinity_workspace = 0;    ///< conditional probabilities and reverse graph while P is built
    double affinities = 0;            ///< sparse P (twice with Callbacks::keep_affinities)
    double dense = 0;                 ///< dense P of the exact methods while it is built
    double session = 0;               ///< optimiser buffers
    double tree = 0;                  ///< the 2^dims-tree (Barnes-Hut only)
    std::vector<MemoryStage> stages;  ///< in the order embed() runs them
    double peak = 0;                  ///< the largest stage total
    std::size_t peak_stage = 0;       ///< index into stages of the peak

    /// "31.2 GiB (affinities: input 381 MiB, kNN graph 12.1 GiB, ...)": the peak and what makes it up.
    std::string describe() const;
};

/// Estimates the memory of embed() for N points of D dimensions under these options (no data needed).
/// keep_affinities: Callbacks::keep_affinities, which holds a second copy of P.
/// input_released: embed() owns the input (embed(Matrix&&)) and frees it before P is built.
MemoryEstimate estimate_memory(index_t n, index_t d, const Options& options, bool keep_affinities = false,
                               bool input_released = false);

/// The same for sparse input of nnz stored entries (embed(ConstCsrView)): the input is its CSR
/// (csr_matrix_bytes); without PCA preprocessing the search's buffers are the sparse search's
/// (sparse_search_bytes) and the PCA initialisation's the sparse PCA's; with it, the sparse PCA and its
/// dense N x D' rows, after which the run is the dense one's.
MemoryEstimate estimate_memory_sparse(index_t n, index_t d, index_t nnz, const Options& options,
                                      bool keep_affinities = false, bool input_released = false);

/// A stage of a command's memory estimate: the buffers alive then (parts of 0 bytes left out).
MemoryStage memory_stage(const std::string& name,
                         std::initializer_list<std::pair<const char*, double>> parts);
/// An estimate made of these stages: `input` is what is already loaded when they start (not counted
/// against the limit), the peak the largest stage.
MemoryEstimate memory_estimate(double input, std::vector<MemoryStage> stages);

/// Throws NumericalError when the estimate's peak, less the input (already in memory), exceeds
/// `available` bytes: "needs about 31.2 GiB (affinities: ...) but 22.8 GiB is available ...".
void require_memory(const MemoryEstimate& estimate, double available, Method method);


}  // namespace treesne
