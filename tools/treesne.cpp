// The `treesne` program: everything lives in cli.cpp and the run*.cpp files so the tests can reach it.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli.hpp"
#ifdef TREESNE_WITH_MPI
#include "run_embed.hpp"
#include "treesne/dist/mpi.hpp"
#endif

namespace {

// How idle OpenMP workers wait between the parallel regions of an iteration. libgomp reads this once,
// before main(), so when the user has chosen nothing (OMP_WAIT_POLICY, GOMP_SPINCOUNT) we set it.
// - On a busy machine, sleeping at once (passive): a spinning worker steals the core its partner needs.
//   Measured on this project's 2-core machine under a load of ~5: 10,000 points took 37-40 ms per
//   iteration with libgomp's long default spin and 15-17 ms with sleeping workers; 5,000 points beside
//   three busy processes: 3.9 s even with a short spin against 3.3 s passive (and 33 % more CPU).
// - On an idle machine, a short spin (3,000 rounds) before sleeping: waking a sleeping worker costs tens
//   of microseconds per region, which the spin saves. Fashion-MNIST 20,000, 2 threads, idle machine:
//   8.5 % less wall time and 2.5 % less CPU than passive (medians of 5 pairs).
// "Busy": other processes kept half a core or more busy at start, judged from the kernel's count of
// runnable tasks (procs_running in /proc/stat, ourselves included), read 10 times 1 ms apart: 10 ms in
// all. (The load average is no guide: this project's machine idles at a load of 1.0. The CPU time in
// /proc/stat counts in 10 ms ticks, so it took a 50 ms sample, 5 % of a 5,000-point run.)
bool machine_busy() {
    constexpr int samples = 10;
    int others = 0;
    for (int i = 0; i < samples; ++i) {
        if (i > 0) ::usleep(1000);
        std::FILE* f = std::fopen("/proc/stat", "r");
        if (!f) return true;
        char line[256];
        long running = -1;
        while (running < 0 && std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "procs_running %ld", &running) != 1) running = -1;
        std::fclose(f);
        if (running < 1) return true;
        others += static_cast<int>(running - 1);
    }
    return others * 2 >= samples;  // half a task runnable, on average
}

// Whether the environment already says how idle OpenMP workers wait; if not, sets it (see above).
bool choose_wait_policy() {
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return false;
    return (machine_busy() ? ::setenv("OMP_WAIT_POLICY", "passive", 1)
                           : ::setenv("GOMP_SPINCOUNT", "3000", 1)) == 0;
}

// malloc's settings, unless the user gave them (GLIBC_TUNABLES; glibc >= 2.35 reads them at start, older
// ones ignore them):
// - Transparent huge pages for its large blocks (ignored where the kernel's THP is off). The run's big
//   arrays (the kNN graph, P, the conditionals) are written once after they are allocated, and on a
//   virtual machine each 4 KiB page's first touch is expensive: on this project's 2-core VM a fresh
//   21 MB array took 60 ms to zero with 4 KiB pages and 4 ms with 2 MiB ones, and Fashion-MNIST 20,000
//   spent 0.16 s of system time in such faults against 0.06 s with huge pages, most of it serial.
// - A fixed mmap threshold of 1 MiB: blocks from 1 MiB up are mapped and given back when freed. glibc's
//   default threshold rises after each large free, after which large blocks come from the heap and
//   their memory can stay resident: Fashion-MNIST 70,000 peaked at 157 MB with it, 137 MB without.
bool choose_malloc() {
    const char* current = std::getenv("GLIBC_TUNABLES");
    const std::string wanted = treesne::cli::with_malloc_tunables(current);
    return (!current || wanted != current) && ::setenv("GLIBC_TUNABLES", wanted.c_str(), 1) == 0;
}

// Both are read before main() (by libgomp and glibc), so when either was set here the program starts
// again with them (if that fails it simply goes on as it is). The second start finds both set.
void choose_environment(char** argv) {
    const bool waiting = choose_wait_policy();
    const bool memory = choose_malloc();
    if (waiting || memory) ::execv("/proc/self/exe", argv);
}

// Whether this command line runs a computation (embed, transform, evaluate, accuracy) that the wait
// policy and malloc's settings pay for. Help, --version and command lines that do not parse start no
// sampling and no second process: they answer at once (main_entry parses again and reports).
bool computes(int argc, const char* const* argv) {
    try {
        const treesne::cli::CliConfig config = treesne::cli::parse_cli(argc, argv);
        return config.command != treesne::cli::Command::help && config.command != treesne::cli::Command::version;
    } catch (...) {
        return false;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (computes(argc, argv)) choose_environment(argv);
#ifdef TREESNE_WITH_MPI
    // Under mpirun (or srun): MPI for the whole process; a job of one process runs as a plain start does.
    if (treesne::dist::launched_by_mpi()) {
        treesne::dist::MpiSession mpi(&argc, &argv);
        if (mpi.world().size() > 1) return treesne::cli::main_entry_distributed(argc, argv, mpi.world());
        return treesne::cli::main_entry(argc, argv);
    }
#endif
    return treesne::cli::main_entry(argc, argv);
}
