"""Attack a12 (hang at import): an infinite loop at import time, so that every call hangs and the whole
run needs the total time limit.

Targets: every test. Expected: 0 / 31 with every test present in results.json: the tests reached
say "did not finish within the time limit", the rest were cut by the total time limit.
"""


import torch
import torch.nn.functional as F


while True:
    pass
