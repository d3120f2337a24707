"""Every public class and function has a numpydoc docstring with runnable Examples,
and the API reference lists exactly the public names.

The public API is every name in ``__all__`` of ``sklearn_fssd`` and of its
modules whose names do not start with ``_``, except the internal ones below.
The Examples themselves run as doctests in the default test run
(``--doctest-modules`` in setup.cfg); here we check that they exist, that
numpydoc parses each docstring without complaint, and the numpydoc
validation checks listed in ``CHECKS``.
"""

import importlib
import inspect
import pkgutil
import re
import warnings
from pathlib import Path

import pytest
from numpydoc.docscrape import NumpyDocString
from numpydoc.validate import validate

import sklearn_fssd

API_PAGES = Path(__file__).resolve().parents[1] / "docs" / "api"

#: Modules that are not API: the shared detector base (for contributors) and
#: the demo's command-line entry point.
INTERNAL_MODULES = {"sklearn_fssd.base", "sklearn_fssd.demo"}

#: numpydoc validation codes every public class and function must pass:
#: a docstring (GL08), an Examples section (EX01), every parameter
#: documented (PR01) and no documented parameter that does not exist (PR02).
CHECKS = {"GL08", "EX01", "PR01", "PR02"}


def public_modules():
    names = ["sklearn_fssd"] + [
        f"sklearn_fssd.{info.name}"
        for info in pkgutil.iter_modules(sklearn_fssd.__path__)
        if not info.name.startswith("_")
    ]
    return [name for name in names if name not in INTERNAL_MODULES]


#: Public modules that need an optional dependency this environment lacks:
#: module name -> the missing package. They are reported by a skipped test.
UNIMPORTABLE = {}


def public_names():
    """(module name, name, object) for every name of every public ``__all__``."""
    found = []
    for module_name in public_modules():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] == "sklearn_fssd":
                raise
            UNIMPORTABLE[module_name] = exc.name
            continue
        for name in getattr(module, "__all__", []):
            if name.startswith("__"):  # __version__
                continue
            found.append((module_name, name, getattr(module, name)))
    return found


def documentable(obj):
    return inspect.isclass(obj) or inspect.isfunction(obj)


API = [(f"{m}.{n}", obj) for m, n, obj in public_names() if documentable(obj)]
API_IDS = [fullname for fullname, _ in API]


def own_methods(cls):
    """Public methods and properties a class of the package defines or inherits from it."""
    for name, member in inspect.getmembers(cls):
        if name.startswith("_"):
            continue
        target = member.fget if isinstance(member, property) else member
        if not callable(target) and not isinstance(member, property):
            continue
        module = getattr(target, "__module__", "") or ""
        if module.split(".")[0] == "sklearn_fssd" and inspect.getdoc(target):
            yield name, target


def parse(doc):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = NumpyDocString(doc)
    return parsed, [str(w.message) for w in caught]


#: The only public modules allowed not to import, and the optional packages they may lack.
OPTIONAL = {"sklearn_fssd.dask": {"dask", "distributed"}}


def test_every_public_module_imports():
    unexpected = {module: missing for module, missing in UNIMPORTABLE.items()
                  if missing.split(".")[0] not in OPTIONAL.get(module, set())}
    assert not unexpected, (
        f"public modules fail to import for want of a required package: {unexpected}; "
        "declare it in pyproject.toml"
    )
    if UNIMPORTABLE:  # only the extras' modules are left, e.g. without sklearn-fssd[dask]
        pytest.skip(f"optional dependencies missing, docstrings not checked: {UNIMPORTABLE}")


def test_the_public_api_is_found():
    modules = public_modules()
    for expected in ["sklearn_fssd.detector", "sklearn_fssd.pyod", "sklearn_fssd.metrics",
                     "sklearn_fssd.datasets", "sklearn_fssd.models"]:
        assert expected in modules
    assert "sklearn_fssd.FSSDDetector" in API_IDS
    assert len(API) > 50


@pytest.mark.parametrize("fullname, obj", API, ids=API_IDS)
def test_docstring_parses_and_has_examples(fullname, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{fullname} has no docstring"
    parsed, problems = parse(doc)
    assert not problems, f"numpydoc cannot parse the docstring of {fullname}: {problems}"
    examples = "\n".join(parsed["Examples"])
    assert ">>>" in examples, f"{fullname} has no runnable Examples section"


@pytest.mark.parametrize("fullname, obj", API, ids=API_IDS)
def test_numpydoc_validation(fullname, obj):
    errors = [f"{code}: {message}" for code, message in validate(fullname)["errors"]
              if code in CHECKS]
    assert not errors, f"{fullname}: {errors}"


@pytest.mark.parametrize(
    "fullname, cls", [(f, o) for f, o in API if inspect.isclass(o)],
    ids=[f for f, o in API if inspect.isclass(o)],
)
def test_method_docstrings_parse(fullname, cls):
    for name, method in own_methods(cls):
        _, problems = parse(inspect.getdoc(method))
        assert not problems, f"{fullname}.{name}: {problems}"


def documented_in_api_pages():
    """Objects and (module, name) pairs listed in ``docs/api/*.rst``."""
    objects, names = [], set()
    for page in sorted(API_PAGES.glob("*.rst")):
        module = None
        in_autosummary = False
        for line in page.read_text().splitlines():
            if match := re.match(r"\.\. currentmodule:: (\S+)", line):
                module = match.group(1)
            elif line.startswith(".. autosummary::"):
                in_autosummary = True
            elif match := re.match(r"\.\. autodata:: (\S+)", line):
                names.add((module, match.group(1)))
            elif in_autosummary and re.match(r"   [A-Za-z_]\w*$", line):
                name = line.strip()
                names.add((module, name))
                objects.append(getattr(importlib.import_module(module), name))
            elif line and not line.startswith(" "):
                in_autosummary = False
    return objects, names


def test_the_api_reference_lists_every_public_name():
    objects, names = documented_in_api_pages()
    missing = []
    for module, name, obj in public_names():
        listed = (module, name) in names or (
            documentable(obj) and any(obj is other for other in objects)
        )
        if not listed:
            missing.append(f"{module}.{name}")
    assert not missing, (
        f"public names missing from docs/api/*.rst: {missing}; add each to the autosummary "
        "(classes and functions) or as '.. autodata::' (constants) of its module's page"
    )


def test_the_api_reference_lists_only_public_names():
    """The converse: the reference documents no building block or constant."""
    _, names = documented_in_api_pages()
    public = {(module, name) for module, name, _ in public_names()}
    not_public = sorted(f"{module}.{name}" for module, name in names
                        if (module, name) not in public)
    assert not not_public, (
        f"docs/api/*.rst documents names that are not public: {not_public}; list only the "
        "names of the module's __all__ (add the name to __all__ if a user calls it)"
    )
