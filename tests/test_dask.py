"""Scoring on a real Dask cluster (sklearn_fssd.dask) and GridSearchCV under joblib's Dask backend.

One ``distributed.LocalCluster`` of 2 worker processes (1 thread each) on 127.0.0.1 serves the
session (``dask_client`` in conftest.py); the test that kills a worker runs last and waits for
its replacement. Scores computed on the workers equal the
in-memory ones up to float32 rounding, the tolerance the package holds for any split of X into
batches: torch's convolutions do not promise the same last bit in two processes (measured: about
2e-7 on a convolution's outputs between this process and a fresh one, both on one thread).
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sklearn_fssd import (
    DeepEnsembleDetector,
    EnergyDetector,
    FSSDDetector,
    MahalanobisDetector,
    MCDropoutDetector,
    MSPDetector,
    ODINDetector,
)
from sklearn_fssd.pyod import FSSD, as_pyod

da = pytest.importorskip("dask.array", reason="Dask is the optional extra sklearn-fssd[dask]")
distributed = pytest.importorskip("distributed", reason="the extra sklearn-fssd[dask]")
from sklearn_fssd.dask import _ShippedDetector, score_dask  # noqa: E402

from conftest import permuted_pixels  # noqa: E402

def assert_same_scores(got, expected, rtol=1e-5):
    """Equal up to float32 rounding: relative ``rtol`` of each value and of the scale (1e-5,
    as tests/test_detector.py allows between batch sizes).

    Input pre-processing takes the sign of gradients: a component that rounds to the
    other side of 0 moves that pixel by 2 * epsilon, so those detectors get rtol=1e-4.
    """
    assert got.shape == expected.shape and got.dtype == expected.dtype
    atol = rtol * max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


@pytest.fixture
def client(dask_client):
    """The session's cluster (conftest.py): 2 worker processes, 1 thread each."""
    return dask_client


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    return rng.normal(size=(300, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def detectors(trained_cnn, digits, table):
    """Every detector of the package, fitted: images on the digits CNN, the PyOD face on a table."""
    X_train = digits[0][:300]
    fitted = {
        "FSSD": FSSDDetector(trained_cnn, random_state=0).fit(X_train),
        "FSSD eps": FSSDDetector(trained_cnn, epsilon=0.01, random_state=0).fit(X_train[:150]),
        "MSP": MSPDetector(trained_cnn).fit(X_train),
        "ODIN": ODINDetector(trained_cnn).fit(X_train),
        "Energy": EnergyDetector(trained_cnn).fit(X_train),
        "Mahalanobis": MahalanobisDetector(trained_cnn, random_state=0).fit(X_train),
        "DeepEnsemble": DeepEnsembleDetector([trained_cnn, trained_cnn]).fit(X_train),
        "MCDropout": MCDropoutDetector(trained_cnn, n_passes=4, random_state=0).fit(X_train),
        "PyOD FSSD": FSSD(max_epochs=3, random_state=0).fit(table),
        "PyOD MSP": as_pyod(MSPDetector(trained_cnn)).fit(X_train),
    }
    return fitted


def chunked(X, rows):
    return da.from_array(X, chunks=(rows, *X.shape[1:]))


def detector_key(lazy):
    """The one key of the graph that holds the detector, on which every chunk depends."""
    graph = dict(lazy.__dask_graph__())
    chunks = [task for key, task in graph.items() if isinstance(key, tuple) and key[0] == lazy.name]
    (key,) = {dep for task in chunks for dep in task.dependencies
              if str(dep).startswith("sklearn-fssd-")}
    assert all(key in task.dependencies for task in chunks)
    return key


def test_workers_run_torch_on_one_thread(client):
    # two worker processes on two cores: no oversubscription
    assert set(client.run(torch.get_num_threads).values()) == {1}


@pytest.mark.parametrize(
    "name",
    ["FSSD", "FSSD eps", "MSP", "ODIN", "Energy", "Mahalanobis", "DeepEnsemble", "MCDropout",
     "PyOD FSSD", "PyOD MSP"],
)
def test_every_detector_scores_a_chunked_array_like_in_memory(client, detectors, digits, table,
                                                               name):
    det = detectors[name]
    X = table if name == "PyOD FSSD" else digits[2][:300]
    # chunks of 128 rows: several chunks, a ragged last one, none aligned with batch_size=256
    rtol = 1e-4 if name in ("FSSD eps", "ODIN", "Mahalanobis") else 1e-5
    decision = det.decision_function(X)
    lazy = score_dask(det, chunked(X, 128), "decision_function", client=client)
    assert lazy.chunks == ((128, 128, len(X) - 256),)
    remote = lazy.compute()
    assert_same_scores(remote, decision, rtol=rtol)
    labels = score_dask(det, chunked(X, 128), "predict", client=client).compute()
    # the same labels, except where the decision is within the rounding seen of the threshold
    pyod = name.startswith("PyOD")
    threshold = det.threshold_ if pyod else 0.0
    clear = np.abs(decision - threshold) > 2 * np.abs(remote - decision).max()
    assert clear.sum() >= len(X) // 2
    assert labels.dtype == det.predict(X[:2]).dtype
    np.testing.assert_array_equal(labels[clear], det.predict(X)[clear])
    np.testing.assert_array_equal(  # and everywhere the labels of the scores computed remotely
        labels, (remote > threshold).astype(int) if pyod else np.where(remote < 0, -1, 1)
    )


def test_fssd_score_samples_and_layer_scores_in_2d(client, detectors, digits):
    det = detectors["FSSD"]
    X = digits[2]
    got = score_dask(det, chunked(X, 256), client=client).compute()
    assert_same_scores(got, det.score_samples(X))
    lazy = score_dask(det, chunked(X, 100), "layer_scores", client=client)
    assert lazy.shape == (len(X), len(det.layers_)) and lazy.chunks[1] == (len(det.layers_),)
    assert_same_scores(lazy.compute(), det.layer_scores(X))


def test_pyod_face_proba_and_layer_scores(client, detectors, table):
    det = detectors["PyOD FSSD"]
    X = table[:150]
    proba = score_dask(det, chunked(X, 64), "predict_proba", client=client).compute()
    assert_same_scores(proba, det.predict_proba(X))
    layers = score_dask(det, chunked(X, 64), "layer_scores", client=client).compute()
    assert_same_scores(layers, det.layer_scores(X))


@pytest.mark.parametrize("name", ["FSSD", "Mahalanobis", "Energy", "PyOD FSSD"])
def test_huge_rows_score_lowest_on_the_cluster_and_leave_the_other_rows_alone(
    client, detectors, digits, table, name
):
    from sklearn_fssd._validation import LOWEST_SCORE

    det = detectors[name]
    X = (table[:90] if name == "PyOD FSSD" else digits[2][:90]).astype(np.float64)
    bad = [3, 40, 41, 89]
    X[bad] = X[bad] * 1e39 + 1e39  # beyond float32, in three of the four chunks
    good = np.setdiff1d(np.arange(len(X)), bad)
    pyod = name.startswith("PyOD")  # decision_function: higher = more abnormal
    scores = score_dask(det, chunked(X, 25), "decision_function", client=client).compute()
    labels = score_dask(det, chunked(X, 25), "predict", client=client).compute()
    assert (scores[bad] == (-LOWEST_SCORE if pyod else LOWEST_SCORE)).all()
    assert_same_scores(scores[good], det.decision_function(X[good]))
    # labels follow the scores computed remotely: outliers at the huge rows
    expected = (scores > det.threshold_).astype(int) if pyod else np.where(scores < 0, -1, 1)
    np.testing.assert_array_equal(labels, expected)
    assert (labels[bad] == (1 if pyod else -1)).all()


def test_other_axes_rechunked_and_unknown_chunk_sizes(client, detectors, digits):
    det = detectors["FSSD"]
    X = digits[2][:200]
    split = da.from_array(X, chunks=(50, 1, 4, 8))  # chunked inside the images too
    got = score_dask(det, split, "layer_scores", client=client).compute()
    assert_same_scores(got, det.layer_scores(X))
    dX = da.from_array(X, chunks=(64, 1, 8, 8))
    keep = dX[:, 0, 4, 4] > 0.25  # boolean mask: chunk sizes unknown until computed
    lazy = score_dask(det, dX[keep], "layer_scores", client=client)
    assert np.isnan(lazy.shape[0])
    assert_same_scores(lazy.compute(), det.layer_scores(X[X[:, 0, 4, 4] > 0.25]))


def test_detector_is_one_key_of_the_graph(client, detectors, digits):
    import cloudpickle
    import dask

    det = detectors["FSSD"]
    X = chunked(digits[2], 100)  # 9 chunks
    payload = len(_ShippedDetector.of(det).payload)
    with dask.config.set(scheduler="threads"):  # no cluster: the detector travels in the graph
        lazy = score_dask(det, X)
        expected = lazy.compute()
    graph = dict(lazy.__dask_graph__())
    shipped = [key for key in graph if str(key).startswith("sklearn-fssd-FSSDDetector-")]
    chunk_tasks = [key for key in graph if isinstance(key, tuple) and key[0] == lazy.name]
    assert len(shipped) == 1 and len(chunk_tasks) == X.numblocks[0]
    # its pickle is in the graph once, not once per chunk
    assert len(cloudpickle.dumps(graph)) < payload + X.nbytes + 50_000

    # on the cluster: one future every chunk depends on, sent when score_dask is called
    lazy = score_dask(det, X, client=client)
    key = detector_key(lazy)
    assert key not in dict(lazy.__dask_graph__())  # a reference to the future, not the detector
    deadline = time.monotonic() + 20
    while not client.who_has().get(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.who_has().get(key)  # sent to the cluster by this call, not at compute
    assert_same_scores(lazy.compute(), expected)


def test_detector_fitted_on_cuda_loads_on_cpu_workers(client, digits):
    if torch.cuda.is_available():
        pytest.skip(reason="the workers have CUDA here; the CPU fallback is what is tested")
    X_train, _, X_test, _ = digits
    from sklearn_fssd.models import MLP

    torch.manual_seed(0)
    det = MSPDetector(MLP(in_features=64, hidden_sizes=(16,), out_features=3)).fit(
        X_train[:100].reshape(100, -1)
    )
    expected = det.score_samples(X_test[:90].reshape(90, -1))
    # what a detector fitted on a GPU carries (its tensors cannot be moved without one)
    det.device_, det.device = torch.device("cuda"), "cuda"
    shipped = client.submit(lambda s: (s.get().device_.type, s.get().device),
                            _ShippedDetector.of(det), pure=False).result()
    assert shipped == ("cpu", "cpu")
    got = score_dask(det, chunked(X_test[:90].reshape(90, -1), 40), client=client).compute()
    assert_same_scores(got, expected)


def test_lazy_result_snapshots_the_detector_and_works_without_a_cluster(detectors, digits):
    import dask

    det = detectors["Energy"]
    X = digits[2][:120]
    with dask.config.set(scheduler="threads"):  # several threads share one detector
        lazy = score_dask(det, chunked(X, 30))
        expected = det.score_samples(X)
        # the fitted state changed after the call: the lazy result does not see it
        det.temperature_ = 5.0
        try:
            got = lazy.compute()
        finally:
            det.temperature_ = 1.0
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_clear_errors_up_front(detectors, digits, table):
    det = detectors["FSSD"]
    X = digits[2][:50]
    with pytest.raises(NotFittedError):
        score_dask(FSSDDetector(), chunked(X, 10))
    with pytest.raises(TypeError, match="dask.array.from_array"):
        score_dask(det, X)
    with pytest.raises(ValueError, match=r"samples of shape \(64,\).*\(1, 8, 8\)"):
        score_dask(det, chunked(X.reshape(50, 64), 10))
    with pytest.raises(ValueError, match="one value per sample"):
        score_dask(det, da.zeros(50, chunks=10))
    with pytest.raises(ValueError, match="choose one of"):
        score_dask(det, chunked(X, 10), "transform")
    with pytest.raises(ValueError, match=r"has no method 'layer_scores'.*'score_samples'"):
        score_dask(detectors["MSP"], chunked(X, 10), "layer_scores")
    with pytest.raises(ValueError, match="dtype <U1"):
        score_dask(det, da.from_array(np.full((4, 1, 8, 8), "a"), chunks=2))


def test_grid_search_over_epsilon_on_the_cluster_matches_local(client, trained_cnn, digits):
    import joblib

    X_test = digits[2]
    X = np.concatenate([X_test[:120], permuted_pixels(X_test[120:240])])
    y = np.r_[np.ones(120, dtype=int), -np.ones(120, dtype=int)]

    def search(n_jobs):
        return GridSearchCV(
            FSSDDetector(trained_cnn, random_state=0),
            {"epsilon": [0.0, 0.01, 0.05]},
            scoring="roc_auc",
            cv=StratifiedKFold(3, shuffle=True, random_state=0),
            n_jobs=n_jobs,
        )

    local = search(None).fit(X, y)
    with distributed.get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        remote = search(-1).fit(X, y)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"], atol=1e-3)
    assert len({task["worker"] for task in stream.data}) == 2  # both workers fitted


def test_importing_the_library_does_not_import_dask():
    script = (
        "import importlib, pkgutil, sys\n"
        "import sklearn_fssd\n"
        "names = [m.name for m in pkgutil.iter_modules(sklearn_fssd.__path__)\n"
        "         if not m.name.startswith('_') and m.name != 'dask']\n"
        "for name in names:\n"
        "    importlib.import_module('sklearn_fssd.' + name)\n"
        "assert 'pyod' in names and 'detector' in names, names\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "assert not leaked, leaked\n"
        "sys.modules['dask'] = None  # as if Dask were not installed\n"
        "try:\n"
        "    import sklearn_fssd.dask\n"
        "except ImportError as exc:\n"
        "    assert 'pip install sklearn-fssd[dask]' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('no ImportError without dask')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True,
                   cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_worker_killed_mid_run_still_gives_the_right_scores(client, detectors, digits):
    # last in the module: it kills a worker process (its nanny starts a new one)
    det = detectors["FSSD eps"]  # pre-processing: slow enough to be killed mid-run
    X = np.concatenate([digits[2]] * 2)
    expected = det.score_samples(X)
    lazy = score_dask(det, chunked(X, 128), client=client)
    key = detector_key(lazy)
    pids = client.run(os.getpid)
    deadline = time.monotonic() + 20
    while not client.who_has().get(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    holder = client.who_has()[key][0]
    future = client.compute(lazy)
    while not any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not future.done()
    # kill the worker that received the detector: unlike scattered data, its key is
    # recomputed if no other worker holds it, and the lost chunks are rerun
    os.kill(pids[holder], signal.SIGKILL)
    got = future.result(timeout=120)
    assert_same_scores(got, expected, rtol=1e-4)
    client.wait_for_workers(2, timeout=60)
    assert pids[holder] not in client.run(os.getpid).values()
