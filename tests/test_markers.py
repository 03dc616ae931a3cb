"""autograder.markers: turning reference solutions into starter code."""

from __future__ import annotations

import types

import pytest

from autograder.markers import MarkerError, has_markers, solution_lines, strip_markers

SOURCE = '''\
"""A module with solution and hidden blocks."""

import math

HELPER_CONSTANT = 3


def area(radius):
    """Area of a circle."""
    scale = 1.0
    # BEGIN SOLUTION
    result = math.pi * radius * radius * scale
    return result
    # END SOLUTION


class Model:
    """A class with a method to implement."""

    def __init__(self):
        self.w = 2

    def forward(self, x):
        """Multiply by w."""
        if x is not None:
            # BEGIN SOLUTION
            return self.w * x  # the secret multiplication step
            # END SOLUTION
        return None


def outer(values):
    """Has a nested function."""

    def inner(v):
        # BEGIN SOLUTION
        return v * v + HELPER_CONSTANT
        # END SOLUTION

    # BEGIN HIDDEN
    assert all(isinstance(v, int) for v in values), "hidden self-check"
    # END HIDDEN
    return [inner(v) for v in values]


async def fetch():
    # BEGIN SOLUTION
    return "answer from a coroutine"
    # END SOLUTION


def untouched(a, b):
    return a + b  # stays exactly like this
'''


def load(source: str) -> types.ModuleType:
    """Execute source as a module (it must compile)."""
    module = types.ModuleType("starter")
    exec(compile(source, "starter.py", "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def starter() -> str:
    """SOURCE with its markers stripped."""
    return strip_markers(SOURCE, "demo.py")


def test_reference_source_itself_runs():
    """The sample reference module is valid and works (so the stripped checks mean something)."""
    ref = load(SOURCE)
    assert ref.area(1.0) == pytest.approx(3.14159, rel=1e-5)
    assert ref.Model().forward(3) == 6
    assert ref.outer([1, 2]) == [4, 7]


def test_solution_block_becomes_todo_and_raise(starter):
    """A solution block is replaced by a TODO comment and a raise naming the enclosing function."""
    expected = (
        "    scale = 1.0\n"
        "    # TODO: implement area as its docstring describes (shapes included).\n"
        '    raise NotImplementedError("area is not implemented yet")\n'
        "\n\nclass Model:\n"
    )
    assert expected in starter


def test_method_block_names_the_method_at_its_indentation(starter):
    """A block inside a method (and inside an if) names the method and keeps the block's indentation."""
    assert ("        if x is not None:\n"
            "            # TODO: implement forward as its docstring describes (shapes included).\n"
            '            raise NotImplementedError("forward is not implemented yet")\n'
            "        return None\n") in starter


def test_nested_function_block_names_the_inner_function(starter):
    """A block inside a nested function names the nested function, not the outer one."""
    assert ("    def inner(v):\n"
            "        # TODO: implement inner as its docstring describes (shapes included).\n"
            '        raise NotImplementedError("inner is not implemented yet")\n') in starter


def test_async_function_is_named(starter):
    """A block inside an async def names it."""
    assert 'raise NotImplementedError("fetch is not implemented yet")' in starter


def test_no_solution_or_hidden_text_survives(starter):
    """Neither solution code, hidden code nor any marker is left in the starter code."""
    for secret in ("math.pi * radius", "self.w * x", "the secret multiplication", "v * v + HELPER",
                   "hidden self-check", "answer from a coroutine", "BEGIN", "END SOLUTION", "END HIDDEN"):
        assert secret not in starter, secret
    assert not has_markers(starter)


def test_everything_else_is_kept_byte_for_byte(starter):
    """Removing the generated TODO lines from the starter gives the source minus its marked blocks."""
    kept, inside = [], False
    for line in SOURCE.splitlines(keepends=True):
        if "# BEGIN" in line:
            inside = True
        elif "# END" in line:
            inside = False
        elif not inside:
            kept.append(line)
    generated = [line for line in starter.splitlines(keepends=True)
                 if "# TODO: implement" in line or "is not implemented yet" in line]
    assert len(generated) == 8  # 4 solution blocks, 2 lines each; the hidden block adds nothing
    assert [line for line in starter.splitlines(keepends=True) if line not in generated] == kept


def test_crlf_and_missing_final_newline_are_preserved():
    """CRLF line endings and a file without a final newline are kept as they are."""
    source = "def f():\r\n    x = 1\r\n    # BEGIN SOLUTION\r\n    return x\r\n    # END SOLUTION\r\nY = 2"
    out = strip_markers(source)
    assert out.startswith("def f():\r\n    x = 1\r\n")
    assert out.endswith("\nY = 2")
    assert load(out).Y == 2


def test_source_without_markers_is_unchanged():
    """A file with no markers comes out identical."""
    source = "x = 1\n\n\ndef g():\n    return 'BEGIN SOLUTION is just text here'\n"
    assert strip_markers(source) == source
    assert not has_markers(source)


def test_starter_compiles_and_stubs_raise(starter):
    """The starter compiles; each stub raises NotImplementedError naming its function."""
    module = load(starter)
    assert module.HELPER_CONSTANT == 3 and module.untouched(2, 3) == 5
    with pytest.raises(NotImplementedError, match="^area is not implemented yet$"):
        module.area(1.0)
    with pytest.raises(NotImplementedError, match="^forward is not implemented yet$"):
        module.Model().forward(2)
    assert module.Model().forward(None) is None  # code outside the block still runs
    with pytest.raises(NotImplementedError, match="^inner is not implemented yet$"):
        module.outer([1])
    coroutine = module.fetch()
    with pytest.raises(NotImplementedError, match="^fetch is not implemented yet$"):
        coroutine.send(None)


def test_hidden_block_is_dropped_without_a_stub():
    """A HIDDEN block disappears entirely; the code around it still runs."""
    source = ("def f(v):\n    y = v + 1\n    # BEGIN HIDDEN\n    y = -999\n    # END HIDDEN\n    return y\n")
    out = strip_markers(source)
    assert out == "def f(v):\n    y = v + 1\n    return y\n"
    assert load(out).f(1) == 2


def test_module_level_block_gets_a_generic_name():
    """A solution block outside any function raises with a generic name when the module is run."""
    out = strip_markers("A = 1\n# BEGIN SOLUTION\nB = 2\n# END SOLUTION\n")
    assert 'raise NotImplementedError("this part is not implemented yet")' in out
    with pytest.raises(NotImplementedError):
        load(out)


def test_marker_text_after_the_keyword_is_allowed():
    """`# BEGIN SOLUTION (hint)` still opens a block; `# BEGIN SOLUTIONS` is not a marker."""
    out = strip_markers("def f():\n    # BEGIN SOLUTION (about 3 lines)\n    return 1\n    # END SOLUTION\n")
    assert "return 1" not in out and "raise NotImplementedError" in out
    assert not has_markers("    # BEGIN SOLUTIONS\n")


@pytest.mark.parametrize("source,line,words", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", 2, "never closed"),
    ("x = 1\n# BEGIN HIDDEN\ny = 2\n", 2, "never closed"),
    ("def f():\n    return 1\n    # END SOLUTION\n", 3, "without a matching BEGIN"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END HIDDEN\n", 4, "END HIDDEN"),
    ("def f():\n    # BEGIN HIDDEN\n    x = 1\n    # END SOLUTION\n", 4, "END SOLUTION"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN HIDDEN\n    x = 1\n    # END HIDDEN\n    # END SOLUTION\n",
     3, "inside the SOLUTION block opened at line 2"),
    ("def f():\n    # BEGIN SOLUTION\n    x = 1\n    # BEGIN SOLUTION\n", 4, "BEGIN SOLUTION inside"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n    # END SOLUTION\n", 5,
     "without a matching BEGIN"),
], ids=["unclosed-solution", "unclosed-hidden", "unmatched-end", "end-hidden-for-solution",
        "end-solution-for-hidden", "nested-begin", "begin-twice", "double-end"])
def test_marker_errors_give_file_and_line(source, line, words):
    """Markers that do not pair up raise MarkerError naming the file and the offending line."""
    with pytest.raises(MarkerError) as info:
        strip_markers(source, "hw/protonet.py")
    message = str(info.value)
    assert message.startswith(f"hw/protonet.py:{line}:"), message
    assert words in message


def test_marker_error_is_a_value_error():
    """MarkerError is a ValueError, so callers can catch it generically."""
    assert issubclass(MarkerError, ValueError)


def test_solution_lines_returns_distinctive_lines():
    """solution_lines lists the stripped, long, non-comment lines of solution and hidden blocks."""
    lines = solution_lines(SOURCE)
    assert "result = math.pi * radius * radius * scale" in lines
    assert "return self.w * x  # the secret multiplication step" in lines
    assert "return v * v + HELPER_CONSTANT" in lines
    assert 'assert all(isinstance(v, int) for v in values), "hidden self-check"' in lines
    assert 'return "answer from a coroutine"' in lines
    assert "return result" not in lines  # under 20 characters: too common to be distinctive
    assert not any(line.startswith("#") for line in lines)
    assert "scale = 1.0" not in lines and "return a + b  # stays exactly like this" not in lines
    assert all(line == line.strip() for line in lines)


def test_solution_lines_empty_without_markers():
    """A file without markers has no solution lines."""
    assert solution_lines("def f():\n    return some_long_expression_here + 1\n") == []


def test_has_markers():
    """has_markers spots any BEGIN or END marker, indented or not, and nothing else."""
    assert has_markers(SOURCE)
    assert has_markers("    # END HIDDEN\n")
    assert has_markers("# BEGIN SOLUTION\n")
    assert not has_markers("x = 1  # BEGIN SOLUTION at the end of a line is not a marker\n")
    assert not has_markers("# begin solution\n")
    assert not has_markers("")


def test_repository_solutions_strip_to_compilable_starters():
    """Every solution file of the repository with markers strips to code that compiles and hides them."""
    from autograder.assignment import REPO_ROOT

    files = [p for p in sorted((REPO_ROOT / "solutions").rglob("*.py")) if has_markers(p.read_text())]
    if not files:
        pytest.skip("no solution files with markers in this checkout")
    for path in files:
        source = path.read_text()
        out = strip_markers(source, str(path))
        compile(out, str(path), "exec")
        assert not has_markers(out)
        assert not any(line in out for line in solution_lines(source)), path
