#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04, Python 3.10);
# docker/Dockerfile runs the same file the same way. It installs the same pinned versions as the
# repository's requirements.txt. With PIP_NO_INDEX=1 and PIP_FIND_LINKS=<wheelhouse> set (the local
# image build does this) every Python package comes from the wheelhouse.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# Debian 12+ marks the system Python as externally managed; the image is ours to manage.
export PIP_BREAK_SYSTEM_PACKAGES=1
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip bubblewrap
python3 -c 'import sys; assert sys.version_info >= (3, 10), "the autograder needs Python 3.10+, not " + sys.version'
if [ -z "${PIP_NO_INDEX:-}" ] && [ -z "${PIP_FIND_LINKS:-}" ]; then
  # The CPU wheel (PyPI's torch would bring CUDA, gigabytes that Gradescope cannot use).
  python3 -m pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
fi
python3 -m pip install --no-cache-dir -r /autograder/source/requirements.txt
# Fail here, at image build, rather than on the first submission.
python3 -c 'import sys, torch, numpy, pytest, jsonschema, gradescope_utils; print("python", sys.version.split()[0], "torch", torch.__version__, "numpy", numpy.__version__)'
