"""Deep Ensemble and MC Dropout: the softmax averaged over networks or dropout passes."""

from numbers import Integral, Real

import torch
from torch import nn

from .._docstrings import EXAMPLE_DATA
from .._stats import RunningMoments
from .._utils import Interval, StrOptions
from ..base import _store_params
from ._dropout import _MASK32, _MC_DROPOUT_KINDS, _KeyedDropout, _mix32, _sample_keys
from ._logits import (
    _COMMON_ATTRIBUTES,
    _LogitDetector,
    _common,
    _fitted_params,
    softmax_probabilities,
)


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
{EXAMPLE_DATA}
    >>> from sklearn_fssd import DeepEnsembleDetector
    >>> from sklearn_fssd.training import train_deep_ensemble
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

    def __init__(self, model, *, logits_layer=None, contamination="auto", batch_size=256,
                 device="cpu", random_state=None, verbose=False, both_strands=False):
        _store_params(self, locals())

    def _batch_scores(self, taps, x):
        moments = RunningMoments(scatter="diagonal")
        with torch.inference_mode():
            for tap in taps:
                (logits,) = tap(x)
                moments.update(softmax_probabilities(logits)[None])
        return moments.mean().max(dim=1).values


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
{EXAMPLE_DATA}
    >>> from sklearn_fssd.training import train_classifier
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

    def __init__(self, model, *, n_passes=32, dropout_rate=None, statistic="mean",
                 logits_layer=None, contamination="auto", batch_size=256, device="cpu",
                 random_state=None, verbose=False, both_strands=False):
        _store_params(self, locals())

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
        moments = RunningMoments(scatter="diagonal")
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
                    moments.update(softmax_probabilities(logits)[None])
        finally:
            for module in dropouts:
                module.release()
        if self.statistic_ == "mean":
            return moments.mean().max(dim=1).values
        if self.statistic_ == "entropy":
            mean = moments.mean()
            return (mean * torch.log(mean.clamp_min(1e-300))).sum(dim=1)
        return -moments.variance().sum(dim=1)
