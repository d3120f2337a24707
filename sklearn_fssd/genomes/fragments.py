"""Fragments: splitting a genome into blocks, sampling fragments, dropping copies.

A genome's records are concatenated and cut into ``n_blocks`` contiguous
blocks, assigned 80/10/10 to train, validation and test; a fragment lies in
one block and one record, on either strand.
"""

import numpy as np

from .sequences import encode_dna, reverse_complement

_SPLITS = ("train", "val", "test")
_SPLIT_SHARES = (0.8, 0.1, 0.1)


def _genome_tokens(records):
    tokens = np.concatenate([encode_dna(seq) for _, seq in records])
    ends = np.cumsum([len(seq) for _, seq in records])
    return tokens, ends


def _block_splits(n_bases, n_blocks, rng):
    """``split -> list of (start, stop)`` blocks of the genome, assigned 80/10/10."""
    edges = np.linspace(0, n_bases, n_blocks + 1).astype(np.int64)
    order = rng.permutation(n_blocks)
    counts = np.maximum(1, np.floor(np.array(_SPLIT_SHARES) * n_blocks)).astype(int)
    counts[0] = n_blocks - counts[1:].sum()
    out, at = {}, 0
    for split, count in zip(_SPLITS, counts):
        chosen = sorted(order[at: at + count])
        out[split] = [(int(edges[b]), int(edges[b + 1])) for b in chosen]
        at += count
    return out


def _sample_fragments(tokens, ends, blocks, n, length, max_unknown, rng, genome_id):
    """``n`` fragments (reverse-complemented at random) from ``blocks`` of one genome."""
    spans = np.array([(a, b - length) for a, b in blocks if b - a >= length], dtype=np.int64)
    if n == 0:
        return np.empty((0, length), np.uint8)
    if len(spans) == 0:
        raise ValueError(
            f"Genome {genome_id}: its blocks are shorter than fragment_length={length}; lower "
            "n_blocks or fragment_length.")
    widths = spans[:, 1] - spans[:, 0] + 1
    p = widths / widths.sum()
    starts, taken = [], set()
    for _ in range(50):
        need = n - len(starts)
        k = rng.choice(len(spans), size=2 * need + 16, p=p)
        cand = spans[k, 0] + (rng.random_sample(len(k)) * widths[k]).astype(np.int64)
        same_record = np.searchsorted(ends, cand, "right") == np.searchsorted(
            ends, cand + length - 1, "right")
        cand = cand[same_record]
        idx = cand[:, None] + np.arange(length)
        unknown = (tokens[idx] == 4).mean(axis=1)
        for s in cand[unknown <= max_unknown]:
            if s not in taken:
                taken.add(s)
                starts.append(s)
                if len(starts) == n:
                    break
        if len(starts) == n:
            break
    else:
        raise ValueError(
            f"Genome {genome_id}: could only draw {len(starts)} of {n} distinct fragments with "
            f"at most {max_unknown:.0%} unknown bases; ask for fewer fragments.")
    frags = tokens[np.asarray(starts)[:, None] + np.arange(length)]
    minus = rng.random_sample(n) < 0.5
    frags[minus] = reverse_complement(frags[minus])
    return frags.astype(np.uint8)


def _drop_copies(arrays, parts):
    """Drop, in place, the rows of ``X_<part>`` (and ``y_<part>``) that copy a training row.

    Repeats such as rRNA operons, or genes shared across species, would
    otherwise score as perfectly familiar. Returns ``part -> number dropped``.
    """
    seen = {row.tobytes() for row in arrays["X_train"]}
    dropped = {}
    for key in parts:
        keep = np.array([row.tobytes() not in seen for row in arrays[f"X_{key}"]], dtype=bool)
        dropped[key] = int((~keep).sum())
        arrays[f"X_{key}"], arrays[f"y_{key}"] = arrays[f"X_{key}"][keep], arrays[f"y_{key}"][keep]
    return dropped
