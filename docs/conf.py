"""Sphinx configuration of the sklearn-fssd documentation.

Build (from the repository root; README.md names the same command):

    pip install -e ".[docs]" && python -m sphinx -W --keep-going -b html docs docs/_build/html

The build runs every gallery example (``examples/plot_*.py``) and generates
one page per benchmark results file (``benchmarks/results/*.md``); a failing
example, a docstring numpydoc cannot parse or a broken reference fails it.
"""

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
RESULTS = ROOT / "benchmarks" / "results"
BENCHMARK_PAGES = DOCS / "benchmark_results"  # generated below; git-ignored

sys.path.insert(0, str(DOCS / "sphinxext"))
# The package of this checkout, even when another copy is installed.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import sklearn_fssd  # noqa: E402

project = "sklearn-fssd"
author = "sklearn-fssd developers"
copyright = "sklearn-fssd developers"
version = release = sklearn_fssd.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.ipynb"]
default_role = "literal"

# ----------------------------------------------------------- API reference

autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"member-order": "bysource"}
toc_object_entries_show_parents = "hide"  # "fit()" in the page TOC, not "Class.fit()"
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True


def _defined_here(obj):
    """Whether ``obj`` (a member of a class) is defined in this package."""
    target = obj
    if isinstance(target, property):
        target = target.fget
    target = getattr(target, "__func__", target)
    module = getattr(target, "__module__", None)
    return module is None or module.split(".")[0] == "sklearn_fssd"


def skip_foreign_members(app, what, name, obj, skip, options):
    """Document only the members this package defines.

    Methods inherited from scikit-learn (``get_params``...), PyOD's
    ``BaseDetector`` (``predict_proba``...) and ``torch.nn.Module`` are
    documented by those projects; the class docstrings name the ones that
    matter. Members inherited from the package's own base classes
    (``score_samples``, ``predict``...) stay.
    """
    if skip or name.startswith("_"):
        return None
    if not _defined_here(obj):
        return True
    return None


# ----------------------------------------------------------------- gallery

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "doc_module": ("sklearn_fssd",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"sklearn_fssd": None},
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "download_all_examples": False,
}

# ------------------------------------------------------------------- MyST

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# ------------------------------------------------------------------- HTML

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-fssd {version}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# no section navigation on pages without sub-pages, nor beside the wide benchmark tables
html_sidebars = {"index": [], "user_guide": [], "benchmark_results/*": []}
html_show_sourcelink = True

# ---------------------------------------------------- benchmark results


def _command(text, stem):
    """The command a results file says wrote it (first ``python -m benchmarks...``)."""
    match = re.search(r"`(python -m benchmarks[^`]*)`", text)
    if match:
        return match.group(1)
    return f"python -m benchmarks {stem.replace('_', '-')}"


def write_benchmark_pages(results=RESULTS, pages=BENCHMARK_PAGES):
    """One page per ``results/*.md``: the file itself, included.

    The pages include the results files as the benchmarks wrote them (tables,
    plots), followed by the command that wrote them, the machine-readable
    JSON and any plot of the same benchmark the file does not show already.
    A results file added later (a new benchmark) gets its page at the next
    build without an edit here. Returns the pages written.
    """
    results, pages = Path(results), Path(pages)
    pages.mkdir(parents=True, exist_ok=True)
    wanted = []
    for result in sorted(results.glob("*.md")):
        stem = result.stem
        text = result.read_text()

        def rel(path):
            return os.path.relpath(path, pages).replace(os.sep, "/")

        lines = [
            f"({stem}-results)=",
            "",
            "```{include} " + rel(result),
            ":relative-images:",
            "```",
            "",
            "## Reproduce",
            "",
            "Written by running, from the repository root:",
            "",
            "```sh",
            _command(text, stem),
            "```",
            "",
            f"The page above is `benchmarks/results/{result.name}` as the benchmark wrote it.",
        ]
        data = result.with_suffix(".json")
        if data.exists():
            lines += ["", f"Machine-readable results: {{download}}`{data.name} <{rel(data)}>`."]
        extra = [p for p in sorted(results.glob(f"{stem}*.png")) if p.name not in text]
        if extra:
            lines += ["", "## Plots", ""]
            for plot in extra:
                lines += [f"![{plot.stem}]({rel(plot)})", ""]
        page = pages / f"{stem}.md"
        content = "\n".join(lines) + "\n"
        if not page.exists() or page.read_text() != content:  # keep mtimes for incremental builds
            page.write_text(content)
        wanted.append(page)
    for stale in pages.glob("*.md"):
        if stale not in wanted:
            stale.unlink()
    return wanted


def setup(app):
    # before Sphinx looks for source files, so the benchmarks toctree finds the pages
    app.connect("builder-inited", lambda app: write_benchmark_pages())
    app.connect("autodoc-skip-member", skip_foreign_members)
