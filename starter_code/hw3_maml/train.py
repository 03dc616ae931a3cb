"""Meta-train MAML on sinusoid regression or Omniglot (provided; you implement maml.py).

Run `python train.py --help` here, or `cs330 train hw3_maml PATH -- --task sinusoid|omniglot`.
Writes OUT/metrics.csv, OUT/curves.png, OUT/model.pt (the best-validation meta-parameters),
OUT/results.json, and for sinusoids OUT/sinusoid_fit.png (the paper's figure).
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
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm import tqdm

import maml
from model import ConvClassifier, SinusoidMLP

DRAWINGS_PER_CLASS = 20
METRIC_FIELDS = ("iteration", "train_loss", "val_pre", "val_post", "val_ci95", "elapsed_s")
DEFAULTS = {  # the paper's settings (Finn et al. 2017, section 5 and appendix)
    "sinusoid": {"meta_batch": 25, "k_shot": 10, "inner_lr": 0.01, "inner_steps": 1, "eval_steps": 10,
                 "iterations": 70000, "eval_every": 500, "val_tasks": 100, "test_tasks": 600},
    "omniglot": {"meta_batch": 32, "k_shot": 1, "inner_lr": 0.4, "inner_steps": 1, "eval_steps": 3,
                 "iterations": 60000, "eval_every": 500, "val_tasks": 100, "test_tasks": 600},
}
Task = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


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


@dataclass
class TrainLog:
    """What meta-training produced: metric rows, the best-validation parameters and how it ended."""

    rows: list[dict[str, float]] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)
    best_val: float = math.nan
    best_iteration: int = 0
    iterations: int = 0
    train_s: float = 0.0
    stopped_early: bool = False


class Problem:
    """A task family: samples tasks, builds the model, scores adapted predictions."""

    name = ""
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = staticmethod(F.mse_loss)
    higher_is_better = False

    def sample(self, split: str, count: int, generator: torch.Generator) -> list[Task]:
        """Return `count` tasks of `split` ('train', 'val' or 'test')."""
        raise NotImplementedError

    def model(self) -> nn.Module:
        """Return a freshly initialised model."""
        raise NotImplementedError

    def score(self, prediction: torch.Tensor, target: torch.Tensor) -> float:
        """The evaluation metric of one task's query predictions (MSE or accuracy)."""
        return float(F.mse_loss(prediction, target))


class Sinusoids(Problem):
    """Sinusoid regression (amplitude [0.1, 5], phase [0, pi], x in [-5, 5]) with maml.sinusoid_tasks."""

    name = "sinusoid"

    def __init__(self, k_shot: int, k_query: int, device: torch.device) -> None:
        """K support and K query points per task."""
        self.k_shot, self.k_query, self.device = k_shot, k_query, device

    def sample(self, split: str, count: int, generator: torch.Generator) -> list[Task]:
        """Tasks are drawn fresh for every split (the family is infinite)."""
        tasks = maml.sinusoid_tasks(count, self.k_shot, self.k_query, generator)
        return [tuple(t.to(self.device) for t in task) for task in tasks]

    def model(self) -> nn.Module:
        """The paper's regressor: 2 hidden layers of 40 with ReLU."""
        return SinusoidMLP().to(self.device)


class Omniglot(Problem):
    """N-way K-shot Omniglot classification on class-disjoint character splits."""

    name = "omniglot"
    loss_fn = staticmethod(F.cross_entropy)
    higher_is_better = True

    def __init__(self, args: argparse.Namespace, device: torch.device) -> None:
        """Load the characters once and split them (course protocol: 1100 / 100 / 423)."""
        omniglot = _import_omniglot()
        chars = omniglot.load_characters(args.data_dir, image_size=28)
        splits = omniglot.split_characters(len(chars.character_ids), protocol="course", seed=args.seed)
        self.images = {name: chars.images[rows].to(device) for name, rows in splits.items()}
        self.n_way, self.k_shot, self.q_queries, self.device = args.n_way, args.k_shot, args.q_queries, device

    def sample(self, split: str, count: int, generator: torch.Generator) -> list[Task]:
        """`count` episodes: n_way characters, k_shot support and q_queries query drawings of each."""
        pool = self.images[split]
        tasks = []
        for _ in range(count):
            classes = torch.randperm(len(pool), generator=generator)[: self.n_way]
            drawers = torch.stack([torch.randperm(DRAWINGS_PER_CLASS, generator=generator)
                                   [: self.k_shot + self.q_queries] for _ in classes])
            images = pool[classes.to(pool.device).unsqueeze(1), drawers.to(pool.device)].unsqueeze(2)
            labels = torch.arange(self.n_way, device=self.device)
            support, query = images[:, : self.k_shot], images[:, self.k_shot:]
            tasks.append((support.reshape(-1, 1, 28, 28), labels.repeat_interleave(self.k_shot),
                          query.reshape(-1, 1, 28, 28), labels.repeat_interleave(self.q_queries)))
        return tasks

    def model(self) -> nn.Module:
        """The 4-block conv encoder with a linear n_way head (BatchNorm on batch statistics)."""
        return ConvClassifier(n_way=self.n_way).to(self.device)

    def score(self, prediction: torch.Tensor, target: torch.Tensor) -> float:
        """Query accuracy."""
        return float((prediction.argmax(dim=1) == target).float().mean())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (see --help); unset options take the task's paper defaults."""
    p = argparse.ArgumentParser(description="Meta-train MAML on sinusoids or Omniglot.")
    p.add_argument("--task", choices=tuple(DEFAULTS), default="sinusoid", help="the task family")
    p.add_argument("--iterations", type=int, help="meta-iterations (paper: 70000 sinusoid, 60000 omniglot)")
    p.add_argument("--meta-batch", type=int, help="tasks per meta-iteration (25 sinusoid, 32 omniglot)")
    p.add_argument("--k-shot", type=int, help="support examples (sinusoid: points, 10; omniglot: per class, 1)")
    p.add_argument("--q-queries", type=int, default=None,
                   help="query examples (sinusoid: points, default K; omniglot: per class, default 5)")
    p.add_argument("--n-way", type=int, default=5, help="classes per Omniglot task")
    p.add_argument("--inner-lr", type=float, help="inner step size alpha (0.01 sinusoid, 0.4 omniglot)")
    p.add_argument("--inner-steps", type=int, help="inner gradient steps during meta-training (1)")
    p.add_argument("--eval-steps", type=int, help="inner steps at evaluation (10 sinusoid, 3 omniglot)")
    p.add_argument("--meta-lr", type=float, default=1e-3, help="Adam learning rate of the meta-update (beta)")
    p.add_argument("--first-order", action="store_true", help="first-order MAML (no second derivatives)")
    p.add_argument("--eval-every", type=int, help="validate every this many meta-iterations")
    p.add_argument("--val-tasks", type=int, help="tasks per validation")
    p.add_argument("--test-tasks", type=int, help="tasks for the final test (600)")
    p.add_argument("--data-dir", default=None, help="Omniglot folder (default: autograder.omniglot's)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the tasks and the weights")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--out", default=None, help="output folder (default runs/hw3_maml/TASK)")
    p.add_argument("--time-budget-s", type=float, default=None, help="stop meta-training after this many seconds")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cuda is used only if available")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    for key, value in DEFAULTS[args.task].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.q_queries is None:
        args.q_queries = args.k_shot if args.task == "sinusoid" else 5
    if args.out is None:
        args.out = f"runs/hw3_maml/{args.task}"
    check_args(p, args)
    return args


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject settings that cannot work, with a parser error."""
    if min(args.iterations, args.meta_batch, args.k_shot, args.q_queries, args.eval_every,
           args.val_tasks, args.test_tasks) < 1:
        parser.error("--iterations, --meta-batch, --k-shot, --q-queries, --eval-every, --val-tasks and "
                     "--test-tasks must be at least 1")
    if min(args.inner_steps, args.eval_steps) < 0:
        parser.error("--inner-steps and --eval-steps must be at least 0")
    if args.task == "omniglot" and args.k_shot + args.q_queries > DRAWINGS_PER_CLASS:
        parser.error(f"--k-shot + --q-queries must be at most {DRAWINGS_PER_CLASS} (drawings per character)")
    if args.task == "omniglot" and args.n_way < 2:
        parser.error("--n-way must be at least 2")


def pick_device(name: str) -> torch.device:
    """Return cuda when asked for and available, else the CPU (with a warning if cuda was asked for)."""
    if name == "cuda" and not torch.cuda.is_available():
        print("warning: --device cuda asked for but CUDA is not available; using the CPU", file=sys.stderr)
        return torch.device("cpu")
    return torch.device(name)


def mean_ci95(values: list[float]) -> tuple[float, float]:
    """Return (mean, 1.96 * std / sqrt(n)) of per-task values."""
    t = torch.tensor(values, dtype=torch.float64)
    std = float(t.std()) if len(t) > 1 else 0.0
    return float(t.mean()), 1.96 * std / math.sqrt(len(t))


def adapt_and_score(problem: Problem, model: nn.Module, params: dict[str, torch.Tensor], task: Task,
                    inner_lr: float, steps: list[int]) -> dict[int, float]:
    """Score the query predictions after each number of inner steps in `steps` (no meta-gradient kept)."""
    support_x, support_y, query_x, query_y = task
    start = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    scores, current, done = {}, start, 0
    for target in sorted(steps):
        with torch.enable_grad():
            current = maml.inner_loop(model, current, support_x, support_y, problem.loss_fn, inner_lr,
                                      target - done, first_order=True)
        current = {k: v.detach().requires_grad_(True) for k, v in current.items()}
        done = target
        with torch.no_grad():
            scores[target] = problem.score(functional_call(model, current, (query_x,)), query_y)
    return scores


def evaluate(problem: Problem, model: nn.Module, params: dict[str, torch.Tensor], tasks: list[Task],
             inner_lr: float, steps: list[int]) -> dict[int, tuple[float, float]]:
    """Return {steps: (mean score, 95% CI)} over `tasks` after 0..eval steps of adaptation."""
    per_task = [adapt_and_score(problem, model, params, task, inner_lr, steps) for task in tasks]
    return {s: mean_ci95([p[s] for p in per_task]) for s in steps}


def train(problem: Problem, model: nn.Module, args: argparse.Namespace) -> TrainLog:
    """Meta-train with Adam on maml_loss, validating every --eval-every meta-iterations."""
    params = dict(model.named_parameters())
    optimizer = torch.optim.Adam(params.values(), lr=args.meta_lr)
    generator = torch.Generator().manual_seed(args.seed)
    val_tasks = problem.sample("val", args.val_tasks, torch.Generator().manual_seed(args.seed + 1))
    log, window = TrainLog(), []
    started = time.perf_counter()
    bar = tqdm(range(1, args.iterations + 1), desc=f"maml {problem.name}", unit="it", file=sys.stderr,
               disable=args.no_progress, dynamic_ncols=True)
    for iteration in bar:
        tasks = problem.sample("train", args.meta_batch, generator)
        loss = maml.maml_loss(model, params, tasks, problem.loss_fn, args.inner_lr, args.inner_steps,
                              args.first_order)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        window.append(loss.item())
        elapsed = time.perf_counter() - started
        over_budget = args.time_budget_s is not None and elapsed > args.time_budget_s
        log.stopped_early = over_budget and iteration < args.iterations
        if iteration % args.eval_every == 0 or iteration == args.iterations or log.stopped_early:
            validate(problem, model, params, val_tasks, args, log, iteration, window, elapsed)
            window = []
            bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{log.rows[-1]['val_post']:.3f}")
        if log.stopped_early:
            bar.close()
            print(f"time budget of {args.time_budget_s:g} s reached after {iteration} meta-iterations: "
                  "stopping early", file=sys.stderr)
            break
    bar.close()
    log.iterations, log.train_s = iteration, time.perf_counter() - started
    return log


def validate(problem: Problem, model: nn.Module, params: dict[str, torch.Tensor], tasks: list[Task],
             args: argparse.Namespace, log: TrainLog, iteration: int, window: list[float], elapsed: float) -> None:
    """Score before and after --inner-steps of adaptation, append a metrics row, keep the best parameters."""
    scores = evaluate(problem, model, params, tasks, args.inner_lr, sorted({0, args.inner_steps}))
    post, ci = scores[args.inner_steps]
    log.rows.append({"iteration": iteration, "train_loss": sum(window) / len(window), "val_pre": scores[0][0],
                     "val_post": post, "val_ci95": ci, "elapsed_s": elapsed})
    better = post > log.best_val if problem.higher_is_better else post < log.best_val
    if math.isnan(log.best_val) or better:
        log.best_val, log.best_iteration = post, iteration
        log.best_state = {k: v.detach().to("cpu", copy=True) for k, v in params.items()}


def write_metrics(rows: list[dict[str, float]], path: Path) -> None:
    """Write the metric rows as CSV with the METRIC_FIELDS columns."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRIC_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _pyplot():
    """matplotlib.pyplot on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(rows: list[dict[str, float]], path: Path, problem: Problem, title: str) -> None:
    """Save the meta-training loss (left) and validation scores before/after adaptation (right)."""
    plt = _pyplot()
    its = [r["iteration"] for r in rows]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(its, [r["train_loss"] for r in rows], marker=".", label="meta-training query loss")
    ax_loss.set(xlabel="meta-iteration", ylabel="loss after adaptation", title="meta-training", yscale="log")
    metric = "accuracy" if problem.higher_is_better else "MSE"
    ax_val.plot(its, [r["val_pre"] for r in rows], marker=".", label="before adaptation")
    ax_val.errorbar(its, [r["val_post"] for r in rows], yerr=[r["val_ci95"] for r in rows], marker=".",
                    capsize=2, label="after adaptation")
    ax_val.set(xlabel="meta-iteration", ylabel=f"query {metric}", title="validation tasks")
    for ax in (ax_loss, ax_val):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_sinusoid_fit(model: nn.Module, params: dict[str, torch.Tensor], args: argparse.Namespace,
                      path: Path) -> None:
    """The paper's figure 2: one test sinusoid, its K points, the prediction before and after 1 and 10 steps."""
    plt = _pyplot()
    generator = torch.Generator().manual_seed(args.seed + 3)
    candidates = []
    for support_x, support_y, _, _ in maml.sinusoid_tasks(10, args.k_shot, 1, generator):
        # Recover the task's curve from its points: y = a sin x + b cos x (exact for a sinusoid task).
        basis = torch.cat([torch.sin(support_x), torch.cos(support_x)], dim=1).double()
        coef = torch.linalg.lstsq(basis, support_y.double()).solution
        candidates.append((abs(float(coef.norm()) - 3.0), support_x, support_y, coef))
    _, support_x, support_y, coef = min(candidates, key=lambda c: c[0])  # a task of amplitude near 3
    device = next(iter(params.values())).device
    support_x, support_y = support_x.to(device), support_y.to(device)
    grid = torch.linspace(-5, 5, 200).unsqueeze(1)
    truth = torch.cat([torch.sin(grid), torch.cos(grid)], dim=1).double() @ coef
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(grid, truth, color="red", label="ground truth")
    current = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    done = 0
    for steps, style in ((0, ":"), (1, "-"), (10, "--")):
        with torch.enable_grad():
            current = maml.inner_loop(model, current, support_x, support_y, F.mse_loss, args.inner_lr,
                                      steps - done, first_order=True)
        current, done = {k: v.detach().requires_grad_(True) for k, v in current.items()}, steps
        with torch.no_grad():
            pred = functional_call(model, current, (grid.to(device),)).cpu()
        ax.plot(grid, pred, style, color="green", label="pre-update" if steps == 0 else f"{steps} grad step" +
                ("s" if steps > 1 else ""))
    ax.scatter(support_x.cpu(), support_y.cpu(), marker="^", color="purple", zorder=3,
               label=f"{args.k_shot} points used for grad")
    ax.set(xlabel="x", ylabel="y", title=f"MAML, K={args.k_shot}, inner lr {args.inner_lr:g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summarize(results: dict, out: Path) -> str:
    """Return the short stdout summary of a run."""
    early = " (stopped early: time budget reached)" if results["stopped_early"] else ""
    metric = results["metric"]
    scale = 100.0 if metric == "accuracy" else 1.0
    unit = "%" if metric == "accuracy" else ""
    lines = [f"meta-trained {results['iterations_trained']} iterations in {results['train_s']:.1f} s "
             f"({results['seconds_per_iteration']:.3f} s/iteration){early}",
             f"best val {metric} {scale * results['best_val']:.4g}{unit} at iteration {results['best_val_iteration']}"]
    for steps, r in results["test"].items():
        lines.append(f"test {results['test_task']} {metric} after {steps} steps: {scale * r['mean']:.4g}{unit} "
                     f"+/- {scale * r['ci95']:.2g}{unit} (95% CI, {results['config']['test_tasks']} tasks)")
    lines.append(f"wall clock {results['wall_clock_s']:.1f} s; wrote {', '.join(results['files'])} to {out}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    """Meta-train, validate, test; write OUT/{metrics.csv,curves.png,model.pt,results.json}; return results."""
    started = time.perf_counter()
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    problem: Problem = (Sinusoids(args.k_shot, args.q_queries, device) if args.task == "sinusoid"
                        else Omniglot(args, device))
    torch.manual_seed(args.seed)
    model = problem.model()
    log = train(problem, model, args)
    files = ["metrics.csv", "curves.png", "model.pt", "results.json"]
    write_metrics(log.rows, out / "metrics.csv")
    order = "first-order" if args.first_order else "second-order"
    task_name = (f"K={args.k_shot}" if args.task == "sinusoid" else f"{args.n_way}way_{args.k_shot}shot")
    plot_curves(log.rows, out / "curves.png", problem,
                f"{order} MAML, {args.task} {task_name}, meta-batch {args.meta_batch}, inner lr {args.inner_lr:g}")
    torch.save(log.best_state, out / "model.pt")
    params = {k: v.to(device) for k, v in log.best_state.items()}
    if args.task == "sinusoid":
        plot_sinusoid_fit(model, params, args, out / "sinusoid_fit.png")
        files.insert(2, "sinusoid_fit.png")
    test_tasks = problem.sample("test", args.test_tasks, torch.Generator().manual_seed(args.seed + 2))
    steps = sorted({0, 1, args.inner_steps, args.eval_steps})
    test = evaluate(problem, model, params, test_tasks, args.inner_lr, steps)
    results = {
        "task": args.task,
        "test_task": task_name,
        "metric": "accuracy" if problem.higher_is_better else "mse",
        "test": {str(s): {"mean": m, "ci95": c} for s, (m, c) in test.items()},
        "iterations_trained": log.iterations,
        "stopped_early": log.stopped_early,
        "train_s": log.train_s,
        "seconds_per_iteration": log.train_s / max(log.iterations, 1),
        "best_val": log.best_val,
        "best_val_iteration": log.best_iteration,
        "wall_clock_s": 0.0,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "files": files,
        "config": {k: v for k, v in vars(args).items() if k != "no_progress"},
    }
    results["wall_clock_s"] = time.perf_counter() - started
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(summarize(results, out))
    return results


if __name__ == "__main__":
    main()
