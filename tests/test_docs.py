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
import json
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


def test_the_times_the_readme_promises_are_the_measured_ones():
    """Every time the README and the docs index promise comes from the file that
    ``python -m benchmarks promises`` wrote, and was kept in that run."""
    import json

    res = json.loads((ROOT / "benchmarks" / "results" / "promises.json").read_text())
    assert res["command"] == "python -m benchmarks promises", "a full run, not --quick"
    assert all(res["kept"].values()), res["kept"]
    readme = (ROOT / "README.md").read_text()
    index = (DOCS / "index.md").read_text()
    assert res["demo_s"] <= 15 and "under 15 s on 2 CPU cores" in readme
    assert "15 s on 2 CPU cores" in index
    quoted = {
        "tests_s": r"default test run took (\d+) s",
        "docs_build_s": r"the docs build took (\d+) s",
        "example_s": r"each gallery example took at most (\d+) s",
    }
    for key, pattern in quoted.items():
        match = re.search(pattern, readme.replace("\n", " "))
        assert match, f"the README does not quote {key} as '{pattern}'"
        measured = max(res[key].values()) if isinstance(res[key], dict) else res[key]
        assert int(match.group(1)) == round(measured), (key, match.group(1), measured)


# ------------------------------------------------------- quoted figures

RESULTS = ROOT / "benchmarks" / "results"
DOC_FILES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
# Results files that are being rerun: the paragraphs that cite them are being rewritten with the
# new results, so their figures (and whether the cited file exists yet: fssd_defaults is not in
# the repository before its first run) are not checked. Empty this set once the new files are in.
RESULTS_BEING_RERUN = set()
# Sections (file, heading) whose figures are not checked yet.
SECTIONS_BEING_REWRITTEN = set()
CITATION = re.compile(r"(?:benchmarks/results|benchmark_results)/(\w+)((?:\.\w+)*)")
DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?!\w|\.\d)")
CODE_SPAN = re.compile(r"`[^`\n]+`")


def doc_paragraphs(path):
    """``(heading, paragraph)`` of a Markdown file: blank-line separated blocks, whitespace
    collapsed, fenced code blocks dropped, each row of a table a paragraph of its own (a row cites
    its own results file), under the last heading of level 1 or 2."""
    text = re.sub(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", "", path.read_text(), flags=re.M | re.S)
    heading = None
    for block in re.split(r"\n[ \t]*\n", text):
        lines = []
        for line in block.splitlines():
            if re.match(r"#{1,6} ", line):
                heading = line.strip() if re.match(r"#{1,2} ", line) else heading
            elif line.strip():
                lines.append(line)
        if lines and all(line.lstrip().startswith("|") for line in lines):
            yield from ((heading, " ".join(line.split())) for line in lines)
        elif lines:
            yield heading, " ".join(" ".join(lines).split())


def test_every_figure_quoted_from_a_benchmark_is_a_sentence_of_its_results_file():
    """A paragraph that cites ``benchmarks/results/X`` (or the docs page ``benchmark_results/X``)
    quotes X's figures only through the sentences ``python -m benchmarks headlines X`` prints,
    verbatim: every decimal number outside code spans lies inside one of them."""
    from benchmarks.headlines import headline_function, sentences

    problems = []
    for path in DOC_FILES:
        for heading, paragraph in doc_paragraphs(path):
            cited = set()
            for stem, suffix in CITATION.findall(paragraph):
                if suffix:
                    found = (RESULTS / (stem + suffix)).exists()
                else:
                    found = (RESULTS / f"{stem}.md").exists()  # a docs page is a results file
                if not found and stem not in RESULTS_BEING_RERUN:
                    problems.append(f"{path.name} ({heading}) cites {stem}{suffix}, which is not "
                                    f"in benchmarks/results/")
                cited.add(stem)
            checked = sorted(cited - RESULTS_BEING_RERUN)
            if not checked or (path.name, heading) in SECTIONS_BEING_REWRITTEN:
                continue
            missing = [stem for stem in checked if headline_function(stem) is None
                       or not (RESULTS / f"{stem}.json").exists()]
            if missing:
                problems.append(f"{path.name} ({heading}) cites {missing}, which have no results "
                                f"JSON with sentences in benchmarks/headlines.py")
                continue
            available = [s for stem in checked for s in sentences(stem)]
            inside = [(m.start(), m.end()) for s in available
                      for m in re.finditer(re.escape(s), paragraph)]
            inside += [m.span() for m in CODE_SPAN.finditer(paragraph)]
            loose = [f"{m.group()} in '...{paragraph[max(0, m.start() - 50):m.end() + 30]}...'"
                     for m in DECIMAL.finditer(paragraph)
                     if not any(a <= m.start() and m.end() <= b for a, b in inside)]
            if loose:
                problems.append(
                    f"{path.name} ({heading}) cites {checked} but quotes numbers that are in no "
                    f"sentence of theirs quoted verbatim:\n  " + "\n  ".join(loose)
                    + "\nthe sentences (python -m benchmarks headlines):\n  "
                    + "\n  ".join(available))
    assert not problems, "\n\n".join(problems)


def test_every_headline_function_reads_its_results_file():
    from benchmarks.headlines import SENTENCES, benchmark_of, sentences, stems_written

    written = stems_written()
    # each benchmark has a file: the reported seed, or (genome_ensemble) another seed only
    assert set(SENTENCES) == {benchmark_of(stem) for stem in written}
    for stem in written:
        said = sentences(stem)
        assert said and all(isinstance(s, str) and s.strip() for s in said), stem


def test_runs_with_other_seeds_are_read_by_their_benchmark_headlines():
    from benchmarks._ood import seeded_stem
    from benchmarks.headlines import SENTENCES, headline_function

    assert seeded_stem("genome", 0) == "genome" and seeded_stem("genome", 3) == "genome_seed3"
    assert headline_function("genome_seed3") is SENTENCES["genome"]
    assert headline_function("genome_seed") is None and headline_function("nothing") is None
    # a genome run on another training size is read like the run it varies
    assert headline_function("genome_n30") is SENTENCES["genome"]
    assert (headline_function("genome_n12000_both_strands_seed2")
            is SENTENCES["genome_both_strands"])
    assert headline_function("genome_n") is None
    for path in RESULTS.glob("*_seed*.json"):  # every such file has sentences the docs can quote
        assert headline_function(path.stem) is not None, path.name


PROVENANCE = ("command", "commit", "versions", "seed", "wall_s", "machine")


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*.json")), ids=lambda path: path.stem)
def test_every_results_file_records_the_run_that_wrote_it(path):
    import json

    res = json.loads(path.read_text())
    missing = [key for key in PROVENANCE if key not in res]
    assert not missing, f"{path.name} lacks {missing} (benchmarks/_provenance.py gives them)"


def test_update_docs_replaces_the_old_sentences_even_wrapped_over_lines(tmp_path):
    import shutil
    import subprocess

    from benchmarks.headlines import sentences, update_docs

    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    (tmp_path / "docs").mkdir()
    shutil.copy(RESULTS / "promises.json", results / "promises.json")
    old = sentences("promises", results)[0]
    words = old.split()
    wrapped = " ".join(words[:5]) + "\n" + " ".join(words[5:])  # as the docs wrap it
    (tmp_path / "README.md").write_text(f"Intro.\n\n{wrapped} Untouched.\n")

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "old results")
    res = json.loads((results / "promises.json").read_text())
    res["demo_s"] = res["demo_s"] + 1.0  # a rerun moved a figure
    (results / "promises.json").write_text(json.dumps(res))
    new = sentences("promises", results)[0]
    assert new != old
    assert update_docs(["promises"], "HEAD", root=tmp_path) == [(Path("README.md"), 1)]
    assert (tmp_path / "README.md").read_text() == f"Intro.\n\n{new} Untouched.\n"


def test_update_docs_pairs_each_sentence_with_its_own_when_a_rerun_adds_one():
    from benchmarks.headlines import paired

    before = ["FSSD reaches 58.9 %.", "MSP reaches 59.8 %.", "The run took 16 minutes."]
    # the rerun measured one more thing, reported between the others
    now = ["FSSD reaches 57.0 %.", "Energy reaches 66.0 %.", "MSP reaches 68.0 %.",
           "The run took 16 minutes."]
    assert paired(before, now) == [("FSSD reaches 58.9 %.", "FSSD reaches 57.0 %."),
                                   ("MSP reaches 59.8 %.", "MSP reaches 68.0 %.")]
