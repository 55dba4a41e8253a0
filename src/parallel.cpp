// The only user of OpenMP in treesne.
#include "treesne/parallel.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <vector>

namespace treesne {

int resolve_threads(int requested) {
    if (requested > 0) return requested;
    return std::max(1, omp_get_max_threads());
}

void parallel_for(index_t n, int threads, const std::function<void(index_t, index_t)>& fn, index_t grain) {
    if (n <= 0) return;
    const int t = resolve_threads(threads);
    if (grain <= 0) grain = std::max<index_t>(1, n / (8 * static_cast<index_t>(t)));
    const index_t chunks = (n + grain - 1) / grain;
    if (t == 1 || chunks == 1) {
        fn(0, n);
        return;
    }
    std::exception_ptr error;
    std::mutex error_mutex;
#pragma omp parallel for schedule(dynamic, 1) num_threads(t)
    for (index_t c = 0; c < chunks; ++c) {
        {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (error) continue;
        }
        try {
            const index_t begin = c * grain;
            fn(begin, std::min(n, begin + grain));
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

void parallel_for_fixed(index_t n, int threads, const std::function<void(index_t, index_t)>& fn) {
    if (n <= 0) return;
    const int t = static_cast<int>(std::min<index_t>(resolve_threads(threads), n));
    if (t == 1) {
        fn(0, n);
        return;
    }
    std::exception_ptr error;
    std::mutex error_mutex;
#pragma omp parallel for schedule(static, 1) num_threads(t)
    for (int part = 0; part < t; ++part) {
        try {
            fn(n * part / t, n * (part + 1) / t);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

void parallel_beside(const std::function<void()>& first, index_t n, int threads,
                     const std::function<void(index_t, index_t)>& fn, index_t grain) {
    const int t = resolve_threads(threads);
    if (t == 1 || n <= 0) {
        first();
        if (n > 0) fn(0, n);
        return;
    }
    if (grain <= 0) grain = std::max<index_t>(1, n / (8 * static_cast<index_t>(t)));
    const index_t chunks = (n + grain - 1) / grain;
    std::atomic<index_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex error_mutex;
    const auto record = [&] {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
    };
#pragma omp parallel num_threads(t)
    {
        if (omp_get_thread_num() == 0) {
            try {
                first();
            } catch (...) {
                record();
            }
        }
        for (index_t c = next.fetch_add(1, std::memory_order_relaxed);
             c < chunks && !failed.load(std::memory_order_relaxed);
             c = next.fetch_add(1, std::memory_order_relaxed)) {
            try {
                const index_t begin = c * grain;
                fn(begin, std::min(n, begin + grain));
            } catch (...) {
                record();
            }
        }
    }
    if (error) std::rethrow_exception(error);
}

double parallel_sum(index_t n, int threads, const std::function<double(index_t, index_t)>& block_sum) {
    // A fixed block size (not a function of the thread count) makes the association order fixed.
    constexpr index_t block = 4096;
    const index_t blocks = (n + block - 1) / block;
    std::vector<double> partial(static_cast<std::size_t>(std::max<index_t>(blocks, 0)), 0.0);
    parallel_for(
        blocks, threads,
        [&](index_t b0, index_t b1) {
            for (index_t b = b0; b < b1; ++b)
                partial[static_cast<std::size_t>(b)] = block_sum(b * block, std::min(n, (b + 1) * block));
        },
        1);
    double total = 0.0;
    for (double v : partial) total += v;
    return total;
}

}  // namespace treesne
