// libFuzzer target: .npy arrays. A successful read must round-trip through write_matrix (.csv).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const treesne_fuzz::Scratch input(".npy");
    static const treesne_fuzz::Scratch rewrite(".csv");
    treesne_fuzz::read_matrix_and_labels(input.put(data, size), &rewrite);
    return 0;
}
