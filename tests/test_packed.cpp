// PackedAffinities, the P the optimisation holds: packing is lossless (rows of 2-, 3- and 4-byte offsets,
// empty rows), symmetrize_packed() is symmetrize() packed, every sum over a packed P is the unpacked
// one's bit for bit whatever width a row takes, and a Session's fingerprint of P is the one of the
// unpacked arrays (checkpoints of earlier versions still resume).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/affinities/packed.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

index_t two_byte_entries(const PackedAffinities& p) {
    index_t count = 0;
    for (index_t i = 0; i < p.n; ++i)
        if (p.width(i) == 2) count += p.offsets[i + 1] - p.offsets[i];
    return count;
}

// A neighbour graph of n points: each lists its next three, and every fifth also the point `far` labels
// ahead, so that P has rows spanning more than 65,535 labels (3-byte offsets) among 2-byte ones.
// Conditionals summing to 1 per row.
void near_and_far_graph(index_t n, index_t far, NeighborGraph& g, std::vector<float>& c) {
    const index_t k = 4;
    g.n = n;
    g.k = k;
    g.indices.clear();
    c.clear();
    for (index_t i = 0; i < n; ++i) {
        const index_t last = i % 5 == 0 ? (i + far) % n : (i + 4) % n;
        for (index_t j : {(i + 1) % n, (i + 2) % n, (i + 3) % n, last}) g.indices.push_back(static_cast<point_t>(j));
        for (float v : {0.4f, 0.3f, 0.2f, 0.1f}) c.push_back(v);
    }
    g.distances.assign(g.indices.size(), 1.0);
}

// The same P with row i's offsets stored 4 bytes wide (a form pack() never makes for a narrow row, but a
// valid one), appended at the end of the bytes.
PackedAffinities widened(PackedAffinities p, index_t i) {
    std::vector<std::uint32_t> offsets;
    for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) offsets.push_back(p.column(i, e) - p.first[i]);
    const std::size_t at = p.bytes.size() - packed_padding;
    p.bytes.resize(at + offsets.size() * 4 + packed_padding);
    std::memcpy(p.bytes.data() + at, offsets.data(), offsets.size() * 4);
    p.where[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(at) << 2 | 2u;
    return p;
}

}  // namespace

TEST_CASE("packed P: lossless for narrow, wide and empty rows; symmetrize_packed is symmetrize packed") {
    NeighborGraph g;
    std::vector<float> c;
    near_and_far_graph(100'000, 70'000, g, c);
    const Affinities p = symmetrize(g, c, 2);
    const PackedAffinities packed = pack(p, 2, Packing::always);
    CHECK_FALSE(pack(p, 2).packed);  // automatic: P this small keeps its 32-bit columns
    CHECK(unpack(pack(p, 2)).columns == p.columns);
    index_t two = 0, three = 0;
    for (index_t i = 0; i < packed.n; ++i) (packed.width(i) == 2 ? two : three) += 1;
    MESSAGE("rows of 2-byte offsets ", two, ", of 3-byte ", three);
    CHECK(two > 50'000);
    CHECK(three > 10'000);
    const Affinities back = unpack(packed);
    CHECK(back.offsets == p.offsets);
    CHECK(back.columns == p.columns);
    CHECK(back.values == p.values);
    CHECK(packed.bytes.size() == static_cast<std::size_t>(2 * two_byte_entries(packed) + 3 * (p.nnz() - two_byte_entries(packed)) + packed_padding));
    for (const int threads : {1, 2, 3}) {
        for (const index_t chunk : {index_t{1}, index_t{4099}, index_t{1} << 22}) {
            CAPTURE(threads);
            CAPTURE(chunk);
            const PackedAffinities s = detail::symmetrize_packed(g, c, threads, Packing::always, chunk);
            CHECK(s.offsets == packed.offsets);
            CHECK(s.first == packed.first);
            CHECK(s.where == packed.where);
            CHECK(s.bytes == packed.bytes);
            CHECK(s.values == packed.values);
        }
    }

    SUBCASE("the widths' edges: spans of 65,535 and 2^24 - 1 and beyond, an empty row, the last columns") {
        Affinities q;
        q.n = 6;  // the format needs neither symmetry nor columns below n: only its own invariants
        q.offsets.assign(static_cast<std::size_t>(q.n + 1), 0);
        const std::vector<std::vector<point_t>> rows = {{1, 65'536},         {0, 65'537},       {},
                                                        {5, 16'777'220},     {3, 16'777'219},   {0, 4'294'967'294}};
        for (std::size_t r = 0; r < rows.size(); ++r) {
            for (point_t j : rows[r]) {
                q.columns.push_back(j);
                q.values.push_back(0.25f);
            }
            q.offsets[r + 1] = static_cast<index_t>(q.columns.size());
        }
        const PackedAffinities pq = pack(q, 1, Packing::always);
        CHECK(pq.width(0) == 2);
        CHECK(pq.width(1) == 3);
        CHECK(pq.width(2) == 2);
        CHECK(pq.width(3) == 3);
        CHECK(pq.width(4) == 4);
        CHECK(pq.width(5) == 4);
        const Affinities r = unpack(pq);
        CHECK(r.columns == q.columns);
        CHECK(r.offsets == q.offsets);
    }
}

TEST_CASE("packed P: attraction and KL are the same bits whatever width a row takes, and exact") {
    NeighborGraph g;
    std::vector<float> c;
    near_and_far_graph(80'000, 70'000, g, c);
    const PackedAffinities p = detail::symmetrize_packed(g, c, 2, Packing::always);
    PackedAffinities all_wide = p;
    for (index_t i = 0; i < 2000; ++i) all_wide = widened(std::move(all_wide), i);
    const PackedAffinities plain = detail::symmetrize_packed(g, c, 2, Packing::never);
    REQUIRE_FALSE(plain.packed);
    const Matrix y = random_matrix(p.n, 2, 5);
    Matrix a(p.n, 2), b(p.n, 2), f_plain(p.n, 2);
    attractive_forces(p, y, a.view(), 2);
    attractive_forces(all_wide, y, b.view(), 2);
    attractive_forces(plain, y, f_plain.view(), 2);
    CHECK(a == b);
    CHECK(a == f_plain);
    CHECK(sparse_kl(p, y, 3.5, 2) == sparse_kl(all_wide, y, 3.5, 2));
    CHECK(sparse_kl(p, y, 3.5, 2) == sparse_kl(plain, y, 3.5, 2));
    // And the definition, F_i = sum_j p_ij (1 + |y_i - y_j|^2)^-1 (y_i - y_j), in double.
    const Affinities u = unpack(p);
    double worst = 0;
    for (index_t i = 0; i < 3000; ++i) {
        double f[2] = {0, 0};
        for (index_t e = u.offsets[i]; e < u.offsets[i + 1]; ++e) {
            const index_t j = u.columns[static_cast<std::size_t>(e)];
            const double dx = y(i, 0) - y(j, 0), dy = y(i, 1) - y(j, 1);
            const double w = static_cast<double>(u.values[static_cast<std::size_t>(e)]) / (1 + dx * dx + dy * dy);
            f[0] += w * dx;
            f[1] += w * dy;
        }
        for (int d = 0; d < 2; ++d) worst = std::max(worst, std::abs(a(i, d) - f[d]) / (std::abs(f[d]) + 1e-300));
    }
    CHECK(worst < 1e-12);
}

TEST_CASE("packed P: a Session's fingerprint is the hash of the unpacked offsets, columns and values") {
    NeighborGraph g;
    std::vector<float> c;
    near_and_far_graph(70'000, 69'000, g, c);
    const Affinities p = symmetrize(g, c, 2);
    Options o;
    o.threads = 2;
    const Session s(p, random_matrix(p.n, 2, 3, 1e-4), o);  // P this small: kept unpacked
    const Session packed(pack(p, 2, Packing::always), random_matrix(p.n, 2, 3, 1e-4), o, {},
                         detail::ValidatedAffinities{});
    // The definition the checkpoints of earlier versions recorded: one WordHasher over the method, n and
    // the three arrays.
    WordHasher h;
    h.word(static_cast<std::uint64_t>(Method::barnes_hut));
    h.word(static_cast<std::uint64_t>(p.n));
    h.bytes(p.offsets.data(), p.offsets.size() * sizeof(index_t));
    h.bytes(p.columns.data(), p.columns.size() * sizeof(point_t));
    h.bytes(p.values.data(), p.values.size() * sizeof(float));
    CHECK(s.affinities_fingerprint() == h.value());
    CHECK(packed.affinities_fingerprint() == h.value());
}

TEST_CASE("StreamHasher: an array fed in pieces of any sizes hashes as one WordHasher::bytes call") {
    std::vector<unsigned char> data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 37 + 11);
    for (const std::size_t size : {std::size_t{0}, std::size_t{7}, std::size_t{8}, std::size_t{13}, std::size_t{1000}}) {
        WordHasher one;
        one.word(42);
        one.bytes(data.data(), size);
        for (const std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{8}, std::size_t{9}, std::size_t{64}}) {
            CAPTURE(size);
            CAPTURE(piece);
            StreamHasher s;
            s.word(42);
            for (std::size_t at = 0; at < size; at += piece) s.feed(data.data() + at, std::min(piece, size - at));
            s.end_array();
            CHECK(s.value() == one.value());
        }
    }
}
