"""Multi-task experiments (provided; you implement multitask.py).

Run `python train.py --help` here, or `cs330 train hw1_multitask PATH`. Two experiments:

- synthetic: the MMoE paper's figure 4 in small. Shared-bottom vs MMoE (equal parameter counts) on
  two regression tasks from `mmoe_synthetic_tasks` at task correlations 1.0, 0.9, 0.5, 0.0, several
  seeds. Writes OUT/synthetic_curves.png (test loss curves, one panel per correlation),
  OUT/synthetic.csv (final test loss per model, correlation and seed).
- omniglot: real images, three tasks per image (character identity, the amount of ink, and who drew
  it). Single-task models, a shared bottom, a multi-head network and an MMoE, trained with
  `weighted_task_loss` on `stratified_task_batches`. Writes OUT/omniglot.csv (test accuracy per
  model and task). Skipped with a message when the Omniglot files are absent.

Both write OUT/results.json and print tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path
from types import ModuleType

import torch
from torch import nn
from tqdm import tqdm

import multitask

CORRELATIONS = (1.0, 0.9, 0.5, 0.0)
OMNIGLOT_TASKS = ("character", "ink", "drawer")


def _import_omniglot() -> ModuleType | None:
    """Import autograder.omniglot (falling back to the course checkout that holds this file), or None."""
    try:
        from autograder import omniglot
    except ModuleNotFoundError:
        here = Path(__file__).resolve().parents
        root = next((p for p in here if (p / "autograder" / "omniglot.py").is_file()), None)
        if root is None:
            return None
        sys.path.insert(0, str(root))
        from autograder import omniglot
    return omniglot


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (see --help)."""
    p = argparse.ArgumentParser(description="Multi-task experiments: MMoE vs shared bottom, and Omniglot.")
    p.add_argument("--experiment", choices=("synthetic", "omniglot", "all"), default="all")
    p.add_argument("--seeds", type=int, default=3, help="seeds per model and correlation (synthetic)")
    p.add_argument("--correlations", default=",".join(str(c) for c in CORRELATIONS),
                   help="comma-separated task correlations (synthetic)")
    p.add_argument("--in-dim", type=int, default=16, help="input size of the synthetic tasks")
    p.add_argument("--train-examples", type=int, default=4000, help="synthetic training examples")
    p.add_argument("--test-examples", type=int, default=2000, help="synthetic test examples")
    p.add_argument("--experts", type=int, default=8, help="MMoE experts (the paper: 8)")
    p.add_argument("--expert-dim", type=int, default=16, help="units per expert (the paper: 16)")
    p.add_argument("--tower-dim", type=int, default=8, help="units per task tower (the paper: 8)")
    p.add_argument("--steps", type=int, default=2000, help="Adam steps per synthetic run")
    p.add_argument("--batch", type=int, default=128, help="minibatch size")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    p.add_argument("--eval-every", type=int, default=100, help="evaluate the test loss every this many steps")
    p.add_argument("--data-dir", default=None, help="Omniglot folder (default: autograder.omniglot's)")
    p.add_argument("--characters", type=int, default=200, help="Omniglot characters used (of 964)")
    p.add_argument("--image-size", type=int, default=14, help="Omniglot images are resized to this size")
    p.add_argument("--omniglot-steps", type=int, default=1500, help="Adam steps per Omniglot model")
    p.add_argument("--hidden", type=int, default=128, help="hidden units of the Omniglot models")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--out", default="runs/hw1_multitask", help="output folder")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = p.parse_args(argv)
    args.correlations = [float(c) for c in str(args.correlations).split(",") if c.strip()]
    if min(args.seeds, args.steps, args.batch, args.eval_every, args.omniglot_steps) < 1:
        p.error("--seeds, --steps, --batch, --eval-every and --omniglot-steps must be at least 1")
    if any(not -1.0 <= c <= 1.0 for c in args.correlations):
        p.error("--correlations must lie in [-1, 1]")
    return args


def count_parameters(model: nn.Module) -> int:
    """The number of parameters of model."""
    return sum(p.numel() for p in model.parameters())


def matching_bottom_dim(args: argparse.Namespace) -> int:
    """The shared-bottom width whose parameter count is closest to the MMoE's."""
    mmoe = count_parameters(multitask.MMoE(args.in_dim, args.experts, args.expert_dim, 2, args.tower_dim))
    per_unit = args.in_dim + 1 + 2 * args.tower_dim  # a bottom unit: its weights, bias, tower weights
    fixed = 2 * (2 * args.tower_dim + 1)  # tower biases and output layers
    return max(1, round((mmoe - fixed) / per_unit))


def mean_ci95(values: list[float]) -> tuple[float, float]:
    """Return (mean, 1.96 * std / sqrt(n)) of values."""
    t = torch.tensor(values, dtype=torch.float64)
    std = float(t.std()) if len(t) > 1 else 0.0
    return float(t.mean()), 1.96 * std / math.sqrt(len(t))


@torch.no_grad()
def regression_loss(model: nn.Module, x: torch.Tensor, ys: list[torch.Tensor]) -> float:
    """The mean over tasks of the mean squared error of model on (x, ys)."""
    outputs = model(x)
    return float(sum(((o - y) ** 2).mean() for o, y in zip(outputs, ys)) / len(ys))


def synthetic_run(model: nn.Module, data: tuple, args: argparse.Namespace, seed: int) -> list[float]:
    """Train model with Adam on the sum of the task MSEs; return the test loss every --eval-every steps."""
    (x, y1, y2), (xt, y1t, y2t) = data
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(seed)
    curve = [regression_loss(model, xt, [y1t, y2t])]
    for step in range(1, args.steps + 1):
        idx = torch.randint(len(x), (args.batch,), generator=generator)
        out = model(x[idx])
        loss = ((out[0] - y1[idx]) ** 2).mean() + ((out[1] - y2[idx]) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % args.eval_every == 0 or step == args.steps:
            curve.append(regression_loss(model, xt, [y1t, y2t]))
    return curve


def synthetic_experiment(args: argparse.Namespace, out: Path) -> dict:
    """Shared bottom vs MMoE at each correlation and seed; write the CSV and the PNG; return the table."""
    bottom = matching_bottom_dim(args)
    makers = {
        "shared_bottom": lambda: multitask.SharedBottom(args.in_dim, bottom, 2, args.tower_dim),
        "mmoe": lambda: multitask.MMoE(args.in_dim, args.experts, args.expert_dim, 2, args.tower_dim),
    }
    sizes = {name: count_parameters(make()) for name, make in makers.items()}
    curves: dict[tuple[str, float], list[list[float]]] = {}
    runs = [(c, s, m) for c in args.correlations for s in range(args.seed, args.seed + args.seeds) for m in makers]
    for corr, seed, name in tqdm(runs, desc="synthetic", file=sys.stderr, disable=args.no_progress):
        total = args.train_examples + args.test_examples
        x, y1, y2 = multitask.mmoe_synthetic_tasks(total, args.in_dim, corr, torch.Generator().manual_seed(seed))
        n = args.train_examples
        data = ((x[:n], y1[:n], y2[:n]), (x[n:], y1[n:], y2[n:]))
        torch.manual_seed(seed)
        curves.setdefault((name, corr), []).append(synthetic_run(makers[name](), data, args, seed))
    rows = [{"model": name, "correlation": corr, "seed": args.seed + i, "final_test_loss": curve[-1]}
            for (name, corr), runs_ in curves.items() for i, curve in enumerate(runs_)]
    write_csv(rows, out / "synthetic.csv")
    plot_synthetic(curves, args, out / "synthetic_curves.png", sizes)
    table = {name: {str(corr): dict(zip(("mean", "ci95"), mean_ci95([c[-1] for c in curves[(name, corr)]])))
                    for corr in args.correlations} for name in makers}
    return {"parameters": sizes, "shared_bottom_dim": bottom, "final_test_loss": table}


def plot_synthetic(curves: dict, args: argparse.Namespace, path: Path, sizes: dict[str, int]) -> None:
    """Save one panel per correlation: mean test loss against steps, a band of +/- one std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.correlations), figsize=(4 * len(args.correlations), 3.5), squeeze=False)
    for ax, corr in zip(axes[0], args.correlations):
        for name in ("shared_bottom", "mmoe"):
            runs = torch.tensor(curves[(name, corr)], dtype=torch.float64)
            steps = [0, *range(args.eval_every, args.steps + 1, args.eval_every)]
            if steps[-1] != args.steps:
                steps.append(args.steps)
            mean, std = runs.mean(0), runs.std(0) if len(runs) > 1 else torch.zeros(runs.shape[1])
            ax.plot(steps, mean, label=f"{name} ({sizes[name]} params)")
            ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
        ax.set(title=f"correlation {corr:g}", xlabel="step", ylabel="test MSE (mean of 2 tasks)", yscale="log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"MMoE vs shared bottom, {args.seeds} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_csv(rows: list[dict], path: Path) -> None:
    """Write rows (dicts with the same keys) as CSV."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


class MultiTaskClassifier(nn.Module):
    """Classifiers for the Omniglot tasks: single-task, shared-bottom, multi-head or MMoE.

    single: its own two-layer MLP per task (nothing shared). shared_bottom: one shared hidden layer,
    a hidden layer and an output layer per task. multi_head: two shared hidden layers, a linear head
    per task. mmoe: `experts` one-layer experts mixed per task by `multitask.mmoe_combine`, then a
    hidden layer and an output layer per task.
    """

    def __init__(self, kind: str, in_dim: int, hidden: int, classes: list[int], experts: int = 4) -> None:
        """Create the layers of `kind` for tasks with `classes[t]` classes each."""
        super().__init__()
        self.kind = kind
        mlp = lambda i, o: nn.Sequential(nn.Linear(i, o), nn.ReLU())  # noqa: E731
        if kind == "single":
            self.towers = nn.ModuleList([nn.Sequential(mlp(in_dim, hidden), mlp(hidden, hidden), nn.Linear(hidden, c))
                                         for c in classes])
        elif kind == "shared_bottom":
            self.shared = mlp(in_dim, hidden)
            self.towers = nn.ModuleList([nn.Sequential(mlp(hidden, hidden), nn.Linear(hidden, c)) for c in classes])
        elif kind == "multi_head":
            self.shared = nn.Sequential(mlp(in_dim, hidden), mlp(hidden, hidden))
            self.towers = nn.ModuleList([nn.Linear(hidden, c) for c in classes])
        elif kind == "mmoe":
            self.experts = nn.ModuleList([mlp(in_dim, hidden) for _ in range(experts)])
            self.gate_layers = nn.ModuleList([nn.Linear(in_dim, experts, bias=False) for _ in classes])
            self.towers = nn.ModuleList([nn.Sequential(mlp(hidden, hidden), nn.Linear(hidden, c)) for c in classes])
        else:
            raise ValueError(f"unknown model kind {kind!r}")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return one (B, classes[t]) logit tensor per task."""
        if self.kind == "single":
            return [tower(x) for tower in self.towers]
        if self.kind == "mmoe":
            experts = torch.stack([e(x) for e in self.experts], dim=1)
            return [tw(multitask.mmoe_combine(experts, g(x))) for g, tw in zip(self.gate_layers, self.towers)]
        shared = self.shared(x)
        return [tower(shared) for tower in self.towers]


def omniglot_data(args: argparse.Namespace) -> tuple[dict, list[int]] | None:
    """Images and labels of the three tasks, split 15 / 5 drawings per character; None without the data."""
    omniglot = _import_omniglot()
    if omniglot is None:
        print("omniglot: autograder.omniglot not found (install the course package): skipping", file=sys.stderr)
        return None
    try:
        chars = omniglot.load_characters(args.data_dir, image_size=args.image_size, subsets=("images_background",))
    except FileNotFoundError as error:
        print(f"omniglot: skipping the experiment: {error}", file=sys.stderr)
        return None
    images = chars.images[: args.characters]  # (C, 20, S, S)
    n_chars = images.shape[0]
    generator = torch.Generator().manual_seed(args.seed)
    split = torch.stack([torch.randperm(20, generator=generator) for _ in range(n_chars)])  # (C, 20)
    x = images.reshape(n_chars * 20, -1)
    character = torch.arange(n_chars).repeat_interleave(20)
    drawer = torch.arange(20).repeat(n_chars)
    ink_amount = x.sum(dim=1)
    train_mask = (split < 15).reshape(-1)
    ink = (ink_amount > ink_amount[train_mask].median()).long()
    labels = torch.stack([character, ink, drawer], dim=1)
    mean, std = x[train_mask].mean(0), x[train_mask].std(0) + 1e-3
    x = (x - mean) / std
    data = {"train": (x[train_mask], labels[train_mask]), "test": (x[~train_mask], labels[~train_mask])}
    return data, [n_chars, 2, 20]


def train_classifier(model: MultiTaskClassifier, data: dict, tasks: list[int], args: argparse.Namespace,
                     seed: int) -> list[float]:
    """Train on the given tasks (equal weights, stratified batches); return the test accuracy per task."""
    x, y = data["train"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    weights = torch.ones(len(tasks))
    for _ in range(args.omniglot_steps):
        batches = multitask.stratified_task_batches([len(x)] * len(tasks), args.batch, generator)
        losses = []
        for t, idx in zip(tasks, batches):
            logits = model(x[idx])[t]
            losses.append(nn.functional.cross_entropy(logits, y[idx, t]))
        loss = multitask.weighted_task_loss(torch.stack(losses), weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    xt, yt = data["test"]
    model.eval()
    with torch.no_grad():
        logits = model(xt)
    return [float((logits[t].argmax(1) == yt[:, t]).float().mean()) for t in range(len(OMNIGLOT_TASKS))]


def omniglot_experiment(args: argparse.Namespace, out: Path) -> dict | None:
    """Single-task vs shared-bottom vs multi-head vs MMoE on the three Omniglot tasks; None without data."""
    loaded = omniglot_data(args)
    if loaded is None:
        return None
    data, classes = loaded
    in_dim = data["train"][0].shape[1]
    everything = list(range(len(OMNIGLOT_TASKS)))
    plans = [("single", [t]) for t in everything] + [
        (kind, everything) for kind in ("shared_bottom", "multi_head", "mmoe")]
    plans += [("shared_bottom", [0, 1])]  # the same without the drawer task
    rows = []
    for kind, tasks in tqdm(plans, desc="omniglot", file=sys.stderr, disable=args.no_progress):
        torch.manual_seed(args.seed)
        model = MultiTaskClassifier(kind, in_dim, args.hidden, classes)
        accs = train_classifier(model, data, tasks, args, args.seed)
        name = kind if kind != "single" else f"single_{OMNIGLOT_TASKS[tasks[0]]}"
        if kind != "single" and len(tasks) < len(OMNIGLOT_TASKS):
            name += "_without_" + "_".join(OMNIGLOT_TASKS[t] for t in everything if t not in tasks)
        for t in tasks:
            rows.append({"model": name, "task": OMNIGLOT_TASKS[t], "test_accuracy": accs[t],
                         "parameters": count_parameters(model)})
    write_csv(rows, out / "omniglot.csv")
    return {"classes": dict(zip(OMNIGLOT_TASKS, classes)), "rows": rows}


def summarize(results: dict) -> str:
    """Return the stdout tables of a run."""
    lines = []
    synthetic = results.get("synthetic")
    if synthetic:
        table = synthetic["final_test_loss"]
        corrs = list(next(iter(table.values())))
        lines.append("final test MSE (mean +/- 95% CI over seeds); parameters: "
                     + ", ".join(f"{k} {v}" for k, v in synthetic["parameters"].items()))
        lines.append("model          " + "".join(f"  corr {c:<14}" for c in corrs))
        for name, per in table.items():
            lines.append(f"{name:<15}" + "".join(f"  {per[c]['mean']:.4f} +/- {per[c]['ci95']:.4f}" for c in corrs))
    omni = results.get("omniglot")
    if omni:
        lines.append("omniglot test accuracy")
        for row in omni["rows"]:
            lines.append(f"  {row['model']:<32} {row['task']:<10} {100 * row['test_accuracy']:.1f}%")
    elif "omniglot" in results:
        lines.append("omniglot: skipped (no data)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    """Run the chosen experiments, write OUT/results.json (and the CSVs and PNG); return the results."""
    started = time.perf_counter()
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"config": {k: v for k, v in vars(args).items() if k != "no_progress"}}
    if args.experiment in ("synthetic", "all"):
        results["synthetic"] = synthetic_experiment(args, out)
    if args.experiment in ("omniglot", "all"):
        results["omniglot"] = omniglot_experiment(args, out)
    results["wall_clock_s"] = time.perf_counter() - started
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(summarize(results))
    print(f"wall clock {results['wall_clock_s']:.1f} s; wrote results to {out}")
    return results


if __name__ == "__main__":
    main()
