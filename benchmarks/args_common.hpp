// Command-line handling shared by the benchmark programs (accuracy.cpp, prepare_data.cpp, knn_recall.cpp,
// nndescent_recall.cpp): one loop over argv with "--name value" options and flags, each given as a table
// entry from its name to its config field, --help and an optional positional INPUT, and comma-separated
// lists. Errors throw InvalidArgument; each program's main prints
// them as one line. Header-only, benchmarks only.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "treesne/core/errors.hpp"

namespace treesne::bench {

/// The items of a comma-separated list, each converted by `read` (std::stoll, std::stod, ...).
/// Throws InvalidArgument for an empty list.
template <class T, class Read>
std::vector<T> parse_list(const std::string& text, Read read) {
    std::vector<T> values;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) values.push_back(static_cast<T>(read(item)));
    if (values.empty()) throw InvalidArgument("empty list: '" + text + "'");
    return values;
}

/// `text` as a number of type T: std::stod for floating point, std::stoi for int and narrower types,
/// std::stoull for unsigned ones, std::stoll otherwise (each throws for text that is not a number or does
/// not fit).
template <class T>
T read_number(const std::string& text) {
    if constexpr (std::is_floating_point_v<T>) {
        return static_cast<T>(std::stod(text));
    } else if constexpr (std::is_unsigned_v<T>) {
        return static_cast<T>(std::stoull(text));
    } else if constexpr (sizeof(T) <= sizeof(int)) {
        return static_cast<T>(std::stoi(text));
    } else {
        return static_cast<T>(std::stoll(text));
    }
}

/// Takes an option's argument from argv (throwing when there is none); called only by options that have one.
using ArgumentReader = std::function<std::string()>;

/// Stores one option in a config field, reading its argument through the reader where it takes one.
using Setter = std::function<void(const ArgumentReader&)>;

/// A program's options: each name ("--rows") with the setter of its field.
using OptionTable = std::vector<std::pair<const char*, Setter>>;

/// Stores the argument as it is.
inline Setter into(std::string* field) {
    return [field](const ArgumentReader& argument) { *field = argument(); };
}

/// Stores the argument read as a number (read_number).
template <class T>
Setter into(T* field) {
    return [field](const ArgumentReader& argument) { *field = read_number<T>(argument()); };
}

/// Stores the argument read as a comma-separated list of numbers.
template <class T>
Setter into(std::vector<T>* field) {
    return [field](const ArgumentReader& argument) { *field = parse_list<T>(argument(), read_number<T>); };
}

/// An option without an argument: its presence sets *field.
inline Setter flag(bool* field) {
    return [field](const ArgumentReader&) { *field = true; };
}

/// Walks argv[1..]: --help or -h prints `usage` and exits 0; an argument named in `options` is stored by
/// its setter, which takes the next argument where the option has one; a first bare word goes to *input
/// when input is not null; anything else throws.
inline void parse_args(int argc, char** argv, const std::string& usage, std::string* input,
                       const OptionTable& options) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const ArgumentReader argument = [&]() -> std::string {
            if (i + 1 >= argc) throw InvalidArgument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            std::exit(0);
        }
        const auto option =
            std::find_if(options.begin(), options.end(), [&](const auto& entry) { return a == entry.first; });
        if (option != options.end()) {
            option->second(argument);
        } else if (input && input->empty() && !a.empty() && a[0] != '-') {
            *input = a;
        } else {
            throw InvalidArgument("unknown argument '" + a + "' (see --help)");
        }
    }
    if (input && input->empty()) throw InvalidArgument("INPUT is required (see --help)");
}

}  // namespace treesne::bench
