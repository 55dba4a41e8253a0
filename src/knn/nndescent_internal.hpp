// The shared pieces of the nndescent backend (nndescent.cpp: the first graph and the driver;
// nndescent_forest.cpp: the random-projection trees; nndescent_refine.cpp: the refinement rounds): the
// float points, the panels of working distances, the working graph (Rows). See nndescent.cpp for the
// algorithm. Private to src/knn.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "core/lanes.hpp"
#include "core/permutation.hpp"
#include "knn/internal.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::detail::nndescent {

// The forest's and the lists' randomness. A constant, not Options::seed: the graph (and so P) must not
// change when a run is repeated or resumed with another seed for its embedding (the same reason as
// hnsw's level seed).
constexpr std::uint64_t nndescent_seed = 0x6e6e2d6465736365ull;
// An empty slot of a row that is not yet full (N <= 2^32 - 1, so no point has this index).
constexpr point_t no_point = std::numeric_limits<point_t>::max();
// Points whose data rows are prefetched ahead of their use when gathering a panel.
constexpr index_t prefetch_ahead = 8;
// Entry flags: not yet drawn into its owner's new list; inserted during the current round.
constexpr std::uint8_t fresh = 1, recent = 2;

// Allocates v for n elements and asks the kernel (Linux) to back it with 2 MiB pages before it is first
// touched: the rows are read and written at random, and with 4 KiB pages nearly every access to a row
// would also miss the TLB. Only advice: without transparent huge pages nothing changes.
template <class T>
void reserve_huge(std::vector<T>& v, std::size_t n) {
    v.reserve(n);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
    const auto begin = reinterpret_cast<std::uintptr_t>(v.data());
    const std::uintptr_t first = (begin + huge - 1) & ~(huge - 1);
    const std::uintptr_t last = (begin + n * sizeof(T)) & ~(huge - 1);
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#endif
}

// The points as the search sees them: float, centred per coordinate on the middle of its range and
// scaled by one power of two so that every |coordinate| <= 1 (the same scale for all coordinates, so
// distances keep their order up to float rounding; no overflow or underflow of the squared distances
// whatever the data's magnitude or offset). For jaccard and hamming, which compare coordinates with each
// other and with 0, not centred: only scaled (0 stays 0 and equal values equal; distinct values may
// round to one float, which only makes the working distance approximate). Half the bytes of the input, and the rows are later put in
// a spatial order (the first tree's), so that the rows a local join reads lie near each other in
// memory: at 1,000,000 x 50 this halved the refinement's time. The working distances are computed from
// these; the final distances from the input itself. Where the caller lets the search reorder its rows
// (embed(), whose input is its own), there is no copy: the input's rows are put in that order and
// converted as they are read (the same floats), and put back before the final distances.
struct Points {
    index_t rows = 0, cols = 0;
    Metric metric = Metric::euclidean;  // the working distance's (panel_distances)
    std::vector<float> data;  // the float rows; empty where they are read from `source`

    // source: the caller's rows where it lets the search reorder them (knn_nndescent's `reorderable`):
    // then no float copy is made (4 N D bytes, 191 MiB at 10^6 x 50), and each read converts a row the
    // same way, to the same floats. reorder() then moves the caller's rows.
    Points(ConstMatrixView x, Metric m, int threads, double* source = nullptr)
        : rows(x.rows), cols(x.cols), metric(m), source_(source), middle_(static_cast<std::size_t>(cols)) {
        double half = 0;
        for (index_t j = 0; j < cols; ++j) {
            double lo = x(0, j), hi = x(0, j);
            for (index_t i = 1; i < rows; ++i) {
                lo = std::min(lo, x(i, j));
                hi = std::max(hi, x(i, j));
            }
            if (m == Metric::jaccard || m == Metric::hamming) {  // middle 0
                half = std::max({half, std::abs(lo), std::abs(hi)});
                continue;
            }
            // Halves first: finite even when hi - lo overflows, and |x - middle| <= hi / 2 - lo / 2.
            middle_[static_cast<std::size_t>(j)] = lo / 2 + hi / 2;
            half = std::max(half, hi / 2 - lo / 2);
        }
        if (half > 0) std::frexp(half, &exponent_);  // half in [2^(e-1), 2^e)
        scale_ = std::ldexp(1.0, -exponent_);
        // x 2^-e is ldexp(x, -e) (both round once) while 2^-e is a normal double.
        scale_is_normal_ = std::isnormal(scale_);
        if (source_) return;
        reserve_huge(data, static_cast<std::size_t>(rows * cols));
        data.resize(static_cast<std::size_t>(rows * cols));
        parallel_for(rows, threads, [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) convert(x.row(i), data.data() + static_cast<std::size_t>(i * cols));
        });
    }

    // Row i as floats: the copy's row, or the source's row converted into scratch (cols floats).
    const float* row(index_t i, float* scratch) const {
        if (!source_) return data.data() + static_cast<std::size_t>(i * cols);
        convert(source_ + static_cast<std::size_t>(i * cols), scratch);
        return scratch;
    }
    // Where row i's bytes are (for prefetching), and how many.
    const char* address(index_t i) const {
        return source_ ? reinterpret_cast<const char*>(source_ + static_cast<std::size_t>(i * cols))
                       : reinterpret_cast<const char*>(data.data() + static_cast<std::size_t>(i * cols));
    }
    index_t row_bytes() const { return cols * static_cast<index_t>(source_ ? sizeof(double) : sizeof(float)); }
    // Puts the rows in a new order in place: new row s is old row from[s].
    void reorder(const std::vector<point_t>& from) {
        if (source_)
            gather_rows_in_place(source_, cols, from);
        else
            gather_rows_in_place(data.data(), cols, from);
    }

  private:
    void convert(const double* in, float* out) const {
        for (index_t j = 0; j < cols; ++j) {
            const double v = in[j] - middle_[static_cast<std::size_t>(j)];
            out[j] = static_cast<float>(scale_is_normal_ ? v * scale_ : std::ldexp(v, -exponent_));
        }
    }

    double* source_ = nullptr;
    std::vector<double> middle_;
    int exponent_ = 0;
    double scale_ = 1;
    bool scale_is_normal_ = true;
};

// The working distances from a to the panel's lane groups [first, last) (nndescent.cpp).
void panel_distances(Metric metric, const double* a, const double* panel, index_t stride, index_t d,
                     index_t first, index_t last, double* out);

// Points side by side for panel_distances.
class Panel {
  public:
    // Gathers the rows `points[0, count)` of x (and nothing else) into the panel.
    void gather(const Points& x, const point_t* points, index_t count) {
        d_ = x.cols;
        metric_ = x.metric;
        groups_ = (count + kLanes - 1) / kLanes;
        stride_ = groups_ * kLanes;
        data_.resize(static_cast<std::size_t>(d_ * stride_));
        row_.resize(static_cast<std::size_t>(d_));
        const index_t lines = (x.row_bytes() + 63) / 64;
        for (index_t c = 0; c < count; ++c) {
            if (c + prefetch_ahead < count) {  // the rows are scattered in memory
                const char* ahead = x.address(points[c + prefetch_ahead]);
                for (index_t line = 0; line < lines; ++line) __builtin_prefetch(ahead + 64 * line);
            }
            const float* row = x.row(points[c], row_.data());
            for (index_t j = 0; j < d_; ++j) data_[static_cast<std::size_t>(j * stride_ + c)] = row[j];
        }
        for (index_t c = count; c < stride_; ++c)
            for (index_t j = 0; j < d_; ++j) data_[static_cast<std::size_t>(j * stride_ + c)] = 0.0;
        out_.resize(static_cast<std::size_t>(stride_));
    }
    // Working distances from point list[a] (of the points gathered) to the columns from `from` on.
    const double* distances_of(const Points& x, const point_t* list, index_t a, index_t from) {
        row_.resize(static_cast<std::size_t>(x.cols));
        return distances(x.row(list[a], row_.data()), from);
    }
    // Working distances from point `a` (its coordinates) to the columns from `from` on; returns them
    // indexed by column (entries before `from` are unspecified).
    const double* distances(const float* a, index_t from) {
        query_.assign(a, a + d_);
        panel_distances(metric_, query_.data(), data_.data(), stride_, d_, from / kLanes, groups_,
                        out_.data());
        return out_.data();
    }

  private:
    index_t d_ = 0, groups_ = 0, stride_ = 0;
    Metric metric_ = Metric::euclidean;
    std::vector<double> data_, out_, query_;
    std::vector<float> row_;  // a row converted from the points' source
};

// Sparse rows as the search sees them (nndescent_sparse.cpp): the rows themselves (for cosine, unit
// rows), their squared norms, and the factor that keeps every working distance within float's range.
struct SparsePoints {
    ConstCsrView x;
    Metric metric = Metric::euclidean;
    std::vector<double> norms;  // |x_i|^2
    double scale = 1.0;         // a power of two: working distance = scale * the pair's distance
    index_t rows = 0;
};

// The working distances of sparse rows, a pair at a time: the first point's values scattered into a
// dense array of D doubles (zeros elsewhere), the other's entries gathered from it. Euclidean (also
// cosine's, on unit rows): scale (|a|^2 + |b|^2 - 2 a.b), the dot product summed in four accumulators
// chosen by column (j mod 4), each in column order: the same products in the same order whichever point
// is scattered, so the distance is symmetric bit for bit, as the rows' merge requires. Jaccard and
// hamming: their exact ratios from the counts of shared and of equal entries.
class SparsePanel {
  public:
    void gather(const SparsePoints& x, const point_t* points, index_t count);
    const double* distances_of(const SparsePoints& x, const point_t* list, index_t a, index_t from);
    // The working distance of rows a and b (b's entries gathered from a scattered by scatter(a)).
    void scatter(const SparsePoints& x, index_t a);
    void clear(const SparsePoints& x, index_t a);
    double distance(const SparsePoints& x, index_t a, index_t b) const;
    double value(point_t j) const { return dense_[j]; }  // the scattered row's value at column j

  private:
    std::vector<double> dense_;   // D values: the scattered row, zeros elsewhere
    std::vector<double> out_;
    index_t count_ = 0;
};

template <class Set>
struct PanelOf {
    using type = Panel;
};
template <>
struct PanelOf<SparsePoints> {
    using type = SparsePanel;
};

// Seconds since `start`, for the reports' stage times (nndescent.cpp, nndescent_sparse.cpp).
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A pseudo-random word for (a, b): splitmix64's mixer over both, no state.
inline std::uint64_t draw(std::uint64_t a, std::uint64_t b) {
    return mix64(splitmix64_at(a) ^ b);
}

// One tree: the points leaf by leaf (left subtrees first, so nearby points are near in `order`).
struct Tree {
    std::vector<point_t> order;
    std::vector<index_t> leaf_begin;  // leaf l is order[leaf_begin[l], leaf_begin[l + 1])
};

// The forest of step 1 (nndescent_forest.cpp): p.trees trees over x, each a pure function of the data,
// the leaf size and its index, built in parallel.
std::vector<Tree> build_forest(const Points& x, const NndescentParameters& p, int threads);

// A candidate for a row: a point and its working distance.
struct Offer {
    float distance;
    point_t point;
};

// Reused storage of Rows::merge.
struct MergeScratch {
    std::vector<point_t> indices;
    std::vector<float> distances;
    std::vector<std::uint8_t> flags, out_flags;  // the row's flags before and after, a byte an entry
};

// Row i: indices[i k, (i+1) k) (the output's storage) and distances (scaled fast distances, float),
// sorted by (distance, tie key); the slots past the row's last entry hold no_point. Each entry has two
// flags (fresh, recent), kept as two bit sets a row of ceil(k / 8) bytes each (a row's bytes are its
// own, so rows are still written by their owners alone; a flag byte an entry took 90 MiB at N = 10^6,
// k = 90, the bits 21 MiB); each row a lock and its current worst distance (+inf until full), read
// without the lock to skip hopeless offers.
class Rows {
  public:
    // `indices` (the output's storage) must be allocated and not yet touched.
    Rows(std::vector<point_t>& indices, index_t n, index_t k)
        : index_(indices.data()),
          n_(n),
          k_(k),
          flag_bytes_((k + 7) / 8),
          worst_(new std::atomic<float>[static_cast<std::size_t>(n)]),
          lock_(new std::atomic<std::uint8_t>[static_cast<std::size_t>(n)]) {
        const auto entries = static_cast<std::size_t>(n * k);
        reserve_huge(distance_, entries);
        distance_.assign(entries, std::numeric_limits<float>::infinity());
        flags_.assign(static_cast<std::size_t>(n * 2 * flag_bytes_), 0);
        indices.assign(entries, no_point);
        for (index_t i = 0; i < n; ++i) {
            worst_[static_cast<std::size_t>(i)].store(std::numeric_limits<float>::infinity(), std::memory_order_relaxed);
            lock_[static_cast<std::size_t>(i)].store(0, std::memory_order_relaxed);
        }
    }

    index_t n() const { return n_; }
    index_t k() const { return k_; }
    point_t* indices(index_t i) { return index_ + i * k_; }
    const point_t* indices(index_t i) const { return index_ + i * k_; }
    float* distances(index_t i) { return distance_.data() + i * k_; }
    float worst(index_t i) const { return worst_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed); }

    // Whether entry p of row i is fresh.
    bool is_fresh(index_t i, index_t p) const { return (flag_row(i)[p >> 3] >> (p & 7)) & 1; }
    void clear_fresh(index_t i, index_t p) {
        flag_row(i)[p >> 3] &= static_cast<std::uint8_t>(~(1u << (p & 7)));
    }
    // Every entry fresh, none recent (after the first graph).
    void mark_all_fresh() {
        std::vector<std::uint8_t> fresh_row(static_cast<std::size_t>(8 * flag_bytes_), 0);  // padding: clear
        std::fill(fresh_row.begin(), fresh_row.begin() + k_, fresh);
        for (index_t i = 0; i < n_; ++i) pack_flags(i, fresh_row);
    }
    // The entries marked recent, counted in rows [begin, end); the marks are cleared.
    index_t take_recent(index_t begin, index_t end) {
        index_t count = 0;
        for (index_t i = begin; i < end; ++i) {
            std::uint8_t* bits = flag_row(i) + flag_bytes_;
            for (index_t b = 0; b < flag_bytes_; ++b) {
                count += __builtin_popcount(bits[b]);
                bits[b] = 0;
            }
        }
        return count;
    }

    // Merges `offers` (candidates of point i with their working distances, any order, distinct points,
    // none of them i) into row i: the k best of both by (distance, tie key). An offer already in the row
    // has the same key as its entry (the working distance is a function of the pair), so the two meet
    // in the merge and the offer is dropped. Inserted entries are flagged fresh and recent, the others
    // keep their flags. The caller owns the row (its lock, or the only thread that touches it). Returns
    // the number of entries inserted.
    index_t merge(index_t i, std::vector<Offer>& offers, MergeScratch& scratch) {
        sort_offers(i, offers);
        if (!adds_any(i, offers)) return 0;
        return merge_sorted(i, offers, scratch);
    }

    // The same from any thread, under row i's lock.
    index_t merge_locked(index_t i, std::vector<Offer>& offers, MergeScratch& scratch) {
        std::atomic<std::uint8_t>& lock = lock_[static_cast<std::size_t>(i)];
        while (lock.exchange(1, std::memory_order_acquire) != 0)
            while (lock.load(std::memory_order_relaxed) != 0) {
            }
        const index_t inserted = merge(i, offers, scratch);
        lock.store(0, std::memory_order_release);
        return inserted;
    }

  private:
    // Row i's order: (distance, tie key).
    static bool before(index_t i, float da, point_t a, float db, point_t b) {
        return da < db || (da == db && tie_key(i, a) < tie_key(i, b));
    }

    // The offers in row i's order, only the k best kept (no more can enter the row).
    void sort_offers(index_t i, std::vector<Offer>& offers) const {
        const index_t k = k_;
        auto offer_less = [i](const Offer& a, const Offer& b) {
            return before(i, a.distance, a.point, b.distance, b.point);
        };
        if (static_cast<index_t>(offers.size()) > k) {  // at most k of them can enter the row
            std::nth_element(offers.begin(), offers.begin() + (k - 1), offers.end(), offer_less);
            offers.resize(static_cast<std::size_t>(k));
        }
        std::sort(offers.begin(), offers.end(), offer_less);
    }

    // Whether merging the sorted offers would insert anything: a read-only walk, since most offers in a
    // good graph are already there, and then nothing moves.
    bool adds_any(index_t i, const std::vector<Offer>& offers) const {
        const index_t k = k_;
        const point_t* idx = indices(i);
        const float* dist = distance_.data() + i * k_;
        const auto count = static_cast<index_t>(offers.size());
        index_t r = 0, o = 0, out = 0, fresh_offers = 0;
        while (out < k && o < count) {
            const Offer& offer = offers[static_cast<std::size_t>(o)];
            if (r < k && idx[r] == offer.point) {
                ++o;
                continue;
            }
            if (r < k && idx[r] != no_point && before(i, dist[r], idx[r], offer.distance, offer.point)) {
                ++r;
            } else {
                ++o;
                ++fresh_offers;
            }
            ++out;
        }
        return fresh_offers != 0;
    }

    // The merge itself, from a copy of the row: returns the number of entries inserted.
    index_t merge_sorted(index_t i, const std::vector<Offer>& offers, MergeScratch& scratch) {
        const index_t k = k_;
        point_t* idx = indices(i);
        float* dist = distances(i);
        const auto count = static_cast<index_t>(offers.size());
        scratch.indices.assign(idx, idx + k);
        scratch.distances.assign(dist, dist + k);
        unpack_flags(i, scratch.flags);
        scratch.out_flags.assign(static_cast<std::size_t>(8 * flag_bytes_), 0);  // past the last entry: none
        index_t r = 0, o = 0, out = 0, inserted = 0;
        while (out < k) {
            const bool row_left = r < k && scratch.indices[static_cast<std::size_t>(r)] != no_point;
            if (!row_left && o == count) break;
            bool take_row = o == count;
            if (row_left && o < count) {
                const Offer& offer = offers[static_cast<std::size_t>(o)];
                const point_t p = scratch.indices[static_cast<std::size_t>(r)];
                if (offer.point == p) {
                    ++o;
                    continue;
                }
                take_row = before(i, scratch.distances[static_cast<std::size_t>(r)], p, offer.distance, offer.point);
            }
            if (take_row) {
                idx[out] = scratch.indices[static_cast<std::size_t>(r)];
                dist[out] = scratch.distances[static_cast<std::size_t>(r)];
                scratch.out_flags[static_cast<std::size_t>(out)] = scratch.flags[static_cast<std::size_t>(r)];
                ++r;
            } else {
                idx[out] = offers[static_cast<std::size_t>(o)].point;
                dist[out] = offers[static_cast<std::size_t>(o)].distance;
                scratch.out_flags[static_cast<std::size_t>(out)] = fresh | recent;
                ++o;
                ++inserted;
            }
            ++out;
        }
        pack_flags(i, scratch.out_flags);
        if (idx[k - 1] != no_point) worst_[static_cast<std::size_t>(i)].store(dist[k - 1], std::memory_order_relaxed);
        return inserted;
    }

    // Row i's flags, a byte an entry (fresh | recent), into bytes (k of them, padded to a multiple of 8).
    void unpack_flags(index_t i, std::vector<std::uint8_t>& bytes) const {
        const std::uint8_t* bits = flag_row(i);
        bytes.resize(static_cast<std::size_t>(8 * flag_bytes_));
        for (index_t b = 0; b < flag_bytes_; ++b) {
            const std::uint64_t v = spread_bits(bits[b]) | spread_bits(bits[flag_bytes_ + b]) << 1;
            std::memcpy(bytes.data() + 8 * b, &v, 8);
        }
    }
    // The reverse: row i's bit sets from the flag bytes (8 flag_bytes_ of them), eight entries at a time.
    void pack_flags(index_t i, const std::vector<std::uint8_t>& bytes) {
        std::uint8_t* bits = flag_row(i);
        constexpr std::uint64_t low = 0x0101010101010101ull;
        constexpr std::uint64_t gather = 0x0102040810204080ull;  // byte j's low bit to bit 56 + j
        for (index_t b = 0; b < flag_bytes_; ++b) {
            std::uint64_t v;
            std::memcpy(&v, bytes.data() + 8 * b, 8);
            bits[b] = static_cast<std::uint8_t>(((v & low) * gather) >> 56);
            bits[flag_bytes_ + b] = static_cast<std::uint8_t>((((v >> 1) & low) * gather) >> 56);
        }
    }
    // Bit j of x to the low bit of byte j.
    static std::uint64_t spread_bits(std::uint8_t x) {
        static const auto table = [] {
            std::array<std::uint64_t, 256> t{};
            for (unsigned v = 0; v < 256; ++v)
                for (unsigned j = 0; j < 8; ++j) t[v] |= static_cast<std::uint64_t>((v >> j) & 1) << (8 * j);
            return t;
        }();
        return table[x];
    }

    std::uint8_t* flag_row(index_t i) { return flags_.data() + i * 2 * flag_bytes_; }
    const std::uint8_t* flag_row(index_t i) const { return flags_.data() + i * 2 * flag_bytes_; }
    point_t* index_;
    index_t n_, k_;
    index_t flag_bytes_;  // bytes of one of a row's two bit sets
    std::vector<float> distance_;
    std::vector<std::uint8_t> flags_;  // row i: fresh bits, then recent bits
    std::unique_ptr<std::atomic<float>[]> worst_;
    std::unique_ptr<std::atomic<std::uint8_t>[]> lock_;
};

// Step 3 (nndescent_refine.cpp): NN-descent's local joins over the rows, at most p.rounds rounds, until
// at most p.stop_fraction N k entries change in a round. Records the rounds, changes and distances in
// r, and calls round_done(round) after each round.
void refine(const SparsePoints& x, Rows& rows, const NndescentParameters& p, int threads, NndescentReport& r,
            const std::function<void(index_t)>& round_done);
void refine(const Points& x, Rows& rows, const NndescentParameters& p, int threads, NndescentReport& r,
            const std::function<void(index_t)>& round_done);

}  // namespace treesne::detail::nndescent
