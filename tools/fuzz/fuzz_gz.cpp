// libFuzzer target: gzip-compressed input. The first byte picks the name inside the .gz (and so the reader
// the inflated bytes go to); the rest is the file.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const treesne_fuzz::Scratch inputs[] = {
        treesne_fuzz::Scratch(".csv.gz"), treesne_fuzz::Scratch(".npy.gz"),
        treesne_fuzz::Scratch("-idx3-ubyte.gz"), treesne_fuzz::Scratch(".dat.gz")};
    if (size == 0) return 0;
    const treesne_fuzz::Scratch& input = inputs[data[0] % 4];
    treesne_fuzz::read_matrix_and_labels(input.put(data + 1, size - 1), nullptr);
    return 0;
}
