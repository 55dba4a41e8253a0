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

// One rank's part of the search: its rows of the graph (global indices, rank distances, fresh flags),
// the offers pending for them, and the collective steps. Every public method is collective. Not
// thread-safe; each method runs its own parallel loops (threads: 0 = all).
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
        pending_index_.assign(entries, no_point);
        pending_distance_.assign(entries, 0.0);
        pending_count_.assign(static_cast<std::size_t>(m_), 0);
    }

    // Step 1 (nndescent_forest.cpp): the trees' leaf-mates offered and settled into the rows.
    void forest(const std::function<void(double)>& progress);
    // Rows still short of k completed with hashed random points; every entry then fresh.
    void fill();
    // One synchronous round of local joins (round r); returns the entries inserted into own rows.
    index_t round(index_t r);
    // The own rows as a NeighborGraph (global indices, reported distances).
    NeighborGraph graph() const;
    // Each own row becomes the k best of itself and its pending offers; returns the entries inserted.
    index_t settle();

  private:
    bool full(index_t i) const { return index_[static_cast<std::size_t>(i * k_ + k_ - 1)] != no_point; }
    double worst(index_t i) const {
        return full(i) ? distance_[static_cast<std::size_t>(i * k_ + k_ - 1)] : std::numeric_limits<double>::infinity();
    }
    double distance(const double* a, const double* b) const { return detail::rank_distance(p_.metric, a, b, x_.cols); }
    Fetched fetch(const std::vector<point_t>& points, bool held = false);
    void deliver(std::vector<Offer>& offers);
    void take(index_t i, const Offer* offers, index_t count, std::vector<Neighbor>& scratch);
    std::vector<std::vector<index_t>> forest_leaves();
    void leaf_offers(const std::vector<index_t>& leaf);
    struct Reverse {
        std::vector<index_t> start;  // own point v's links: from[start[v], start[v + 1])
        std::vector<point_t> from;
        std::vector<std::uint8_t> fresh;
    };
    Reverse reverse_links(std::uint64_t seed) const;
    std::pair<index_t, index_t> draw_lists(index_t v, std::uint64_t seed, const Reverse& reverse, point_t* list);
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
    void join_batch_of(index_t lo, index_t hi, const std::vector<point_t>& lists,
                       const std::vector<std::pair<index_t, index_t>>& counts);
    std::vector<index_t> batch_cuts(const std::vector<point_t>& lists,
                                    const std::vector<std::pair<index_t, index_t>>& counts) const;

    Collective& c_;
    ConstMatrixView x_;
    const RowPartition& rows_;
    NndescentParameters p_;
    index_t k_, first_ = 0, m_ = 0, n_ = 0;
    int threads_;
    std::vector<point_t> index_;  // own rows, sorted by (distance, tie key); no_point past the last
    std::vector<double> distance_;
    std::vector<std::uint8_t> fresh_;
    std::vector<point_t> pending_index_;  // the k best offers of this round, per own row, unsorted
    std::vector<double> pending_distance_;
    std::vector<index_t> pending_count_;
    std::vector<index_t> order_;  // own points in the first tree's leaf order (the batches of the joins)
};

}  // namespace treesne::dist::nnd
