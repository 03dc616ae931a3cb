"""Assertions for graded tests, with messages written for students.

Every helper raises SubmissionError (an AssertionError) that says what was expected and what came
back. In hidden tests (REVEAL off, set by the plugin) messages name shapes, dtypes and tolerances
but never expected values.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from autograder.submission import SubmissionError

REVEAL = True


def set_reveal(reveal: bool) -> None:
    """Whether failure messages may show expected values (False in hidden tests)."""
    global REVEAL
    REVEAL = reveal


def expect_tensor(value: Any, name: str, shape: tuple[int, ...] | None = None,
                  dtype: torch.dtype | None = None, finite: bool = True) -> torch.Tensor:
    """Check that value is a tensor with the given shape and dtype (and finite); return it."""
    if not isinstance(value, torch.Tensor):
        raise SubmissionError(f"{name} should be a torch.Tensor, got {_kind(value)}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise SubmissionError(f"{name} has shape {tuple(value.shape)}; expected {tuple(shape)}")
    if dtype is not None and value.dtype != dtype:
        raise SubmissionError(f"{name} has dtype {value.dtype}; expected {dtype}")
    if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        bad = "NaN" if bool(torch.isnan(value).any()) else "inf"
        raise SubmissionError(f"{name} contains {bad} values")
    return value


def expect_close(got: Any, expected: Any, name: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Check got against expected: same structure, tensors within tolerance, others equal."""
    if isinstance(expected, torch.Tensor):
        _close_tensor(got, expected, name, atol, rtol)
    elif isinstance(expected, np.ndarray):
        _close_tensor(torch.as_tensor(got) if isinstance(got, np.ndarray) else got,
                      torch.from_numpy(expected), name, atol, rtol)
    elif isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise SubmissionError(f"{name} should be a tuple of {len(expected)} values, got {_kind(got)}")
        for i, (g, e) in enumerate(zip(got, expected)):
            expect_close(g, e, f"{name}[{i}]", atol, rtol)
    elif isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            raise SubmissionError(f"{name} should be a dict with keys {sorted(expected)}, got {_kind(got)}")
        for key in expected:
            expect_close(got[key], expected[key], f"{name}[{key!r}]", atol, rtol)
    elif isinstance(expected, float):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not _is_real(got) or not abs(float(got) - expected) <= atol + rtol * abs(expected):
            raise SubmissionError(f"{name} is {_show(got)}; {_expected(expected)} "
                                  f"(atol={atol:g}, rtol={rtol:g})")
    elif type(got) is not type(expected) or got != expected:
        raise SubmissionError(f"{name} is {_show(got)}; {_expected(expected)}")


def _is_real(value: Any) -> bool:
    """True for a real number (Python or numpy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _expected(expected: Any) -> str:
    """'expected X' in visible tests, a neutral phrase in hidden ones."""
    return f"expected {_show(expected)}" if REVEAL else "that is not the expected value"


def _close_tensor(got: Any, expected: torch.Tensor, name: str, atol: float, rtol: float) -> None:
    """Compare one tensor: shape, dtype, finiteness, then values."""
    expect_tensor(got, name, tuple(expected.shape), expected.dtype, finite=False)
    if expected.is_floating_point() or expected.is_complex():
        nan_mismatch = torch.isnan(got) != torch.isnan(expected)
        if bool(nan_mismatch.any()):
            raise SubmissionError(f"{name} has NaN where the reference has none (or the reverse)")
        diff = (got - expected).abs().nan_to_num(0.0)
        allowed = atol + rtol * expected.abs().nan_to_num(0.0)
        bad = diff > allowed
    else:
        diff = (got != expected).to(torch.float64)
        bad = diff > 0
    if not bool(bad.any()):
        return
    count = int(bad.sum())
    flat = int(torch.argmax((diff - (allowed if expected.is_floating_point() else 0)).reshape(-1)))
    index = tuple(int(i) for i in np.unravel_index(flat, tuple(expected.shape))) if expected.dim() else ()
    message = (f"{name} differs from the reference at {count} of {expected.numel()} entries "
               f"(tolerance atol={atol:g}, rtol={rtol:g}); worst at index {index}")
    if REVEAL:
        message += f": got {_show(got[index].item())}, expected {_show(expected[index].item())}"
    raise SubmissionError(message)


def _kind(value: Any) -> str:
    """A short description of a value's type (and shape)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return type(value).__name__


def _show(value: Any) -> str:
    """A value as the student should see it (only numbers and short texts)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value) if isinstance(value, (int, bool, str)) else _kind(value)
    return text[:200]
