// CSR feature matrices: assembly from triplets, the invariants' check, dense conversions.
#include "treesne/core/sparse.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "treesne/core/errors.hpp"

namespace treesne {

CsrMatrix from_triplets(index_t rows, index_t cols, std::vector<Triplet> entries) {
    require(rows >= 0, "sparse matrix: negative row count ", rows);
    require(cols >= 1, "sparse matrix: needs at least 1 column; got ", cols);
    require(cols <= static_cast<index_t>(std::numeric_limits<point_t>::max()),
            "sparse matrix: at most 4294967295 columns; got ", cols);
    CsrMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.offsets.assign(static_cast<std::size_t>(rows + 1), 0);
    for (const Triplet& t : entries) {
        require(t.row >= 0 && t.row < rows && t.col >= 0 && t.col < cols, "sparse matrix: entry (", t.row,
                ", ", t.col, ") outside its ", rows, " x ", cols, " shape");
        require(std::isfinite(t.value), "sparse matrix: entry (", t.row, ", ", t.col, ") is ", t.value,
                "; values must be finite");
        ++m.offsets[static_cast<std::size_t>(t.row + 1)];
    }
    for (index_t i = 0; i < rows; ++i) m.offsets[static_cast<std::size_t>(i + 1)] += m.offsets[static_cast<std::size_t>(i)];
    // Counting sort by row, stable: duplicates keep the order they were given in.
    m.columns.resize(entries.size());
    m.values.resize(entries.size());
    {
        std::vector<index_t> next(m.offsets.begin(), m.offsets.end() - 1);
        for (const Triplet& t : entries) {
            const auto at = static_cast<std::size_t>(next[static_cast<std::size_t>(t.row)]++);
            m.columns[at] = static_cast<point_t>(t.col);
            m.values[at] = t.value;
        }
    }
    std::vector<Triplet>().swap(entries);
    index_t row = 0;
    point_t col = 0;
    require(detail::canonicalize_rows(m, &row, &col), "sparse matrix: the entries at (", row, ", ", col,
            ") add up to a non-finite value");
    m.columns.shrink_to_fit();
    m.values.shrink_to_fit();
    return m;
}

bool detail::canonicalize_rows(CsrMatrix& m, index_t* row, point_t* col) {
    std::vector<std::pair<point_t, double>> scratch;
    index_t out = 0, begin = 0;
    for (index_t i = 0; i < m.rows; ++i) {
        const index_t end = m.offsets[static_cast<std::size_t>(i + 1)];
        bool plain = true;  // columns strictly increasing: only zeros, if any, to drop
        for (index_t e = begin + 1; e < end && plain; ++e)
            plain = m.columns[static_cast<std::size_t>(e)] > m.columns[static_cast<std::size_t>(e - 1)];
        if (plain) {  // no column repeats: copy the non-zeros down, in place
            for (index_t e = begin; e < end; ++e) {
                const auto k = static_cast<std::size_t>(e);
                if (m.values[k] == 0.0) continue;
                m.columns[static_cast<std::size_t>(out)] = m.columns[k];
                m.values[static_cast<std::size_t>(out)] = m.values[k];
                ++out;
            }
            begin = end;
            m.offsets[static_cast<std::size_t>(i + 1)] = out;
            continue;
        }
        scratch.clear();
        for (index_t e = begin; e < end; ++e)
            scratch.emplace_back(m.columns[static_cast<std::size_t>(e)], m.values[static_cast<std::size_t>(e)]);
        std::stable_sort(scratch.begin(), scratch.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto it = scratch.begin(); it != scratch.end();) {
            const point_t c = it->first;
            double sum = 0.0;
            for (; it != scratch.end() && it->first == c; ++it) sum += it->second;
            if (!std::isfinite(sum)) {
                *row = i;
                *col = c;
                return false;
            }
            if (sum == 0.0) continue;
            m.columns[static_cast<std::size_t>(out)] = c;
            m.values[static_cast<std::size_t>(out)] = sum;
            ++out;
        }
        begin = end;
        m.offsets[static_cast<std::size_t>(i + 1)] = out;
    }
    m.columns.resize(static_cast<std::size_t>(out));
    m.values.resize(static_cast<std::size_t>(out));
    return true;
}

std::string csr_matrix_defect(ConstCsrView m) {
    if (m.rows < 0) return concat("negative row count ", m.rows);
    if (m.cols < 1) return concat("needs at least 1 column; got ", m.cols);
    if (m.cols > static_cast<index_t>(std::numeric_limits<point_t>::max()))
        return concat("at most 4294967295 columns; got ", m.cols);
    if (m.offsets == nullptr) return "no row offsets";
    if (m.offsets[0] != 0) return concat("row offsets start at ", m.offsets[0], ", not 0");
    // The offsets first, all of them: a row's entries are read only once every offset is known to lie
    // within [0, nnz] (a large offset before a smaller one would otherwise send the scan past the end).
    for (index_t i = 0; i < m.rows; ++i)
        if (m.offsets[i + 1] < m.offsets[i])
            return concat("row ", i, ": offsets decrease (", m.offsets[i + 1], " after ", m.offsets[i], ")");
    for (index_t i = 0; i < m.rows; ++i) {
        const index_t begin = m.offsets[i], end = m.offsets[i + 1];
        for (index_t e = begin; e < end; ++e) {
            const point_t c = m.columns[e];
            if (static_cast<index_t>(c) >= m.cols)
                return concat("row ", i, ": column ", c, " outside [0, ", m.cols, ")");
            if (e > begin && c <= m.columns[e - 1])
                return concat("row ", i, ": columns not increasing (", c, " after ", m.columns[e - 1], ")");
            if (!std::isfinite(m.values[e])) return concat("row ", i, ", column ", c, ": value ", m.values[e]);
            if (m.values[e] == 0.0) return concat("row ", i, ", column ", c, ": an explicit zero is stored");
        }
    }
    return "";
}

CsrMatrix to_csr(ConstMatrixView dense) {
    require(dense.cols >= 1 && dense.cols <= static_cast<index_t>(std::numeric_limits<point_t>::max()),
            "sparse matrix: columns must be in [1, 4294967295]; got ", dense.cols);
    CsrMatrix m;
    m.rows = dense.rows;
    m.cols = dense.cols;
    m.offsets.assign(static_cast<std::size_t>(dense.rows + 1), 0);
    for (index_t i = 0; i < dense.rows; ++i) {
        for (index_t j = 0; j < dense.cols; ++j) {
            const double v = dense(i, j);
            require(std::isfinite(v), "sparse matrix: row ", i, ", column ", j, " is ", v);
            if (v == 0.0) continue;
            m.columns.push_back(static_cast<point_t>(j));
            m.values.push_back(v);
        }
        m.offsets[static_cast<std::size_t>(i + 1)] = static_cast<index_t>(m.values.size());
    }
    return m;
}

Matrix to_dense(ConstCsrView m) {
    Matrix dense(m.rows, m.cols);
    for (index_t i = 0; i < m.rows; ++i)
        for (index_t e = m.row_begin(i); e < m.row_end(i); ++e) dense(i, m.columns[e]) = m.values[e];
    return dense;
}

}  // namespace treesne
