// What a distributed run needs of its processes (ranks), without naming MPI: the engine's layers speak
// to this interface, and src/dist/ implements it over MPI (TREESNE_MPI builds only).
//
// Bit-identity across rank counts rests on two rules, which the methods make easy to keep:
// - every floating-point sum is added in the single-process program's order: each rank computes the
//   partial sums of fixed blocks of its own rows, and the partials are added in block order by
//   in_rank_order() (never by MPI's reductions, whose association order may change with the count);
// - rows are owned in contiguous ranges, rank 0 first (RowPartition), so "block order" is rank order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "treesne/core/types.hpp"

namespace treesne {

/// The processes of a distributed run. Every method is collective: all ranks call it, in the same
/// order, with the same arguments where they must agree.
class Collective {
  public:
    virtual ~Collective() = default;
    /// This process's number, 0 .. size() - 1.
    virtual int rank() const = 0;
    /// The number of processes.
    virtual int size() const = 0;
    /// In place: rank r contributes bytes [first[r], first[r + 1]) of buffer (first has size() + 1
    /// entries); on return every rank's buffer holds every rank's bytes.
    virtual void allgather(void* buffer, const std::vector<std::size_t>& first) = 0;
    /// Runs step on rank 0, then on rank 1 with what rank 0 left in the bytes, and so on; returns the
    /// last rank's bytes on every rank. For sums in a fixed order (fold_in_rank_order) and hashes of
    /// distributed arrays.
    virtual std::vector<unsigned char> in_rank_order(const std::function<void(std::vector<unsigned char>&)>& step) = 0;
    /// Sends to_each[r] to rank r (to_each has size() entries); returns what every rank sent to this one,
    /// in rank order, and in *from (if given) where each rank's bytes begin (size() + 1 offsets).
    std::vector<unsigned char> exchange(const std::vector<std::vector<unsigned char>>& to_each,
                                        std::vector<std::size_t>* from = nullptr) {
        std::vector<unsigned char> in;
        exchange(to_each, in, from);
        return in;
    }
    /// The same into `in`, whose storage is reused (rounds of an exchange keep one buffer: a fresh one
    /// each round pays its page faults again).
    virtual void exchange(const std::vector<std::vector<unsigned char>>& to_each, std::vector<unsigned char>& in,
                          std::vector<std::size_t>* from = nullptr) = 0;
    /// Sends `size` bytes at `data` to rank `to` and returns what rank `from` sends this one (a ring step).
    virtual std::vector<unsigned char> shift(const void* data, std::size_t size, int to, int from) = 0;
    /// The same for a byte vector.
    std::vector<unsigned char> shift(const std::vector<unsigned char>& bytes, int to, int from) {
        return shift(bytes.data(), bytes.size(), to, from);
    }
    /// Makes every rank's bytes equal to rank root's.
    virtual void broadcast(std::vector<unsigned char>& bytes, int root) = 0;
};

/// Rows [first[r], first[r + 1]) belong to rank r: contiguous ranges in rank order, each (but the last)
/// a multiple of `unit` rows, so that fixed blocks of that many rows (parallel_sum_block, pca_block_rows)
/// never straddle two ranks. Some ranks may own no rows when n is small.
struct RowPartition {
    std::vector<index_t> first;  ///< size() + 1 entries, first[0] = 0, first.back() = n

    /// n rows over `ranks` processes in units of `unit` rows, as evenly as units allow.
    static RowPartition even(index_t n, int ranks, index_t unit);
    int ranks() const { return static_cast<int>(first.size()) - 1; }
    index_t begin(int r) const { return first[static_cast<std::size_t>(r)]; }
    index_t end(int r) const { return first[static_cast<std::size_t>(r) + 1]; }
    index_t rows(int r) const { return end(r) - begin(r); }
    /// The rank that owns row i (0 <= i < n).
    int owner(index_t i) const;
    /// first[] times `bytes_per_row`, for Collective::allgather of row-major rows.
    std::vector<std::size_t> byte_offsets(std::size_t bytes_per_row) const;
};

/// Every rank's value (a plain type), in rank order, on every rank.
template <class T>
std::vector<T> gather_each(Collective& collective, T own) {
    std::vector<T> all(static_cast<std::size_t>(collective.size()));
    all[static_cast<std::size_t>(collective.rank())] = own;
    std::vector<std::size_t> at(all.size() + 1);
    for (std::size_t r = 0; r < at.size(); ++r) at[r] = r * sizeof(T);
    collective.allgather(all.data(), at);
    return all;
}

/// 0.0 plus every rank's partial sums, each rank's in the order given, ranks in order: the sum
/// parallel_sum() would return over the union of the blocks (bit for bit), on every rank.
double fold_in_rank_order(Collective& collective, const std::vector<double>& own_partials);

}  // namespace treesne
