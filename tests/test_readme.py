"""The README's Python snippets run as written (a broken quickstart fails CI)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_a_quickstart():
    assert len(python_blocks()) >= 2


def test_readme_snippets_run_and_print_what_they_claim(capsys):
    namespace = {}
    for block in python_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "['conv1', 'relu1', 'conv2', 'relu2', 'pool', 'fc1', 'relu3', 'fc2']"
    assert out[1] == "(797, 8)"
    assert out[2] == "True"
    assert float(out[3]) > 0.97
    assert 0.85 < float(out[4]) <= 1.0
    assert out[5] == "(3, 8)"
    assert namespace["search"].best_score_ > 0.95
    assert out[7] == "(59,) 6"
    assert out[8] == "True"


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    text = README.read_text()
    assert "pip install -e . && python -m sklearn_fssd.demo" in text
    test_command = 'pip install -e ".[tests]" && python -m pytest'
    assert test_command in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert test_command in ci


def test_readme_layout_names_every_module_and_package_of_the_library():
    text = README.read_text()
    layout = text[text.index("## Layout"):text.index("## Benchmarks")]
    package = README.parent / "sklearn_fssd"
    parts = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    parts += [f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()]
    missing = [name for name in parts if f"  {name} " not in layout]
    assert not missing, f"README's Layout block does not describe {missing}"
