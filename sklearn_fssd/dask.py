"""Scoring on a Dask cluster: a fitted detector applied to a Dask array chunk by chunk.

    from distributed import Client
    import dask.array as da
    from sklearn_fssd.dask import score_dask

    client = Client("tcp://scheduler:8786")
    X = da.from_zarr("images.zarr")              # (n, 1, 28, 28), chunked along samples
    scores = score_dask(det, X)                  # lazy, one task per chunk
    scores.compute()                             # == det.score_samples(X.compute())

Any fitted detector of the package works: :class:`~sklearn_fssd.FSSDDetector`,
the baselines of :mod:`sklearn_fssd.baselines` and the PyOD face
(:mod:`sklearn_fssd.pyod`). Dask is an optional extra
(``pip install sklearn-fssd[dask]``): ``import sklearn_fssd`` never imports
it; this module does.

Hyper-parameter search needs nothing from this module: scikit-learn's
``GridSearchCV`` spreads its fits over the cluster under joblib's Dask
backend (``with joblib.parallel_config(backend="dask"): search.fit(X, y)``
while a ``distributed.Client`` is active); see the user guide.

About ``dask_ml.wrappers.ParallelPostFit`` (dask-ml 2025.1.0, checked with
scikit-learn 1.9.1): it wraps ``predict``, ``predict_proba``, ``transform``
and ``score`` only, so ``score_samples``, ``decision_function`` and
``layer_scores`` of a detector are out of its reach; it guesses the output
of ``predict`` from a ``(1, X.shape[1])`` zero array, which fails for images
and sequences. :func:`score_dask` is the supported route.
"""

import logging
import pickle
import sys
import threading
import uuid

import numpy as np
from sklearn.utils.validation import check_is_fitted

try:
    import dask
    import dask.array as da
    import dask.base
    from dask.base import tokenize
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "sklearn_fssd.dask needs Dask: pip install sklearn-fssd[dask] "
        "(dask[array] and distributed)."
    ) from exc

from ._validation import sample_shape_message

__all__ = ["score_dask"]

logger = logging.getLogger(__name__)

# method -> (output is 2-D, dtype); the width of 2-D outputs comes from the detector
_METHODS = {
    "score_samples": (False, np.float64),
    "decision_function": (False, np.float64),
    "predict": (False, np.int64),
    "predict_proba": (True, np.float64),
    "layer_scores": (True, np.float64),
}


class _ShippedDetector:
    """A fitted detector on its way to the workers: its pickle, loaded where it lands.

    The pickle is taken when :func:`score_dask` is called, so the lazy array
    scores with the detector as it was then, whatever happens to the
    caller's object afterwards. Only the bytes travel between processes (the
    loaded detector never does: forward hooks are attached to it while it
    scores, and such a network cannot be pickled). In a process, the first
    task that needs this copy loads it (on the CPU when the process has no
    CUDA, see :class:`~sklearn_fssd.base.BaseTorchDetector`); tasks of one
    process then score one at a time, since a detector's forward hooks serve
    one forward pass at a time.
    """

    def __init__(self, payload, name):
        self.payload = payload
        self.name = name
        self.token = tokenize(payload)
        self._lock = threading.Lock()
        self._detector = None

    @classmethod
    def of(cls, detector):
        return cls(pickle.dumps(detector, protocol=pickle.HIGHEST_PROTOCOL),
                   type(detector).__name__)

    def __getstate__(self):
        return {"payload": self.payload, "name": self.name}

    def __setstate__(self, state):
        self.__init__(state["payload"], state["name"])

    def __dask_tokenize__(self):
        return (type(self).__name__, self.token)

    @property
    def key(self):
        return f"sklearn-fssd-{self.name}-{self.token}"

    def _load(self):
        if self._detector is None:
            self._detector = pickle.loads(self.payload)
        return self._detector

    def get(self):
        """The detector, loaded in this process on first use."""
        with self._lock:
            return self._load()

    def call(self, method, block):
        """``detector.<method>(block)``, one call at a time in this process.

        Detectors are safe to call from several threads, but a worker's torch already uses
        its cores: concurrent calls in one process would only oversubscribe them.
        """
        with self._lock:
            return getattr(self._load(), method)(block)


def _arrive(shipped):
    """The task that puts the detector on the cluster: its result is its input."""
    return shipped


def _score_block(block, shipped, method, tail, dtype):
    """One chunk's scores; the graph's only task type besides the detector itself."""
    if block.shape[0] == 0:
        return np.empty((0, *tail), dtype=dtype)
    result = np.asarray(shipped.call(method, block))
    expected = (block.shape[0], *tail)
    if result.shape != expected:
        raise RuntimeError(
            f"{shipped.name}.{method} returned an array of shape {result.shape} for a chunk "
            f"of {block.shape[0]} samples; expected {expected}. The chunk was not scored."
        )
    return result.astype(dtype, copy=False)


def _fitted_input_shape(detector):
    """Shape of one sample the detector was fitted on, or None when it does not say."""
    for obj in (detector, getattr(detector, "estimator_", None)):
        shape = getattr(obj, "input_shape_", None)
        if shape is not None:
            return tuple(shape)
    n_features = getattr(detector, "n_features_in_", None)
    return None if n_features is None else (int(n_features),)


def _fitted_tokens(detector):
    for obj in (detector, getattr(detector, "estimator_", None)):
        if getattr(obj, "tokens_", False):
            return True
    return False


def _output_tail(detector, method):
    two_d, _ = _METHODS[method]
    if not two_d:
        return ()
    if method == "layer_scores":
        return (len(detector.layers_),)
    return (int(getattr(detector, "_classes", 2)),)  # PyOD: [P(inlier), P(outlier)]


def _check_array(detector, X):
    name = type(detector).__name__
    if not isinstance(X, da.Array):
        raise TypeError(
            f"X must be a dask.array.Array; got {type(X).__name__}. Wrap in-memory data "
            "with dask.array.from_array(X, chunks=(n_rows, *X.shape[1:])), or call "
            f"{name}.score_samples(X) directly."
        )
    if X.ndim == 1:
        raise ValueError(
            f"X has shape {X.shape}: one value per sample. Pass samples as rows, e.g. "
            "X.reshape(-1, 1) for a single feature."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"X has dtype {X.dtype}; the detector scores numbers. Convert it, e.g. "
            "X.astype('float32')."
        )
    if _fitted_tokens(detector) and X.dtype.kind not in "iu":
        raise ValueError(
            f"X has dtype {X.dtype}, but {name} was fitted on integer token ids; pass the "
            "token ids as an integer Dask array."
        )
    if any(np.isnan(size) for size in X.shape[1:]):
        raise ValueError(
            f"X has unknown sizes along the sample axes (shape {X.shape}); only the first "
            "axis (samples) may have unknown chunk sizes. Call X.compute_chunk_sizes() first."
        )
    shape = _fitted_input_shape(detector)
    if shape is not None and tuple(X.shape[1:]) != shape:
        raise ValueError(sample_shape_message("X", X.shape[1:], shape, name))
    if X.ndim > 1 and any(len(chunks) > 1 for chunks in X.chunks[1:]):
        logger.info(
            "X is chunked along axes other than the samples (chunks %s); rechunking to whole "
            "samples, since each task scores whole samples.", X.chunksize
        )
        X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
    return X


def _default_client():
    """The ``distributed.Client`` that ``compute()`` would use now, or None.

    Dask's own rule (``dask.base.get_scheduler``): the ``scheduler`` set in
    ``dask.config`` first, then the default client.
    """
    if "distributed" not in sys.modules:  # no client can exist
        return None
    from distributed import Client

    scheduler = dask.base.get_scheduler()  # a client's bound ``get`` for a distributed client
    client = getattr(scheduler, "__self__", scheduler)
    return client if isinstance(client, Client) else None


def score_dask(detector, X, method="score_samples", *, client=None):
    """Score a Dask array with a fitted detector, one task per chunk of samples.

    The result is lazy: nothing is scored before ``.compute()`` (or
    ``persist``). Chunk ``i`` of the result holds the scores of chunk ``i``
    of ``X``, and the scores of a sample depend on that sample alone, so the
    result equals ``getattr(detector, method)(X.compute())`` up to float32
    rounding, as any other split of ``X`` into batches does (torch does not
    promise the same last bit in two processes; on the digits CNN of the
    tests, scores differ by at most a few 1e-6).

    The detector travels to the cluster once, not once per chunk: it is
    pickled at this call and becomes one key of the task graph on which every
    chunk depends. With a ``distributed`` client that key is a future,
    submitted at once; each worker fetches it once and loads it once, on the
    CPU when it has no CUDA (a detector fitted on a GPU loads there with a
    warning). Unlike ``client.scatter``-ed data, the key can be recomputed:
    when the worker that holds it dies, the scheduler rebuilds it and reruns
    the lost chunks, so the result is complete and correct, or the
    computation fails with Dask's error (``KilledWorker`` after repeated
    deaths), never partly scored.

    Parameters
    ----------
    detector : fitted detector
        :class:`~sklearn_fssd.FSSDDetector`, a baseline of
        :mod:`sklearn_fssd.baselines`, or a detector of
        :mod:`sklearn_fssd.pyod` (PyOD's signs: ``decision_function`` higher
        = more abnormal, ``predict`` 0/1).
    X : dask.array.Array of shape (n_samples, ...)
        Samples shaped like the detector's training data: tables
        ``(n, n_features)``, images ``(n, C, H, W)``, token sequences
        ``(n, L)`` of integers. Chunked along the first axis; chunks along
        the other axes are merged (each task scores whole samples). Chunk
        sizes along the first axis may be unknown (``nan``), and the last
        chunk may be smaller.
    method : {"score_samples", "decision_function", "predict", \
"layer_scores", "predict_proba"}, default="score_samples"
        The detector's method to apply. ``"layer_scores"`` (FSSD and
        Mahalanobis) and ``"predict_proba"`` (PyOD face) give 2-D results.
    client : distributed.Client or None, default=None
        The cluster to score on. ``None``: the client ``compute()`` would
        use now (the default client, unless ``dask.config``'s ``scheduler``
        names another); without one the detector stays in the graph, for
        whichever scheduler computes it (Dask's threads by default).

    Returns
    -------
    scores : dask.array.Array
        Lazy, of shape ``(n_samples,)``, or ``(n_samples, n_layers)`` for
        ``layer_scores`` and ``(n_samples, 2)`` for ``predict_proba``;
        chunked like the first axis of ``X``. ``float64``, or ``int64`` for
        ``predict``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the detector is not fitted.
    TypeError, ValueError
        When ``X`` is not a Dask array, or its samples have the wrong shape
        or dtype; when ``method`` is not one of the detector's.

    Notes
    -----
    Workers should not oversubscribe the CPU: give each worker process one
    thread (``threads_per_worker=1``), one process per core. Dask's
    nannies start workers with ``OMP_NUM_THREADS=1``, so torch runs one
    thread in each. Tasks of one process that share a detector score one
    after the other, so more threads per worker do not make scoring faster.

    ``dask_ml.wrappers.ParallelPostFit`` is not the route for these
    detectors (checked with dask-ml 2025.1.0, scikit-learn 1.9.1): it wraps
    ``predict`` and ``predict_proba`` but not ``score_samples``,
    ``decision_function`` or ``layer_scores``, cannot infer the output of
    image or sequence inputs.

    Examples
    --------
    Without a cluster, on Dask's local scheduler:

    >>> import numpy as np
    >>> import dask.array as da
    >>> from sklearn_fssd import FSSDDetector
    >>> from sklearn_fssd.dask import score_dask
    >>> X = np.random.RandomState(0).normal(size=(300, 4))
    >>> det = FSSDDetector(max_epochs=3, random_state=0).fit(X)
    >>> scores = score_dask(det, da.from_array(X, chunks=128))  # lazy: nothing scored yet
    >>> scores.chunks, scores.dtype
    (((128, 128, 44),), dtype('float64'))
    >>> bool(np.allclose(scores.compute(), det.score_samples(X)))
    True
    >>> score_dask(det, da.from_array(X, chunks=128), "layer_scores").shape
    (300, 3)

    On a cluster, the same call with a client:

    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))  # doctest: +SKIP
    >>> score_dask(det, da.from_array(X, chunks=128), client=client).compute()  # doctest: +SKIP
    """
    if method not in _METHODS:
        raise ValueError(
            f"method={method!r} is not supported; choose one of {sorted(_METHODS)}."
        )
    if not hasattr(detector, method):
        available = [name for name in _METHODS if hasattr(detector, name)]
        raise ValueError(
            f"{type(detector).__name__} has no method {method!r}; its methods that "
            f"score_dask can apply: {available}."
        )
    check_is_fitted(detector)
    X = _check_array(detector, X)
    tail = _output_tail(detector, method)
    _, dtype = _METHODS[method]

    shipped = _ShippedDetector.of(detector)
    if client is None:
        client = _default_client()
    if client is None:
        ref = dask.delayed(shipped, name=shipped.key, pure=True, traverse=False)
    else:
        # a task, not scattered data: the scheduler keeps its input and recomputes
        # it if the worker holding it dies (scattered data would be lost for good,
        # and the Active Memory Manager soon drops broadcast copies down to one)
        # A new key per call: resubmitting a key whose last future was just
        # released can race with the scheduler forgetting it.
        ref = client.submit(_arrive, shipped, key=f"{shipped.key}-{uuid.uuid4().hex}")

    if tail:
        return X.map_blocks(
            _score_block, ref, method, tail, dtype,
            drop_axis=list(range(2, X.ndim)),
            chunks=(X.chunks[0], tail),
            dtype=dtype,
            meta=np.empty((0, *tail), dtype=dtype),
        )
    return X.map_blocks(
        _score_block, ref, method, tail, dtype,
        drop_axis=list(range(1, X.ndim)),
        chunks=(X.chunks[0],),
        dtype=dtype,
        meta=np.empty((0,), dtype=dtype),
    )
