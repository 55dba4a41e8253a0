// The Collective of MPI_COMM_WORLD. Byte counts beyond MPI's int are sent in pieces of at most 1 GiB.
#include "treesne/dist/mpi.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "treesne/core/errors.hpp"

namespace treesne::dist {
namespace {

constexpr std::size_t piece = std::size_t{1} << 30;

void check(int code, const char* what) {
    if (code != MPI_SUCCESS) throw IoError(concat("MPI: ", what, " failed (code ", code, ")"));
}

class WorldCollective final : public Collective {
  public:
    WorldCollective() {
        check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
        check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
    }
    // TREESNE_MPI_TRAFFIC=1: each rank reports the bytes it sent (benchmarks/mpi.sh measures with it).
    ~WorldCollective() override {
        if (std::getenv("TREESNE_MPI_TRAFFIC"))
            std::fprintf(stderr, "treesne: rank %d sent %llu bytes\n", rank_, static_cast<unsigned long long>(sent_));
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }

    // Each rank's range broadcast from it, in pieces: simple, and no int overflow at any size.
    void allgather(void* buffer, const std::vector<std::size_t>& first) override {
        require(first.size() == static_cast<std::size_t>(size_) + 1, "allgather: ", first.size(), " offsets for ",
                size_, " ranks");
        auto* bytes = static_cast<unsigned char*>(buffer);
        for (int r = 0; r < size_; ++r) send_range(bytes + first[static_cast<std::size_t>(r)],
                                                  first[static_cast<std::size_t>(r) + 1] - first[static_cast<std::size_t>(r)], r);
    }

    std::vector<unsigned char> in_rank_order(const std::function<void(std::vector<unsigned char>&)>& step) override {
        std::vector<unsigned char> state;
        if (rank_ > 0) state = receive(rank_ - 1, tag_order);
        step(state);
        if (rank_ + 1 < size_) send(state, rank_ + 1, tag_order);
        broadcast(state, size_ - 1);
        return state;
    }

    using Collective::exchange;
    void exchange(const std::vector<std::vector<unsigned char>>& to_each, std::vector<unsigned char>& in,
                  std::vector<std::size_t>* from) override {
        require(to_each.size() == static_cast<std::size_t>(size_), "exchange: ", to_each.size(), " buffers for ",
                size_, " ranks");
        // Sizes first (all to all), then the bytes rank by rank: from rank r + s to rank r - s ... in size_
        // rounds of paired sends and receives, which never deadlock.
        std::vector<unsigned long long> out_sizes(static_cast<std::size_t>(size_)), in_sizes(out_sizes.size());
        for (int r = 0; r < size_; ++r) out_sizes[static_cast<std::size_t>(r)] = to_each[static_cast<std::size_t>(r)].size();
        check(MPI_Alltoall(out_sizes.data(), 1, MPI_UNSIGNED_LONG_LONG, in_sizes.data(), 1, MPI_UNSIGNED_LONG_LONG,
                           MPI_COMM_WORLD),
              "MPI_Alltoall");
        std::vector<std::size_t> at(static_cast<std::size_t>(size_) + 1, 0);
        for (int r = 0; r < size_; ++r) at[static_cast<std::size_t>(r) + 1] = at[static_cast<std::size_t>(r)] + in_sizes[static_cast<std::size_t>(r)];
        in.resize(at.back());
        for (int s = 0; s < size_; ++s) {
            const int to = (rank_ + s) % size_, source = (rank_ - s + size_) % size_;
            const auto& out = to_each[static_cast<std::size_t>(to)];
            paired(out.data(), out.size(), to, in.data() + at[static_cast<std::size_t>(source)],
                   in_sizes[static_cast<std::size_t>(source)], source);
        }
        if (from) *from = at;
    }

    using Collective::shift;
    std::vector<unsigned char> shift(const void* data, std::size_t size, int to, int from) override {
        unsigned long long out_size = size, in_size = 0;
        check(MPI_Sendrecv(&out_size, 1, MPI_UNSIGNED_LONG_LONG, to, tag_size, &in_size, 1, MPI_UNSIGNED_LONG_LONG,
                           from, tag_size, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
              "MPI_Sendrecv");
        std::vector<unsigned char> in(static_cast<std::size_t>(in_size));
        paired(static_cast<const unsigned char*>(data), size, to, in.data(), in.size(), from);
        return in;
    }

    void broadcast(std::vector<unsigned char>& bytes, int root) override {
        unsigned long long size = bytes.size();
        check(MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD), "MPI_Bcast");
        bytes.resize(static_cast<std::size_t>(size));
        send_range(bytes.data(), bytes.size(), root);
    }

  private:
    static constexpr int tag_order = 11, tag_size = 12, tag_data = 13;

    void send_range(unsigned char* data, std::size_t size, int root) {
        if (root == rank_) sent_ += size * static_cast<std::size_t>(size_ - 1);  // as if sent to each
        for (std::size_t at = 0; at < size; at += piece)
            check(MPI_Bcast(data + at, static_cast<int>(std::min(piece, size - at)), MPI_BYTE, root, MPI_COMM_WORLD),
                  "MPI_Bcast");
    }
    void send(const std::vector<unsigned char>& bytes, int to, int tag) {
        unsigned long long size = bytes.size();
        sent_ += bytes.size();
        check(MPI_Send(&size, 1, MPI_UNSIGNED_LONG_LONG, to, tag, MPI_COMM_WORLD), "MPI_Send");
        for (std::size_t at = 0; at < bytes.size(); at += piece)
            check(MPI_Send(bytes.data() + at, static_cast<int>(std::min(piece, bytes.size() - at)), MPI_BYTE, to, tag,
                           MPI_COMM_WORLD),
                  "MPI_Send");
    }
    std::vector<unsigned char> receive(int from, int tag) {
        unsigned long long size = 0;
        check(MPI_Recv(&size, 1, MPI_UNSIGNED_LONG_LONG, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
        std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
        for (std::size_t at = 0; at < bytes.size(); at += piece)
            check(MPI_Recv(bytes.data() + at, static_cast<int>(std::min(piece, bytes.size() - at)), MPI_BYTE, from, tag,
                           MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                  "MPI_Recv");
        return bytes;
    }
    // Sends `out` to `to` while receiving `in` from `from`, in pieces whose count each side computes from
    // the same size (non-blocking, then waited for: no pairing of the two directions is needed).
    void paired(const unsigned char* out, std::size_t out_size, int to, unsigned char* in, std::size_t in_size,
                int from) {
        if (to == rank_ && from == rank_) {
            if (out_size > 0) std::memcpy(in, out, std::min(out_size, in_size));
            return;
        }
        std::vector<MPI_Request> requests;
        for (std::size_t at = 0; at < in_size; at += piece) {
            requests.emplace_back();
            check(MPI_Irecv(in + at, static_cast<int>(std::min(piece, in_size - at)), MPI_BYTE, from, tag_data,
                            MPI_COMM_WORLD, &requests.back()),
                  "MPI_Irecv");
        }
        sent_ += out_size;
        for (std::size_t at = 0; at < out_size; at += piece) {
            requests.emplace_back();
            check(MPI_Isend(out + at, static_cast<int>(std::min(piece, out_size - at)), MPI_BYTE, to, tag_data,
                            MPI_COMM_WORLD, &requests.back()),
                  "MPI_Isend");
        }
        check(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    }

    int rank_ = 0, size_ = 1;
    std::size_t sent_ = 0;  // payload bytes this rank sent (a broadcast counts once per receiver)
};

}  // namespace

bool launched_by_mpi() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
        if (std::getenv(name)) return true;
    return false;
}

MpiSession::MpiSession(int* argc, char*** argv) {
    int provided = 0;
    check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    world_ = std::make_unique<WorldCollective>();
}

MpiSession::~MpiSession() {
    world_.reset();
    MPI_Finalize();
}

Collective& MpiSession::world() {
    return *world_;
}

void MpiSession::abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

}  // namespace treesne::dist
