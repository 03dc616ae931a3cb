"""Train and evaluate a Prototypical Network on Omniglot (provided; you implement protonet.py).

Run `python train.py --help` here, or `cs330 train hw4_protonet PATH`. Writes OUT/metrics.csv,
OUT/curves.png, OUT/encoder.pt (the best-validation encoder) and OUT/results.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import torch
from tqdm import tqdm

import protonet
from model import ConvEncoder

DRAWINGS_PER_CLASS = 20
EMBED_BATCH = 64  # images per forward pass when embedding a whole pool for evaluation
METRIC_FIELDS = ("episode", "train_loss", "train_acc", "val_acc", "val_ci95", "lr", "elapsed_s")


def _import_omniglot() -> ModuleType:
    """Import autograder.omniglot, falling back to the course checkout that holds this file."""
    try:
        from autograder import omniglot
    except ModuleNotFoundError as error:
        if error.name != "autograder":
            raise
        here = Path(__file__).resolve().parents
        root = next((p for p in here if (p / "autograder" / "omniglot.py").is_file()), None)
        if root is None:
            raise ModuleNotFoundError(
                "autograder.omniglot not found: install the course package (pip install -e <course repo>)"
            ) from error
        sys.path.insert(0, str(root))
        from autograder import omniglot
    return omniglot


omniglot = _import_omniglot()


@dataclass
class Pool:
    """Images (M, 1, 28, 28) float32 on the training device and their class ids (M,) int64 on the CPU."""

    images: torch.Tensor
    class_ids: torch.Tensor


@dataclass
class TrainLog:
    """What training produced: metric rows, the best-validation weights and how training ended."""

    rows: list[dict[str, float]] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)
    best_val: float = -1.0
    best_episode: int = 0
    episodes: int = 0
    train_s: float = 0.0
    stopped_early: bool = False


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (see --help)."""
    p = argparse.ArgumentParser(description="Train a Prototypical Network on Omniglot.")
    p.add_argument("--data-dir", default=None, help="Omniglot folder (default: autograder.omniglot's)")
    p.add_argument("--protocol", choices=("course", "paper"), default="course",
                   help="course: 1100/100/423 characters; paper: train characters x 4 rotations as classes")
    p.add_argument("--train-way", "--n-way", dest="train_way", type=int, default=5,
                   help="classes per training episode (the paper trains 60-way)")
    p.add_argument("--test-way", type=int, default=5, help="classes per validation and test episode")
    p.add_argument("--k-shot", type=int, default=5, help="support examples per class (train and val)")
    p.add_argument("--q-queries", type=int, default=15, help="query examples per class")
    p.add_argument("--episodes", type=int, default=2000, help="training episodes")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--lr-step", type=int, default=2000, help="halve the learning rate every this many episodes")
    p.add_argument("--eval-every", type=int, default=100, help="validate every this many episodes")
    p.add_argument("--val-episodes", type=int, default=100, help="episodes per validation")
    p.add_argument("--test-episodes", type=int, default=1000, help="episodes per test shot")
    p.add_argument("--test-shots", default="1,5", help="comma-separated shots to test, e.g. 1,5")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the episodes and the weights")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--out", default="runs/hw4_protonet", help="output folder")
    p.add_argument("--time-budget-s", type=float, default=None, help="stop training after this many seconds")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cuda is used only if available")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    args.test_shots = [int(s) for s in str(args.test_shots).split(",") if s.strip()]
    check_args(p, args)
    return args


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject settings that cannot work, with a parser error."""
    most_shots = max([args.k_shot, *args.test_shots])
    if min([args.k_shot, *args.test_shots, args.q_queries]) < 1:
        parser.error("--k-shot, --test-shots and --q-queries must be at least 1")
    if most_shots + args.q_queries > DRAWINGS_PER_CLASS:
        parser.error(f"shots + queries must be at most {DRAWINGS_PER_CLASS} (drawings per character)")
    if min(args.train_way, args.test_way) < 2:
        parser.error("--train-way and --test-way must be at least 2")
    if min(args.episodes, args.lr_step, args.eval_every, args.val_episodes, args.test_episodes) < 1:
        parser.error("--episodes, --lr-step, --eval-every, --val-episodes and --test-episodes must be >= 1")


def pick_device(name: str) -> torch.device:
    """Return cuda when asked for and available, else the CPU (with a warning if cuda was asked for)."""
    if name == "cuda" and not torch.cuda.is_available():
        print("warning: --device cuda asked for but CUDA is not available; using the CPU", file=sys.stderr)
        return torch.device("cpu")
    return torch.device(name)


def load_pools(args: argparse.Namespace, device: torch.device) -> dict[str, Pool]:
    """Load Omniglot once and return the train/val/test class pools (rotations on train for `paper`)."""
    chars = omniglot.load_characters(args.data_dir, image_size=28)
    splits = omniglot.split_characters(len(chars.character_ids), protocol=args.protocol, seed=args.seed)
    pools = {}
    for name, rows in splits.items():
        rotations = args.protocol == "paper" and name == "train"
        images, class_ids = omniglot.class_pool(chars, rows, rotations=rotations)
        pools[name] = Pool(images.to(device), class_ids)
    return pools


def run_episode(
    embed: Callable[[torch.Tensor], torch.Tensor], class_ids: torch.Tensor,
    n_way: int, k_shot: int, q_queries: int, generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample one episode, embed its pool indices in one batch with `embed`; return (loss, accuracy)."""
    support_idx, support_y, query_idx, query_y = protonet.sample_episode(
        class_ids, n_way, k_shot, q_queries, generator
    )
    features = embed(torch.cat([support_idx, query_idx]))
    device = features.device
    n_support = len(support_idx)
    return protonet.protonet_loss(
        features[:n_support], support_y.to(device), features[n_support:], query_y.to(device), n_way
    )


def mean_ci95(values: torch.Tensor) -> tuple[float, float]:
    """Return (mean, 1.96 * std / sqrt(n)) of a 1-D tensor of per-episode accuracies."""
    n = len(values)
    std = float(values.std()) if n > 1 else 0.0
    return float(values.mean()), 1.96 * std / math.sqrt(n)


@torch.no_grad()
def embed_pool(encoder: torch.nn.Module, images: torch.Tensor, batch: int = EMBED_BATCH) -> torch.Tensor:
    """Return the (M, D) eval-mode features of all (M, 1, 28, 28) images, `batch` images at a time."""
    was_training = encoder.training
    encoder.eval()
    features = torch.cat([encoder(images[i : i + batch]) for i in range(0, len(images), batch)])
    encoder.train(was_training)
    return features


@torch.no_grad()
def evaluate(
    encoder: torch.nn.Module, pool: Pool, n_way: int, shots: list[int], q_queries: int, episodes: int, seed: int
) -> dict[int, tuple[float, float]]:
    """Return {k_shot: (mean accuracy, 95% CI)} over `episodes` episodes seeded with `seed`, in eval mode."""
    # Eval-mode BatchNorm uses running statistics, so an image's features do not depend on the rest of
    # its episode: embed the pool once and let every episode index the features.
    features = embed_pool(encoder, pool.images)
    lookup = lambda idx: features[idx.to(features.device)]  # noqa: E731
    results = {}
    for k_shot in shots:
        generator = torch.Generator().manual_seed(seed)
        accs = [float(run_episode(lookup, pool.class_ids, n_way, k_shot, q_queries, generator)[1])
                for _ in range(episodes)]
        results[k_shot] = mean_ci95(torch.tensor(accs, dtype=torch.float64))
    return results


def train(encoder: torch.nn.Module, pools: dict[str, Pool], args: argparse.Namespace) -> TrainLog:
    """Train with Adam (lr halved every --lr-step episodes), validating every --eval-every episodes."""
    optimizer = torch.optim.Adam(encoder.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.lr_step, gamma=0.5)
    generator = torch.Generator().manual_seed(args.seed)
    pool = pools["train"]
    embed = lambda idx: encoder(pool.images[idx.to(pool.images.device)])  # noqa: E731
    log, window = TrainLog(), []
    started = time.perf_counter()
    bar = tqdm(range(1, args.episodes + 1), desc="train", unit="ep", file=sys.stderr,
               disable=args.no_progress, dynamic_ncols=True)
    for episode in bar:
        encoder.train()
        loss, acc = run_episode(embed, pool.class_ids, args.train_way, args.k_shot, args.q_queries, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        window.append((loss.item(), acc.item()))
        elapsed = time.perf_counter() - started
        over_budget = args.time_budget_s is not None and elapsed > args.time_budget_s
        log.stopped_early = over_budget and episode < args.episodes
        if episode % args.eval_every == 0 or episode == args.episodes or log.stopped_early:
            validate(encoder, pools["val"], args, log, episode, window, lr, elapsed)
            window = []
        if episode % 10 == 0 or episode == args.episodes:
            bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{acc.item():.3f}", val=f"{log.best_val:.3f}")
        if log.stopped_early:
            bar.close()
            print(f"time budget of {args.time_budget_s:g} s reached after {episode} episodes: "
                  "stopping training early", file=sys.stderr)
            break
    bar.close()
    log.episodes, log.train_s = episode, time.perf_counter() - started
    return log


def validate(
    encoder: torch.nn.Module, pool: Pool, args: argparse.Namespace, log: TrainLog,
    episode: int, window: list[tuple[float, float]], lr: float, elapsed: float,
) -> None:
    """Validate, append a metrics row (train means over `window`) and keep the best weights."""
    val = evaluate(encoder, pool, args.test_way, [args.k_shot], args.q_queries, args.val_episodes, args.seed + 1)
    val_acc, val_ci = val[args.k_shot]
    train_loss, train_acc = (sum(v) / len(window) for v in zip(*window))
    log.rows.append({"episode": episode, "train_loss": train_loss, "train_acc": train_acc,
                     "val_acc": val_acc, "val_ci95": val_ci, "lr": lr, "elapsed_s": elapsed})
    if val_acc > log.best_val:
        log.best_val, log.best_episode = val_acc, episode
        log.best_state = {k: v.detach().to("cpu", copy=True) for k, v in encoder.state_dict().items()}


def write_metrics(rows: list[dict[str, float]], path: Path) -> None:
    """Write the metric rows as CSV with the METRIC_FIELDS columns."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRIC_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def plot_curves(rows: list[dict[str, float]], path: Path, title: str) -> None:
    """Save training loss (left) and train/val accuracy (right) against episodes as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    episodes = [r["episode"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(episodes, [r["train_loss"] for r in rows], marker=".", label="train")
    ax_loss.set(xlabel="episode", ylabel="cross-entropy loss", title="loss", yscale="log")
    ax_acc.plot(episodes, [r["train_acc"] for r in rows], marker=".", label="train")
    ax_acc.errorbar(episodes, [r["val_acc"] for r in rows], yerr=[r["val_ci95"] for r in rows],
                    marker=".", capsize=2, label="val")
    ax_acc.set(xlabel="episode", ylabel="query accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def test(encoder: torch.nn.Module, pool: Pool, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Return {"<W>way_<K>shot": {"acc", "ci95"}} on the test split for each --test-shots value."""
    accs = evaluate(encoder, pool, args.test_way, args.test_shots, args.q_queries, args.test_episodes, args.seed + 2)
    return {f"{args.test_way}way_{k}shot": {"acc": acc, "ci95": ci} for k, (acc, ci) in accs.items()}


def summarize(results: dict, out: Path) -> str:
    """Return the short stdout summary of a run."""
    early = " (stopped early: time budget reached)" if results["stopped_early"] else ""
    lines = [
        f"trained {results['episodes_trained']} episodes in {results['train_s']:.1f} s "
        f"({results['episodes_per_s']:.2f} episodes/s){early}",
        f"best val {results['val_task']} acc {100 * results['best_val_acc']:.2f}% "
        f"at episode {results['best_val_episode']}",
    ]
    for task, r in results["test"].items():
        lines.append(f"test {task}: {100 * r['acc']:.2f}% +/- {100 * r['ci95']:.2f}% (95% CI)")
    lines.append(f"wall clock {results['wall_clock_s']:.1f} s; wrote metrics.csv, curves.png, encoder.pt, "
                 f"results.json to {out}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    """Train, validate, test, write OUT/{metrics.csv,curves.png,encoder.pt,results.json}; return results."""
    started = time.perf_counter()
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pools = load_pools(args, device)
    torch.manual_seed(args.seed)
    encoder = ConvEncoder().to(device)
    log = train(encoder, pools, args)
    write_metrics(log.rows, out / "metrics.csv")
    val_task = f"{args.test_way}way_{args.k_shot}shot"
    plot_curves(log.rows, out / "curves.png", f"ProtoNet, {args.protocol} protocol, {args.train_way}-way "
                f"{args.k_shot}-shot training; val {args.test_way}-way {args.k_shot}-shot")
    torch.save(log.best_state, out / "encoder.pt")
    encoder.load_state_dict(log.best_state)
    results = {
        "test": test(encoder, pools["test"], args),
        "episodes_trained": log.episodes,
        "wall_clock_s": 0.0,
        "stopped_early": log.stopped_early,
        "train_s": log.train_s,
        "episodes_per_s": log.episodes / max(log.train_s, 1e-9),
        "val_task": val_task,
        "best_val_acc": log.best_val,
        "best_val_episode": log.best_episode,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "config": {k: v for k, v in vars(args).items() if k != "no_progress"},
    }
    results["wall_clock_s"] = time.perf_counter() - started
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(summarize(results, out))
    return results


if __name__ == "__main__":
    main()
