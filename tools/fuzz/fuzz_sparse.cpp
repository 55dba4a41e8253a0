// libFuzzer target: sparse feature matrices (io::read_sparse_matrix), built once per format by
// tools/run_fuzzers.sh with TREESNE_FUZZ_SUFFIX the file name's suffix (".npz", ".svm", ".mtx": the
// reader decides the format by it). A successful read must meet CsrMatrix's invariants and round-trip
// through write_sparse_npz bit for bit.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const treesne_fuzz::Scratch input(TREESNE_FUZZ_SUFFIX);
    static const treesne_fuzz::Scratch rewrite(".npz");
    treesne_fuzz::allow_treesne_errors([&] {
        const treesne::CsrMatrix m = treesne::io::read_sparse_matrix(input.put(data, size));
        treesne_fuzz::check(m.rows > 0 && treesne::csr_matrix_defect(m).empty());
        treesne::io::write_sparse_npz(rewrite.path(), m, size % 2 == 0);
        treesne_fuzz::check(treesne::io::read_sparse_matrix(rewrite.path()) == m);
    });
    return 0;
}
