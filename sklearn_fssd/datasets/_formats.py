"""The file formats of the data sets, parsed from bytes already read and verified.

IDX (MNIST and its relatives), ``.npz`` (read without pickles) and MATLAB
``.mat``. Every problem raises :class:`CorruptDataError` naming the file and
what to do about it (``remedy``).
"""

import io
import zipfile
import zlib

import numpy as np

from ._errors import CorruptDataError


# By hand: pooch fetches files but parses none, and no dependency of ours reads IDX.
def parse_idx(data, shown, *, ndim, tail, remedy):
    """Unsigned-byte IDX array from ``data``, with the header checked strictly."""
    magic_expected = 0x0800 | ndim
    if len(data) < 4:
        raise CorruptDataError(
            f"{shown} is not an IDX file: it holds only {len(data)} bytes. {remedy}", path=shown
        )
    magic = int.from_bytes(data[:4], "big")
    if magic != magic_expected:
        raise CorruptDataError(
            f"{shown} is not the expected IDX file: its magic number is 0x{magic:08X}, expected "
            f"0x{magic_expected:08X} (unsigned bytes, {ndim} dimensions). {remedy}",
            path=shown,
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptDataError(
            f"{shown} is truncated: its {len(data)} bytes do not hold the {header}-byte IDX "
            f"header. {remedy}",
            path=shown,
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims[1:] != tuple(tail):
        raise CorruptDataError(
            f"{shown} holds arrays of shape {dims[1:]}, expected {tuple(tail)}. {remedy}",
            path=shown,
        )
    need = int(np.prod(dims, dtype=np.int64))
    have = len(data) - header
    if have != need:
        problem = "is truncated" if have < need else "is corrupt (too long)"
        raise CorruptDataError(
            f"{shown} {problem}: its IDX header declares shape {dims}, i.e. {need} bytes of "
            f"data, but {have} follow the {header}-byte header. {remedy}",
            path=shown,
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def parse_idx_file(data, shown, name, remedy):
    """Parse an MNIST-style IDX file, images or labels according to its ``name``."""
    if "-images-" in name:
        return parse_idx(data, shown, ndim=3, tail=(28, 28), remedy=remedy)
    return parse_idx(data, shown, ndim=1, tail=(), remedy=remedy)


def read_npz(data, shown, remedy):
    """The arrays of the ``.npz`` file ``data``, read without pickles."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, zlib.error) as exc:
        raise CorruptDataError(
            f"{shown} could not be read as a .npz file ({exc}). {remedy}", path=shown
        ) from exc


def read_mat(data, shown, remedy):
    """The variables of the MATLAB ``.mat`` file ``data``."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        return loadmat(io.BytesIO(data))
    except (MatReadError, ValueError, TypeError, OSError, EOFError, zlib.error) as exc:
        raise CorruptDataError(
            f"{shown} could not be read as a MATLAB .mat file ({exc}). {remedy}", path=shown
        ) from exc
