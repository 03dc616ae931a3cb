"""The peer for bench/grading_overhead.py: the same tests with student code called in-process.

This is what a hand-rolled grader does (import the student's module into the test process):
no sandbox, no child processes, no limits. Loaded with `-p inprocess_plugin`.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
import torch

from autograder.golden import GoldenStore


class InProcessFunction:
    """A student function called directly, with the sandbox proxy's with_grad."""

    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def with_grad(self, *args, wrt, output=None, **kwargs):
        """Call, backpropagate the selected output, return (value, grads)."""
        args = list(args)
        leaves = []
        for (index,) in wrt:
            args[index] = args[index].detach().clone().requires_grad_(True)
            leaves.append(args[index])
        value = self.function(*args, **kwargs)
        selected = value if output is None else value[output]
        grads = torch.autograd.grad(selected, leaves, allow_unused=True)
        return value, list(grads)


class InProcessModule:
    """The student's module imported into the test process."""

    def __init__(self, name: str):
        self.module = importlib.import_module(name)

    def __getattr__(self, name):
        return InProcessFunction(getattr(self.module, name))


@pytest.fixture
def student():
    """The module named by CS330_BENCH_MODULE, imported in-process."""
    return InProcessModule(os.environ["CS330_BENCH_MODULE"])


_STORE = None


@pytest.fixture
def golden(request):
    """Golden values from the assignment's golden folder."""
    global _STORE
    if _STORE is None:
        _STORE = GoldenStore(Path(os.environ["CS330_BENCH_GOLDEN"]), record=False)
    return _STORE.for_test(Path(str(request.node.fspath)).stem, request.node.nodeid)
