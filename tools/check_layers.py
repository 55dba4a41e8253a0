#!/usr/bin/env python3
"""Fails when a file of the engine includes a header of a higher layer.

The layers, lowest first: core < knn < affinities < tree < optimize < api < eval; io and plot sit beside
eval, above api (plot may use io and eval: it draws their results); view sits above plot (it takes the
pictures' class colours, and writes through io). A file in src/<layer>/ or
include/treesne/<layer>/ may include the public headers (treesne/<layer>/...) and the private headers
(src/<layer>/...) of its own layer and of the layers below (core's private lanes.hpp, permutation.hpp
and radix_sort.hpp serve the whole engine); nothing above, and nothing of a sibling layer.

    tools/check_layers.py [repository root]       (default: the parent of tools/)

Prints each violation as file:line: and exits 1 if there is any.
"""
import pathlib
import re
import sys

RANK = {"core": 0, "knn": 1, "affinities": 2, "tree": 3, "optimize": 4, "api": 5, "eval": 6, "io": 6, "plot": 7, "dist": 7, "view": 8}
# Files allowed an upward include (reported, not failed on): none today. Add one only with the reason.
KNOWN = set()

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path, root):
    """The layer of a source or header file, or None for files outside the layered folders."""
    parts = path.relative_to(root).parts
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[:2] == ("include", "treesne") and len(parts) > 3:
        return parts[2]
    return None


def included_layer(name):
    """(layer, private) of an include "treesne/<layer>/x.hpp" or "<layer>/x.hpp" (private), else None."""
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "treesne" and parts[1] in RANK:
        return parts[1], False
    if len(parts) == 2 and parts[0] in RANK:
        return parts[0], True
    return None


def violations(root):
    files = sorted(list((root / "src").rglob("*.[ch]pp")) + list((root / "include" / "treesne").rglob("*.hpp")))
    for path in files:
        own = layer_of(path, root)
        if own not in RANK:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            target = included_layer(match.group(1))
            if target is None:
                continue
            layer, private = target
            if RANK[layer] > RANK[own] or (layer != own and RANK[layer] == RANK[own]):
                kind = "private header" if private else "header"
                yield f"{path.relative_to(root)}:{number}: {own} includes the {kind} {match.group(1)} ({layer} is not below {own})"


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    found = list(violations(root.resolve()))
    failing = [v for v in found if v.split(":")[0] not in KNOWN]
    for v in found:
        print(v if v in failing else v + " [known]")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
