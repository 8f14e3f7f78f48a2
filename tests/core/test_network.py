"""Finding out that the app is offline: the probe, its memory, failed downloads, and what depends on it.

No test touches the real network: the probe's socket is replaced, or points at a closed
loopback port (a refusal in microseconds). PLAYGROUND_OFFLINE is unset here (tests/conftest.py
sets it for every other test), so the automatic detection is what decides.
"""

import io
import socket
import threading
import time
import urllib.error

import pytest

from core import datasets, network, pretrained, recipes
from core.datasets import DatasetUnavailable
from core.spec import DataSpec


@pytest.fixture(autouse=True)
def detecting(monkeypatch):
    """PLAYGROUND_OFFLINE unset, no remembered answer before or after, no real connection ever."""
    monkeypatch.delenv("PLAYGROUND_OFFLINE", raising=False)
    monkeypatch.delenv("PLAYGROUND_PROBE_HOST", raising=False)
    network.forget()
    yield
    network.forget()


class Probes:
    """A stand-in for socket.create_connection that counts its calls and fails or succeeds as told."""

    def __init__(self, error: BaseException | None = None, delay: float = 0.0):
        self.error, self.delay, self.calls = error, delay, []

    def __call__(self, address, timeout=None):
        self.calls.append((address, timeout))
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return io.BytesIO()  # anything with close()


@pytest.fixture
def offline_probe(monkeypatch) -> Probes:
    probes = Probes(socket.gaierror(-2, "Name or service not known"))
    monkeypatch.setattr(socket, "create_connection", probes)
    return probes


@pytest.fixture
def online_probe(monkeypatch) -> Probes:
    probes = Probes()
    monkeypatch.setattr(socket, "create_connection", probes)
    return probes


def closed_port() -> int:
    """A loopback port nobody listens on (bound for a moment, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the probe and its memory


def test_a_failed_name_lookup_means_offline_and_is_remembered(offline_probe):
    assert network.can_download() is False
    answer = network.status()
    assert answer.why.key == "network.no_dns" and "storage.googleapis.com:443" in str(answer.why)
    assert offline_probe.calls == [(network.DOWNLOAD_HOST, network.PROBE_TIMEOUT)]
    assert network.known_offline()
    for _ in range(20):
        network.can_download()
    assert len(offline_probe.calls) == 1  # remembered: one probe
    assert answer.until - time.monotonic() == pytest.approx(network.OFFLINE_FOR, abs=5)


def test_online_is_remembered_for_a_shorter_while_then_asked_again(online_probe, monkeypatch):
    assert network.can_download() is True and network.status().why is None
    assert not network.known_offline()
    network.can_download()
    assert len(online_probe.calls) == 1
    assert network.status().until - time.monotonic() == pytest.approx(network.ONLINE_FOR, abs=5)
    assert network.ONLINE_FOR < network.OFFLINE_FOR
    later = time.monotonic() + network.ONLINE_FOR + 1
    monkeypatch.setattr(network.time, "monotonic", lambda: later)
    network.can_download()
    assert len(online_probe.calls) == 2  # the memory ran out: probed again


def test_offline_is_asked_again_after_its_while(offline_probe, monkeypatch):
    network.can_download()
    later = time.monotonic() + network.OFFLINE_FOR + 1
    monkeypatch.setattr(network.time, "monotonic", lambda: later)
    network.can_download()
    assert len(offline_probe.calls) == 2


def test_the_switch_never_probes(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_OFFLINE", "1")
    monkeypatch.setattr(socket, "create_connection", Probes(AssertionError("the switch must not probe")))
    assert network.can_download() is False and network.known_offline()
    assert network.status().why.key == "network.switch"


def test_a_refused_connection_on_a_closed_loopback_port(monkeypatch):
    port = closed_port()
    monkeypatch.setenv("PLAYGROUND_PROBE_HOST", f"127.0.0.1:{port}")
    assert network.probe_target() == ("127.0.0.1", port)
    started = time.perf_counter()
    assert network.can_download() is False
    assert time.perf_counter() - started < 1.0
    assert network.status().why.key == "network.refused" and f"127.0.0.1:{port}" in str(network.status().why)


def test_a_probe_that_hangs_is_cut_short(monkeypatch):
    monkeypatch.setattr(socket, "create_connection", Probes(delay=3.0))
    started = time.perf_counter()
    assert network.probe("example.invalid", 443, timeout=0.2).key == "network.timeout"
    assert time.perf_counter() - started < 1.0


def test_sessions_asking_at_once_share_one_probe(monkeypatch):
    probes = Probes(ConnectionRefusedError(111, "refused"), delay=0.2)
    monkeypatch.setattr(socket, "create_connection", probes)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(network.can_download())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert answers == [False] * 8 and len(probes.calls) == 1


@pytest.mark.parametrize(
    "raw, expected",
    [("127.0.0.1:9", ("127.0.0.1", 9)), ("mirror.example", ("mirror.example", 443)), ("[::1]:8080", ("::1", 8080))],
)
def test_the_probe_target_is_overridable(monkeypatch, raw, expected):
    monkeypatch.setenv("PLAYGROUND_PROBE_HOST", raw)
    assert network.probe_target() == expected


def test_an_https_proxy_is_probed_instead_of_the_download_host(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert network.probe_target() == ("proxy.example", 3128)


def keras_style_failure() -> Exception:
    """What keras.utils.get_file raises offline: a plain Exception raised while handling the URLError."""
    try:
        try:
            raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))
        except urllib.error.URLError as e:
            raise Exception(f"URL fetch failure on https://storage.googleapis.com/x: None -- {e.reason}") from None
    except Exception as exc:  # noqa: BLE001
        return exc


@pytest.mark.parametrize(
    "exc, expected",
    [
        (urllib.error.URLError(socket.gaierror(-2, "Name or service not known")), True),
        (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), True),
        (TimeoutError("timed out"), True),
        (ConnectionResetError(104, "reset"), True),
        (keras_style_failure(), True),
        (urllib.error.HTTPError("https://x", 404, "Not Found", {}, None), False),
        (ValueError("bad file"), False),
        (OSError(28, "No space left on device"), False),
    ],
)
def test_which_failures_are_connection_failures(exc, expected):
    assert network.is_connection_error(exc) is expected


# --------------------------------------------------------------------------- downloads


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """An empty data dir and an empty Keras cache: every weights file is missing."""
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    datasets._load_full.cache_clear()  # nothing loaded by an earlier test answers for the files
    yield tmp_path
    datasets._load_full.cache_clear()


def test_a_download_that_cannot_connect_marks_offline(no_weights, online_probe, monkeypatch):
    def refuse(url, timeout=None):
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    m = pretrained.ZOO["mobilenet_0.25"]
    monkeypatch.setattr(pretrained.urllib.request, "urlopen", refuse)
    assert pretrained.availability(m) == "download"  # the probe said online
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.resolve_weights(m)
    assert info.value.failed and "storage.googleapis.com refused the connection" in str(info.value)
    assert network.known_offline()
    assert pretrained.availability(m) == "missing" and len(online_probe.calls) == 1  # no new probe: remembered
    with pytest.raises(pretrained.WeightsUnavailable) as again:
        pretrained.resolve_weights(m)  # no second attempt
    assert not again.value.failed and m.file in str(again.value)
    assert not list((no_weights / "keras").rglob("*.part"))


def test_a_download_that_works_reports_progress_and_lands_in_the_keras_cache(no_weights, online_probe, monkeypatch):
    data = b"x" * (3 << 20)
    monkeypatch.setattr(pretrained.urllib.request, "urlopen", lambda url, timeout=None: FakeResponse(data))
    seen = []
    path = pretrained.resolve_weights(pretrained.ZOO["mobilenet_0.25"], progress=lambda done, total: seen.append((done, total)))
    assert path == no_weights / "keras" / "models" / "mobilenet_2_5_224_tf.h5" and path.read_bytes() == data
    assert seen[-1] == (len(data), len(data)) and len(seen) == 3
    assert network.can_download() and pretrained.availability(pretrained.ZOO["mobilenet_0.25"]) == "local"


def test_a_server_error_is_not_offline(no_weights, online_probe, monkeypatch):
    def not_found(url, timeout=None):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)

    monkeypatch.setattr(pretrained.urllib.request, "urlopen", not_found)
    with pytest.raises(pretrained.WeightsUnavailable, match="HTTP Error 404"):
        pretrained.resolve_weights(pretrained.ZOO["mobilenet_0.25"])
    assert not network.known_offline()


def test_weights_availability_is_truthful_both_ways(no_weights, monkeypatch):
    m = pretrained.ZOO["vgg16"]
    monkeypatch.setattr(socket, "create_connection", Probes())
    assert pretrained.availability(m) == "download"
    network.forget()
    monkeypatch.setattr(socket, "create_connection", Probes(socket.gaierror(-2, "Name or service not known")))
    assert pretrained.availability(m) == "missing"
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.resolve_weights(m)
    text = str(info.value)
    assert m.file in text and str(no_weights / "data" / "models") in text and "could not be looked up" in text
    (no_weights / "data" / "models").mkdir(parents=True)
    (no_weights / "data" / "models" / m.file).write_bytes(b"")
    assert pretrained.availability(m) == "local"


def test_the_folder_to_put_weights_in_is_the_data_dir_else_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("PLAYGROUND_DATA_DIR", raising=False)
    assert pretrained.weights_folder() == tmp_path / "keras" / "models"
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "data"))
    assert pretrained.weights_folder() == tmp_path / "data" / "models"


# --------------------------------------------------------------------------- the recipe fallback and datasets


def test_the_transfer_recipe_falls_back_when_offline_is_found_out(no_weights, offline_probe):
    models = no_weights / "data" / "models"
    models.mkdir(parents=True)
    (models / pretrained.ZOO["mobilenet_0.75"].file_notop).write_bytes(b"")  # only MobileNet 0.75 is here
    spec = recipes.get("transfer-features").build_spec()
    assert spec.transfer.base == "mobilenet_0.75"
    assert len(offline_probe.calls) == 1


def test_the_transfer_recipe_keeps_vgg16_when_it_can_download(no_weights, online_probe):
    models = no_weights / "data" / "models"
    models.mkdir(parents=True)
    (models / pretrained.ZOO["mobilenet_0.75"].file_notop).write_bytes(b"")
    assert recipes.get("transfer-features").build_spec().transfer.base == "vgg16"


def test_dataset_availability_now_is_truthful_both_ways(no_weights, monkeypatch):
    monkeypatch.setattr(socket, "create_connection", Probes())
    assert datasets.availability_now("mnist") == "download"
    network.forget()
    monkeypatch.setattr(socket, "create_connection", Probes(socket.gaierror(-2, "Name or service not known")))
    assert datasets.availability_now("mnist") == "missing" and datasets.availability("mnist") == "download"
    assert datasets.availability_now("iris") == "builtin"


def test_keras_download_is_not_tried_when_offline_is_known(no_weights, monkeypatch):
    network.mark_offline(network.reason(socket.gaierror(-2, "x"), "storage.googleapis.com"))
    monkeypatch.setattr(datasets, "_download_keras", lambda name: pytest.fail("Keras's download was tried offline"))
    with pytest.raises(DatasetUnavailable) as info:
        datasets.load(DataSpec(name="fashion_mnist"))
    assert info.value.msg.key == "errors.dataset_unavailable"


def test_keras_download_is_not_started_when_the_probe_fails(no_weights, offline_probe):
    started = time.perf_counter()
    with pytest.raises(DatasetUnavailable) as info:
        datasets.load(DataSpec(name="mnist"))
    assert info.value.msg.key == "errors.dataset_unavailable" and time.perf_counter() - started < 2
    assert len(offline_probe.calls) == 1


def test_a_keras_download_that_cannot_connect_marks_offline(no_weights, monkeypatch):
    def keras_offline(name):
        raise keras_style_failure()

    monkeypatch.setattr(datasets, "_download_keras", keras_offline)
    with pytest.raises(DatasetUnavailable) as info:
        datasets.load(DataSpec(name="mnist"))
    assert info.value.msg.key == "errors.dataset_download_failed" and "could not be looked up" in str(info.value)
    assert network.known_offline()
