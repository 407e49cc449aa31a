#!/usr/bin/env python3
"""Import circles between the modules of each workspace crate.

For every member crate of the workspace (root Cargo.toml, `[workspace]
members`), builds a graph between the modules under its `src/` from the
paths the code names: `use crate::a::b`, use groups (`use crate::{a, b::c}`,
nested), inline paths (`crate::a::f()`), `super::` and `self::` paths, and
intra-doc links (`[x](crate::a::X)`, which rustdoc resolves). Plain comments
and `#[cfg(test)]` modules are ignored unless `--include-tests` is given
(CI gives it: a test module that names a module which names the test's own
module back is a circle a reader has to untangle too).

`--depth 1` (default) groups modules by the file or directory directly under
`src/` (`rooms/history.rs` counts as `rooms`); `--depth 2` looks one level
further down (`rooms::history` vs `rooms::presence`, and `rooms` itself,
its `mod.rs`). References inside one node are not edges.

Prints every circle (strongly connected component) with the edges that make
it, each edge with one place that names it, and exits 1 if there is one.
Standard library only.

usage: scripts/check_module_cycles.py [--depth N] [--include-tests] [--root DIR] [CRATE_DIR ...]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from collections import defaultdict, deque

Module = tuple[str, ...]

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# An inline path starting at crate, super or self (`pub(crate)` is not one).
INLINE_PATH = re.compile(rf"\b(crate|super|self)((?:\s*::\s*(?:{IDENT}))+)")
# Intra-doc link targets: `[text](path)` and `[path]` / [`path`].
DOC_LINK = re.compile(rf"\]\(\s*((?:crate|super|self)(?:::{IDENT})+)[^)]*\)|\[`?((?:crate|super|self)(?:::{IDENT})+)`?\]")
USE_STMT = re.compile(r"\buse\s+([^;]*);", re.S)
CHAR_LITERAL = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^\\'\n])'")
CFG_TEST_MOD = re.compile(rf"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*([;{{])")


def workspace_crates(root: str) -> list[str]:
    with open(os.path.join(root, "Cargo.toml"), "rb") as manifest:
        workspace = tomllib.load(manifest).get("workspace", {})
    members = workspace.get("members", [])
    return [os.path.join(root, member) for member in members]


def module_files(src: str) -> dict[Module, str]:
    """Module path -> file, for every .rs file under src (not src/bin)."""
    modules: dict[Module, str] = {}
    for directory, subdirs, files in os.walk(src):
        if os.path.relpath(directory, src) == ".":
            subdirs[:] = [d for d in subdirs if d != "bin"]
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, src)[:-3].split(os.sep)
            if parts[-1] == "mod" or (len(parts) == 1 and parts[0] in ("lib", "main")):
                parts = parts[:-1]
            modules[tuple(parts)] = path
    return modules


def strip_comments(text: str) -> tuple[str, list[tuple[int, str]]]:
    """The code without comments or string contents (newlines kept, so line
    numbers hold), and the intra-doc link targets found in doc comments."""
    out: list[str] = []
    links: list[tuple[int, str]] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            comment = text[i:end]
            if comment.startswith(("///", "//!")):
                for match in DOC_LINK.finditer(comment):
                    links.append((line, match.group(1) or match.group(2)))
            i = end
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            newlines = text.count("\n", i, j)
            out.append("\n" * newlines)
            line += newlines
            i = j
        elif c == '"' or (c == "r" and re.match(r'r#*"', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))):
            # A string literal (raw or not): skipped, newlines kept.
            if c == "r":
                hashes = re.match(r"r(#*)\"", text[i:]).group(1)
                close = '"' + hashes
                j = text.find(close, i + 2 + len(hashes))
                j = n if j == -1 else j + len(close)
            else:
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                j += 1
            newlines = text.count("\n", i, min(j, n))
            out.append('""' + "\n" * newlines)
            line += newlines
            i = j
        elif c == "'":
            # A char literal ('"' would otherwise open a string) or a lifetime.
            match = CHAR_LITERAL.match(text, i)
            out.append("' '" if match else "'")
            i = match.end() if match else i + 1
        else:
            if c == "\n":
                line += 1
            out.append(c)
            i += 1
    return "".join(out), links


def drop_test_modules(code: str) -> tuple[str, set[str]]:
    """Blanks `#[cfg(test)] mod x { ... }` blocks; returns the names of
    `#[cfg(test)] mod x;` declarations (their files are test-only)."""
    test_files: set[str] = set()
    while True:
        match = CFG_TEST_MOD.search(code)
        if not match:
            return code, test_files
        if match.group(2) == ";":
            test_files.add(match.group(1))
            code = code[: match.start()] + " " * (match.end() - match.start()) + code[match.end():]
            continue
        depth, j = 1, match.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        block = code[match.start():j]
        code = code[: match.start()] + re.sub(r"[^\n]", " ", block) + code[j:]


def split_top(text: str) -> list[str]:
    """Splits a use-tree list at top-level commas."""
    items, depth, current = [], 0, []
    for c in text:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(c)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def use_paths(tree: str, prefix: list[str]) -> list[list[str]]:
    """Every full path a use tree names (`a::{b, c::d}` -> a::b, a::c::d)."""
    tree = re.sub(r"\s+as\s+[A-Za-z_]\w*", "", tree)
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace == -1:
        parts = [p for p in tree.split("::") if p and p != "*"]
        if len(parts) > 1 and parts[-1] == "self":
            parts = parts[:-1]
        return [prefix + parts]
    head = [p for p in tree[:brace].split("::") if p]
    inner = tree[brace + 1: tree.rfind("}")]
    paths = []
    for item in split_top(inner):
        paths.extend(use_paths(item, prefix + head))
    return paths


def resolve(module: Module, path: list[str], known: set[Module]) -> Module | None:
    """The module a `crate::`/`super::`/`self::` path lands in (longest
    known prefix), seen from the file whose module is `module`."""
    if not path or path[0] not in ("crate", "super", "self"):
        return None
    if path[0] == "crate":
        base, rest = [], path[1:]
    else:
        base, rest = list(module), path
        if rest[0] == "self":
            rest = rest[1:]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    full = base + [p for p in rest if re.fullmatch(IDENT, p)]
    while full and tuple(full) not in known:
        full.pop()
    return tuple(full)


def graph_of(src: str, depth: int, include_tests: bool = False):
    modules = module_files(src)
    known = set(modules)
    for module in list(known):  # directories without mod.rs are modules too
        for k in range(1, len(module)):
            known.add(module[:k])
    edges: dict[Module, dict[Module, str]] = defaultdict(dict)
    test_only: set[Module] = set()
    sources = {}
    for module, path in modules.items():
        with open(path, encoding="utf-8", errors="replace") as file:
            code, links = strip_comments(file.read())
        test_files: set[str] = set()
        if not include_tests:
            code, test_files = drop_test_modules(code)
        test_only.update(module + (name,) for name in test_files)
        sources[module] = (path, code, links)
    for module, (path, code, links) in sources.items():
        if any(module[: len(t)] == t for t in test_only):
            continue
        node = module[:depth]
        found: list[tuple[int, list[str]]] = []
        spans = []
        for match in USE_STMT.finditer(code):
            line = code.count("\n", 0, match.start()) + 1
            tree = match.group(1)
            spans.append(match.span())
            for full in use_paths(tree, []):
                found.append((line, full))
        rest = list(code)
        for start, end in spans:
            rest[start:end] = re.sub(r"[^\n]", " ", code[start:end])
        rest_code = "".join(rest)
        for match in INLINE_PATH.finditer(rest_code):
            line = rest_code.count("\n", 0, match.start()) + 1
            tail = [p.strip() for p in match.group(2).split("::") if p.strip()]
            found.append((line, [match.group(1)] + tail))
        for line, target in links:
            found.append((line, target.split("::")))
        for line, full in found:
            target = resolve(module, full, known)
            if target is None or target == ():
                continue
            target_node = target[:depth]
            if target_node == node or node == ():
                continue
            where = f"{os.path.relpath(path)}:{line}: {'::'.join(full)}"
            edges[node].setdefault(target_node, where)
    return edges


def components(edges) -> list[list[Module]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[Module, int] = {}
    low: dict[Module, int] = {}
    stack: list[Module] = []
    on_stack: set[Module] = set()
    found: list[list[Module]] = []
    counter = [0]
    nodes = set(edges) | {t for targets in edges.values() for t in targets}

    def visit(root: Module) -> None:
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter[0]
                    counter[0] += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(edges.get(succ, {})))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def shortest_cycle(edges, component: list[Module]) -> list[Module]:
    """One shortest circle through the component's first node."""
    members = set(component)
    start = component[0]
    previous = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ in sorted(edges.get(node, {})):
            if succ not in members:
                continue
            if succ == start:
                cycle = [node]
                while previous[cycle[-1]] is not None:
                    cycle.append(previous[cycle[-1]])
                return list(reversed(cycle)) + [start]
            if succ not in previous:
                previous[succ] = node
                queue.append(succ)
    return component


def name(module: Module) -> str:
    return "::".join(module) if module else "<crate root>"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=1, help="module depth of a node (default 1)")
    parser.add_argument("--include-tests", action="store_true", help="also read #[cfg(test)] modules")
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                        help="workspace root (default: this script's repository)")
    parser.add_argument("crates", nargs="*", help="crate directories (default: the workspace members)")
    args = parser.parse_args()
    crates = args.crates or workspace_crates(args.root)
    circles = 0
    for crate in crates:
        src = os.path.join(crate, "src")
        if not os.path.isdir(src):
            continue
        edges = graph_of(src, args.depth, args.include_tests)
        label = os.path.basename(os.path.normpath(crate))
        for component in components(edges):
            circles += 1
            print(f"{label}: circle at depth {args.depth}: {{{', '.join(name(m) for m in component)}}}")
            print("  e.g. " + " -> ".join(name(m) for m in shortest_cycle(edges, component)))
            members = set(component)
            for node in component:
                for target, where in sorted(edges.get(node, {}).items()):
                    if target in members:
                        print(f"  {name(node)} -> {name(target)}   ({where})")
    print(f"module circles at depth {args.depth}: {circles}")
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
