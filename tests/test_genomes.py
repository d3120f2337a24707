"""The genome OoD benchmark builder, on tiny synthetic genomes packed in synthetic .deb files."""

import gzip
import json
import hashlib
import io
import lzma
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_fssd.datasets import CorruptDataError, DatasetNotFoundError
from sklearn_fssd.genomes import Genome, encode_dna, load_genome_ood, read_sequences
from sklearn_fssd.genomes.fragments import _block_splits
from sklearn_fssd.genomes.table import GENOMES


def _gzipped(data):
    """gzip with a fixed time stamp: the same content always gives the same bytes (and SHA-256)."""
    return gzip.compress(data, mtime=0)


def _random_dna(n, gc, seed):
    rng = np.random.RandomState(seed)
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return "".join(rng.choice(list("ACGT"), size=n, p=p))


def _fasta(records):
    lines = []
    for name, seq in records:
        lines.append(f">{name}")
        lines += [seq[i: i + 60] for i in range(0, len(seq), 60)]
    return ("\n".join(lines) + "\n").encode()


def _genbank(name, seq):
    body = []
    for i in range(0, len(seq), 60):
        words = [seq[j: j + 10].lower() for j in range(i, min(i + 60, len(seq)), 10)]
        body.append(f"{i + 1:>9} " + " ".join(words))
    return (f"LOCUS       {name}  {len(seq)} bp    DNA     linear   BCT\nFEATURES\n"
            "ORIGIN\n" + "\n".join(body) + "\n//\n").encode()


def _write_deb(path, files):
    """A minimal Debian package (ar archive with a data.tar.xz) holding ``files``.

    Every time stamp is 0 (tar and ar), so the same files always give the same bytes.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo("./" + name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    members = {"debian-binary": b"2.0\n", "control.tar.xz": b"", "data.tar.xz": buf.getvalue()}
    with open(path, "wb") as fh:
        fh.write(b"!<arch>\n")
        for name, data in members.items():
            fh.write(f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode())
            fh.write(data + (b"\n" if len(data) % 2 else b""))


def _synthetic(tmp_path, *, corrupt=None):
    """Three ID and two OoD synthetic genomes in two packages; returns (table, deb folder)."""
    specs = [  # id, role, package, file name, content
        ("g_at", "id", "pkg-one", "usr/share/one/at.fa.gz",
         _gzipped(_fasta([("chr", _random_dna(30000, 0.3, 1))]))),
        ("g_gc", "id", "pkg-one", "usr/share/one/gc.gbk",
         _genbank("GC1", _random_dna(24000, 0.7, 2))),
        ("g_two", "id", "pkg-two", "usr/share/two/two.fna.xz",
         lzma.compress(_fasta([("a", _random_dna(15000, 0.5, 3)),
                               ("b", "N" * 4000 + _random_dna(11000, 0.5, 4))]))),
        ("o_mid", "ood", "pkg-two", "usr/share/two/ood1.fa",
         _fasta([("x", _random_dna(12000, 0.45, 5))])),
        ("o_low", "ood", "pkg-one", "usr/share/one/ood2.fa",
         _fasta([("y", _random_dna(12000, 0.2, 6))])),
    ]
    table, by_pkg = [], {}
    for gid, role, pkg, path, data in specs:
        records = read_sequences(data, path)
        table.append(Genome(gid, gid.upper(), pkg, path, hashlib.sha256(data).hexdigest(),
                            sum(len(s) for _, s in records), len(records), role))
        by_pkg.setdefault(pkg, {})[path] = data
    if corrupt:
        pkg, path = corrupt
        by_pkg[pkg][path] = by_pkg[pkg][path][:-40] + b"ACGTACGTAC" * 4
    debs = tmp_path / "debs"
    debs.mkdir(parents=True)
    for pkg, files in by_pkg.items():
        _write_deb(debs / f"{pkg}_1.0-1_all.deb", files)
    return tuple(table), debs, by_pkg


def _debs_with(folder, by_pkg, path, data):
    """The packages of ``by_pkg`` written anew into ``folder``, the file ``path`` now ``data``."""
    folder.mkdir()
    for pkg, files in by_pkg.items():
        files = {**files, path: data} if path in files else files
        _write_deb(folder / f"{pkg}_1.0-1_all.deb", files)
    return folder


SMALL = dict(fragment_length=50, n_train=40, n_val=10, n_test=10, n_blocks=10)


def test_encode_dna_maps_bases_and_iupac_codes():
    assert encode_dna("ACGTacgt").tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert encode_dna(b"NRYKMSWBDHV-").tolist() == [4] * 12
    assert encode_dna("").dtype == np.uint8


def test_read_sequences_fasta_genbank_and_compression():
    fa = _fasta([("r1 desc", "ACGTN" * 30), ("r2", "gg")])
    for data, name in [(fa, "x.fa"), (_gzipped(fa), "x.fa.gz"), (lzma.compress(fa), "x.xz")]:
        recs = read_sequences(data, name)
        assert recs == [("r1 desc", b"ACGTN" * 30), ("r2", b"GG")]
    seq = _random_dna(150, 0.5, 0)
    assert read_sequences(_genbank("LOC1", seq), "x.gbk") == [("LOC1", seq.encode())]
    two = _genbank("A", "ACGT" * 20) + _genbank("B", "TTTT" * 5)
    assert [n for n, _ in read_sequences(two)] == ["A", "B"]


@pytest.mark.parametrize("data, match", [
    (b"hello world", "neither FASTA"),
    (b">only-a-header\n", "no sequence"),
    (b"LOCUS  X 10 bp\nFEATURES\n//\n", "no ORIGIN"),
])
def test_read_sequences_rejects_other_content(data, match):
    with pytest.raises(ValueError, match=match):
        read_sequences(data, "bad.fa")


def test_fasta_comment_lines_are_not_bases():
    data = b";an old-style comment before the first record\n>chr1\n;a comment\nACGT\n>chr2\nGG\n"
    assert read_sequences(data, "x.fa") == [("chr1", b"ACGT"), ("chr2", b"GG")]


def test_leading_blank_lines_add_no_empty_record():
    assert read_sequences(b"\n\n  \n>chr1\nACGT\n", "x.fa") == [("chr1", b"ACGT")]


@pytest.mark.parametrize("newline", [b"\r", b"\r\n"], ids=["cr-only", "crlf"])
def test_cr_and_crlf_line_endings_read_as_lf(newline):
    fa = _fasta([("r1 desc", _random_dna(130, 0.5, 0)), ("r2", "ACGT")])
    assert read_sequences(fa.replace(b"\n", newline), "x.fa") == read_sequences(fa, "x.fa")
    gbk = _genbank("LOC1", _random_dna(150, 0.5, 1)) + _genbank("LOC2", "ACGT" * 5)
    assert read_sequences(gbk.replace(b"\n", newline), "x.gbk") == read_sequences(gbk, "x.gbk")


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_compressed_genome_with_verify_off_names_the_file_and_the_fix(tmp_path, damage):
    table, _, by_pkg = _synthetic(tmp_path)
    good = by_pkg["pkg-one"]["usr/share/one/at.fa.gz"]
    middle = len(good) // 2
    bad = good[:middle] if damage == "truncated" else (
        good[:middle] + bytes(b ^ 0x55 for b in good[middle: middle + 8]) + good[middle + 8:])
    with pytest.raises(ValueError, match="could not be decompressed as gzip"):
        read_sequences(bad, "at.fa.gz")
    debs = _debs_with(tmp_path / "bad", by_pkg, "usr/share/one/at.fa.gz", bad)
    with pytest.raises(CorruptDataError, match="truncated or corrupt") as err:
        load_genome_ood(source=debs, genomes=table, cache_dir=False, verify=False, **SMALL)
    message = str(err.value)
    assert f"{debs / 'pkg-one_1.0-1_all.deb'}:usr/share/one/at.fa.gz" in message
    assert "apt-get download pkg-one" in message


@pytest.mark.parametrize("field, match", [
    (b"12x4", r"size field '12x4', not a byte count"),
    (b"-5", r"size field '-5', not a byte count"),
    (b"9999999999", r"truncated: member 'data.tar.xz' declares 9999999999 bytes"),
])
def test_deb_with_a_bad_size_field_names_the_file_and_the_fix(tmp_path, field, match):
    table, debs, _ = _synthetic(tmp_path)
    deb = debs / "pkg-one_1.0-1_all.deb"
    raw = bytearray(deb.read_bytes())
    header = raw.index(b"data.tar.xz     ")
    raw[header + 48: header + 58] = field.ljust(10)
    deb.write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError, match=match) as err:
        load_genome_ood(source=debs, genomes=table, cache_dir=False, **SMALL)
    assert str(deb) in str(err.value) and "apt-get download pkg-one" in str(err.value)


@pytest.mark.parametrize("max_unknown", [float("nan"), -0.1, 1.5])
def test_max_unknown_must_be_a_share_from_0_to_1(max_unknown):
    with pytest.raises(ValueError, match=r"max_unknown=.*a number from 0 to 1"):
        load_genome_ood(max_unknown=max_unknown, cache_dir=False)


def test_block_splits_are_disjoint_and_cover_the_genome():
    blocks = _block_splits(10_000, 20, np.random.RandomState(0))
    assert [len(blocks[s]) for s in ("train", "val", "test")] == [16, 2, 2]
    spans = sorted(b for s in blocks.values() for b in s)
    assert spans[0][0] == 0 and spans[-1][1] == 10_000
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # no gap, no overlap


def test_builds_from_debs_with_classes_splits_and_shapes(tmp_path):
    table, debs, _ = _synthetic(tmp_path)
    data = load_genome_ood(source=debs, genomes=table, cache_dir=False, **SMALL)
    assert data.classes == ["G_AT", "G_GC", "G_TWO"] and data.ood_classes == ["O_MID", "O_LOW"]
    assert data.X_train.shape == (120, 50) and data.X_train.dtype == np.int64
    assert np.bincount(data.y_train).tolist() == [40, 40, 40]
    assert data.X_val.shape[1] == data.X_test_ood.shape[1] == 50
    # OoD validation/test match the ID totals: ceil(10 * 3 / 2) = 15 per OoD species
    assert np.bincount(data.y_val_ood).tolist() == [15, 15]
    assert np.bincount(data.y_test_ood).tolist() == [15, 15]
    assert set(np.unique(data.X_train)) <= {0, 1, 2, 3, 4}
    # composition follows the species: the GC-rich class has more C/G than the AT-rich one
    gc = lambda X: np.isin(X, [1, 2]).mean()  # noqa: E731
    assert gc(data.X_train[data.y_train == 1]) > 0.6 > 0.4 > gc(data.X_train[data.y_train == 0])
    # no validation or test fragment is an exact copy of a training fragment
    train = {r.tobytes() for r in data.X_train}
    for key in ("X_val", "X_test", "X_val_ood", "X_test_ood"):
        assert not any(r.tobytes() in train for r in data[key])
    assert str(debs) in data.source


def test_fragments_stay_in_one_record_take_both_strands_and_limit_unknowns(tmp_path):
    pure = _fasta([("a", "A" * 3000), ("c", "C" * 3000), ("n", "N" * 2000 + "G" * 1000)])
    table = (Genome("pure", "PURE", "pkg", "p.fa", hashlib.sha256(pure).hexdigest(), 9000, 3,
                    "id"),)
    debs = tmp_path / "debs"
    debs.mkdir()
    _write_deb(debs / "pkg_1_all.deb", {"p.fa": pure})
    data = load_genome_ood(source=debs, genomes=table, cache_dir=False, fragment_length=40,
                           n_train=200, n_val=5, n_test=5, n_blocks=10, max_unknown=0.1)
    rows = {tuple(np.unique(r)) for r in data.X_train}
    # every fragment is one base repeated: never across records (A|C or C|N), and
    # both strands (A's reverse complement is T, C's is G)
    assert rows <= {(0,), (1,), (2,), (3,)} and {(0,), (3,)} <= rows and {(1,), (2,)} <= rows
    assert not any(4 in r for r in rows)  # the N run is never sampled beyond 10 %


def test_iupac_codes_become_token_4(tmp_path):
    seq = "".join("R" if i % 50 == 0 else b for i, b in enumerate(_random_dna(5000, 0.5, 9)))
    fa = _fasta([("r", seq)])
    table = (Genome("iu", "IU", "pkg", "i.fa", hashlib.sha256(fa).hexdigest(), 5000, 1, "id"),)
    debs = tmp_path / "debs"
    debs.mkdir()
    _write_deb(debs / "pkg_1_all.deb", {"i.fa": fa})
    data = load_genome_ood(source=debs, genomes=table, cache_dir=False, fragment_length=100,
                           n_train=20, n_val=2, n_test=2, n_blocks=5)
    assert ((data.X_train == 4).sum(axis=1) == 2).all()  # 2 R's per 100 bases, as token 4


def test_exact_copies_of_training_fragments_are_dropped(tmp_path):
    unit = _random_dna(60, 0.5, 11)
    fa = _fasta([("rep", unit * 200)])  # a genome made of one repeat: every fragment recurs
    table = (Genome("rep", "REP", "pkg", "r.fa", hashlib.sha256(fa).hexdigest(), 12000, 1, "id"),)
    debs = tmp_path / "debs"
    debs.mkdir()
    _write_deb(debs / "pkg_1_all.deb", {"r.fa": fa})
    data = load_genome_ood(source=debs, genomes=table, cache_dir=False, fragment_length=30,
                           n_train=150, n_val=20, n_test=20, n_blocks=10)
    assert data.dropped["val"] > 0 and data.dropped["test"] > 0
    assert len(data.X_val) == 20 - data.dropped["val"]


def test_same_seed_same_benchmark_and_cache_round_trip(tmp_path):
    table, debs, _ = _synthetic(tmp_path)
    a = load_genome_ood(source=debs, genomes=table, cache_dir=False, random_state=3, **SMALL)
    b = load_genome_ood(source=debs, genomes=table, cache_dir=tmp_path / "c", random_state=3,
                        **SMALL)
    assert Path(b.path).is_file() and Path(b.path).parent == tmp_path / "c"
    # the second call reads the cache: it needs no package any more
    c = load_genome_ood(source=tmp_path / "nowhere", genomes=table, cache_dir=tmp_path / "c",
                        random_state=3, **SMALL)
    for key in ("X_train", "y_train", "X_test_ood", "y_val_ood"):
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(a[key], c[key])
    other = load_genome_ood(source=debs, genomes=table, cache_dir=False, random_state=4, **SMALL)
    assert not np.array_equal(a.X_train, other.X_train)


def test_unverified_cache_follows_the_content_of_the_files_read(tmp_path):
    """With verify=False a changed genome file is never served from the old file's build."""
    table, debs, by_pkg = _synthetic(tmp_path)
    cache = tmp_path / "c"
    before = load_genome_ood(source=debs, genomes=table, cache_dir=cache, verify=False, **SMALL)
    other = _fasta([("x", _random_dna(12000, 0.45, 99))])  # another OoD genome, same file name
    changed = _debs_with(tmp_path / "changed", by_pkg, "usr/share/two/ood1.fa", other)
    after = load_genome_ood(source=changed, genomes=table, cache_dir=cache, verify=False, **SMALL)
    fresh = load_genome_ood(source=changed, genomes=table, cache_dir=False, verify=False, **SMALL)
    assert after.path != before.path and len(list(cache.iterdir())) == 2
    np.testing.assert_array_equal(after.X_val_ood, fresh.X_val_ood)
    assert not np.array_equal(after.X_val_ood, before.X_val_ood)
    # unchanged files: the cached build is used again
    again = load_genome_ood(source=debs, genomes=table, cache_dir=cache, verify=False, **SMALL)
    assert again.path == before.path
    np.testing.assert_array_equal(again.X_val_ood, before.X_val_ood)


def _flip_middle(raw):
    middle = len(raw) // 2
    return raw[:middle] + bytes(b ^ 0xFF for b in raw[middle: middle + 16]) + raw[middle + 16:]


@pytest.mark.parametrize("damage", [
    lambda raw: raw[: len(raw) // 2],  # truncated: BadZipFile
    lambda raw: b"",  # empty
    _flip_middle,  # corrupt inside a compressed array: bad CRC or zlib.error
    lambda raw: raw[:40],  # a few bytes
], ids=["truncated", "empty", "corrupt", "cut-short"])
def test_corrupt_cache_is_named_removed_and_rebuilt(tmp_path, damage):
    table, debs, _ = _synthetic(tmp_path)
    cache = tmp_path / "c"
    first = load_genome_ood(source=debs, genomes=table, cache_dir=cache, **SMALL)
    path = Path(first.path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.warns(UserWarning, match="unreadable.*removed and is built again") as record:
        second = load_genome_ood(source=debs, genomes=table, cache_dir=cache, **SMALL)
    assert str(path) in str(record[0].message)
    for key in ("X_train", "y_train", "X_val_ood", "X_test"):
        np.testing.assert_array_equal(first[key], second[key])
    # the rebuilt cache is whole: the next call reads it, without the packages
    third = load_genome_ood(source=tmp_path / "nowhere", genomes=table, cache_dir=cache, **SMALL)
    np.testing.assert_array_equal(first.X_train, third.X_train)
    assert [p.name for p in cache.iterdir()] == [path.name]  # no temporary file left


def test_cache_missing_an_array_is_rebuilt(tmp_path):
    table, debs, _ = _synthetic(tmp_path)
    first = load_genome_ood(source=debs, genomes=table, cache_dir=tmp_path / "c", **SMALL)
    with np.load(first.path) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "X_test_ood"}
    np.savez_compressed(first.path, **arrays)
    with pytest.warns(UserWarning, match="X_test_ood"):
        second = load_genome_ood(source=debs, genomes=table, cache_dir=tmp_path / "c", **SMALL)
    np.testing.assert_array_equal(first.X_test_ood, second.X_test_ood)


def test_dpkg_x_tree_is_a_source_too(tmp_path):
    table, _, by_pkg = _synthetic(tmp_path)
    for pkg, files in by_pkg.items():
        for path, data in files.items():
            target = tmp_path / "tree" / pkg / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    data = load_genome_ood(source=tmp_path / "tree", genomes=table, cache_dir=False, **SMALL)
    assert data.X_train.shape == (120, 50)


def test_synthetic_packages_are_byte_identical_whatever_the_clock(tmp_path, monkeypatch):
    """The helpers stamp no time into gzip, tar or ar: tests comparing checksums cannot flake."""
    import time

    _, first, _ = _synthetic(tmp_path / "a")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3600)  # an hour later
    _, second, _ = _synthetic(tmp_path / "b")
    for deb in sorted(first.iterdir()):
        assert deb.read_bytes() == (second / deb.name).read_bytes()


def test_checksum_mismatch_is_a_clear_error_and_nothing_is_cached(tmp_path):
    table, _, _ = _synthetic(tmp_path)
    _, bad_debs, _ = _synthetic(tmp_path / "bad", corrupt=("pkg-two", "usr/share/two/ood1.fa"))
    with pytest.raises(CorruptDataError, match="SHA-256.*apt-get download pkg-two") as err:
        load_genome_ood(source=bad_debs, genomes=table, cache_dir=tmp_path / "c", **SMALL)
    assert err.value.expected != err.value.actual
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").iterdir())


def test_damaged_deb_is_a_clear_error(tmp_path):
    table, debs, _ = _synthetic(tmp_path)
    deb = next(debs.glob("pkg-one_*.deb"))
    deb.write_bytes(deb.read_bytes()[:300])
    with pytest.raises(CorruptDataError, match="damaged.*apt-get download pkg-one"):
        load_genome_ood(source=debs, genomes=table, cache_dir=False, **SMALL)
    deb.write_bytes(b"not a package")
    with pytest.raises(CorruptDataError, match="not a Debian package"):
        load_genome_ood(source=debs, genomes=table, cache_dir=False, **SMALL)


def test_missing_packages_say_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("SKLEARN_FSSD_DATA", str(tmp_path / "root"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(DatasetNotFoundError) as err:
        load_genome_ood(cache_dir=False, **SMALL)
    msg = str(err.value)
    assert "apt-get download" in msg and "ragout-examples" in msg and "cct-examples" in msg
    assert str(tmp_path / "root" / "genomes" / "debs") in msg


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="n_train"):
        load_genome_ood(n_train=-1, cache_dir=False)


def test_table_uses_each_genome_once_with_ten_id_classes():
    assert sum(g.role == "id" for g in GENOMES) == 10
    assert len({g.sha256 for g in GENOMES}) == len(GENOMES)
    species = [g.species.split()[1] if g.species.split()[0] != "Mycobacterium" else g.species
               for g in GENOMES]
    assert len(set(species)) == len(species)


def _real_debs():
    from sklearn_fssd.genomes.debs import _read_genome_files

    try:
        _read_genome_files(GENOMES[:1], None, None)
    except DatasetNotFoundError:
        return False
    return True


# the packages are read once, at collection, for every test that needs them
needs_real_debs = pytest.mark.skipif(not _real_debs(), reason="the Debian genome packages are not "
                                     "downloaded (python -m sklearn_fssd.genomes --download)")


@needs_real_debs
def test_real_packages_match_the_manifest(tmp_path):
    data = load_genome_ood(n_train=20, n_val=5, n_test=5, cache_dir=tmp_path)
    assert len(data.classes) == 10 and len(data.ood_classes) == 5
    assert data.X_train.shape == (200, 250)
    assert data.classes[0].startswith("Escherichia coli")


@pytest.mark.parametrize("conv_channels", [0, 6])
def test_fssd_taps_every_genome_lstm_layer_and_perturbs_embeddings(conv_channels):
    import torch

    from sklearn_fssd import FSSDDetector
    from sklearn_fssd.models import GenomeLSTM

    torch.manual_seed(0)
    net = GenomeLSTM(embedding_dim=4, hidden_size=5, num_classes=3, conv_channels=conv_channels,
                     conv_pool=3).eval()
    X = np.random.RandomState(0).randint(0, 4, size=(40, 30))
    det = FSSDDetector(net, random_state=0).fit(X)
    expected = ["embedding", "lstm1", "lstm2", "fc"]
    if conv_channels:
        expected.insert(1, "conv")
    assert det.tokens_ and det.layers_ == expected
    plain = det.layer_scores(X[:8])
    assert plain.shape == (8, len(expected)) and np.isfinite(plain).all()
    # input pre-processing moves the embeddings away from F*: every layer's FSSD can only grow
    moved = FSSDDetector(net, epsilon=0.05, random_state=0).fit(X).layer_scores(X[:8])
    assert (moved >= plain - 1e-5).all() and (moved > plain + 1e-6).any()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    det.score_samples(X)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


@needs_real_debs
def test_genome_benchmark_quick_runs_the_protocol_and_reuses_its_network(tmp_path):
    from benchmarks import genome, protocol

    out, cache = tmp_path / "out", tmp_path / "cache"
    first = genome.main(["--quick", "--out", str(out), "--cache", str(cache)])
    species = [g.species for g in GENOMES if g.role == "ood"]
    assert first["network"]["trained"] and not first["network"]["loaded"]
    # each held-out species a kind; the Enterobacterales never tune each other's column
    tune_on = {s: "Mycolicibacterium smegmatis mc2 155" if s.startswith(("Klebsiella",
                                                                           "Buchnera"))
               else "Klebsiella pneumoniae HS11286" for s in species}
    assert first["tune_on"] == tune_on
    for setting, block in first["settings"].items():
        # the paper's setting has the first species' column only (its fit serves other columns)
        assert list(block["columns"]) == (species[:1] if setting == "same_kind" else species)
        for kind, col in block["columns"].items():
            assert set(genome.MAIN_METHODS) <= set(col["methods"])
            assert col["tuned_on"] == {"no_ood": None, "other_kind": tune_on[kind],
                                       "same_kind": kind}[setting]
            assert all(0 <= r["auroc"] <= 100 for r in col["methods"].values())
    assert list(first["settings"]) == list(protocol.SETTINGS)
    assert list(first["fssd_layers"][species[0]]) == ["embedding", "conv", "lstm1", "lstm2", "fc"]
    assert set(first["dropped"]["equal on either strand to an earlier pool"]) == {
        "id val", "id test", *(f"{s} {part}" for s in species for part in ("val", "test"))}
    text = (out / "genome.md").read_text()
    assert "| FSSD |" in text and "### no OoD data (AUROC %)" in text
    assert "## Deviations from the paper's genome experiment" in text and "Ren et al." in text
    assert json.loads((out / "genome.json").read_text())["command"].endswith("--quick")
    # the network is trained against the in-distribution validation fragments' loss, and the
    # results say which epoch early stopping kept
    curve = first["network"]["history"][first["network"]["trained"][0]]
    assert [h["epoch"] for h in curve] == [1] and curve[0]["valid_loss"] > 0
    assert "Kept the weights of epoch 1 of 1" in text
    second = genome.main(["--quick", "--out", str(out), "--cache", str(cache)])
    assert second["network"]["loaded"] and not second["network"]["trained"]
    # a run that loads the cached network still records how it was trained
    assert second["network"]["history"] == first["network"]["history"]
    assert second["settings"]["same_kind"]["mean"]["FSSD"]["auroc"] == pytest.approx(
        first["settings"]["same_kind"]["mean"]["FSSD"]["auroc"])


@pytest.mark.slow  # a third quick run of the benchmark: kept out of the 5-minute default run
@needs_real_debs
def test_genome_benchmark_quick_both_strands_writes_its_own_file(tmp_path):
    from benchmarks import genome

    out, cache = tmp_path / "out", tmp_path / "cache"
    first = genome.main(["--quick", "--out", str(out), "--cache", str(cache)])
    # every method reads both strands: the same network, a file of its own beside genome.md
    one_strand = (out / "genome.md").read_text()
    both = genome.main(["--quick", "--both-strands", "--out", str(out), "--cache", str(cache)])
    assert both["network"]["loaded"] and both["config"]["both_strands"]
    assert "both strands" in (out / "genome_both_strands.md").read_text().splitlines()[0]
    assert (out / "genome.md").read_text() == one_strand  # left as it was
    assert both["settings"]["no_ood"]["mean"]["FSSD"]["auroc"] != pytest.approx(
        first["settings"]["no_ood"]["mean"]["FSSD"]["auroc"])


@pytest.mark.slow  # another quick run of the benchmark, with a second network
@needs_real_debs
def test_genome_benchmark_quick_ensemble_adds_deep_ensemble_and_fssd_network_ensemble(tmp_path):
    from benchmarks import genome

    out, cache = tmp_path / "out", tmp_path / "cache"
    res = genome.main(["--quick", "--n-ensemble", "2", "--n-train", "30", "--out", str(out),
                       "--cache", str(cache)])
    # the member network is trained on the run's fragments (30 of each of the 10 species) and
    # cached beside the first
    assert res["sizes"]["train"] == 300
    assert [n.endswith(("_n300_s0.pt", "_n300_s0-m1.pt"))
            for n in res["network"]["trained"]] == [True] * 2
    assert res["network"]["trained"][0] != res["network"]["trained"][1]
    for block in res["settings"].values():
        assert {"DE", "FSSD network ensemble"} <= set(block["mean"])
    # Deep Ensemble needs no OoD data: one fit serves every setting (same columns, same mean)
    assert (res["settings"]["no_ood"]["mean"]["DE"]["auroc"]
            == res["settings"]["other_kind"]["mean"]["DE"]["auroc"])
    text = (out / "genome_n30_ensemble.md").read_text()
    assert "read 2 BiLSTMs" in text and "Deep Ensemble is left out" not in text
    assert "Size: 30 training fragments" in text
    assert not (out / "genome.md").exists()  # the single-network file is another run's
    again = genome.main(["--quick", "--n-ensemble", "2", "--n-train", "30", "--out", str(out),
                         "--cache", str(cache)])
    assert len(again["network"]["loaded"]) == 2 and not again["network"]["trained"]


@pytest.mark.parametrize("option, message", [
    ("--n-ensemble", "--n-ensemble must be at least 1"),
    ("--n-train", "--n-train must be at least 1 fragment per species"),
])
def test_genome_benchmark_refuses_sizes_below_one(capsys, option, message):
    from benchmarks import genome

    with pytest.raises(SystemExit):
        genome.main(["--quick", option, "0"])
    assert message in capsys.readouterr().err


def test_genome_benchmark_training_size_names_its_own_file_and_deviation():
    from benchmarks import genome

    default = genome.config_of(genome.parse_args([]))
    larger = genome.config_of(genome.parse_args(["--n-train", "12000"]))
    assert default["n_train"] == 4000 and larger["n_train"] == 12000
    assert genome.config_of(genome.parse_args(["--quick", "--n-train", "30"]))["n_train"] == 30
    # a quick run writes beside, not over, the reported files unless --out says where
    from benchmarks._ood import QUICK_RESULTS, RESULTS

    assert genome.parse_args([]).out == RESULTS
    assert genome.parse_args(["--quick"]).out == QUICK_RESULTS != RESULTS
    assert str(genome.parse_args(["--quick", "--out", "elsewhere"]).out) == "elsewhere"
    # a run on another training size writes beside the reported one, never over it
    assert genome.stem_of(default) == "genome"
    assert genome.stem_of(larger) == "genome_n12000"
    assert genome.stem_of(genome.config(False, n_train=12000, both_strands=True,
                                        n_ensemble=3)) == "genome_n12000_both_strands_ensemble"
    assert genome.stem_of(genome.config(True)) == "genome"  # --quick's own size
    # the results say how many fragments the network trained on
    size = [d for d in genome.deviations(larger) if d.startswith("Size:")]
    assert size and size[0].startswith("Size: 12,000 training fragments")
    assert [d for d in genome.deviations(default) if d.startswith("Size: 4,000 ")]


def test_reverse_complement_of_arrays_and_tensors():
    from sklearn_fssd.genomes import encode_dna, reverse_complement

    X = np.stack([encode_dna("ACGTN"), encode_dna("AACCG")])
    assert reverse_complement(X).tolist() == [[4, 0, 1, 2, 3], [1, 2, 2, 3, 3]]
    assert reverse_complement(X).dtype == np.uint8
    np.testing.assert_array_equal(reverse_complement(reverse_complement(X)), X)
    tensor = torch.as_tensor(X.astype(np.int64))
    assert torch.equal(reverse_complement(tensor), torch.as_tensor(reverse_complement(X)).long())
    assert reverse_complement(np.array([[7, 0]])).tolist() == [[3, 7]]  # ids past N stay
    assert reverse_complement(encode_dna("GATTN")).tolist() == [4, 0, 0, 3, 1]  # one sequence
    assert reverse_complement(torch.as_tensor(X)).dtype == torch.uint8


def test_reverse_complements_count_as_copies():
    from benchmarks.genome import strands_apart
    from sklearn_fssd.genomes import reverse_complement

    train = np.array([[0, 1, 2, 4], [3, 3, 0, 1]])
    assert reverse_complement(train).tolist() == [[4, 1, 2, 3], [2, 3, 0, 0]]
    val = np.array([[4, 1, 2, 3], [1, 1, 1, 1], [0, 0, 0, 0]])  # [0]: train[0], other strand
    # the other strand of val[1] and of val[2], and train[0]
    test = np.array([[2, 2, 2, 2], [3, 3, 3, 3], [0, 1, 2, 4]])
    assert {k: v.tolist() for k, v in strands_apart(train, {"val": val, "test": test}).items()} \
        == {"val": [1, 2], "test": []}


def test_ci_downloads_exactly_the_packages_the_table_needs():
    import re

    script = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    listed = re.search(r"apt-get download -qq (.*?)\)", script, re.S).group(1)
    assert set(listed.replace("\\", " ").split()) == {g.package for g in GENOMES}


def test_download_runs_apt_get_download_into_the_data_home(tmp_path, monkeypatch):
    table, debs, _ = _synthetic(tmp_path)
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    # a stand-in for apt-get: "apt-get download PKG..." copies PKG_*.deb into the working folder
    fake.write_text(f"#!/bin/sh\nshift\nfor p in \"$@\"; do cp {debs}/\"$p\"_*.deb . ; done\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    data = load_genome_ood(genomes=table, data_home=tmp_path / "home", download=True,
                           cache_dir=False, **SMALL)
    got = sorted(p.name for p in (tmp_path / "home" / "genomes" / "debs").iterdir())
    assert got == ["pkg-one_1.0-1_all.deb", "pkg-two_1.0-1_all.deb"]
    assert data.X_train.shape == (120, 50) and "genomes/debs" in data.source


def test_download_without_apt_get_says_where_to_get_the_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get on it
    with pytest.raises(DatasetNotFoundError, match="no apt-get.*packages.debian.org"):
        load_genome_ood(data_home=tmp_path, download=True, cache_dir=False, **SMALL)
