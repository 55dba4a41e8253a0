// The `treesne` program: everything lives in cli.cpp and the run*.cpp files so the tests can reach it.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cli.hpp"

namespace {

// How idle OpenMP workers wait between the ~15 parallel regions of an iteration. libgomp reads this
// once, before main(), so when the user has chosen nothing (OMP_WAIT_POLICY, GOMP_SPINCOUNT) we set it
// and start the program again (if that fails we simply go on with libgomp's default).
// - On a busy machine, sleeping at once (passive): a spinning worker steals the core its partner needs.
//   Measured on this project's 2-core machine under a load of ~5: 10,000 points took 37-40 ms per
//   iteration with libgomp's long default spin and 15-17 ms with sleeping workers; 5,000 points beside
//   three busy processes: 3.9 s even with a short spin against 3.3 s passive (and 33 % more CPU).
// - On an idle machine, a short spin (3,000 rounds) before sleeping: waking a sleeping worker costs tens
//   of microseconds per region, which the spin saves. Fashion-MNIST 20,000, 2 threads, idle machine:
//   8.5 % less wall time and 2.5 % less CPU than passive (medians of 5 pairs).
// "Busy": other processes kept half a core or more busy during 50 ms at start (/proc/stat; the load
// average is no guide: this project's machine idles at a load of 1.0).
bool machine_busy() {
    auto sample = [](double& busy, double& total) {
        std::FILE* f = std::fopen("/proc/stat", "r");
        if (!f) return false;
        unsigned long long v[8] = {};
        const int got = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                                    &v[3], &v[4], &v[5], &v[6], &v[7]);
        std::fclose(f);
        if (got < 5) return false;
        total = 0;
        for (const unsigned long long x : v) total += static_cast<double>(x);
        busy = total - static_cast<double>(v[3]) - static_cast<double>(v[4]);  // less idle and iowait
        return true;
    };
    double busy0 = 0, total0 = 0, busy1 = 0, total1 = 0;
    if (!sample(busy0, total0)) return true;
    ::usleep(50000);
    if (!sample(busy1, total1) || !(total1 > total0)) return true;
    const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
    return (busy1 - busy0) / (total1 - total0) * static_cast<double>(cores) >= 0.5;
}

void choose_wait_policy(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
    const int failed =
        machine_busy() ? ::setenv("OMP_WAIT_POLICY", "passive", 1) : ::setenv("GOMP_SPINCOUNT", "3000", 1);
    if (failed != 0) return;
    ::execv("/proc/self/exe", argv);
}

}  // namespace

int main(int argc, char** argv) {
    choose_wait_policy(argv);
    return treesne::cli::main_entry(argc, argv);
}
