// libFuzzer target: IDX files (MNIST's format). A successful read must round-trip through write_matrix
// (.dat).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const treesne_fuzz::Scratch input("-idx3-ubyte");
    static const treesne_fuzz::Scratch rewrite(".dat");
    treesne_fuzz::read_matrix_and_labels(input.put(data, size), &rewrite);
    return 0;
}
