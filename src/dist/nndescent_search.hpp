// The distributed nndescent's working parts, shared by nndescent.cpp (fetching, offers, rounds, the
// driver) and nndescent_forest.cpp (the first graph): the search state of one rank (Search) and the
// values it passes between ranks. Private to src/dist; the algorithm is described in nndescent.cpp.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "knn/internal.hpp"
#include "treesne/core/collective.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/knn/graph.hpp"

namespace treesne::dist::nnd {

using detail::Neighbor;
using detail::NndescentParameters;

// The search's randomness: a constant, as the single process's nndescent_seed (the graph must not
// change with the embedding's seed); distinct from it, since the two searches differ anyway.
inline constexpr std::uint64_t dist_seed = 0x646e6e2d72616e6bull;
// An empty slot of a row that is not yet full.
inline constexpr point_t no_point = std::numeric_limits<point_t>::max();
// A batch of joins: at most batch_points own points (bounds its offers) whose candidates are at most
// batch_rows distinct rows (bounds the fetched rows); fewer, larger batches fetch each row fewer times.
inline constexpr index_t batch_points = 8192;
inline constexpr index_t batch_rows = 32768;
// Reverse links sent a round (each rank), and the points whose leaves one round of a tree's leaf offers
// covers (all ranks): they bound the round's buffers.
inline constexpr index_t reverse_batch = index_t{1} << 20;
inline constexpr index_t leaf_batch = 16384;
// A round's phases: each draws the lists of its points (a hash of the round and the point picks the
// phase) from the graph as the phases before left it, so that only its points' lists are held.
inline constexpr index_t round_phases = 2;
// Levels of a tree before a node becomes a leaf whatever its size (duplicates split by hash anyway).
inline constexpr index_t max_levels = 48;
// The share of the progress bar given to the forest (the rounds share the rest).
inline constexpr double forest_share = 0.2;

// A pseudo-random word for (a, b): splitmix64's mixer over both, no state.
inline std::uint64_t draw(std::uint64_t a, std::uint64_t b) { return mix64(splitmix64_at(a) ^ b); }

index_t largest_of(Collective& c, index_t v);
index_t sum_of(Collective& c, index_t v);

// An offer of `point` to the row of `target`, at their rank distance.
struct Offer {
    double distance;
    point_t target, point;
};

// Rows fetched from their owners: sorted global indices, their coordinates, worst distances and (if
// asked for) their rows' points, to skip offers a row already holds.
struct Fetched {
    std::vector<point_t> points;
    std::vector<double> coords, worst;
    std::vector<point_t> held;  // k a point (a row's entries, no_point past its last), or empty
    index_t d = 0, k = 0;
    index_t slot(point_t p) const {
        return static_cast<index_t>(std::lower_bound(points.begin(), points.end(), p) - points.begin());
    }
    const double* row(index_t s) const { return coords.data() + s * d; }
    const point_t* held_by(index_t s) const { return held.data() + s * k; }
};

// An entry's flags: fresh (not yet drawn into a new list) and recent (inserted in this round or step).
inline constexpr std::uint8_t fresh_bit = 1, recent_bit = 2;

// One rank's part of the search: its rows of the graph (global indices, rank distances, flags) and
// the collective steps. Offers are merged into the rows as they arrive (take): a row is always the k
// best of itself at the step's start and the offers received so far, so at the step's end it is the k
// best of all of them whatever their order. Every public method is collective. Not thread-safe; each
// method runs its own parallel loops (threads: 0 = all).
class Search {
  public:
    // own: this rank's rows of the data (for cosine the unit rows); rows: every rank's range.
    Search(Collective& collective, ConstMatrixView own, const RowPartition& rows, index_t k,
           const NndescentParameters& p, int threads)
        : c_(collective), x_(own), rows_(rows), p_(p), k_(k), threads_(threads) {
        first_ = rows.begin(c_.rank());
        m_ = own.rows;
        n_ = rows.first.back();
        const auto entries = static_cast<std::size_t>(m_ * k_);
        index_.assign(entries, no_point);
        distance_.assign(entries, 0.0);
        fresh_.assign(entries, 0);
    }

    // Step 1 (nndescent_forest.cpp): the trees' leaf-mates offered and merged into the rows.
    void forest(const std::function<void(double)>& progress);
    // Rows still short of k completed with hashed random points; every entry then fresh.
    void fill();
    // One synchronous round of local joins (round r); returns the entries inserted into own rows.
    index_t round(index_t r);
    // The own rows as a NeighborGraph (global indices, reported distances); the search is spent.
    NeighborGraph take_graph();
    // The entries inserted since the last call (still in their rows); their recent marks are cleared.
    index_t take_recent();

  private:
    bool full(index_t i) const { return index_[static_cast<std::size_t>(i * k_ + k_ - 1)] != no_point; }
    double worst(index_t i) const {
        return full(i) ? distance_[static_cast<std::size_t>(i * k_ + k_ - 1)] : std::numeric_limits<double>::infinity();
    }
    double distance(const double* a, const double* b) const { return detail::rank_distance(p_.metric, a, b, x_.cols); }
    void fetch(const std::vector<point_t>& points, bool held, Fetched& f);
    void release_buffers();
    void deliver(std::vector<Offer>& offers);
    struct Merging {  // a row's entry or an offer while a row is merged
        Neighbor n;
        std::uint8_t flags, offered;
    };
    void take(index_t i, const Offer* offers, index_t count, std::vector<Merging>& scratch);
    std::vector<std::vector<index_t>> forest_leaves(std::vector<index_t>& leaves);
    void leaf_offers(const std::vector<index_t>& leaf, index_t leaves);
    void offer_leaves(index_t first_leaf, index_t last_leaf, const std::vector<index_t>& leaf);
    struct Reverse {
        index_t cap = 0;
        std::vector<index_t> count;  // own point v's links: from[v cap, v cap + count[v]), by priority
        std::vector<point_t> from;
        std::vector<std::uint8_t> fresh;
    };
    void keep_links(Reverse& r, std::uint64_t seed, const std::vector<unsigned char>& in,
                    const std::vector<index_t>& slots) const;
    struct Phase;
    Reverse reverse_links(std::uint64_t seed, index_t which, const Phase& phase) const;
    std::pair<index_t, index_t> draw_lists(index_t v, index_t slot, std::uint64_t seed, const Reverse& reverse, point_t* list);
    struct JoinScratch {
        std::vector<index_t> slot;
        std::vector<double> panel, screen;
        std::vector<point_t> keys;  // a hash table: point -> its column in the join
        std::vector<index_t> column;
        std::vector<std::uint64_t> held;  // bit b of member a's `words` words: a's row holds column b's point
        index_t words = 0;
        bool holds(index_t a, index_t b) const {
            return (held[static_cast<std::size_t>(a * words + b / 64)] >> (b % 64) & 1) != 0;
        }
    };
    void held_pairs(const point_t* list, index_t members, point_t v, const Fetched& f, JoinScratch& w) const;
    void join(index_t v, const point_t* list, std::pair<index_t, index_t> count, const Fetched& f, JoinScratch& w,
              std::vector<Offer>& out) const;
    struct Phase {  // a phase's own points in the join order, each own point's place among them (or -1),
                    // their lists (2 candidates each) and counts
        std::vector<index_t> points, slot;
        std::vector<point_t> lists;
        std::vector<std::pair<index_t, index_t>> counts;
    };
    bool in_phase(point_t g, std::uint64_t seed, index_t phase) const;
    void join_phase(std::uint64_t seed, index_t phase);
    void join_batch_of(const Phase& phase, index_t lo, index_t hi);
    std::vector<index_t> batch_cuts(const Phase& phase) const;

    Collective& c_;
    ConstMatrixView x_;
    const RowPartition& rows_;
    NndescentParameters p_;
    index_t k_, first_ = 0, m_ = 0, n_ = 0;
    int threads_;
    std::vector<point_t> index_;  // own rows, sorted by (distance, tie key); no_point past the last
    std::vector<double> distance_;
    std::vector<std::uint8_t> fresh_;  // fresh_bit | recent_bit
    std::vector<index_t> order_;  // own points in the first tree's leaf order (the batches of the joins)
    // An exchange's buffers, kept from one batch to the next: a fresh buffer of a few MB costs its page
    // faults every time (the CLI's malloc maps every allocation of 1 MiB or more anew).
    struct Buffers {
        std::vector<std::vector<unsigned char>> to_each;
        std::vector<unsigned char> in;
        std::vector<std::size_t> from;
        void prepare(int ranks) {
            to_each.resize(static_cast<std::size_t>(ranks));
            for (auto& bytes : to_each) bytes.clear();
        }
    };
    Buffers ask_, answer_, offered_;
    Fetched fetched_;                     // a batch's candidates
    std::vector<Offer> offers_;  // a batch's offers, sent, then those received
};

}  // namespace treesne::dist::nnd
