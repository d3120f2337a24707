"""The shared base of every detector over a torch network.

:class:`BaseTorchDetector` holds what FSSD and the baselines have in common:
the user's network turned into a private frozen copy (without the user's
hooks), input validation for
tables, images and token sequences, the +1 (ID) / -1 (OoD) labels of
``fit(X, y)``, batching, ``offset_`` from ``contamination``, ``predict`` and
``decision_function``, and persistence (``clone`` keeps the network,
pickles made on CUDA load on CPU). A detector implements ``fit`` and
``_score_samples`` (on validated inputs, higher = more in-distribution).
"""

import copy
import functools
import io
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn
from torch.nn.parameter import is_lazy

from ._progress import progress
from ._utils import (
    HasMethods,
    Interval,
    StrOptions,
    as_input_array,
    draw_seed,
    iter_batches,
    resolve_device,
    to_numpy,
    to_tensor,
    torch_seed,
)
from ._validation import (
    check_float32_range,
    check_network_input,
    check_token_range,
    lowest_where_unscorable,
    overflow_rows,
    sample_shape_message,
)
from .features import layer_scores
from .genomes.sequences import reverse_complement
from ._docstrings import SCORING_X, fill_doc

__all__ = ["BaseTorchDetector"]

#: ``contamination="auto"`` puts the threshold where this share of the
#: in-distribution fit samples is kept, for every detector: the 95 %-TPR
#: operating point at which the OoD literature reports its FPR.
AUTO_KEEP = 0.95

#: The ``contamination`` entry of every detector's docstring.
CONTAMINATION_DOC = """\
    contamination : "auto" or float in (0, 0.5], default="auto"
        Share of outliers in the fit data; sets ``offset_``. ``"auto"``, for
        every detector of the package: the threshold that keeps 95 % of the
        in-distribution fit samples (the FPR95 operating point of OoD
        papers), an empirical rate with no guarantee on new data;
        :class:`~sklearn_fssd.ConformalDetector` gives the guaranteed
        version (at most a share ``alpha`` of new in-distribution inputs
        flagged, on average)."""

#: The ``both_strands`` entry of every detector's docstring.
BOTH_STRANDS_DOC = """\
    both_strands : bool, default=False
        For networks of DNA token ids (A=0, C=1, G=2, T=3, as
        :func:`~sklearn_fssd.genomes.encode_dna` makes them): score each
        sequence on both strands, as given and as its reverse complement
        (:func:`~sklearn_fssd.genomes.reverse_complement`), and average over
        the two what the detector computes per input before its fitted
        combination of layers, if any: FSSD each layer's FSSD and the class
        probabilities; Mahalanobis each layer's distance; the others their
        score, each strand with its own passes (MC Dropout's, ODIN's
        gradient step, each network of an ensemble). A sequence and its
        reverse complement, the same molecule, then get the same score.
        What is fitted from single inputs (FSSD's ``F*`` from noise,
        Mahalanobis's class Gaussians) is read on the strand given. Doubles
        the work of scoring. An error for inputs that are not token ids."""


def _store_params(estimator, params):
    """``__init__`` stores, ``fit`` works: set every argument of ``__init__`` unchanged.

    Each detector's ``__init__`` keeps its explicit signature (scikit-learn's
    ``get_params`` reads it) and passes its ``locals()`` here, so the
    ``self.x = x`` lines are written once for all the detectors.
    """
    for name, value in params.items():
        if name != "self":
            setattr(estimator, name, value)


def _check_networks_agree(values, message):
    """Raise ``ValueError(message(values[0], value, index))`` at the first network that differs.

    ``values`` holds one value per network of ``model`` (its number of
    logits, the layers it taps, ...); a network ensemble needs them equal.
    """
    for index, value in enumerate(values[1:], start=1):
        if value != values[0]:
            raise ValueError(message(values[0], value, index))


def _is_skorch_net(obj):
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(obj, NeuralNet)


def _module_of(model):
    """The torch module behind ``model`` (nn.Module or fitted skorch net)."""
    if isinstance(model, nn.Module):
        return model
    if _is_skorch_net(model):
        if not getattr(model, "initialized_", False) or not hasattr(model, "module_"):
            raise ValueError(
                f"The skorch net {type(model).__name__} passed as model was never fitted: "
                "call net.fit(X, y) (or net.initialize() and load trained weights) before "
                "giving it to the detector, or pass a trained torch.nn.Module."
            )
        if len(model.history) == 0:
            warnings.warn(
                "The skorch net passed as model has an empty training history: it was "
                "initialized but maybe never trained. The detector needs a trained network.",
                UserWarning,
            )
        return model.module_
    raise TypeError(
        f"model must be a torch.nn.Module, a fitted skorch net or None; got "
        f"{type(model).__name__}."
    )


def _has_lazy_parameters(module):
    return any(is_lazy(p) for p in module.parameters())


def _is_torch_hook(hook):
    """Whether a hook belongs to torch itself rather than to the user.

    torch implements lazy initialisation, weight and spectral norm, pruning and
    quantisation observers with hooks; they are part of what the network
    computes. Everything else (functions, lambdas, methods, callable objects
    defined outside torch) is the user's.
    """
    while True:
        if isinstance(hook, functools.partial):
            hook = hook.func
        elif type(hook).__name__ == "_WrappedHook" and hasattr(hook, "hook"):
            hook = hook.hook  # torch's wrapper of load_state_dict pre-hooks
        else:
            break
    origin = getattr(hook, "__module__", None) or ""
    return origin == "torch" or origin.startswith("torch.")


def _copy_without_user_hooks(module):
    """``copy.deepcopy(module)``, except that the user's hooks are left out.

    Forward, forward-pre, backward, state-dict and load-state-dict hooks of
    every submodule stay on the user's module only: the copy's passes must
    not call them (a hook that stores outputs would see every batch the
    detector runs, and its memory would grow without bound), and the hooks
    are not even deep-copied (their owners may be large or not copyable).
    torch's own hooks (:func:`_is_torch_hook`) are copied, bound to the copy.
    """
    originals = list(module.modules())
    hook_dicts = [
        {name: value for name, value in vars(sub).items()
         if "hook" in name and isinstance(value, dict)}
        for sub in originals
    ]
    # the copy gets fresh, empty hook dictionaries in place of the user's
    memo = {id(value): type(value)() for dicts in hook_dicts for value in dicts.values()}
    copied = copy.deepcopy(module, memo)
    for sub, dicts, twin in zip(originals, hook_dicts, copied.modules()):
        kept = {key for value in dicts.values() for key, hook in value.items()
                if callable(hook) and _is_torch_hook(hook)}
        for name, value in dicts.items():
            target = memo[id(value)]  # the copy's dictionary
            for key in value:
                if key in kept:  # the hook itself, or its flags (with_kwargs, always_call)
                    target[key] = copy.deepcopy(value[key], memo)
        if not twin._backward_hooks and not twin._backward_pre_hooks:
            twin._is_full_backward_hook = None
    return copied


def _frozen_copy(module, device, example=None, seed=None):
    """A private copy of the user's network: eval mode, no parameter gradients, no user hooks.

    The user's own module is never touched (parameters, buffers, training
    flag, requires_grad and hooks stay as they were); the copy carries none
    of the user's hooks (see :func:`_copy_without_user_hooks`). Lazy modules
    (``nn.LazyLinear`` and the like) of a network that never ran are
    materialised in the copy by one forward pass of ``example`` under
    ``seed``, so that the copy's initial weights are reproducible.
    """
    frozen = _copy_without_user_hooks(module)
    frozen.eval()
    if _has_lazy_parameters(frozen):
        if example is None:
            raise ValueError(
                f"{type(module).__name__} has lazy modules that never ran (e.g. nn.LazyLinear); "
                "run one forward pass of a training batch through it before giving it to the "
                "detector."
            )
        with torch_seed(seed), torch.no_grad():
            frozen(example)
    frozen.to(device)
    frozen.requires_grad_(False)
    return frozen


def _first_embedding(module):
    for name, sub in module.named_modules():
        if isinstance(sub, nn.Embedding):
            return name, sub
    return None, None


def check_ood_labels(X, y, owner, hint=""):
    """The +1 (in-distribution) / -1 (OoD) labels of ``fit(X, y)``; ``None``: all +1.

    ``owner`` names the estimator in messages, ``hint`` ends them.

    The one label check of every detector. Labels in another binary
    convention (0/1, booleans, -1 mixed with other values) are an error:
    fitted as given, PyOD's 1 = outlier would reverse the detector. Any
    other ``y`` (class labels, for one) is not an OoD labelling: it is
    ignored with a warning, as scikit-learn's outlier detectors ignore
    ``y``, and every sample is taken as in-distribution.
    """
    if y is None:
        return np.ones(len(X), dtype=int)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"y must be a 1-D array with one label per sample of X ({len(X)}); got shape "
            f"{y.shape}."
        )
    labels = set(np.unique(y).tolist())
    shown = sorted(labels, key=str)[:10] + (["..."] if len(labels) > 10 else [])
    other_binary = (
        y.dtype.kind == "b"
        or (0 in labels and labels <= {0, 1})
        or (-1 in labels and not labels <= {1, -1})
    )
    if other_binary:
        raise ValueError(
            f"y holds labels {shown}, but {owner}.fit reads y as +1 "
            "(in-distribution) / -1 (out-of-distribution). If 1 marks outliers and 0 "
            "inliers (PyOD's convention), pass np.where(y == 1, -1, 1); if 1 marks "
            "in-distribution samples, np.where(y == 1, 1, -1); if every sample is "
            f"in-distribution, pass no y.{hint}"
        )
    if not labels <= {1, -1}:
        warnings.warn(
            f"y holds labels {shown}, which are not out-of-distribution labels (+1 "
            "in-distribution / -1 out-of-distribution), so y is ignored, as scikit-learn's "
            "outlier detectors ignore it, and every sample is taken as in-distribution."
            f"{hint}",
            UserWarning,
        )
        return np.ones(len(X), dtype=int)
    if labels == {-1}:
        raise ValueError(
            "y has no in-distribution sample (+1): the detector needs in-distribution data to fit."
        )
    return y.astype(int)


def clone_keeping_model(estimator):
    """``sklearn.base.clone``, except that the ``model`` parameter is kept as it is.

    The network is pretrained data, not a hyper-parameter: sklearn's clone
    would re-create an unfitted skorch net (or deep-copy a large module). The
    detectors never change the network, so sharing it is safe.
    """
    params = estimator.get_params(deep=False)
    model = params.pop("model")
    cloned = {key: clone(value, safe=False) for key, value in params.items()}
    return type(estimator)(model=model, **cloned)


class BaseTorchDetector(OutlierMixin, BaseEstimator):
    """Base class: a scikit-learn outlier detector over a torch network.

    Subclasses declare their own parameters (including those below, which
    this class reads: ``model``, ``contamination``, ``batch_size``,
    ``device``, ``random_state``, ``verbose``), implement ``fit`` and
    ``_score_samples(X)`` on validated ``X``.
    """

    #: Parameters that scoring reads. ``fit`` stores each one as a fitted
    #: attribute (``epsilon`` as ``epsilon_``...) and scoring reads that, so
    #: that scores always use the values the fitted state (``offset_``, the
    #: layer combination...) was fitted with: ``set_params`` after ``fit``
    #: takes effect at the next ``fit``.
    _scoring_params = ()

    _parameter_constraints = {
        "model": [HasMethods(["forward"]), HasMethods(["fit", "predict"]), None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "both_strands": ["boolean"],
    }

    # ------------------------------------------------------------ fitting

    def _prepare_network(self, X, seed=None):
        """Resolve the device, copy the user's network(s), read the input kind.

        Sets ``device_``, ``model_`` (when ``model`` is given: the private
        copy, or a list of copies when ``model`` is a list of networks),
        ``tokens_`` and, for token inputs, ``vocab_size_``, and the fitted
        copies of the ``_scoring_params``. ``seed`` (drawn from
        ``random_state`` when None) initialises lazy modules that never ran.
        """
        for name in ("both_strands", *self._scoring_params):  # both_strands: every detector's
            setattr(self, f"{name}_", getattr(self, name))
        self.device_ = resolve_device(self.device)
        if self.model is None:
            if self.both_strands:
                raise ValueError(
                    "both_strands=True reads DNA token ids on both strands, but model=None "
                    "trains a network for tables; pass a trained network of DNA token ids as "
                    "model, or leave both_strands=False."
                )
            return
        many = isinstance(self.model, (list, tuple))
        networks = list(self.model) if many else [self.model]
        if not networks:
            raise ValueError(
                f"model is an empty {type(self.model).__name__}; pass one trained network or a "
                "list of them."
            )
        modules = [_module_of(net) for net in networks]
        example = None
        if any(_has_lazy_parameters(m) for m in modules):
            tokens = X.dtype.kind in "iu" and _first_embedding(modules[0])[1] is not None
            example = to_tensor(X[:2], "cpu", dtype=None if tokens else torch.float32)
            if seed is None:
                seed = draw_seed(self.random_state)
        copies = [_frozen_copy(m, self.device_, example, seed) for m in modules]
        self.model_ = copies if many else copies[0]
        self._setup_inputs(X)
        self._check_network_input(X)
        if self.both_strands and not (self.tokens_ and self.vocab_size_ >= 4):
            if self.tokens_:
                what = f"the network embeds only {self.vocab_size_} token ids"
            elif np.issubdtype(X.dtype, np.integer):
                what = "the network has no nn.Embedding to read integer X as token ids"
            else:
                what = f"X has dtype {X.dtype}, not integer token ids"
            raise ValueError(
                "both_strands=True reverse-complements DNA token ids (A=0, C=1, G=2, T=3), "
                f"but {what}; pass DNA token ids (sklearn_fssd.genomes.encode_dna) to a "
                "network that embeds them, or leave both_strands=False."
            )

    def _check_network_input(self, X):
        """Forward the first samples of ``X`` through each private copy: a shape
        mismatch is a clear error here, before any long work."""
        x = to_tensor(X[:2], self.device_, dtype=None if self.tokens_ else torch.float32)
        for network in self._networks():
            check_network_input(network, x, X.shape, X.dtype)

    def _networks(self):
        """The private copies of the networks, as a list (one element for one network)."""
        return list(self.model_) if isinstance(self.model_, (list, tuple)) else [self.model_]

    #: Appended to the error for labels outside {-1, +1}: where else such labels may belong.
    _y_hint = ""

    def _validate_fit_data(self, X, y):
        """The checks that open every ``fit``: ``X`` (``reset=True``) and the ``y_id`` mask."""
        X = self._validate_X(X, reset=True)
        return X, self._check_y(X, y)

    def _check_y(self, X, y):
        """:func:`check_ood_labels` for this detector (its name and ``_y_hint``)."""
        return check_ood_labels(X, y, type(self).__name__, self._y_hint)

    def _setup_inputs(self, X):
        """Decide how inputs enter the network: continuous, or token ids."""
        networks = self._networks()
        emb_name, emb = _first_embedding(networks[0])
        self.tokens_ = bool(np.issubdtype(X.dtype, np.integer) and emb is not None)
        if self.tokens_:
            for index, network in enumerate(networks[1:], start=1):
                other_name, other = _first_embedding(network)
                same = other is not None and other_name == emb_name and (
                    (other.num_embeddings, other.embedding_dim)
                    == (emb.num_embeddings, emb.embedding_dim)
                )
                if not same:
                    raise ValueError(
                        f"The networks of model embed tokens differently: network 0 in "
                        f"{emb_name!r} {tuple(emb.weight.shape)}, network {index} in "
                        f"{other_name!r}"
                        f"{'' if other is None else ' ' + str(tuple(other.weight.shape))}; "
                        "pass networks of the same architecture."
                    )
            self._perturb_at = emb_name
            self.vocab_size_ = emb.num_embeddings
            check_token_range(X, self.vocab_size_, emb_name)
        else:
            self._perturb_at = None

    def _set_offset(self, id_scores, y_id):
        """``offset_`` from ``contamination`` and the scores of the fit samples.

        ``"auto"``, the one rule of every detector: the threshold that keeps
        :data:`AUTO_KEEP` (95 %) of the in-distribution fit samples (``y_id
        == 1``), the 95 %-TPR operating point of the OoD literature. A float:
        that quantile of all fit scores.
        """
        if self.contamination == "auto":
            self.offset_ = float(np.percentile(id_scores[y_id == 1], 100 * (1 - AUTO_KEEP)))
        else:
            self.offset_ = float(np.percentile(id_scores, 100.0 * self.contamination))

    # ------------------------------------------------------------ scoring

    def _delta_like(self, x):
        if self._perturb_at is None:
            return torch.zeros_like(x, requires_grad=True)
        dim = dict(self._networks()[0].named_modules())[self._perturb_at].embedding_dim
        return torch.zeros((*x.shape, dim), device=x.device, requires_grad=True)

    def _layer_scores(self, tap, x, reduce, objective, only=None, joint=False, read=()):
        """:func:`~sklearn_fssd.features.layer_scores` of one batch, pre-processed with the
        step ``epsilon_`` (detectors without one: none) taken where ``_perturb_at`` says."""
        epsilon = getattr(self, "epsilon_", 0.0)
        delta = self._delta_like(x) if epsilon > 0 else None
        return layer_scores(tap, x, reduce, epsilon=epsilon, objective=objective, delta=delta,
                            only=only, joint=joint, read=read)

    def _map_batches(self, X, batch_fn, desc):
        """Apply ``batch_fn(tensor) -> tensor`` to ``X`` batch by batch, as float64 numpy;
        with ``both_strands_``, the mean of ``batch_fn`` on each batch and on its reverse
        complement.

        Batches stream: only the outputs of all batches are kept. Samples with
        values beyond float32's range do not enter the network (they would be
        ``inf`` there): their outputs are NaN.
        """
        outputs = []
        batches = iter_batches(len(X), self.batch_size)
        total = -(-len(X) // self.batch_size)
        for sl in progress(batches, total=total, verbose=self.verbose, desc=desc):
            rows = X[sl]
            overflow = overflow_rows(rows)
            if overflow.any():
                rows = np.where(overflow.reshape(-1, *[1] * (rows.ndim - 1)), 0, rows)
            batch = to_tensor(rows, self.device_, dtype=None if self.tokens_ else torch.float32)
            output = batch_fn(batch)
            if self.both_strands_:
                output = (output + batch_fn(reverse_complement(batch))) / 2
            output = to_numpy(output).astype(np.float64)
            output[overflow] = np.nan
            outputs.append(output)
        if not outputs:
            return np.empty((0,), dtype=np.float64)
        return np.concatenate(outputs)

    @fill_doc(scoring_x=SCORING_X)
    def score_samples(self, X):
        """In-distribution score: higher = more in-distribution.

        {scoring_x}
        ndarray of shape (n_samples,)
            Samples that cannot be scored (values beyond float32's range, or
            features that overflow it) get the lowest score,
            ``-numpy.finfo(numpy.float64).max``, with a warning: they are
            out-of-distribution, and the other samples keep their scores.
        """
        check_is_fitted(self)
        return self._lowest_where_unscorable(self._score_samples(self._validate_X(X, reset=False)))

    def _lowest_where_unscorable(self, id_scores):
        return lowest_where_unscorable(id_scores, type(self).__name__)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative = out-of-distribution.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for in-distribution, -1 for out-of-distribution.

        Returns
        -------
        ndarray of shape (n_samples,) of int
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    # ----------------------------------------------------- validation / io

    def _validate_X(self, X, reset, name="X"):
        """The one input check of every detector: fit data (``reset=True``) or data to score.

        Torch tensors are taken as arrays; fit data must be finite in float32;
        data to score must have the fitted sample shape (and token ids the
        embedding's range).
        """
        X = as_input_array(X, name)
        if reset:
            X = validate_data(self, X, allow_nd=True, dtype="numeric", ensure_min_samples=2,
                              reset=True)
            check_float32_range(X, name)
            self.input_shape_ = tuple(X.shape[1:])
            return X
        self._check_sample_shape(getattr(X, "shape", None), name)
        if name == "X":
            X = validate_data(self, X, allow_nd=True, dtype="numeric", reset=False)
        else:
            X = check_array(X, allow_nd=True, dtype="numeric", input_name=name)
            check_float32_range(X, name)
        self._check_sample_shape(X.shape, name)
        if getattr(self, "tokens_", False):
            if not np.issubdtype(X.dtype, np.integer):
                raise ValueError(
                    f"{name} has dtype {X.dtype}, but the detector was fitted on integer token "
                    "ids; pass token ids as an integer array."
                )
            check_token_range(X, self.vocab_size_, self._perturb_at, name)
        return X

    def _check_sample_shape(self, shape, name):
        """Samples shaped as at fit. Tables of another width are left to scikit-learn's
        own message (``X has 4 features, but ... is expecting 5``)."""
        if shape is None or len(shape) < 2 or tuple(shape[1:]) == self.input_shape_:
            return
        if len(shape) == 2 and len(self.input_shape_) == 1 and name == "X":
            return
        raise ValueError(
            sample_shape_message(name, shape[1:], self.input_shape_, type(self).__name__)
        )

    def __sklearn_clone__(self):
        return clone_keeping_model(self)

    def __getstate__(self):
        # Serialise through torch.save, so that a detector fitted on CUDA
        # loads on a machine without it (see __setstate__).
        state = super().__getstate__()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        return {"_torch_state": buffer.getvalue()}

    def __setstate__(self, state):
        if "_torch_state" in state:
            map_location = None if torch.cuda.is_available() else "cpu"
            state = torch.load(
                io.BytesIO(state["_torch_state"]), map_location=map_location, weights_only=False
            )
            device = state.get("device_")
            if device is not None and device.type == "cuda" and not torch.cuda.is_available():
                warnings.warn(
                    f"This {type(self).__name__} was fitted on CUDA, which this machine "
                    "lacks; it was loaded on the CPU (device_='cpu'). Scores are the same up "
                    "to float rounding.",
                    UserWarning,
                )
                state["device_"] = torch.device("cpu")
                state["device"] = "cpu"
        # detectors pickled before both_strands existed read one strand
        state.setdefault("both_strands", False)
        if "offset_" in state:
            state.setdefault("both_strands_", False)
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags


class _Standardize(nn.Module):
    """Subtract a mean and divide by a scale stored as buffers."""

    def __init__(self, mean, scale):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, x):
        return (x.flatten(start_dim=1) - self.mean) / self.scale
