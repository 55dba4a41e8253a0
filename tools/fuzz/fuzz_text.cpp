// libFuzzer target: delimited text (CSV, TSV, whitespace), through read_matrix and read_labels. A successful
// read must round-trip through write_matrix (.npy).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const treesne_fuzz::Scratch input(".csv");
    static const treesne_fuzz::Scratch rewrite(".npy");
    treesne_fuzz::read_matrix_and_labels(input.put(data, size), &rewrite);
    return 0;
}
