"""The attack corpus is hostile student code: pytest must never import it (it exits, hangs, forks)."""

collect_ignore_glob = ["*/*.py"]
