"""The detectors scored from a classifier's logits: their shared base, MSP, ODIN and Energy.

:class:`_LogitDetector` is the one scoring loop of every baseline: ``fit``
copies the network(s) and places ``offset_``; scoring maps
``_batch_scores(taps, x)`` over the batches. Its parameter documentation
(``_common``, ``_COMMON_ATTRIBUTES``) is shared by every baseline's docstring.
"""

from numbers import Real

import torch

from .._docstrings import EXAMPLE_DATA, FIT_X_Y, fill_doc
from .._utils import HasMethods, Interval, _fit_context, draw_seed, to_tensor
from .._validation import check_finite_fit
from ..base import (
    BOTH_STRANDS_DOC,
    CONTAMINATION_DOC,
    BaseTorchDetector,
    _check_networks_agree,
    _store_params,
)
from ..features import FeatureTap, resolve_layers




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
    this returns ``-E(x)``, higher = more in-distribution: one value per
    row of ``logits`` (a tensor of shape (n_samples, n_classes)), for the
    same ``temperature`` as :func:`softmax_probabilities`.

    Examples
    --------
    >>> import torch
    >>> round(float(energy_score(torch.tensor([[0.0, 0.0]]))[0]), 4)
    0.6931
    """
    return temperature * torch.logsumexp(logits.to(torch.float64) / temperature, dim=1)


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
        _check_networks_agree(widths, lambda first, width, index: (
            f"The networks of model disagree on the number of classes: network 0 has "
            f"{first} logits, network {index} has {width}; pass networks trained "
            "on the same classes."
        ))
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
    @fill_doc(fit_x_y=FIT_X_Y)
    def fit(self, X, y=None):
        """Fit the detector: copy the network(s) and set the threshold.

        The network is already trained: ``fit`` makes the private copy and
        scores ``X`` to place ``offset_``.

        Parameters
        ----------
        {fit_x_y} The score uses no
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
        X, y_id = self._validate_fit_data(X, y)
        self.seed_ = draw_seed(self.random_state)
        self._prepare_network(X, self.seed_)
        self.n_classes_ = self._check_logits(X)
        self._prepare_scoring()
        scores = self._score_samples(X)
        check_finite_fit(scores, type(self).__name__, what="outputs")
        self._set_offset(scores, y_id)
        return self

    def _score_samples(self, X):
        taps = self._logit_taps(perturbable=True)
        return self._map_batches(X, lambda x: self._batch_scores(taps, x), desc=type(self).__name__)


_COMMON_PARAMETERS = """\
    logits_layer : str or None, default=None
        Name (from ``model.named_modules()``) of the submodule whose output
        is the logits. ``None``: the output of the whole network.
{CONTAMINATION_DOC}
    batch_size : int, default=256
        Samples per forward pass. Scores do not depend on it.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the network runs; "auto" takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation of lazy modules (``nn.LazyLinear``...) of a
        network that never ran{extra}.
    verbose : bool, default=False
        Progress bars (tqdm) for the passes over the data.
{BOTH_STRANDS_DOC}"""


def _common(extra=""):
    return _COMMON_PARAMETERS.replace("{extra}", extra).replace(
        "{CONTAMINATION_DOC}", CONTAMINATION_DOC
    ).replace("{BOTH_STRANDS_DOC}", BOTH_STRANDS_DOC)


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
    both_strands_ : bool
        ``both_strands`` as it was at ``fit``; scoring reads this.
    input_shape_ : tuple
        Shape of one sample.
    n_features_in_ : int"""


# The network most of the baselines' Examples score.
_EXAMPLE_SETUP = EXAMPLE_DATA + """
    >>> from sklearn_fssd.training import train_classifier
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

    def __init__(self, model, *, logits_layer=None, contamination="auto", batch_size=256,
                 device="cpu", random_state=None, verbose=False, both_strands=False):
        _store_params(self, locals())

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

    def __init__(self, model, *, temperature=1000.0, epsilon=0.0014, logits_layer=None,
                 contamination="auto", batch_size=256, device="cpu", random_state=None,
                 verbose=False, both_strands=False):
        _store_params(self, locals())

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

    def __init__(self, model, *, temperature=1.0, logits_layer=None, contamination="auto",
                 batch_size=256, device="cpu", random_state=None, verbose=False,
                 both_strands=False):
        _store_params(self, locals())

    def _batch_scores(self, taps, x):
        (tap,) = taps
        with torch.inference_mode():
            (logits,) = tap(x)
        return energy_score(logits, float(self.temperature_))


# --------------------------------------------------------------------------
# Deep Ensemble, MC Dropout
