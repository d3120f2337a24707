"""The documentation's moving parts: user-guide snippets, gallery examples,
benchmark pages and the build command.

The docs build itself (``python -m sphinx -W ...``, run by ``.ci/run``) runs
every gallery example and fails on any error or warning. Here, fast checks
run in the default test run; executing the examples is marked ``slow``
(``python -m pytest -m slow tests/test_docs.py``), since the docs build in
CI executes them anyway.
"""

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
BUILD_COMMAND = (
    'pip install -e ".[docs]" && python -m sphinx -W --keep-going -b html docs docs/_build/html'
)


def load_conf():
    spec = importlib.util.spec_from_file_location("sklearn_fssd_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


# ------------------------------------------------------------ user guide


def test_user_guide_snippets_run_and_print_what_they_claim(capsys):
    text = (DOCS / "user_guide.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    namespace = {}
    for block in blocks:
        exec(compile(block, str(DOCS / "user_guide.md"), "exec"), namespace)
    assert capsys.readouterr().out.split() == ["True", "True", "True", "True"]


def test_user_guide_figure_comes_from_a_gallery_example():
    text = (DOCS / "user_guide.md").read_text()
    figures = re.findall(r"```\{figure\} auto_examples/images/sphx_glr_(\w+?)_\d{3}\.png", text)
    assert figures, "the user guide shows the paper's intuition in a picture"
    for stem in figures:
        assert (ROOT / "examples" / f"{stem}.py").exists()


# -------------------------------------------------------------- gallery


def test_gallery_has_the_promised_examples():
    names = {path.stem for path in EXAMPLES}
    assert {
        "plot_quickstart", "plot_feature_space_singularity", "plot_layer_histograms",
        "plot_grid_search_epsilon", "plot_pyod_face", "plot_compare_baselines",
    } <= names
    assert (ROOT / "examples" / "README.rst").exists()


def test_gallery_order_lists_every_example():
    sys.path.insert(0, str(DOCS / "sphinxext"))
    try:
        from gallery_order import ORDER
    finally:
        sys.path.remove(str(DOCS / "sphinxext"))
    assert sorted(ORDER) == sorted(path.name for path in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_is_a_gallery_story_on_the_public_api(path):
    source = path.read_text()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree)
    lines = doc.splitlines()
    assert lines[1] == "=" * len(lines[0]), "sphinx-gallery needs a title underlined with '='"
    assert "# %%" in source
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.startswith("sklearn_fssd"):
            assert not any(part.startswith("_") for part in node.module.split(".")), node.module
            assert node.module not in ("sklearn_fssd.base", "sklearn_fssd.demo"), node.module
            assert not any(alias.name.startswith("_") for alias in node.names)
    long = [n for n, line in enumerate(source.splitlines(), 1) if len(line) > 79]
    assert not long, f"lines longer than 79 characters (clipped on the page): {long}"


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


# ------------------------------------------------------- benchmark pages


def test_one_benchmark_page_per_results_file(tmp_path):
    conf = load_conf()
    results, pages = tmp_path / "results", tmp_path / "pages"
    results.mkdir()
    (results / "alpha.md").write_text(
        "# Alpha\n\nWritten by `python -m benchmarks.alpha --quick`.\n\n![curve](alpha_curve.png)\n"
    )
    (results / "alpha.json").write_text("{}")
    (results / "alpha_curve.png").write_bytes(b"png")
    (results / "alpha_extra.png").write_bytes(b"png")
    (results / "beta_gamma.md").write_text("# Beta\n\nno command named\n")
    pages.mkdir()
    (pages / "stale.md").write_text("a results file that is gone")

    written = conf.write_benchmark_pages(results, pages)

    assert sorted(p.name for p in written) == ["alpha.md", "beta_gamma.md"]
    assert not (pages / "stale.md").exists()
    alpha = (pages / "alpha.md").read_text()
    assert "```{include} ../results/alpha.md\n:relative-images:\n```" in alpha
    assert "python -m benchmarks.alpha --quick" in alpha
    assert "{download}`alpha.json <../results/alpha.json>`" in alpha
    assert "![alpha_extra](../results/alpha_extra.png)" in alpha  # a plot the file does not show
    assert "alpha_curve](../results" not in alpha  # shown by the included file already
    assert "python -m benchmarks beta-gamma" in (pages / "beta_gamma.md").read_text()


def test_every_results_file_of_the_repository_gets_a_page(tmp_path):
    conf = load_conf()
    written = conf.write_benchmark_pages(ROOT / "benchmarks" / "results", tmp_path)
    results = sorted((ROOT / "benchmarks" / "results").glob("*.md"))
    assert [p.name for p in written] == [r.name for r in results]
    for page, result in zip(written, results):
        command = conf._command(result.read_text(), result.stem)
        assert command.startswith("python -m benchmarks")
        assert command in page.read_text()


# ------------------------------------------------------- build command


def test_readme_documents_the_build_and_ci_runs_it():
    readme = (ROOT / "README.md").read_text()
    assert "## Documentation" in readme
    assert BUILD_COMMAND in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert BUILD_COMMAND in ci
    assert ci.index('python -m pytest') < ci.index(BUILD_COMMAND), "docs build after the tests"


def test_docs_extra_has_what_conf_py_loads():
    pyproject = (ROOT / "pyproject.toml").read_text()
    docs_extra = re.search(r"^docs = \[(.*?)\]", pyproject, flags=re.M | re.S).group(1)
    for package in ["sphinx", "numpydoc", "sphinx-gallery", "myst-parser",
                    "pydata-sphinx-theme", "matplotlib"]:
        assert f'"{package}' in docs_extra, package


def test_every_benchmark_is_listed_in_the_docs_index_and_the_readme():
    from benchmarks.__main__ import BENCHMARKS

    index = (DOCS / "benchmarks.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in BENCHMARKS:
        assert f"`python -m benchmarks {name}" in index, name
        assert re.search(rf"`python -m benchmarks[ .]{name.replace('-', '[-_]')}", readme), name
