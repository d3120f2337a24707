"""The benchmark data set: genome files checked, fragments drawn, the build cached.

:func:`load_genome_ood` reads the genome files of the table (:mod:`.table`)
out of the Debian packages (:mod:`.debs`), checks them, draws fragments
(:mod:`.fragments`) and caches the build as an ``.npz`` keyed by its inputs.
"""

import contextlib
import hashlib
import json
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .._utils import atomic_write
from ..datasets import CorruptDataError, get_data_home
from .debs import _SUBDIR, _apt_download, _read_genome_files
from .fragments import _block_splits, _drop_copies, _genome_tokens, _sample_fragments
from .sequences import read_sequences
from .table import GENOMES

__all__ = ["load_genome_ood"]

_PARTS = ("train", "val", "test", "val_ood", "test_ood")  # the X_<part>, y_<part> arrays
# 2: FASTA ';' comments and CR-only line ends are read (a build may differ); the key of
# an unverified build follows the files read.
_CACHE_VERSION = 2


def _verified_records(genome, data, verify, where):
    """The records of ``genome``'s file ``data`` (read from ``where``), checked if ``verify``."""
    if verify:
        digest = hashlib.sha256(data).hexdigest()
        if digest != genome.sha256:
            raise CorruptDataError(
                f"Genome file {where} of package {genome.package} has SHA-256 {digest}, "
                f"expected {genome.sha256}: the package holds another version of the file, or "
                "it is damaged. Fetch the package again (`apt-get download "
                f"{genome.package}`), or pass verify=False to use it anyway (the benchmark "
                "then differs from the published one).",
                path=where, expected=genome.sha256, actual=digest)
    try:
        records = read_sequences(data, genome.path)
    except ValueError as exc:
        raise CorruptDataError(
            f"Genome file {where} of package {genome.package} cannot be read: {exc} Fetch the "
            f"package again (`apt-get download {genome.package}`).", path=where) from exc
    length = sum(len(s) for _, s in records)
    if verify and (length, len(records)) != (genome.length, genome.n_records):
        raise CorruptDataError(
            f"Genome {genome.id} ({where}) parsed to {len(records)} records and {length} bases; "
            f"expected {genome.n_records} and {genome.length}. The file or the parser changed.",
            path=where)
    return records


def _build(genomes, files, where, *, fragment_length, n_train, n_val, n_test, n_blocks,
           max_unknown, random_state, verify):
    rng = check_random_state(random_state)
    id_genomes = [g for g in genomes if g.role == "id"]
    ood_genomes = [g for g in genomes if g.role == "ood"]
    # OoD fragments per species, so that OoD and ID totals match in validation and test
    n_ood_val = int(np.ceil(n_val * len(id_genomes) / max(len(ood_genomes), 1)))
    n_ood_test = int(np.ceil(n_test * len(id_genomes) / max(len(ood_genomes), 1)))
    parts = {key: [] for key in _PARTS}
    labels = {key: [] for key in parts}
    for label, g in enumerate(id_genomes + ood_genomes):
        tokens, ends = _genome_tokens(_verified_records(g, files[g.id], verify, where[g.id]))
        blocks = _block_splits(len(tokens), n_blocks, rng)
        if g.role == "id":
            plan = [("train", "train", n_train), ("val", "val", n_val), ("test", "test", n_test)]
            cls = label
        else:
            plan = [("val_ood", "val", n_ood_val), ("test_ood", "test", n_ood_test)]
            cls = label - len(id_genomes)
        for key, split, n in plan:
            frags = _sample_fragments(tokens, ends, blocks[split], n, fragment_length,
                                      max_unknown, rng, g.id)
            parts[key].append(frags)
            labels[key].append(np.full(len(frags), cls, np.int64))
    arrays = {}
    for key in parts:
        X = np.concatenate(parts[key]) if parts[key] else np.empty((0, fragment_length), np.uint8)
        y = np.concatenate(labels[key]) if labels[key] else np.empty(0, np.int64)
        arrays[f"X_{key}"], arrays[f"y_{key}"] = X, y
    dropped = _drop_copies(arrays, ("val", "test", "val_ood", "test_ood"))
    return arrays, dropped


# By hand: pooch caches downloads by URL; this caches a build, keyed by its inputs.
def _cache_key(genomes, digests, params):
    """Key of a build from files with SHA-256 ``digests`` (one per genome) and ``params``."""
    blob = json.dumps({"v": _CACHE_VERSION, "genomes": [d + g.role for d, g in
                                                        zip(digests, genomes)],
                       **params}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _read_cache(path, fragment_length):
    """``(arrays, dropped, source)`` from the cached build ``path``, or None if there is none.

    A cache that cannot be read whole (truncated, corrupt, from another version) is
    removed with a warning naming it, so the caller builds it again.
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        info = json.loads(str(arrays.pop("info")))
        dropped, source = info["dropped"], info["source"]
        for part in _PARTS:
            X, y = arrays[f"X_{part}"], arrays[f"y_{part}"]
            if X.ndim != 2 or X.shape[1] != fragment_length or y.shape != (len(X),):
                raise ValueError(f"X_{part} of shape {X.shape} with y of shape {y.shape}")
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile,
            zlib.error) as exc:
        warnings.warn(
            f"The cached genome benchmark {path} is unreadable ({type(exc).__name__}: "
            f"{str(exc)[:200]}); it was removed and is built again from the packages.",
            UserWarning, stacklevel=3)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return None
    return arrays, dropped, source


def load_genome_ood(
    *,
    fragment_length=250,
    n_train=5000,
    n_val=100,
    n_test=1000,
    n_blocks=20,
    max_unknown=0.1,
    random_state=0,
    source=None,
    data_home=None,
    cache_dir=None,
    download=False,
    verify=True,
    genomes=GENOMES,
):
    """Build (or load from cache) the genome OoD benchmark: token fragments, labels, splits.

    See :mod:`sklearn_fssd.genomes` for the species and how fragments are drawn.

    Parameters
    ----------
    fragment_length : int, default=250
        Bases per fragment (the paper's 250).
    n_train, n_val, n_test : int, default=5000, 100, 1000
        Fragments per in-distribution species in each split. The OoD species
        share as many validation and test fragments in total as the
        in-distribution ones (``n_val * 10 / 5`` per OoD species), and give
        none for training.
    n_blocks : int, default=20
        Contiguous blocks per genome, assigned 80/10/10 to train, validation
        and test, so the splits come from disjoint regions.
    max_unknown : float, default=0.1
        Largest share of non-ACGT bases in a kept fragment, from 0 to 1.
    random_state : int, RandomState instance or None, default=0
        Seed of block assignment and fragment sampling.
    source : str or path-like, default=None
        A folder of ``.deb`` files or a ``dpkg -x`` tree (one sub-folder per
        package). By default the folders listed in :mod:`sklearn_fssd.genomes`
        are searched.
    data_home : str or path-like, default=None
        Data root (see :func:`sklearn_fssd.datasets.get_data_home`) for the
        ``.deb`` files (``genomes/debs``) and, unless ``cache_dir`` is given,
        the built ``.npz`` (``genomes/``).
    cache_dir : str or path-like or False, default=None
        Where the built benchmark is cached as ``genome_ood_<key>.npz`` (the
        key hashes every parameter and the genome files' checksums: those of
        the table with ``verify=True``, so a cached build loads without the
        packages; those of the files actually read with ``verify=False``, so
        a changed file is never served from an old build). A cache that cannot
        be read is removed with a warning and built again. False builds
        without reading or writing a cache.
    download : bool, default=False
        Run ``apt-get download`` for missing packages (Debian and
        derivatives) into ``<data_home>/genomes/debs``.
    verify : bool, default=True
        Check each genome file's SHA-256, record count and length.
    genomes : sequence of Genome, default=GENOMES
        The genome table (by default ``sklearn_fssd.genomes.table.GENOMES``);
        in-distribution classes are its ``role="id"`` rows in order.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train, y_train`` (in-distribution fragments, class 0..9),
        ``X_val, y_val, X_test, y_test`` (in-distribution),
        ``X_val_ood, y_val_ood, X_test_ood, y_test_ood`` (OoD fragments, with
        the index of their OoD species), every ``X`` of dtype int64 and shape
        ``(n, fragment_length)``; ``classes`` and ``ood_classes`` (species
        names), ``genomes`` (the table rows as dicts), ``dropped`` (exact
        copies of training fragments removed per split), ``path`` (the
        cache file, or None) and ``source`` (where the packages were read).

    Raises
    ------
    ValueError
        If a size is negative, ``n_blocks < 3`` or ``max_unknown`` is not in [0, 1].
    DatasetNotFoundError
        If the packages are not found; the message says how to get them.
    CorruptDataError
        If a genome file does not match its checksum, length or record count,
        or cannot be read (a damaged ``.deb``, a truncated or corrupt gzip or
        xz file); the message names the file and says to fetch it again.

    Warns
    -----
    UserWarning
        If the cached build cannot be read; it is removed and built again.

    Examples
    --------
    >>> from sklearn_fssd.genomes import load_genome_ood
    >>> data = load_genome_ood(n_train=2000)  # doctest: +SKIP
    >>> data.X_train.shape, data.classes[0]  # doctest: +SKIP
    ((20000, 250), 'Escherichia coli K-12 MG1655')
    """
    genomes = tuple(genomes)
    params = dict(fragment_length=int(fragment_length), n_train=int(n_train), n_val=int(n_val),
                  n_test=int(n_test), n_blocks=int(n_blocks), max_unknown=float(max_unknown),
                  random_state=random_state if isinstance(random_state, int) else None,
                  verify=bool(verify))
    if min(params["n_train"], params["n_val"], params["n_test"]) < 0 or fragment_length < 1:
        raise ValueError("fragment_length must be >= 1 and n_train, n_val, n_test >= 0.")
    if params["n_blocks"] < 3:
        raise ValueError(f"n_blocks={n_blocks}: at least 3 are needed (train, validation, test).")
    if not 0 <= params["max_unknown"] <= 1:  # NaN too: it would keep no fragment
        raise ValueError(
            f"max_unknown={max_unknown!r}: it is the largest share of unknown (non-ACGT) bases "
            "in a fragment, a number from 0 to 1; e.g. 0.1 keeps fragments with at most 10 %.")
    meta = {"classes": [g.species for g in genomes if g.role == "id"],
            "ood_classes": [g.species for g in genomes if g.role == "ood"],
            "genomes": [g._asdict() for g in genomes]}

    def read_files():  # (files, where, found_in), fetching the packages first if asked
        found = _apt_download(genomes, data_home) if download and source is None else source
        return _read_genome_files(genomes, found, data_home)

    path = read = None
    if cache_dir is not False and params["random_state"] is not None:
        folder = (Path(cache_dir) if cache_dir is not None
                  else Path(get_data_home(data_home), _SUBDIR))
        if params["verify"]:  # a build only ever used files with the table's checksums
            digests = [g.sha256 for g in genomes]
        else:  # the files may be anything: the key follows what they hold now
            read = read_files()
            digests = [hashlib.sha256(read[0][g.id]).hexdigest() for g in genomes]
        path = folder / f"genome_ood_{_cache_key(genomes, digests, params)}.npz"
        cached = _read_cache(path, params["fragment_length"])
        if cached is not None:
            return _bunch(cached[0], cached[1], meta, path, cached[2])
    files, where, found_in = read or read_files()
    arrays, dropped = _build(genomes, files, where, **params)
    if path is not None:
        info = json.dumps({"dropped": dropped, "source": found_in, "params": params})
        with atomic_write(path) as fh:
            np.savez_compressed(fh, **arrays, info=np.array(info))
    return _bunch(arrays, dropped, meta, path, found_in)


def _bunch(arrays, dropped, meta, path, source):
    out = {k: (v.astype(np.int64) if k.startswith("X_") else v) for k, v in arrays.items()}
    return Bunch(**out, dropped=dropped, path=None if path is None else str(path),
                 source=source, **meta)
