"""Solution markers: turn reference code into starter code.

In solutions/<hw>/*.py, the lines between `# BEGIN SOLUTION` and `# END SOLUTION` become a TODO
that raises NotImplementedError naming the enclosing function; the lines between `# BEGIN HIDDEN`
and `# END HIDDEN` are dropped. Everything else is copied as it is.
"""

from __future__ import annotations

import re

BEGIN = re.compile(r"^(\s*)# BEGIN (SOLUTION|HIDDEN)\b")
END = re.compile(r"^\s*# END (SOLUTION|HIDDEN)\b")
DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)")


class MarkerError(ValueError):
    """Markers that do not pair up."""


def enclosing_function(lines: list[str], index: int, indent: str) -> str:
    """Name of the innermost def above lines[index] that is less indented than indent."""
    for line in reversed(lines[:index]):
        match = DEF.match(line)
        if match and len(match.group(1)) < len(indent):
            return match.group(2)
    return "this part"


def todo_lines(function: str, indent: str) -> list[str]:
    """The starter code that replaces a solution block."""
    return [
        f"{indent}# TODO: implement {function} as its docstring describes (shapes included).\n",
        f'{indent}raise NotImplementedError("{function} is not implemented yet")\n',
    ]


def strip_markers(source: str, filename: str = "<source>") -> str:
    """Return source with solution blocks replaced by TODOs and hidden blocks removed."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    open_kind, open_line = None, 0
    for number, line in enumerate(lines, start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if open_kind:
                raise MarkerError(f"{filename}:{number}: BEGIN {begin.group(2)} inside the "
                                  f"{open_kind} block opened at line {open_line}")
            open_kind, open_line = begin.group(2), number
            if open_kind == "SOLUTION":
                indent = begin.group(1)
                out.extend(todo_lines(enclosing_function(lines, number - 1, indent), indent))
        elif end:
            if open_kind != end.group(1):
                raise MarkerError(f"{filename}:{number}: END {end.group(1)} without a matching BEGIN")
            open_kind = None
        elif open_kind is None:
            out.append(line)
    if open_kind:
        raise MarkerError(f"{filename}:{open_line}: BEGIN {open_kind} is never closed")
    return "".join(out)


def solution_lines(source: str) -> list[str]:
    """The distinctive code lines inside solution and hidden blocks (for leak checks)."""
    found, inside = [], False
    for line in source.splitlines():
        if BEGIN.match(line):
            inside = True
        elif END.match(line):
            inside = False
        elif inside:
            text = line.strip()
            if len(text) >= 20 and not text.startswith("#"):
                found.append(text)
    return found


def has_markers(source: str) -> bool:
    """True when source contains any solution or hidden marker."""
    return any(BEGIN.match(line) or END.match(line) for line in source.splitlines())
