"""The main job runs, explains itself and prints what the README promises."""

import re

import pytest

from sklearn_fssd import demo

KINDS = ("uniform noise", "shuffled pixels", "inverted digits", "far out (10 x digit)",
         "unseen digits (7-9)")


@pytest.fixture(scope="module")
def out():
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        demo.main(["--epochs", "3"])
    return buffer.getvalue()


def rows(out, section):
    """The table rows of one numbered section, as lists of cells split on 2+ spaces."""
    block = out.split(f"\n{section}. ")[1].split("In words:")[0]
    lines = [line.strip() for line in block.splitlines()[1:] if line.strip()]
    table = lines[lines.index(next(x for x in lines if set(x) <= {"-", " "})) + 1:]
    return {cells[0]: cells[1:] for cells in (re.split(r"\s{2,}", x) for x in table)}


def test_demo_explains_sign_chance_singularity_and_far_out_inputs(out):
    legend = out.split("How to read the tables")[1].split("1. No OoD data")[0]
    for term in ("0.5 is chance", "F*", "uniform-noise", "far out", "higher = more ID",
                 "predict() calls -1"):
        assert term in legend, term


def test_every_table_has_every_kind_and_ends_with_a_sentence(out):
    for section in (1, 2, 3):
        table = rows(out, section)
        if section == 3:
            assert list(table) == ["FSSD", "MSP (Base)", "ODIN T=1000 eps=0.0014", "Energy",
                                   "Mahalanobis"]
        else:
            assert list(table) == list(KINDS)
    assert out.count("In words:") == 3


def test_single_layers_invert_on_far_out_inputs_and_the_ensemble_does_not(out):
    far = rows(out, 1)["far out (10 x digit)"]
    *layers, ensemble, _flagged = far
    assert len(layers) == 8  # LeNet's default layers: every stage of the forward pass
    assert all(float(a) < 0.05 for a in layers)
    assert float(ensemble) > 0.99


def test_held_out_classes_are_detected_above_chance_without_ood_data(out):
    assert float(rows(out, 1)["unseen digits (7-9)"][-2]) > 0.8


def test_the_one_kind_stack_marks_only_its_kind_as_seen(out):
    table = rows(out, 2)
    assert {kind: cells[0] for kind, cells in table.items()} == {
        kind: "yes" if kind == "shuffled pixels" else "no" for kind in KINDS
    }


def test_closing_sentences_quote_the_tables(out):
    unsup = rows(out, 1)
    mean = sum(float(cells[-2]) for cells in unsup.values()) / len(unsup)  # the ensemble
    sentence = out.split("1. No OoD data")[1].split("In words:")[1].splitlines()[0]
    quoted = float(re.search(r"mean AUROC over the 5 kinds is (\d\.\d{3})", sentence).group(1))
    assert abs(quoted - mean) < 0.002  # the table's cells are rounded to 3 decimals
    side = rows(out, 3)
    assert side["FSSD"][-1] in out.split("3. Side by side")[1].split("In words:")[1]


def test_the_default_stack_keeps_the_kinds_it_never_saw_and_the_plain_one_is_shown(out):
    table = rows(out, 2)
    # the stack saw shuffled pixels only; noise and far-out inputs stay flagged
    for kind in ("uniform noise", "far out (10 x digit)"):
        assert table[kind][-1] == "100%", kind
    plain = out.split("The paper's plain stack")[1].splitlines()[0]
    assert re.search(r"mean AUROC \d\.\d{3} on the kinds it never saw", plain)
    assert "of far out (10 x digit)" in plain
