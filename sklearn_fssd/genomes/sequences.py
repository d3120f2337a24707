"""Reading genome files: FASTA and GenBank records, and bases as token ids."""

import gzip
import lzma
import zlib

import numpy as np
import torch

__all__ = ["encode_dna", "read_sequences", "reverse_complement"]

# A, C, G, T (either case) -> 0..3; every other byte (N, IUPAC codes, gaps) -> 4.
_LUT = np.full(256, 4, dtype=np.uint8)
for _i, _base in enumerate(b"ACGT"):
    _LUT[_base] = _LUT[_base + 32] = _i


_NOT_LETTERS = bytes(b for b in range(256) if not 65 <= (b & 0xDF) <= 90)


def encode_dna(sequence):
    """Encode a DNA sequence as token ids: A=0, C=1, G=2, T=3, anything else 4.

    Parameters
    ----------
    sequence : str or bytes
        Bases, in either case; N and IUPAC ambiguity codes become 4.

    Returns
    -------
    tokens : ndarray of uint8 of shape (len(sequence),)

    Examples
    --------
    >>> from sklearn_fssd.genomes import encode_dna
    >>> encode_dna("ACGTacgtNRY").tolist()
    [0, 1, 2, 3, 0, 1, 2, 3, 4, 4, 4]
    """
    if isinstance(sequence, str):
        sequence = sequence.encode("ascii", errors="replace")
    return _LUT[np.frombuffer(bytes(sequence), dtype=np.uint8)]


def reverse_complement(tokens):
    """The same DNA read on the other strand: bases complemented, order reversed.

    Parameters
    ----------
    tokens : ndarray or torch.Tensor of integers
        Token ids as :func:`encode_dna` makes them (A=0, C=1, G=2, T=3), the
        bases along the last axis. Ids from 4 up (N, other symbols) are kept
        as they are.

    Returns
    -------
    ndarray or torch.Tensor
        A new array or tensor, of the input's type, dtype and shape.

    Examples
    --------
    >>> from sklearn_fssd.genomes import encode_dna, reverse_complement
    >>> reverse_complement(encode_dna("AACGN")).tolist()  # NCGTT
    [4, 1, 2, 3, 3]
    """
    if isinstance(tokens, torch.Tensor):
        return torch.where(tokens < 4, 3 - tokens, tokens).flip(-1)
    tokens = np.asarray(tokens)
    # 3 - id wraps around for unsigned ids above 3; where() keeps those ids as they are
    flipped = np.where(tokens < 4, 3 - tokens, tokens).astype(tokens.dtype)[..., ::-1]
    return np.ascontiguousarray(flipped)


def _decompress(data, name):
    kind = "gzip" if name.endswith(".gz") else "xz" if name.endswith(".xz") else None
    try:
        if kind == "gzip":
            return gzip.decompress(data)
        if kind == "xz":
            return lzma.decompress(data)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:  # BadGzipFile: an OSError
        raise ValueError(
            f"{name} could not be decompressed as {kind} ({exc or type(exc).__name__}): it is "
            "truncated or corrupt."
        ) from exc
    return data


def _first_line(text):
    """The first line of ``text`` that is neither blank nor a ``;`` comment, stripped."""
    start = 0
    while start < len(text):
        end = text.find(b"\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end].strip()
        if line and not line.startswith(b";"):
            return line
        start = end + 1
    return b""


def _fasta_records(text):
    """``(name, bases)`` of each ``>`` record; ``;`` lines are comments, blank lines ignored."""
    records, header, lines = [], None, []
    for line in text.split(b"\n"):
        line = line.lstrip()
        if line.startswith(b">"):
            if header is not None:
                records.append((header, lines))
            header, lines = line[1:].strip().decode("ascii", "replace"), []
        elif header is not None and not line.startswith(b";"):
            lines.append(line)
    if header is not None:
        records.append((header, lines))
    return [(name, b"".join(b"".join(lines).split()).upper()) for name, lines in records]


def read_sequences(data, name=""):
    """Records of a FASTA or GenBank file, as ``(name, bases)`` pairs.

    Parameters
    ----------
    data : bytes
        The file's content; gzip (``name`` ending in ``.gz``) and xz (``.xz``)
        are decompressed first. GenBank is recognised by its ``LOCUS`` line;
        the bases come from its ``ORIGIN`` section. In FASTA, lines starting
        with ``;`` are comments and blank lines are ignored. Line ends may be
        ``\\n``, ``\\r\\n`` or ``\\r`` (classic Mac OS).
    name : str, default=""
        The file name, for the compression suffix and error messages.

    Returns
    -------
    records : list of (str, bytes)
        Record name and its bases, upper-case, without whitespace or digits.

    Raises
    ------
    ValueError
        If the content is neither FASTA nor GenBank, holds no bases, or
        cannot be decompressed (a truncated or corrupt file).

    Examples
    --------
    >>> from sklearn_fssd.genomes import read_sequences
    >>> read_sequences(b">chr1 test\\nACGT\\nNNac\\n>chr2\\nGG\\n")
    [('chr1 test', b'ACGTNNAC'), ('chr2', b'GG')]
    >>> read_sequences(b"\\n;old-style comment\\r>chr1\\rAC\\rGT\\r")
    [('chr1', b'ACGT')]
    """
    text = _decompress(data, name).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    start = _first_line(text)
    records = []
    if start.startswith(b">"):
        records = _fasta_records(text)
    elif start.startswith(b"LOCUS"):
        for entry in text.split(b"\n//"):
            if b"LOCUS" not in entry:
                continue
            locus = entry[entry.index(b"LOCUS"):].split(None, 2)[1].decode("ascii", "replace")
            _, found, origin = entry.partition(b"\nORIGIN")
            if not found:
                raise ValueError(f"{name or 'GenBank data'}: record {locus} has no ORIGIN section.")
            body = origin.partition(b"\n")[2]
            seq = body.translate(None, _NOT_LETTERS).upper()
            records.append((locus, seq))
    else:
        raise ValueError(
            f"{name or 'data'} is neither FASTA (starts with '>') nor GenBank (starts with "
            f"'LOCUS'); it starts with {text[:20]!r}."
        )
    if not records or not any(seq for _, seq in records):
        raise ValueError(f"{name or 'data'} holds no sequence.")
    return records
