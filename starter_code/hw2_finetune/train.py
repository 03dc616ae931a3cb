"""Compare fine-tuning practices on new Omniglot alphabets and on a low-level shift (provided).

Run `python train.py --help` here, or `cs330 train hw2_finetune PATH -- ...`. Every method starts from the
encoder pretrained on the background alphabets (pretrain.py; `pretrained_encoder.pt` beside this file),
except `scratch`. Targets: `new-alphabets` (N characters of the evaluation alphabets, a fresh head) with
1, 5 and 15 examples per class, and `shift` (N background characters, the ones the source head already
knows, drawn by held-out drawers with inverted contrast or blur, the source head's rows kept). Writes
OUT/results.csv (one row per target, shots and method: mean accuracy and 95% interval over seeds),
OUT/runs.csv (one row per seed), OUT/accuracy.png, OUT/table.md and OUT/results.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

import finetune
import pretrain
from classifier import BLOCK_NAMES, HEAD_NAME, Classifier

DRAWERS = 20
TEST_DRAWERS = 5  # new alphabets: drawers 15..19 are the test set whatever the shots
SOURCE_TRAIN_DRAWERS = pretrain.SETTINGS["train_drawers"]  # shift: drawers 10.. were never seen in pretraining
METHODS = ("scratch", "linear_probe", "full_ft", "layerwise", "gradual", "lp_ft", "surgical_first",
           "surgical_middle", "surgical_last")
SHIFT_ONLY = ("source_model",)  # the pretrained classifier as is (its head knows the shift target's classes)
# Student's t quantiles t_{0.975, df} for the 95% interval of a mean over few seeds (df >= 31: 1.96).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042}
EVAL_BATCH = 500


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (see --help)."""
    p = argparse.ArgumentParser(description="Compare fine-tuning practices on Omniglot targets.")
    p.add_argument("--data-dir", default=None, help="Omniglot folder (default: autograder.omniglot's)")
    p.add_argument("--weights", type=Path, default=None, help="pretrained encoder (default: beside train.py)")
    p.add_argument("--targets", default="new-alphabets,shift", help="comma-separated: new-alphabets, shift")
    p.add_argument("--shots", default="1,5,15", help="examples per class of the new-alphabet target (<= 15)")
    p.add_argument("--shift-shots", default="1,5", help="examples per class of the shift target (<= 5)")
    p.add_argument("--shift", choices=("invert", "blur"), default="invert", help="the low-level shift")
    p.add_argument("--n-way", type=int, default=10, help="characters (classes) per target task")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ",".join(METHODS))
    p.add_argument("--seeds", type=int, default=3, help="seeds (each draws its own characters)")
    p.add_argument("--epochs", type=int, default=20, help="epochs per method (LP-FT: half probe, half fine-tune)")
    p.add_argument("--batch-size", type=int, default=50, help="examples per batch")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam rate from scratch")
    p.add_argument("--ft-lr", type=float, default=1e-3, help="smaller rate for fine-tuning pretrained blocks")
    p.add_argument("--probe-lr", type=float, default=1e-2, help="rate of a new head (linear probe, LP-FT's probe)")
    p.add_argument("--surgical-lr", type=float, default=None,
                   help="rate of the one block surgical fine-tuning trains (default: --ft-lr)")
    p.add_argument("--decay", type=float, default=0.5, help="layer-wise rate decay per block toward the input")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--out", default="runs/hw2_finetune", help="output folder")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    args.targets = [t for t in args.targets.split(",") if t]
    args.shots = [int(s) for s in args.shots.split(",") if s]
    args.shift_shots = [int(s) for s in args.shift_shots.split(",") if s]
    args.methods = [m for m in args.methods.split(",") if m]
    if set(args.targets) - {"new-alphabets", "shift"} or set(args.methods) - set(METHODS):
        p.error(f"--targets takes new-alphabets,shift and --methods a subset of {','.join(METHODS)}")
    if min(args.shots + args.shift_shots) < 1 or max(args.shots) > DRAWERS - TEST_DRAWERS:
        p.error(f"--shots must lie in 1..{DRAWERS - TEST_DRAWERS}: Omniglot has 20 drawings per character and "
                f"the last {TEST_DRAWERS} are the test set")
    if max(args.shift_shots) > DRAWERS - SOURCE_TRAIN_DRAWERS - TEST_DRAWERS:
        p.error(f"--shift-shots must be at most {DRAWERS - SOURCE_TRAIN_DRAWERS - TEST_DRAWERS}: drawers "
                f"0..{SOURCE_TRAIN_DRAWERS - 1} trained the source model")
    if min(args.n_way, args.seeds, args.epochs, args.batch_size) < 1 or args.n_way < 2:
        p.error("--n-way must be >= 2 and --seeds, --epochs, --batch-size >= 1")
    return args


def shift_images(images: torch.Tensor, kind: str) -> torch.Tensor:
    """Apply the low-level shift to (..., 28, 28) ink images: invert contrast, or a Gaussian blur (sigma 1.5)."""
    if kind == "invert":
        return 1.0 - images
    coords = torch.arange(-3, 4, dtype=torch.float32)
    kernel1d = torch.exp(-coords ** 2 / (2 * 1.5 ** 2))
    kernel = torch.outer(kernel1d, kernel1d)
    kernel = (kernel / kernel.sum()).reshape(1, 1, 7, 7)
    flat = images.reshape(-1, 1, *images.shape[-2:])
    return F.conv2d(flat, kernel, padding=3).reshape(images.shape)


def mean_ci95(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the t-based 95% interval over seeds (0 for one seed)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    df = n - 1
    t = T975.get(df) or (1.96 if df > 30 else T975[max(k for k in T975 if k <= df)])
    return mean, t * std / math.sqrt(n)


def batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int) -> torch.utils.data.DataLoader:
    """A shuffling DataLoader over (images, labels) with its own seeded generator."""
    dataset = torch.utils.data.TensorDataset(images, labels)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Eval-mode accuracy of model on images."""
    model.eval()
    correct = sum(int((model(images[i:i + EVAL_BATCH]).argmax(1) == labels[i:i + EVAL_BATCH]).sum())
                  for i in range(0, len(images), EVAL_BATCH))
    return correct / len(images)


def run_method(method: str, make_model: Callable[[bool], Classifier], loader: torch.utils.data.DataLoader,
               args: argparse.Namespace, gen: torch.Generator, new_head: bool) -> Classifier:
    """Train a model with one method; make_model(pretrained) builds it, with a fresh head when new_head."""
    if method == "scratch":
        model = make_model(False)
        finetune.finetune(model, loader, args.epochs, args.lr, gen)
        return model
    model = make_model(True)
    if new_head and method != "lp_ft":
        finetune.reinit_head(model, HEAD_NAME, gen)
    head = finetune.parameters_to_fine_tune(model, "head")
    if method == "source_model":
        return model
    if method == "linear_probe":
        finetune.set_trainable(model, [HEAD_NAME])
        finetune.finetune(model, loader, args.epochs, args.probe_lr, gen)
    elif method == "full_ft":
        finetune.finetune(model, loader, args.epochs, args.ft_lr, gen)
    elif method == "layerwise":
        groups = finetune.layerwise_lr_groups(model, list(BLOCK_NAMES), args.ft_lr, args.decay)
        finetune.finetune(model, loader, args.epochs, groups, gen)
    elif method == "gradual":
        per_block = max(1, args.epochs // (len(BLOCK_NAMES) + 1))
        for epoch in range(args.epochs):
            finetune.set_trainable(model, finetune.gradual_unfreeze_schedule(list(BLOCK_NAMES), epoch, per_block))
            finetune.finetune(model, loader, 1, args.ft_lr, gen)
    elif method == "lp_ft":
        probe = args.epochs // 2
        if new_head:
            finetune.lp_ft(model, HEAD_NAME, loader, probe, args.epochs - probe, args.probe_lr, args.ft_lr, gen)
        else:  # the source head already fits these classes: keep it, probe, then fine-tune everything
            finetune.set_trainable(model, [HEAD_NAME])
            finetune.finetune(model, loader, probe, args.probe_lr, gen)
            finetune.set_trainable(model, ["encoder", HEAD_NAME])
            finetune.finetune(model, loader, args.epochs - probe, args.ft_lr, gen)
    elif method.startswith("surgical_"):
        block = finetune.parameters_to_fine_tune(model, method[len("surgical_"):])
        groups = [{"params": block, "lr": args.ft_lr if args.surgical_lr is None else args.surgical_lr}]
        if new_head:  # new classes need a trained head too
            groups.append({"params": head, "lr": args.probe_lr})
        finetune.finetune(model, loader, args.epochs, groups, gen)
    return model


def target_new_alphabets(chars: torch.Tensor, seed: int, shots: int, n_way: int) -> dict:
    """A task of n_way evaluation-alphabet characters: train drawers 0..shots-1, test drawers 15..19."""
    rows = torch.randperm(len(chars), generator=torch.Generator().manual_seed(seed))[:n_way]
    chosen = chars[rows]
    labels = torch.arange(n_way)
    return {"train": (chosen[:, :shots].reshape(-1, 1, 28, 28), labels.repeat_interleave(shots)),
            "test": (chosen[:, DRAWERS - TEST_DRAWERS:].reshape(-1, 1, 28, 28),
                     labels.repeat_interleave(TEST_DRAWERS)), "rows": rows}


def target_shift(chars: torch.Tensor, seed: int, shots: int, n_way: int, kind: str) -> dict:
    """n_way source characters, shifted: train drawers 10..10+shots-1, test drawers 15..19 (unseen in pretraining)."""
    rows = torch.randperm(len(chars), generator=torch.Generator().manual_seed(10_000 + seed))[:n_way]
    chosen = shift_images(chars[rows], kind)
    labels = torch.arange(n_way)
    first = SOURCE_TRAIN_DRAWERS
    return {"train": (chosen[:, first:first + shots].reshape(-1, 1, 28, 28), labels.repeat_interleave(shots)),
            "test": (chosen[:, DRAWERS - TEST_DRAWERS:].reshape(-1, 1, 28, 28),
                     labels.repeat_interleave(TEST_DRAWERS)), "rows": rows}


def model_factory(n_way: int, seed: int, encoder_state: dict, head_rows: tuple[torch.Tensor, torch.Tensor] | None
                  ) -> Callable[[bool], Classifier]:
    """Return make_model(pretrained): a seeded Classifier, with the pretrained encoder (and head rows) if asked."""
    def make_model(pretrained: bool) -> Classifier:
        torch.manual_seed(seed)
        model = Classifier(n_way)
        if pretrained:
            model.encoder.load_state_dict(encoder_state)
            if head_rows is not None:
                with torch.no_grad():
                    model.head.weight.copy_(head_rows[0])
                    model.head.bias.copy_(head_rows[1])
        return model
    return make_model


def experiment(args: argparse.Namespace) -> list[dict]:
    """Run every (target, shots, seed, method); return one row per run."""
    omniglot = pretrain._import_omniglot()
    background = omniglot.load_characters(args.data_dir, 28, subsets=("images_background",)).images
    evaluation = omniglot.load_characters(args.data_dir, 28, subsets=("images_evaluation",)).images
    encoder_state = pretrain.load_pretrained_encoder(args.weights).state_dict()
    source_head = pretrain.load_pretrained_head(None if args.weights is None
                                                else args.weights.with_name(pretrain.HEAD_FILE))
    plan = [("new-alphabets", s) for s in args.shots if "new-alphabets" in args.targets]
    plan += [("shift", s) for s in args.shift_shots if "shift" in args.targets]
    jobs = [(target, shots, seed, method) for target, shots in plan for seed in range(args.seeds)
            for method in (args.methods + (list(SHIFT_ONLY) if target == "shift" else []))]
    rows = []
    for target, shots, seed, method in tqdm(jobs, desc="runs", file=sys.stderr, disable=args.no_progress):
        if target == "new-alphabets":
            task = target_new_alphabets(evaluation, seed, shots, args.n_way)
            head_rows = None
        else:
            task = target_shift(background, seed, shots, args.n_way, args.shift)
            head_rows = (source_head.weight.detach()[task["rows"]], source_head.bias.detach()[task["rows"]])
        started = time.perf_counter()
        make_model = model_factory(args.n_way, seed, encoder_state, head_rows)
        loader = batches(*task["train"], args.batch_size, seed)
        model = run_method(method, make_model, loader, args, torch.Generator().manual_seed(seed), head_rows is None)
        rows.append({"target": target if target != "shift" else f"shift-{args.shift}", "shots": shots,
                     "seed": seed, "method": method, "test_acc": accuracy(model, *task["test"]),
                     "train_s": round(time.perf_counter() - started, 2)})
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Mean and 95% interval of test accuracy per (target, shots, method), in run order."""
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        groups.setdefault((row["target"], row["shots"], row["method"]), []).append(row["test_acc"])
    out = []
    for (target, shots, method), values in groups.items():
        mean, ci = mean_ci95(values)
        out.append({"target": target, "shots": shots, "method": method, "mean_acc": round(mean, 4),
                    "ci95": round(ci, 4), "n_seeds": len(values)})
    return out


def table_markdown(summary: list[dict]) -> str:
    """A markdown table: one row per method, one column per (target, shots), cells 'mean ± ci95'."""
    columns = list(dict.fromkeys((s["target"], s["shots"]) for s in summary))
    methods = list(dict.fromkeys(s["method"] for s in summary))
    cell = {(s["target"], s["shots"], s["method"]): f"{100 * s['mean_acc']:.1f} ± {100 * s['ci95']:.1f}"
            for s in summary}
    lines = ["| method | " + " | ".join(f"{t} {k}-shot" for t, k in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for method in methods:
        lines.append(f"| {method} | " + " | ".join(cell.get((t, k, method), "") for t, k in columns) + " |")
    return "\n".join(lines) + "\n"


def plot(summary: list[dict], path: Path) -> None:
    """Grouped bars of test accuracy per method, one panel per target, one bar per shots, 95% error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = list(dict.fromkeys(s["target"] for s in summary))
    fig, axes = plt.subplots(1, len(targets), figsize=(7 * len(targets), 4.5), squeeze=False)
    for ax, target in zip(axes[0], targets):
        rows = [s for s in summary if s["target"] == target]
        methods = list(dict.fromkeys(s["method"] for s in rows))
        shots = sorted({s["shots"] for s in rows})
        width = 0.8 / len(shots)
        for j, k in enumerate(shots):
            by_method = {s["method"]: s for s in rows if s["shots"] == k}
            xs = [i + (j - (len(shots) - 1) / 2) * width for i in range(len(methods))]
            ax.bar(xs, [by_method[m]["mean_acc"] if m in by_method else 0 for m in methods], width,
                   yerr=[by_method[m]["ci95"] if m in by_method else 0 for m in methods], capsize=2,
                   label=f"{k}-shot")
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels(methods, rotation=45, ha="right")
        ax.set_ylim(0, 1)
        ax.set_ylabel("test accuracy")
        ax.set_title(target)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_outputs(rows: list[dict], summary: list[dict], args: argparse.Namespace, out: Path, elapsed: float) -> None:
    """Write runs.csv, results.csv, table.md, accuracy.png and results.json into out."""
    out.mkdir(parents=True, exist_ok=True)
    for name, data in (("runs.csv", rows), ("results.csv", summary)):
        with open(out / name, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(data[0]))
            writer.writeheader()
            writer.writerows(data)
    (out / "table.md").write_text(table_markdown(summary))
    plot(summary, out / "accuracy.png")
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    (out / "results.json").write_text(json.dumps({"settings": settings, "summary": summary,
                                                  "elapsed_s": round(elapsed, 1)}, indent=2) + "\n")


def main(argv: list[str] | None = None) -> dict:
    """Run the experiment and write its outputs; return the results.json content."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    rows = experiment(args)
    summary = summarize(rows)
    out = Path(args.out)
    write_outputs(rows, summary, args, out, time.perf_counter() - started)
    print(table_markdown(summary), end="")
    print(f"wrote {out}/results.csv, table.md, accuracy.png, results.json", file=sys.stderr)
    return json.loads((out / "results.json").read_text())


if __name__ == "__main__":
    main()
