"""Benchmark: seconds per MAML meta-iteration, reference (solutions/hw3_maml) against peers, same process.

Setting: 5-way 1-shot Omniglot-sized tasks (synthetic 28x28 images, so no data is needed), the
4-block conv classifier of hw3 (BatchNorm on batch statistics), meta-batch 32, one inner SGD step,
second- and first-order. One meta-iteration = meta-loss over the meta-batch + backward + Adam step.
Compared, in turn within each repetition (so that machine load hits all alike):
- reference: solutions/hw3_maml/maml.py (torch.func.functional_call, one graph over the meta-batch);
- higher: the `higher` library (facebookresearch, monkeypatched functional modules), if installed
  (pip install -r bench/requirements.txt); skipped with a message otherwise;
- naive: a deep copy of the model per task, its parameters replaced by the adapted tensors.
All three must give the same meta-gradient (checked first). Prints the table and the ratios
(peer seconds / reference seconds: above 1 means the reference is faster) and writes
bench/out/maml_step.json.

Usage: python bench/maml_step.py [--threads 1] [--reps 5] [--meta-batch 32] [--device cpu|cuda]
glibc's allocator settings change the picture (the reference holds the whole meta-batch's graph
until backward): compare with MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296
MALLOC_TOP_PAD_=1073741824 set in the environment.
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

REPO = Path(__file__).resolve().parent.parent
SOLUTION = REPO / "solutions" / "hw3_maml"
OUT = REPO / "bench" / "out"
if str(SOLUTION) not in sys.path:
    sys.path.insert(0, str(SOLUTION))

import maml  # noqa: E402  (the reference solution)
from model import ConvClassifier  # noqa: E402

Task = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
Step = Callable[[nn.Module, list[Task], bool], None]  # accumulates the meta-gradient into .grad


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--meta-batch", type=int, default=32, help="tasks per meta-iteration")
    p.add_argument("--n-way", type=int, default=5)
    p.add_argument("--k-shot", type=int, default=1)
    p.add_argument("--q-queries", type=int, default=5, help="query images per class (train.py's default)")
    p.add_argument("--inner-lr", type=float, default=0.4)
    p.add_argument("--inner-steps", type=int, default=1)
    p.add_argument("--reps", type=int, default=5, help="timed meta-iterations per method (after 1 warm-up)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--methods", default="reference,higher,naive", help="comma-separated subset")
    p.add_argument("--out", default=str(OUT / "maml_step.json"))
    return p.parse_args(argv)


def make_tasks(args: argparse.Namespace, device: torch.device) -> list[Task]:
    """Synthetic Omniglot-sized tasks: sparse 'ink' images, labels 0..n_way-1 repeated per shot."""
    gen = torch.Generator().manual_seed(0)
    tasks = []
    for _ in range(args.meta_batch):
        sx = (torch.rand(args.n_way * args.k_shot, 1, 28, 28, generator=gen) > 0.8).float()
        qx = (torch.rand(args.n_way * args.q_queries, 1, 28, 28, generator=gen) > 0.8).float()
        sy = torch.arange(args.n_way).repeat_interleave(args.k_shot)
        qy = torch.arange(args.n_way).repeat_interleave(args.q_queries)
        tasks.append(tuple(t.to(device) for t in (sx, sy, qx, qy)))
    return tasks


def reference_step(args: argparse.Namespace) -> Step:
    """The reference maml_loss over the whole meta-batch, one backward."""
    def step(model: nn.Module, tasks: list[Task], first_order: bool) -> None:
        params = dict(model.named_parameters())
        loss = maml.maml_loss(model, params, tasks, F.cross_entropy, args.inner_lr, args.inner_steps, first_order)
        loss.backward()
    return step


def higher_step(args: argparse.Namespace) -> Step | None:
    """The usual `higher` loop: innerloop_ctx per task, a differentiable SGD, backward per task."""
    try:
        import higher
    except ImportError:
        return None

    def step(model: nn.Module, tasks: list[Task], first_order: bool) -> None:
        inner_opt = torch.optim.SGD(model.parameters(), lr=args.inner_lr)
        params = list(model.parameters())
        for sx, sy, qx, qy in tasks:
            with higher.innerloop_ctx(model, inner_opt, copy_initial_weights=False,
                                      track_higher_grads=not first_order) as (fmodel, diffopt):
                for _ in range(args.inner_steps):
                    diffopt.step(F.cross_entropy(fmodel(sx), sy))
                loss = F.cross_entropy(fmodel(qx), qy) / len(tasks)
                if first_order:  # fast weights are detached: their gradient is the first-order meta-gradient
                    grads = torch.autograd.grad(loss, list(fmodel.parameters()))
                    for p, g in zip(params, grads):
                        p.grad = g if p.grad is None else p.grad + g
                else:
                    loss.backward()
    return step


def _set_tensor(module: nn.Module, name: str, value: torch.Tensor) -> None:
    """Replace the parameter `name` (dotted) of module by a plain tensor."""
    *path, leaf = name.split(".")
    for part in path:
        module = getattr(module, part)
    module._parameters.pop(leaf, None)
    setattr(module, leaf, value)


def naive_step(args: argparse.Namespace) -> Step:
    """Deep-copy the model per task and overwrite the copy's parameters with the adapted tensors."""
    def step(model: nn.Module, tasks: list[Task], first_order: bool) -> None:
        names = [n for n, _ in model.named_parameters()]
        for sx, sy, qx, qy in tasks:
            clone = copy.deepcopy(model)
            current = list(model.parameters())
            net = model
            for _ in range(args.inner_steps):
                grads = torch.autograd.grad(F.cross_entropy(net(sx), sy), current, create_graph=not first_order)
                current = [p - args.inner_lr * (g.detach() if first_order else g) for p, g in zip(current, grads)]
                for name, value in zip(names, current):
                    _set_tensor(clone, name, value)
                net = clone
            (F.cross_entropy(net(qx), qy) / len(tasks)).backward()
    return step


def sync(device: torch.device) -> None:
    """Wait for queued GPU work (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def meta_gradient(step: Step, model: nn.Module, tasks: list[Task], first_order: bool) -> list[torch.Tensor]:
    """The meta-gradient one method computes."""
    model.zero_grad(set_to_none=True)
    step(model, tasks, first_order)
    grads = [p.grad.detach().clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    return grads


def timed_iteration(step: Step, model: nn.Module, optimizer: torch.optim.Optimizer, tasks: list[Task],
                    first_order: bool, device: torch.device) -> float:
    """Seconds for one meta-iteration: zero_grad, meta-loss and backward, Adam step."""
    sync(device)
    started = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    step(model, tasks, first_order)
    optimizer.step()
    sync(device)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    """Check the methods agree, time them interleaved, print the table and ratios, write JSON."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device if args.device == "cpu" or torch.cuda.is_available() else "cpu")
    if device.type != args.device:
        print("warning: CUDA is not available; timing on the CPU", file=sys.stderr)
    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
    steps: dict[str, Step] = {}
    peer_version = None
    for name in wanted:
        if name == "higher":
            made = higher_step(args)
            if made is None:
                print("higher is not installed: skipping the peer (pip install -r bench/requirements.txt)",
                      file=sys.stderr)
                continue
            peer_version = importlib.metadata.version("higher")
            steps[name] = made
        else:
            steps[name] = {"reference": reference_step, "naive": naive_step}[name](args)
    tasks = make_tasks(args, device)
    torch.manual_seed(0)
    model = ConvClassifier(n_way=args.n_way).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    agreement = {}
    for order, first_order in (("second", False), ("first", True)):
        ref = meta_gradient(steps["reference"], model, tasks, first_order) if "reference" in steps else None
        for name, step in steps.items():
            if name != "reference" and ref is not None:
                got = meta_gradient(step, model, tasks, first_order)
                agreement[f"{name}_{order}"] = max(float((a - b).abs().max()) for a, b in zip(got, ref))
    times: dict[str, list[float]] = {f"{n}_{o}": [] for n in steps for o in ("second", "first")}
    for rep in range(args.reps + 1):  # repetition 0 warms up and is not counted
        for order, first_order in (("second", False), ("first", True)):
            for name, step in steps.items():
                seconds = timed_iteration(step, model, optimizer, tasks, first_order, device)
                if rep:
                    times[f"{name}_{order}"].append(seconds)
    median = {k: statistics.median(v) for k, v in times.items()}
    ratios = {}
    for order in ("second", "first"):
        ref = median.get(f"reference_{order}")
        for name in steps:
            if name != "reference" and ref:
                ratios[f"{name}/reference_{order}"] = median[f"{name}_{order}"] / ref
    print(f"MAML meta-iteration, {args.n_way}-way {args.k_shot}-shot, {args.q_queries} queries/class, meta-batch "
          f"{args.meta_batch}, {args.inner_steps} inner step(s), conv4 + BN, {device}, {args.threads} thread(s), "
          f"torch {torch.__version__}, higher {peer_version or 'not installed'}; median of {args.reps}")
    print(f"{'method':<12}{'second-order s/it':>20}{'first-order s/it':>20}")
    for name in steps:
        print(f"{name:<12}{median[name + '_second']:>20.3f}{median[name + '_first']:>20.3f}")
    for key, value in ratios.items():
        print(f"ratio {key}: {value:.2f}x (above 1: the reference is faster)")
    for key, value in agreement.items():
        print(f"max |meta-gradient - reference|, {key}: {value:.2e}")
    result = {"config": vars(args), "device": str(device), "torch": torch.__version__, "higher": peer_version,
              "python": platform.python_version(), "seconds": times, "median_s": median, "ratios": ratios,
              "gradient_agreement": agreement}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
