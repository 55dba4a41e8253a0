// libFuzzer target: Matrix Market affinities. A successful read must satisfy the SparseMatrix invariants
// and round-trip through write_affinities bit for bit.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const treesne_fuzz::Scratch input(".mtx");
    static const treesne_fuzz::Scratch rewrite(".mtx");
    treesne_fuzz::allow_treesne_errors([&] {
        const treesne::SparseMatrix p = treesne::io::read_affinities(input.put(data, size));
        treesne_fuzz::check_sparse(p);
        treesne::io::write_affinities(rewrite.path(), p);
        const treesne::SparseMatrix q = treesne::io::read_affinities(rewrite.path());
        treesne_fuzz::check(q.n == p.n && q.offsets == p.offsets && q.columns == p.columns);
        treesne_fuzz::check(q.values.size() == p.values.size());
        treesne_fuzz::check(p.values.empty() || std::memcmp(q.values.data(), p.values.data(),
                                                            p.values.size() * sizeof(float)) == 0);
    });
    return 0;
}
