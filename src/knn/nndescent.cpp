// Approximate backend: a random-projection forest for a first graph, refined by NN-descent's local join
// (Dong, Moses & Li 2011: a neighbour of a neighbour is likely a neighbour), arranged so that the graph
// is a pure function of the data, k and the parameters: the same for every thread count, and parallel
// throughout.
//
// 1. Forest. Each tree splits the points recursively by the perpendicular bisector of two points drawn
//    from the node until a node holds at most `leaf_size` points. The draws are hashes of (seed, tree,
//    node), never thread state, so each tree is a pure function of the data: they are built in parallel.
//    The search itself runs on a float copy of the points (Points: centred, scaled by a power of two)
//    relabelled in the first tree's order, so that the rows and points one local join touches tend to
//    lie near each other in memory; the graph is mapped back to the input's labels at the end.
// 2. First graph. Each point gets its nearest leaf-mates in every tree (LeafSearch: a float GEMM
//    screens the pairs of a leaf). The leaves of one tree are disjoint, so they are processed in
//    parallel, each writing only its own points' rows.
// 3. Refinement rounds: NN-descent's local join. For each point v, a list of "new" and one of "old"
//    candidates is drawn from v's row and its reverse neighbours (at most `candidates` each, chosen by a
//    hash of (round, v, u), not at random); every pair of them with at least one new member is compared,
//    and each of the two is offered to the other's row. An entry is new until its row's owner has put it
//    in a new list, so later rounds only look at what changed. The points are processed in blocks of a
//    fixed size, in the spatial order of the first tree: first the lists of the whole block are drawn
//    (this marks the drawn entries old), then the block's joins run in parallel, offering into any row
//    under that row's lock.
// 4. Exact distances. While the graph is built, it is ranked by a vectorised working distance (the
//    metric's: squared Euclidean, L1 or maximum; fixed lane order: deterministic and symmetric, but not
//    bit-equal to rank_distance()), scaled by a power of two and stored as float. At the end every
//    row's distances are recomputed with rank_distance() and the row is sorted by (distance, tie key),
//    like the exact backends: only the membership of a row is approximate. A row with fewer than k
//    entries (tiny or heavily duplicated data) is answered by an exact scan.
//
// Metrics. Euclidean, cosine (the caller passes the unit rows: the Euclidean search on them), manhattan
// and chebyshev. The forest's bisector splits and the leaf search's Euclidean GEMM screen only propose
// candidates: a leaf's points are offered to each other by the metric's working distance, and the
// local joins compare pairs by it alone, so the rows are the metric's nearest found. (Euclidean
// candidates are good candidates for the other two: the three norms are within a factor sqrt(D).)
//
// Determinism. A row always holds the k best of everything ever offered to it, under a total order
// ((distance, tie key): distinct points have distinct keys), so its content does not depend on the order
// of the offers, only on their set. The offers of a block are a pure function of the rows at the start
// of the block (the lists are drawn before any join of the block runs), except that an offer is skipped
// when it is not better than the row's current worst entry: such an offer would be rejected whenever it
// came, because a row's worst entry only ever improves. So every row after a block, and the graph after
// each round, is the same for any thread count. The "new" flags follow: an entry present at the start
// of a block keeps its flag (unless its owner drew it), an entry inserted during the block is new. The
// rounds stop after `rounds` or when fewer than a fraction `stop_fraction` of the N k entries are new
// since the round began (a count over the graph: deterministic too).
//
// Memory, besides the output (N k (4 + 8) bytes): while the graph is built its distances are floats
// (4 N k bytes, freed before the exact distances are allocated) and each entry has a flag byte (N k);
// the float points take 4 N D bytes, the reverse lists N reverse_cap (4 + 1) bytes, the labels 8 N,
// the forest 4 N bytes per tree during step 2 (the model in memory.cpp, neighbor_search_bytes).
#include <sys/mman.h>

#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "core/permutation.hpp"
#include "knn/internal.hpp"
#include "core/lanes.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::detail {
namespace {

// The forest's and the lists' randomness. A constant, not Options::seed: the graph (and so P) must not
// change when a run is repeated or resumed with another seed for its embedding (the same reason as
// hnsw's level seed).
constexpr std::uint64_t nndescent_seed = 0x6e6e2d6465736365ull;
// An empty slot of a row that is not yet full (N <= 2^32 - 1, so no point has this index).
constexpr point_t no_point = std::numeric_limits<point_t>::max();
// Split attempts (pairs of points drawn) per node before the balanced fallback.
constexpr int split_attempts = 3;
// Points whose data rows are prefetched ahead of their use when gathering a panel.
constexpr index_t prefetch_ahead = 8;
// Leaf search (LeafSearch): candidates kept per point beyond k, the query and reference blocks of one
// float GEMM (a 256 x 512 block of estimates, 512 KiB, stays in cache), estimates tested at once.
constexpr index_t leaf_extra = 16;
constexpr index_t leaf_query_block = 256;
constexpr index_t leaf_reference_block = 512;
constexpr index_t leaf_chunk = 64;
// Inside a leaf the points are put in a spatial order by further splits down to this many points.
constexpr index_t order_leaf = 64;
// Entry flags: not yet drawn into its owner's new list; inserted during the current round.
constexpr std::uint8_t fresh = 1, recent = 2;

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

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
// whatever the data's magnitude or offset). Half the bytes of the input, and the rows are later put in
// a spatial order (the first tree's), so that the rows a local join reads lie near each other in
// memory: at 1,000,000 x 50 this halved the refinement's time. The working distances are computed from
// these; the final distances from the input itself.
struct Points {
    index_t rows = 0, cols = 0;
    Metric metric = Metric::euclidean;  // the working distance's (panel_distances)
    std::vector<float> data;

    const float* row(index_t i) const { return data.data() + static_cast<std::size_t>(i * cols); }
    double operator()(index_t i, index_t j) const { return data[static_cast<std::size_t>(i * cols + j)]; }

    Points(ConstMatrixView x, Metric m, int threads) : rows(x.rows), cols(x.cols), metric(m) {
        std::vector<double> middle(static_cast<std::size_t>(cols));
        double half = 0;
        for (index_t j = 0; j < cols; ++j) {
            double lo = x(0, j), hi = x(0, j);
            for (index_t i = 1; i < rows; ++i) {
                lo = std::min(lo, x(i, j));
                hi = std::max(hi, x(i, j));
            }
            // Halves first: finite even when hi - lo overflows, and |x - middle| <= hi / 2 - lo / 2.
            middle[static_cast<std::size_t>(j)] = lo / 2 + hi / 2;
            half = std::max(half, hi / 2 - lo / 2);
        }
        int e = 0;
        if (half > 0) std::frexp(half, &e);  // half in [2^(e-1), 2^e)
        reserve_huge(data, static_cast<std::size_t>(rows * cols));
        data.resize(static_cast<std::size_t>(rows * cols));
        parallel_for(rows, threads, [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i)
                for (index_t j = 0; j < cols; ++j)
                    data[static_cast<std::size_t>(i * cols + j)] =
                        static_cast<float>(std::ldexp(x(i, j) - middle[static_cast<std::size_t>(j)], -e));
        });
    }
};

// --- arithmetic -----------------------------------------------------------------------------------

// The working distances, kLanes pairs at once. A panel holds points side by side, transposed:
// coordinate j of column c at panel[j * stride + c] (stride a multiple of kLanes, unused columns zero).
// out[c] = sum over j, in order, of (a[j] - panel[j, c])^2 (Metric::euclidean, also cosine's), of
// |a[j] - panel[j, c]| (manhattan) or their maximum (chebyshev), for the columns c of lane groups
// [first, last). Each lane is one pair, so no lanes are added together: every pair is summed the same
// way, whatever its lane or panel. One function per metric (never inlined, so one piece of machine
// code) computes every working distance, which makes the working distance of a pair a pure function of
// the two points, and symmetric (the differences only change sign): a row compares the keys of the same
// point offered twice. It is not bit-equal to rank_distance(), which the final rows use.
template <Metric M>
[[gnu::noinline]] void panel_distances(const double* a, const double* panel, index_t stride, index_t d,
                                       index_t first, index_t last, double* out) {
    using Bits = std::int64_t __attribute__((vector_size(kLanes * sizeof(double))));
    for (index_t g = first; g < last; ++g) {
        Lanes acc{};
        const double* column = panel + g * kLanes;
        for (index_t j = 0; j < d; ++j) {
            Lanes diff = broadcast(a[j]) - load(column + j * stride);
            if constexpr (M == Metric::euclidean) {
                acc += diff * diff;
            } else {
                Bits bits;  // |diff|: the sign bit cleared
                __builtin_memcpy(&bits, &diff, sizeof bits);
                bits &= std::numeric_limits<std::int64_t>::max();
                __builtin_memcpy(&diff, &bits, sizeof diff);
                if constexpr (M == Metric::manhattan)
                    acc += diff;
                else
                    acc = acc < diff ? diff : acc;
            }
        }
        __builtin_memcpy(out + g * kLanes, &acc, sizeof acc);
    }
}

void panel_distances(Metric metric, const double* a, const double* panel, index_t stride, index_t d,
                     index_t first, index_t last, double* out) {
    switch (metric) {
        case Metric::manhattan:
            return panel_distances<Metric::manhattan>(a, panel, stride, d, first, last, out);
        case Metric::chebyshev:
            return panel_distances<Metric::chebyshev>(a, panel, stride, d, first, last, out);
        case Metric::euclidean:
        case Metric::cosine:
        default:
            return panel_distances<Metric::euclidean>(a, panel, stride, d, first, last, out);
    }
}

// An upper bound of the squared Euclidean distance of a pair whose working distance is w: w itself,
// w^2 (|v|_2 <= |v|_1) or D w^2 (|v|_2^2 <= D |v|_max^2).
double euclidean_bound(Metric metric, double w, index_t d) {
    switch (metric) {
        case Metric::manhattan:
            return w * w;
        case Metric::chebyshev:
            return static_cast<double>(d) * w * w;
        case Metric::euclidean:
        case Metric::cosine:
        default:
            return w;
    }
}

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
        const index_t lines = (d_ * static_cast<index_t>(sizeof(float)) + 63) / 64;
        for (index_t c = 0; c < count; ++c) {
            if (c + prefetch_ahead < count) {  // the rows are scattered in memory
                const char* ahead = reinterpret_cast<const char*>(x.row(points[c + prefetch_ahead]));
                for (index_t line = 0; line < lines; ++line) __builtin_prefetch(ahead + 64 * line);
            }
            const float* row = x.row(points[c]);
            for (index_t j = 0; j < d_; ++j) data_[static_cast<std::size_t>(j * stride_ + c)] = row[j];
        }
        for (index_t c = count; c < stride_; ++c)
            for (index_t j = 0; j < d_; ++j) data_[static_cast<std::size_t>(j * stride_ + c)] = 0.0;
        out_.resize(static_cast<std::size_t>(stride_));
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
};

double dot(const float* a, const double* b, index_t d) {
    Lanes acc{};
    index_t j = 0;
    for (; j + kLanes <= d; j += kLanes) acc += load(a + j) * load(b + j);
    double sum = lane_sum(acc);
    for (; j < d; ++j) sum += static_cast<double>(a[j]) * b[j];
    return sum;
}

// A pseudo-random word for (a, b): splitmix64's mixer over both, no state.
std::uint64_t draw(std::uint64_t a, std::uint64_t b) {
    return mix64(splitmix64_at(a) ^ b);
}

// --- 1. the forest --------------------------------------------------------------------------------

// One tree: the points leaf by leaf (left subtrees first, so nearby points are near in `order`).
struct Tree {
    std::vector<point_t> order;
    std::vector<index_t> leaf_begin;  // leaf l is order[leaf_begin[l], leaf_begin[l + 1])
};

class TreeBuilder {
  public:
    TreeBuilder(const Points& x, index_t leaf, std::uint64_t tree_seed)
        : x_(x), leaf_(leaf), seed_(tree_seed), normal_(static_cast<std::size_t>(x.cols)) {}

    // The nodes of at most `leaf` points are the leaves; each is split further, down to order_leaf
    // points, only to put its points in a spatial order (the leaf search then meets near points first).
    Tree build() {
        const index_t n = x_.rows;
        Tree tree;
        tree.order.resize(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) tree.order[static_cast<std::size_t>(i)] = static_cast<point_t>(i);
        // Depth-first with an explicit stack (no recursion depth limit), left child first.
        struct Node {
            index_t begin, end;
            std::uint64_t id;
            bool in_leaf;
        };
        std::vector<Node> stack{{0, n, 1, false}};
        while (!stack.empty()) {
            Node node = stack.back();
            stack.pop_back();
            const index_t size = node.end - node.begin;
            if (!node.in_leaf && size <= leaf_) {
                tree.leaf_begin.push_back(node.begin);
                node.in_leaf = true;
            }
            if (node.in_leaf && size <= order_leaf) continue;
            point_t* points = tree.order.data() + node.begin;
            const index_t mid = node.begin + split(points, size, node.id);
            stack.push_back({mid, node.end, draw(node.id, 2), node.in_leaf});
            stack.push_back({node.begin, mid, draw(node.id, 1), node.in_leaf});
        }
        tree.leaf_begin.push_back(n);
        return tree;
    }

  private:
    // Reorders points[0, n) into two non-empty parts and returns the size of the first. The bisector of
    // a random pair of the node's points is tried up to split_attempts times; the most balanced attempt
    // wins. If even that one leaves fewer than n/8 points on a side (duplicates, outliers), the points are
    // split at the median of its projections instead, ties broken by index: always an even split, so the
    // depth stays O(log N) whatever the data (constant data splits by index alone).
    index_t split(point_t* points, index_t n, std::uint64_t node_id) {
        const index_t d = x_.cols;
        projection_.resize(static_cast<std::size_t>(n));
        best_projection_.resize(static_cast<std::size_t>(n));
        index_t best_balance = -1, best_right = 0;
        for (int attempt = 0; attempt < split_attempts; ++attempt) {
            const std::uint64_t h = draw(draw(seed_, node_id), static_cast<std::uint64_t>(attempt));
            const index_t a = static_cast<index_t>(h % static_cast<std::uint64_t>(n));
            index_t b = static_cast<index_t>(draw(h, 0) % static_cast<std::uint64_t>(n - 1));
            if (b >= a) ++b;
            const float* xa = x_.row(points[a]);
            const float* xb = x_.row(points[b]);
            // Normal xa - xb through the midpoint: the side is sign(<x, normal> - <(xa + xb) / 2, normal>).
            for (index_t j = 0; j < d; ++j)
                normal_[static_cast<std::size_t>(j)] = static_cast<double>(xa[j]) - static_cast<double>(xb[j]);
            double offset = 0;
            for (index_t j = 0; j < d; ++j)
                offset += 0.5 * (static_cast<double>(xa[j]) + static_cast<double>(xb[j])) * normal_[static_cast<std::size_t>(j)];
            index_t right = 0;
            for (index_t p = 0; p < n; ++p) {
                const double s = dot(x_.row(points[p]), normal_.data(), d) - offset;
                projection_[static_cast<std::size_t>(p)] = s;
                right += s > 0 ? 1 : 0;
            }
            const index_t balance = std::min(right, n - right);
            if (balance > best_balance) {
                best_balance = balance;
                best_right = right;
                projection_.swap(best_projection_);
            }
            if (8 * balance >= n) break;
        }
        const std::vector<double>& s = best_projection_;
        if (8 * best_balance >= n) {
            // Stable partition: left (s <= 0) in their current order, then the right ones.
            scratch_.assign(points, points + n);
            index_t left = 0, right = n - best_right;
            for (index_t p = 0; p < n; ++p) {
                if (s[static_cast<std::size_t>(p)] > 0)
                    points[right++] = scratch_[static_cast<std::size_t>(p)];
                else
                    points[left++] = scratch_[static_cast<std::size_t>(p)];
            }
            return n - best_right;
        }
        keyed_.resize(static_cast<std::size_t>(n));
        for (index_t p = 0; p < n; ++p) keyed_[static_cast<std::size_t>(p)] = {s[static_cast<std::size_t>(p)], points[p]};
        const index_t half = n / 2;
        std::nth_element(keyed_.begin(), keyed_.begin() + half, keyed_.end());
        for (index_t p = 0; p < n; ++p) points[p] = keyed_[static_cast<std::size_t>(p)].second;
        return half;
    }

    const Points& x_;
    index_t leaf_;
    std::uint64_t seed_;
    std::vector<double> normal_, projection_, best_projection_;
    std::vector<point_t> scratch_;
    std::vector<std::pair<double, point_t>> keyed_;
};

// --- rows -----------------------------------------------------------------------------------------

// --- the working graph ----------------------------------------------------------------------------

// A candidate for a row: a point and its working distance.
struct Offer {
    float distance;
    point_t point;
};

// Reused storage of Rows::merge.
struct MergeScratch {
    std::vector<point_t> indices;
    std::vector<float> distances;
    std::vector<std::uint8_t> flags;
};

// Row i: indices[i k, (i+1) k) (the output's storage) and distances (scaled fast distances, float),
// sorted by (distance, tie key); the slots past the row's last entry hold no_point. Each entry has a
// flag byte; each row a lock and its current worst distance (+inf until full), read without the lock to
// skip hopeless offers.
class Rows {
  public:
    // `indices` (the output's storage) must be allocated and not yet touched.
    Rows(std::vector<point_t>& indices, index_t n, index_t k)
        : index_(indices.data()),
          n_(n),
          k_(k),
          worst_(new std::atomic<float>[static_cast<std::size_t>(n)]),
          lock_(new std::atomic<std::uint8_t>[static_cast<std::size_t>(n)]) {
        const auto entries = static_cast<std::size_t>(n * k);
        reserve_huge(distance_, entries);
        distance_.assign(entries, std::numeric_limits<float>::infinity());
        reserve_huge(flags_, entries);
        flags_.assign(entries, 0);
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
    std::uint8_t* flags(index_t i) { return flags_.data() + i * k_; }
    const std::uint8_t* flags(index_t i) const { return flags_.data() + i * k_; }
    float worst(index_t i) const { return worst_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed); }
    std::vector<std::uint8_t>& all_flags() { return flags_; }

    // Merges `offers` (candidates of point i with their working distances, any order, distinct points,
    // none of them i) into row i: the k best of both by (distance, tie key). An offer already in the row
    // has the same key as its entry (the working distance is a function of the pair), so the two meet
    // in the merge and the offer is dropped. Inserted entries are flagged fresh and recent, the others
    // keep their flags. The caller owns the row (its lock, or the only thread that touches it). Returns
    // the number of entries inserted.
    index_t merge(index_t i, std::vector<Offer>& offers, MergeScratch& scratch) {
        const index_t k = k_;
        auto before = [i](float da, point_t a, float db, point_t b) {
            return da < db || (da == db && tie_key(i, a) < tie_key(i, b));
        };
        auto offer_less = [&](const Offer& a, const Offer& b) { return before(a.distance, a.point, b.distance, b.point); };
        if (static_cast<index_t>(offers.size()) > k) {  // at most k of them can enter the row
            std::nth_element(offers.begin(), offers.begin() + (k - 1), offers.end(), offer_less);
            offers.resize(static_cast<std::size_t>(k));
        }
        std::sort(offers.begin(), offers.end(), offer_less);
        point_t* idx = indices(i);
        float* dist = distances(i);
        std::uint8_t* flag = flags(i);
        const auto count = static_cast<index_t>(offers.size());
        // A read-only walk first: most offers in a good graph are already there, and then nothing moves.
        {
            index_t r = 0, o = 0, out = 0, fresh_offers = 0;
            while (out < k && o < count) {
                const Offer& offer = offers[static_cast<std::size_t>(o)];
                if (r < k && idx[r] == offer.point) {
                    ++o;
                    continue;
                }
                if (r < k && idx[r] != no_point && before(dist[r], idx[r], offer.distance, offer.point)) {
                    ++r;
                } else {
                    ++o;
                    ++fresh_offers;
                }
                ++out;
            }
            if (fresh_offers == 0) return 0;
        }
        scratch.indices.assign(idx, idx + k);
        scratch.distances.assign(dist, dist + k);
        scratch.flags.assign(flag, flag + k);
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
                take_row = before(scratch.distances[static_cast<std::size_t>(r)], p, offer.distance, offer.point);
            }
            if (take_row) {
                idx[out] = scratch.indices[static_cast<std::size_t>(r)];
                dist[out] = scratch.distances[static_cast<std::size_t>(r)];
                flag[out] = scratch.flags[static_cast<std::size_t>(r)];
                ++r;
            } else {
                idx[out] = offers[static_cast<std::size_t>(o)].point;
                dist[out] = offers[static_cast<std::size_t>(o)].distance;
                flag[out] = fresh | recent;
                ++o;
                ++inserted;
            }
            ++out;
        }
        if (idx[k - 1] != no_point) worst_[static_cast<std::size_t>(i)].store(dist[k - 1], std::memory_order_relaxed);
        return inserted;
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
    point_t* index_;
    index_t n_, k_;
    std::vector<float> distance_;
    std::vector<std::uint8_t> flags_;
    std::unique_ptr<std::atomic<float>[]> worst_;
    std::unique_ptr<std::atomic<std::uint8_t>[]> lock_;
};

// --- 2. the first graph ---------------------------------------------------------------------------

// The k nearest neighbours of each point of a leaf among the leaf's points, offered to their rows. A
// leaf holds up to thousands of points: their pairs are screened by blocked float GEMM (as in
// knn/brute.cpp: the leaf centred on its mean and scaled by a power of two, then |q|^2 + |r|^2 - 2 q.r
// estimated for a block of queries against a block of references at once), each query keeps the
// `keep` best estimates, and only those get a working distance (panel_distances) and are offered. The
// float estimates only choose the candidates; the choice is a fixed function of the leaf (one thread
// runs it; Eigen's kernels are deterministic), so the graph stays the same for any thread count.
class LeafSearch {
  public:
    LeafSearch(const Points& x, index_t k, Rows& rows) : x_(x), k_(k), keep_(k + leaf_extra), rows_(rows) {
        g_.resize(leaf_query_block, leaf_reference_block);
        buffer_.resize(static_cast<std::size_t>(leaf_query_block * stride()));
        count_.resize(static_cast<std::size_t>(leaf_query_block));
        threshold_.resize(static_cast<std::size_t>(leaf_query_block));
    }

    void run(const point_t* members, index_t m) {
        members_ = members;
        prepare(m);
        for (index_t q0 = 0; q0 < m; q0 += leaf_query_block) {
            const index_t q1 = std::min(m, q0 + leaf_query_block);
            std::fill(count_.begin(), count_.end(), 0);
            // A point whose row is already full (from earlier trees) only wants leaf-mates nearer than its
            // worst entry: start its threshold there (as a bound on the squared Euclidean distance, in
            // the leaf's units, with a margin for rounding), so that most of its estimates are rejected
            // at once.
            for (index_t q = q0; q < q1; ++q) {
                const double worst =
                    euclidean_bound(x_.metric, static_cast<double>(rows_.worst(members_[q])), x_.cols);
                const double limit = worst * leaf_units_ * (1 + 1e-3) - static_cast<double>(norms_[static_cast<std::size_t>(q)]);
                threshold_[static_cast<std::size_t>(q - q0)] =
                    std::isfinite(limit) && limit < 4.0 * static_cast<double>(x_.cols) ? static_cast<float>(limit) : std::numeric_limits<float>::infinity();
            }
            // Reference blocks from the queries' own block outwards: the leaf is in a spatial order, so
            // the nearest come first, the thresholds drop at once and the rest are mostly skipped.
            const index_t blocks = (m + leaf_reference_block - 1) / leaf_reference_block;
            const index_t home = ((q0 + q1) / 2) / leaf_reference_block;
            for (index_t step = 0, visited = 0; visited < blocks; ++step) {
                const index_t b = step % 2 == 0 ? home + step / 2 : home - (step + 1) / 2;
                if (b < 0 || b >= blocks) continue;
                ++visited;
                scan(q0, q1 - q0, b * leaf_reference_block, std::min(m, (b + 1) * leaf_reference_block));
            }
            for (index_t q = q0; q < q1; ++q) offer(q, q - q0);
        }
    }

  private:
    using FloatRows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    struct Estimate {
        float value;
        index_t column;
    };

    index_t stride() const { return 2 * keep_ + leaf_chunk; }

    // The leaf's points in float: centred on their mean and scaled by a power of two so that every
    // |coordinate| < 1 (exact, and far from float's overflow and underflow whatever the data's scale).
    void prepare(index_t m) {
        const index_t d = x_.cols;
        mean_.assign(static_cast<std::size_t>(d), 0.0);
        for (index_t a = 0; a < m; ++a)
            for (index_t j = 0; j < d; ++j) mean_[static_cast<std::size_t>(j)] += x_(members_[a], j);
        for (double& v : mean_) v /= static_cast<double>(m);
        double spread = 0;
        for (index_t a = 0; a < m; ++a)
            for (index_t j = 0; j < d; ++j)
                spread = std::max(spread, std::abs(x_(members_[a], j) - mean_[static_cast<std::size_t>(j)]));
        int e = 0;
        if (spread > 0 && std::isfinite(spread)) std::frexp(spread, &e);
        leaf_units_ = std::ldexp(1.0, -2 * e);  // squared distances in the leaf's float units
        points_.resize(m, d);
        norms_.resize(static_cast<std::size_t>(m));
        for (index_t a = 0; a < m; ++a) {
            float norm = 0;
            for (index_t j = 0; j < d; ++j) {
                const auto v = static_cast<float>(std::ldexp(x_(members_[a], j) - mean_[static_cast<std::size_t>(j)], -e));
                points_(a, j) = v;
                norm += v * v;
            }
            norms_[static_cast<std::size_t>(a)] = norm;
        }
    }

    // Estimates |q - r|^2 - |q|^2 = |r|^2 - 2 q.r for queries [q0, q0 + rows) against references
    // [r0, r1); each query keeps those below its threshold, compacting to the best `keep` when full.
    void scan(index_t q0, index_t rows, index_t r0, index_t r1) {
        const index_t cols = r1 - r0;
        auto g = g_.topLeftCorner(rows, cols);
        g.noalias() = (-2.0f * points_.middleRows(q0, rows)) * points_.middleRows(r0, cols).transpose();
        const float* norms = norms_.data() + r0;
        for (index_t i = 0; i < rows; ++i) {
            const float* row = g_.data() + i * leaf_reference_block;
            const index_t self = q0 + i - r0;
            Estimate* buffer = buffer_.data() + i * stride();
            index_t count = count_[static_cast<std::size_t>(i)];
            float threshold = threshold_[static_cast<std::size_t>(i)];
            for (index_t j0 = 0; j0 < cols; j0 += leaf_chunk) {
                const index_t j1 = std::min(cols, j0 + leaf_chunk);
                int hits = 0;  // branch-free count first: once the threshold has dropped most chunks have none
                for (index_t j = j0; j < j1; ++j) hits += norms[j] + row[j] < threshold;
                if (hits == 0) continue;
                for (index_t j = j0; j < j1; ++j) {
                    const float estimate = norms[j] + row[j];
                    buffer[count] = {estimate, r0 + j};
                    count += static_cast<index_t>(estimate < threshold) & static_cast<index_t>(j != self);
                }
                if (count >= 2 * keep_) threshold = compact(buffer, count);
            }
            count_[static_cast<std::size_t>(i)] = count;
            threshold_[static_cast<std::size_t>(i)] = threshold;
        }
    }

    // Keeps the best `keep` estimates (ties by column, so the choice is a fixed function of the leaf);
    // returns the largest kept one, the new threshold.
    float compact(Estimate* buffer, index_t& count) const {
        std::nth_element(buffer, buffer + (keep_ - 1), buffer + count, [](const Estimate& a, const Estimate& b) {
            return a.value < b.value || (a.value == b.value && a.column < b.column);
        });
        count = keep_;
        return buffer[keep_ - 1].value;
    }

    // Working distances of query q's kept candidates, offered to its row.
    void offer(index_t q, index_t slot) {
        Estimate* buffer = buffer_.data() + slot * stride();
        index_t count = count_[static_cast<std::size_t>(slot)];
        if (count > keep_) compact(buffer, count);
        const point_t i = members_[q];
        chosen_.clear();
        for (index_t c = 0; c < count; ++c) chosen_.push_back(members_[buffer[c].column]);
        panel_.gather(x_, chosen_.data(), count);
        const double* distance = panel_.distances(x_.row(i), 0);
        const float worst = rows_.worst(i);
        offers_.clear();
        for (index_t c = 0; c < count; ++c) {
            const auto d = static_cast<float>(distance[c]);
            if (d <= worst) offers_.push_back({d, chosen_[static_cast<std::size_t>(c)]});
        }
        if (!offers_.empty()) rows_.merge(i, offers_, scratch_);
    }

    const Points& x_;
    index_t k_, keep_;
    Rows& rows_;
    const point_t* members_ = nullptr;
    std::vector<double> mean_;
    double leaf_units_ = 1;
    FloatRows points_, g_;
    std::vector<float> norms_;
    std::vector<Estimate> buffer_;
    std::vector<index_t> count_;
    std::vector<float> threshold_;
    std::vector<point_t> chosen_;
    Panel panel_;
    std::vector<Offer> offers_;
    MergeScratch scratch_;
};

// Offers every point of each leaf of `tree` its nearest leaf-mates. Leaves are disjoint, so each task
// owns its points' rows.
void merge_tree(const Points& x, const Tree& tree, int threads, Rows& rows) {
    const auto leaves = static_cast<index_t>(tree.leaf_begin.size()) - 1;
    parallel_for(
        leaves, threads,
        [&](index_t l0, index_t l1) {
            LeafSearch search(x, rows.k(), rows);
            for (index_t l = l0; l < l1; ++l) {
                const index_t first = tree.leaf_begin[static_cast<std::size_t>(l)];
                search.run(tree.order.data() + first, tree.leaf_begin[static_cast<std::size_t>(l + 1)] - first);
            }
        });
}

// --- 3. refinement --------------------------------------------------------------------------------

// Reverse neighbours: R(v) = points whose row holds v, at most `cap` per point, each with the fresh
// flag of its entry. Built serially from the graph at the start of a round: O(N k), small next to the
// round itself. Most points have more than `cap` reverse neighbours (the average is k), and which are
// kept matters. A point that few rows hold (in high dimension many points are such "antihubs") takes
// part in other points' local joins only through the reverse lists of its own neighbours, and those
// tend to be held by many rows: so the sources held by fewer than k / 2 rows are kept first, then the
// others. Within each class the rows are scanned in a different pseudo-random order every round, so
// that every reverse link gets its turn (in index order the high indices would never be kept).
struct ReverseLists {
    index_t cap = 0;
    std::vector<point_t> points;       // N cap
    std::vector<std::uint8_t> fresh;   // N cap: the entry (point -> v) is fresh
    std::vector<std::uint32_t> count;  // N
    std::vector<std::uint32_t> held;   // N: how many rows hold each point

    void build(const Rows& rows, std::uint64_t round_seed) {
        const index_t n = rows.n(), k = rows.k();
        if (points.empty()) {
            reserve_huge(points, static_cast<std::size_t>(n * cap));
            reserve_huge(fresh, static_cast<std::size_t>(n * cap));
        }
        points.resize(static_cast<std::size_t>(n * cap));
        fresh.resize(static_cast<std::size_t>(n * cap));
        count.assign(static_cast<std::size_t>(n), 0);
        if (cap == 0) return;
        held.assign(static_cast<std::size_t>(n), 0);
        for (index_t i = 0; i < n; ++i) {
            const point_t* row = rows.indices(i);
            for (index_t p = 0; p < k && row[p] != no_point; ++p) ++held[row[p]];
        }
        // i = (offset + j step) mod N visits every row once when gcd(step, N) = 1.
        const auto un = static_cast<std::uint64_t>(n);
        std::uint64_t step = round_seed % un;
        while (std::gcd(step, un) != 1) step = (step + 1) % un;
        const std::uint64_t offset = draw(round_seed, 1) % un;
        const auto rare = static_cast<std::uint32_t>(k / 2);
        for (const bool first_pass : {true, false}) {
            std::uint64_t i = offset;
            for (index_t j = 0; j < n; ++j, i = (i + step) % un) {
                if ((held[i] < rare) != first_pass) continue;
                const point_t* row = rows.indices(static_cast<index_t>(i));
                const std::uint8_t* flags = rows.flags(static_cast<index_t>(i));
                for (index_t p = 0; p < k && row[p] != no_point; ++p) {
                    std::uint32_t& c = count[row[p]];
                    if (c < cap) {
                        const auto slot = static_cast<std::size_t>(static_cast<index_t>(row[p]) * cap + c);
                        points[slot] = static_cast<point_t>(i);
                        fresh[slot] = flags[p] & ::treesne::detail::fresh;
                        ++c;
                    }
                }
            }
        }
    }
};

// The candidate lists of one point for one round: up to `candidates` new and `candidates` old points.
struct Lists {
    std::vector<point_t> points;  // block size * 2 * candidates: new ones, then old ones
    std::vector<index_t> new_count, old_count;
};

// One block of one round.
class Joiner {
  public:
    Joiner(const Points& x, index_t candidates, std::uint64_t round_seed)
        : x_(x), candidates_(candidates), seed_(round_seed) {}

    // Draws the new and old lists of v from its row and reverse list into list[0, 2 candidates), marks
    // the forward entries drawn into the new list as no longer fresh; returns (new count, old count).
    std::pair<index_t, index_t> draw_lists(index_t v, Rows& rows, const ReverseLists& reverse, point_t* list) {
        const index_t k = rows.k();
        const point_t* row = rows.indices(v);
        std::uint8_t* flags = rows.flags(v);
        pool_.clear();
        for (index_t p = 0; p < k && row[p] != no_point; ++p)
            pool_.push_back({row[p], (flags[p] & fresh) != 0, p});
        const index_t cap = reverse.cap;
        const std::uint32_t count = reverse.count[static_cast<std::size_t>(v)];
        for (index_t q = 0; q < count; ++q) {
            const auto slot = static_cast<std::size_t>(v * cap + q);
            pool_.push_back({reverse.points[slot], reverse.fresh[slot] != 0, -1});
        }
        // A point both in the row and in the reverse list counts once, new if either link is fresh.
        std::sort(pool_.begin(), pool_.end(), [](const Entry& a, const Entry& b) {
            return a.point < b.point || (a.point == b.point && a.position > b.position);
        });
        index_t kept = 0;
        for (std::size_t e = 0; e < pool_.size(); ++e) {
            if (kept > 0 && pool_[static_cast<std::size_t>(kept - 1)].point == pool_[e].point) {
                pool_[static_cast<std::size_t>(kept - 1)].fresh |= pool_[e].fresh;
                continue;
            }
            pool_[static_cast<std::size_t>(kept++)] = pool_[e];
        }
        pool_.resize(static_cast<std::size_t>(kept));
        // Priorities by hash, so the draw is a fixed function of (round, v, u).
        for (Entry& e : pool_) e.priority = draw(seed_ ^ static_cast<std::uint64_t>(v), e.point);
        auto by_priority = [](const Entry& a, const Entry& b) { return a.priority < b.priority; };
        const auto middle = std::partition(pool_.begin(), pool_.end(), [](const Entry& e) { return e.fresh; });
        const auto fresh_count = static_cast<index_t>(middle - pool_.begin());
        const auto old_count = kept - fresh_count;
        const index_t take_new = std::min(fresh_count, candidates_);
        const index_t take_old = std::min(old_count, candidates_);
        if (fresh_count > take_new) std::nth_element(pool_.begin(), pool_.begin() + take_new, middle, by_priority);
        if (old_count > take_old) std::nth_element(middle, middle + take_old, pool_.end(), by_priority);
        for (index_t e = 0; e < take_new; ++e) {
            const Entry& entry = pool_[static_cast<std::size_t>(e)];
            list[e] = entry.point;
            if (entry.position >= 0) flags[entry.position] &= static_cast<std::uint8_t>(~fresh);
        }
        for (index_t e = 0; e < take_old; ++e) list[take_new + e] = (middle + e)->point;
        return {take_new, take_old};
    }

    // The local join of v: every pair of its lists with a new member is compared, and each of the two
    // is offered to the other's row; v is offered to its new members' rows. A pair is offered only if it
    // is not farther than the row's worst entry at the start of the join (the worst entry only
    // improves, so a farther one could never enter); the offers to each member are then merged into its
    // row at once, under the row's lock. Returns the number of distances computed.
    index_t join(index_t v, point_t* list, index_t new_count, index_t old_count, Rows& rows) {
        const index_t m = new_count + old_count;
        list[m] = static_cast<point_t>(v);  // v goes last: its new members are offered v
        if (static_cast<index_t>(offers_.size()) < m) offers_.resize(static_cast<std::size_t>(m));
        worst_.resize(static_cast<std::size_t>(m));
        for (index_t a = 0; a < m; ++a) {
            worst_[static_cast<std::size_t>(a)] = rows.worst(list[a]);
            offers_[static_cast<std::size_t>(a)].clear();
        }
        // The members' rows are merged into at the end: start loading them.
        for (index_t a = 0; a < m; ++a) {
            const char* row = reinterpret_cast<const char*>(rows.distances(list[a]));
            const char* ids = reinterpret_cast<const char*>(rows.indices(list[a]));
            for (index_t line = 0; line < rows.k() * 4; line += 64) {
                __builtin_prefetch(row + line);
                __builtin_prefetch(ids + line);
            }
        }
        panel_.gather(x_, list, m + 1);
        auto offer = [&](index_t to, point_t point, float d) { offers_[static_cast<std::size_t>(to)].push_back({d, point}); };
        index_t computed = 0;
        for (index_t a = 0; a < new_count; ++a) {
            const double* d = panel_.distances(x_.row(list[a]), a + 1);
            const float worst_a = worst_[static_cast<std::size_t>(a)];
            const auto dv = static_cast<float>(d[m]);
            if (dv <= worst_a) offer(a, static_cast<point_t>(v), dv);
            for (index_t b = a + 1; b < m; ++b) {
                const auto dab = static_cast<float>(d[b]);
                if (dab <= worst_a) offer(a, list[b], dab);
                if (dab <= worst_[static_cast<std::size_t>(b)]) offer(b, list[a], dab);
            }
            computed += m - a;
        }
        for (index_t a = 0; a < m; ++a)
            if (!offers_[static_cast<std::size_t>(a)].empty())
                rows.merge_locked(list[a], offers_[static_cast<std::size_t>(a)], scratch_);
        return computed;
    }

  private:
    struct Entry {
        point_t point;
        bool fresh;
        index_t position;  // in v's row, or -1 for a reverse link only
        std::uint64_t priority = 0;
    };
    const Points& x_;
    index_t candidates_;
    std::uint64_t seed_;
    std::vector<Entry> pool_;
    Panel panel_;
    std::vector<float> worst_;
    std::vector<std::vector<Offer>> offers_;
    MergeScratch scratch_;
};

// --- 4. exact distances ---------------------------------------------------------------------------

// Replaces every row's working distances by rank_distance() and sorts it by (distance, tie key); a
// row that never filled up is answered by an exact scan. Returns the number of such rows.
index_t finish(ConstMatrixView x, Metric metric, int threads, NeighborGraph& graph) {
    const index_t k = graph.k;
    std::atomic<index_t> exact_rows{0};
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        std::vector<Neighbor> row;
        index_t exact = 0;
        for (index_t i = begin; i < end; ++i) {
            const point_t* indices = graph.indices.data() + i * k;
            if (indices[k - 1] == no_point) {
                exact_scan_row(x, i, k, row, graph, metric);
                ++exact;
                continue;
            }
            row.clear();
            for (index_t p = 0; p < k; ++p)
                row.push_back(
                    candidate(i, indices[p], rank_distance(metric, x.row(i), x.row(indices[p]), x.cols)));
            write_row(row, i, k, graph, metric);
        }
        exact_rows += exact;
    });
    return exact_rows.load();
}

void exact_scan_all(ConstMatrixView x, index_t k, Metric metric, int threads, NeighborGraph& graph) {
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        std::vector<Neighbor> scratch;
        for (index_t i = begin; i < end; ++i) exact_scan_row(x, i, k, scratch, graph, metric);
    });
}

}  // namespace

// Defaults, from benchmarks/nndescent_recall.cpp (k = 90, two threads; recall on sampled rows, wall time
// of the whole search, 2026-11-30):
//   Fashion-MNIST 70,000 (PCA-50), 8 trees, 60 candidates: recall 0.9999 in 13.4 s.
//   200,000 x 50 Gaussian clusters:  trees/candidates  8/60 0.980 in 35 s,  8/30 0.948 in 38 s,
//     8/20 0.908 in 38 s,  16/30 0.963 in 42 s,  16/20 0.933 in 44 s: fewer candidates need more
//     rounds, and a round's cost is mostly memory traffic, not distances, so 60 is no slower.
//   1,000,000 x 50 Gaussian clusters, 8/60: recall 0.890 in 208 s (7 rounds; the rounds stop changing
//     the graph well before recall 1 on data of intrinsic dimension 50).
NndescentParameters resolve_nndescent(const NeighborOptions& options, index_t n, index_t k) {
    (void)n;
    (void)k;
    NndescentParameters p;
    p.trees = options.nndescent_trees > 0 ? options.nndescent_trees : 8;
    p.leaf_size = options.nndescent_leaf_size > 0 ? options.nndescent_leaf_size : 100;
    p.rounds = options.nndescent_rounds > 0 ? options.nndescent_rounds : 10;
    p.candidates = 60;
    p.reverse_cap = 32;
    p.stop_fraction = 0.001;
    p.block = 4096;
    p.metric = options.metric;
    return p;
}

NeighborGraph knn_nndescent(ConstMatrixView x, index_t k, const NndescentParameters& p, int threads,
                            NndescentReport* report, const SearchProgress& progress) {
    // Shares of the time for progress (1,000,000 x 50 on two cores, 199 s: forest and relabelling 3 %,
    // first graph 15 %, 7 rounds 75 %, exact distances 7 %); the rounds count as if all p.rounds were
    // run, so the estimate is pessimistic when the graph settles early.
    constexpr double forest_end = 0.03, first_graph_end = 0.18, rounds_end = 0.93;
    auto report_progress = [&](double fraction) {
        if (progress) progress(fraction);
    };
    NndescentReport local;
    NndescentReport& r = report ? *report : local;
    r = NndescentReport{};
    const index_t n = x.rows;
    auto start = std::chrono::steady_clock::now();
    // Small inputs: the exact scan costs about as much as one round, and settles k close to N exactly.
    if (n <= std::max<index_t>(4 * (k + 1), p.leaf_size)) {
        NeighborGraph graph = allocate_graph(n, k);
        exact_scan_all(x, k, p.metric, threads, graph);
        r.exact_rows = n;
        r.finish_seconds = seconds_since(start);
        return graph;
    }
    NeighborGraph graph;
    graph.n = n;
    graph.k = k;
    reserve_huge(graph.indices, static_cast<std::size_t>(n * k));
    graph.indices.resize(static_cast<std::size_t>(n * k));
    // The search runs on relabelled points: label s is input point order[s], in the first tree's order.
    std::vector<point_t> order;
    std::vector<point_t> label(static_cast<std::size_t>(n));  // input point -> label
    {
        Points points(x, p.metric, threads);

        // 1. The forest, one task per tree, over the input's labels; then everything is relabelled.
        std::vector<Tree> trees(static_cast<std::size_t>(p.trees));
        parallel_for(
            p.trees, threads,
            [&](index_t t0, index_t t1) {
                for (index_t t = t0; t < t1; ++t)
                    trees[static_cast<std::size_t>(t)] =
                        TreeBuilder(points, p.leaf_size, draw(nndescent_seed, static_cast<std::uint64_t>(t))).build();
            },
            1);
        order = trees.front().order;
        for (index_t s = 0; s < n; ++s) label[order[static_cast<std::size_t>(s)]] = static_cast<point_t>(s);
        gather_rows_in_place(points.data.data(), points.cols, order);
        for (Tree& tree : trees)
            parallel_for(n, threads, [&](index_t begin, index_t end) {
                for (index_t s = begin; s < end; ++s)
                    tree.order[static_cast<std::size_t>(s)] = label[tree.order[static_cast<std::size_t>(s)]];
            });
        r.forest_seconds = seconds_since(start);
        report_progress(forest_end);

        Rows rows(graph.indices, n, k);
        // 2. The first graph, tree by tree.
        start = std::chrono::steady_clock::now();
        for (std::size_t t = 0; t < trees.size(); ++t) {
            merge_tree(points, trees[t], threads, rows);
            std::vector<point_t>().swap(trees[t].order);
            report_progress(forest_end + (first_graph_end - forest_end) * static_cast<double>(t + 1) /
                                             static_cast<double>(trees.size()));
        }
        trees.clear();
        std::fill(rows.all_flags().begin(), rows.all_flags().end(), fresh);
        r.init_seconds = seconds_since(start);

        // 3. Refinement rounds, block by block in label order (the spatial order of the first tree).
        start = std::chrono::steady_clock::now();
        ReverseLists reverse;
        reverse.cap = p.reverse_cap;
        const index_t block = std::min(p.block, n);
        const index_t width = 2 * p.candidates + 1;  // the new and old lists, and room for v
        std::vector<point_t> lists(static_cast<std::size_t>(block * width));
        std::vector<std::pair<index_t, index_t>> counts(static_cast<std::size_t>(block));
        for (index_t round = 0; round < p.rounds; ++round) {
            const std::uint64_t round_seed = draw(nndescent_seed, ~static_cast<std::uint64_t>(round));
            reverse.build(rows, round_seed);
            std::atomic<index_t> computed{0};
            for (index_t b0 = 0; b0 < n; b0 += block) {
                const index_t size = std::min(block, n - b0);
                // All lists of the block first: drawing changes the flags of the block's own rows, which
                // the joins below may read and write.
                parallel_for(size, threads, [&](index_t begin, index_t end) {
                    Joiner joiner(points, p.candidates, round_seed);
                    for (index_t s = begin; s < end; ++s)
                        counts[static_cast<std::size_t>(s)] =
                            joiner.draw_lists(b0 + s, rows, reverse, lists.data() + s * width);
                });
                parallel_for(size, threads, [&](index_t begin, index_t end) {
                    Joiner joiner(points, p.candidates, round_seed);
                    index_t local_computed = 0;
                    for (index_t s = begin; s < end; ++s) {
                        const auto [fresh_count, old_count] = counts[static_cast<std::size_t>(s)];
                        local_computed += joiner.join(b0 + s, lists.data() + s * width, fresh_count, old_count, rows);
                    }
                    computed += local_computed;
                });
            }
            // Entries inserted during this round and still there; then the next round starts afresh.
            std::vector<std::uint8_t>& flags = rows.all_flags();
            const index_t changed = static_cast<index_t>(parallel_sum(
                static_cast<index_t>(flags.size()), threads, [&](index_t begin, index_t end) {
                    index_t c = 0;
                    for (index_t e = begin; e < end; ++e) {
                        c += (flags[static_cast<std::size_t>(e)] & recent) != 0 ? 1 : 0;
                        flags[static_cast<std::size_t>(e)] &= static_cast<std::uint8_t>(~recent);
                    }
                    return static_cast<double>(c);
                }));
            r.changes.push_back(changed);
            r.distances.push_back(computed.load());
            ++r.rounds;
            report_progress(first_graph_end + (rounds_end - first_graph_end) * static_cast<double>(round + 1) /
                                                  static_cast<double>(p.rounds));
            if (static_cast<double>(changed) <= p.stop_fraction * static_cast<double>(n * k)) break;
        }
        r.refine_seconds = seconds_since(start);
    }
    // Back to the input's labels: the entries, then the rows (in place: no second N k array).
    start = std::chrono::steady_clock::now();
    parallel_for(n * k, threads, [&](index_t begin, index_t end) {
        for (index_t e = begin; e < end; ++e) {
            point_t& entry = graph.indices[static_cast<std::size_t>(e)];
            if (entry != no_point) entry = order[entry];
        }
    });
    gather_rows_in_place(graph.indices.data(), k, label);

    // 4. Exact distances and the project's order (the working rows are freed first).
    graph.distances.resize(static_cast<std::size_t>(n * k));
    r.exact_rows = finish(x, p.metric, threads, graph);
    r.finish_seconds = seconds_since(start);
    report_progress(1.0);
    return graph;
}

NeighborGraph knn_nndescent(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads,
                            const SearchProgress& progress) {
    return knn_nndescent(x, k, resolve_nndescent(options, x.rows, k), threads, nullptr, progress);
}

}  // namespace treesne::detail
