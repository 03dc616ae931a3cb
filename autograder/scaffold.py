"""`cs330 new HW_ID`: a new assignment that builds and passes the release check as written.

Writes assignments/HW_ID/ (assignment.toml, the README.md handout skeleton, a public and a hidden
test file) and solutions/HW_ID/HW_ID.py with one marked function, add(a, b), whose tests use the
`student` and `golden` fixtures. `cs330 build HW_ID` then `cs330 check HW_ID` pass at once; the
instructor then replaces add() and its tests with the real work.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import shutil
import sys
from pathlib import Path

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class ScaffoldError(ValueError):
    """An assignment id that is invalid or already taken."""


ASSIGNMENT_TOML = '''\
# {hw}: written by `cs330 new`; give it a title, and adjust the files and limits.
id = "{hw}"
title = "{hw} (set the title in assignments/{hw}/assignment.toml)"
# The files students submit (and the only ones taken from a submission).
files = ["{hw}.py"]

[limits]
call_timeout_s = 10     # one call of a student function
test_timeout_s = 30     # all calls of one test together
total_timeout_s = 300   # the whole submission (Gradescope's default is 600)
memory_mb = 512         # memory a student call may use on top of the interpreter and torch
threads = 1             # torch threads: golden data is made with the same count
'''

README = '''\
# {hw}: title

<!-- Written by `cs330 new`. This handout ships to students as README.md in the starter zip. -->

In this assignment you implement ... . You submit **only `{hw}.py`**.

## 1. Background

What the assignment is about, with references.

## 2. What you implement

All in `{hw}.py`; each function's docstring gives the exact inputs, outputs and shapes.

| function | returns |
| --- | --- |
| `add(a, b)` | `a + b`, for two numbers or two tensors of broadcastable shapes |

## 3. Testing your code

```bash
cs330 test {hw} path/to/your/folder     # the public tests
```

The public tests check your functions on fixed inputs against the reference values. Hidden tests
(more shapes, dtypes and edge cases) run when you submit; you see them after the due date.

## 4. Submitting

```bash
cs330 submit {hw} path/to/your/folder   # public tests, then {hw}-submission.zip
```

Upload the zip to Gradescope. Only `{hw}.py` is graded.
'''

SOLUTION = '''\
"""{hw}: the functions students implement. Written by `cs330 new`: replace add() with the real work.

Code between the solution markers becomes a TODO in the starter code (`cs330 build {hw}`).
"""

from __future__ import annotations


def add(a, b):
    """Return a + b: two numbers, or two tensors of broadcastable shapes (the result's shape)."""
    # BEGIN SOLUTION
    return a + b
    # END SOLUTION
'''

PUBLIC_TESTS = '''\
"""{hw} public tests: shown to students, and run by `cs330 test {hw}`."""

from __future__ import annotations

import torch
from gradescope_utils.autograder_utils.decorators import number, weight

from autograder.checks import expect_tensor


@weight(1)
@number("1.1")
def test_add_numbers(student, golden):
    """add: two numbers"""
    golden.check("sum", student.add(2, 3), "add(2, 3)")


@weight(2)
@number("1.2")
def test_add_tensors(student, golden):
    """add: two tensors of the same shape"""
    a = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    b = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    total = student.add(a, b)
    expect_tensor(total, "add(a, b)", (3, 4), torch.float32)
    golden.check("sum", total, "add(a, b)")
'''

HIDDEN_TESTS = '''\
"""{hw} hidden tests: graded on Gradescope, shown to students after the due date."""

from __future__ import annotations

import torch
from gradescope_utils.autograder_utils.decorators import number, weight

from autograder.checks import expect_tensor

VISIBILITY = "after_due_date"


@weight(2)
@number("2.1")
def test_add_broadcast(student, golden):
    """add: tensors of broadcastable shapes"""
    a = torch.randn(3, 1, generator=torch.Generator().manual_seed(2))
    b = torch.randn(4, generator=torch.Generator().manual_seed(3))
    total = student.add(a, b)
    expect_tensor(total, "add(a, b)", (3, 4), torch.float32)
    golden.check("sum", total, "add(a, b)")


@weight(1)
@number("2.2")
def test_add_float64(student, golden):
    """add: float64 tensors keep float64"""
    a = torch.randn(5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    total = student.add(a, a)
    expect_tensor(total, "add(a, a)", (5,), torch.float64)
    golden.check("sum", total, "add(a, a)", atol=1e-12)
'''


def check_id(hw_id: str, root: Path) -> None:
    """Raise ScaffoldError unless hw_id is a valid, unused assignment id under root."""
    if not ID_PATTERN.match(hw_id) or keyword.iskeyword(hw_id):
        raise ScaffoldError(f"invalid assignment id {hw_id!r}: use a Python identifier of lowercase letters, "
                            f"digits and underscores that starts with a letter, such as hw6_maml")
    if hw_id.startswith("test"):
        raise ScaffoldError(f"invalid assignment id {hw_id!r}: the submitted file {hw_id}.py would look like a "
                            f"test file to pytest; choose a name such as hw6_{hw_id}")
    if hw_id in sys.stdlib_module_names or importlib.util.find_spec(hw_id) is not None:
        raise ScaffoldError(f"invalid assignment id {hw_id!r}: {hw_id}.py would shadow the installed module "
                            f"{hw_id!r}; choose a name such as hw6_{hw_id}")
    taken = [p for p in (root / "assignments" / hw_id, root / "solutions" / hw_id, root / "starter_code" / hw_id)
             if p.exists()]
    if taken:
        raise ScaffoldError(f"assignment {hw_id!r} already exists ({', '.join(map(str, taken))}); choose another "
                            f"id, or edit the existing one")


def files_for(hw_id: str) -> dict[str, str]:
    """Path relative to the root -> content of every file the scaffold writes."""
    assignment = f"assignments/{hw_id}"
    return {
        f"{assignment}/assignment.toml": ASSIGNMENT_TOML.format(hw=hw_id),
        f"{assignment}/README.md": README.format(hw=hw_id),
        f"{assignment}/tests/test_public.py": PUBLIC_TESTS.format(hw=hw_id),
        f"{assignment}/tests/test_hidden.py": HIDDEN_TESTS.format(hw=hw_id),
        f"solutions/{hw_id}/{hw_id}.py": SOLUTION.format(hw=hw_id),
    }


def scaffold(hw_id: str, root: Path) -> list[Path]:
    """Write a new assignment and its reference solution under root; return the files written."""
    check_id(hw_id, root)
    made = [root / "assignments" / hw_id, root / "solutions" / hw_id]
    written = []
    try:
        for rel, text in files_for(hw_id).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
    except OSError as exc:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
        raise ScaffoldError(f"could not write {hw_id} under {root} ({exc}); "
                            f"check that the folder is writable") from None
    return written


def next_steps(hw_id: str) -> str:
    """What the instructor does after `cs330 new`."""
    return (f"created {hw_id}. Next: `cs330 build {hw_id}` then `cs330 check {hw_id}` (both pass as written); "
            f"then replace add() in solutions/{hw_id}/{hw_id}.py and its tests in assignments/{hw_id}/tests/ "
            f"with the real work, write the handout in assignments/{hw_id}/README.md, rebuild, recheck, and "
            f"commit starter_code/{hw_id}/ and assignments/{hw_id}/golden/.")
