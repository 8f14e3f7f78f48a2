"""AppTests for the picture pages: augmentation studio, own folders on the Data page, Classify, Transfer learning."""

import io
import socket
import urllib.error
import uuid

import pytest

from core import network, pretrained, uploads
from tests.core import fabricate, zips
from tests.pages.helpers import button, open_page, texts
from ui.classify_view import plain


def grid_images(at) -> list[str]:
    """The image URLs of every st.image list on the page (the studio's grid is the first)."""
    return [img.url for el in at.get("image") for img in el.proto.imgs]


def test_augmentation_studio_grid_follows_controls_and_seed():
    at = open_page("pages/augment.py")
    first = grid_images(at)
    assert len(first) >= 12
    assert "rotation_range=30" in at.code[0].value  # opens on tutorial 003's settings
    again = open_page("pages/augment.py")
    assert grid_images(again)[:12] == first[:12]  # same seed, same grid
    button(at, label="Reroll").click().run()
    rerolled = grid_images(at)
    assert rerolled[:12] != first[:12]
    at.slider(key="w.AugmentSpec.rotation_range").set_value(90.0).run()
    assert not at.exception
    assert "rotation_range=90" in at.code[0].value and grid_images(at)[:12] != rerolled[:12]


def test_data_page_shows_an_uploaded_folder_and_what_was_skipped():
    at = open_page("pages/data.py")
    files = zips.class_folders(("apple", "banana"), per_class=4)
    files["fruit/banana/notes.txt"] = b"not a picture"
    upload = uploads.store().put(at.session_state["owner"], "images", "fruit.zip", zips.make_zip(files))
    spec = at.session_state["spec"]
    spec.data.name, spec.data.source = "folder", upload.id
    at.run()
    assert not at.exception
    shown = texts(at)
    assert "8 images in 2 classes" in shown, shown
    assert any("notes.txt" in str(df.value) for df in at.dataframe)


def test_an_upload_the_server_dropped_is_named_not_silently_replaced(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))  # a server of its own: its upload bound sees only this upload
    at = open_page("pages/data.py")
    store = uploads.UploadStore(per_owner=3, max_total_bytes=10)
    monkeypatch.setattr(uploads, "_STORE", store)
    mine = store.put(at.session_state["owner"], "images", "fruit.zip", zips.make_zip(zips.class_folders(per_class=4)))
    spec = at.session_state["spec"]
    spec.data.name, spec.data.source = "folder", mine.id
    store.put("someone-else", "images", "big.zip", b"x" * 10)  # the room's upload memory is full: ours goes
    at.run()
    assert not at.exception
    assert any("no longer on the server" in w.value and "Upload the file again" in w.value for w in at.warning)


@pytest.fixture()
def zoo_data_dir(tmp_path, monkeypatch):
    fabricate.zoo_weights(tmp_path, "mobilenet_0.25", include_top=True)
    fabricate.zoo_weights(tmp_path, "mobilenet_0.25", include_top=False)
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    return tmp_path


def test_classify_page_shows_top_k_and_gradcam_for_the_sample(zoo_data_dir):
    at = open_page("pages/classify.py")
    assert not at.exception
    assert at.selectbox(key="classify_model").value == "mobilenet_0.25"  # the first model whose weights are here
    charts = at.get("plotly_chart")
    assert len(charts) == 1 and '"Top 5"' in charts[0].proto.spec
    assert any("Grad-CAM" in (img.caption or "") for el in at.get("image") for img in el.proto.imgs)
    at.slider(key="classify_top").set_value(3).run()
    assert '"Top 3"' in at.get("plotly_chart")[0].proto.spec


def test_classify_page_names_the_missing_weights_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    at = open_page("pages/classify.py")
    at.selectbox(key="classify_model").set_value("vgg16").run()
    assert not at.exception and not at.error
    assert any(
        "vgg16\\_weights\\_tf" not in i.value
        and "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in i.value
        and plain(str(tmp_path / "models")) in i.value
        for i in at.info
    ), [i.value for i in at.info]
    assert not at.get("plotly_chart")


def test_classify_page_own_model_sources_explain_what_is_missing():
    at = open_page("pages/classify.py")
    at.radio(key="classify_source").set_value("run").run()
    assert not at.exception and any("No trained model yet" in i.value for i in at.info)
    at.radio(key="classify_source").set_value("upload").run()
    assert not at.exception
    assert at.radio(key="classify_preprocess").options == [
        "0..1 (divided by 255)",
        '-1..1 ("tf" mode: MobileNet, Inception, Xception)',
        '"caffe": BGR minus the ImageNet mean (VGG, ResNet)',
        '"torch": 0..1 minus the ImageNet mean, over its spread (DenseNet)',
        "raw 0..255 (the model scales them itself)",
    ]


# --------------------------------------------------------------------------- Classify offline, found out by itself


@pytest.fixture()
def no_network(tmp_path, monkeypatch):
    """PLAYGROUND_OFFLINE unset, no weights anywhere, and every connection fails its name lookup (never the real network)."""

    def no_dns(address, timeout=None):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.delenv("PLAYGROUND_OFFLINE", raising=False)
    monkeypatch.delenv("PLAYGROUND_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(socket, "create_connection", no_dns)
    network.forget()
    yield tmp_path / "keras" / "models"
    network.forget()


def availability_column(at) -> list[str]:
    return list(at.dataframe[0].value["on this machine"])


def test_classify_first_visit_without_weights_or_network_says_what_to_put_where(no_network):
    at = open_page("pages/classify.py")
    assert not at.exception and not at.error and not at.warning
    assert at.selectbox(key="classify_model").value == "mobilenet_0.75"
    notes = [i.value for i in at.info]
    assert len(notes) == 1 and "mobilenet_7_5_224_tf.h5" in notes[0] and plain(str(no_network)) in notes[0], notes
    assert plain("storage.googleapis.com:443") + " could not be looked up" in notes[0]
    assert not at.get("progress") and not at.get("plotly_chart")
    column = availability_column(at)
    assert len(column) == 12 and all(text.startswith("not here: put ") and str(no_network) in text for text in column), column
    assert "mobilenet_7_5_224_tf.h5" in column[2] and not any("downloads on first use" in text for text in column)


def test_classify_download_that_cannot_connect_ends_its_bar_and_says_why(no_network, monkeypatch):
    def refused(url, timeout=None):
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(socket, "create_connection", lambda address, timeout=None: io.BytesIO())  # the probe gets through
    monkeypatch.setattr(pretrained.urllib.request, "urlopen", refused)  # the download does not
    at = open_page("pages/classify.py")
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] and "refused the connection" in at.warning[0].value
    assert "mobilenet_7_5_224_tf.h5" in at.warning[0].value
    assert not at.get("progress") and not at.get("plotly_chart")
    at.run()  # the failure is remembered: now it says where to put the file, and tries nothing
    assert not at.exception and not at.warning and any("mobilenet_7_5_224_tf.h5" in i.value for i in at.info)
    assert all(text.startswith("not here: put ") for text in availability_column(at))


def test_classify_availability_says_downloads_only_when_they_can_work(no_network, monkeypatch, zoo_data_dir):
    monkeypatch.setattr(socket, "create_connection", lambda address, timeout=None: io.BytesIO())
    at = open_page("pages/classify.py")
    assert not at.exception
    column = availability_column(at)
    assert column[0] == "weights here" and column[1:] == ["downloads on first use"] * 11


# --------------------------------------------------------------------------- Classify with uploaded models


class FakeUpload:
    """What st.file_uploader returns, as far as the Classify page uses it."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data
        self.size, self.type, self.file_id = len(data), "application/octet-stream", uuid.uuid4().hex

    def getvalue(self) -> bytes:
        return self._data


@pytest.fixture()
def fake_model_upload(monkeypatch):
    """{"file": FakeUpload}: what the Classify page's model uploader returns (the other uploaders behave normally)."""
    import streamlit

    given: dict = {}
    real = streamlit.file_uploader

    def file_uploader(label, *args, key=None, **kwargs):
        if key == "classify_model_file":
            return given.get("file")
        return real(label, *args, key=key, **kwargs)

    monkeypatch.setattr(streamlit, "file_uploader", file_uploader)
    return given


def saved_model(model, tmp_path, suffix: str) -> bytes:
    path = tmp_path / f"model{suffix}"
    model.save(path)
    return path.read_bytes()


def plain_sequential_cnn():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_classify_a_plain_keras_sequential_upload_with_gradcam(fake_model_upload, tmp_path, suffix):
    at = open_page("pages/classify.py")
    at.radio(key="classify_source").set_value("upload").run()
    fake_model_upload["file"] = FakeUpload(f"sequential{suffix}", saved_model(plain_sequential_cnn(), tmp_path, suffix))
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.toggle(key="classify_gradcam").value is True
    assert at.radio(key="classify_preprocess").value == "unit"
    charts = at.get("plotly_chart")
    assert len(charts) == 1 and '"Top 5"' in charts[0].proto.spec
    assert any((img.caption or "").startswith("Grad-CAM: ") for el in at.get("image") for img in el.proto.imgs)
    assert any("Input 32x32x3, 10 classes" in c.value for c in at.caption)
    at.radio(key="classify_preprocess").set_value("caffe").run()
    assert not at.exception and len(at.get("plotly_chart")) == 1


def test_classify_refuses_a_two_output_upload_naming_it_as_plain_text(fake_model_upload, tmp_path):
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(3)(x), keras.layers.Dense(2)(x)])
    at = open_page("pages/classify.py")
    at.radio(key="classify_source").set_value("upload").run()
    fake_model_upload["file"] = FakeUpload("[docs](https://example.com).h5", saved_model(model, tmp_path, ".h5"))
    at.run()
    assert not at.exception and not at.get("plotly_chart")
    assert [e.value for e in at.error] and "2 outputs" in at.error[0].value
    fake_model_upload["file"] = FakeUpload("[docs](https://example.com).h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    at.run()
    text = at.error[0].value
    assert "could not be read" in text and "upload-" not in text and "/tmp" not in text, text
    fake_model_upload["file"] = FakeUpload("[docs](https://example.com).pkl", b"x")
    at.run()
    text = at.error[0].value
    assert "[docs](https://example.com)" not in text and plain("[docs](https://example.com).pkl") in text, text


def test_transfer_page_switches_to_pictures_and_counts_trainable_parameters():
    at = open_page("pages/transfer.py")
    assert any("works on pictures" in i.value for i in at.info)
    button(at, label="Use the kinoko / takenoko folders").click().run()
    assert not at.exception
    spec = at.session_state["spec"]
    assert spec.data.name == "folder" and spec.transfer.base == "mobilenet_0.75"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["parameters"] == metrics["trainable parameters"]  # feature extraction: only the head trains
    at.radio(key="w.TransferSpec.mode").set_value("finetune").run()
    at.slider(key="w.TransferSpec.frozen").set_value(80).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    total, trainable = (int(metrics[k].replace(",", "")) for k in ("parameters", "trainable parameters"))
    assert trainable < total
    at.slider(key="w.TransferSpec.frozen").set_value(0).run()
    assert int({m.label: m.value for m in at.metric}["trainable parameters"].replace(",", "")) > trainable


@pytest.mark.parametrize(
    "page, title",
    [("pages/augment.py", "データ拡張スタジオ"), ("pages/classify.py", "画像を分類する"), ("pages/transfer.py", "転移学習")],
)
def test_picture_pages_in_japanese(page, title):
    at = open_page(page, lang="ja")
    assert at.title[0].value == title
    assert not at.exception


def test_train_page_looks_inside_an_image_model_after_training():
    at = open_page("pages/train.py")
    spec = at.session_state["spec"]
    from core.spec import ExperimentSpec, LayerSpec

    fresh = ExperimentSpec.default_for("digits")
    fresh.layers = [LayerSpec.make("Conv2D", filters=4), LayerSpec.make("Flatten")]
    fresh.ensure_layer_names()
    fresh.fit.epochs = 2
    at.session_state["spec"] = fresh
    at.run()
    button(at, label="Train").click().run()
    from tests.pages.helpers import settled

    job = settled(at.session_state["job_id"])
    at.run()
    assert not at.exception and spec is not None
    assert at.selectbox(key=f"inside_layer_{job.id}").options == ["conv2d_1", "output"]
    assert any("conv2d_1" in m.value for m in at.markdown)  # its feature maps
    assert any("Filters of conv2d_1" in m.value for m in at.markdown)
