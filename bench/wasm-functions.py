#!/usr/bin/env python3
"""Where the browser bundle's code goes: the size of each function body in a WASM module,
named from the module's name section, summed by crate and by the largest functions.

Run on the module before wasm-bindgen strips its names, e.g.
  bench/wasm-functions.py $CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm
"""
import re
import sys
from collections import Counter


def leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def sections(data):
    pos = 8
    while pos < len(data):
        kind = data[pos]
        size, pos = leb(data, pos + 1)
        yield kind, data[pos:pos + size]
        pos += size


def imported_functions(body):
    count, pos = leb(body, 0)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            length, pos = leb(body, pos)
            pos += length
        kind = body[pos]
        pos += 1
        if kind == 0:  # function: type index
            _, pos = leb(body, pos)
            functions += 1
        elif kind == 1:  # table: element type, limits
            pos += 1
            flags, pos = leb(body, pos)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 2:  # memory: limits
            flags, pos = leb(body, pos)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 3:  # global: type, mutability
            pos += 2
        else:  # tag
            pos += 1
            _, pos = leb(body, pos)
    return functions


def function_names(body):
    names = {}
    pos = 0
    while pos < len(body):
        kind = body[pos]
        size, pos = leb(body, pos + 1)
        end = pos + size
        if kind == 1:
            count, p = leb(body, pos)
            for _ in range(count):
                index, p = leb(body, p)
                length, p = leb(body, p)
                names[index] = body[p:p + length].decode("utf-8", "replace")
                p += length
        pos = end
    return names


def demangle(name):
    """The path of a legacy-mangled Rust symbol (`_ZN4core3fmt5write17h...E`)."""
    if not name.startswith("_ZN"):
        return name
    parts, pos = [], 3
    while pos < len(name) and name[pos].isdigit():
        digits = re.match(r"\d+", name[pos:]).group()
        pos += len(digits)
        parts.append(name[pos:pos + int(digits)])
        pos += int(digits)
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    return "::".join(parts).replace("$LT$", "<").replace("$GT$", ">").replace("$u20$", " ") \
        .replace("$C$", ",").replace("..", "::").replace("$RF$", "&").replace("$BP$", "*")


def crate_of(path):
    path = path.lstrip("_<&* ")
    return re.split(r"::|<| ", path, maxsplit=1)[0] or "?"


def main():
    data = open(sys.argv[1], "rb").read()
    imports, bodies, names = 0, [], {}
    for kind, body in sections(data):
        if kind == 2:
            imports = imported_functions(body)
        elif kind == 10:
            count, pos = leb(body, 0)
            for _ in range(count):
                size, pos = leb(body, pos)
                bodies.append(size)
                pos += size
        elif kind == 0:
            length, pos = leb(body, 0)
            if body[pos:pos + length] == b"name":
                names = function_names(body[pos + length:])
    total = sum(bodies)
    by_crate, by_function, by_kind = Counter(), Counter(), Counter()
    for i, size in enumerate(bodies):
        path = demangle(names.get(imports + i, f"<function {imports + i}>"))
        by_crate[crate_of(path)] += size
        by_function[path] += size
        for marker in ("hydrate_async", "hydrate", "rebuild", "build", "deserialize",
                       "serialize", "to_html", "Effect", "visit_"):
            if marker in path:
                by_kind[marker] += size
                break
    print(f"{len(bodies)} functions, {total / 1024:.1f} KB of code")
    print("\nby crate:")
    for crate, size in by_crate.most_common(25):
        print(f"  {size / 1024:8.1f} KB  {100 * size / total:4.1f}%  {crate}")
    print("\nby kind (first marker in the name):")
    for kind, size in by_kind.most_common():
        print(f"  {size / 1024:8.1f} KB  {100 * size / total:4.1f}%  {kind}")
    print("\nlargest functions:")
    for path, size in by_function.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 30):
        print(f"  {size / 1024:8.1f} KB  {path[:150]}")


if __name__ == "__main__":
    main()
