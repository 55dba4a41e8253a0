// `mpirun -np R treesne embed ...`: run_embed's steps across the processes of an MPI job. Rank 0 reads
// what is small or cannot be split (labels, a given P, text input, a Matrix Market graph), prints and
// writes; every rank holds its rows of X (or of a given graph) and P (dist/distributed.hpp). The embedding is the single process's, bit for bit.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <optional>

#include "run_embed.hpp"
#include "treesne/dist/distributed.hpp"
#include "treesne/dist/mpi.hpp"

namespace treesne::cli {
namespace {

// The one-line refusal of a command line the distributed run does not take, or "".
std::string refusal(const EmbedConfig& e, const Options& options) {
    if (e.inputs.size() > 1) return "across processes embed takes one INPUT (stack the files first)";
    if (e.input_distances) return "--input-kind distances runs on one process (an N x N matrix does not split)";
    if (!e.inputs.empty() && (e.input_sparse || io::is_sparse_input(e.inputs.front())))
        return "sparse input runs on one process for now (its rows are not split across ranks)";
    if (!e.neighbors_path.empty() && !e.inputs.empty())
        return "across processes --neighbors takes no INPUT (the start is random or --init)";
    if (!e.affinities_path.empty()) return "--save-affinities runs on one process (P is spread over the ranks)";
    if (e.inputs.empty() && e.precomputed_affinities.empty() && e.neighbors_path.empty())
        return "give an INPUT, --neighbors or --affinities";
    return dist::unsupported(options);
}

// The same value on every rank: rank 0's.
template <class T>
T from_rank0(Collective& world, T v) {
    std::vector<unsigned char> bytes(sizeof v);
    std::memcpy(bytes.data(), &v, sizeof v);
    world.broadcast(bytes, 0);
    std::memcpy(&v, bytes.data(), sizeof v);
    return v;
}

}  // namespace

namespace {

// What the ranks read: rank 0 the labels and a given P, every rank its rows of the coordinates and n;
// a given graph, each rank its rows (graph_rows) where the files can be read by rows, else rank 0.
struct DistributedInputs {
    EmbedInputs in;
    dist::LocalRows rows;
    bool coordinates = false;
    index_t d = 0;
    std::optional<NeighborGraph> graph_rows;
    RowPartition graph_partition;
};

// The shape of --neighbors and --neighbor-distances where both can be read by rows and agree (rank 0
// reads the headers), else nullopt: rank 0 then reads the graph whole, and any error in it comes in
// the single process's order.
std::optional<io::MatrixShape> neighbor_list_shape(const EmbedConfig& e, Collective& world) {
    std::vector<unsigned char> bytes(2 * sizeof(index_t), 0);
    if (world.rank() == 0 && !e.neighbor_distances_path.empty()) {
        try {
            const auto a = io::read_matrix_shape(e.neighbors_path);
            const auto b = io::read_matrix_shape(e.neighbor_distances_path);
            if (a && b && a->rows == b->rows && a->cols == b->cols) {
                std::memcpy(bytes.data(), &a->rows, sizeof(index_t));
                std::memcpy(bytes.data() + sizeof(index_t), &a->cols, sizeof(index_t));
            }
        } catch (const std::exception&) {  // reported when rank 0 reads the files whole
        }
    }
    world.broadcast(bytes, 0);
    io::MatrixShape shape;
    std::memcpy(&shape.rows, bytes.data(), sizeof(index_t));
    std::memcpy(&shape.cols, bytes.data() + sizeof(index_t), sizeof(index_t));
    if (shape.rows == 0) return std::nullopt;
    return shape;
}

// This rank's rows of the graph of --neighbors and --neighbor-distances, checked as read_neighbors()
// checks the whole (the same messages, in the same order: the indices' file, the distances' file, a
// negative distance, then the lists).
NeighborGraph read_neighbor_rows(const EmbedConfig& e, const io::MatrixShape& shape, const RowPartition& rows,
                                 Collective& world) {
    const index_t first = rows.begin(world.rank()), count = rows.rows(world.rank());
    Matrix indices, distances;
    dist::agreed(world, [&] {
        indices = reading("--neighbors", [&] { return io::read_matrix_rows(e.neighbors_path, first, count); });
    });
    dist::agreed(world, [&] {
        distances = reading("--neighbor-distances",
                            [&] { return io::read_matrix_rows(e.neighbor_distances_path, first, count); });
    });
    dist::agreed(world, [&] { check_neighbor_distances(distances, first, e.neighbor_distances_path); });
    return dist::neighbor_rows_from_lists(rows, shape.cols, indices, distances,
                                          concat("--neighbors ", e.neighbors_path, ": "), world);
}

DistributedInputs read_distributed(const EmbedConfig& e, Options& options, Progress& progress, Collective& world) {
    const bool root = world.rank() == 0;
    DistributedInputs out;
    out.coordinates = !e.inputs.empty();
    Stopwatch read_time;
    progress.start("read");
    if (out.coordinates) {
        out.rows = dist::read_rows(world, e.inputs.front(), io::ReadLimits{});
        out.in.n = out.rows.n;
        progress.done("read", read_time.seconds(),
                      concat(out.rows.n, " x ", out.rows.d, " (", world.size(), " parts)"));
    } else if (const auto shape = e.neighbors_path.empty() ? std::nullopt : neighbor_list_shape(e, world)) {
        out.graph_partition = RowPartition::even(shape->rows, world.size(), pca_block_rows);
        out.graph_rows = read_neighbor_rows(e, *shape, out.graph_partition, world);
        out.in.n = shape->rows;
        options.affinities.k = out.graph_rows->k;  // all there are (the same on every rank)
        progress.done("read", read_time.seconds(),
                      concat("neighbours ", out.in.n, " x ", options.affinities.k, " (", world.size(), " parts)"));
    } else if (!e.neighbors_path.empty()) {
        dist::agreed(world, [&] {
            if (root) out.in.graph = read_neighbors(e);
        });
        out.in.n = from_rank0(world, root ? out.in.graph->n : 0);
        options.affinities.k = from_rank0(world, root ? out.in.graph->k : 0);  // all there are
        progress.done("read", read_time.seconds(), concat("neighbours ", out.in.n, " x ", options.affinities.k));
    } else {
        dist::agreed(world, [&] {
            if (root) out.in.p = read_given_affinities(e, options.threads, progress);
        });
        out.in.n = from_rank0(world, root ? out.in.p->n : 0);
    }
    const index_t n = out.in.n;
    out.d = out.coordinates ? out.rows.d : std::max(options.dims, 1);
    dist::agreed(world, [&] {
        if (!e.label_paths.empty() && root) out.in.labels = read_labels_checked(e.label_paths, n);
        if (!e.init_path.empty()) read_init(e, options, n);
        if (root) check_embed_run(e, options, out.in, out.coordinates, out.d, progress, false);
        if (root && out.coordinates && progress.verbose()) {
            index_t largest = 0;
            for (int r = 0; r < world.size(); ++r) largest = std::max(largest, out.rows.rows.rows(r));
            progress.line(concat("memory per rank: about ",
                                 dist::estimate_rank_memory(n, out.d, out.rows.rows.rows(0), largest, world.size(), options)
                                     .describe()));
        }
        if (e.precomputed_affinities.empty()) {
            validate(options, n, out.d);
        } else {
            validate_given_affinities(options, n, out.d, e.precomputed_affinities);
        }
    });
    return out;
}

// checkpoint_info reads the inputs' kind (coordinates or a given P) and their fingerprint, which comes
// from the spread rows (or rank 0's P) instead.
CheckpointInfo distributed_checkpoint_info(const EmbedConfig& e, const DistributedInputs& inputs,
                                           const Options& options, Collective& world) {
    CheckpointInfo run_info;
    if (e.checkpoint_path.empty() && e.resume_path.empty()) return run_info;
    EmbedInputs kind;
    kind.n = inputs.in.n;
    if (inputs.coordinates) {
        kind.x = Matrix(kind.n, 1);
    } else if (!e.neighbors_path.empty()) {
        kind.graph = NeighborGraph{};
    } else {
        kind.p = Affinities{};
    }
    run_info = checkpoint_info(e, kind, options, inputs.d);
    run_info.data_fingerprint =
        inputs.coordinates  ? dist::data_fingerprint(inputs.rows, world)
        : inputs.graph_rows ? dist::graph_fingerprint(*inputs.graph_rows, world)
                            : from_rank0<std::uint64_t>(world, world.rank() == 0 ? input_fingerprint(inputs.in) : 0);
    return run_info;
}

}  // namespace

int run_embed_distributed(const CliConfig& config, Collective& world) {
    const EmbedConfig& e = config.embed;
    const bool root = world.rank() == 0;
    Options options = e.options;
    Progress progress(root ? config.verbosity : Verbosity::quiet, root && ::isatty(STDERR_FILENO) == 1);
    dist::agreed(world, [&] {
        check_distinct_files(embed_files(e));
        const std::string refused = refusal(e, options);
        require(refused.empty(), refused);
    });
    if (root) {
        progress.line(concat("distributed: ", world.size(), " processes, ", resolve_threads(options.threads),
                             " thread(s) each"));
        note_thread_limit(progress, options.threads);
    }
    DistributedInputs inputs = read_distributed(e, options, progress, world);
    const index_t n = inputs.in.n;
    const CheckpointInfo run_info = distributed_checkpoint_info(e, inputs, options, world);
    OptimizerState resume_state;
    dist::agreed(world, [&] {
        if (!e.resume_path.empty()) resume_state = load_resume_state(e, options, run_info, n, progress);
    });
    const index_t configured_every = options.report_every;
    if (progress.terminal() && !e.log_every_given && options.report_every > 10) options.report_every = 10;
    const ReportCadence cadence = plan_reports(e, options.optimizer, configured_every, options.report_every);
    options.report_every = from_rank0(world, cadence.report_every);  // reports are collective (the KL)

    OutputBatch outputs;
    SnapshotRecorder snapshots(e, outputs);
    LastReport last;
    Callbacks callbacks;
    if (root) callbacks = embed_callbacks(e, options, n, inputs.d, progress, cadence, snapshots, last);
    callbacks.cancel = nullptr;  // a signal reaches the ranks at different iterations: mpirun ends the job
    if (e.memory_limit_gib)  // every rank checks its own estimate against it
        callbacks.memory_limit_bytes = *e.memory_limit_gib > 0 ? *e.memory_limit_gib * 1073741824.0
                                                               : std::numeric_limits<double>::infinity();
    if (!e.resume_path.empty()) {
        callbacks.resume_from = &resume_state;
        progress.set_first_iteration(resume_state.iteration);
    }
    if (!e.checkpoint_path.empty()) {
        callbacks.checkpoint_every = e.checkpoint_every;
        // Every rank takes part in the checkpoint (the fingerprint of P is collective); rank 0 writes it.
        callbacks.checkpoint = [&](const OptimizerState& state) {
            if (root) save_checkpoint(e.checkpoint_path, state, run_info);
        };
    }
    const Result result =
        inputs.coordinates        ? dist::embed_rows(std::move(inputs.rows), options, callbacks, world)
        : inputs.graph_rows ? dist::embed_neighbor_rows(std::move(*inputs.graph_rows), inputs.graph_partition, options,
                                                        callbacks, world)
        : !e.neighbors_path.empty() ? dist::embed_neighbors_from_root(std::move(inputs.in.graph), n, options, callbacks, world)
                                  : dist::embed_affinities_from_root(std::move(inputs.in.p), n, options, callbacks, world);
    if (!root) return 0;
    if (result.status == RunStatus::converged) report_converged(progress, options.optimizer, result.iterations);
    if (progress.verbose()) print_iteration_seconds(progress, result.timings.iteration);
    snapshots.finish(result.y, result.iterations, phase_at(options.optimizer, std::max<index_t>(result.iterations - 1, 0)));
    return write_outputs(e, result, inputs.in.labels.codes.empty() ? nullptr : &inputs.in.labels, progress, options,
                         snapshots, cadence.trace_every, outputs);
}

int main_entry_distributed(int argc, const char* const* argv, Collective& world) {
    const bool root = world.rank() == 0;
    try {
        const CliConfig config = parse_cli(argc, argv);  // the same on every rank
        switch (config.command) {
            case Command::help:
                if (root) std::cout << help_text(config.help_topic);
                return 0;
            case Command::version:
                if (root) std::cout << version_text() << '\n';
                return 0;
            case Command::embed:
                return run_embed_distributed(config, world);
            default:
                throw UsageError("only embed runs across processes; run transform, evaluate and accuracy "
                                 "without mpirun (or with -np 1)");
        }
    } catch (const dist::AgreedError& e) {  // every rank has it: one line, from rank 0
        if (root) print_error(e.what());
        return 1;
    } catch (const UsageError& e) {  // the command line: the same on every rank
        if (root) print_error(e.what());
        return 2;
    } catch (const std::exception& e) {  // this rank alone: the others would wait for it forever
        print_error(concat("rank ", world.rank(), " of ", world.size(), ": ", e.what()));
        dist::MpiSession::abort(1);
    }
}

}  // namespace treesne::cli
