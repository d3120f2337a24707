"""The FSSD paper's comparison methods, on the same base and contract as FSSDDetector.

Every detector here is a scikit-learn outlier detector built on
:class:`~sklearn_fssd.base.BaseTorchDetector`, exactly like
:class:`~sklearn_fssd.FSSDDetector`: ``score_samples`` higher = more
in-distribution, ``decision_function = score_samples - offset_``, ``predict``
in {+1, -1}, ``contamination``, ``device``, ``batch_size``, pickling and
cloning, and the user's network left exactly as it was (the detectors work on
a private copy in eval mode, without the hooks registered on the network).

``score_samples`` (higher = more in-distribution) of each detector:

- :class:`MSPDetector` (Hendrycks & Gimpel, 2017): the maximum softmax
  probability.
- :class:`ODINDetector` (Liang et al., 2018): the maximum softmax at
  temperature ``T`` of the pre-processed input.
- :class:`EnergyDetector` (Liu et al., 2020): ``T * logsumexp(logits / T)``,
  minus the free energy.
- :class:`MahalanobisDetector` (Lee et al., 2018): minus the Mahalanobis
  distance to the closest class-conditional Gaussian, per layer, the layers
  stacked by logistic regression as FSSD's are.
- :class:`DeepEnsembleDetector` (Lakshminarayanan et al., 2017): the maximum
  of the softmax averaged over independently trained networks.
- :class:`MCDropoutDetector` (Gal & Ghahramani, 2016): the maximum of the
  softmax averaged over stochastic dropout passes (or minus its entropy, or
  minus the variance over the passes).

Outlier Exposure (Hendrycks et al. 2019) is a way of *training* a network
(:func:`sklearn_fssd.training.train_outlier_exposure`); the trained network
is scored with :class:`MSPDetector`.

The networks are classifiers that output logits: by default the output of
the whole module, or the output of the submodule named ``logits_layer``.
ODIN's and Mahalanobis's input pre-processing are the gradient-sign step of
:func:`sklearn_fssd.features.perturbation`, the one primitive FSSD also uses:
``x~ = x + epsilon * sign(grad_x id_score(x))``, run by the scoring loop FSSD
also uses, :func:`sklearn_fssd.features.layer_scores`.

The maths is kept in small functions that take tensors
(:func:`softmax_probabilities`, :func:`energy_score`,
:func:`class_mahalanobis`), tested without a network.
"""

import math
from numbers import Integral, Real

import threading

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._utils import iter_batches, to_tensor
from ._validation import check_finite_fit, on_finite_rows
from .base import BaseTorchDetector
from .ensemble import LayerCombiner
from .features import FeatureTap, resolve_layers

__all__ = [
    "DeepEnsembleDetector",
    "EnergyDetector",
    "MCDropoutDetector",
    "MSPDetector",
    "MahalanobisDetector",
    "ODINDetector",
    "class_mahalanobis",
    "energy_score",
    "softmax_probabilities",
]

#: ``contamination="auto"`` puts the threshold where this share of the
#: in-distribution fit samples is kept: the 95 %-TPR operating point at which
#: the OoD literature reports its FPR.
_AUTO_TPR = 0.95

# covariance matrices above this size (float64) are refused, with advice
_MAX_COVARIANCE_BYTES = 2**31

_FLOAT32_EPS = float(torch.finfo(torch.float32).eps)


# --------------------------------------------------------------------------
# maths on tensors
# --------------------------------------------------------------------------


def softmax_probabilities(logits, temperature=1.0):
    """Softmax of ``logits / temperature``, in float64.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
    temperature : float, default=1.0

    Returns
    -------
    Tensor of shape (n_samples, n_classes), float64

    Examples
    --------
    >>> import torch
    >>> softmax_probabilities(torch.tensor([[0.0, 0.0]])).tolist()
    [[0.5, 0.5]]
    """
    return torch.softmax(logits.to(torch.float64) / temperature, dim=1)


def energy_score(logits, temperature=1.0):
    """Minus the free energy: ``T * logsumexp(logits / T)``, in float64.

    The energy of Liu et al. (2020) is ``E(x) = -T * logsumexp(f(x) / T)``;
    this returns ``-E(x)``, higher = more in-distribution.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
    temperature : float, default=1.0

    Returns
    -------
    Tensor of shape (n_samples,), float64

    Examples
    --------
    >>> import torch
    >>> round(float(energy_score(torch.tensor([[0.0, 0.0]]))[0]), 4)
    0.6931
    """
    return temperature * torch.logsumexp(logits.to(torch.float64) / temperature, dim=1)


def class_mahalanobis(features, means, precision):
    """Squared Mahalanobis distance of each row to each class mean.

    ``(f - mu_c)^T P (f - mu_c)`` for a shared precision matrix ``P`` (the
    inverse of the tied covariance), computed in the dtype of ``features``.

    Parameters
    ----------
    features : Tensor of shape (n_samples, n_features)
    means : Tensor of shape (n_classes, n_features)
    precision : Tensor of shape (n_features, n_features)

    Returns
    -------
    Tensor of shape (n_samples, n_classes)

    Examples
    --------
    >>> import torch
    >>> f = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> mu = torch.zeros(2, 2, dtype=torch.float64)
    >>> class_mahalanobis(f, mu, 4 * torch.eye(2, dtype=torch.float64)).tolist()
    [[4.0, 4.0]]
    """
    projected = features @ precision
    squared = (
        (projected * features).sum(dim=1, keepdim=True)
        - 2 * projected @ means.T
        + ((means @ precision) * means).sum(dim=1)
    )
    return squared.clamp_min(0)


class _TiedGaussians:
    """Class means and the shared (tied) covariance, accumulated batch by batch.

    Chan et al.'s pairwise update: each batch's per-class mean and scatter
    are merged into the running ones, in float64, so the result equals the
    two-pass estimate whatever the batches.
    """

    def __init__(self, n_classes, n_features, device):
        self.counts = torch.zeros(n_classes, dtype=torch.float64, device=device)
        self.means = torch.zeros(n_classes, n_features, dtype=torch.float64, device=device)
        self.scatter = torch.zeros(n_features, n_features, dtype=torch.float64, device=device)

    def update(self, features, labels):
        features = features.to(torch.float64)
        for c in labels.unique().tolist():
            rows = features[labels == c]
            n_b = rows.shape[0]
            mean_b = rows.mean(dim=0)
            centred = rows - mean_b
            n_a = self.counts[c]
            delta = mean_b - self.means[c]
            total = n_a + n_b
            self.means[c] += delta * (n_b / total)
            self.scatter += centred.T @ centred + torch.outer(delta, delta) * (n_a * n_b / total)
            self.counts[c] = total

    def covariance(self):
        """The maximum-likelihood tied covariance: within-class scatter / n."""
        return self.scatter / self.counts.sum()


# --------------------------------------------------------------------------
# dropout masks that do not depend on the batch
# --------------------------------------------------------------------------

_MASK32 = 0xFFFFFFFF


def _mul32(z, c):
    """``(z * c) mod 2**32`` for ``z`` in [0, 2**32) without int64 overflow."""
    low, high = c & 0xFFFF, c >> 16
    return (z * low + (((z * high) & 0xFFFF) << 16)) & _MASK32


def _mix32(z):
    """MurmurHash3's 32-bit finaliser, on Python ints or int64 tensors in [0, 2**32)."""
    z = z ^ (z >> 16)
    z = _mul32(z, 0x85EBCA6B)
    z = z ^ (z >> 13)
    z = _mul32(z, 0xC2B2AE35)
    return z ^ (z >> 16)


def _sample_keys(x):
    """A 32-bit hash of each sample's exact content: int64 tensor of shape (batch,).

    Integer arithmetic only, so a sample's key is the same in any batch.
    """
    flat = x.reshape(x.shape[0], -1)
    if flat.is_floating_point():
        bits = flat.to(torch.float32).contiguous().view(torch.int32).to(torch.int64) & _MASK32
    else:
        bits = flat.to(torch.int64) & _MASK32
    position = _mix32(
        (torch.arange(flat.shape[1], device=x.device, dtype=torch.int64) + 0x9E3779B9) & _MASK32
    )
    return _mix32(_mix32(bits ^ position).sum(dim=1) & _MASK32)


_MC_DROPOUT_KINDS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)


def _per_thread(key):
    """A property of :class:`_KeyedDropout` kept in the calling thread's slot."""
    return property(lambda self: self._slot()[key],
                    lambda self, value: self._slot().__setitem__(key, value))


class _KeyedDropout(nn.Module):
    """Dropout whose mask for a sample depends on that sample alone.

    It replaces ``nn.Dropout`` (element-wise) and ``nn.Dropout1d/2d/3d``
    (channel-wise) in the detector's private copy of a network. Masks are
    drawn at every call, in any mode, so the rest of the network (BatchNorm
    above all) stays in eval mode. At each call, uniform numbers ``u_e`` are
    drawn for the elements from a generator seeded by (seed, layer, pass,
    call); sample ``i`` keeps element ``e`` when ``frac(u_e + o_i) >= p``,
    where the offset ``o_i`` in [0, 1) is a hash of the sample's content. For
    one sample the elements are thus dropped independently with probability
    ``p``, afresh at every pass, and whatever else is in its batch. The
    detector sets ``offsets`` (per sample) and ``stream`` (per pass) before
    each pass. That state is kept per thread, so several threads can score
    with the same detector at once.
    """

    def __init__(self, p, channelwise):
        super().__init__()
        self.p = float(p)
        self.channelwise = channelwise
        self._per_thread = {}

    def _slot(self):
        return self._per_thread.setdefault(
            threading.get_ident(), {"offsets": None, "stream": 0, "calls": 0}
        )

    def release(self):
        """Forget the calling thread's state (at the end of a scoring call)."""
        self._per_thread.pop(threading.get_ident(), None)

    offsets = _per_thread("offsets")
    stream = _per_thread("stream")
    calls = _per_thread("calls")

    def extra_repr(self):
        return f"p={self.p}, channelwise={self.channelwise}"

    def forward(self, x):
        self.calls += 1
        if self.p == 0.0:
            return x
        if self.offsets is None or x.shape[0] != self.offsets.shape[0]:
            raise ValueError(
                "MCDropoutDetector draws one dropout mask per sample and needs the batch on the "
                "first axis of every dropout module's input; got an input of shape "
                f"{tuple(x.shape)} for a batch of "
                f"{None if self.offsets is None else self.offsets.shape[0]} samples."
            )
        if self.channelwise and x.dim() > 2:
            shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        else:
            shape = tuple(x.shape)
        generator = torch.Generator().manual_seed(_mix32((self.stream + self.calls) & _MASK32))
        uniform = torch.rand(math.prod(shape[1:]), generator=generator).to(x.device)
        keep = torch.frac(uniform[None, :] + self.offsets[:, None]) >= self.p
        return x * (keep.reshape(shape).to(x.dtype) / (1.0 - self.p))


class _Moments:
    """Running mean and variance (Welford): exact for identical values."""

    def __init__(self):
        self.n = 0
        self.mean = None
        self.m2 = None

    def update(self, value):
        self.n += 1
        if self.mean is None:
            self.mean = value.clone()
            self.m2 = torch.zeros_like(value)
            return
        delta = value - self.mean
        self.mean = self.mean + delta / self.n
        self.m2 = self.m2 + delta * (value - self.mean)

    def variance(self):
        return self.m2 / self.n


# --------------------------------------------------------------------------
# the shared base of the detectors scored from logits
# --------------------------------------------------------------------------


class _LogitDetector(BaseTorchDetector):
    """A detector scored from a classifier's logits.

    Subclasses implement ``_batch_scores(taps, x)`` on one batch (one tap
    per network) and may adapt the private network in ``_prepare_scoring``.
    """

    _scoring_params = ("logits_layer",)

    _parameter_constraints = {
        **BaseTorchDetector._parameter_constraints,
        "model": [HasMethods(["forward"]), HasMethods(["fit", "predict"])],
        "logits_layer": [str, None],
    }

    def _draw_seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _logit_taps(self, perturbable=False):
        name = "" if self.logits_layer_ is None else self.logits_layer_  # "": the whole module
        return [
            FeatureTap(net, [name], perturb_at=self._perturb_at if perturbable else None)
            for net in self._networks()
        ]

    def _check_logits(self, X):
        """Check ``logits_layer`` and the logits of every network; return their number."""
        networks = self._networks()
        if self.logits_layer_ is not None:
            for net in networks:
                resolve_layers(net, [self.logits_layer_])
        x = self._to_batch(X[:2])
        with torch.inference_mode():
            widths = [tap(x)[0].shape[1] for tap in self._logit_taps()]
        for index, width in enumerate(widths[1:], start=1):
            if width != widths[0]:
                raise ValueError(
                    f"The networks of model disagree on the number of classes: network 0 has "
                    f"{widths[0]} logits, network {index} has {width}; pass networks trained "
                    "on the same classes."
                )
        if widths[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs a classifier with at least 2 logits; the "
                f"network outputs {widths[0]} value per sample. Pass logits_layer= to name the "
                "layer that outputs the logits."
            )
        return int(widths[0])

    def _to_batch(self, X):
        """A slice of validated inputs as a tensor on ``device_``, as ``_map_batches`` makes it."""
        return to_tensor(X, self.device_, dtype=None if self.tokens_ else torch.float32)

    def _prepare_scoring(self):
        """Adapt the private network(s) before scoring; nothing by default."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the detector: copy the network(s) and set the threshold.

        The network is already trained: ``fit`` makes the private copy and
        scores ``X`` to place ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Tables, images ``(N, C, H, W)`` or token sequences ``(N, L)`` of
            integers. Without ``y``: in-distribution samples. With ``y``:
            labelled validation samples.
        y : array-like of shape (n_samples,) with values in {+1, -1}, optional
            +1 = in-distribution, -1 = out-of-distribution. The score uses no
            labels; only the in-distribution rows set the
            ``contamination="auto"`` threshold. Labelled data is what
            ``GridSearchCV(..., scoring="roc_auc")`` needs to tune the
            hyper-parameters. 0/1 or boolean labels are an error (PyOD's
            1 = outlier converts as ``np.where(y == 1, -1, 1)``); labels that
            mark no OoD rows, such as classes, are ignored with a warning.

        Returns
        -------
        self : object
            The fitted detector.
        """
        X = self._validate_X(X, reset=True)
        y_id = self._check_y(X, y)
        self.seed_ = self._draw_seed()
        self._prepare_network(X, self.seed_)
        self.n_classes_ = self._check_logits(X)
        self._prepare_scoring()
        scores = self._score_samples(X)
        check_finite_fit(scores, type(self).__name__, what="outputs")
        self._set_offset(scores, np.percentile(scores[y_id == 1], 100 * (1 - _AUTO_TPR)))
        return self

    def _score_samples(self, X):
        taps = self._logit_taps(perturbable=True)
        return self._map_batches(X, lambda x: self._batch_scores(taps, x), desc=type(self).__name__)


_COMMON_PARAMETERS = """\
    logits_layer : str or None, default=None
        Name (from ``model.named_modules()``) of the submodule whose output
        is the logits. ``None``: the output of the whole network.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Share of outliers in the fit data; sets ``offset_``. ``"auto"``: the
        threshold that keeps 95 % of the in-distribution fit samples (the
        95 %-TPR operating point of the OoD literature).
    batch_size : int, default=256
        Samples per forward pass. Scores do not depend on it.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the network runs; "auto" takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation of lazy modules (``nn.LazyLinear``...) of a
        network that never ran{extra}.
    verbose : bool, default=False
        Progress bars (tqdm) for the passes over the data."""


def _common(extra=""):
    return _COMMON_PARAMETERS.replace("{extra}", extra)


def _fitted_params(names):
    """The Attributes entry of the parameters a detector copies at fit (its ``_scoring_params``)."""
    return (
        f"    {', '.join(f'{name}_' for name in names)} : object\n"
        f"        {', '.join(f'``{name}``' for name in names)} as they were at ``fit``.\n"
        "        Scoring uses these, as ``offset_`` (and any fitted combination) was\n"
        "        fitted with them: a parameter changed by ``set_params`` takes effect\n"
        "        at the next ``fit``."
    )


_COMMON_ATTRIBUTES = """\
    model_ : torch.nn.Module
        The detector's private copy of the network (eval mode, on ``device_``).
    n_classes_ : int
        Number of logits.
    offset_ : float
        ``decision_function = score_samples - offset_``.
    seed_ : int
        Seed drawn from ``random_state`` at fit.
    device_ : torch.device
    input_shape_ : tuple
        Shape of one sample.
    n_features_in_ : int"""


_EXAMPLE_SETUP = """\
    >>> import numpy as np
    >>> from sklearn_fssd.models import MLP
    >>> from sklearn_fssd.training import train_classifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")
    >>> net = train_classifier(MLP, X, y, module__in_features=4, lr=0.01, max_epochs=5)"""


# --------------------------------------------------------------------------
# MSP, ODIN, Energy
# --------------------------------------------------------------------------


class MSPDetector(_LogitDetector):
    __doc__ = f"""Maximum softmax probability, the baseline of Hendrycks & Gimpel (2017).

    ``score_samples(x) = max_c softmax(f(x))_c``, in [1 / n_classes, 1]:
    a classifier is less confident on inputs unlike its training data. It is
    :class:`ODINDetector` with ``temperature=1`` and ``epsilon=0``, and the
    score of a network trained with Outlier Exposure
    (:func:`sklearn_fssd.training.train_outlier_exposure`).

    Parameters
    ----------
    model : torch.nn.Module or fitted skorch net
        The trained classifier, returning logits. It is never changed.
{_common()}

    Attributes
    ----------
{_COMMON_ATTRIBUTES}
{_fitted_params(_LogitDetector._scoring_params)}

    See Also
    --------
    ODINDetector : temperature scaling and input pre-processing on top.

    Examples
    --------
{_EXAMPLE_SETUP}
    >>> from sklearn_fssd import MSPDetector
    >>> det = MSPDetector(net).fit(X)
    >>> scores = det.score_samples(X[:4])
    >>> bool(((scores >= 0.5) & (scores <= 1.0)).all())
    True
    >>> det.predict(X[:4]).shape
    (4,)
    """

    _parameter_constraints = {**_LogitDetector._parameter_constraints}

    def __init__(
        self,
        model,
        *,
        logits_layer=None,
        contamination="auto",
        batch_size=256,
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.model = model
        self.logits_layer = logits_layer
        self.contamination = contamination
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _batch_scores(self, taps, x):
        (tap,) = taps
        with torch.inference_mode():
            (logits,) = tap(x)
        return softmax_probabilities(logits).max(dim=1).values


class ODINDetector(_LogitDetector):
    _scoring_params = ("logits_layer", "temperature", "epsilon")
    __doc__ = f"""ODIN: temperature scaling and input pre-processing (Liang et al., 2018).

    ``score_samples(x) = max_c softmax(f(x~) / T)_c`` with
    ``x~ = x + epsilon * sign(grad_x log max_c softmax(f(x) / T)_c)``: the
    step that raises the softmax score, which raises it more for
    in-distribution inputs than for OoD ones. With ``temperature=1`` and
    ``epsilon=0`` it is :class:`MSPDetector`. For token inputs the step is
    taken on the embedding. Tune ``temperature`` and ``epsilon`` with
    ``GridSearchCV(..., scoring="roc_auc")`` on labelled validation data (the
    paper searches T in {{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}} and
    epsilon in 0 to 0.004).

    Parameters
    ----------
    model : torch.nn.Module or fitted skorch net
        The trained classifier, returning logits. It is never changed.
    temperature : float > 0, default=1000.0
        Softmax temperature ``T`` (the paper's default).
    epsilon : float >= 0, default=0.0014
        Step of the input pre-processing (the paper's CIFAR value, for pixels
        in [0, 1]).
{_common()}

    Attributes
    ----------
{_COMMON_ATTRIBUTES}
{_fitted_params(_scoring_params)}

    See Also
    --------
    MSPDetector : the baseline ODIN improves.

    Examples
    --------
{_EXAMPLE_SETUP}
    >>> from sklearn_fssd import ODINDetector
    >>> det = ODINDetector(net, temperature=10.0, epsilon=0.01).fit(X)
    >>> det.score_samples(X[:4]).shape
    (4,)
    >>> bool(det.score_samples(X[:4]).max() <= 1.0)
    True
    """

    _parameter_constraints = {
        **_LogitDetector._parameter_constraints,
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "epsilon": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        model,
        *,
        temperature=1000.0,
        epsilon=0.0014,
        logits_layer=None,
        contamination="auto",
        batch_size=256,
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.model = model
        self.temperature = temperature
        self.epsilon = epsilon
        self.logits_layer = logits_layer
        self.contamination = contamination
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _batch_scores(self, taps, x):
        (tap,) = taps
        temperature = float(self.temperature_)

        def confidence(_, logits):
            return softmax_probabilities(logits, temperature).max(dim=1).values

        def log_confidence(_, logits):
            return torch.log_softmax(logits / temperature, dim=1).max(dim=1).values

        (scores,) = self._layer_scores(tap, x, confidence, log_confidence)
        return scores


class EnergyDetector(_LogitDetector):
    _scoring_params = ("logits_layer", "temperature")
    __doc__ = f"""Energy score (Liu et al., 2020).

    ``score_samples(x) = T * logsumexp(f(x) / T)``: minus the free energy
    ``E(x) = -T * logsumexp(f(x) / T)`` of the logits ``f(x)``, so that
    higher = more in-distribution. Unlike the softmax score it keeps the
    scale of the logits, which is larger on in-distribution inputs.

    Parameters
    ----------
    model : torch.nn.Module or fitted skorch net
        The trained classifier, returning logits. It is never changed.
    temperature : float > 0, default=1.0
        ``T``; the paper uses 1.
{_common()}

    Attributes
    ----------
{_COMMON_ATTRIBUTES}
{_fitted_params(_scoring_params)}

    Examples
    --------
{_EXAMPLE_SETUP}
    >>> from sklearn_fssd import EnergyDetector
    >>> det = EnergyDetector(net).fit(X)
    >>> det.score_samples(X[:4]).shape
    (4,)
    """

    _parameter_constraints = {
        **_LogitDetector._parameter_constraints,
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        model,
        *,
        temperature=1.0,
        logits_layer=None,
        contamination="auto",
        batch_size=256,
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.model = model
        self.temperature = temperature
        self.logits_layer = logits_layer
        self.contamination = contamination
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _batch_scores(self, taps, x):
        (tap,) = taps
        with torch.inference_mode():
            (logits,) = tap(x)
        return energy_score(logits, float(self.temperature_))


# --------------------------------------------------------------------------
# Deep Ensemble, MC Dropout
# --------------------------------------------------------------------------


class DeepEnsembleDetector(_LogitDetector):
    __doc__ = f"""Deep Ensemble: the softmax averaged over networks (Lakshminarayanan et al., 2017).

    ``score_samples(x) = max_c mean_m softmax(f_m(x))_c`` over the networks
    ``f_m``: independently trained networks agree on in-distribution inputs
    and disagree elsewhere, which lowers the averaged confidence. The
    ensemble of one network (or of copies of one network) is
    :class:`MSPDetector`. Train the networks with
    :func:`sklearn_fssd.training.train_deep_ensemble` (5 by default, as in
    the paper), or pass any trained classifiers with the same classes.

    Parameters
    ----------
    model : list of torch.nn.Module or fitted skorch nets
        The trained classifiers, returning logits for the same classes. They
        are never changed.
{_common()}

    Attributes
    ----------
    model_ : list of torch.nn.Module
        The detector's private copies of the networks (eval mode, on ``device_``).
{_COMMON_ATTRIBUTES.split(chr(10), 2)[2]}
{_fitted_params(_LogitDetector._scoring_params)}

    See Also
    --------
    sklearn_fssd.training.train_deep_ensemble : trains the networks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fssd import DeepEnsembleDetector
    >>> from sklearn_fssd.models import MLP
    >>> from sklearn_fssd.training import train_deep_ensemble
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")
    >>> nets = train_deep_ensemble(MLP, X, y, n_networks=3, module__in_features=4,
    ...                            lr=0.01, max_epochs=5)
    >>> det = DeepEnsembleDetector(nets).fit(X)
    >>> len(det.model_), det.score_samples(X[:4]).shape
    (3, (4,))
    """

    _parameter_constraints = {
        **_LogitDetector._parameter_constraints,
        "model": [list, tuple],
    }

    def __init__(
        self,
        model,
        *,
        logits_layer=None,
        contamination="auto",
        batch_size=256,
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.model = model
        self.logits_layer = logits_layer
        self.contamination = contamination
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _batch_scores(self, taps, x):
        moments = _Moments()
        with torch.inference_mode():
            for tap in taps:
                (logits,) = tap(x)
                moments.update(softmax_probabilities(logits))
        return moments.mean.max(dim=1).values


class MCDropoutDetector(_LogitDetector):
    _scoring_params = ("logits_layer", "n_passes", "statistic")
    __doc__ = f"""Monte-Carlo Dropout (Gal & Ghahramani, 2016).

    The network runs ``n_passes`` times with its dropout active and
    everything else (BatchNorm above all) in eval mode; the softmax outputs
    of the passes give the score:

    - ``statistic="mean"`` (default): ``max_c mean_t softmax(f_t(x))_c``, the
      confidence of the MC predictive distribution (its MSP);
    - ``statistic="entropy"``: minus the entropy of that distribution;
    - ``statistic="variance"``: minus the total variance of the softmax over the
      passes, ``sum_c var_t softmax(f_t(x))_c``.

    Each is higher for in-distribution inputs. With dropout rate 0 every pass
    is the plain network: ``"mean"`` equals :class:`MSPDetector` and the
    variance is 0.

    The dropout masks are pseudo-random functions of the sample, the pass and
    ``seed_`` (for one sample, elements are dropped independently with the
    module's probability, afresh at every pass): a sample's score is the same
    in any batch and for any ``batch_size``, and refitting with the same
    ``random_state`` reproduces it. The network's ``nn.Dropout`` and
    ``nn.Dropout1d/2d/3d`` modules are sampled (the latter channel-wise);
    dropout written as a function call in ``forward`` or inside
    ``nn.LSTM(dropout=...)`` stays off.

    Parameters
    ----------
    model : torch.nn.Module or fitted skorch net
        The trained classifier, returning logits, with dropout modules. It
        is never changed.
    n_passes : int, default=32
        Number of stochastic forward passes ``T``.
    dropout_rate : float in [0, 1) or None, default=None
        Drop probability of every dropout module; ``None`` keeps each
        module's own ``p``.
    statistic : {{"mean", "entropy", "variance"}}, default="mean"
        Which statistic of the passes is the score (see above).
{_common(", and the dropout masks")}

    Attributes
    ----------
{_COMMON_ATTRIBUTES}
{_fitted_params(_scoring_params)}
    dropout_layers_ : list of str
        Names of the sampled dropout modules.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fssd.models import MLP
    >>> from sklearn_fssd.training import train_classifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")
    >>> net = train_classifier(MLP, X, y, module__in_features=4, module__dropout=0.2,
    ...                        lr=0.01, max_epochs=5)
    >>> from sklearn_fssd import MCDropoutDetector
    >>> det = MCDropoutDetector(net, n_passes=8, random_state=0).fit(X)
    >>> det.dropout_layers_
    ['drop']
    >>> det.score_samples(X[:4]).shape
    (4,)
    """

    _parameter_constraints = {
        **_LogitDetector._parameter_constraints,
        "n_passes": [Interval(Integral, 1, None, closed="left")],
        "dropout_rate": [Interval(Real, 0, 1, closed="left"), None],
        "statistic": [StrOptions({"mean", "entropy", "variance"})],
    }

    def __init__(
        self,
        model,
        *,
        n_passes=32,
        dropout_rate=None,
        statistic="mean",
        logits_layer=None,
        contamination="auto",
        batch_size=256,
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.model = model
        self.n_passes = n_passes
        self.dropout_rate = dropout_rate
        self.statistic = statistic
        self.logits_layer = logits_layer
        self.contamination = contamination
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _prepare_scoring(self):
        """Replace the dropout modules of the private copy by keyed dropout."""
        replaced = []
        for name, module in list(self.model_.named_modules()):
            if type(module) in _MC_DROPOUT_KINDS:
                p = module.p if self.dropout_rate is None else self.dropout_rate
                keyed = _KeyedDropout(p, channelwise=not isinstance(module, nn.Dropout)).eval()
                parent, _, child = name.rpartition(".")
                setattr(self.model_.get_submodule(parent), child, keyed)
                replaced.append(name)
            elif isinstance(module, nn.modules.dropout._DropoutNd):
                raise ValueError(
                    f"MCDropoutDetector samples nn.Dropout and nn.Dropout1d/2d/3d modules; "
                    f"{name!r} of {type(self.model_).__name__} is a {type(module).__name__}, "
                    "which it does not support. Replace it, or use another detector."
                )
        if not replaced:
            raise ValueError(
                f"MCDropoutDetector needs dropout modules (nn.Dropout, nn.Dropout1d/2d/3d) in "
                f"the network; {type(self.model_).__name__} has none. Train the network with "
                "dropout, or score it with MSPDetector."
            )
        self.dropout_layers_ = replaced

    def _batch_scores(self, taps, x):
        (tap,) = taps
        dropouts = [m for m in self.model_.modules() if isinstance(m, _KeyedDropout)]
        offsets = (_sample_keys(x).to(torch.float64) / 2**32).to(torch.float32)
        moments = _Moments()
        try:
            with torch.inference_mode():
                for t in range(self.n_passes_):
                    for index, module in enumerate(dropouts):
                        module.offsets = offsets
                        module.calls = 0
                        module.stream = _mix32(
                            (_mix32((self.seed_ + 0x9E3779B9 * index) & _MASK32) + 7919 * t)
                            & _MASK32
                        )
                    (logits,) = tap(x)
                    moments.update(softmax_probabilities(logits))
        finally:
            for module in dropouts:
                module.release()
        if self.statistic_ == "mean":
            return moments.mean.max(dim=1).values
        if self.statistic_ == "entropy":
            mean = moments.mean
            return (mean * torch.log(mean.clamp_min(1e-300))).sum(dim=1)
        return -moments.variance().sum(dim=1)


# --------------------------------------------------------------------------
# Mahalanobis
# --------------------------------------------------------------------------


class MahalanobisDetector(_LogitDetector):
    _scoring_params = ("logits_layer", "epsilon", "pooling")
    _y_hint = " The classes of the samples go to fit(X, class_labels=...)."
    __doc__ = f"""Mahalanobis distance to class-conditional Gaussians (Lee et al., 2018).

    For each tapped layer ``k``, the features of in-distribution training
    data give one Gaussian per class, with class means ``mu_c`` and one
    covariance ``Sigma`` shared by the classes. A layer scores an input by
    Lee et al.'s confidence ``M_k(x) = -min_c (f_k(x) - mu_c)^T Sigma^-1
    (f_k(x) - mu_c)`` after the input pre-processing
    ``x~ = x + epsilon * sign(grad_x M_k(x))`` (per layer, the same step as
    FSSD's and ODIN's). The layers are combined, as for FSSD, by a logistic
    regression fitted on labelled validation data.

    **How labels enter.** ``fit(X, y=None, class_labels=None)``:

    - ``X`` without ``y``: in-distribution training data. The Gaussians come
      from ``X``; with no OoD data to weigh the layers with, the score is
      minus the mean over the layers of their standardised log Mahalanobis
      distances (``combine="mean"``).
    - ``X`` with ``y`` (+1 in-distribution, -1 OoD, as for every detector of
      the package): the Gaussians come from the rows with ``y == +1``, and a
      logistic regression over the layers' Mahalanobis distances is fitted
      on all rows (Lee et al.'s feature ensemble). Concatenate training and
      OoD validation data to use both.
    - ``class_labels``: the classes of the rows of ``X`` (any values; ignored
      on OoD rows), a sample-aligned fit parameter, so ``GridSearchCV`` and
      ``cross_validate`` split it with ``X`` (``search.fit(X, y,
      class_labels=c)``). Without it, the classes are the network's own
      predictions (the argmax of its logits), which needs no labels; with
      true labels the Gaussians are exactly the paper's.

    Parameters
    ----------
    model : torch.nn.Module or fitted skorch net
        The trained network, never changed: a classifier returning logits,
        or, when ``class_labels`` are given, any network whose layers carry
        features.
    layers : "auto", str or list of str, default="auto"
        Names from ``model.named_modules()`` whose outputs are the features,
        as for :class:`~sklearn_fssd.FSSDDetector`.
    epsilon : float >= 0, default=0.0
        Step of the per-layer input pre-processing; tune it on validation
        data (Lee et al. search 0 to 0.005 for pixels in [0, 1]).
    pooling : {{"avg", "flatten"}}, default="avg"
        ``"avg"`` averages feature maps over positions (Lee et al.'s
        choice: one feature per channel); ``"flatten"`` keeps the whole map
        (a covariance of its size squared).
    combine : {{"auto", "stack", "mean", "last"}}, default="auto"
        ``"stack"``: logistic regression over the layers' standardised log
        distances (``LayerCombiner``, needs OoD rows in ``y``); ``"mean"``:
        minus the mean standardised log distance of the layers, which needs
        no OoD data; ``"last"``: ``M_k`` of the last tapped layer alone, the
        single-layer Mahalanobis score. ``"auto"``: ``"stack"`` when ``y``
        holds OoD samples, else ``"mean"`` (on digits against uniform noise
        and pixel-shuffled digits, ROC-AUC 1.00 and 1.00 for ``"mean"``
        against 0.96 and 0.93 for ``"last"``, with a small CNN's four
        layers).
{_common(", and the cross-validation of the layer stack")}

    Attributes
    ----------
    model_ : torch.nn.Module
        The detector's private copy of the network (eval mode, on ``device_``).
    layers_ : list of str
        The tapped layers.
    class_labels_ : ndarray of shape (n_classes,)
        The classes with a Gaussian: the values of ``class_labels`` on the
        in-distribution rows, or the predicted class indices.
    means_ : list of Tensor of shape (n_classes, n_features_k)
        Class means per layer (float64).
    covariances_ : list of Tensor of shape (n_features_k, n_features_k)
        Shared (tied) covariance per layer, the maximum-likelihood estimate.
    precisions_ : list of Tensor of shape (n_features_k, n_features_k)
        Their pseudo-inverses, with the cutoff of float32 matrices (directions
        whose variance is below ``n_features_k * 1.2e-7`` times the largest
        are float32 rounding noise of the features, and are ignored).
    combine_ : str
        The combination rule used.
    combiner_ : LayerCombiner
        ``"stack"`` and ``"mean"`` only.
    n_classes_ : int
        Number of classes with a Gaussian.
{_COMMON_ATTRIBUTES.split(chr(10), 4)[4]}
{_fitted_params(_scoring_params)}

    Examples
    --------
{_EXAMPLE_SETUP}
    >>> from sklearn_fssd import MahalanobisDetector
    >>> det = MahalanobisDetector(net, random_state=0).fit(X, class_labels=y)
    >>> det.layers_, det.combine_
    (['fc1', 'fc2', 'out'], 'mean')
    >>> det.layer_scores(X[:2]).shape
    (2, 3)
    >>> ood = rng.uniform(-20, 20, size=(50, 4)).astype("float32")
    >>> Xv, yv = np.vstack([X, ood]), np.r_[np.ones(300), -np.ones(50)]
    >>> det.fit(Xv, yv, class_labels=np.r_[y, np.zeros(50)]).combine_
    'stack'
    """

    _parameter_constraints = {
        **_LogitDetector._parameter_constraints,
        "layers": [StrOptions({"auto"}), str, list, tuple],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "pooling": [StrOptions({"flatten", "avg"})],
        "combine": [StrOptions({"auto", "stack", "mean", "last"})],
    }

    def __init__(
        self,
        model,
        *,
        layers="auto",
        epsilon=0.0,
        pooling="avg",
        combine="auto",
        logits_layer=None,
        contamination="auto",
        batch_size=256,
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.model = model
        self.layers = layers
        self.epsilon = epsilon
        self.pooling = pooling
        self.combine = combine
        self.logits_layer = logits_layer
        self.contamination = contamination
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, class_labels=None):
        """Fit the class Gaussians and, with OoD labels, the layer stack.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Without ``y``: in-distribution training data. With ``y``:
            in-distribution (training) rows and OoD validation rows.
        y : array-like of shape (n_samples,) with values in {+1, -1}, optional
            +1 = in-distribution, -1 = out-of-distribution. The Gaussians
            come from the +1 rows; with -1 rows the layers are stacked by a
            logistic regression fitted on all rows. 0/1 or boolean labels are
            an error, other labels (classes) are ignored with a warning: the
            classes go to ``class_labels``.
        class_labels : array-like of shape (n_samples,), optional
            The class of each row (any values; ignored on OoD rows). Without
            it, the network's predicted classes are used. The shared
            covariance needs more in-distribution rows than classes: with one
            row per class, ``fit`` raises a ``ValueError``.

        Returns
        -------
        self : MahalanobisDetector
            The fitted detector.
        """
        X = self._validate_X(X, reset=True)
        y_id = self._check_y(X, y)
        if class_labels is not None:
            class_labels = np.asarray(class_labels)
            if class_labels.ndim != 1 or len(class_labels) != len(X):
                raise ValueError(
                    f"class_labels must be a 1-D array with one class per sample of X "
                    f"({len(X)}); got shape {class_labels.shape}."
                )
        self.seed_ = self._draw_seed()
        self._prepare_network(X, self.seed_)
        n_logits = self._check_logits(X) if class_labels is None else None
        self.layers_ = resolve_layers(self.model_, self.layers)
        self._fit_gaussians(
            X[y_id == 1], None if class_labels is None else class_labels[y_id == 1], n_logits
        )
        self.n_classes_ = len(self.class_labels_)

        has_ood = bool((y_id == -1).any())
        self.combine_ = ("stack" if has_ood else "mean") if self.combine == "auto" else self.combine
        if self.combine_ == "stack" and not has_ood:
            raise ValueError(
                "combine='stack' fits a logistic regression on OoD validation samples, and y "
                "marks none: pass y with -1 for OoD rows, or combine='mean' or 'last'."
            )
        squared = self._squared_distances(X)
        check_finite_fit(squared, type(self).__name__, what="Mahalanobis distances")
        if self.combine_ in ("stack", "mean"):
            self.combiner_ = LayerCombiner(
                method=self.combine_, quadratic=False, random_state=self.seed_
            ).fit(np.sqrt(squared), y_id)
        scores = self._combine(squared)
        auto_offset = (
            0.0 if self.combine_ == "stack"
            else np.percentile(scores[y_id == 1], 100 * (1 - _AUTO_TPR))
        )
        self._set_offset(scores, auto_offset)
        return self

    def _fit_gaussians(self, X_id, class_labels, n_logits):
        predicted = class_labels is None
        names = list(self.layers_)
        if predicted:  # the classes are the network's predictions
            names.append("" if self.logits_layer_ is None else self.logits_layer_)
        else:
            self.class_labels_, codes = np.unique(class_labels, return_inverse=True)
        tap = FeatureTap(self.model_, names, pooling=self.pooling_)
        accumulators = None
        seen = np.zeros(n_logits if predicted else len(self.class_labels_), dtype=bool)
        for sl in iter_batches(len(X_id), self.batch_size):
            with torch.inference_mode():
                feats = tap(self._to_batch(X_id[sl]))
            if predicted:
                labels = feats.pop().argmax(dim=1)
            else:
                labels = torch.as_tensor(codes[sl], device=self.device_)
            for f in feats:
                check_finite_fit(f, type(self).__name__, first_row=sl.start)
            if accumulators is None:
                accumulators = [
                    _TiedGaussians(len(seen), self._check_width(name, f.shape[1]), self.device_)
                    for name, f in zip(self.layers_, feats)
                ]
            seen[labels.unique().cpu().numpy()] = True
            for acc, f in zip(accumulators, feats):
                acc.update(f, labels)
        present = np.flatnonzero(seen)
        if predicted:
            self.class_labels_ = present
        self._check_class_counts(accumulators[0].counts[present].cpu().numpy(), predicted)
        self.means_ = [acc.means[present] for acc in accumulators]
        self.covariances_ = [acc.covariance() for acc in accumulators]
        # the pseudo-inverse with the cutoff of float32 matrices, the precision the
        # features come in (as Lee et al.'s code, which inverts float32 covariances
        # with scipy's pinvh): directions of smaller variance are rounding noise
        self.precisions_ = [
            torch.linalg.pinv(cov, hermitian=True, rtol=cov.shape[0] * _FLOAT32_EPS)
            for cov in self.covariances_
        ]

    def _check_class_counts(self, counts, predicted):
        """Refuse classes that leave nothing to estimate the shared covariance from.

        The tied covariance is the spread of the samples around their class
        means: with one sample per class it is 0 and every score would be 0
        (as scikit-learn's LinearDiscriminantAnalysis, more samples than
        classes are needed).
        """
        if counts.max() >= 2:
            return
        table = {
            label.item() if hasattr(label, "item") else label: int(count)
            for label, count in zip(self.class_labels_[:10], counts[:10])
        }
        where = (
            "the classes are the network's predicted classes; pass class_labels=... to give "
            "the true ones, or "
            if predicted else ""
        )
        raise ValueError(
            "MahalanobisDetector estimates one covariance shared by the classes from how the "
            "in-distribution samples spread around their class means, and every class has a "
            f"single sample (samples per class: {table}{', ...' if len(counts) > 10 else ''}), "
            "so every score would be 0. It needs more samples than classes: "
            f"{where}fit on more in-distribution samples, several per class (about as many as "
            "a layer has features, for a covariance of full rank)."
        )

    def _check_width(self, name, width):
        if width * width * 8 > _MAX_COVARIANCE_BYTES:
            raise ValueError(
                f"Layer {name!r} has {width} features, so its covariance would take "
                f"{width * width * 8 / 2**30:.1f} GiB; use pooling='avg' or tap other layers."
            )
        return width

    # -------------------------------------------------------------- scoring

    def _batch_squared(self, tap, x, only):
        """Min squared class distance of each layer in ``only``: (batch, len(only))."""

        def reduce(k, feats):
            features = feats.to(torch.float64)
            squared = class_mahalanobis(features, self.means_[k], self.precisions_[k])
            return squared.min(dim=1).values

        closeness = lambda k, feats: -reduce(k, feats)  # noqa: E731
        return torch.stack(self._layer_scores(tap, x, reduce, closeness, only=only), dim=1)

    def _squared_distances(self, X, only=None):
        only = list(range(len(self.layers_))) if only is None else list(only)
        tap = FeatureTap(self.model_, self.layers_, pooling=self.pooling_,
                         perturb_at=self._perturb_at)
        squared = self._map_batches(
            X, lambda x: self._batch_squared(tap, x, only), desc="Mahalanobis"
        )
        return squared.reshape(len(X), len(only))

    def _combine(self, squared):
        """The score from the squared distances of the layers (of the last layer for "last")."""
        if self.combine_ == "last":
            return -squared[:, -1]
        combined = on_finite_rows(np.sqrt(squared), self.combiner_.decision_function)
        return -combined if self.combine_ == "mean" else combined

    def layer_scores(self, X):
        """Lee et al.'s confidence score of each layer, higher = more in-distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples, n_layers)
            Column ``k`` is ``M_k = -min_c`` (squared Mahalanobis distance of
            layer ``layers_[k]`` to class ``c``), after the input
            pre-processing when ``epsilon > 0``. Samples that cannot be
            scored (see :meth:`score_samples`) get the lowest score,
            ``-numpy.finfo(numpy.float64).max``, in every column.
        """
        check_is_fitted(self)
        squared = self._squared_distances(self._validate_X(X, reset=False))
        return self._lowest_where_unscorable(-squared)

    def _score_samples(self, X):
        only = [len(self.layers_) - 1] if self.combine_ == "last" else None
        return self._combine(self._squared_distances(X, only=only))
