// The distributed embed(): reading, scaling, PCA, the exact neighbour search round the ring, P, the
// initial embedding and the optimisation, each stage over this rank's rows (distributed.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

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

// The k best candidates of this rank's rows so far, in half the bytes of BlockCandidates (12 a candidate,
// not 24: the tie key is recomputed from the two indices when a chunk is expanded for a search).
struct Candidates {
    index_t first = 0, rows = 0, k = 0;
    std::vector<index_t> count;
    std::vector<double> distance;  // rank distances, each row sorted by (distance, tie)
    std::vector<point_t> index;
};

detail::BlockCandidates expand(const Candidates& c, index_t q0, index_t rows) {
    detail::BlockCandidates out = detail::allocate_candidates(c.first + q0, rows, c.k);
    for (index_t i = 0; i < rows; ++i) {
        const auto s = static_cast<std::size_t>(q0 + i);
        out.count[static_cast<std::size_t>(i)] = c.count[s];
        for (index_t j = 0; j < c.count[s]; ++j) {
            const auto e = s * static_cast<std::size_t>(c.k) + static_cast<std::size_t>(j);
            out.best[static_cast<std::size_t>(i * c.k + j)] =
                detail::Neighbor{c.distance[e], tie_key(c.first + q0 + i, c.index[e]), c.index[e]};
        }
    }
    return out;
}

void compress(const detail::BlockCandidates& chunk, index_t q0, Candidates& c) {
    for (index_t i = 0; i < chunk.rows; ++i) {
        const auto s = static_cast<std::size_t>(q0 + i);
        c.count[s] = chunk.count[static_cast<std::size_t>(i)];
        for (index_t j = 0; j < c.count[s]; ++j) {
            const auto e = s * static_cast<std::size_t>(c.k) + static_cast<std::size_t>(j);
            const detail::Neighbor& n = chunk.best[static_cast<std::size_t>(i * c.k + j)];
            c.distance[e] = n.distance;
            c.index[e] = n.index;
        }
    }
}

// Query rows per search of another rank's block (the candidates of a chunk are expanded to 24 bytes).
constexpr index_t ring_chunk = 8192;

// Merges into `best` the candidates of one reference block, in chunks of query rows: only a chunk is
// ever expanded to BlockCandidates, searched (given what it holds, so that most references are cut by
// the float prefilter) and merged. fresh: `best` holds nothing yet (the first block).
void merge_block(Candidates& best, ConstMatrixView own, ConstMatrixView reference, index_t at, Metric metric,
                 int threads, index_t chunk, bool fresh) {
    for (index_t q0 = 0; q0 < own.rows; q0 += chunk) {
        const index_t rows = std::min(chunk, own.rows - q0);
        const ConstMatrixView queries{own.row(q0), rows, own.cols};
        if (fresh) {  // nothing held yet: the block's candidates are the row's
            compress(detail::knn_block_candidates(queries, best.first + q0, reference, at, best.k, metric, threads),
                     q0, best);
            continue;
        }
        detail::BlockCandidates known = expand(best, q0, rows);
        detail::merge_candidates(known, detail::knn_block_candidates(queries, best.first + q0, reference, at, best.k,
                                                                     metric, threads, &known));
        compress(known, q0, best);
    }
}

// The graph of the candidates (each row holds k: every rank's block has been seen).
NeighborGraph graph_of(const Candidates& c, Metric metric) {
    NeighborGraph graph = detail::allocate_graph(c.rows, c.k);
    for (std::size_t e = 0; e < c.index.size(); ++e) {
        graph.indices[e] = c.index[e];
        graph.distances[e] = detail::reported_distance(metric, c.distance[e]);
    }
    return graph;
}

// This rank's rows serialised for the ring: the global index of the first, the shape, the values.
std::vector<unsigned char> block_bytes(ConstMatrixView rows, index_t first) {
    std::vector<unsigned char> bytes;
    put(bytes, first);
    put(bytes, rows.rows);
    put(bytes, rows.cols);
    put(bytes, rows.data, static_cast<std::size_t>(rows.rows * rows.cols));
    return bytes;
}

// The exact k nearest neighbours of this rank's rows among every rank's: the other ranks' blocks are
// passed round the ring (each rank sends to the one before and receives from the one after), so each
// rank holds two blocks at a time; the k best of the blocks' k bests are the k nearest (internal.hpp).
NeighborGraph ring_search(Collective& collective, ConstMatrixView own, index_t first, index_t k, Metric metric,
                          int threads, const std::function<void(double)>& progress) {
    const int ranks = collective.size(), rank = collective.rank();
    Candidates best{first, own.rows, k, std::vector<index_t>(static_cast<std::size_t>(own.rows), 0),
                    std::vector<double>(static_cast<std::size_t>(own.rows * k)),
                    std::vector<point_t>(static_cast<std::size_t>(own.rows * k))};
    // The own block first, in one search where its candidates take at most own_block_bytes: that is the
    // whole-data search, which visits the references nearest each query first (a chunk of queries
    // against the whole block visits them in order, and its thresholds fall later).
    constexpr double own_block_bytes = 256.0 * 1024 * 1024;
    const index_t own_chunk = static_cast<double>(own.rows) * static_cast<double>(k) * 24 <= own_block_bytes
                                  ? std::max<index_t>(own.rows, 1)
                                  : ring_chunk;
    merge_block(best, own, own, first, metric, threads, own_chunk, true);
    std::vector<unsigned char> block = block_bytes(own, first);
    for (int step = 1; step < ranks; ++step) {
        if (progress) progress(static_cast<double>(step) / ranks);
        block = collective.shift(block, (rank + ranks - 1) % ranks, (rank + 1) % ranks);
        Reader read(block);
        const auto at = read.get<index_t>();
        const auto rows = read.get<index_t>();
        const auto cols = read.get<index_t>();
        // The values follow the 24-byte header, 8-byte aligned (vector storage is aligned for any type).
        const ConstMatrixView reference{reinterpret_cast<const double*>(block.data() + 3 * sizeof(index_t)), rows, cols};
        if (rows > 0 && own.rows > 0) merge_block(best, own, reference, at, metric, threads, ring_chunk, false);
    }
    return graph_of(best, metric);
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
    Affinities own = symmetrize_rows(graph, conditional, n, rows, collective);
    graph = NeighborGraph();
    conditional = std::vector<float>();
    std::vector<point_t> order = locality_order_rows(own, rows, collective);
    // The optimisation's rows: units of parallel_sum_block (the KL's blocks), not the input's.
    RowPartition p_rows = RowPartition::even(n, collective.size(), parallel_sum_block);
    own = relabel_rows(std::move(own), order, rows, p_rows, collective);
    y0 = treesne::detail::gather_rows(y0, order);
    aff.done();
    Session session(std::move(own), std::move(y0), options, std::move(order), collective, std::move(p_rows));
    treesne::detail::optimise_session(session, options, callbacks, result, start);
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

std::uint64_t data_fingerprint(const LocalRows& data, Collective& collective) {
    StreamHasher h;
    h.word(static_cast<std::uint64_t>(data.n));
    h.word(static_cast<std::uint64_t>(data.d));
    const bool empty = data.n * data.d == 0;  // as data_fingerprint(x): no bytes at all then
    const std::vector<unsigned char> state = collective.in_rank_order([&](std::vector<unsigned char>& bytes) {
        if (!bytes.empty()) h = StreamHasher::restore(bytes);
        h.feed(data.x.data(), static_cast<std::size_t>(data.x.size()) * sizeof(double));
        if (collective.rank() == collective.size() - 1 && !empty) h.end_array();
        bytes = h.save();
    });
    h = StreamHasher::restore(state);
    const std::uint64_t v = h.value();
    return v == 0 ? 1 : v;
}

MemoryEstimate estimate_rank_memory(index_t n, index_t d, index_t rows, index_t largest, int ranks,
                                    const Options& options) {
    const double N = static_cast<double>(n), R = static_cast<double>(rows), D = static_cast<double>(d);
    const double dp = options.pca_dims > 0 && options.pca_dims < d ? options.pca_dims : D;
    const double k = static_cast<double>(neighbor_count(options.affinities, n));
    const double dims = options.dims;
    const double chunk = std::min<double>(R, 8192);
    const double own_p = affinities_bytes(N, k, false) / std::max(1, ranks);  // about this rank's share
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
                                                      {"search buffers", detail::brute_bytes(chunk + static_cast<double>(largest), dp)}}));
    stages.push_back(memory_stage("affinities", {{"kNN rows", R * k * 12},
                                                  {"conditionals", R * k * 4},
                                                  {"exchange", 2 * R * k * 12},
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
    std::vector<double> largest(static_cast<std::size_t>(collective.size()));
    largest[static_cast<std::size_t>(rank)] = largest_magnitude(data.x.view());
    std::vector<std::size_t> at(largest.size() + 1);
    for (std::size_t r = 0; r < at.size(); ++r) at[r] = r * sizeof(double);
    collective.allgather(largest.data(), at);
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
    // Cosine searches the rows scaled to unit length (a copy: the PCA start uses the rows themselves).
    Matrix unit;
    if (metric == Metric::cosine) agreed(collective, [&] { unit = detail::unit_rows(data.x.view(), threads); });
    detail::Stage knn(callbacks, "neighbours", result.timings.neighbors);
    std::function<void(double)> progress;
    if (callbacks.stage_progress) progress = [&](double f) { callbacks.stage_progress("neighbours", f); };
    NeighborGraph graph = search_rows(collective, metric == Metric::cosine ? unit.view() : data.x.view(), data.rows,
                                      result.backend, options, progress);
    unit = Matrix();
    if (metric != Metric::cosine) graph.scale_exponent = exponent;
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
    treesne::detail::optimise_session(session, options, callbacks, result, start);
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

Result embed_neighbors_from_root(std::optional<NeighborGraph> graph, index_t n, const Options& options,
                                 const Callbacks& callbacks, Collective& collective) {
    const auto start = std::chrono::steady_clock::now();
    const std::string refused = unsupported(options);
    require(refused.empty(), refused);
    require(options.init != InitKind::pca, "pca initialisation needs the input's coordinates; across processes a "
            "given neighbour graph starts from random or user initialisation");
    agreed(collective, [&] {
        if (collective.rank() != 0) return;
        validate_neighbor_graph(*graph, options.threads);
        require(graph->distances.size() == graph->indices.size(), "neighbour graph: ", graph->indices.size(),
                " indices but ", graph->distances.size(), " distances (the calibration needs one per neighbour)");
    });
    Result result;
    result.backend = options.neighbors.backend;
    const RowPartition rows = RowPartition::even(n, collective.size(), pca_block_rows);
    Matrix y0 = callbacks.resume_from ? callbacks.resume_from->y
                                      : initial_embedding(ConstMatrixView{nullptr, n, 0}, options);
    NeighborGraph own = scatter_graph(graph, rows, collective);
    graph.reset();
    return embed_graph_rows(std::move(own), std::move(y0), rows, options, callbacks, collective, std::move(result),
                            start);
}

}  // namespace treesne::dist
