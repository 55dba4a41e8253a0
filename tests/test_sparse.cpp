// CSR feature matrices (core/sparse): assembly from triplets (duplicates summed, zeros dropped, order
// within rows), the invariants' check, and the dense round trip.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "treesne/core/errors.hpp"
#include "treesne/core/sparse.hpp"

namespace treesne {

TEST_CASE("from_triplets: rows sorted by column, duplicates summed in order, zeros dropped") {
    const CsrMatrix m = from_triplets(3, 5,
                                      {{2, 4, 1.5}, {0, 3, 2.0}, {0, 1, -1.0}, {2, 0, 0.25}, {0, 3, 0.5},
                                       {2, 2, 1.0}, {2, 2, -1.0}, {1, 1, 0.0}});
    CHECK(csr_matrix_defect(m) == "");
    CHECK(m.offsets == std::vector<index_t>{0, 2, 2, 4});
    CHECK(m.columns == std::vector<point_t>{1, 3, 0, 4});
    CHECK(m.values == std::vector<double>{-1.0, 2.5, 0.25, 1.5});
    const Matrix dense = to_dense(m);
    CHECK(dense(0, 3) == 2.5);
    CHECK(dense(2, 2) == 0.0);
    CHECK(to_csr(dense) == m);
}

TEST_CASE("from_triplets: entries outside the shape and non-finite values are refused, named") {
    CHECK_THROWS_WITH_AS(from_triplets(2, 3, {{2, 0, 1.0}}), "sparse matrix: entry (2, 0) outside its 2 x 3 shape",
                         InvalidArgument);
    CHECK_THROWS_WITH_AS(from_triplets(2, 3, {{1, 3, 1.0}}), "sparse matrix: entry (1, 3) outside its 2 x 3 shape",
                         InvalidArgument);
    CHECK_THROWS_AS(from_triplets(2, 3, {{1, 1, std::nan("")}}), InvalidArgument);
    const double big = std::numeric_limits<double>::max();
    CHECK_THROWS_WITH_AS(from_triplets(2, 3, {{1, 1, big}, {1, 1, big}}),
                         "sparse matrix: the entries at (1, 1) add up to a non-finite value", InvalidArgument);
    CHECK_THROWS_AS(from_triplets(2, 0, {}), InvalidArgument);
}

TEST_CASE("csr_matrix_defect names the lowest row's defect") {
    CsrMatrix m = from_triplets(3, 4, {{0, 1, 1.0}, {1, 2, 2.0}, {1, 3, 3.0}, {2, 0, 4.0}});
    REQUIRE(csr_matrix_defect(m) == "");
    CsrMatrix bad = m;
    bad.columns[2] = 2;
    CHECK(csr_matrix_defect(bad) == "row 1: columns not increasing (2 after 2)");
    bad = m;
    bad.columns[3] = 4;
    CHECK(csr_matrix_defect(bad) == "row 2: column 4 outside [0, 4)");
    bad = m;
    bad.values[0] = 0.0;
    CHECK(csr_matrix_defect(bad) == "row 0, column 1: an explicit zero is stored");
    bad = m;
    bad.values[1] = std::numeric_limits<double>::infinity();
    CHECK(csr_matrix_defect(bad) == "row 1, column 2: value inf");
    bad = m;
    bad.offsets[2] = 0;
    CHECK(csr_matrix_defect(bad) == "row 1: offsets decrease (0 after 1)");
    bad = m;
    bad.offsets[1] = 1000;  // far past the entries, then smaller: refused before any entry is read
    CHECK(csr_matrix_defect(bad) == "row 1: offsets decrease (3 after 1000)");
}

}  // namespace treesne
