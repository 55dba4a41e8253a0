// The distributed embed(): reading, scaling, PCA, the exact neighbour search round the ring, P, the
// initial embedding and the optimisation, each stage over this rank's rows (distributed.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "core/permutation.hpp"
#include "dist/affinities.hpp"
#include "dist/bytes.hpp"
#include "dist/collective_ops.hpp"
#include "dist/nndescent.hpp"
#include "knn/internal.hpp"
#include "knn/pca_internal.hpp"
#include "treesne/affinities/precomputed.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/system_memory.hpp"
#include "treesne/tree/space_tree.hpp"
#include "treesne/core/scale.hpp"
#include "treesne/dist/distributed.hpp"
#include "treesne/knn/pca.hpp"
#include "treesne/optimize/init.hpp"

namespace treesne::dist {
namespace {

// The PCA fit of the rows of every rank: pca()'s block sums, added in block order across the ranks.
PcaResult pca_fit(Collective& collective, ConstMatrixView own, index_t n, index_t d, index_t k, int threads) {
    require(n >= 2, "PCA needs at least 2 points; got ", n);
    require(k >= 1 && k <= d, "PCA dims must be in [1, ", d, "]; got ", k);
    std::vector<double> mean = fold_vectors(collective, detail::pca_column_sums(own, threads), static_cast<std::size_t>(d));
    detail::pca_divide(mean, static_cast<double>(n));
    std::vector<double> cov =
        fold_vectors(collective, detail::pca_gram_sums(own, mean, threads), static_cast<std::size_t>(d * d));
    detail::pca_divide(cov, static_cast<double>(n - 1));
    return detail::pca_axes(mean, cov, k);
}

// Query rows put in the float frame at a time when searching a slice of another rank's block.
constexpr index_t ring_chunk = 4096;

// Reference rows per search: each search holds float copies of its reference rows (brute_bytes), which
// for a whole visiting block were the largest buffers of the stage.
index_t reference_slice(index_t cols) {
    return std::max<index_t>(256, static_cast<index_t>(buffer_bytes() / detail::brute_bytes(1.0, static_cast<double>(cols))));
}

// Merges into `best` the candidates of another rank's block, slice by slice (each put in the float frame
// once), the own rows searched ring_chunk at a time given what they hold (so that most references are
// cut by the float prefilter).
void merge_block(detail::CompactCandidates& best, ConstMatrixView own, ConstMatrixView reference, index_t at,
                 Metric metric, int threads) {
    const index_t slice = reference_slice(reference.cols);
    for (index_t r0 = 0; r0 < reference.rows; r0 += slice) {
        const ConstMatrixView part{reference.row(r0), std::min(slice, reference.rows - r0), reference.cols};
        detail::knn_block_merge(best, own, part, at + r0, metric, threads, ring_chunk);
    }
}

// The graph of the candidates (each row holds k: every rank's block has been seen), in their storage:
// a copy would double the largest array of the stage.
NeighborGraph graph_of(detail::CompactCandidates&& c, Metric metric) {
    NeighborGraph graph;
    graph.n = c.rows;
    graph.k = c.k;
    graph.indices = std::move(c.index);
    graph.distances = std::move(c.distance);
    for (double& d : graph.distances) d = detail::reported_distance(metric, d);
    return graph;
}

// The exact k nearest neighbours of this rank's rows among every rank's: the other ranks' blocks are
// passed round the ring (each rank sends to the one before and receives from the one after), so each
// rank holds two blocks at a time; the k best of the blocks' k bests are the k nearest (internal.hpp).
NeighborGraph ring_search(Collective& collective, ConstMatrixView own, index_t first, index_t k, Metric metric,
                          int threads, const std::function<void(double)>& progress) {
    const int ranks = collective.size(), rank = collective.rank();
    // The own block first, by the whole-data search (which visits the references nearest each query
    // first, so its thresholds fall early): its candidates make the prefilter of the other blocks tight.
    detail::CompactCandidates best = detail::knn_block_self(own, first, k, metric, threads);
    // The visiting block: its header (global index of its first row, shape) and its values, shifted
    // separately so that the own block is sent from its rows, not from a copy (a copy beside the
    // received block was the peak of a rank).
    std::vector<unsigned char> header, values;
    put(header, first);
    put(header, own.rows);
    put(header, own.cols);
    const auto own_bytes = static_cast<std::size_t>(own.rows * own.cols) * sizeof(double);
    const int to = (rank + ranks - 1) % ranks, from = (rank + 1) % ranks;
    for (int step = 1; step < ranks; ++step) {
        if (progress) progress(static_cast<double>(step) / ranks);
        header = collective.shift(header, to, from);
        values = step == 1 ? collective.shift(own.data, own_bytes, to, from) : collective.shift(values, to, from);
        Reader read(header);
        const auto at = read.get<index_t>();
        const auto rows = read.get<index_t>();
        const auto cols = read.get<index_t>();
        // Vector storage is aligned for any type.
        const ConstMatrixView reference{reinterpret_cast<const double*>(values.data()), rows, cols};
        if (rows > 0 && own.rows > 0) merge_block(best, own, reference, at, metric, threads);
    }
    return graph_of(std::move(best), metric);
}

// The neighbours of this rank's rows: the distributed nndescent where the backend is nndescent and N is
// not small enough for the single process's exact answer, otherwise the exact ring search.
// TREESNE_DIST_DUMP_GRAPH=path: rank 0 writes the graph's indices there (for tests).
NeighborGraph search_rows(Collective& collective, ConstMatrixView searched, const RowPartition& rows,
                          KnnBackend backend, const Options& options, const std::function<void(double)>& progress) {
    const index_t n = rows.first.back(), k = neighbor_count(options.affinities, n);
    const detail::NndescentParameters approximate = detail::resolve_nndescent(options.neighbors, n, k);
    NeighborGraph graph =
        backend == KnnBackend::nndescent && !nndescent_exact(n, k, approximate)
            ? nndescent_rows(collective, searched, rows, k, approximate, options.threads, progress)
            : ring_search(collective, searched, rows.begin(collective.rank()), k, options.neighbors.metric,
                          options.threads, progress);
    if (const char* dump = std::getenv("TREESNE_DIST_DUMP_GRAPH")) write_graph_indices(collective, graph, n, dump);
    return graph;
}

// The initial embedding, whole, on every rank: PCA from every rank's rows, or the random or given start
// (which need only N).
Matrix initial_rows(Collective& collective, ConstMatrixView own, const RowPartition& rows, const Options& options) {
    const index_t n = rows.first.back();
    if (options.init != InitKind::pca) return initial_embedding(ConstMatrixView{nullptr, n, 0}, options);
    const PcaResult fit = pca_fit(collective, own, n, own.cols, options.dims, options.threads);
    const Matrix scores = pca_project(fit, own, options.threads);
    return pca_init_from(gather_rows(collective, scores.view(), rows, options.dims), options.seed);
}

// P from this rank's rows of the graph, ordered and relabelled, then the optimisation.
Result embed_graph_rows(NeighborGraph graph, Matrix y0, const RowPartition& rows, const Options& options,
                        const Callbacks& callbacks, Collective& collective, Result result,
                        std::chrono::steady_clock::time_point start) {
    const index_t n = rows.first.back();
    detail::Stage aff(callbacks, "affinities", result.timings.affinities);
    std::vector<float> conditional;
    agreed(collective, [&] {  // a rank without rows (small N) has no row to calibrate
        if (graph.n > 0) conditional = conditional_probabilities(graph, options.affinities, options.threads);
    });
    graph.distances = std::vector<double>();
    treesne::detail::sort_rows_by_column(graph, conditional, options.threads);
    std::vector<point_t> order = locality_order_rows(symmetric_pattern_rows(graph, rows, collective), rows, collective);
    // The optimisation's rows: units of parallel_sum_block (the KL's blocks), not the input's.
    RowPartition p_rows = RowPartition::even(n, collective.size(), parallel_sum_block);
    Affinities own = affinities_in_order(std::move(graph), std::move(conditional), order, rows, p_rows, collective);
    y0 = treesne::detail::gather_rows(y0, order);
    aff.done();
    Session session(std::move(own), std::move(y0), options, std::move(order), collective, std::move(p_rows));
    treesne::detail::optimise_session(std::move(session), options, callbacks, result, start);
    return result;
}

}  // namespace

std::string unsupported(const Options& options) {
    if (options.optimizer.method != Method::barnes_hut)
        return concat("--method ", to_string(options.optimizer.method),
                      " runs on one process (its O(N^2) P does not split); launch it without mpirun");
    if (options.optimizer.theta_auto) return "--theta auto is not available across processes; give a number";
    const KnnBackend b = options.neighbors.backend;
    if (b == KnnBackend::hnsw)
        return "--knn hnsw is not distributed yet; across processes use --knn nndescent (approximate) or the exact "
               "search (--knn auto, kdtree or brute: the same graph)";
    return "";
}

LocalRows read_rows(Collective& collective, const std::string& path, const io::ReadLimits& limits) {
    LocalRows out;
    std::optional<io::MatrixShape> shape;
    Matrix whole;  // rank 0, for a format that cannot be read by rows
    agreed(collective, [&] {
        if (collective.rank() != 0) return;
        shape = io::read_matrix_shape(path, limits);
        if (!shape) whole = io::read_matrix(path, limits);
    });
    std::vector<unsigned char> header;
    if (collective.rank() == 0) {
        put(header, static_cast<unsigned char>(shape ? 1 : 0));
        put(header, shape ? shape->rows : whole.rows());
        put(header, shape ? shape->cols : whole.cols());
    }
    collective.broadcast(header, 0);
    Reader read(header);
    const bool by_rows = read.get<unsigned char>() != 0;
    out.n = read.get<index_t>();
    out.d = read.get<index_t>();
    out.rows = RowPartition::even(out.n, collective.size(), pca_block_rows);
    const int rank = collective.rank();
    if (by_rows) {
        agreed(collective, [&] { out.x = io::read_matrix_rows(path, out.rows.begin(rank), out.rows.rows(rank), limits); });
        return out;
    }
    std::vector<std::vector<unsigned char>> to_each(static_cast<std::size_t>(collective.size()));
    if (rank == 0)
        for (int r = 0; r < collective.size(); ++r)
            put(to_each[static_cast<std::size_t>(r)], whole.row(out.rows.begin(r)),
                static_cast<std::size_t>(out.rows.rows(r) * out.d));
    whole = Matrix();
    const std::vector<unsigned char> mine = collective.exchange(to_each);
    out.x = Matrix(out.rows.rows(rank), out.d);
    Reader(mine).copy(out.x.data(), static_cast<std::size_t>(out.x.size()));
    return out;
}

namespace {

// A hash of the words, then of one array spread over the ranks (own: this rank's bytes), as a Hasher
// given the words and then bytes() of the whole array: the hasher's state passes from rank to rank.
std::uint64_t spread_hash(const std::vector<std::uint64_t>& words, const void* own, std::size_t own_size,
                          bool whole_empty, Collective& collective) {
    StreamHasher h;
    for (const std::uint64_t w : words) h.word(w);
    const std::vector<unsigned char> state = collective.in_rank_order([&](std::vector<unsigned char>& bytes) {
        if (!bytes.empty()) h = StreamHasher::restore(bytes);
        h.feed(own, own_size);
        if (collective.rank() == collective.size() - 1 && !whole_empty) h.end_array();
        bytes = h.save();
    });
    const std::uint64_t v = StreamHasher::restore(state).value();
    return v == 0 ? 1 : v;  // 0 means "not recorded"
}

// data_fingerprint(previous, bytes, size) of an array spread over the ranks.
std::uint64_t chained_fingerprint(std::uint64_t previous, const void* own, std::size_t own_size,
                                  Collective& collective) {
    std::vector<double> sizes = gather_each(collective, static_cast<double>(own_size));
    std::size_t total = 0;
    for (const double s : sizes) total += static_cast<std::size_t>(s);
    return spread_hash({previous, static_cast<std::uint64_t>(total)}, own, own_size, total == 0, collective);
}

}  // namespace

std::uint64_t data_fingerprint(const LocalRows& data, Collective& collective) {
    // As data_fingerprint(x): no bytes at all for an empty matrix.
    return spread_hash({static_cast<std::uint64_t>(data.n), static_cast<std::uint64_t>(data.d)}, data.x.data(),
                       static_cast<std::size_t>(data.x.size()) * sizeof(double), data.n * data.d == 0, collective);
}

std::uint64_t graph_fingerprint(const NeighborGraph& own, Collective& collective) {
    // input_fingerprint() of a given graph (tools/run.cpp): no coordinates (0), its indices, its distances.
    const std::uint64_t f = chained_fingerprint(0, own.indices.data(), own.indices.size() * sizeof(point_t), collective);
    return chained_fingerprint(f, own.distances.data(), own.distances.size() * sizeof(double), collective);
}

NeighborGraph neighbor_rows_from_lists(const RowPartition& rows, index_t k, const Matrix& indices,
                                       const Matrix& distances, const std::string& context, Collective& collective) {
    const int rank = collective.rank();
    const index_t n = rows.first.back(), first = rows.begin(rank), own = rows.rows(rank);
    agreed(collective, [&] {
        require(n >= 2, context, "neighbours: t-SNE needs at least 2 points; got ", n);
        require(k >= 1, context, "neighbours: need at least 1 neighbour per point; got ", k);
        require(indices.rows() == own && distances.rows() == own && indices.cols() == k && distances.cols() == k,
                context, "this rank's rows of the lists are not ", own, " x ", k);
    });
    // neighbors_from_lists' two global facts: whether every row starts with its own point (a rank
    // without rows does not object), then the largest distance of all.
    bool self_first = true;
    for (const double f : gather_each(collective, detail::lists_start_with_self(first, own, k, indices.storage()) || own == 0 ? 1.0 : 0.0))
        self_first = self_first && f != 0.0;
    const index_t skip = self_first && k >= 2 ? 1 : 0;
    double largest = 0.0;
    for (const double v : gather_each(collective, detail::largest_listed_distance(own, k, skip, distances.storage())))
        largest = std::max(largest, v);
    NeighborGraph graph;
    agreed(collective, [&] {
        try {
            graph = detail::neighbor_list_rows(n, first, own, k, skip, extreme_exponent(largest), indices.storage(),
                                               distances.storage());
        } catch (const InvalidArgument& error) {
            throw InvalidArgument(concat(context, error.what()));
        }
    });
    return graph;
}

MemoryEstimate estimate_rank_memory(index_t n, index_t d, index_t rows, index_t largest, int ranks,
                                    const Options& options) {
    const double N = static_cast<double>(n), R = static_cast<double>(rows), D = static_cast<double>(d);
    const double dp = options.pca_dims > 0 && options.pca_dims < d ? options.pca_dims : D;
    const double k = static_cast<double>(neighbor_count(options.affinities, n));
    const double dims = options.dims;
    const double chunk = std::min<double>(R, ring_chunk);
    const double own_p = affinities_bytes(N, k, false) / std::max(1, ranks);  // about this rank's share
    // ring_search: the own block by one search (float copies of all its rows), then chunks of queries
    // against slices of the other blocks.
    const double slice = std::min(static_cast<double>(largest), static_cast<double>(reference_slice(static_cast<index_t>(dp))));
    const double search = std::max(detail::brute_bytes(R, dp), detail::brute_bytes(chunk + slice, dp));
    std::vector<MemoryStage> stages;
    // The distributed nndescent (dist/nndescent.hpp) holds no visiting block and no exact candidates.
    const detail::NndescentParameters approximate = detail::resolve_nndescent(options.neighbors, n, static_cast<index_t>(k));
    if (resolve_backend(options.neighbors.backend, n, static_cast<index_t>(dp), options.neighbors.metric) ==
            KnnBackend::nndescent && !nndescent_exact(n, static_cast<index_t>(k), approximate))
        stages.push_back(memory_stage("neighbours", {{"input rows", R * D * 8},
                                                      {"reduced rows", dp < D ? R * dp * 8 : 0.0},
                                                      {"graph, offers and a batch", nndescent_rank_bytes(N, R, dp, k, approximate)}}));
    else
        stages.push_back(memory_stage("neighbours", {{"input rows", R * D * 8},
                                                      {"reduced rows", dp < D ? R * dp * 8 : 0.0},
                                                      {"visiting block", static_cast<double>(largest) * dp * 8},
                                                      {"candidates", R * k * 12 + chunk * k * 48},
                                                      {"search buffers", search}}));
    // Calibration, then P built from the graph's indices and the conditionals in bounded rounds (the
    // pattern stage before it holds less: 4 bytes an entry, not 8).
    stages.push_back(memory_stage("calibration", {{"kNN rows", R * k * 12},
                                                   {"conditionals", R * k * 4},
                                                   {"initial embedding", N * dims * 8}}));
    stages.push_back(memory_stage("affinities", {{"kNN indices and conditionals", R * k * 8},
                                                  {"P rows", own_p},
                                                  {"exchange rounds", 2 * buffer_bytes()},
                                                  {"order and labels", N * 9},
                                                  {"initial embedding", N * dims * 8}}));
    stages.push_back(memory_stage("optimise", {{"P rows", own_p},
                                                {"session (whole)", session_bytes(N, dims)},
                                                {"tree (whole)", space_tree_bytes(N, dims)},
                                                {"gathered forces", N * (dims + 1) * 8}}));
    return memory_estimate(R * D * 8, std::move(stages));
}

Result embed_rows(LocalRows data, const Options& options, const Callbacks& callbacks, Collective& collective) {
    const auto start = std::chrono::steady_clock::now();
    const std::string refused = unsupported(options);
    require(refused.empty(), refused);
    validate(options, data.n, data.d);
    require_usable_init(options);
    Result result;
    const int threads = options.threads;
    const int rank = collective.rank();
    agreed(collective, [&] {  // every rank's own estimate, before the big allocations
        std::optional<double> available = callbacks.memory_limit_bytes;
        if (!available) available = available_memory();
        index_t largest = 0;
        for (int r = 0; r < collective.size(); ++r) largest = std::max(largest, data.rows.rows(r));
        if (available && std::isfinite(*available))
            require_memory(estimate_rank_memory(data.n, data.d, data.rows.rows(rank), largest, collective.size(), options),
                           *available, options.optimizer.method);
    });
    // The rescaling of extreme inputs: the largest magnitude of all (a maximum: exact in any order).
    const std::vector<double> largest = gather_each(collective, largest_magnitude(data.x.view()));
    const int exponent = extreme_exponent(*std::max_element(largest.begin(), largest.end()));
    if (exponent != 0) data.x = scaled_by_power_of_two(data.x.view(), exponent);
    if (options.pca_dims > 0 && options.pca_dims < data.d) {
        detail::Stage stage(callbacks, "pca", result.timings.pca);
        const PcaResult fit = pca_fit(collective, data.x.view(), data.n, data.d, options.pca_dims, threads);
        data.x = pca_project(fit, data.x.view(), threads);
        data.d = options.pca_dims;
        stage.done();
    }
    // nndescent (asked for, or auto's choice for one process at this size) runs distributed
    // (dist/nndescent.hpp); every other backend is the exact search: kdtree and brute give the same graph.
    result.backend = resolve_backend(options.neighbors.backend, data.n, data.d, options.neighbors.metric);
    if (result.backend != KnnBackend::kdtree && result.backend != KnnBackend::nndescent) result.backend = KnnBackend::brute;
    const Metric metric = options.neighbors.metric;
    // Cosine searches the rows scaled to unit length, correlation the rows centred and scaled to unit
    // length (a copy: the PCA start uses the rows themselves).
    Matrix unit;
    if (detail::searches_metric_rows(metric))
        agreed(collective, [&] { unit = detail::metric_rows(data.x.view(), metric, threads); });
    detail::Stage knn(callbacks, "neighbours", result.timings.neighbors);
    std::function<void(double)> progress;
    if (callbacks.stage_progress) progress = [&](double f) { callbacks.stage_progress("neighbours", f); };
    NeighborGraph graph = search_rows(collective, detail::searches_metric_rows(metric) ? unit.view() : data.x.view(), data.rows,
                                      result.backend, options, progress);
    unit = Matrix();
    if (metric_scales_with_data(metric)) graph.scale_exponent = exponent;
    knn.done();
    Matrix y0;
    {
        detail::Stage init(callbacks, "init", result.timings.init);
        y0 = callbacks.resume_from ? callbacks.resume_from->y : initial_rows(collective, data.x.view(), data.rows, options);
        init.done();
    }
    data.x = Matrix();
    return embed_graph_rows(std::move(graph), std::move(y0), data.rows, options, callbacks, collective,
                            std::move(result), start);
}

Result embed_affinities_from_root(std::optional<Affinities> p, index_t n, const Options& options,
                                  const Callbacks& callbacks, Collective& collective) {
    const auto start = std::chrono::steady_clock::now();
    const std::string refused = unsupported(options);
    require(refused.empty(), refused);
    validate_given_affinities(options, n, std::max(options.dims, 1), "affinities");
    require_usable_init(options);
    require(options.init != InitKind::pca, "pca initialisation needs the input's coordinates; across processes a "
            "given P starts from random or user initialisation");
    Result result;
    result.backend = options.neighbors.backend;
    const RowPartition rows = RowPartition::even(n, collective.size(), parallel_sum_block);
    Matrix y0 = callbacks.resume_from ? callbacks.resume_from->y
                                      : initial_embedding(ConstMatrixView{nullptr, n, 0}, options);
    detail::Stage aff(callbacks, "affinities", result.timings.affinities);
    std::vector<point_t> order;
    Affinities whole;
    agreed(collective, [&] {
        if (collective.rank() != 0) return;
        validate_affinities(*p, options.threads);
        order = locality_order(*p);
        whole = relabel(*p, order, options.threads);
        p.reset();
    });
    std::vector<unsigned char> order_bytes;
    if (collective.rank() == 0) put(order_bytes, order.data(), order.size());
    collective.broadcast(order_bytes, 0);
    order.resize(static_cast<std::size_t>(n));
    Reader(order_bytes).copy(order.data(), order.size());
    Affinities own = scatter_rows(whole, n, rows, collective);
    whole = Affinities();
    y0 = treesne::detail::gather_rows(y0, order);
    aff.done();
    Session session(std::move(own), std::move(y0), options, std::move(order), collective, rows);
    treesne::detail::optimise_session(std::move(session), options, callbacks, result, start);
    return result;
}

namespace {

// Rank 0's graph rows sent to their owners: k, the distances' unit, then each row's indices and distances.
NeighborGraph scatter_graph(const std::optional<NeighborGraph>& graph, const RowPartition& rows,
                            Collective& collective) {
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(collective.size()));
    if (collective.rank() == 0) {
        for (int r = 0; r < collective.size(); ++r) {
            auto& bytes = out[static_cast<std::size_t>(r)];
            put(bytes, graph->k);
            put(bytes, graph->scale_exponent);
            const auto from = static_cast<std::size_t>(rows.begin(r) * graph->k);
            const auto count = static_cast<std::size_t>(rows.rows(r) * graph->k);
            put(bytes, graph->indices.data() + from, count);
            put(bytes, graph->distances.data() + from, count);
        }
    }
    const std::vector<unsigned char> in = collective.exchange(out);
    Reader read(in);
    NeighborGraph own;
    own.n = rows.rows(collective.rank());
    own.k = read.get<index_t>();
    own.scale_exponent = read.get<int>();
    own.indices.resize(static_cast<std::size_t>(own.n * own.k));
    own.distances.resize(own.indices.size());
    read.copy(own.indices.data(), own.indices.size());
    read.copy(own.distances.data(), own.distances.size());
    return own;
}

}  // namespace

namespace {

// What embedding a given graph refuses, before anything is read (the same on every rank).
void check_graph_options(const Options& options) {
    const std::string refused = unsupported(options);
    require(refused.empty(), refused);
    require(options.init != InitKind::pca, "pca initialisation needs the input's coordinates; across processes a "
            "given neighbour graph starts from random or user initialisation");
}

}  // namespace

Result embed_neighbors_from_root(std::optional<NeighborGraph> graph, index_t n, const Options& options,
                                 const Callbacks& callbacks, Collective& collective) {
    check_graph_options(options);
    agreed(collective, [&] {
        if (collective.rank() != 0) return;
        validate_neighbor_graph(*graph, options.threads);
        require(graph->distances.size() == graph->indices.size(), "neighbour graph: ", graph->indices.size(),
                " indices but ", graph->distances.size(), " distances (the calibration needs one per neighbour)");
    });
    const RowPartition rows = RowPartition::even(n, collective.size(), pca_block_rows);
    NeighborGraph own = scatter_graph(graph, rows, collective);
    graph.reset();
    return embed_neighbor_rows(std::move(own), rows, options, callbacks, collective);
}

Result embed_neighbor_rows(NeighborGraph own, const RowPartition& rows, const Options& options,
                           const Callbacks& callbacks, Collective& collective) {
    const auto start = std::chrono::steady_clock::now();
    check_graph_options(options);
    const index_t n = rows.first.back();
    Result result;
    result.backend = options.neighbors.backend;
    Matrix y0 = callbacks.resume_from ? callbacks.resume_from->y
                                      : initial_embedding(ConstMatrixView{nullptr, n, 0}, options);
    return embed_graph_rows(std::move(own), std::move(y0), rows, options, callbacks, collective, std::move(result),
                            start);
}

}  // namespace treesne::dist
