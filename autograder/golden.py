"""Golden outputs: values the reference solution returns on the tests' fixed inputs.

`cs330 build` runs the tests against the reference solution in record mode, so each
`golden.check(key, value)` stores the value; at grade time the same call compares the student's
value with the stored one. One file per test module: golden/<module>.pt (public and hidden tests
keep separate files, so only public golden data ships to students).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from autograder.checks import expect_close


class GoldenStore:
    """All golden values of one test run, keyed by test module, test id and key."""

    def __init__(self, folder: Path, record: bool) -> None:
        self.folder, self.record = folder, record
        self._values: dict[str, dict[str, Any]] = {}

    def _module(self, module: str) -> dict[str, Any]:
        """The golden values of one test module, loaded on first use."""
        if module not in self._values:
            path = self.folder / f"{module}.pt"
            if self.record or not path.is_file():
                self._values[module] = {}
            else:
                self._values[module] = torch.load(path, weights_only=True)
        return self._values[module]

    def expected(self, module: str, nodeid: str, key: str) -> Any:
        """The golden value of one check, or a clear error when the build did not record it."""
        values = self._module(module)
        full_key = f"{nodeid}::{key}"
        if full_key not in values:
            raise RuntimeError(f"no golden value for {full_key}: run `cs330 build` for this assignment")
        return values[full_key]

    def for_test(self, module: str, nodeid: str) -> "Golden":
        """The golden accessor for one running test."""
        return Golden(self, module, nodeid)

    def save(self) -> list[Path]:
        """Write the recorded values, one file per test module; return the paths."""
        self.folder.mkdir(parents=True, exist_ok=True)
        written = []
        for module, values in sorted(self._values.items()):
            path = self.folder / f"{module}.pt"
            torch.save(dict(sorted(values.items())), path)
            written.append(path)
        return written


class Golden:
    """`golden.check(key, value)`: record the reference's value, or compare against it."""

    def __init__(self, store: GoldenStore, module: str, nodeid: str) -> None:
        self._store, self._module, self._nodeid = store, module, nodeid

    def check(self, key: str, value: Any, name: str | None = None,
              atol: float = 1e-5, rtol: float = 1e-4) -> None:
        """Record value (build) or check it against the golden value within atol/rtol (grading)."""
        if self._store.record:
            self._store._module(self._module)[f"{self._nodeid}::{key}"] = _plain(value)
            return
        expected = self._store.expected(self._module, self._nodeid, key)
        expect_close(value, expected, name or key, atol=atol, rtol=rtol)


def _plain(value: Any) -> Any:
    """A copy of value made only of what torch.load(weights_only=True) reads back."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
