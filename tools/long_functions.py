#!/usr/bin/env python3
"""Lists the functions longer than a limit in C++ sources, counted from the first line of the signature
to the closing brace. A function is a line ending in ") {" (or ") const {", "noexcept {", "-> T {")
that is not a control statement or a lambda; its body ends at the first later line holding only "}" at
the signature's indentation (the project's clang-format guarantees that shape). Lambdas and blocks
inside a function count towards it.

A function whose signature is preceded (within three lines) by a comment containing "kernel:" or
"table:" is reported as kept whole on purpose: a hot loop that must stay one function for the compiler,
or a table written as one braced list (the option table's entries), the comment saying why.

    tools/long_functions.py [--limit 60] [paths...]      (default: src/)

Exit status 1 when an unmarked function is over the limit, so it can serve as a check.
"""
import argparse
import pathlib
import re
import sys

OPENS = re.compile(r"\)\s*(const\s*)?(noexcept\s*)?(override\s*)?(->\s*[\w:<>,*& ]+)?\{\s*(//.*)?$")
CONTROL = re.compile(r"^\s*(\}\s*)?(if|else|for|while|switch|do|catch|try)\b")
LAMBDA = re.compile(r"\]\s*\([^()]*\)[^{]*\{\s*$|\]\s*\{\s*$")


def indentation(line):
    return len(line) - len(line.lstrip(" "))


def signature_start(lines, at):
    """The first line of the signature that ends on line `at` (continuation lines are indented more)."""
    start = at
    while start > 0:
        previous = lines[start - 1].rstrip()
        if (not previous or previous.endswith((";", "{", "}", ":")) or previous.lstrip().startswith(("//", "#"))
                or previous.lstrip().startswith("template")):
            break
        start -= 1
    return start


def functions(lines):
    """Yields (first_line, last_line, name) for every function definition."""
    for at, line in enumerate(lines):
        if not OPENS.search(line) or CONTROL.match(line) or LAMBDA.search(line):
            continue
        start = signature_start(lines, at)
        if CONTROL.match(lines[start]) or "=" in lines[start].split("(")[0] and "operator" not in lines[start]:
            continue
        closing = " " * indentation(lines[start]) + "}"
        for end in range(at + 1, len(lines)):
            if lines[end].rstrip() == closing:
                name = re.search(r"([\w:~<>=!+\-*/\[\]]+)\s*\(", lines[start])
                yield start, end, name.group(1) if name else lines[start].strip()
                break


def marked(lines, start):
    return any(m in lines[i] for i in range(max(0, start - 3), start) for m in ("kernel:", "table:"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("paths", nargs="*", default=["src"])
    args = parser.parse_args()
    files = []
    for path in map(pathlib.Path, args.paths):
        files += sorted(path.rglob("*.[ch]pp")) if path.is_dir() else [path]
    failing = 0
    for path in files:
        lines = path.read_text().splitlines()
        for start, end, name in functions(lines):
            length = end - start + 1
            if length > args.limit:
                kept = marked(lines, start)
                failing += 0 if kept else 1
                print(f"{path}:{start + 1}: {name}: {length} lines{' (kept whole: marked)' if kept else ''}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
