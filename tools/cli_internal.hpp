// What the parts of the command line share (internal to tools/): strict conversion of values
// (cli_values.cpp), the option groups of each command (cli_options.cpp), the help texts (cli_help.cpp);
// parsing is cli.cpp.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "cli.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/option_table.hpp"

namespace treesne::cli::detail {

namespace po = boost::program_options;

/// Short decimal text that reads back as exactly v (the library's format_number), integers in digits.
template <class T>
std::string format_number(T v) {
    if constexpr (std::is_floating_point_v<T>) {
        return treesne::format_number(v);
    } else {
        return std::to_string(v);
    }
}

std::string lower(std::string s);
bool ends_with(const std::string& s, const std::string& suffix);

/// Strict conversion: the whole text must be a finite number; else UsageError naming `option`.
double to_double(const std::string& option, const std::string& text);
/// Strict conversion: the whole text must be an integer in [lo, hi] (hi = LLONG_MAX: unbounded).
long long to_integer(const std::string& option, const std::string& text, long long lo, long long hi);
/// Strict conversion: an integer in [0, 2^64).
std::uint64_t to_seed(const std::string& option, const std::string& text);

/// Reads an optional string value; true when the option was given.
bool get(const po::variables_map& vm, const char* name, std::string& value);
/// Whether a switch was given.
bool flag(const po::variables_map& vm, const char* name);
/// The values of a repeatable file option (or of the positional files when name is "input"); an empty
/// name is a usage error.
std::vector<std::string> strings(const po::variables_map& vm, const char* name);
/// A string-valued option with its value name, for the option groups.
po::typed_value<std::string>* text(const char* value_name);
po::typed_value<std::vector<std::string>>* texts(const char* value_name);

/// A number option outside the option table (--memory-limit) with a range check described in words.
void number(const po::variables_map& vm, const char* name, double& field, const char* range,
            const std::function<bool(double)>& ok);

/// An integer option outside the option table (--checkpoint-every, --sample) in [lo, hi].
template <class Int>
void integer(const po::variables_map& vm, const char* name, Int& field, long long lo,
             long long hi = std::numeric_limits<long long>::max()) {
    std::string text;
    if (!get(vm, name, text)) return;
    field = static_cast<Int>(to_integer(concat("--", name), text, lo, hi));
}

/// The option table's entry `name` (a programming error when there is none).
const OptionDescriptor& entry(const char* name);
/// The value given for table entry `d` as the entry's set() takes it: "auto" where the command takes it
/// (allow_auto), else a number in the entry's range or a name of its enum; else UsageError.
double option_value(const OptionDescriptor& d, const std::string& text, bool allow_auto = true);
/// Sets the Options field of table entry `name` when the option was given.
void table_option(const po::variables_map& vm, const char* name, Options& o, bool allow_auto = true);
/// Several entries in the order given (the order of the checks, so the first mistake is named).
void table_options(const po::variables_map& vm, std::initializer_list<const char*> names, Options& o);
/// Sets the TransformOptions field of transform table entry `name` when the option was given.
void transform_option(const po::variables_map& vm, const char* name, TransformOptions& t);

/// A value of table entry `name` for a field outside Options (evaluate's perplexity, dof, pca, threads):
/// the same conversion and range.
template <class T>
void table_value(const po::variables_map& vm, const char* name, T& field) {
    std::string text;
    if (get(vm, name, text)) field = static_cast<T>(option_value(entry(name), text));
}

/// "meaning. Default: X."
template <class T>
std::string with_default(const std::string& meaning, const T& value) {
    if constexpr (std::is_arithmetic_v<T>) {
        return concat(meaning, " Default: ", format_number(value), ".");
    } else {
        return concat(meaning, " Default: ", value, ".");
    }
}

/// A titled group of options in the help.
struct Group {
    const char* caption;
    po::options_description options;
};

std::vector<Group> embed_groups();
std::vector<Group> evaluate_groups();
std::vector<Group> accuracy_groups();
std::vector<Group> transform_groups();
std::vector<Group> view_groups();
/// Every option of the groups, for parsing.
po::options_description combine(const std::vector<Group>& groups);
/// One group as "Caption:" and "  -o, --output FILE   description" lines.
void print_group(std::ostream& out, const Group& group);
/// "0,0.25,0.5": a list of thetas as --theta takes it.
std::string theta_list(const std::vector<double>& thetas);

/// The topic if there is help for it; else UsageError.
std::string check_topic(const std::string& topic);

}  // namespace treesne::cli::detail
