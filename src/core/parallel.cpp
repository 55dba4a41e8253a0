// The only user of OpenMP in treesne.
#include "treesne/core/parallel.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <vector>

namespace treesne {

int thread_limit() {
    return std::max(1, 4 * omp_get_num_procs());
}

int resolve_threads(int requested) {
    const int wanted = requested > 0 ? requested : std::max(1, omp_get_max_threads());
    return std::min(wanted, thread_limit());
}

namespace {

// Collects the first exception thrown by any thread; `failed` lets the others skip work cheaply.
struct FirstError {
    std::exception_ptr error;
    std::mutex mutex;
    std::atomic<bool> failed{false};
    void record() {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
    }
    bool seen() const { return failed.load(std::memory_order_relaxed); }
    void rethrow() const {
        if (error) std::rethrow_exception(error);
    }
};

// Claims the next range of [0, n) from `next`: a share of what is left, 1/(2 t) of it, never less than
// grain (guided scheduling: large ranges while much is left, small ones at the end, so the threads
// finish together at a handful of claims per thread).
bool claim_range(std::atomic<index_t>& next, index_t n, int t, index_t grain, index_t& begin, index_t& end) {
    index_t b = next.load(std::memory_order_relaxed);
    while (b < n) {
        const index_t take = std::max(grain, (n - b) / (2 * static_cast<index_t>(t)));
        const index_t e = std::min(n, b + take);
        if (next.compare_exchange_weak(b, e, std::memory_order_relaxed)) {
            begin = b;
            end = e;
            return true;
        }
    }
    return false;
}

// Runs fn over ranges claimed from `next` until none is left or some call has thrown.
void run_claims(std::atomic<index_t>& next, index_t n, int t, index_t grain,
                const std::function<void(index_t, index_t)>& fn, FirstError& errors) {
    index_t begin = 0, end = 0;
    while (!errors.seen() && claim_range(next, n, t, grain, begin, end)) {
        try {
            fn(begin, end);
        } catch (...) {
            errors.record();
        }
    }
}

}  // namespace

void parallel_for(index_t n, int threads, const std::function<void(index_t, index_t)>& fn, index_t grain) {
    if (n <= 0) return;
    const int t = resolve_threads(threads);
    if (grain <= 0) grain = std::max<index_t>(1, n / (8 * static_cast<index_t>(t)));
    const index_t chunks = (n + grain - 1) / grain;
    if (t == 1 || chunks == 1) {
        fn(0, n);
        return;
    }
    // A thread without a chunk to run would only be created and joined.
    const int team = static_cast<int>(std::min<index_t>(t, chunks));
    FirstError errors;
#pragma omp parallel for schedule(dynamic, 1) num_threads(team)
    for (index_t c = 0; c < chunks; ++c) {
        if (errors.seen()) continue;
        try {
            const index_t begin = c * grain;
            fn(begin, std::min(n, begin + grain));
        } catch (...) {
            errors.record();
        }
    }
    errors.rethrow();
}

void parallel_for_guided(index_t n, int threads, const std::function<void(index_t, index_t)>& fn,
                         index_t grain) {
    if (n <= 0) return;
    const int t = static_cast<int>(std::min<index_t>(resolve_threads(threads), n));
    grain = std::max<index_t>(1, grain);
    if (t == 1 || n <= grain) {
        fn(0, n);
        return;
    }
    std::atomic<index_t> next{0};
    FirstError errors;
#pragma omp parallel num_threads(t)
    run_claims(next, n, t, grain, fn, errors);
    errors.rethrow();
}

void parallel_for_fixed(index_t n, int threads, const std::function<void(index_t, index_t)>& fn) {
    if (n <= 0) return;
    const int t = static_cast<int>(std::min<index_t>(resolve_threads(threads), n));
    if (t == 1) {
        fn(0, n);
        return;
    }
    FirstError errors;
#pragma omp parallel for schedule(static, 1) num_threads(t)
    for (int part = 0; part < t; ++part) {
        try {
            fn(n * part / t, n * (part + 1) / t);
        } catch (...) {
            errors.record();
        }
    }
    errors.rethrow();
}

void parallel_beside(const std::function<void()>& first, index_t n, int threads,
                     const std::function<void(index_t, index_t)>& fn, index_t grain) {
    // At most one thread for `first` and one per index of the loop.
    const int t = static_cast<int>(std::min<index_t>(resolve_threads(threads), std::max<index_t>(n, 0) + 1));
    if (t == 1 || n <= 0) {
        first();
        if (n > 0) fn(0, n);
        return;
    }
    grain = std::max<index_t>(1, grain);
    std::atomic<index_t> next{0};
    FirstError errors;
#pragma omp parallel num_threads(t)
    {
        if (omp_get_thread_num() == 0) {
            try {
                first();
            } catch (...) {
                errors.record();
            }
        }
        run_claims(next, n, t, grain, fn, errors);
    }
    errors.rethrow();
}

std::vector<double> parallel_block_sums(index_t n, int threads, index_t first_block, index_t last_block,
                                        const std::function<double(index_t, index_t)>& block_sum) {
    // A fixed block size (not a function of the thread count) makes the association order fixed.
    constexpr index_t block = parallel_sum_block;
    const index_t count = std::max<index_t>(last_block - first_block, 0);
    std::vector<double> partial(static_cast<std::size_t>(count), 0.0);
    parallel_for(
        count, threads,
        [&](index_t b0, index_t b1) {
            for (index_t b = b0; b < b1; ++b) {
                const index_t global = first_block + b;
                partial[static_cast<std::size_t>(b)] = block_sum(global * block, std::min(n, (global + 1) * block));
            }
        },
        1);
    return partial;
}

double parallel_sum(index_t n, int threads, const std::function<double(index_t, index_t)>& block_sum) {
    const index_t blocks = (n + parallel_sum_block - 1) / parallel_sum_block;
    double total = 0.0;
    for (double v : parallel_block_sums(n, threads, 0, blocks, block_sum)) total += v;
    return total;
}

}  // namespace treesne
