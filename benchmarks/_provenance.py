"""What every results file records about the run that wrote it.

``provenance(...)`` gives the command, the git commit when the run began (and whether the tree
had uncommitted changes; ``commit_at_write`` too when the tree moved on during the run), the versions of the packages that shape the numbers, the
seed, the wall time, the machine (cores, processor, load before the run) and the
UTC time. Benchmarks spread it at the top level of their JSON (``{**provenance(...), ...}``).
"""

import os
import platform
import subprocess
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sklearn-fssd", "torch", "numpy", "scipy", "scikit-learn", "skorch", "pyod")


def git_commit(root=ROOT):
    """``(commit, dirty)`` of the repository at ``root``; ``(None, None)`` outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return commit, bool(status.strip())


#: The commit (and whether the tree had uncommitted changes) when a benchmark's run began: every
#: benchmark imports this module at its start, so this names the code that ran, even when the
#: tree moves on during a long run.
AT_START = git_commit()


def versions(packages=PACKAGES):
    """Installed version of each package, None where it is missing."""
    found = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def machine():
    """The machine in a few fields: platform, CPUs, processor, torch threads, load now."""
    import torch

    info = {"platform": platform.platform(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "torch_threads": torch.get_num_threads()}
    try:
        model = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                 .splitlines() if line.startswith("model name")]
        info["processor"] = model[0] if model else platform.processor()
    except OSError:
        info["processor"] = platform.processor()
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    return info


def provenance(command, *, seed=None, started=None):
    """The provenance block of a results file.

    Parameters
    ----------
    command : str
        The command line that reproduces the run (``python -m benchmarks ...``).
    seed : int or None
        The run's seed.
    started : float or None
        ``time.perf_counter()`` at the start of the run; gives ``wall_s``.
    """
    commit, dirty = AT_START
    now = git_commit()
    return {
        "command": command,
        "commit": commit,
        "uncommitted_changes": dirty,
        **({} if now == AT_START else {"commit_at_write": now[0],
                                       "uncommitted_changes_at_write": now[1]}),
        "versions": versions(),
        "seed": seed,
        "wall_s": None if started is None else round(time.perf_counter() - started, 1),
        "machine": machine(),
        "utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def provenance_line(res):
    """The first line of a results page: the command, seed, commit and wall time of ``res``."""
    machine = res["machine"]
    dirty = " (with uncommitted changes)" if res.get("uncommitted_changes") else ""
    wall = "" if res.get("wall_s") is None else f"{res['wall_s']:.0f} s "
    return (f"Command: `{res['command']}`. Seed {res['seed']}, commit {res['commit']}{dirty}, "
            f"{wall}on {machine['cpus']} CPUs ({machine['processor']}).")
