"""Trusted helpers run in the sandbox beside the student's transfer.py (the notebook's graded cells).

greedy_soup takes an `evaluate` callback, which cannot cross the process boundary: these functions
define hand-made ones here, call the student's greedy_soup and return plain data.
"""

from __future__ import annotations

import torch

import transfer

# Ingredient i holds the scalar weight W[i]; the hand-made evaluate scores a soup by -(w - 0)^2.
VAL_SCORES = [0.6, 0.9, 0.2, 0.7, 0.5]  # greedy order: 1, 3, 0, 4, 2
WEIGHTS = [3.0, 1.0, -4.0, -0.5, 0.25]


def _ingredients(weights: list[float], seed: int) -> list[dict]:
    """State dicts with a scalar-like weight 'w', a random matrix 'm' and an integer counter 'n'."""
    gen = torch.Generator().manual_seed(seed)
    return [{"w": torch.full((3,), w), "m": torch.randn(2, 2, generator=gen),
             "n": torch.tensor(10 + i, dtype=torch.int64)} for i, w in enumerate(weights)]


def greedy_soup_case(seed: int, weights: list[float] | None = None,
                     val_scores: list[float] | None = None) -> tuple[dict, list[int], list[float]]:
    """Run the student's greedy_soup with evaluate(sd) = -mean(sd['w'])^2; return (soup, indices, calls).

    calls holds the score of every evaluate call, in order (to check how the soup was built).
    """
    weights = WEIGHTS if weights is None else weights
    val_scores = VAL_SCORES if val_scores is None else val_scores
    calls: list[float] = []

    def evaluate(state: dict) -> float:
        """Minus the squared mean of 'w' (the best soup has w = 0)."""
        score = -float(state["w"].double().mean()) ** 2
        calls.append(score)
        return score

    soup, used = transfer.greedy_soup(_ingredients(weights, seed), list(val_scores), evaluate)
    soup = {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in dict(soup).items()}
    return soup, [int(i) for i in used], calls


def ingredients(seed: int, weights: list[float] | None = None) -> list[dict]:
    """The ingredients of a case, for the test to compare the soup against."""
    return _ingredients(WEIGHTS if weights is None else weights, seed)
