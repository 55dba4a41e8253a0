// Command-line handling shared by the benchmark programs (accuracy.cpp, prepare_data.cpp, knn_recall.cpp,
// nndescent_recall.cpp): one loop over argv with "--name value" options, --help and an optional
// positional INPUT, and comma-separated lists. Errors throw InvalidArgument; each program's main prints
// them as one line. Header-only, benchmarks only.
#pragma once

#include <cstdlib>
#include <functional>
#include <initializer_list>
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

/// `text` as an integer of type T: std::stoi for int and narrower types, std::stoull for unsigned ones,
/// std::stoll otherwise (each throws for text that is not a number or does not fit).
template <class T>
T read_integer(const std::string& text) {
    if constexpr (std::is_unsigned_v<T>) {
        return static_cast<T>(std::stoull(text));
    } else if constexpr (sizeof(T) <= sizeof(int)) {
        return static_cast<T>(std::stoi(text));
    } else {
        return static_cast<T>(std::stoll(text));
    }
}

/// Stores an option's argument in a field.
using Setter = std::function<void(const std::string&)>;

/// Stores the argument as it is.
inline Setter into(std::string* field) {
    return [field](const std::string& text) { *field = text; };
}

/// Stores the argument read as an integer (read_integer).
template <class T>
Setter into(T* field) {
    return [field](const std::string& text) { *field = read_integer<T>(text); };
}

/// Stores the argument read as a comma-separated list of integers.
template <class T>
Setter into(std::vector<T>* field) {
    return [field](const std::string& text) { *field = parse_list<T>(text, read_integer<T>); };
}

/// Reads option `name` through the setter of that name in `setters`, value() giving its argument: the
/// table that maps each program's options to its config fields. False when no setter has that name.
template <class Value>
bool read_option(const std::string& name, Value value,
                 std::initializer_list<std::pair<const char*, Setter>> setters) {
    for (const auto& [option, set] : setters)
        if (name == option) {
            set(value());
            return true;
        }
    return false;
}

/// Walks argv[1..]: --help or -h prints `usage` and exits 0; an argument that `option(name, value)`
/// accepts (it returns true) is handled there, where value() takes the next argument (throwing when
/// there is none); a first bare word goes to *input when input is not null; anything else throws.
template <class Option>
void parse_args(int argc, char** argv, const std::string& usage, std::string* input, Option option) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw InvalidArgument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            std::exit(0);
        }
        if (option(a, value)) continue;
        if (input && input->empty() && !a.empty() && a[0] != '-') {
            *input = a;
        } else {
            throw InvalidArgument("unknown argument '" + a + "' (see --help)");
        }
    }
    if (input && input->empty()) throw InvalidArgument("INPUT is required (see --help)");
}

}  // namespace treesne::bench
