#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04).
# It installs the same pinned versions as the repository's requirements.txt.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# Debian 12+ marks the system Python as externally managed; the image is ours to manage.
export PIP_BREAK_SYSTEM_PACKAGES=1
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip bubblewrap
if [ -z "${PIP_FIND_LINKS:-}" ]; then
  python3 -m pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
fi
python3 -m pip install --no-cache-dir -r /autograder/source/requirements.txt
