"""Tests of sklearn_fssd.singularity: the FSSD maths on hand-made arrays, no network."""

import numpy as np
import pytest
import torch

from sklearn_fssd.singularity import (
    channel_distances,
    distance_workspace,
    fssd_distance,
    input_range,
    random_tokens,
    token_frequencies,
    synthetic_outliers,
    synthetic_token_outliers,
    uniform_noise,
)

KINDS = ["noise", "shuffled", "scaled", "wide"]


def _table(seed=0, n=40):
    """A table whose columns have very different units."""
    rng = np.random.RandomState(seed)
    return np.c_[rng.uniform(0, 1, n), rng.uniform(100, 200, n), rng.uniform(-5, -4, n)]


def _outside_box(Z, low, high):
    """For each sample: is at least one feature strictly outside [low, high]?"""
    Z = Z.reshape(len(Z), -1)
    low, high = np.ravel(low), np.ravel(high)
    return ((Z < low) | (Z > high)).any(axis=1)


# ---------------------------------------------------------------- input_range


def test_input_range_per_feature_for_tables():
    X = np.array([[0.0, 10.0, -3.0], [1.0, 30.0, -1.0], [0.5, 20.0, -2.0]])
    low, high = input_range(X)
    np.testing.assert_array_equal(low, [0.0, 10.0, -3.0])
    np.testing.assert_array_equal(high, [1.0, 30.0, -1.0])
    assert low.dtype == np.float64


def test_input_range_one_global_range_for_images():
    # pixel (0, 0) is always black, pixel (1, 1) always 1: the per-pixel ranges
    # would collapse; images share one range
    X = np.zeros((4, 1, 2, 2))
    X[:, 0, 0, 1] = [0.2, 0.4, 0.6, 0.8]
    X[:, 0, 1, 1] = 1.0
    low, high = input_range(X)
    assert low.shape == high.shape == (1, 2, 2)
    np.testing.assert_array_equal(low, np.zeros((1, 2, 2)))
    np.testing.assert_array_equal(high, np.ones((1, 2, 2)))


def test_input_range_per_feature_can_be_forced_either_way():
    X = np.array([[0.0, 10.0], [1.0, 30.0]])
    low, high = input_range(X, per_feature=False)
    np.testing.assert_array_equal(low, [0.0, 0.0])
    np.testing.assert_array_equal(high, [30.0, 30.0])
    images = np.arange(8.0).reshape(2, 1, 2, 2)
    low, high = input_range(images, per_feature=True)
    np.testing.assert_array_equal(low, images[0])
    np.testing.assert_array_equal(high, images[1])


def test_input_range_widens_constant_columns_to_the_global_range():
    X = np.array([[0.0, 5.0, 2.0], [4.0, 5.0, 3.0], [1.0, 5.0, 2.5]])
    low, high = input_range(X)
    # the constant column 1 gets the range of the whole table, [0, 5]
    assert low[1] == 0.0 and high[1] == 5.0
    # the other columns keep their own range
    np.testing.assert_array_equal(low[[0, 2]], [0.0, 2.0])
    np.testing.assert_array_equal(high[[0, 2]], [4.0, 3.0])
    assert (high > low).all()


# ---------------------------------------------------------------- noise


def test_uniform_noise_stays_in_the_box_with_the_right_shape():
    low = np.array([[0.0, -10.0], [5.0, 100.0]])
    high = np.array([[1.0, -9.0], [5.5, 300.0]])
    x = uniform_noise(500, low, high, generator=torch.Generator().manual_seed(0))
    assert x.shape == (500, 2, 2)
    assert x.dtype == torch.float32
    lo, hi = torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)
    assert bool((x >= lo).all() and (x <= hi).all())
    # it fills the box, not a corner of it
    spread = (x.amax(dim=0) - x.amin(dim=0)) / (hi - lo)
    assert bool((spread > 0.9).all())


def test_uniform_noise_mean_is_near_the_box_centre():
    low, high = np.array([0.0, 10.0, -4.0]), np.array([2.0, 20.0, -2.0])
    x = uniform_noise(20000, low, high, generator=torch.Generator().manual_seed(0))
    centre = torch.as_tensor((low + high) / 2, dtype=torch.float32)
    width = torch.as_tensor(high - low, dtype=torch.float32)
    # standard error of the mean is width / sqrt(12 * 20000) ~ 0.002 width
    assert bool(((x.mean(dim=0) - centre).abs() < 0.01 * width).all())


def test_uniform_noise_is_reproducible_with_a_seeded_generator():
    a = uniform_noise(10, [0.0], [1.0], generator=torch.Generator().manual_seed(3))
    b = uniform_noise(10, [0.0], [1.0], generator=torch.Generator().manual_seed(3))
    c = uniform_noise(10, [0.0], [1.0], generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_random_tokens_range_shape_and_dtype():
    t = random_tokens(200, 9, 4, generator=torch.Generator().manual_seed(0))
    assert t.shape == (200, 9)
    assert t.dtype == torch.int64
    assert int(t.min()) == 0 and int(t.max()) == 3
    # every token of the vocabulary appears
    assert set(t.unique().tolist()) == {0, 1, 2, 3}


def test_random_tokens_with_frequencies_draw_each_id_in_its_share():
    shares = [0.5, 0.0, 0.3, 0.2, 0.0]
    t = random_tokens(400, 50, 5, generator=torch.Generator().manual_seed(0), frequencies=shares)
    assert t.shape == (400, 50) and t.dtype == torch.int64
    counts = np.bincount(t.numpy().ravel(), minlength=5) / t.numel()
    np.testing.assert_allclose(counts, shares, atol=0.01)  # ids 1 and 4: never
    assert counts[1] == 0 and counts[4] == 0
    with pytest.raises(ValueError, match=r"one share per token id \(5\); got shape \(3,\)"):
        random_tokens(2, 3, 5, frequencies=[0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match="finite, non-negative shares .* not all zero"):
        random_tokens(2, 3, 3, frequencies=[0.5, -0.25, 0.75])
    assert random_tokens(0, 3, 3, frequencies=[1, 1, 0]).shape == (0, 3)
    # shares need not sum to 1 exactly: they are scaled
    assert int(random_tokens(5, 4, 3, frequencies=[2, 0, 0]).max()) == 0


def test_token_frequencies_are_the_shares_of_each_id():
    X = np.array([[0, 0, 3], [3, 3, 0]])
    np.testing.assert_allclose(token_frequencies(X, 5), [0.5, 0, 0, 0.5, 0])


# ---------------------------------------------------------------- distance


def test_fssd_distance_against_hand_computed_values():
    feats = torch.tensor([[4.0, 6.0], [1.0, 2.0], [1.0, -2.0], [2.0, 2.0]])
    centre = torch.tensor([1.0, 2.0])
    # (3, 4) -> 5; at the centre -> 0; (0, -4) -> 4; (1, 0) -> 1
    expected = torch.tensor([5.0, 0.0, 4.0, 1.0])
    torch.testing.assert_close(fssd_distance(feats, centre), expected)


def test_fssd_distance_is_zero_at_the_centre_and_grows_away_from_it():
    centre = torch.tensor([0.5, -1.0, 2.0])
    steps = torch.tensor([0.0, 1.0, 2.0, 3.0])
    feats = centre + steps[:, None] * torch.tensor([1.0, 0.0, 0.0])
    d = fssd_distance(feats, centre)
    assert float(d[0]) == 0.0
    torch.testing.assert_close(d, steps)


def test_fssd_distance_permuting_rows_permutes_outputs():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(7, 5, generator=g)
    centre = torch.randn(5, generator=g)
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    torch.testing.assert_close(
        fssd_distance(feats[perm], centre), fssd_distance(feats, centre)[perm]
    )


@pytest.mark.parametrize("rows", [1, 3, 7, 10])
def test_fssd_distance_with_a_workspace_of_any_height_gives_the_same_bits(rows):
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(7, 300, generator=g)
    centre = torch.randn(300, generator=g)
    workspace = torch.full((rows, 300), float("nan"))  # leftovers must not leak in
    assert torch.equal(fssd_distance(feats, centre, workspace=workspace),
                       fssd_distance(feats, centre))
    assert torch.equal(fssd_distance(feats[:2], centre, workspace=workspace),
                       fssd_distance(feats[:2], centre))


def test_distance_workspace_holds_a_mebibyte_of_rows_on_the_cpu():
    assert distance_workspace(torch.zeros(256, 36864)).shape == (7, 36864)  # 2**18 // 36864
    assert distance_workspace(torch.zeros(256, 2**20)).shape == (1, 2**20)  # one row at least
    assert distance_workspace(torch.zeros(5, 128)).shape == (5, 128)  # never more than a batch
    assert distance_workspace(torch.zeros(256, 8, dtype=torch.float64)).dtype == torch.float64


# ---------------------------------------------------------------- running mean


# ---------------------------------------------------------------- synthetic outliers


@pytest.mark.parametrize("n_samples", [1, 9, 10, 13])
def test_synthetic_outliers_shape_and_dtype(n_samples):
    X = _table()
    low, high = input_range(X)
    Z = synthetic_outliers(X, low, high, n_samples, random_state=0)
    assert Z.shape == (n_samples, 3)
    assert Z.dtype == np.float32


def test_synthetic_outliers_keep_the_image_shape():
    X = np.random.RandomState(0).rand(6, 1, 4, 4)
    low, high = input_range(X)
    for kind in KINDS:
        Z = synthetic_outliers(X, low, high, 5, kinds=[kind], random_state=0)
        assert Z.shape == (5, 1, 4, 4), kind


def test_synthetic_outliers_noise_is_inside_the_box():
    X = _table()
    low, high = input_range(X)
    Z = synthetic_outliers(X, low, high, 300, kinds=["noise"], random_state=0)
    tol = 1e-4 * (high - low)  # float32 rounding
    assert ((Z >= low - tol) & (Z <= high + tol)).all()
    # and fills most of it along every column
    assert ((Z.max(0) - Z.min(0)) > 0.8 * (high - low)).all()


def test_synthetic_outliers_shuffled_rows_are_permutations_of_rows_of_X():
    rng = np.random.RandomState(1)
    X = rng.randint(0, 1000, size=(15, 6)).astype(np.float64)  # exact in float32
    low, high = input_range(X)
    Z = synthetic_outliers(X, low, high, 40, kinds=["shuffled"], random_state=0)
    sorted_rows = {tuple(np.sort(row)) for row in X}
    for row in Z:
        assert tuple(np.sort(row.astype(np.float64))) in sorted_rows
    # the features are actually shuffled, not rows copied as they are
    copied = {tuple(row) for row in X}
    assert sum(tuple(row.astype(np.float64)) in copied for row in Z) < 5


def test_synthetic_outliers_shuffled_images_permute_pixels():
    X = np.arange(2 * 1 * 3 * 3, dtype=np.float64).reshape(2, 1, 3, 3)
    low, high = input_range(X)
    Z = synthetic_outliers(X, low, high, 6, kinds=["shuffled"], random_state=0)
    originals = [np.sort(x.ravel()) for x in X]
    for z in Z:
        assert any(np.array_equal(np.sort(z.ravel()), o) for o in originals)


@pytest.mark.parametrize("kind", ["scaled", "wide"])
def test_synthetic_far_outliers_lie_outside_the_box_on_tables(kind):
    X = _table(n=60)
    low, high = input_range(X)
    Z = synthetic_outliers(X, low, high, 400, kinds=[kind], random_state=0)
    assert _outside_box(Z, low, high).all()


@pytest.mark.parametrize("kind", ["scaled", "wide"])
def test_synthetic_far_outliers_lie_outside_the_box_in_low_dimension(kind):
    # one or two features, and ID rows near the centre of the box: a plain
    # "scale the offset by 3" or "noise over a 3x box" would stay inside
    rng = np.random.RandomState(0)
    X = np.r_[rng.uniform(0, 1, (30, 2)), [[0.5, 0.5], [0.51, 0.49], [0.45, 0.55]]]
    low, high = input_range(X)
    Z = synthetic_outliers(X, low, high, 300, kinds=[kind], random_state=0)
    assert _outside_box(Z, low, high).all()
    X1 = X[:, :1]
    low1, high1 = input_range(X1)
    Z1 = synthetic_outliers(X1, low1, high1, 300, kinds=[kind], random_state=0)
    assert _outside_box(Z1, low1, high1).all()


@pytest.mark.parametrize("kind", ["scaled", "wide"])
def test_synthetic_far_outliers_lie_outside_the_box_on_images(kind):
    X = np.random.RandomState(0).rand(10, 1, 4, 4)
    low, high = input_range(X)
    Z = synthetic_outliers(X, low, high, 50, kinds=[kind], random_state=0)
    assert _outside_box(Z, low, high).all()


def test_synthetic_outliers_far_kinds_reach_both_sides_and_far():
    X = _table(n=60)
    low, high = input_range(X)
    Z = synthetic_outliers(X, low, high, 400, kinds=["scaled", "wide"], random_state=0)
    centre, half = (low + high) / 2, (high - low) / 2
    ratio = np.abs(Z - centre).max(axis=0) / half
    # some samples reach many box widths away along every feature...
    assert (ratio > 10).all()
    # ...on both sides of the box
    assert ((Z < low).any(axis=0) & (Z > high).any(axis=0)).all()


def test_synthetic_outliers_all_kinds_in_about_equal_numbers():
    X = _table(n=60)
    low, high = input_range(X)
    Z = synthetic_outliers(X, low, high, 101, random_state=0)
    outside = _outside_box(Z, low, high)
    # noise and shuffled (51 samples) first, scaled and wide (50) last
    assert outside[51:].all()
    assert not outside[:26].any()  # noise


def test_synthetic_outliers_reproducible_with_random_state():
    X = _table()
    low, high = input_range(X)
    a = synthetic_outliers(X, low, high, 20, random_state=7)
    b = synthetic_outliers(X, low, high, 20, random_state=7)
    c = synthetic_outliers(X, low, high, 20, random_state=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    a = synthetic_outliers(X, low, high, 20, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(a, b)


def test_synthetic_outliers_accept_a_single_kind_as_a_string():
    X = _table()
    low, high = input_range(X)
    np.testing.assert_array_equal(
        synthetic_outliers(X, low, high, 8, kinds="wide", random_state=0),
        synthetic_outliers(X, low, high, 8, kinds=["wide"], random_state=0),
    )


@pytest.mark.parametrize("kinds", [["noise", "blur"], [], ["Noise"]])
def test_synthetic_outliers_bad_kinds_are_an_error(kinds):
    X = _table()
    low, high = input_range(X)
    with pytest.raises(ValueError, match="kinds must be a non-empty subset") as info:
        synthetic_outliers(X, low, high, 8, kinds=kinds, random_state=0)
    for kind in KINDS:
        assert kind in str(info.value)


def test_synthetic_outliers_do_not_modify_X():
    X = _table()
    before = X.copy()
    low, high = input_range(X)
    synthetic_outliers(X, low, high, 40, random_state=0)
    np.testing.assert_array_equal(X, before)


def test_synthetic_token_outliers_within_vocab_and_half_shuffled():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 3, size=(20, 12))  # tokens 0..2 of a vocabulary of 5
    Z = synthetic_token_outliers(X, 5, 30, random_state=0)
    assert Z.shape == (30, 12)
    assert Z.dtype == X.dtype
    assert Z.min() >= 0 and Z.max() < 5
    # the random half uses the whole vocabulary, the shuffled half only X's tokens
    assert Z[:15].max() >= 3
    sorted_rows = {tuple(np.sort(row)) for row in X}
    assert all(tuple(np.sort(row)) in sorted_rows for row in Z[15:])


def test_synthetic_token_outliers_with_frequencies_keep_to_the_given_ids():
    X = np.random.RandomState(0).randint(0, 3, size=(20, 12))
    Z = synthetic_token_outliers(X, 5, 30, random_state=0, frequencies=token_frequencies(X, 5))
    assert Z.max() <= 2  # ids 3 and 4, which X never holds, are never drawn
    with pytest.raises(ValueError, match="one share per token id"):
        synthetic_token_outliers(X, 5, 30, random_state=0, frequencies=[1, 1])


def test_synthetic_token_outliers_reproducible_and_X_untouched():
    X = np.arange(40).reshape(4, 10) % 7
    before = X.copy()
    a = synthetic_token_outliers(X, 7, 9, random_state=1)
    b = synthetic_token_outliers(X, 7, 9, random_state=1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, before)


def test_channel_distances_are_the_parts_of_the_layer_distance():
    rng = torch.Generator().manual_seed(0)
    features = torch.randn(7, 5, 3, generator=rng)  # 7 samples, 5 positions, 3 channels
    centre = torch.randn(5, 3, generator=rng)
    parts = channel_distances(features, centre)
    assert parts.shape == (7, 3)
    np.testing.assert_allclose(parts[:, 1], (features[:, :, 1] - centre[:, 1]).norm(dim=1),
                               rtol=1e-6)
    whole = fssd_distance(features.flatten(1), centre.flatten())
    np.testing.assert_allclose(parts.norm(dim=1), whole, rtol=1e-6)
