// The option table's machinery: ranges in words, the library's refusals, look-ups and checks. The entries
// themselves are in option_entries.cpp.
#include "treesne/core/option_table.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/option_entries.hpp"
#include "treesne/core/errors.hpp"

namespace treesne {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

/// A bound as messages write it: integers in digits, powers of ten from 10^6 on as "1e6".
std::string format_bound(double v) {
    if (v >= 1e6 && v < 1e300) {
        const double exponent = std::round(std::log10(v));
        if (std::pow(10.0, exponent) == v) return concat("1e", static_cast<int>(exponent));
    }
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
    return format_number(v);
}

template <class Range>
std::string refusal_of(const Range& range, const char* label, OptionKind kind, double v) {
    if (kind == OptionKind::enumeration || kind == OptionKind::flag || kind == OptionKind::seed) return "";
    if ((range.sentinel && v == *range.sentinel) || range.contains(v)) return "";
    OptionRange shown = range;
    // An integer sentinel just below the range joins it: "in [0, 1000]" rather than "0 or in [1, 1000]".
    if (shown.sentinel && kind == OptionKind::integer && *shown.sentinel == shown.lo - 1) {
        shown.lo = *shown.sentinel;
        shown.sentinel.reset();
    }
    const std::string words =
        shown.sentinel ? concat(format_bound(*shown.sentinel), " or ", shown.words()) : shown.words();
    return concat(label, " must be ", words, "; got ", format_option_value(v, kind));
}
}  // namespace

bool OptionRange::contains(double v) const {
    if (!std::isfinite(v)) return false;
    const bool above = lo_open ? v > lo : v >= lo;
    const bool below = hi_open ? v < hi : v <= hi;
    return above && below;
}

std::string OptionRange::words() const {
    std::string out;
    if (hi == inf) {
        out = concat(lo_open ? "> " : ">= ", format_bound(lo));
    } else {
        out =
            concat("in ", lo_open ? "(" : "[", format_bound(lo), ", ", format_bound(hi), hi_open ? ")" : "]");
    }
    if (note) out += concat(" (", note, ")");
    return out;
}

std::string range_words(const OptionRange& range, unsigned flags, bool with_auto) {
    const std::string words = range.words();
    if (!with_auto || (flags & accepts_auto) == 0) return words;
    return (flags & auto_after) != 0 ? words + " or auto" : "auto or " + words;
}

std::string format_number(double v) {
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%g", v);
    if (std::strtod(buffer, nullptr) != v) std::snprintf(buffer, sizeof buffer, "%.17g", v);
    return buffer;
}

std::string format_option_value(double v, OptionKind kind) {
    if (kind == OptionKind::integer || kind == OptionKind::seed)
        return std::to_string(static_cast<long long>(v));
    return concat(v);
}

std::string OptionDescriptor::default_shown() const {
    if (default_text) return default_text;
    const double v = get(Options{});
    if (kind == OptionKind::enumeration) return names.at(static_cast<std::size_t>(v));
    if (kind == OptionKind::integer) return std::to_string(static_cast<long long>(v));
    if (kind == OptionKind::seed) return std::to_string(Options{}.seed);
    return format_number(v);
}

double OptionDescriptor::in_effect(const Options& o, index_t n, index_t d) const {
    return effective ? effective(o, n, d) : get(o);
}

std::string OptionText::refusal(double v) const {
    return refusal_of(range, label, kind, v);
}

std::string TransformOptionDescriptor::default_shown() const {
    if (default_text) return default_text;
    const double v = get(TransformOptions{});
    if (kind == OptionKind::integer) return std::to_string(static_cast<long long>(v));
    return format_number(v);
}

const std::vector<OptionDescriptor>& option_table() {
    static const std::vector<OptionDescriptor> table = [] {
        std::vector<OptionDescriptor> all;
        for (auto part : detail::option_entry_groups()) {
            auto entries = part();
            all.insert(all.end(), entries.begin(), entries.end());
        }
        return all;
    }();
    return table;
}

const OptionDescriptor* find_option(std::string_view cli) {
    for (const auto& d : option_table())
        if (cli == d.cli) return &d;
    return nullptr;
}

void check_option_ranges(const Options& options, OptionGroup group) {
    for (const auto& d : option_table()) {
        if (d.group != group) continue;
        if (d.unset && d.unset(options)) continue;
        const std::string refusal = d.refusal(d.get(options));
        if (!refusal.empty()) throw InvalidArgument(refusal);
    }
}

void check_option_ranges(const TransformOptions& t) {
    for (const auto& d : transform_option_table()) {
        if (d.unset && d.unset(t)) continue;
        const std::string refusal = d.refusal(d.get(t));
        if (!refusal.empty()) throw InvalidArgument(refusal);
    }
}

const TransformOptionDescriptor* find_transform_option(std::string_view cli) {
    for (const auto& d : transform_option_table())
        if (cli == d.cli) return &d;
    return nullptr;
}

}  // namespace treesne
