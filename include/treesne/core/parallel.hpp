// The one parallel primitive. Only parallel.cpp uses OpenMP; everything O(N) or heavier goes through here.
#pragma once

#include <functional>
#include <vector>

#include "treesne/core/types.hpp"

namespace treesne {

/// The most threads any call runs on: 4 x the processors this process may use (omp_get_num_procs), at
/// least 1. More only adds cost (RESULTS.md, section 10.7) and tens of thousands make OpenMP's thread creation fail, while the result is the same
/// for every thread count, so larger requests are lowered to this rather than refused.
int thread_limit();

/// Threads to use for a request: requested > 0 is taken as is, 0 means all available (omp_get_max_threads,
/// which honours OMP_NUM_THREADS); either is lowered to thread_limit(). Each parallel region also runs on
/// no more threads than it has pieces of work.
int resolve_threads(int requested);

/// Calls fn(begin, end) over disjoint chunks covering [0, n), on up to `threads` threads (0 = all).
/// Chunks are handed out dynamically; fn must make each index's result independent of the chunking.
/// If fn throws, chunks not yet started are skipped and one of the exceptions thrown (the first to be
/// caught, which may depend on timing when several chunks throw) is rethrown on the caller's thread.
/// grain: the smallest chunk worth a task (default: split into ~8 chunks per thread).
void parallel_for(index_t n, int threads, const std::function<void(index_t, index_t)>& fn, index_t grain = 0);

/// As parallel_for, but the ranges shrink as the work runs out: each claim takes 1/(2 t) of what is
/// left, never less than grain (at least 1). Few claims per thread and the threads finish together, for
/// loops whose cost per index varies (the repulsion's leaves, the attraction's rows).
void parallel_for_guided(index_t n, int threads, const std::function<void(index_t, index_t)>& fn,
                         index_t grain = 1);

/// Calls fn(begin, end) once per thread over equal contiguous parts of [0, n): part t on thread t. For
/// light passes over the same rows every iteration (the optimiser's step): each thread finds its rows
/// still in its own cache from its last pass, where dynamic chunks would move them between cores. Use
/// parallel_for where the cost per index varies. Exceptions as in parallel_for.
void parallel_for_fixed(index_t n, int threads, const std::function<void(index_t, index_t)>& fn);

/// Runs `first` on one thread while the other threads run fn over ranges of [0, n) claimed as
/// parallel_for_guided does (ranges of at least grain); that thread joins the loop when `first` returns. For
/// a serial task that would leave all but one thread idle if it ran alone (the tree build, beside the
/// attraction, on a few threads). `first` runs inside the parallel region: whatever it runs in parallel must
/// be given one thread. Exceptions from either are rethrown here; after one, chunks not yet started are
/// skipped.
void parallel_beside(const std::function<void()>& first, index_t n, int threads,
                     const std::function<void(index_t, index_t)>& fn, index_t grain = 1);

/// Sum of term(i) for i in [0, n), computed in parallel but added in a fixed order (blocks of a fixed
/// size, then the block sums in index order), so the result is the same bit for bit for any thread count.
double parallel_sum(index_t n, int threads,
                    const std::function<double(index_t begin, index_t end)>& block_sum);

/// The rows of one block of parallel_sum: its sums add blocks of this many terms, each in index order.
inline constexpr index_t parallel_sum_block = 4096;

/// The block sums of parallel_sum for the blocks [first_block, last_block) of [0, n), in block order:
/// parallel_sum(n, ...) is 0.0 plus every block's sum, in order. A distributed run computes the blocks
/// of its own rows and adds everyone's in order (the same total, bit for bit, for any number of ranks).
std::vector<double> parallel_block_sums(index_t n, int threads, index_t first_block, index_t last_block,
                                        const std::function<double(index_t begin, index_t end)>& block_sum);

}  // namespace treesne
