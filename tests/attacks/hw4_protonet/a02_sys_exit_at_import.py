"""Attack a02 (exit at import): sys.exit(0) while the module is imported, hoping the grader reads a clean
exit as success.

Targets: every test. Expected: 0 / 31; every test says "importing protonet.py failed" (SystemExit).
"""


import torch
import torch.nn.functional as F


import sys as _sys  # noqa: E402

_sys.exit(0)
