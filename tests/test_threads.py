"""One fitted detector scored from several threads at once gives each thread its own scores.

A web server or Dask's threaded scheduler calls one detector object from several threads. The
forward hooks sit on the shared network, so without care the hooks of one call fire in another
call's forward pass (the layers' features, the perturbation step, MC Dropout's per-pass state),
which used to raise or, worse, return wrong scores silently.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sklearn_fssd import FSSDDetector, MCDropoutDetector, MahalanobisDetector, ODINDetector


def _detectors(net, X_train, y_train):
    return {
        "FSSD eps=0": FSSDDetector(net, random_state=0).fit(X_train),
        "FSSD eps>0": FSSDDetector(net, epsilon=0.01, random_state=0).fit(X_train),
        "ODIN": ODINDetector(net, temperature=100.0, epsilon=0.002).fit(X_train),
        "Mahalanobis": MahalanobisDetector(net, epsilon=0.002, random_state=0).fit(
            X_train, class_labels=y_train),
        "MCDropout": MCDropoutDetector(net, n_passes=4, dropout_rate=0.3,
                                       random_state=0).fit(X_train),
    }


@pytest.fixture(scope="module")
def fitted(trained_cnn, digits):
    X_train, y_train = digits[0][:300], digits[1][:300]
    return _detectors(trained_cnn, X_train, y_train)


@pytest.mark.parametrize("name", ["FSSD eps=0", "FSSD eps>0", "ODIN", "Mahalanobis",
                                  "MCDropout"])
def test_concurrent_calls_return_what_sequential_calls_return(fitted, digits, name):
    det = fitted[name]
    X = digits[2]
    # different inputs per call (and small batches), so mixed-up features would show
    chunks = [X[i * 40:(i + 1) * 40] for i in range(8)]
    det.set_params(batch_size=16)
    try:
        expected = [det.score_samples(c) for c in chunks]
        with ThreadPoolExecutor(4) as pool:
            for _ in range(3):
                got = list(pool.map(det.score_samples, chunks))
                for g, e in zip(got, expected):
                    np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    finally:
        det.set_params(batch_size=256)
