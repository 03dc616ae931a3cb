"""A pytest plugin that runs an assignment's tests with student code imported in-process.

Not for grading untrusted code: it is the peer of the sandbox in bench/grading_overhead.py and the
engine of tests/gpu_check.py, which runs the reference solution on another device (CUDA) and
records how far each golden comparison deviates from the CPU golden data. Configured by
environment variables: CS330_INPROCESS_MODULE (the module to import), CS330_INPROCESS_GOLDEN (the
golden folder), CS330_INPROCESS_DEVICE (default cpu) and CS330_INPROCESS_REPORT (a JSON-lines file
of deviations, optional). Load with `-p autograder.inprocess`.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from autograder.checks import expect_close
from autograder.golden import GoldenStore


def to_device(value: Any, device: str, copy: bool = False) -> Any:
    """value with every tensor moved to device (copied when copy; containers rebuilt)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(device, copy=True) if copy else value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device, copy) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, device, copy) for k, v in value.items()}
    return value


class InProcessFunction:
    """A student function called directly on the configured device."""

    def __init__(self, function: Any, device: str) -> None:
        self.function, self.device = function, device

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call with tensors on the device; return the result on the CPU."""
        result = self.function(*to_device(args, self.device), **to_device(kwargs, self.device))
        return to_device(result, "cpu")

    def with_grad(self, *args: Any, wrt: list[tuple], output: int | None = None, **kwargs: Any) -> tuple[Any, list]:
        """Like the sandbox proxy's with_grad: (value, gradients of the selected scalar output)."""
        args = to_device(args, self.device, copy=True)  # fresh leaves: the test's inputs stay untouched
        leaves = [_at(args, path).requires_grad_(True) for path in wrt]
        value = self.function(*args, **to_device(kwargs, self.device))
        selected = value if output is None else value[output]
        grads = torch.autograd.grad(selected, leaves, allow_unused=True)
        return to_device(value, "cpu"), [None if g is None else g.detach().cpu() for g in grads]


def _at(value: Any, path: tuple) -> torch.Tensor:
    """The tensor at an index path into nested arguments, e.g. (0,) or (2, 1)."""
    for key in path:
        value = value[key]
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise TypeError(f"gradient requested for a non-float argument at {path}")
    return value


class InProcessModule:
    """The student's module imported into the test process."""

    def __init__(self, name: str, device: str) -> None:
        self.module, self.device = importlib.import_module(name), device

    def __getattr__(self, name: str) -> InProcessFunction:
        return InProcessFunction(getattr(self.module, name), self.device)


class DeviationGolden:
    """golden.check that records the largest deviation from the golden value, then asserts."""

    def __init__(self, store: GoldenStore, module: str, nodeid: str, report: str | None) -> None:
        self.store, self.module, self.nodeid, self.report = store, module, nodeid, report

    def check(self, key: str, value: Any, name: str | None = None, atol: float = 1e-5, rtol: float = 1e-4) -> None:
        """Record |value - golden| (max over entries) with the tolerance, then compare as grading does."""
        expected = self.store.expected(self.module, self.nodeid, key)
        if self.report:
            with open(self.report, "a") as handle:
                handle.write(json.dumps({"test": self.nodeid, "key": key, "max_abs_dev": max_deviation(value, expected),
                                         "atol": atol, "rtol": rtol}) + "\n")
        expect_close(value, expected, name or key, atol=atol, rtol=rtol)


def max_deviation(got: Any, expected: Any) -> float:
    """The largest absolute difference between matching numbers of got and expected."""
    if isinstance(expected, torch.Tensor) and isinstance(got, torch.Tensor) and got.shape == expected.shape:
        if expected.numel() == 0:
            return 0.0
        return float((got.double() - expected.double()).abs().max())
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return max((max_deviation(g, e) for g, e in zip(got, expected)), default=0.0)
    if isinstance(expected, (int, float)) and isinstance(got, (int, float, torch.Tensor)):
        return abs(float(got) - float(expected))
    return float("inf")


@pytest.fixture
def student() -> InProcessModule:
    """The module named by CS330_INPROCESS_MODULE, on CS330_INPROCESS_DEVICE."""
    return InProcessModule(os.environ["CS330_INPROCESS_MODULE"], os.environ.get("CS330_INPROCESS_DEVICE", "cpu"))


@pytest.fixture
def harness() -> InProcessModule:
    """The assignment's test harness (<module>_harness.py beside the tests), imported in process."""
    return InProcessModule(os.environ["CS330_INPROCESS_MODULE"] + "_harness",
                           os.environ.get("CS330_INPROCESS_DEVICE", "cpu"))


_STORE: GoldenStore | None = None


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> DeviationGolden:
    """Golden values from CS330_INPROCESS_GOLDEN, with deviations recorded."""
    global _STORE
    if _STORE is None:
        _STORE = GoldenStore(Path(os.environ["CS330_INPROCESS_GOLDEN"]), record=False)
    return DeviationGolden(_STORE, Path(str(request.node.fspath)).stem, request.node.nodeid,
                           os.environ.get("CS330_INPROCESS_REPORT"))
