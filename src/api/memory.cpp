// Memory estimates of embed() and the memory this process may still allocate. Each module states the bytes
// of its own buffers (pca_bytes, neighbor_search_bytes, affinities_bytes, space_tree_bytes, session_bytes,
// ...), next to the code that allocates them; this file only says which are alive in each stage and sums
// them (see memory.hpp for the formulas).
#include "treesne/api/memory.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <sstream>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/knn/graph.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/knn/pca.hpp"
#include "treesne/optimize/session.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/tree/space_tree.hpp"

namespace treesne {
namespace {

void add(MemoryStage& stage, const char* name, double bytes) {
    if (bytes <= 0) return;
    stage.parts.emplace_back(name, bytes);
    stage.bytes += bytes;
}

}  // namespace

namespace {

// The k the run searches and keeps: --k when given, else 3 x the largest perplexity (multiscale runs
// search for the largest scale), whatever the kernel; never more than the other points.
double searched_k(const Options& options, index_t n_points) {
    return static_cast<double>(std::clamp<index_t>(neighbor_count(options.affinities, n_points), 0,
                                                   std::max<index_t>(n_points - 1, 0)));
}

// Whether the run reduces the input by PCA first.
bool reduces(const Options& options, index_t d_input) {
    return options.pca_dims > 0 && options.pca_dims < d_input;
}

// The buffers of each stage, from the stages' own models (pca_bytes, neighbor_search_bytes, ...): this
// file only decides which are alive together.
// dense: embed() of dense rows, whose nndescent search calibrates the rows as it settles them.
void fill_parts(MemoryEstimate& e, index_t n_points, index_t d_input, const Options& options, bool keep_affinities,
                bool input_released, bool dense) {
    const double n = static_cast<double>(std::max<index_t>(n_points, 0));
    const double d = static_cast<double>(std::max<index_t>(d_input, 0));
    const bool reduce = reduces(options, d_input);
    const double d_used = reduce ? static_cast<double>(options.pca_dims) : d;
    const double dims = static_cast<double>(options.dims);
    const double k = searched_k(options, n_points);
    e.input = n * d * 8;
    if (reduce) e.pca = pca_bytes(n, d, d_used);
    e.session = session_bytes(n, dims);
    if (options.optimizer.method == Method::barnes_hut) {
        const KnnBackend backend = resolve_backend(options.neighbors.backend, n_points,
                                                   static_cast<index_t>(d_used), options.neighbors.metric);
        e.neighbor_search = neighbor_search_bytes(backend, n, d_used, k, options.neighbors);
        e.neighbors = neighbor_graph_bytes(n, k);
        if (dense && backend == KnnBackend::nndescent) {
            // embed() has nndescent calibrate each row as it settles the row's exact distances, so its
            // graph ends as indices and conditionals (8 N k bytes, not 12 N k), and lets it read rows that
            // are embed()'s own (an input handed over, a PCA or metric copy) instead of a float copy.
            const bool own_rows = input_released || reduce || options.neighbors.metric == Metric::cosine ||
                                  options.neighbors.metric == Metric::correlation;
            const double working = e.neighbor_search + e.neighbors - (own_rows ? 4 * n * d_used : 0.0);
            e.neighbors = n * k * 8;
            e.neighbor_search = std::max(0.0, working - e.neighbors);
        }
        const bool approximate = backend == KnnBackend::hnsw || backend == KnnBackend::nndescent;
        e.affinity_workspace = symmetrize_workspace_bytes(n_points, k, options.threads, approximate);
        // P as the session holds it (packed.hpp: not packed for now), and a kept copy (Result::affinities).
        e.affinities = packed_p_bytes(n, k, approximate) + (keep_affinities ? affinities_bytes(n, k, approximate) : 0);
        e.tree = space_tree_bytes(n, dims, gradient_borrows_sort(resolve_threads(options.threads), options.dims));
        e.session += gradient_workspace_bytes(n, dims);
    } else {
        e.dense = dense_affinities_bytes(n);
    }
}

}  // namespace

namespace {

// The stages of embed() from the parts' sizes (fill_parts, adjusted for sparse input).
MemoryEstimate with_stages(MemoryEstimate e, index_t n_points, index_t d_input, const Options& options,
                           bool input_released, bool dense) {
    const double n = static_cast<double>(std::max<index_t>(n_points, 0));
    const double k = searched_k(options, n_points);
    // Each stage lists the buffers alive during it; the input lives throughout unless embed() owns it
    // (embed(Matrix&&)), which frees it, and its PCA copy, once the neighbours and Y0 are computed.
    const double kept_input = input_released ? 0.0 : e.input;
    const double kept_pca = input_released ? 0.0 : e.pca;
    auto stage = [&](const char* name, double input,
                     std::initializer_list<std::pair<const char*, double>> parts) {
        MemoryStage s{name, {}, 0};
        add(s, "input", input);
        for (const auto& [part, bytes] : parts) add(s, part, bytes);
        e.stages.push_back(std::move(s));
    };
    if (reduces(options, d_input)) stage("pca", e.input, {{"PCA", e.pca}});
    if (options.optimizer.method == Method::barnes_hut) {
        stage("neighbours", e.input,
              {{"PCA copy", e.pca}, {"kNN graph", e.neighbors}, {"search buffers", e.neighbor_search}});
        // Calibration: the whole graph and the conditionals; then the distances are freed, the one-sided
        // entries gathered beside the graph's indices and the conditionals, and P built from them row
        // by row as their pages are given back (symmetrize), so P never sits beside the whole graph.
        const bool calibrated_in_search =
            dense && resolve_backend(options.neighbors.backend, n_points,
                            reduces(options, d_input) ? options.pca_dims : d_input,
                            options.neighbors.metric) == KnnBackend::nndescent;  // e.neighbors holds them
        stage("affinities", kept_input,
              {{"PCA copy", kept_pca},
               {"kNN graph", e.neighbors},
               {"P workspace", calibrated_in_search ? 0.0 : conditional_bytes(n, k)}});
        stage("affinities", kept_input,
              {{"PCA copy", kept_pca}, {"kNN indices", n * k * 4}, {"P workspace", e.affinity_workspace}});
        stage("optimise", kept_input,
              {{"PCA copy", kept_pca}, {"P", e.affinities}, {"optimiser", e.session}, {"tree", e.tree}});
    } else {
        stage("affinities", e.input, {{"PCA copy", e.pca}, {"dense P", e.dense}});
        stage("optimise", e.input, {{"PCA copy", e.pca}, {"dense P", dense_p_bytes(n)}, {"optimiser", e.session}});
    }
    for (std::size_t i = 0; i < e.stages.size(); ++i) {
        if (e.stages[i].bytes > e.peak) {
            e.peak = e.stages[i].bytes;
            e.peak_stage = i;
        }
    }
    return e;
}

}  // namespace

MemoryEstimate estimate_memory(index_t n_points, index_t d_input, const Options& options,
                               bool keep_affinities, bool input_released) {
    MemoryEstimate e;
    fill_parts(e, n_points, d_input, options, keep_affinities, input_released, true);
    return with_stages(std::move(e), n_points, d_input, options, input_released, true);
}

MemoryEstimate estimate_memory_sparse(index_t n_points, index_t d_input, index_t nnz, const Options& options,
                                      bool keep_affinities, bool input_released) {
    MemoryEstimate e;
    fill_parts(e, n_points, d_input, options, keep_affinities, input_released, false);
    const double n = static_cast<double>(std::max<index_t>(n_points, 0));
    const double d = static_cast<double>(std::max<index_t>(d_input, 0));
    const double entries = static_cast<double>(std::max<index_t>(nnz, 0));
    e.input = csr_matrix_bytes(n, entries);
    if (reduces(options, d_input)) {
        // The sparse PCA's buffers and the dense N x D' rows it gives, which the dense search then reads.
        e.pca = pca_sparse_bytes(n, d, static_cast<double>(options.pca_dims)) +
                n * static_cast<double>(options.pca_dims) * 8;
    } else if (options.optimizer.method == Method::barnes_hut) {
        e.neighbor_search = sparse_search_bytes(n, d, entries, searched_k(options, n_points), options.threads,
                                                options.neighbors);
        if (options.init == InitKind::pca) e.pca = pca_sparse_bytes(n, d, static_cast<double>(options.dims));
    }
    return with_stages(std::move(e), n_points, d_input, options, input_released, false);
}

std::string MemoryEstimate::describe() const {
    std::ostringstream out;
    out << format_bytes(peak);
    if (stages.empty()) return out.str();
    const MemoryStage& s = stages[peak_stage];
    out << " (" << s.name << ": ";
    for (std::size_t i = 0; i < s.parts.size(); ++i)
        out << (i ? ", " : "") << s.parts[i].first << ' ' << format_bytes(s.parts[i].second);
    out << ')';
    return out.str();
}

void require_memory(const MemoryEstimate& estimate, double available, Method method) {
    // The input is already in memory, so only the rest has to fit in what is left.
    const double needed = estimate.peak - estimate.input;
    if (!(needed > available)) return;
    throw NumericalError(
        concat("this embedding needs about ", estimate.describe(), " but ",
               format_bytes(std::max(0.0, available)), " is available besides the input already loaded; ",
               method == Method::barnes_hut
                   ? "use fewer points, a smaller perplexity, or PCA to fewer dimensions first (pca_dims)"
                   : "use method barnes_hut, which needs O(N k) memory instead of O(N^2)"));
}

MemoryStage memory_stage(const std::string& name,
                         std::initializer_list<std::pair<const char*, double>> parts) {
    MemoryStage stage{name, {}, 0};
    for (const auto& [part, bytes] : parts) {
        if (!(bytes > 0)) continue;
        stage.parts.emplace_back(part, bytes);
        stage.bytes += bytes;
    }
    return stage;
}

MemoryEstimate memory_estimate(double input, std::vector<MemoryStage> stages) {
    MemoryEstimate e;
    e.input = input;
    e.stages = std::move(stages);
    for (std::size_t i = 0; i < e.stages.size(); ++i) {
        if (e.stages[i].bytes > e.peak) {
            e.peak = e.stages[i].bytes;
            e.peak_stage = i;
        }
    }
    return e;
}


}  // namespace treesne
