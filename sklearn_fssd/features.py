"""Forward-hook taps on named modules, and the one input-perturbation primitive.

:class:`FeatureTap` reads the outputs of any submodules of any network, by the
names of ``named_modules()``, with forward hooks that are removed when the
call ends (also when it fails). No network needs a ``feature_list`` method.

:func:`perturbation` is the gradient-sign step of FSSD's input pre-processing
(Algorithm 1 of the paper, also ODIN's and Mahalanobis's step):
``x~ = x + eps * sign(grad_x objective(x))``. The step is taken on an additive
``delta`` at a "perturbation point": the input itself for continuous inputs,
or the output of the embedding layer for token sequences, where inputs are
integers and have no gradient. :func:`layer_scores` is the scoring loop of
every detector that taps layers, with or without that pre-processing.
"""

import difflib
import threading

import torch
from torch import nn

__all__ = ["resolve_layers", "auto_layers", "FeatureTap", "perturbation", "layer_scores"]

# Modules whose outputs are features worth tapping when layers="auto".
_FEATURE_MODULES = (nn.Embedding, nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase)
_MAX_AUTO_LAYERS = 6


def auto_layers(module):
    """Layers that ``layers="auto"`` taps.

    The network's own ``default_layers`` when it has them (every network of
    :mod:`sklearn_fssd.models` does). Otherwise every embedding, linear,
    convolutional and recurrent layer when there are at most six of them (the paper's
    LeNet: both convolutions and both fully connected layers); for deeper
    networks, the top-level blocks that hold such layers (for a ResNet: the
    stem, each stage and the classifier).

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    layers : list of str
        Names from ``module.named_modules()``.

    Examples
    --------
    >>> from torch import nn
    >>> auto_layers(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)))
    ['0', '2']
    """
    default = getattr(module, "default_layers", None)
    if default is not None:
        return list(default)
    leaves = [
        name for name, m in module.named_modules() if name and isinstance(m, _FEATURE_MODULES)
    ]
    if not leaves:
        raise ValueError(
            f"layers='auto' found no embedding, linear, convolutional or recurrent layer in "
            f"{type(module).__name__}; pass layers=[...] with names from "
            f"{_valid_names(module)}."
        )
    if len(leaves) <= _MAX_AUTO_LAYERS:
        return leaves
    tops = []
    for name in leaves:
        top = name.split(".")[0]
        if top not in tops:
            tops.append(top)
    return tops


def _valid_names(module):
    return [name for name, _ in module.named_modules() if name]


def resolve_layers(module, layers):
    """Check layer names against ``module.named_modules()``.

    Parameters
    ----------
    module : torch.nn.Module
    layers : "auto", str or list of str

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        For an unknown name: the message lists the valid names and the
        closest match.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> resolve_layers(net, ["0", "2"])
    ['0', '2']
    """
    if isinstance(layers, str) and layers == "auto":
        names = auto_layers(module)
    elif isinstance(layers, str):
        names = [layers]
    else:
        names = list(layers)
    if not names:
        raise ValueError("layers is empty; give at least one layer name, or layers='auto'.")
    known = dict(module.named_modules())
    for name in names:
        if not isinstance(name, str) or not name or name not in known:
            valid = _valid_names(module)
            close = difflib.get_close_matches(str(name), valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Layer {name!r} not found in {type(module).__name__}; available: {valid}.{hint}"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"layers lists a name twice: {names}.")
    return names


class _StopForward(Exception):
    """Raised by a hook once every tapped layer has produced its output."""


def _first_tensor(output):
    # LSTM/GRU return (output, state); some blocks return tuples or lists.
    while isinstance(output, (tuple, list)):
        output = output[0]
    return output


def _pool(tensor, pooling, layout, keep_channels=False):
    """A layer's features, one row per sample: ``(N, n_features)``, or with ``keep_channels``
    ``(N, positions, channels)`` (``(N, 1, channels)`` for 2-D outputs and for ``"avg"``)."""
    if layout == "time_first" and tensor.dim() == 3:
        tensor = tensor.transpose(0, 1)  # (L, N, H) -> (N, L, H): one row per sample
    if tensor.dim() <= 2:
        flat = tensor.flatten(start_dim=1)
        return flat.unsqueeze(1) if keep_channels else flat
    if pooling == "flatten" and not keep_channels:
        return tensor.flatten(start_dim=1)
    if layout == "channels_first":  # (N, C, *positions)
        by_channel = tensor.flatten(start_dim=2).transpose(1, 2)
    else:  # (N, *positions, C)
        by_channel = tensor.flatten(start_dim=1, end_dim=-2)
    if pooling == "avg":  # average over positions, keep channels
        by_channel = by_channel.mean(dim=1, keepdim=True)
        return by_channel if keep_channels else by_channel[:, 0]
    return by_channel


# norms that act on their trailing normalized_shape axes (nn.RMSNorm exists from torch 2.4 on)
_NORMS = tuple(getattr(nn, name) for name in ("LayerNorm", "RMSNorm") if hasattr(nn, name))


def _batch_first(module):
    """``batch_first`` of a recurrent or attention layer, of the attention inside a transformer
    layer, or of a transformer stack's first layer; None for modules without one."""
    if isinstance(module, (nn.TransformerEncoder, nn.TransformerDecoder)):
        module = module.layers[0]
    for candidate in (module, getattr(module, "self_attn", None)):
        if isinstance(candidate, (nn.RNNBase, nn.MultiheadAttention)):
            return candidate.batch_first
    return None


def _layout(module):
    """Where a module's output keeps its samples and channels: ``"time_first"`` for recurrent
    and attention layers with ``batch_first=False`` (``(L, N, H)``); ``"channels_last"`` for
    those with ``batch_first=True`` and for embeddings, linear layers and norms over one axis
    (``LayerNorm(d)``, ``RMSNorm(d)``), which act on the last axis; else ``"channels_first"``
    (``(N, C, *positions)``, as convolutions and pooling have it, and as a norm over several
    axes, ``LayerNorm([C, H, W])`` after a convolution, keeps it)."""
    batch_first = _batch_first(module)
    if batch_first is False:
        return "time_first"
    if batch_first or isinstance(module, (nn.Embedding, nn.Linear)):
        return "channels_last"
    if isinstance(module, _NORMS) and len(module.normalized_shape) == 1:
        return "channels_last"
    return "channels_first"


class FeatureTap:
    """Read the outputs of named submodules during one forward pass.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in the state the caller wants (eval mode, device).
    layers : list of str
        Names from ``module.named_modules()`` (see :func:`resolve_layers`).
    pooling : {"flatten", "avg"}, default="flatten"
        ``"flatten"`` keeps the whole feature map as one vector, as the
        paper's released code does; ``"avg"`` averages over spatial positions
        (or time steps) and keeps one value per channel.
    perturb_at : str or None, default=None
        Name of the module whose output receives the additive ``delta`` in
        :meth:`__call__`; ``None`` adds ``delta`` to the input.
    stop_early : bool, default=True
        Stop the forward pass once every tapped layer has fired, so tapping
        only early layers does not pay for the rest of the network.
    keep_channels : bool, default=False
        Return each layer's features as ``(batch, positions, channels)``
        (``positions`` 1 for ``"avg"`` and for layers without positions)
        instead of one flat row per sample, so distances can be taken per
        channel.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    >>> feats = FeatureTap(net, ["0", "2"])(torch.zeros(5, 3))
    >>> [f.shape for f in feats]
    [torch.Size([5, 4]), torch.Size([5, 2])]
    """

    def __init__(self, module, layers, pooling="flatten", perturb_at=None, stop_early=True,
                 keep_channels=False):
        self.module = module
        self.layers = list(layers)
        self.pooling = pooling
        self.perturb_at = perturb_at
        self.stop_early = stop_early
        self.keep_channels = keep_channels
        modules = dict(module.named_modules())
        self._targets = [modules[name] for name in self.layers]
        self._layouts = [_layout(target) for target in self._targets]  # fixed per module
        self._perturb_module = modules[perturb_at] if perturb_at is not None else None

    def _tensor_of(self, index, output):
        """The feature tensor of a layer's output; a clear error for outputs without one."""
        tensor = _first_tensor(output)
        if isinstance(tensor, torch.Tensor):
            return tensor
        name = self.layers[index]
        layer = f"layer {name!r} of" if name else "the whole network"
        keys = f" with keys {list(tensor)}" if isinstance(tensor, dict) else ""
        raise TypeError(
            f"The output of {layer} {type(self.module).__name__} is a "
            f"{type(tensor).__name__}{keys}, not a tensor (or a tuple whose first element is "
            "one). Tap a submodule that returns a tensor (layers=[...], or logits_layer= for "
            "the baselines), or wrap the network so that forward returns a tensor, e.g. "
            "return model(x)['logits']."
        )

    def __call__(self, x, delta=None, only=None, reduce=None):
        """Forward ``x`` and return the features of the tapped layers.

        Parameters
        ----------
        x : Tensor
            A batch of inputs.
        delta : Tensor or None
            Added to the input (or to the output of ``perturb_at``).
        only : list of int or None
            Indices of the layers to return; the forward pass stops as soon
            as they are all read.
        reduce : callable or None
            ``reduce(index, features)`` applied inside the hook, as soon as
            the layer fires; its result is returned instead of the features.
            Large feature maps are then dropped at once instead of being
            kept alive until the forward pass ends.

        Returns
        -------
        list of Tensor of shape (batch, n_features_k) (``keep_channels``: (batch,
        positions_k, channels_k); or of what ``reduce`` returns), in the order of
        ``layers`` (or of ``only``).
        """
        wanted = list(range(len(self.layers))) if only is None else list(only)
        captured = {}
        handles = []
        # Hooks live on the shared module, so a forward pass in another thread (another call
        # scoring with the same network) fires them too: each hook acts only in its own thread.
        owner = threading.get_ident()

        def make_hook(index, layout):
            def hook(mod, inputs, output):
                if threading.get_ident() != owner:
                    return
                if index in captured:  # a module called twice: keep the first call
                    return
                features = _pool(self._tensor_of(index, output), self.pooling, layout,
                                 self.keep_channels)
                captured[index] = features if reduce is None else reduce(index, features)
                if self.stop_early and all(i in captured for i in wanted):
                    raise _StopForward

            return hook

        try:
            if delta is not None and self._perturb_module is not None:
                handles.append(
                    self._perturb_module.register_forward_hook(
                        lambda mod, inputs, output: (
                            output + delta if threading.get_ident() == owner else None
                        )
                    )
                )
            for index in wanted:
                handles.append(
                    self._targets[index].register_forward_hook(
                        make_hook(index, self._layouts[index])
                    )
                )
            if delta is not None and self._perturb_module is None:
                x = x + delta
            try:
                self.module(x)
            except _StopForward:
                pass
        finally:
            for handle in handles:
                handle.remove()
        missing = [self.layers[i] for i in wanted if i not in captured]
        if missing:
            raise RuntimeError(
                f"Layers {missing} of {type(self.module).__name__} were not called during "
                "the forward pass; tap modules that forward() uses."
            )
        return [captured[i] for i in wanted]


def perturbation(objective, delta, epsilon):
    """The gradient-sign step: ``epsilon * sign(d objective / d delta)``.

    One primitive for FSSD, ODIN and Mahalanobis pre-processing. The caller
    builds ``objective`` from a forward pass in which ``delta`` (a zero
    tensor with ``requires_grad=True``) was added at the perturbation point;
    the returned step is the new ``delta`` to forward again. Samples do not
    interact: the objective is a sum of per-sample terms, so each sample's
    step depends on that sample alone.

    Parameters
    ----------
    objective : Tensor of shape (n_samples,)
        Per-sample quantity to increase (FSSD: distance to F*; ODIN: the log
        of the maximum softmax probability at temperature T; Mahalanobis:
        minus the squared distance to the closest class mean).
    delta : Tensor
        The zero tensor the objective was computed through.
    epsilon : float
        Step size.

    Returns
    -------
    Tensor shaped like ``delta``, without gradient.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0, -2.0]])
    >>> delta = torch.zeros_like(x, requires_grad=True)
    >>> perturbation(((x + delta) ** 2).sum(dim=1), delta, 0.1)
    tensor([[ 0.1000, -0.1000]])
    """
    (grad,) = torch.autograd.grad(objective.sum(), delta, retain_graph=True)
    return epsilon * torch.sign(grad)


def layer_scores(tap, x, reduce, *, epsilon=0.0, objective=None, delta=None, only=None,
                 joint=False, read=()):
    """Scores of tapped layers for one batch, after per-layer input pre-processing.

    With ``epsilon == 0``: ``reduce(k, F_k(x))`` for each layer ``k``, from
    one forward pass without autograd. With ``epsilon > 0`` (Algorithm 1 of
    the FSSD paper, per layer): ``x~_k = x + epsilon * sign(grad_x
    objective(k, F_k(x)))`` and ``reduce(k, F_k(x~_k))``. The work is the
    least per-layer pre-processing needs: one forward pass with its graph
    serves every layer's gradient (``objective`` is applied inside the
    hooks; a layer's backward pass runs only through the part of the graph
    below it), then one forward pass per layer on its perturbed input,
    without autograd, that stops at that layer. With ``joint=True`` one step
    serves all layers, ``x~ = x + epsilon * sign(grad_x sum_k objective(k,
    F_k(x)))``, and each layer is scored at that ``x~``: one forward pass with
    its graph, one backward pass and one forward pass.

    Parameters
    ----------
    tap : FeatureTap
    x : Tensor
        A batch of inputs.
    reduce : callable
        ``reduce(k, features) -> Tensor``: the score of layer ``k``.
    epsilon : float, default=0.0
        Step of the pre-processing.
    objective : callable or None
        ``objective(k, features) -> Tensor of shape (batch,)``, the quantity
        the step increases; ``None``: ``reduce``. Needed only for
        ``epsilon > 0``.
    delta : Tensor or None
        A zero tensor with ``requires_grad=True``, shaped as what the tap's
        perturbation point adds (the input, or the embedding's output).
        Needed only for ``epsilon > 0``.
    only : list of int or None
        Indices of the layers to score; ``None``: all of them.
    joint : bool, default=False
        One step for all layers (the gradient of the sum of their
        objectives) instead of one step per layer.
    read : sequence of int, default=()
        Indices of tapped modules read on the *unperturbed* input, in the
        first forward pass, without a step: ``reduce(k, features)`` of each,
        appended to the result (FSSD reads the network's output there, for
        its class probabilities, at no extra pass).

    Returns
    -------
    list of Tensor, one per layer of ``only`` (or of ``tap.layers``), then
    one per index of ``read``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).eval()
    >>> tap, x = FeatureTap(net, ["0", "2"]), torch.ones(4, 2)
    >>> norm = lambda k, feats: feats.norm(dim=1)
    >>> plain = layer_scores(tap, x, norm)
    >>> stepped = layer_scores(tap, x, norm, epsilon=0.1,
    ...                        delta=torch.zeros_like(x, requires_grad=True))
    >>> [tuple(s.shape) for s in stepped]
    [(4,), (4,)]
    >>> bool((stepped[0] >= plain[0]).all())  # the norm of an affine map grows along the step
    True
    """
    wanted = list(range(len(tap.layers))) if only is None else list(only)
    read = list(read)
    if epsilon == 0:
        with torch.inference_mode():
            return tap(x, only=wanted + read, reduce=reduce)
    objective = reduce if objective is None else objective

    def first_pass(k, features):
        if k in read:  # read as it is, outside the graph
            return reduce(k, features.detach())
        return objective(k, features)

    with torch.enable_grad():
        values = tap(x, delta=delta, only=wanted + read, reduce=first_pass)
        objectives, extras = values[:len(wanted)], values[len(wanted):]
        del values
        if joint:
            objectives = [torch.stack(objectives).sum(dim=0)]
        steps = [perturbation(value, delta, epsilon) for value in objectives]
    del objectives  # the graph: free it before the perturbed passes
    with torch.inference_mode():
        if joint:
            return tap(x, delta=steps[0], only=wanted, reduce=reduce) + extras
        return [tap(x, delta=step, only=[k], reduce=reduce)[0]
                for k, step in zip(wanted, steps)] + extras
