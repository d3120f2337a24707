"""Debian packages: finding them, fetching them with apt-get, reading files out of them.

A ``.deb`` is an ``ar`` archive whose ``data.tar.*`` member holds the files;
they are read without root and without ``dpkg -x``.
"""

import io
import lzma
import os
import shutil
import subprocess
import tarfile
import zlib
from pathlib import Path

from ..datasets import CorruptDataError, DatasetNotFoundError, get_data_home
from ..datasets._fetch import data_dirs

#: The benchmark's folder under a data root: packages in ``debs/``, cached builds beside it.
_SUBDIR = "genomes"


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
    """Where to look for the packages, in order, as ``(folder, origin)`` pairs."""
    if source is not None:
        return [(Path(source), "source argument")]
    return data_dirs(Path(_SUBDIR, "debs"), data_home) + [(Path("/"), "installed packages")]


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


# By hand: pooch downloads URLs; these packages come from apt-get and its configured mirrors.
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
