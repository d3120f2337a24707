"""The times that the README and the docs promise, measured.

    python -m benchmarks promises            # writes benchmarks/results/promises.{md,json}
    python -m benchmarks promises --quick    # the demo and one example only (what a test runs)

Each step runs in a fresh interpreter, timed by the wall clock as a newcomer would see it
(imports included): the demo (``python -m sklearn_fssd.demo``), each gallery example
(``python examples/plot_*.py`` with a non-interactive matplotlib), the docs build into a new
folder (``python -m sphinx -W --keep-going -b html docs <tmp>``, every example included), and
the default test run (``python -m pytest``). Measure on a quiet machine: the results record the
load average before and after, and ``tests/test_docs.py`` checks every figure the README and
the docs quote against this file.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._ood import ResultsParser, command, write
from benchmarks._provenance import provenance

ROOT = Path(__file__).resolve().parents[1]

#: The test that compares the README's figures with this benchmark's file.
SELF_CHECK = "tests/test_docs.py::test_the_times_the_readme_promises_are_the_measured_ones"

#: What the README and the docs promise, in seconds.
LIMITS = {"demo_s": 15, "docs_build_s": 180, "example_s": 30, "tests_s": 300}


def timed(argv, env=None):
    """Wall seconds of ``argv`` run from the repository root; raises if it fails."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return round(seconds, 1)


def run(quick):
    py = sys.executable
    results = {"load_before": round(os.getloadavg()[0], 2), "limits_s": LIMITS}
    results["demo_s"] = timed([py, "-m", "sklearn_fssd.demo"])
    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    results["example_s"] = {
        path.name: timed([py, str(path)], env={"MPLBACKEND": "Agg"})
        for path in (examples[:1] if quick else examples)
    }
    if not quick:
        with tempfile.TemporaryDirectory() as out:
            results["docs_build_s"] = timed(
                [py, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "html", "docs",
                 out])
        # the one test that checks the README against this file cannot pass before it exists
        results["tests_s"] = timed([py, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                    "--deselect", SELF_CHECK])
    results["load_after"] = round(os.getloadavg()[0], 2)
    results["kept"] = {
        key: (max(value.values()) if isinstance(value, dict) else value) <= LIMITS[key]
        for key, value in results.items() if key in LIMITS
    }
    return results


def markdown(res):
    p = res
    lines = [
        "# Promised times, measured",
        "",
        f"Written by `{p['command']}` at commit `{(p['commit'] or '?')[:10]}` on "
        f"{p['machine']['cpus']} CPUs ({p['machine'].get('processor', '')}), {p['utc']}; "
        f"load average {res['load_before']} before, {res['load_after']} after. Wall-clock "
        "seconds in fresh interpreters, imports included.",
        "",
        "| step | seconds | promised at most | kept |",
        "|---|---|---|---|",
    ]
    names = {"demo_s": "demo (`python -m sklearn_fssd.demo`)",
             "docs_build_s": "docs build, every example included",
             "tests_s": "default test run (`python -m pytest`)"}
    for key, label in names.items():
        if key in res:
            kept = "yes" if res["kept"][key] else "**no**"
            lines.append(f"| {label} | {res[key]} | {LIMITS[key]} | {kept} |")
    for name, seconds in res["example_s"].items():
        kept = "yes" if seconds <= LIMITS["example_s"] else "**no**"
        lines.append(f"| gallery example `{name}` | {seconds} | {LIMITS['example_s']} | {kept} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = ResultsParser("promises.{md,json}", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the demo and one example only")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    res = run(args.quick)
    res = {**provenance(command("promises", argv), started=started), **res}
    text = write(res, args.out, "promises", markdown(res))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
