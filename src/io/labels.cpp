// Labels: one per line as text (numbers or names), a one-column integer matrix in any binary format, or
// the targets of svmlight text.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/internal.hpp"
#include "treesne/io/io.hpp"

namespace treesne::io {
namespace detail {
namespace {

/// Codes for numeric labels: distinct values sorted ascending, so code order is numeric order. names[c] is
/// the text of the value's first appearance (or its integer form when texts is null).
Labels numeric_labels(const std::vector<double>& values, const std::vector<std::string_view>* texts) {
    std::vector<double> distinct = values;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    Labels labels;
    labels.codes.resize(values.size());
    labels.names.resize(distinct.size());
    std::vector<char> named(distinct.size(), 0);
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto code = std::lower_bound(distinct.begin(), distinct.end(), values[i]) - distinct.begin();
        labels.codes[i] = static_cast<int>(code);
        if (named[static_cast<std::size_t>(code)]) continue;
        named[static_cast<std::size_t>(code)] = 1;
        std::string& text = labels.names[static_cast<std::size_t>(code)];
        if (texts) {
            text = std::string((*texts)[i]);
        } else {
            char buf[400];
            const auto r = std::to_chars(buf, buf + sizeof buf, values[i], std::chars_format::fixed, 0);
            text.assign(buf, r.ptr);
        }
    }
    return labels;
}

/// The non-empty lines of a labels file, trimmed; blank lines are allowed only at the end.
std::vector<std::string_view> label_lines(const Loaded& in) {
    Lines lines(text_of(in.bytes));
    std::vector<std::string_view> items;
    std::string_view line;
    index_t blank = 0;  // first blank line; allowed only if nothing follows
    while (lines.next(line)) {
        line = trim(line);
        if (line.empty()) {
            if (blank == 0) blank = lines.number();
            continue;
        }
        if (blank != 0)
            fail(in.name, "line ", blank, ": empty label (only trailing empty lines are allowed)");
        items.push_back(line);
    }
    if (items.empty()) fail(in.name, "no labels (the file is empty)");
    if (items.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        fail(in.name, "too many labels");
    return items;
}

}  // namespace

Labels parse_text_labels(const Loaded& in) {
    const std::vector<std::string_view> items = label_lines(in);
    std::vector<double> values(items.size());
    bool numeric = true;
    for (std::size_t i = 0; i < items.size() && numeric; ++i)
        numeric = parse_number(items[i], values[i]) == Num::ok;
    if (numeric) return numeric_labels(values, &items);
    Labels labels;
    labels.codes.reserve(items.size());
    std::unordered_map<std::string_view, int> codes;
    for (const std::string_view item : items) {
        const auto [it, inserted] = codes.emplace(item, static_cast<int>(labels.names.size()));
        if (inserted) labels.names.emplace_back(item);
        labels.codes.push_back(it->second);
    }
    return labels;
}

Labels svmlight_labels(const Loaded& in) {
    const std::vector<std::string_view> targets = svmlight_targets(in);
    if (targets.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        fail(in.name, "too many labels");
    std::vector<double> values(targets.size());
    for (std::size_t i = 0; i < targets.size(); ++i)
        parse_number(targets[i], values[i]);  // checked as finite
    return numeric_labels(values, &targets);
}

Labels labels_from_matrix(const std::string& name, const Matrix& m) {
    if (m.cols() != 1) fail(name, "labels must be one column; got ", m.rows(), " x ", m.cols());
    if (m.rows() > std::numeric_limits<int>::max()) fail(name, "too many labels");
    for (index_t i = 0; i < m.rows(); ++i) {
        if (m(i, 0) != std::floor(m(i, 0)))
            fail(name, "row ", i + 1, ": label ", m(i, 0), " is not an integer");
    }
    return numeric_labels(m.storage(), nullptr);
}

}  // namespace detail

Labels read_labels(const std::string& path) {
    return read_labels(path, ReadLimits{});
}

Labels read_labels(const std::string& path, const ReadLimits& limits, ReadStats* stats) {
    return detail::with_memory_check(path, [&] {
        const detail::Loaded in = detail::load(path, detail::Expect::data, limits, stats);
        if (detail::is_svmlight_name(in.inner)) return detail::svmlight_labels(in);
        if (detail::detect_format(in) == detail::Format::text) return detail::parse_text_labels(in);
        return detail::labels_from_matrix(in.name, detail::parse_matrix(in));
    });
}

}  // namespace treesne::io
