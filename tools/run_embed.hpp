// The steps of run_embed (run.cpp) that the distributed run (run_mpi.cpp) shares.
#pragma once
#include <optional>
#include <string>

#include "cli.hpp"
#include "run_common.hpp"
#include "run_snapshots.hpp"
#include "treesne/io/checkpoint.hpp"
#include "treesne/treesne.hpp"
#include "treesne/view/html.hpp"

namespace treesne::cli {

/// The latest report of the optimisation (progress lines may skip some).
struct LastReport {
    bool has = false;
    index_t iteration = 0;
    double kl = 0;
};

/// The data, labels and starting coordinates of an embed run, read and checked against each other.
struct EmbedInputs {
    Matrix x;  ///< coordinates, or the N x N distances with --input-kind distances; empty without INPUT
    std::optional<CsrMatrix> sparse;  ///< sparse coordinates (x is then empty)
    io::Labels labels;
    std::optional<Affinities> p;         ///< --affinities, prepared
    std::optional<NeighborGraph> graph;  ///< --neighbors
    index_t n = 0;                       ///< points
};

/// Every output of an embed run, named for the check that no two are the same file.
std::vector<NamedFile> embed_files(const EmbedConfig& e);
/// --neighbors (and --neighbor-distances): the graph, validated.
NeighborGraph read_neighbors(const EmbedConfig& e);

/// Throws InvalidArgument naming the first negative distance of these rows of --neighbor-distances
/// (rows numbered from first_row + 1).
void check_neighbor_distances(const Matrix& distances, index_t first_row, const std::string& path);
/// --affinities: the matrix, prepared (notes on its repairs go to progress).
Affinities read_given_affinities(const EmbedConfig& e, int threads, Progress& progress);
/// --init: the coordinates into options (checked).
void read_init(const EmbedConfig& e, Options& options, index_t n);
/// The checks before the work (see run.cpp).
/// memory_line: with --verbose, also the memory estimate of one process (a distributed run prints its
/// own per rank).
void check_embed_run(const EmbedConfig& e, const Options& options, const EmbedInputs& in, bool coordinates,
                     index_t d, Progress& progress, bool memory_line = true);
/// The fingerprint of what the run embeds: the coordinates (or distances), and P or the graph.
std::uint64_t input_fingerprint(const EmbedInputs& in);
/// What a checkpoint records of this run.
CheckpointInfo checkpoint_info(const EmbedConfig& e, const EmbedInputs& in, const Options& options, index_t d);
/// The state saved in --resume, checked against this run.
OptimizerState load_resume_state(const EmbedConfig& e, const Options& options, const CheckpointInfo& run_info,
                                 index_t n, Progress& progress);
/// Progress, snapshots, cancellation, memory limit and checkpoints of embed(), wired to the CLI's state.
Callbacks embed_callbacks(const EmbedConfig& e, const Options& options, index_t n, index_t d, Progress& progress,
                          const ReportCadence& cadence, SnapshotRecorder& snapshots, LastReport& last);
/// "optimise: converged at iteration ...".
void report_converged(Progress& progress, const OptimizerOptions& p, index_t iteration);
/// The per-stage seconds of the iterations (--verbose).
void print_iteration_seconds(Progress& progress, const IterationSeconds& s);
/// Writes the embedding and every other output of the run; --html's page with the input's thumbnails,
/// if given (a distributed run has none: its ranks hold only their own rows).
int write_outputs(const EmbedConfig& e, const Result& r, const io::Labels* labels, Progress& progress,
                  const Options& o, SnapshotRecorder& snapshots, index_t trace_every, OutputBatch& outputs,
                  const ViewThumbnails* thumbnails = nullptr);

#ifdef TREESNE_WITH_MPI
/// run_embed across the processes of an MPI job (run_mpi.cpp): the same outputs, bit for bit.
int run_embed_distributed(const CliConfig& config, Collective& world);
/// main_entry for a process of an MPI job of two or more: embed runs distributed; errors found on every
/// rank are printed once; an error of one rank alone ends the job (MPI_Abort).
int main_entry_distributed(int argc, const char* const* argv, Collective& world);
#endif

}  // namespace treesne::cli
