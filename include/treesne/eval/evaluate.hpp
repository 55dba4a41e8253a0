// evaluate(): how well an embedding represents its data, in one call: the exact KL divergence against the
// P that embed() computes, k-NN preservation, trustworthiness and, with labels, the k-NN accuracy, with the
// sampling, scaling, PCA and memory check that `treesne evaluate` and Python's treesne.evaluate apply.
// Both call this; each keeps only its reading and printing.
//
// Thread safety: evaluate() and estimate_evaluate_memory() touch no shared state; concurrent calls are
// safe (each runs its own parallel loops on `threads` workers).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "treesne/api/memory.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// The most points evaluate() measures: its exact KL divergence is O(N^2) time (O(N) memory). Above it,
/// EvaluateOptions::sample (at most this many) is required.
inline constexpr index_t evaluate_max_points = 200000;

/// Which measures evaluate() computes (each costs its own time; the KL divergence is the O(N^2) one).
struct EvaluateMetrics {
    bool kl_divergence = true;     ///< exact t-SNE KL(P||Q): neighbours, P, then Q over all pairs
    bool knn_preservation = true;  ///< the input's and the embedding's k-NN graphs, O(N k) memory
    bool trustworthiness = true;   ///< exact ranks on up to trust_queries points, O(queries N) time
    bool knn_accuracy = true;      ///< leave-one-out k-NN vote in the embedding; only when labels are given
};

/// The options of evaluate(). Defaults are `treesne evaluate`'s.
struct EvaluateOptions {
    EvaluateMetrics metrics;  ///< what to compute
    /// Perplexity of the P the KL divergence is measured against: Gaussian affinities over the
    /// neighbor_count(perplexity, N) nearest neighbours, embed()'s default kind. Checked by validate() as
    /// embed() would check it for N points (e.g. it must leave enough neighbours).
    double perplexity = Options{}.affinities.perplexity;
    double dof = Options{}.optimizer.dof;  ///< degrees of freedom of the output kernel of the KL (> 0)
    Metric metric =
        Metric::euclidean;  ///< input distance of P and of the input neighbourhoods (embedding: L2)
    int pca_dims = 0;       ///< reduce the input to this many principal components first; 0 = off
    /// Neighbours of the preservation, trustworthiness and accuracy: 1 <= k, 2k < N with trustworthiness
    /// (k < N without it).
    index_t k = 10;
    /// Evaluate this many seeded random rows (seeded_sample(N, sample, seed); embedding and labels follow,
    /// P is computed on them); 0 or >= N = all rows. Required above evaluate_max_points, and at most that.
    index_t sample = 0;
    /// Trustworthiness is computed exactly on this many evenly spaced query points when N is larger
    /// (0 = all points, O(N^2) time).
    index_t trust_queries = 5000;
    std::uint64_t seed = Options{}.seed;  ///< of the sample
    int threads = 0;                      ///< workers; 0 = all. The results do not depend on it.
    /// Bytes the evaluation may use besides the input; nullopt = what the machine has now
    /// (available_memory()); +infinity turns the check off. Refused with NumericalError before the large
    /// allocations when estimate_evaluate_memory() exceeds it.
    std::optional<double> memory_limit_bytes;
};

/// What evaluate() found. A measure not asked for (or the accuracy without labels) is nullopt.
struct EvaluationReport {
    index_t input_points = 0;  ///< rows given
    index_t points = 0;        ///< rows evaluated: input_points, or the sample
    bool sampled = false;      ///< points < input_points (a seeded random sample, EvaluateOptions::seed)
    index_t affinity_neighbors = 0;  ///< k of P's neighbour graph (0 without the KL divergence)
    std::optional<double> kl_divergence;
    std::optional<double> knn_preservation;
    std::optional<double> trustworthiness;
    index_t trustworthiness_queries = 0;  ///< query points of the trustworthiness (= points when all)
    std::optional<double> knn_accuracy;
    /// What was done to the data besides the measures, for people: the sample, a power-of-two rescaling
    /// of an input of extreme magnitude, the PCA, a sampled trustworthiness.
    std::vector<std::string> notes;
};

/// Hooks of evaluate(), all optional, called from the calling thread.
struct EvaluateCallbacks {
    /// Before each stage: "sample", "pca", "neighbours", "affinities", "kl", "measures" (only those run).
    std::function<void(const std::string& stage)> stage_start;
    /// After each stage, with its seconds and the report so far (points, affinity_neighbors, values).
    std::function<void(const std::string& stage, double seconds, const EvaluationReport& so_far)> stage_done;
    /// With the memory estimate of the evaluation, before the large allocations and before the check of
    /// memory_limit_bytes: to show it, or to refuse with the caller's own message (by throwing).
    std::function<void(const MemoryEstimate& estimate)> memory;
};

/// Evaluates embedding y (N x 1-3, finite) of the rows of x (N x D, finite) with optional labels (one
/// code per row) under options, in this order:
///   1. checks: y's rows and columns, finite x and y, one label per row; N <= evaluate_max_points
///      unless options.sample is in [1, evaluate_max_points] (InvalidArgument);
///   2. the sample (options.sample < N): seeded rows of x, y and labels;
///   3. validate() of embed()'s options for this perplexity, dof, metric and pca_dims at the evaluated N;
///      k >= 1 and 2k < N (trustworthiness) or k < N (InvalidArgument);
///   4. the memory estimate (estimate_evaluate_memory): callbacks.memory, then memory_limit_bytes
///      (NumericalError);
///   5. x as embed() sees it: rescaled by a power of two when extreme (scale.hpp), then the PCA;
///   6. KL divergence (nearest_neighbors, compute_affinities, exact_tsne_kl_sparse), then the
///      preservation, trustworthiness and accuracy (metrics.hpp), on the evaluated rows.
/// The numbers are those of the metric functions called on the same rows, bit for bit.
EvaluationReport evaluate(ConstMatrixView x, ConstMatrixView y, const std::vector<int>* labels,
                          const EvaluateOptions& options, const EvaluateCallbacks& callbacks = {});

/// The memory of evaluate()'s stages for n evaluated points of d dimensions and an embedding of `dims`
/// columns (input as loaded, then the PCA, the kNN graph and P of the KL divergence, and the k-NN graphs
/// of the measures), sized by estimate_memory()'s parts.
MemoryEstimate estimate_evaluate_memory(index_t n, index_t d, index_t dims, const EvaluateOptions& options);

}  // namespace treesne
