// The `treesne` program: everything lives in cli.cpp and run.cpp so the tests can reach it.
#include <unistd.h>

#include <cstdlib>

#include "cli.hpp"

namespace {

// OpenMP's default wait policy lets idle workers spin at every barrier. treesne passes ~10 barriers per
// iteration, and on a shared or oversubscribed machine a spinning worker steals the core its partner
// needs: measured on this project's 2-core machine under a load of ~5, 10,000 points took 37-40 ms per
// iteration with spinning workers and 15-17 ms with sleeping ones (and 9 ms either way when idle).
// libgomp reads the policy once, before main(), so when the user has not chosen one we set it and
// start the program again; if that fails we simply go on.
void prefer_passive_waiting(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
    if (::setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    ::execv("/proc/self/exe", argv);
}

}  // namespace

int main(int argc, char** argv) {
    prefer_passive_waiting(argv);
    return treesne::cli::main_entry(argc, argv);
}
