// The entries of the option table (private to the library): option_table() concatenates these groups.
#pragma once

#include <vector>

#include "treesne/core/option_table.hpp"

namespace treesne::detail {

/// The functions that make the option table's entries, one per group, in the table's order.
std::vector<std::vector<OptionDescriptor> (*)()> option_entry_groups();

}  // namespace treesne::detail
