// Checkpoints: the optimiser state (Y, gains, velocity, iteration) in a small binary file, so that an
// interrupted or extended run continues bit-identically: running to 1000 equals running to 300, saving,
// loading and running on to 1000. Part of treesne::io (the file is written through io::AtomicFile).
//
// File layout (version 3, little-endian; every count 64-bit):
//   offset  size   field
//   0       8      magic "TSNECKPT"
//   8       4      u32 version (3)
//   12      4      u32 0x01020304, to refuse a file from a machine of the other byte order
//   16      8      i64 N
//   24      8      i64 dims (1, 2 or 3)
//   32      8      i64 iteration (iterations done)
//   40      8      u64 fingerprint of the input data (0 = not recorded)
//   48      8      f64 theta of the auto controller (OptimizerState::theta; NaN = none)
//   56      8      f64 KL of the last early-stopping check (OptimizerState::stop_kl; NaN = none)
//   64      8      u64 fingerprint of P (OptimizerState::affinities_fingerprint; 0 = not recorded)
//   72      4      u32 S, the number of settings, then S times: u16 name length, name, f64 value
//   ...     3 N dims 8   Y, gains, velocity: row-major doubles
//   end-8   8      u64 checksum of every byte before it
//
// Older files are still read: version 2 lacks offsets 64-71, version 1 also 48-63. Their settings do
// not include the options that shape P (metric, affinity kind, sigma, k, the perplexities, the neighbour
// search), so check_resumable refuses them (a resume could not be checked against this run): resume
// them with the treesne that wrote them, or start again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "treesne/core/options.hpp"
#include "treesne/optimize/session.hpp"
#include "treesne/core/types.hpp"

namespace treesne {

/// The checkpoint format version save_checkpoint writes.
inline constexpr std::uint32_t checkpoint_version = 3;

/// What a checkpoint records besides the state, to refuse a resume that could not continue the same run.
struct CheckpointInfo {
    /// data_fingerprint() of the input the run embeds; 0 = not recorded (then not checked).
    std::uint64_t data_fingerprint = 0;
    /// trajectory_settings() of the run: name and value of every option that shapes P or the
    /// trajectory. A name may repeat (the perplexities of a multiscale run, in order).
    std::vector<std::pair<std::string, double>> settings;
    /// The format version of the file it was read from (load_checkpoint); checkpoint_version otherwise.
    std::uint32_t version = checkpoint_version;
};

/// A 64-bit hash of N, D and every value of x (bit patterns, in order): equal inputs, equal hashes.
std::uint64_t data_fingerprint(ConstMatrixView x);
/// The same of raw bytes after a previous fingerprint (0 to start): chains the parts of a precomputed
/// input (P's offsets, columns and values; a graph's indices and distances) into one fingerprint.
std::uint64_t data_fingerprint(std::uint64_t previous, const void* bytes, std::size_t size);

/// The options that decide the optimisation from a given state on, as (name, value), for N points of D
/// dimensions (before PCA). What shapes P: the metric, the neighbour search as resolved for N and D (and
/// the parameters of an approximate one), PCA, the affinity kind, its perplexities (one entry each) and
/// their search or its sigma, k as resolved. What shapes the steps: dims, method, theta (NaN = auto) or
/// the target error, dof, exaggeration and its length, the resolved learning rate, late exaggeration,
/// momentum, gains and step clipping. Settings that do not apply (sigma for a perplexity run, the hnsw
/// parameters for another backend) are recorded as 0, so that only the ones in use can differ. The
/// names are those of the command-line options. Not the iteration budget, threads, seed, init or
/// reporting, which a resumed run may change without changing its result.
std::vector<std::pair<std::string, double>> trajectory_settings(const Options& options, index_t n, index_t d);

/// Throws InvalidArgument unless `now` (this run) matches `saved` (the checkpoint's): the same data
/// fingerprint (when both are recorded) and the same value of every setting. The message names the
/// checkpoint as `name` (e.g. "--resume run.ckpt"), the first setting that differs with `option_prefix`
/// before it (e.g. "--"), and both values: "--resume run.ckpt was made with --metric cosine; this run
/// uses --metric euclidean". A checkpoint of a version before 3, which did not record the options that
/// shape P, is refused as such.
void check_resumable(const CheckpointInfo& saved, const CheckpointInfo& now, const std::string& name,
                     const std::string& option_prefix = "");

/// Writes state (with its affinities fingerprint) and info to path atomically (a temporary file renamed
/// over path when complete), so a crash while saving leaves the previous checkpoint intact. Throws
/// IoError on failure.
void save_checkpoint(const std::string& path, const OptimizerState& state, const CheckpointInfo& info = {});

/// Reads a checkpoint written by save_checkpoint (versions 1 to 3; info->version says which). Throws
/// IoError naming the file for anything else: not a checkpoint, another version or byte order,
/// truncated, a failed checksum, shapes or values out of range (dims not 1..3, non-finite numbers,
/// gains <= 0).
OptimizerState load_checkpoint(const std::string& path, CheckpointInfo* info = nullptr);

}  // namespace treesne
