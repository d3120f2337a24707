"""A DNA out-of-distribution benchmark built from real bacterial genomes in Debian packages.

The paper's sequence benchmark (Ren et al., 2019: 250 bp fragments of
bacterial genomes, 10 in-distribution classes, later-discovered bacteria as
OoD) is not downloadable without TensorFlow Datasets. This module builds an
analogous one, reproducibly, from complete genomes that Debian ships in
example packages (the table :data:`GENOMES`; provenance in the project's
``shared/data/genomes/MANIFEST.md``):

* **in-distribution**, 10 classes, one genome per species: *E. coli*,
  *S. aureus*, *V. cholerae*, *H. pylori*, *L. kirschneri*, *S. suis*,
  *M. tuberculosis*, *B. japonicum*, *R. denitrificans*, *C. trachomatis*;
* **out-of-distribution**, 5 held-out species: two close relatives of an
  in-distribution species (*K. pneumoniae*, same family as *E. coli*;
  *M. smegmatis*, same family as *M. tuberculosis*), an endosymbiont of the
  same order as *E. coli* with a very different composition (*B. aphidicola*,
  26 % GC), and two distant ones (*M. genitalium*, a mollicute; the archaeon
  *M. acetivorans*).

Each genome is used once: where Debian ships a strain twice (*S. aureus*
N315, *H. pylori* Gambia94/24), or a species in several strains, one genome
is chosen. *M. bovis* BCG is left out: it belongs to the *M. tuberculosis*
complex (over 99.9 % identical), so its fragments would be label noise rather
than OoD.

How fragments are drawn
-----------------------
Each genome's records are concatenated and cut into ``n_blocks`` contiguous
blocks, which a seeded permutation assigns to train (80 %), validation
(10 %) and test (10 %). A fragment is ``fragment_length`` bases from one
block and one record (never across a record boundary), read from either
strand with equal probability (the reverse complement for the minus strand),
and kept if at most ``max_unknown`` of its bases are not A, C, G or T.
Bases are tokens A=0, C=1, G=2, T=3; N and every other IUPAC code is 4
(:data:`sklearn_fssd.models.DNA_TOKENS`). Validation and test fragments
(ID and OoD) that are exact copies of a training fragment (repeats such as
rRNA operons, or genes shared across species) are dropped and counted.

Getting the packages
--------------------
:func:`load_genome_ood` reads the genome files straight out of the ``.deb``
files (no root, no ``dpkg -x``), found in the first of: the ``source``
argument; ``<root>/genomes/debs`` for ``data_home``, each root of
``SKLEARN_FSSD_DATA`` and ``~/sklearn_fssd_data``; the installed packages
under ``/`` (when ``apt-get install``-ed and the image keeps ``/usr/share/doc``).
``source`` may also be a ``dpkg -x`` tree (``<source>/<package>/usr/...``).
With ``download=True`` it runs ``apt-get download`` (Debian and derivatives)
into ``get_data_home(data_home)/genomes/debs``. Every genome file is checked
against its SHA-256, length and record count before use.

The one command::

    python -m sklearn_fssd.genomes --download       # fetch the 10 packages, build, summarise
"""

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import subprocess
import tarfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ._utils import atomic_write
from .datasets import CorruptDataError, DatasetNotFoundError, get_data_home
from .datasets._fetch import DEFAULT_DATA_HOME
from .datasets._fetch import env_roots as _env_roots

__all__ = [
    "GENOMES",
    "Genome",
    "encode_dna",
    "load_genome_ood",
    "read_sequences",
]


class Genome(NamedTuple):
    """One genome file inside a Debian package (a row of :data:`GENOMES`).

    Parameters
    ----------
    id : str
        Short name, e.g. ``"ecoli_K12_MG1655"``.
    species : str
        Species and strain; the class name in the benchmark.
    package : str
        The Debian package that ships the file.
    path : str
        The file's path inside the package, without the leading ``./``.
    sha256 : str
        SHA-256 of the file as shipped (compressed or not).
    length : int
        Bases over all records.
    n_records : int
        Number of FASTA or GenBank records (chromosomes, plasmids, contigs).
    role : {"id", "ood"}
        In-distribution class or held-out OoD species.
    note : str, default=""
        Why the genome is there (its relation to the in-distribution species).

    Examples
    --------
    >>> from sklearn_fssd.genomes import GENOMES
    >>> GENOMES[0].species, GENOMES[0].package, GENOMES[0].role
    ('Escherichia coli K-12 MG1655', 'ragout-examples', 'id')
    >>> sorted({g.role for g in GENOMES}), sum(g.role == "id" for g in GENOMES)
    (['id', 'ood'], 10)
    """

    id: str
    species: str
    package: str
    path: str  # inside the package, without the leading "./"
    sha256: str  # of the file as shipped (compressed or not)
    length: int  # bases over all records
    n_records: int
    role: str  # "id" or "ood"
    note: str = ""


#: The benchmark's genomes: 10 in-distribution classes (in class order), then 5 OoD species.
GENOMES = (
    Genome("ecoli_K12_MG1655", "Escherichia coli K-12 MG1655", "ragout-examples",
           "usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz",
           "ae952b2873ef8badc956925a61c5b536d4e40322b4e8b15dde3d8eda7ce3c879", 4639675, 1, "id"),
    Genome("saureus_N315", "Staphylococcus aureus N315", "ragout-examples",
           "usr/share/doc/ragout/examples/S.Aureus/references/N315.fasta.gz",
           "f00af0fea6d59d4aef1cac64be57a5215739b7c23fae7f6bc0d44e1f9805a0e9", 2814816, 1, "id"),
    Genome("vcholerae_N16961", "Vibrio cholerae O1 El Tor N16961", "ragout-examples",
           "usr/share/doc/ragout/examples/V.Cholerae/references/O1_biovar.fasta.gz",
           "ef8ecca73105608a904c9e81973ef3af472096e349a463fbec324411c6566cc9", 4033464, 2, "id",
           "two chromosomes; 37 IUPAC codes"),
    Genome("hpylori_G27", "Helicobacter pylori G27", "ragout-examples",
           "usr/share/doc/ragout/examples/H.Pylori/references/G27.fasta.gz",
           "80dd2ad4125b47fa644350cec0bee7bf3956e379bf3e3e97a25e9c17ba297658", 1652982, 1, "id"),
    Genome("lkirschneri_H1", "Leptospira kirschneri H1", "any2fasta-examples",
           "usr/share/doc/any2fasta/examples/test.gbk.gz",
           "321919e452f88665a597b5c31813b7b99ab0f60ce3706e25eadd2309f9e3d93b", 4594734, 75, "id",
           "draft assembly, 75 contigs (GenBank)"),
    Genome("ssuis_SC84", "Streptococcus suis SC84", "abacas-examples",
           "usr/share/doc/abacas-examples/SS_SC84.dna.gz",
           "db0746cebb41474bd2ae8acd477f184b348eed542b24101298fdae4b98595e60", 2095898, 1, "id"),
    Genome("mtuberculosis_H37Rv", "Mycobacterium tuberculosis H37Rv", "ariba",
           "usr/lib/python3/dist-packages/ariba/tb_data/NC_000962.3.fa.gz",
           "f47c8bc84fd87fc538ce1f04469ff306818c8527b1e35426d820fc455e3a9940", 4411532, 1, "id"),
    Genome("bjaponicum_USDA110", "Bradyrhizobium japonicum USDA 110", "cct-examples",
           "usr/share/doc/cct/examples/sample_projects/sample_project_3/reference_genome/"
           "NC_004463.gbk.gz",
           "3f32bd902bff9b66abc170a6a6293575cab2609339297e0fcc7529722dddc7ad", 9105828, 1, "id",
           "GenBank"),
    Genome("rdenitrificans_OCh114", "Roseobacter denitrificans OCh 114", "cct-examples",
           "usr/share/cct/lib/scripts/get_cds/test_input/R_denitrificans.gbk",
           "6c96fca8e8c66c4b2723ca4a59d47426e009487f2c32edd97fcfc40c75ef787c", 4133097, 1, "id",
           "GenBank"),
    Genome("ctrachomatis_D_UW3", "Chlamydia trachomatis D/UW-3/CX", "r-cran-seqinr",
           "usr/lib/R/site-library/seqinr/sequences/ct.gbk.gz",
           "0a80287df42fb51b41d4d21c733239d4a18c415b540891a641259129b6d0b4c3", 1042519, 1, "id",
           "GenBank"),
    Genome("kpneumoniae_HS11286", "Klebsiella pneumoniae HS11286", "kleborate-examples",
           "usr/share/doc/kleborate/examples/data/Klebs_HS11286.fna.xz",
           "88b7aa6bbe673b650650bd3739870dc923ebe80c69ee9b7962268fc393832e2b", 5682322, 7, "ood",
           "close relative of E. coli (Enterobacteriaceae); chromosome + 6 plasmids"),
    Genome("msmegmatis_mc2_155", "Mycolicibacterium smegmatis mc2 155", "tnseq-transit",
           "usr/lib/python3/dist-packages/pytransit/genomes/mc2_155_tamu.fna",
           "68e9b284bf993dfa015f605e22962c1ef3fc2b06ef2a53015205851688c6b9f5", 6988560, 1, "ood",
           "close relative of M. tuberculosis (Mycobacteriaceae)"),
    Genome("baphidicola_LL01", "Buchnera aphidicola LL01", "minia",
           "usr/share/doc/minia/test/buchnera.fasta.gz",
           "ce2bad59be5020e7b34b308423ce7092e441e3279caf265e41b154255cd6a656", 641799, 1, "ood",
           "same order as E. coli (Enterobacterales), 26 % GC"),
    Genome("mgenitalium_G37", "Mycoplasma genitalium G37", "genometester",
           "usr/share/doc/genometester/test-data/Mg.fa.gz",
           "dec30c8945c86d55dd18d609290f5fbe2f36368d65ca2e7b192244b1825939b5", 580076, 1, "ood",
           "distant (Mollicutes)"),
    Genome("archaea_macetivorans_C2A", "Methanosarcina acetivorans C2A (archaeon)",
           "cct-examples",
           "usr/share/doc/cct/examples/sample_projects/sample_project_2/comparison_genomes/"
           "Methanosarcina_acetivorans.gbk.gz",
           "6a552bc33757c3f80e16372020527f9490f966cf7f91c4fc56e5d3be717a1309", 5751492, 1, "ood",
           "most distant: an archaeon (GenBank)"),
)

_SUBDIR = "genomes"
_SPLITS = ("train", "val", "test")
_SPLIT_SHARES = (0.8, 0.1, 0.1)
_PARTS = ("train", "val", "test", "val_ood", "test_ood")  # the X_<part>, y_<part> arrays
# 2: FASTA ';' comments and CR-only line ends are read (a build may differ); the key of
# an unverified build follows the files read.
_CACHE_VERSION = 2

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


# --------------------------------------------------------------------------- #
# Reading genome files out of Debian packages
# --------------------------------------------------------------------------- #


def _bad_deb(deb, problem):
    """The error for a ``.deb`` file that cannot be read: it names the file and the fix."""
    return CorruptDataError(
        f"{deb} {problem}. Delete it and fetch it again with `apt-get download "
        f"{Path(deb).name.split('_')[0]}`.", path=str(deb))


def _ar_members(path):
    """``name -> bytes`` of the members of an ``ar`` archive (a ``.deb``), headers checked."""
    total = os.path.getsize(path)
    with open(path, "rb") as fh:
        if fh.read(8) != b"!<arch>\n":
            raise _bad_deb(path, "is not a Debian package (no ar header)")
        members = {}
        while True:
            header = fh.read(60)
            if not header:
                break
            number = len(members) + 1
            if len(header) < 60 or header[58:60] != b"`\n":
                raise _bad_deb(path, f"is damaged (the header of member {number} is cut short "
                                     "or malformed)")
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            field = header[48:58].strip()
            if not field.isdigit():
                raise _bad_deb(path, f"is damaged (member {number}, {name!r}, has the size field "
                                     f"{field.decode('ascii', 'replace')!r}, not a byte count)")
            size, left = int(field), total - fh.tell()
            if size > left:
                raise _bad_deb(path, f"is damaged (truncated: member {name!r} declares {size} "
                                     f"bytes, {left} remain)")
            members[name] = fh.read(size)
            if size % 2:
                fh.read(1)
    return members


def _read_from_deb(deb, paths):
    """``path -> bytes`` for the wanted ``paths`` inside the data archive of ``deb``."""
    members = _ar_members(deb)
    data_name = next((n for n in members if n.startswith("data.tar")), None)
    if data_name is None:
        raise _bad_deb(deb, "has no data.tar member")
    if data_name.endswith(".zst"):
        raise CorruptDataError(
            f"{deb} compresses its data with zstd, which Python's tarfile cannot read before "
            f"Python 3.14. Extract it with `dpkg -x {deb} <dir>/{Path(deb).name.split('_')[0]}` "
            "and pass source=<dir>.", path=str(deb))
    wanted = {p.lstrip("./"): p for p in paths}
    found = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(members[data_name]), mode="r:*") as tar:
            for member in tar:
                key = member.name.lstrip("./")
                if key in wanted and member.isfile():
                    found[wanted[key]] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError) as exc:
        raise _bad_deb(deb, f"is damaged ({exc or type(exc).__name__})") from exc
    return found


def _deb_of(folder, package):
    """The newest ``<package>_*.deb`` in ``folder``, or None."""
    debs = sorted(Path(folder).glob(f"{package}_*.deb"))
    return debs[-1] if debs else None


def _candidate_sources(source, data_home):
    if source is not None:
        return [(Path(source), "source argument")]
    dirs = []
    if data_home is not None:
        dirs.append((Path(get_data_home(data_home), _SUBDIR, "debs"), "data_home argument"))
    for root in _env_roots():
        dirs.append((Path(root, _SUBDIR, "debs"), "$SKLEARN_FSSD_DATA"))
    dirs.append((Path(os.path.expanduser(DEFAULT_DATA_HOME), _SUBDIR, "debs"), "default cache"))
    dirs.append((Path("/"), "installed packages"))
    return dirs


def _read_genome_files(genomes, source, data_home):
    """``genome id -> file bytes`` from the first source that holds every needed package.

    Returns ``(files, where, found_in)``: ``where`` maps a genome id to the file
    it was read from (``<package.deb>:<path>`` or a path in a tree), for messages.
    """
    packages = sorted({g.package for g in genomes})
    tried = []
    for folder, origin in _candidate_sources(source, data_home):
        files, where, missing = {}, {}, []
        for pkg in packages:
            paths = [g.path for g in genomes if g.package == pkg]
            deb = _deb_of(folder, pkg) if folder.is_dir() else None
            if deb is not None:
                got = _read_from_deb(deb, paths)
                shown = {p: f"{deb}:{p}" for p in paths}
            else:  # a dpkg -x tree (<folder>/<pkg>/usr/...) or the installed system (/usr/...)
                root = folder if origin == "installed packages" else folder / pkg
                got = {p: (root / p).read_bytes() for p in paths if (root / p).is_file()}
                shown = {p: str(root / p) for p in paths}
            for g in genomes:
                if g.package == pkg and g.path not in got:
                    missing.append(f"{pkg}: {g.path}" if deb is not None else pkg)
                    break
            for g in genomes:
                if g.package == pkg and g.path in got:
                    files[g.id], where[g.id] = got[g.path], shown[g.path]
        if not missing:
            return files, where, f"{folder} ({origin})"
        tried.append((folder, origin, missing))
    lines = ["The genome packages were not found. Searched, in this order:"]
    for i, (folder, origin, missing) in enumerate(tried, 1):
        lines.append(f"  {i}. {folder} ({origin}): missing {missing}")
    target = Path(get_data_home(data_home), _SUBDIR, "debs")
    lines += [
        "To get them (about 90 MB of Debian packages; no root needed):",
        f"  mkdir -p {target} && cd {target} && apt-get download {' '.join(packages)}",
        "or call load_genome_ood(download=True) / run `python -m sklearn_fssd.genomes "
        "--download`, which does the same; or pass source=<folder of .deb files or of a "
        "`dpkg -x` tree, one sub-folder per package>.",
    ]
    raise DatasetNotFoundError("\n".join(lines))


def _apt_download(genomes, data_home):
    target = Path(get_data_home(data_home), _SUBDIR, "debs")
    if shutil.which("apt-get") is None:
        raise DatasetNotFoundError(
            "download=True runs `apt-get download`, and this system has no apt-get (it is not "
            "Debian or a derivative). Fetch these packages from https://packages.debian.org "
            f"into {target}: {sorted({g.package for g in genomes})}.")
    target.mkdir(parents=True, exist_ok=True)
    packages = sorted({g.package for g in genomes if _deb_of(target, g.package) is None})
    if packages:
        proc = subprocess.run(["apt-get", "download", *packages], cwd=target,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise DatasetNotFoundError(
                f"`apt-get download {' '.join(packages)}` failed in {target}:\n"
                f"{proc.stderr.strip()}\nIf apt-get says the packages are unknown, run "
                "`apt-get update` (as root) first.")
    return target


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


# --------------------------------------------------------------------------- #
# Fragments
# --------------------------------------------------------------------------- #


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
    rc = np.where(frags[minus] < 4, 3 - frags[minus], 4)[:, ::-1]
    frags[minus] = rc
    return frags.astype(np.uint8)


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
    seen = {row.tobytes() for row in arrays["X_train"]}
    dropped = {}
    for key in ("val", "test", "val_ood", "test_ood"):
        keep = np.array([row.tobytes() not in seen for row in arrays[f"X_{key}"]], dtype=bool)
        dropped[key] = int((~keep).sum())
        arrays[f"X_{key}"], arrays[f"y_{key}"] = arrays[f"X_{key}"][keep], arrays[f"y_{key}"][keep]
    return arrays, dropped


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

    See the module docstring for the species and how fragments are drawn.

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
        package). By default the folders listed in the module docstring are
        searched.
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
        The genome table; in-distribution classes are its ``role="id"`` rows
        in order.

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


def main(argv=None):
    """``python -m sklearn_fssd.genomes``: build the benchmark and print a summary."""
    parser = argparse.ArgumentParser(prog="python -m sklearn_fssd.genomes",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--download", action="store_true",
                        help="run `apt-get download` for missing packages")
    parser.add_argument("--source", help="folder of .deb files or of a dpkg -x tree")
    parser.add_argument("--data-home", help="data root (default: $SKLEARN_FSSD_DATA or "
                        "~/sklearn_fssd_data)")
    parser.add_argument("--cache-dir", help="where to cache the .npz (default "
                        "<data-home>/genomes)")
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-val", type=int, default=100)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = load_genome_ood(n_train=args.n_train, n_val=args.n_val, n_test=args.n_test,
                           random_state=args.seed, source=args.source, data_home=args.data_home,
                           cache_dir=args.cache_dir, download=args.download)
    print(f"packages read from {data.source}; cached at {data.path}")
    for key in _PARTS:
        X, y = data[f"X_{key}"], data[f"y_{key}"]
        print(f"{key:9s} {X.shape}  per class {np.bincount(y).tolist()}  "
              f"dropped as copies of training fragments: {data.dropped.get(key, 0)}")
    print("in-distribution:", "; ".join(data.classes))
    print("OoD:", "; ".join(data.ood_classes))
    return data


if __name__ == "__main__":
    main()
