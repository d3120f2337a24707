"""Fresh installs: what the package and its tests import is declared in pyproject.toml, and
``.ci/run`` installs the README's commands into a new virtual environment.

A machine that happens to hold a package (numpydoc from an earlier docs build, say) must not hide
a missing declaration: the README's test command has to work on a clean machine.
"""

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
# our own modules: the package, the benchmarks, test helpers and the docs extension modules
LOCAL = {"sklearn_fssd", "benchmarks", "conftest"} | {
    p.stem for p in (ROOT / "docs" / "sphinxext").glob("*.py")
}


def imported_top_level(path):
    """Top-level module names a file imports, except those behind ``pytest.importorskip``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {
        n for n in names
        if n not in sys.stdlib_module_names and n not in LOCAL and not n.startswith("test_")
    }


def declared_closure(extras):
    """Every distribution that installing sklearn-fssd[extras] brings, by normalised name."""
    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    seen, todo = set(), [("sklearn-fssd", set(extras))]
    while todo:
        dist, wanted = todo.pop()
        for line in metadata.requires(dist) or []:
            req = Requirement(line)
            env = [{"extra": e} for e in (wanted or {""})]
            if req.marker is not None and not any(req.marker.evaluate(e) for e in env):
                continue
            name = norm(req.name)
            if name not in seen:
                seen.add(name)
                try:
                    metadata.distribution(name)
                except metadata.PackageNotFoundError:
                    continue
                todo.append((name, set(req.extras)))
    return seen


def undeclared(files, extras):
    """Imported modules of ``files`` that no declared distribution provides."""
    owners = metadata.packages_distributions()
    closure = declared_closure(extras)
    missing = {}
    for path in files:
        for module in imported_top_level(path):
            dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(module, [module])}
            if not dists & closure:
                missing.setdefault(module, []).append(path.name)
    return missing


def test_the_library_imports_only_what_it_declares():
    files = [p for p in (ROOT / "sklearn_fssd").rglob("*.py") if p.name != "dask.py"]
    # dask.py is the optional face of the [dask] extra, imported only on request
    assert undeclared(files, extras=[]) == {}


def test_the_test_suite_imports_only_what_the_tests_extra_declares():
    files = sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "sklearn_fssd").rglob("*.py"))
    missing = undeclared(files, extras=["tests"])
    assert missing == {}, (
        f"tests import {sorted(missing)} that pip install -e \".[tests]\" does not bring; add "
        "them to the tests extra of pyproject.toml"
    )


def test_a_missing_declaration_is_caught(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import numpydoc\nimport numpy\nimport json\n")
    assert imported_top_level(probe) == {"numpydoc", "numpy"}
    assert set(undeclared([probe], extras=[])) == {"numpydoc"}
    assert undeclared([probe], extras=["tests"]) == {}
    closure = declared_closure([])
    assert "numpy" in closure and "torch" in closure
    assert "numpydoc" not in closure, "numpydoc is a tests/docs extra, not a dependency"
    assert "numpydoc" in declared_closure(["tests"])


def test_ci_installs_the_readme_commands_into_a_fresh_virtual_environment():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    steps = ["pip install torch==2.13.0", "pip install -e . && python -m sklearn_fssd.demo",
             'pip install -e ".[tests]" && python -m pytest']
    for step in steps:
        assert step in readme and step in ci, step
    venv = ci.index("-m venv")
    activate = ci.index('source "$VENV/bin/activate"')
    positions = [ci.index(step) for step in steps]
    assert venv < activate < positions[0] < positions[1] < positions[2]
    assert re.search(r'VENV="\$\(mktemp -d', ci), "the environment lives in a new temporary folder"
    # the README gives the CPU-torch step before the two commands, as CI runs them
    readme_positions = [readme.index(step) for step in steps]
    assert readme_positions == sorted(readme_positions)


@pytest.mark.parametrize("extra", ["tests", "docs"])
def test_extras_are_declared(extra):
    assert extra in (metadata.metadata("sklearn-fssd").get_all("Provides-Extra") or [])
