"""Write tests/target_episode.pt: a fixed few characters of the evaluation alphabets for the graded tests.

Graded tests cannot read Omniglot (Gradescope has no data), so the LP-FT-vs-scratch test ships its target
characters: N_CHARACTERS characters of images_evaluation (new alphabets, never seen in pretraining), all
20 drawers, 28x28 ink images stored as uint8 (ink * 255, rounded). Run from the repository root:
    .venv/bin/python assignments/hw2_finetune/make_target_episode.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from autograder import omniglot

N_CHARACTERS = 10
SEED = 330
OUT = Path(__file__).resolve().parent / "tests" / "target_episode.pt"


def main() -> int:
    """Pick the characters with a seeded permutation and save them."""
    chars = omniglot.load_characters(subsets=("images_evaluation",))
    rows = torch.sort(torch.randperm(len(chars.images), generator=torch.Generator().manual_seed(SEED))[:N_CHARACTERS]).values
    images = (chars.images[rows] * 255).round().to(torch.uint8)
    torch.save({"images": images.clone(), "character_ids": chars.character_ids[rows].clone()}, OUT)
    print(f"{OUT}: {tuple(images.shape)} characters {chars.character_ids[rows].tolist()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
