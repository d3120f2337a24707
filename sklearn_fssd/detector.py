"""FSSDDetector: the scikit-learn outlier-detection estimator.

Thin orchestration over :mod:`~sklearn_fssd.features` (taps, perturbation),
:mod:`~sklearn_fssd.singularity` (noise, centres, distances) and
:mod:`~sklearn_fssd.ensemble` (combining layers).
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._docstrings import FIT_X_Y, SCORING_X, fill_doc
from ._utils import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    draw_seed,
    iter_batches,
    to_tensor,
)
from ._validation import check_finite_fit, finite_rows, on_finite_rows
from .base import (
    BOTH_STRANDS_DOC,
    CONTAMINATION_DOC,
    BaseTorchDetector,
    _frozen_copy,
    _check_networks_agree,
    _store_params,
)
from .ensemble import GUARDED_RULES, STACK_RULES, LayerCombiner
from .features import FeatureTap, _first_tensor, resolve_layers
from ._stats import RunningMoments
from .singularity import (
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

__all__ = ["FSSDDetector"]


def _class_probabilities(output):
    """A classifier's output as class probabilities: rows that already are probabilities
    (non-negative, summing to 1: a network that ends in a softmax) as they are, the others
    (logits, log-probabilities) through a softmax."""
    output = output.to(torch.float32)
    probabilities = (output >= 0).all(dim=1) & ((output.sum(dim=1) - 1).abs() < 1e-4)
    return torch.where(probabilities[:, None], output, torch.softmax(output, dim=1))


class FSSDDetector(BaseTorchDetector):
    """Out-of-distribution detector by Feature Space Singularity Distance.

    A network trained on in-distribution (ID) data moves ID features away
    from where uniform noise lands, the Feature Space Singularity ``F*``;
    inputs unlike the training data stay near it. For each tapped layer
    ``k`` the detector measures ``FSSD_k(x) = ||F_k(x) - F*_k||_2`` and
    combines the layers into one score, higher = more in-distribution
    (Huang et al., "Feature Space Singularity for Out-of-Distribution
    Detection", SafeAI 2021).

    Parameters
    ----------
    model : torch.nn.Module, fitted skorch net, list of them, or None, default=None
        The trained network. It is never changed: the detector works on a
        private copy in eval mode, which carries none of the hooks registered
        on the network (torch's own, such as pruning, excepted), so they never
        see the detector's passes. ``None`` builds a small MLP sized to ``X``
        and trains it (through skorch) to tell the in-distribution part of
        ``X`` from as many synthetic outliers (uniform noise over its range,
        rows with shuffled features), which needs no labels
        (:func:`~sklearn_fssd.training.train_table_discriminator`; chosen
        on tables that no reported benchmark holds,
        ``benchmarks/results/default_network.md``).
        A list (or tuple) of networks, e.g. independently trained copies of
        one architecture, is a *network ensemble* (the paper's Fig. 7):
        each network gets its own singularities, each layer's FSSD is
        averaged over the networks, and the averaged layer scores are
        combined as for one network. Every network must have the layers
        ``layers`` names (``"auto"`` must pick the same names in each).
        :func:`sklearn.base.clone` keeps the given network(s) as they are
        (pretrained data, not a hyper-parameter to refit).
    layers : "auto", str or list of str, default="auto"
        Names from ``model.named_modules()`` whose outputs are the feature
        maps. ``"auto"`` takes the network's ``default_layers`` if it has
        them, else its linear/convolutional/recurrent layers (or, for deep
        networks, its top-level blocks).
    epsilon : float, default=0.0
        Step of the input pre-processing, per layer ``k``:
        ``x~ = x + epsilon * sign(grad_x FSSD_k(x))`` and the layer scores
        ``FSSD_k(x~)`` (or one step for all layers, see ``perturb``). For
        token inputs the step is taken on the embedding.
        The paper tunes it on validation data over 0 to 0.2
        (``GridSearchCV``).
    perturb : {"per_layer", "joint"}, default="per_layer"
        How ``epsilon > 0`` steps. ``"per_layer"``: the paper's step, one per
        layer ``k`` along ``grad_x FSSD_k(x)``. ``"joint"``: one step for all
        layers, ``x~ = x + epsilon * sign(grad_x sum_k FSSD_k(x))``, every
        layer scored at ``x~``; about twice as fast with LeNet's four paper
        layers, and at least as good in AUROC where measured
        (``benchmarks/results/speed.md``).
    singularity : "noise" or array-like, default="noise"
        Where ``F*`` comes from: the mean features of ``n_noise`` noise
        inputs (uniform noise, or for token inputs random sequences, see
        ``noise_range``), or the mean features of the given OoD samples (for
        data without a natural noise).
    n_noise : int, default=100
        Number of noise inputs behind ``F*`` (the paper's code uses 100).
    noise_range : "auto" or (float, float), default="auto"
        Box the noise is drawn from. ``"auto"``: the range of the ID
        training inputs, per column for 2-D tables, one range for the whole
        input for images (per-pixel ranges collapse on MNIST's black border);
        constant columns get the overall range.
        For token inputs the noise is random sequences of token ids drawn
        uniformly over the vocabulary (a token id the ID data never holds, such
        as DNA's unknown base ``N``, or a padding id, included; chosen on DNA,
        ``benchmarks/results/fssd_defaults.md``); the synthetic outliers of the
        stacks draw theirs with the ID training tokens' frequencies
        (``noise_tokens_``).
    pooling : {"flatten", "avg"}, default="flatten"
        ``"flatten"`` uses the whole feature map (the paper's code);
        ``"avg"`` averages over spatial positions / time steps.
    distances : {"auto", "layer", "channel"}, default="auto"
        ``"auto"``: ``"channel"`` for token-id inputs (sequence models with an
        embedding) combined by ``"class_typical"`` or ``"typical_stack"``
        (what ``combine="auto"`` takes for classifiers), ``"layer"`` for
        everything else, as chosen by ``python -m benchmarks fssd-defaults``
        (one distance per channel leads on the genome set by several points
        and trails on the image sets by a few tenths; tables and the other
        rules were not measured per channel and keep the paper's).
        ``"layer"``: one FSSD per layer, ``||F_k(x) - F*_k||`` (the paper's).
        ``"channel"``: its parts, one distance per channel of each layer over
        that channel's positions (``sum_c FSSD_kc**2 = FSSD_k**2``), which the
        rules combine with diagonal Gaussians (see
        :class:`~sklearn_fssd.ensemble.LayerCombiner`'s ``covariance``; the
        typical stack weighs each layer's atypicality, the sum over its
        channels, as ``layer_widths`` does). One
        distance per layer sums away which channels sit near ``F*``. Channels
        are found as ``pooling="avg"`` finds them (the second axis of
        convolutions, the last of embeddings, linear, recurrent and attention
        layers; a unit of a 2-D output is a channel with one position). The
        benchmarks report it as the row "FSSD per channel (eps=0)" (see the
        user guide). ``layer_scores`` stays one FSSD per layer either way.
    combine : {"auto", "typical_stack", "guarded_stack", "stack", "class_typical", "typical", \
"mean"}, default="auto"
        How layers are combined (see :mod:`sklearn_fssd.ensemble`). Without
        OoD data: ``"class_typical"``, minus the Mahalanobis distance of the
        vector of log layer scores from the in-distribution Gaussians of the
        classes the network predicts, its squares averaged with the network's
        class probabilities as weights (classifiers only; the softmax of the
        output, or the output itself where its rows are probabilities);
        ``"typical"``, the same with one Gaussian for all inputs; ``"mean"``,
        the mean standardised log distance. With OoD data: ``"stack"``, a
        logistic regression over the layers (the paper's FSSD-Ensem), its
        regularisation chosen by inner cross-validation, fitted on the OoD
        samples of ``fit(X, y)``
        (without them, on synthetic outliers made from ``X``);
        ``"guarded_stack"``, the stack guarded by the rule without OoD data
        (an input is flagged when either finds it unusual), so that OoD kinds
        the stack never saw stay flagged: a plain stack fitted on MNIST
        against Fashion-MNIST calls uniform noise in-distribution;
        ``"typical_stack"``, the rule without OoD data with its layers weighted
        on the OoD samples: a logistic regression over how atypical each layer
        is, with non-negative weights (it learns how much each layer's
        atypicality counts, never that being unusual is in-distribution),
        guarded like ``"guarded_stack"``. On OoD kinds the OoD samples did not
        show, it stays close to the rule without OoD data, where the signed
        stacks fall behind.
        ``"auto"``: when ``y`` holds OoD samples, ``"typical_stack"`` for
        classifiers of images and sequences, ``"guarded_stack"`` otherwise; without
        them ``"class_typical"`` for classifiers of images and sequences and
        ``"typical"`` otherwise (tables, the default network). A network
        whose output is a (batch, n) tensor with n >= 2 counts as a classifier
        of n classes (its output logits or probabilities); for an encoder
        whose output is an embedding, pass ``combine="typical"``. The rules
        were chosen on data sets and splits that no reported benchmark
        column holds (``benchmarks/results/fssd_defaults.md``). The rule used
        is ``combine_``, its guard ``guard_``.
    far_outliers : bool, default=True
        ``"stack"`` and ``"guarded_stack"``: also train the stack against
        inputs far outside the training range and let it use squared layer
        scores, so that such inputs, whose features lie *far* from ``F*``,
        are flagged too. The paper's plain stack is ``far_outliers=False``.
        ``"typical_stack"`` uses it only without OoD labels (its synthetic
        outliers); with them it needs no far inputs, since it weighs
        atypicality, which far inputs have.
{contamination}
    max_epochs : int, default=30
        Training epochs of the default network (``model=None`` only).
    batch_size : int, default=256
        Samples per forward pass. Scores do not depend on it.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the network runs; "auto" takes CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise, the synthetic outliers, the default network's
        training and the stack's cross-validation.
    verbose : bool, default=False
        Progress bars (tqdm): one over the epochs when the default network
        trains, one for each pass over the data that has several batches.
{both_strands}

    Attributes
    ----------
    model_ : torch.nn.Module or list of torch.nn.Module
        The detector's private copy of the network (eval mode, on ``device_``);
        a list of copies when ``model`` is a list.
    layers_ : list of str
        The tapped layers.
    singularities_ : list of Tensor, or list of lists of Tensor
        ``F*_k`` for each layer, on ``device_`` (flat, or with
        ``distances="channel"`` shaped (positions, channels)); for a list of
        networks, one such list per network.
    channels_ : list of int
        The distance columns of each layer: 1, or with ``distances="channel"``
        its channels.
    noise_tokens_ : ndarray of shape (vocab_size,) or None
        Token inputs: the share of each token id in the ID training inputs,
        with which the synthetic outliers of the stacks draw their tokens (the
        noise behind ``F*`` draws them uniformly); ``None`` for other inputs.
    combine_ : str
        The combination rule used (``combine`` with "auto" resolved).
    guard_ : str
        The rule without OoD data for this network and input kind
        (``"class_typical"`` or ``"typical"``): what "auto" takes without OoD
        labels, and the guard of ``"guarded_stack"`` and ``"typical_stack"``.
    n_classes_ : int or None
        Classes the network predicts (the width of its 2-D output), or
        ``None`` when it is no classifier.
    combiner_ : LayerCombiner
        The fitted layer combination.
    offset_ : float
        ``decision_function = score_samples - offset_``.
    epsilon_, perturb_, pooling_, distances_ : float, str, str, str
        ``epsilon``, ``perturb``, ``pooling`` and ``distances`` as they were at ``fit``
        (``distances="auto"`` resolved).
        Scoring uses these, as the combination and ``offset_`` were fitted with them: a
        parameter changed by ``set_params`` takes effect at the next ``fit``.
    device_ : torch.device
    both_strands_ : bool
        ``both_strands`` as it was at ``fit``; scoring reads this.
    input_shape_ : tuple
        Shape of one sample.
    n_features_in_ : int

    See Also
    --------
    sklearn_fssd.pyod.FSSD : the same detector with PyOD's conventions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fssd import FSSDDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4))
    >>> det = FSSDDetector(max_epochs=5, random_state=0).fit(X)
    >>> det.layer_scores(X[:3]).shape  # net.fc1, net.fc2, net.out
    (3, 3)
    >>> det.predict(np.vstack([X[:1], 100 * X[:1]])).tolist()
    [1, -1]
    """

    _scoring_params = ("epsilon", "perturb", "pooling", "distances")

    _parameter_constraints = {
        **BaseTorchDetector._parameter_constraints,
        "model": [HasMethods(["forward"]), HasMethods(["fit", "predict"]), list, tuple, None],
        "layers": [StrOptions({"auto"}), str, list, tuple],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "perturb": [StrOptions({"per_layer", "joint"})],
        "singularity": [StrOptions({"noise"}), "array-like"],
        "n_noise": [Interval(Integral, 1, None, closed="left")],
        "noise_range": [StrOptions({"auto"}), tuple, list],
        "pooling": [StrOptions({"flatten", "avg"})],
        "distances": [StrOptions({"auto", "layer", "channel"})],
        "combine": [StrOptions({"auto", "stack", "guarded_stack", "typical_stack", "typical",
                                "class_typical", "mean"})],
        "far_outliers": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
    }

    __doc__ = __doc__.replace("{contamination}", CONTAMINATION_DOC).replace(
        "{both_strands}", BOTH_STRANDS_DOC)

    def __init__(self, model=None, *, layers="auto", epsilon=0.0, perturb="per_layer",
                 singularity="noise", n_noise=100, noise_range="auto", pooling="flatten",
                 distances="auto", combine="auto", far_outliers=True, contamination="auto",
                 max_epochs=30, batch_size=256, device="cpu", random_state=None, verbose=False,
                 both_strands=False):
        _store_params(self, locals())

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc(fit_x_y=FIT_X_Y)
    def fit(self, X, y=None):
        """Fit the detector.

        Parameters
        ----------
        {fit_x_y} The layers are
            then stacked by a logistic regression fitted on these labels
            (the paper's protocol). Without ``y`` (or with only +1) the
            layers are combined without OoD data. 0/1 or boolean labels are
            an error (PyOD's 1 = outlier converts as ``np.where(y == 1, -1,
            1)``); labels that mark no OoD rows, such as classes, are ignored
            with a warning.

        Returns
        -------
        self : FSSDDetector
        """
        X, y_id = self._validate_fit_data(X, y)
        rng = check_random_state(self.random_state)
        seed = draw_seed(rng)  # rng goes on to draw the synthetic outliers
        X_id = X[y_id == 1]
        if self.combine == "class_typical" and self.model is None:
            raise ValueError(
                'combine="class_typical" groups the inputs by the class the network predicts, '
                "and model=None builds a network that tells X from synthetic outliers, which "
                "predicts no class of X: pass a trained "
                'classifier as model, or use combine="typical", the same rule without classes.'
            )
        self._prepare_network(X, seed)
        if self.model is None:
            self.model_ = self._train_default_model(X_id, seed)
            self._setup_inputs(X)
        networks = self._networks()
        self.layers_ = self._resolve_layers(networks)

        self.n_classes_ = self._output_classes(networks, X)
        self.combine_ = self._resolve_combine(X, y_id)
        if self.distances == "auto":
            self.distances_ = self._resolve_distances()

        low, high = self._noise_box(X_id)
        self.noise_low_, self.noise_high_ = low, high
        self.noise_tokens_ = token_frequencies(X_id, self.vocab_size_) if self.tokens_ else None
        singularities = [self._singularities(net, low, high, seed) for net in networks]
        self.singularities_ = singularities if isinstance(self.model_, list) else singularities[0]
        self.channels_ = self._channels(singularities)

        columns = self._columns(X)
        check_finite_fit(columns, type(self).__name__)
        extra = self._extra_outliers(X_id, y_id, low, high, rng)
        extra_columns = self._columns(extra)
        # far synthetic outliers of data near float32's limits can overflow: they are OoD
        # anyway, and the layer stack cannot take them
        extra_columns = extra_columns[finite_rows(extra_columns)]
        fit_columns = np.vstack([columns, extra_columns])
        fit_labels = np.r_[y_id, -np.ones(len(extra_columns), dtype=int)]
        self.combiner_ = LayerCombiner(
            combine=self.combine_,
            quadratic=self.far_outliers and not self.tokens_,
            guard=self.guard_,
            random_state=seed,
            covariance="diagonal" if self.distances_ == "channel" else "shrunk",
            layer_widths=list(self.channels_) if self.distances_ == "channel" else None,
        )
        fit_distances, fit_groups = self._split_columns(fit_columns)
        self.combiner_.fit(fit_distances, fit_labels, groups=fit_groups)

        self._set_offset(self._combine(columns), y_id)
        return self

    def _resolve_layers(self, networks):
        """``layers`` checked against every network; all must tap the same names."""
        names = [resolve_layers(net, self.layers) for net in networks]
        _check_networks_agree(names, lambda first, other, index: (
            f"The networks of model have different layers: layers={self.layers!r} "
            f"taps {first} in network 0 but {other} in network {index}. A network "
            "ensemble averages each layer's FSSD over the networks; pass networks of "
            "one architecture, or layers=[...] with names valid in every network."
        ))
        return names[0]

    #: Parameters a pickle may predate whose default changed since: the value it behaved as
    #: (detectors pickled before ``distances`` existed read one distance per layer)
    _value_before = {"distances": "layer"}

    def __setstate__(self, state):
        super().__setstate__(state)
        if "distances" not in self.__dict__:
            self.distances = self._value_before["distances"]
            if hasattr(self, "offset_"):
                self.distances_, self.channels_ = self.distances, [1] * len(self.layers_)

    def _channels(self, singularities):
        """The distance columns of each layer: 1, or with ``distances="channel"`` its channels
        (the same in every network)."""
        if self.distances_ == "layer":
            return [1] * len(self.layers_)
        widths = [[int(centre.shape[-1]) for centre in centres] for centres in singularities]
        _check_networks_agree(widths, lambda first, other, index: (
            f"The layers of the networks of model have different channels: {first} in network "
            f"0 but {other} in network {index}. distances='channel' (which 'auto' takes for "
            "token inputs) averages each channel's "
            "distance over the networks; pass networks of one architecture, or "
            "distances='layer'."
        ))
        return widths[0]

    def _per_network(self):
        """Pairs (network, singularities of its layers)."""
        if isinstance(self.model_, list):
            return list(zip(self.model_, self.singularities_))
        return [(self.model_, self.singularities_)]

    def _output_classes(self, networks, X):
        """The number of classes the network(s) predict: the width of a 2-D output with at
        least two columns, the same in every network; ``None`` otherwise (the default network, an
        autoencoder, a regression)."""
        if self.model is None:  # the default network tells X from noise: no class of X
            return None
        x = to_tensor(X[:2], self.device_, dtype=None if self.tokens_ else torch.float32)
        widths = set()
        with torch.inference_mode():
            for network in networks:
                out = _first_tensor(network(x))
                ok = isinstance(out, torch.Tensor) and out.ndim == 2 and out.shape[1] >= 2
                widths.add(int(out.shape[1]) if ok else None)
        return widths.pop() if len(widths) == 1 else None

    def _resolve_combine(self, X, y_id):
        """``combine`` with "auto" resolved; sets ``guard_``, the rule without OoD data
        (``"class_typical"`` for classifiers of images and sequences, else ``"typical"``)
        that "auto" takes without OoD labels and that guards the stacks."""
        table = X.ndim == 2 and not self.tokens_
        self.guard_ = "class_typical" if self.n_classes_ and not table else "typical"
        if self.combine == "class_typical" and self.n_classes_ is None:
            raise ValueError(
                'combine="class_typical" groups the inputs by the class the network predicts, '
                "but the network's output is not a (batch, n_classes) tensor with at least 2 "
                '(or the networks disagree); use combine="typical", the same rule without '
                "classes."
            )
        if self.combine != "auto":
            return self.combine
        if not (y_id == -1).any():
            return self.guard_
        # measured on classifiers of images and sequences (fssd_defaults.md); tables keep the
        # signed guarded stack, which no measurement has yet put behind
        return "typical_stack" if self.guard_ == "class_typical" else "guarded_stack"

    def _resolve_distances(self):
        """``distances="auto"``: one distance per channel for token inputs combined by a rule
        measured that way (``fssd_defaults.md``: ``"class_typical"`` and ``"typical_stack"``,
        what ``combine="auto"`` takes for classifiers of sequences), else one per layer."""
        per_channel = self.tokens_ and self.combine_ in ("class_typical", "typical_stack")
        return "channel" if per_channel else "layer"

    def _train_default_model(self, X_id, seed):
        """The network of ``model=None``: an MLP trained (through skorch) to tell X_id from
        synthetic outliers (:func:`~sklearn_fssd.training.train_table_discriminator`)."""
        from .training.tables import train_table_discriminator

        net = train_table_discriminator(X_id, max_epochs=self.max_epochs, random_state=seed,
                                        device=self.device_, verbose=self.verbose)
        return _frozen_copy(net, self.device_)

    def _noise_box(self, X_id):
        if self.tokens_:
            return None, None
        if isinstance(self.noise_range, str):
            return input_range(X_id)
        if len(self.noise_range) != 2 or not self.noise_range[0] < self.noise_range[1]:
            raise ValueError(
                f"noise_range must be 'auto' or (low, high) with low < high; got "
                f"{self.noise_range!r}."
            )
        shape = X_id.shape[1:]
        low, high = (float(bound) for bound in self.noise_range)
        return np.full(shape, low), np.full(shape, high)

    def _singularities(self, network, low, high, seed):
        """F*_k of one network: mean features of noise (or of the given OoD samples)."""
        if isinstance(self.singularity, str):
            source = self._singularity_noise(low, high, torch.Generator().manual_seed(seed))
        else:
            source = self._validate_X(self.singularity, reset=False, name="singularity")
        tap = self._tap(network)
        means = [RunningMoments() for _ in self.layers_]
        with torch.inference_mode():
            for sl in iter_batches(len(source), self.batch_size):
                for mean, feats in zip(means, tap(to_tensor(source[sl], self.device_))):
                    mean.update(feats)
        return [m.mean().to(device=self.device_, dtype=torch.float32) for m in means]

    def _singularity_noise(self, low, high, generator, token_frequencies=None):
        """The noise behind ``F*``: ``n_noise`` inputs uniform over ``[low, high]``, or for token
        inputs sequences of token ids uniform over the vocabulary (with ``token_frequencies``,
        drawn with those shares instead)."""
        if self.tokens_:
            noise = random_tokens(self.n_noise, self.input_shape_[0], self.vocab_size_,
                                  generator=generator, frequencies=token_frequencies)
        else:
            noise = uniform_noise(self.n_noise, low, high, generator=generator)
        return noise.numpy()

    def _extra_outliers(self, X_id, y_id, low, high, rng):
        """Synthetic OoD inputs the layer stack is trained against.

        Without real OoD samples: all kinds (noise, shuffled rows and, with
        ``far_outliers``, inputs far outside the training range), as many as
        ID samples (at most 10,000). With real OoD samples: only the far
        kinds, a quarter as many, since the real ones cover the near side;
        none for ``"typical_stack"``, whose non-negative weights on
        atypicality flag far inputs without being shown any.
        """
        if self.combine_ not in STACK_RULES:
            return X_id[:0]
        has_ood = bool((y_id == -1).any())
        if has_ood and self.combine_ == "typical_stack":
            # atypicality with non-negative weights flags far inputs without being shown them
            return X_id[:0]
        n = int(min(max(len(X_id), 8), 10_000))
        if self.tokens_:
            if has_ood:
                return X_id[:0]
            return synthetic_token_outliers(X_id, self.vocab_size_, n, random_state=rng,
                                            frequencies=self.noise_tokens_)
        if has_ood:
            if not self.far_outliers:
                return X_id[:0]
            return synthetic_outliers(X_id, low, high, max(8, n // 4), kinds=("scaled", "wide"),
                                      random_state=rng)
        kinds = ("noise", "shuffled") + (("scaled", "wide") if self.far_outliers else ())
        return synthetic_outliers(X_id, low, high, n, kinds=kinds, random_state=rng)

    # -------------------------------------------------------------- scoring

    def _tap(self, network, classes=False):
        # "" is the whole network: its output gives the class probabilities
        layers = self.layers_ + ([""] if classes else [])
        return FeatureTap(network, layers, pooling=self.pooling_, perturb_at=self._perturb_at,
                          keep_channels=self.distances_ == "channel")

    def _grouped(self):
        """Whether scoring needs the network's class probabilities (``"class_typical"``)."""
        # getattr: detectors pickled before these rules existed have no guard_
        guarded = self.combine_ in GUARDED_RULES
        rule = getattr(self, "guard_", None) if guarded else self.combine_
        return rule == "class_typical"

    def _batch_distances(self, tap, centres, x, workspace, classes):
        """FSSD of each layer of one network for one batch: tensor (batch, n_layers), or with
        ``distances="channel"`` of each channel of each layer, (batch, sum(channels_)); with
        ``classes``, followed by the network's class probabilities (batch, n_classes), read in
        the first forward pass, on the input itself."""
        n_layers = len(self.layers_)

        def reduce(k, feats):
            if k == n_layers:  # the network's output ((batch, 1, n_classes) by channel)
                return _class_probabilities(feats.flatten(start_dim=1))
            if tap.keep_channels:
                return channel_distances(feats, centres[k])
            if k not in workspace:
                workspace[k] = distance_workspace(feats)
            return fssd_distance(feats, centres[k], workspace=workspace[k])

        # the classes of the input itself, read in the first (unperturbed) forward pass
        columns = self._layer_scores(tap, x, reduce, self._step_objective(centres),
                                     only=range(n_layers), joint=self.perturb_ == "joint",
                                     read=[n_layers] if classes else [])
        distances = torch.cat([c.reshape(len(c), -1) for c in columns[:n_layers]], dim=1)
        if not classes:
            return distances
        return torch.cat([distances, columns[n_layers].to(distances.dtype)], dim=1)

    def _step_objective(self, centres):
        """``objective(k, features)``: what the pre-processing step increases, layer ``k``'s
        FSSD."""
        return lambda k, feats: fssd_distance(feats.flatten(start_dim=1), centres[k].flatten())

    def _n_distances(self):
        """Distance columns of :meth:`_columns`: one per layer, or one per channel."""
        return sum(self.channels_)

    def _layer_fssd(self, distances):
        """Each layer's FSSD from the distances of its channels (the root of their sum of
        squares); the distances themselves where they are one per layer."""
        if len(self.channels_) == distances.shape[1]:
            return distances
        ends = np.cumsum(self.channels_).tolist()
        return torch.stack([distances[:, end - width:end].norm(dim=1)
                            for width, end in zip(self.channels_, ends)], dim=1)

    def _split_columns(self, columns):
        """``(distances, class probabilities or None)`` of :meth:`_columns`' output."""
        width = self._n_distances()
        if columns.shape[1] == width:
            return columns, None
        return columns[:, :width], columns[:, width:]

    def _combine(self, columns):
        """The combined score of :meth:`_columns`' output; NaN where it overflowed."""
        def combined(finite):
            distances, groups = self._split_columns(finite)
            return self.combiner_.decision_function(distances, groups=groups)

        return on_finite_rows(columns, combined)

    def _distances(self, X):
        """Per-layer FSSD of validated inputs, streamed in batches: (n, n_layers).

        For a list of networks (or both strands), each layer's FSSD averaged over the networks
        (the strands), with ``distances="channel"`` as with ``"layer"``.
        """
        return self._columns(X, classes=False, per_layer=True)

    def _columns(self, X, classes=None, per_layer=False):
        """The distances the combination reads (one per layer, or one per channel; with
        ``per_layer``, each layer's FSSD whatever ``distances``), followed, where the
        combination needs the class probabilities (``classes=None``: for
        ``"class_typical"``), by the network's softmax (averaged over a list of networks).
        Without it the forward pass stops at the last tapped layer."""
        classes = self._grouped() if classes is None else classes
        # per network: its tap, its singularities and memory for feature
        # differences, reused by every batch
        parts = [(self._tap(net, classes), centres, {}) for net, centres in self._per_network()]

        def batch_distances(x):
            per_network = [self._batch_distances(tap, c, x, ws, classes) for tap, c, ws in parts]
            if per_layer:  # each network's (and strand's) layer FSSD, then their mean
                per_network = [self._layer_fssd(d) for d in per_network]
            if len(per_network) == 1:
                return per_network[0]
            return torch.stack(per_network).mean(dim=0)

        width = ((len(self.layers_) if per_layer else self._n_distances())
                 + (self.n_classes_ if classes else 0))
        return self._map_batches(X, batch_distances, desc="FSSD").reshape(len(X), width)

    @fill_doc(scoring_x=SCORING_X)
    def layer_scores(self, X):
        """FSSD of each tapped layer, higher = more in-distribution.

        {scoring_x}
        ndarray of shape (n_samples, n_layers)
            Column ``k`` is ``FSSD_k`` of layer ``layers_[k]`` (after input
            pre-processing when ``epsilon > 0``). Samples that cannot be
            scored (see :meth:`score_samples`) get the lowest score,
            ``-numpy.finfo(numpy.float64).max``, in every column.
        """
        check_is_fitted(self)
        return self._lowest_where_unscorable(self._distances(self._validate_X(X, reset=False)))

    def _score_samples(self, X):
        """The layers combined by ``combiner_`` (see :class:`LayerCombiner`); NaN for
        samples whose distances overflow."""
        return self._combine(self._columns(X))
