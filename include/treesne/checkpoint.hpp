// Checkpoints: the optimiser state (Y, gains, velocity, iteration) in a small binary file, so that an
// interrupted or extended run continues bit-identically: running to 1000 equals running to 300, saving,
// loading and running on to 1000. Part of treesne::io (the file is written through io::AtomicFile).
//
// File layout (version 2, little-endian; every count 64-bit; version 1, still read, lacks offsets 48-63):
//   offset  size   field
//   0       8      magic "TSNECKPT"
//   8       4      u32 version (2)
//   12      4      u32 0x01020304, to refuse a file from a machine of the other byte order
//   16      8      i64 N
//   24      8      i64 dims (1, 2 or 3)
//   32      8      i64 iteration (iterations done)
//   40      8      u64 fingerprint of the input data (0 = not recorded)
//   48      8      f64 theta of the auto controller (OptimizerState::theta; NaN = none)
//   56      8      f64 KL of the last early-stopping check (OptimizerState::stop_kl; NaN = none)
//   64      4      u32 S, the number of settings, then S times: u16 name length, name, f64 value
//   ...     3 N dims 8   Y, gains, velocity: row-major doubles
//   end-8   8      u64 checksum of every byte before it
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "treesne/options.hpp"
#include "treesne/session.hpp"
#include "treesne/types.hpp"

namespace treesne {

/// What a checkpoint records besides the state, to refuse a resume that could not continue the same run.
struct CheckpointInfo {
    /// data_fingerprint() of the input the run embeds; 0 = not recorded (then not checked).
    std::uint64_t data_fingerprint = 0;
    /// trajectory_settings() of the run: name and value of every option that shapes the trajectory.
    std::vector<std::pair<std::string, double>> settings;
};

/// A 64-bit hash of N, D and every value of x (bit patterns, in order): equal inputs, equal hashes.
std::uint64_t data_fingerprint(ConstMatrixView x);
/// The same of raw bytes after a previous fingerprint (0 to start): chains the parts of a precomputed
/// input (P's offsets, columns and values; a graph's indices and distances) into one fingerprint.
std::uint64_t data_fingerprint(std::uint64_t previous, const void* bytes, std::size_t size);

/// The options that decide the optimisation from a given state on, as (name, value): dims, method,
/// perplexity and its search, PCA, theta, exaggeration and its length, the resolved learning rate,
/// momentum, gains and step clipping. Not the iteration budget, threads, seed, init or reporting, which
/// a resumed run may change without changing its result.
std::vector<std::pair<std::string, double>> trajectory_settings(const Options& options, index_t n);

/// Throws InvalidArgument, naming the file and the first difference, unless `now` (this run) matches
/// `saved` (the checkpoint's): the same data fingerprint (when both are recorded) and settings.
void check_resumable(const CheckpointInfo& saved, const CheckpointInfo& now, const std::string& path);

/// Writes state and info to path atomically (a temporary file renamed over path when complete), so a
/// crash while saving leaves the previous checkpoint intact. Throws IoError on failure.
void save_checkpoint(const std::string& path, const OptimizerState& state, const CheckpointInfo& info = {});

/// Reads a checkpoint written by save_checkpoint. Throws IoError naming the file for anything else: not
/// a checkpoint, another version or byte order, truncated, a failed checksum, shapes or values out of
/// range (dims not 1..3, non-finite numbers, gains <= 0).
OptimizerState load_checkpoint(const std::string& path, CheckpointInfo* info = nullptr);

}  // namespace treesne
