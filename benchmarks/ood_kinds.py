"""OoD kinds for image benchmarks, drawn in one place: noise, far-out inputs, dataset shift.

:func:`image_kinds` turns in-distribution images that no other part of a case uses into five
kinds of :class:`benchmarks.protocol.Kind`, each with disjoint validation and test samples:

- ``"uniform noise"``: pixels i.i.d. uniform on the input range (ODIN's "Uniform").
- ``"Gaussian noise"``: pixels i.i.d. Gaussian with mean 0.5 and standard deviation 1, clipped
  to [0, 1] (ODIN's "Gaussian"); of the family ``"noise"`` with uniform noise.
- ``"far out"``: in-distribution images times 10, far outside the training range, where a ReLU
  network's features grow large instead of staying near ``F*`` (DESIGN.md).
- ``"corrupted noise"``: in-distribution images plus Gaussian noise of standard deviation 0.18
  (ImageNet-C's severity 3), clipped; and ``"corrupted blur"``: a Gaussian blur of 1 pixel
  (``scipy.ndimage.gaussian_filter`` over height and width). Dataset shift, of the family
  ``"shift"``: the objects are in-distribution, the images are not.

Every draw comes from the ``rng`` passed in, so a seed gives the same kinds.
"""

import numpy as np

from benchmarks.protocol import Kind

NOISE_SIGMA = 0.18
BLUR_SIGMA = 1.0
FAR_FACTOR = 10.0


def uniform_noise(n, shape, rng, low=0.0, high=1.0):
    """``n`` images of ``shape`` with pixels uniform on ``[low, high]``."""
    return rng.uniform(low, high, size=(n, *shape)).astype(np.float32)


def gaussian_noise(n, shape, rng, mean=0.5, std=1.0, low=0.0, high=1.0):
    """``n`` images of ``shape`` with Gaussian pixels, clipped to ``[low, high]``."""
    return np.clip(rng.normal(mean, std, size=(n, *shape)), low, high).astype(np.float32)


def noisy(X, rng, sigma=NOISE_SIGMA, low=0.0, high=1.0):
    """``X`` plus Gaussian noise of standard deviation ``sigma``, clipped to ``[low, high]``."""
    return np.clip(X + rng.normal(0.0, sigma, X.shape), low, high).astype(np.float32)


def blurred(X, sigma=BLUR_SIGMA):
    """``X`` (N, C, H, W) blurred over height and width by a Gaussian of ``sigma`` pixels."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(np.asarray(X, np.float32), sigma=(0, 0, sigma, sigma))


def image_kinds(X, n_val, n_test, rng, low=0.0, high=1.0):
    """The five image kinds, the derived ones from the images ``X`` (N, C, H, W) in
    ``[low, high]``, which must be used nowhere else in the case (3 * (n_val + n_test) of them
    are taken).

    Returns an ordered dict name -> :class:`~benchmarks.protocol.Kind`.
    """
    n, shape = n_val + n_test, X.shape[1:]
    if len(X) < 3 * n:
        raise ValueError(f"{len(X)} source images cannot give three derived kinds of {n_val} "
                         f"validation and {n_test} test images; {3 * n} are needed.")
    far, shifted_noise, shifted_blur = np.split(X[rng.permutation(len(X))[:3 * n]], 3)
    made = {
        "uniform noise": (uniform_noise(n, shape, rng, low, high), "noise",
                          "pixels uniform on the input range"),
        "Gaussian noise": (gaussian_noise(n, shape, rng, low=low, high=high), "noise",
                           "pixels N(0.5, 1) clipped to the input range"),
        "far out": ((FAR_FACTOR * far).astype(np.float32), None,
                    f"in-distribution images times {FAR_FACTOR:g}"),
        "corrupted noise": (noisy(shifted_noise, rng, low=low, high=high), "shift",
                            f"in-distribution images plus N(0, {NOISE_SIGMA}) noise, clipped"),
        "corrupted blur": (blurred(shifted_blur), "shift",
                           f"in-distribution images blurred by a Gaussian of {BLUR_SIGMA:g} px"),
    }
    return {name: Kind.draw(Z, n_val, n_test, family=family, note=note)
            for name, (Z, family, note) in made.items()}
