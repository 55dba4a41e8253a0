// Command-line values: strict conversion of numbers, and of every option of the option table through its
// entry (option_table.hpp), so a value out of range gets the table's range in one precise line.
#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <sstream>
#include <type_traits>

#include "cli_internal.hpp"
#include "treesne/core/errors.hpp"

namespace treesne::cli::detail {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Strict conversion: the whole text must be a finite number.
double to_double(const std::string& option, const std::string& text) {
    const char* begin = text.c_str();
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(begin, &end);
    if (text.empty() || end != begin + text.size() || std::isspace(static_cast<unsigned char>(text[0])))
        throw UsageError(concat(option, " expects a number; got '", text, "'"));
    if (!std::isfinite(v) || errno == ERANGE)
        throw UsageError(concat(option, " expects a finite number; got '", text, "'"));
    return v;
}

/// Strict conversion: the whole text must be an integer in [lo, hi].
long long to_integer(const std::string& option, const std::string& text, long long lo, long long hi) {
    const char* begin = text.c_str();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(begin, &end, 10);
    if (text.empty() || end != begin + text.size() || std::isspace(static_cast<unsigned char>(text[0])))
        throw UsageError(concat(option, " expects an integer; got '", text, "'"));
    if (errno == ERANGE || v < lo || v > hi) {
        if (hi == std::numeric_limits<long long>::max())
            throw UsageError(concat(option, " must be >= ", lo, "; got ", text));
        throw UsageError(concat(option, " must be in [", lo, ", ", hi, "]; got ", text));
    }
    return v;
}

std::uint64_t to_seed(const std::string& option, const std::string& text) {
    const char* begin = text.c_str();
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(begin, &end, 10);
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])) || end != begin + text.size() ||
        errno == ERANGE)
        throw UsageError(concat(option, " expects an integer in [0, 2^64); got '", text, "'"));
    return v;
}

/// Reads an optional string value; true when the option was given.
bool get(const po::variables_map& vm, const char* name, std::string& value) {
    auto it = vm.find(name);
    if (it == vm.end() || it->second.empty()) return false;
    value = it->second.as<std::string>();
    return true;
}

/// A number option with a range check described in words ("> 0", "in [0, 1)").
void number(const po::variables_map& vm, const char* name, double& field, const char* range,
            const std::function<bool(double)>& ok) {
    std::string text;
    if (!get(vm, name, text)) return;
    const double v = to_double(concat("--", name), text);
    if (!ok(v)) throw UsageError(concat("--", name, " must be ", range, "; got ", text));
    field = v;
}

bool flag(const po::variables_map& vm, const char* name) {
    auto it = vm.find(name);
    return it != vm.end() && it->second.as<bool>();
}

/// The value of `text` for an option of the table (`option` is "--name"): "auto" where the command takes
/// it (the sentinel, or NaN), else a number in the entry's range, refused with the CLI's one line.
double table_number(const std::string& option, const std::string& text, OptionKind kind,
                    const OptionRange& range, unsigned flags, bool allow_auto) {
    const bool takes_auto = allow_auto && (flags & accepts_auto) != 0;
    if (takes_auto && text == "auto") return range.sentinel.value_or(std::nan(""));
    if (kind == OptionKind::real) {
        const double v = to_double(option, text);
        if (!range.contains(v))
            throw UsageError(
                concat(option, " must be ", range_words(range, flags, takes_auto), "; got ", text));
        return v;
    }
    // Integers: the sentinel is given as a number too where the entry says so ("--hnsw-ef-search 0").
    const bool sentinel_given = takes_auto && range.sentinel && (flags & auto_sentinel_given) != 0;
    const double lo = sentinel_given ? std::min(*range.sentinel, range.lo) : range.lo;
    const long long hi =
        std::isinf(range.hi) ? std::numeric_limits<long long>::max() : static_cast<long long>(range.hi);
    const auto v = static_cast<double>(to_integer(option, text, static_cast<long long>(lo), hi));
    if (v != range.sentinel.value_or(v) && !range.contains(v))
        throw UsageError(
            concat(option, " must be auto, ", *range.sentinel, " or ", range.words(), "; got ", text));
    return v;
}

/// The index in `names` of `text`, or the CLI's line listing the choices.
std::size_t enum_index(const std::string& option, const std::string& text,
                       const std::vector<const char*>& names) {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (text == names[i]) return i;
    std::string choices;
    for (std::size_t i = 0; i < names.size(); ++i)
        choices += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    throw UsageError(concat(option, " must be ", choices, "; got '", text, "'"));
}

/// The value given for table entry `d` (an Options field) as the entry's set() takes it.
double option_value(const OptionDescriptor& d, const std::string& text, bool allow_auto) {
    const std::string option = concat("--", d.cli);
    if (d.kind == OptionKind::enumeration) return static_cast<double>(enum_index(option, text, d.names));
    return table_number(option, text, d.kind, d.range, d.flags, allow_auto);
}

const OptionDescriptor& entry(const char* name) {
    const OptionDescriptor* d = find_option(name);
    if (!d) throw std::logic_error(concat("no option table entry '", name, "'"));
    return *d;
}

/// Sets the Options field of table entry `name` when the option was given. The one seed field is an
/// unsigned 64-bit integer, beyond the doubles that set() takes, so it is written directly.
void table_option(const po::variables_map& vm, const char* name, Options& o, bool allow_auto) {
    std::string text;
    if (!get(vm, name, text)) return;
    const OptionDescriptor& d = entry(name);
    if (d.kind == OptionKind::seed) {
        o.seed = to_seed(concat("--", name), text);
        return;
    }
    d.set(o, option_value(d, text, allow_auto));
}

/// Sets the TransformOptions field of transform table entry `name` when the option was given.
void transform_option(const po::variables_map& vm, const char* name, TransformOptions& t) {
    std::string text;
    if (!get(vm, name, text)) return;
    const TransformOptionDescriptor* d = find_transform_option(name);
    if (!d) throw std::logic_error(concat("no transform option table entry '", name, "'"));
    d->set(t, table_number(concat("--", name), text, d->kind, d->range, d->flags, true));
}

/// Several entries in the order given (which is the order of the checks, so the first mistake is named).
void table_options(const po::variables_map& vm, std::initializer_list<const char*> names, Options& o) {
    for (const char* name : names) table_option(vm, name, o);
}

/// The values of a repeatable file option (or of the positional files when name is "input"); an empty
/// name ('' on the shell) is a usage error here rather than a puzzling "cannot open" later.
std::vector<std::string> strings(const po::variables_map& vm, const char* name) {
    auto it = vm.find(name);
    if (it == vm.end() || it->second.empty()) return {};
    auto values = it->second.as<std::vector<std::string>>();
    for (const std::string& v : values)
        if (v.empty())
            throw UsageError(std::string(name) == "input" ? std::string("empty file name among the arguments")
                                                          : concat("--", name, " needs a file name; got ''"));
    return values;
}

po::typed_value<std::string>* text(const char* value_name) {
    return po::value<std::string>()->value_name(value_name);
}

po::typed_value<std::vector<std::string>>* texts(const char* value_name) {
    return po::value<std::vector<std::string>>()->value_name(value_name);
}

}  // namespace treesne::cli::detail
