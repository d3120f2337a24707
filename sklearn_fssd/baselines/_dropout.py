"""Dropout masks that do not depend on the batch, for MC Dropout.

A hand-written 32-bit hash (MurmurHash3's finaliser) keys each sample's mask
on its content, so a sample's score is the same in any batch and for any
``batch_size``; :class:`_KeyedDropout` replaces the dropout modules of the
detector's private copy of the network.
"""

import math
import threading

import torch
from torch import nn

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
