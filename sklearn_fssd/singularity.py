"""FSSD maths as small pure functions: noise, singularities, distances.

Nothing here knows about networks or hooks. The functions take arrays or
tensors and return arrays or tensors, so every formula of the paper is tested
on hand-made inputs (``tests/test_singularity.py``).

Notation (Huang et al., Sec. 3): for a layer ``k`` with feature map ``F_k``,

* the Feature Space Singularity ``F*_k`` is the mean of ``F_k(noise)`` over
  ``S`` uniform-noise inputs (:func:`running_centre` accumulates it batch by
  batch);
* ``FSSD_k(x) = ||F_k(x) - F*_k||_2`` (:func:`fssd_distance`); larger means
  more in-distribution;
* its parts by channel, ``FSSD_kc(x) = ||F_kc(x) - F*_kc||_2`` over the positions of
  channel ``c`` (:func:`channel_distances`), with ``sum_c FSSD_kc**2 = FSSD_k**2``.
"""

import numpy as np
import torch

# What a user calls: the distance and the ways to make outliers. The building
# blocks FSSDDetector draws its noise with (input_range, uniform_noise,
# random_tokens, distance_workspace) stay importable from here but are not API.
__all__ = [
    "channel_distances",
    "fssd_distance",
    "shuffle_within_rows",
    "synthetic_outliers",
    "synthetic_token_outliers",
]


def input_range(X, per_feature="auto"):
    """Range ``(low, high)`` of the inputs, over which uniform noise is drawn.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        In-distribution inputs.
    per_feature : bool or "auto", default="auto"
        ``True`` gives one range per feature (the columns of a table have
        their own units); ``False`` gives one range for the whole input (the
        pixels of an image share theirs: per-pixel ranges collapse on the
        always-black border of MNIST and make "noise" that is not noise).
        ``"auto"`` is ``True`` for 2-D tables and ``False`` for images and
        other inputs of more than two dimensions. Features whose range
        collapses to a point (constant columns) get the range of the whole
        input instead, so noise still varies along them.

    Returns
    -------
    low, high : ndarray of shape X.shape[1:] (float64)

    Examples
    --------
    >>> import numpy as np
    >>> low, high = input_range(np.array([[0.0, 10.0], [1.0, 30.0]]))
    >>> low.tolist(), high.tolist()
    ([0.0, 10.0], [1.0, 30.0])
    >>> low, high = input_range(np.zeros((3, 1, 2, 2)) + np.arange(3)[:, None, None, None])
    >>> float(low.min()), float(high.max())
    (0.0, 2.0)
    """
    X = np.asarray(X, dtype=np.float64)
    if per_feature == "auto":
        per_feature = X.ndim == 2
    shape = X.shape[1:]
    global_low, global_high = float(X.min()), float(X.max())
    if not per_feature:
        return np.full(shape, global_low), np.full(shape, global_high)
    low, high = X.min(axis=0), X.max(axis=0)
    collapsed = high <= low
    low = np.where(collapsed, np.minimum(low, global_low), low)
    high = np.where(collapsed, np.maximum(high, global_high), high)
    return low, high


def uniform_noise(n_samples, low, high, generator=None, dtype=torch.float32):
    """Draw ``n_samples`` inputs uniformly from the box ``[low, high]``.

    Parameters
    ----------
    n_samples : int
    low, high : array-like of the input shape
    generator : torch.Generator, optional
    dtype : torch.dtype, default=torch.float32

    Returns
    -------
    noise : Tensor of shape ``(n_samples, *low.shape)``
        On the CPU.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = uniform_noise(1000, [0.0, 5.0], [1.0, 6.0], generator=g)
    >>> x.shape, bool((x[:, 1] >= 5).all() and (x[:, 1] <= 6).all())
    (torch.Size([1000, 2]), True)
    """
    low = torch.as_tensor(np.asarray(low), dtype=dtype)
    high = torch.as_tensor(np.asarray(high), dtype=dtype)
    u = torch.rand((int(n_samples), *low.shape), generator=generator, dtype=dtype)
    return low + u * (high - low)


def token_frequencies(X, vocab_size):
    """How often each token id ``0 .. vocab_size - 1`` occurs in the token sequences ``X``.

    Returns
    -------
    frequencies : ndarray of shape (vocab_size,)
        Shares that sum to 1.

    Examples
    --------
    >>> token_frequencies(np.array([[0, 1, 1, 3]]), 5).tolist()
    [0.25, 0.5, 0.0, 0.25, 0.0]
    """
    counts = np.bincount(np.asarray(X).ravel(), minlength=int(vocab_size))
    return counts / counts.sum()


def _token_shares(frequencies, vocab_size):
    """``frequencies`` checked (one finite, non-negative share per token id, not all zero) and
    scaled to sum to 1, as float64."""
    shares = np.asarray(frequencies, dtype=np.float64)
    if shares.shape != (int(vocab_size),):
        raise ValueError(f"frequencies must hold one share per token id ({int(vocab_size)}); "
                         f"got shape {shares.shape}.")
    if not np.isfinite(shares).all() or (shares < 0).any() or shares.sum() <= 0:
        raise ValueError("frequencies must be finite, non-negative shares of the token ids, "
                         f"not all zero; got {shares.tolist()}.")
    return shares / shares.sum()


def random_tokens(n_samples, length, vocab_size, generator=None, frequencies=None):
    """Random token sequences, each token drawn on its own: the noise of a sequence model.

    Parameters
    ----------
    n_samples : int
        Number of sequences.
    length : int
        Tokens per sequence.
    vocab_size : int
        Token ids are drawn from ``0 .. vocab_size - 1``.
    generator : torch.Generator, optional
    frequencies : array-like of shape (vocab_size,), optional
        The share of each token id (:func:`token_frequencies` of the
        in-distribution data: sequences with its tokens in its proportions and
        no order). Without it, every id is equally likely.

    Returns
    -------
    tokens : Tensor of shape (n_samples, length), dtype int64
        On the CPU.

    Examples
    --------
    >>> import torch
    >>> t = random_tokens(4, 7, 5, generator=torch.Generator().manual_seed(0))
    >>> t.shape, t.dtype, int(t.max()) < 5
    (torch.Size([4, 7]), torch.int64, True)
    >>> bases = random_tokens(4, 7, 5, frequencies=[0.25, 0.25, 0.25, 0.25, 0.0])
    >>> int(bases.max()) < 4  # id 4 (an unknown base, say) never drawn
    True
    """
    shape = (int(n_samples), int(length))
    if frequencies is None:
        return torch.randint(0, int(vocab_size), shape, generator=generator)
    weights = torch.as_tensor(_token_shares(frequencies, vocab_size))
    if shape[0] * shape[1] == 0:
        return torch.zeros(shape, dtype=torch.int64)
    drawn = torch.multinomial(weights, shape[0] * shape[1], replacement=True,
                              generator=generator)
    return drawn.reshape(shape)


#: Elements of ``features - centre`` that :func:`fssd_distance` computes at a time on a CPU:
#: 1 MiB of float32, so that the difference stays in the cache between its write and its read.
_BLOCK_ELEMENTS = 2**18


def distance_workspace(features):
    """Memory for :func:`fssd_distance` on batches shaped like ``features``.

    On a CPU, as many rows as fit in 1 MiB (at least one): the difference to
    the centre is then read back from the cache, not from main memory. On
    other devices, the whole batch.

    Parameters
    ----------
    features : Tensor of shape (n_samples, n_features)

    Returns
    -------
    Tensor of shape (m, n_features), uninitialised, with ``m <= n_samples``.

    Examples
    --------
    >>> import torch
    >>> distance_workspace(torch.zeros(256, 36864)).shape
    torch.Size([7, 36864])
    >>> distance_workspace(torch.zeros(256, 128)).shape
    torch.Size([256, 128])
    """
    n_samples, width = features.shape
    rows = max(1, _BLOCK_ELEMENTS // max(width, 1)) if features.device.type == "cpu" else n_samples
    return features.new_empty((max(1, min(rows, n_samples)), width))


def fssd_distance(features, centre, workspace=None):
    """Feature Space Singularity Distance of each row of ``features``.

    Parameters
    ----------
    features : Tensor of shape (n_samples, n_features)
        Flattened (or pooled) feature maps of one layer.
    centre : Tensor of shape (n_features,)
        The singularity ``F*`` of that layer.
    workspace : Tensor of shape (m, n_features), optional
        Memory for ``features - centre``, reused across batches; the rows
        are taken ``m`` at a time (the distances are the same bit for bit).
        Allocating a fresh difference of a large feature map per batch
        costs about as much as the layer itself on a CPU, and writing it out
        to main memory and reading it back costs a tenth of the forward
        pass: without autograd, pass one, of :func:`distance_workspace`'s
        size.

    Returns
    -------
    Tensor of shape (n_samples,)
        ``||features[i] - centre||_2``; larger = further from the
        singularity = more in-distribution.

    Examples
    --------
    >>> import torch
    >>> fssd_distance(torch.tensor([[3.0, 4.0], [1.0, 1.0]]), torch.tensor([0.0, 0.0]))
    tensor([5.0000, 1.4142])
    """
    if workspace is None:
        return torch.linalg.vector_norm(features - centre, ord=2, dim=1)
    distances = features.new_empty(features.shape[0])
    rows = workspace.shape[0]
    for start in range(0, features.shape[0], rows):
        block = features[start : start + rows]
        diff = torch.sub(block, centre, out=workspace[: block.shape[0]])
        torch.linalg.vector_norm(diff, ord=2, dim=1, out=distances[start : start + rows])
    return distances


def channel_distances(features, centre):
    """FSSD of each channel of one layer: the distance to ``F*`` over that channel's positions.

    The layer's FSSD splits into these parts, ``||F - F*||**2 = sum_c ||F_c -
    F*_c||**2``, so the channels keep what the layer's one distance sums away:
    which of them sit near their singularity.

    Parameters
    ----------
    features : Tensor of shape (n_samples, n_positions, n_channels)
        Feature maps of one layer, channels last (one position for a layer
        without positions, or for channel means).
    centre : Tensor of shape (n_positions, n_channels)
        The singularity ``F*`` of that layer, shaped the same way.

    Returns
    -------
    Tensor of shape (n_samples, n_channels)
        Larger = further from the singularity.

    Examples
    --------
    >>> import torch
    >>> F = torch.tensor([[[3.0, 1.0], [4.0, 1.0]]])  # 1 sample, 2 positions, 2 channels
    >>> channel_distances(F, torch.zeros(2, 2))
    tensor([[5.0000, 1.4142]])
    >>> float(channel_distances(F, torch.zeros(2, 2)).norm())  # the layer's FSSD
    5.196152210235596
    """
    return torch.linalg.vector_norm(features - centre, ord=2, dim=1)


def shuffle_within_rows(X, rng):
    """A copy of ``X`` with the features of each sample permuted independently.

    Keeps each sample's value statistics (its pixel histogram, its token
    counts) and destroys its structure: a standard synthetic outlier.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
    rng : numpy.random.RandomState

    Returns
    -------
    ndarray shaped like ``X``

    Examples
    --------
    >>> import numpy as np
    >>> out = shuffle_within_rows(np.arange(6).reshape(2, 3), np.random.RandomState(0))
    >>> sorted(out[0].tolist()), sorted(out[1].tolist())
    ([0, 1, 2], [3, 4, 5])
    """
    X = np.asarray(X)
    flat = X.reshape(len(X), int(np.prod(X.shape[1:]))).copy()  # also for zero rows
    for row in flat:
        rng.shuffle(row)
    return flat.reshape(X.shape)


_KINDS = ("noise", "shuffled", "scaled", "wide")


def synthetic_outliers(X, low, high, n_samples, kinds=_KINDS, random_state=None):
    """Inputs that are out-of-distribution for data like ``X``, made from ``X``.

    They let the layers be combined without any real OoD data. The kinds,
    drawn in about equal numbers:

    * ``"noise"``: uniform noise over ``[low, high]`` (fresh draws, not those
      behind F*);
    * ``"shuffled"``: rows of ``X`` with their features shuffled within each
      row (the value statistics of the data, none of its structure);
    * ``"scaled"``: rows of ``X`` pushed away from the centre of the box by a
      factor of 3 to 30 (rows inside the box are first stretched, along their
      own direction from the centre, onto its surface, so that rows near the
      centre leave the box too);
    * ``"wide"``: noise on the surfaces of boxes 3 to 30 times wider than
      ``[low, high]`` (same centre).

    The last two lie far outside the training range: every such sample has
    at least one feature at least three half-widths from the centre. A ReLU
    network maps such inputs to large features, far from F*, so a detector
    that only asks "how far from F*?" calls them in-distribution; training the
    layer stack against them fixes that.

    Parameters
    ----------
    X : ndarray of shape (n, ...), float
    low, high : ndarray of shape X.shape[1:]
    n_samples : int
    kinds : str or sequence of {"noise", "shuffled", "scaled", "wide"}
    random_state : int, RandomState instance or None

    Returns
    -------
    ndarray of shape (n_samples, ...), float32

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.RandomState(0).rand(20, 3)
    >>> synthetic_outliers(X, X.min(0), X.max(0), 9, random_state=0).shape
    (9, 3)
    """
    from sklearn.utils import check_random_state

    if isinstance(kinds, str):
        kinds = [kinds]
    unknown = set(kinds) - set(_KINDS)
    if unknown or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of {_KINDS}; got {list(kinds)}.")
    rng = check_random_state(random_state)
    X = np.asarray(X, dtype=np.float64)
    shape = X.shape[1:]
    counts = np.full(len(kinds), n_samples // len(kinds))
    counts[: n_samples % len(kinds)] += 1
    centre = (low + high) / 2.0
    half = np.maximum((high - low) / 2.0, 1e-12)

    def far_scale(n):
        scale = np.exp(rng.uniform(np.log(3.0), np.log(30.0), size=n))
        return scale.reshape(-1, *([1] * len(shape)))

    def reach(u):
        # largest |u_j| of each row (u in units of the half-box), at most 1:
        # dividing by it moves rows inside the box onto its surface
        top = np.abs(u).reshape(len(u), -1).max(axis=1) if u.size else np.ones(len(u))
        return np.minimum(top, 1.0).reshape(-1, *([1] * len(shape)))

    parts = []
    for kind, n in zip(kinds, counts):
        if kind == "noise":
            parts.append(low + rng.uniform(size=(n, *shape)) * (high - low))
        elif kind == "shuffled":
            parts.append(shuffle_within_rows(X[rng.randint(len(X), size=n)], rng))
        elif kind == "scaled":
            offset = X[rng.randint(len(X), size=n)] - centre
            # values at the centre would not move: push them by half the box
            signs = rng.choice([-1.0, 1.0], size=offset.shape)
            offset = np.where(np.abs(offset) < 1e-12, half * signs, offset)
            parts.append(centre + far_scale(n) * offset / reach(offset / half))
        else:  # "wide"
            u = rng.uniform(-1, 1, size=(n, *shape))
            parts.append(centre + far_scale(n) * half * u / reach(u))
    return np.concatenate(parts).astype(np.float32)


def synthetic_token_outliers(X, vocab_size, n_samples, random_state=None, frequencies=None):
    """Synthetic OoD token sequences: random tokens and shuffled rows of ``X``.

    Parameters
    ----------
    X : array-like of shape (n, length) of int
        In-distribution token sequences.
    vocab_size : int
        Random tokens are drawn from ``0 .. vocab_size - 1``.
    n_samples : int
        Number of outliers: ``n_samples // 2`` random sequences, the rest
        rows of ``X`` (drawn with replacement) with their tokens shuffled.
    random_state : int, RandomState instance or None, default=None
    frequencies : array-like of shape (vocab_size,), optional
        The share of each token id in the random sequences (as
        :func:`random_tokens`); without it, every id is equally likely.

    Returns
    -------
    outliers : ndarray of shape (n_samples, length)
        With the dtype of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0, 1, 2, 3]] * 5)
    >>> synthetic_token_outliers(X, 4, 6, random_state=0).shape
    (6, 4)
    """
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    X = np.asarray(X)
    n_noise = n_samples // 2
    size = (n_noise, X.shape[1])
    noise = (rng.randint(0, vocab_size, size=size) if frequencies is None
             else rng.choice(int(vocab_size), size=size, p=_token_shares(frequencies, vocab_size)))
    shuffled = shuffle_within_rows(X[rng.randint(len(X), size=n_samples - n_noise)], rng)
    return np.vstack([noise, shuffled]).astype(X.dtype)
