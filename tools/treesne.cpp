// The `treesne` program: everything lives in cli.cpp and run.cpp so the tests can reach it.
#include "cli.hpp"

int main(int argc, char** argv) {
    return treesne::cli::main_entry(argc, argv);
}
