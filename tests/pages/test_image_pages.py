"""AppTests for the picture pages: augmentation studio, own folders on the Data page, Classify, Transfer learning."""

import pytest

from core import uploads
from tests.core import fabricate, zips
from tests.pages.helpers import button, open_page, texts


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


def test_an_upload_the_server_dropped_is_named_not_silently_replaced(monkeypatch):
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
    assert not at.exception
    assert any("vgg16_weights_tf_dim_ordering_tf_kernels.h5" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_classify_page_own_model_sources_explain_what_is_missing():
    at = open_page("pages/classify.py")
    at.radio(key="classify_source").set_value("run").run()
    assert not at.exception and any("No trained model yet" in i.value for i in at.info)
    at.radio(key="classify_source").set_value("upload").run()
    assert not at.exception and at.checkbox(key="classify_divide") is not None


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


@pytest.mark.parametrize("page, title", [("pages/augment.py", "データ拡張スタジオ"), ("pages/classify.py", "画像を分類する"),
                                         ("pages/transfer.py", "転移学習")])
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
    from ui.state import registry

    job = registry().get(at.session_state["job_id"])
    assert job.done.wait(120)
    at.run()
    assert not at.exception and spec is not None
    assert at.selectbox(key=f"inside_layer_{job.id}").options == ["conv2d_1", "output"]
    assert any("conv2d_1" in m.value for m in at.markdown)  # its feature maps
    assert any("Filters of conv2d_1" in m.value for m in at.markdown)
