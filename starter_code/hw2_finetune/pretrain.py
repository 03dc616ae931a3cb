"""Pretrain the encoder on the source alphabets (provided; `cs330 build hw2_finetune` runs it once).

A `Classifier` (hw4's ConvEncoder + Linear head) learns to name all 964 characters of Omniglot's
background alphabets from drawers 0-9 of each; drawers 10-19 measure source accuracy and stay unseen.
Everything is fixed (1 thread, seeds, data order), so the recipe below always gives the same weights on
one machine. The results are `pretrained_encoder.pt` (the encoder's state dict), `pretrained_head.pt` (the
964-way head, used by the low-level-shift target) and the sidecar `pretrained_encoder.json` (recipe hash,
source accuracy, torch version). Builds reuse a cache (~/.cache/cs330 or $CS330_CACHE) keyed by the recipe
hash; the weights are never downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType

import torch
import torch.nn.functional as F

from classifier import Classifier
from model import ConvEncoder

log = logging.getLogger("pretrain")

HERE = Path(__file__).resolve().parent
ENCODER_FILE = "pretrained_encoder.pt"
HEAD_FILE = "pretrained_head.pt"
SIDECAR_FILE = "pretrained_encoder.json"
ARTIFACTS = (ENCODER_FILE, HEAD_FILE, SIDECAR_FILE)
RECIPE_FILES = ("pretrain.py", "model.py", "classifier.py")
SETTINGS = {
    "subset": "images_background",  # the source alphabets: 964 characters
    "train_drawers": 10,  # drawers 0..9 train, 10..19 are held out
    "image_size": 28,
    "hidden": 64,
    "epochs": 6,
    "batch_size": 128,
    "lr": 1e-3,
    "seed": 0,
    "threads": 1,
}
EVAL_BATCH = 512


def recipe_hash() -> str:
    """Return the sha256 of the recipe: this file, model.py, classifier.py and SETTINGS."""
    digest = hashlib.sha256()
    for name in RECIPE_FILES:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    digest.update(json.dumps(SETTINGS, sort_keys=True).encode())
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    """Return the sha256 of one file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stale_artifacts(folder: Path) -> list[str]:
    """Names of the artifacts in folder that are missing or were made by another recipe (empty: current)."""
    folder = Path(folder)
    sidecar = folder / SIDECAR_FILE
    if not sidecar.is_file():
        return list(ARTIFACTS)
    try:
        meta = json.loads(sidecar.read_text())
    except json.JSONDecodeError:
        return [SIDECAR_FILE]
    if meta.get("recipe") != recipe_hash():
        return list(ARTIFACTS)
    files = meta.get("files", {})
    return [name for name in (ENCODER_FILE, HEAD_FILE)
            if not (folder / name).is_file() or files.get(name) != _sha256(folder / name)]


def cache_dir() -> Path:
    """Return the cache folder for this recipe: $CS330_CACHE or ~/.cache/cs330, then hw2_finetune/<hash>."""
    root = Path(os.environ.get("CS330_CACHE") or Path.home() / ".cache" / "cs330").expanduser()
    return root / "hw2_finetune" / recipe_hash()


def _import_omniglot() -> ModuleType:
    """Import autograder.omniglot, falling back to the course checkout that holds this file."""
    try:
        from autograder import omniglot
    except ModuleNotFoundError as error:
        if error.name != "autograder":
            raise
        root = next((p for p in HERE.parents if (p / "autograder" / "omniglot.py").is_file()), None)
        if root is None:
            raise ModuleNotFoundError(
                "autograder.omniglot not found: install the course package (pip install -e <course repo>)"
            ) from error
        sys.path.insert(0, str(root))
        from autograder import omniglot
    return omniglot


def source_split(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split (C, 20, S, S) characters into train and held-out (images (M, 1, S, S), labels (M,)) by drawer."""
    n_chars, _, size, _ = images.shape
    k = SETTINGS["train_drawers"]
    train = images[:, :k].reshape(-1, 1, size, size)
    held = images[:, k:].reshape(-1, 1, size, size)
    labels = torch.arange(n_chars)
    return train, labels.repeat_interleave(k), held, labels.repeat_interleave(images.shape[1] - k)


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Return the fraction of images the model (in eval mode) classifies correctly."""
    model.eval()
    correct = sum(int((model(images[i:i + EVAL_BATCH]).argmax(1) == labels[i:i + EVAL_BATCH]).sum())
                  for i in range(0, len(images), EVAL_BATCH))
    return correct / len(images)


def pretrain(data_dir: Path | None = None) -> tuple[Classifier, float]:
    """Train the source classifier with SETTINGS; return it and its held-out source accuracy."""
    omniglot = _import_omniglot()
    torch.set_num_threads(SETTINGS["threads"])
    chars = omniglot.load_characters(data_dir, SETTINGS["image_size"], subsets=(SETTINGS["subset"],))
    train_x, train_y, held_x, held_y = source_split(chars.images)
    torch.manual_seed(SETTINGS["seed"])
    model = Classifier(len(chars.images), hidden=SETTINGS["hidden"])
    optimizer = torch.optim.Adam(model.parameters(), lr=SETTINGS["lr"])
    order = torch.Generator().manual_seed(SETTINGS["seed"])
    from tqdm import tqdm

    batch = SETTINGS["batch_size"]
    for epoch in range(SETTINGS["epochs"]):
        model.train()
        perm = torch.randperm(len(train_x), generator=order)
        steps = tqdm(range(0, len(perm), batch), desc=f"pretrain epoch {epoch + 1}", file=sys.stderr,
                     leave=False)
        for start in steps:
            idx = perm[start:start + batch]
            loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        log.info("pretrain: epoch %d, last batch loss %.3f", epoch + 1, loss.item())
    return model, accuracy(model, held_x, held_y)


def _write(model: Classifier, source_accuracy: float, folder: Path) -> list[Path]:
    """Save the encoder, the head and the sidecar into folder; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.encoder.state_dict(), folder / ENCODER_FILE)
    torch.save(model.head.state_dict(), folder / HEAD_FILE)
    meta = {
        "recipe": recipe_hash(),
        "source_accuracy": round(source_accuracy, 4),
        "torch": torch.__version__.split("+")[0],
        "settings": SETTINGS,
        "files": {name: _sha256(folder / name) for name in (ENCODER_FILE, HEAD_FILE)},
    }
    (folder / SIDECAR_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return [folder / name for name in ARTIFACTS]


def build_artifacts(folder: Path, data_dir: Path | None = None) -> list[Path]:
    """Make the artifacts in folder current: keep them, copy them from the cache, or pretrain (then cache)."""
    folder = Path(folder)
    paths = [folder / name for name in ARTIFACTS]
    if not stale_artifacts(folder):
        return paths
    cached = cache_dir()
    if stale_artifacts(cached):
        started = time.perf_counter()
        try:
            model, source_accuracy = pretrain(data_dir)
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"{folder}/{ENCODER_FILE} is missing or made by another recipe, and rebuilding it needs "
                f"Omniglot: {error}") from error
        _write(model, source_accuracy, cached)
        log.info("pretrain: %.1f s, held-out source accuracy %.3f, cached in %s",
                 time.perf_counter() - started, source_accuracy, cached)
    for name in ARTIFACTS:
        shutil.copyfile(cached / name, folder / name)
    return paths


def load_pretrained_encoder(path: Path | None = None) -> ConvEncoder:
    """Return ConvEncoder(in_channels=1, hidden=64) with the pretrained weights (default: beside this file)."""
    encoder = ConvEncoder(in_channels=1, hidden=SETTINGS["hidden"])
    state = torch.load(Path(path) if path is not None else HERE / ENCODER_FILE, weights_only=True)
    encoder.load_state_dict(state)
    return encoder


def load_pretrained_head(path: Path | None = None) -> torch.nn.Linear:
    """Return the pretrained Linear(64, 964) head of the source task (default: beside this file)."""
    state = torch.load(Path(path) if path is not None else HERE / HEAD_FILE, weights_only=True)
    head = torch.nn.Linear(state["weight"].shape[1], state["weight"].shape[0])
    head.load_state_dict(state)
    return head


def main(argv: list[str] | None = None) -> int:
    """Command line: make the artifacts current in --out (default: beside this file)."""
    parser = argparse.ArgumentParser(description="Pretrain the hw2_finetune encoder (cached by recipe).")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the artifacts")
    parser.add_argument("--data-dir", type=Path, default=None, help="Omniglot folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    for path in build_artifacts(args.out, args.data_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
