"""The main job runs and prints what the README promises."""

from sklearn_fssd import demo


def test_demo_prints_layer_ensemble_and_baseline_tables(capsys):
    demo.main(["--epochs", "3"])
    out = capsys.readouterr().out
    for kind in ("uniform noise", "shuffled pixels", "inverted digits", "far out (10 x digit)"):
        assert out.count(kind) >= 3  # unsupervised, supervised and side-by-side tables
    assert "conv1  conv2    fc1    fc2  ensemble  flagged" in out
    for method in ("FSSD", "MSP (Base)", "ODIN", "Energy", "Mahalanobis"):
        assert method in out
    # the far-out row: every single layer inverted, the ensemble not
    far = [line.split() for line in out.splitlines() if line.strip().startswith("far out")][0]
    assert far[5:9] == ["0.000"] * 4 and float(far[9]) > 0.99
