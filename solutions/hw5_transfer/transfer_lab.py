"""The lab bench of hw5's notebook (provided, not graded): models, Omniglot subsets, training, evaluation.

The model is hw4's ConvEncoder (the architecture hw2 pretrains) with a linear head. The notebook's
experiments use these helpers and the functions you write; nothing here needs editing.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger("transfer_lab")
HERE = Path(__file__).resolve().parent
PRETRAINED_FILE = "pretrained_encoder.pt"
N_DRAWERS = 20


def _omniglot():
    """The course's Omniglot loader (autograder/omniglot.py), found from the repository or installed."""
    try:
        from autograder import omniglot
    except ImportError:
        for parent in HERE.parents:
            if (parent / "autograder" / "omniglot.py").is_file():
                sys.path.insert(0, str(parent))
                break
        from autograder import omniglot
    return omniglot


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """One block: (B, in, H, W) -> (B, out, H // 2, W // 2)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                         nn.BatchNorm2d(out_channels), nn.ReLU(), nn.MaxPool2d(2))


class ConvEncoder(nn.Module):
    """hw4's encoder: four conv blocks mapping (B, 1, 28, 28) images to (B, hidden) features."""

    def __init__(self, in_channels: int = 1, hidden: int = 64) -> None:
        """Build the four blocks; `hidden` is the filter count and the feature size."""
        super().__init__()
        self.out_features = hidden
        self.blocks = nn.Sequential(conv_block(in_channels, hidden), conv_block(hidden, hidden),
                                    conv_block(hidden, hidden), conv_block(hidden, hidden))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, 28, 28) -> (B, hidden)."""
        return self.blocks(images).flatten(start_dim=1)


class Classifier(nn.Module):
    """ConvEncoder + Linear head: (B, 1, 28, 28) images -> (B, n_classes) logits."""

    def __init__(self, n_classes: int, hidden: int = 64) -> None:
        """Build the encoder (width `hidden`) and the head."""
        super().__init__()
        self.encoder = ConvEncoder(1, hidden)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits of a batch of images."""
        return self.head(self.encoder(images))


MODULES = ("encoder.blocks.0", "encoder.blocks.1", "encoder.blocks.2", "encoder.blocks.3", "head")


def make_model(n_classes: int, seed: int, pretrained: Path | None = None, hidden: int = 64) -> Classifier:
    """A classifier initialized from seed; its encoder loaded from `pretrained` when given."""
    torch.manual_seed(seed)
    model = Classifier(n_classes, hidden)
    if pretrained is not None:
        state = torch.load(pretrained, map_location="cpu", weights_only=True)
        model.encoder.load_state_dict(state)
    return model


def pretrained_path(folder: Path | str | None = None) -> Path:
    """The pretrained encoder file beside the notebook, with a clear error when it is missing."""
    path = Path(folder or Path.cwd()) / PRETRAINED_FILE
    if not path.is_file():
        path = HERE / PRETRAINED_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{PRETRAINED_FILE} is missing: keep it beside transfer.ipynb (it ships "
                                "with the starter code; it is hw2's pretrained encoder)")
    return path


@dataclass
class Split:
    """Images (N, 1, 28, 28) and labels (N,) of a train, validation and test split."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    def map(self, fn) -> "Split":
        """The same split with fn applied to each image tensor."""
        return Split(fn(self.train_x), self.train_y, fn(self.val_x), self.val_y, fn(self.test_x), self.test_y)


def load_task(n_classes: int, subset: str = "images_evaluation", seed: int = 0, train: int = 12,
              val: int = 3, data_dir: Path | None = None) -> Split:
    """n_classes characters of an Omniglot subset (chosen by seed), drawers split train/val/test."""
    omniglot = _omniglot()
    chars = omniglot.load_characters(data_dir, 28, subsets=(subset,))
    rows = torch.randperm(len(chars.character_ids), generator=torch.Generator().manual_seed(seed))[:n_classes]
    images = chars.images[torch.sort(rows).values]  # (K, 20, 28, 28)
    labels = torch.arange(n_classes).unsqueeze(1).expand(n_classes, N_DRAWERS)

    def part(a: int, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Drawers a..b-1 of every chosen character."""
        return images[:, a:b].reshape(-1, 1, 28, 28).contiguous(), labels[:, a:b].reshape(-1).contiguous()

    return Split(*part(0, train), *part(train, train + val), *part(train + val, N_DRAWERS))


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float = 1e-3, seed: int = 0,
          batch_size: int = 64, params: list | None = None) -> nn.Module:
    """Train model (or only `params`) with Adam on minibatches of (x, y) drawn with seed; return it."""
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(params if params is not None else model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=gen)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return model


def train_checkpoints(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lengths: list[int], lr: float = 1e-3,
                      seed: int = 0, batch_size: int = 64) -> list[dict]:
    """Train model with Adam for max(lengths) steps; return copies of its state after each length."""
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    states = {}
    model.train()
    for step in range(1, max(lengths) + 1):
        idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=gen)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step in lengths:
            states[step] = state_of(model)
    model.eval()
    return [states[n] for n in lengths]


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) of model on (x, y), in eval mode."""
    model.eval()
    logits = model(x)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def evaluate_state(model: nn.Module, state: dict, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(loss, accuracy) of model's architecture with the given state dict."""
    model.load_state_dict(state)
    return evaluate(model, x, y)


def state_of(model: nn.Module) -> dict:
    """A detached copy of model's state dict."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def module_distance(trained: dict, init: dict, prefix: str) -> float:
    """Frobenius norm of the change of a module's floating tensors between init and trained."""
    total = sum(float(((trained[k] - init[k]) ** 2).sum()) for k in trained
                if (k == prefix or k.startswith(prefix + ".")) and trained[k].is_floating_point()
                and "running" not in k)
    return total ** 0.5


def linear_probe(encoder: nn.Module, task: Split, steps: int = 150, lr: float = 1e-2, seed: int = 0) -> float:
    """Test accuracy of a linear head trained on the frozen encoder's features of task."""
    encoder.eval()
    with torch.no_grad():
        train_f, test_f = encoder(task.train_x), encoder(task.test_x)
    head = nn.Linear(train_f.shape[1], int(task.train_y.max()) + 1)
    torch.manual_seed(seed)
    head.reset_parameters()
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.cross_entropy(head(train_f), task.train_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return (head(test_f).argmax(1) == task.test_y).float().mean().item()
