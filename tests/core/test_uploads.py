"""The folder-zip and CSV loaders: good layouts, and a plain report for every bad upload."""

import io
import zipfile

import numpy as np
import pytest

from core import datasets, uploads
from core.images import ImageRejected, decode
from core.spec import DataSpec
from core.uploads import UploadRefused, read_csv_table, read_image_zip
from tests.core import zips


def reasons(folder) -> dict[str, str]:
    return {s.name: s.reason.key.rsplit(".", 1)[1] for s in folder.skipped}


@pytest.mark.parametrize("root", ["fruit", ""])
def test_class_folders_with_or_without_a_wrapping_folder(root):
    folder = read_image_zip(zips.make_zip(zips.class_folders(root=root)), size=(60, 90))
    assert folder.class_names == ("apple", "banana")  # sorted folder names, as flow_from_directory
    assert folder.x.shape == (12, 60, 90, 3) and folder.x.dtype == np.uint8
    assert folder.counts() == {"apple": 6, "banana": 6} and folder.subset is None
    assert folder.resized == 12 and folder.skipped == []


def test_train_and_test_folders_become_the_split():
    files = {f"data/{subset}/{k}": v for subset in ("train", "test") for k, v in zips.class_folders(root="", per_class=3).items()}
    folder = read_image_zip(zips.make_zip(files), size=(30, 40))
    assert sorted(set(folder.subset)) == ["test", "train"] and len(folder.y) == 12
    datasets_split = folder.subset == "train"
    assert datasets_split.sum() == 6


def test_grayscale_color_mode_gives_one_channel():
    folder = read_image_zip(zips.make_zip(zips.class_folders()), size=(16, 16), color_mode="grayscale")
    assert folder.x.shape == (12, 16, 16, 1)


def test_every_bad_file_is_skipped_with_its_reason_and_the_rest_is_kept():
    files = zips.class_folders(per_class=3)
    files.update(
        {
            "fruit/apple/notes.txt": b"not a picture",
            "fruit/apple/empty.png": b"",
            "fruit/apple/truncated.png": zips.image_bytes()[:60],
            "fruit/apple/text.png": b"hello, I am text renamed .png",
            "fruit/banana/bomb.png": zips.huge_png(30000, 30000),
            "fruit/banana/inner.zip": zips.make_zip({"a.png": zips.image_bytes()}),
            "fruit/../../etc/evil.png": zips.image_bytes(),
            "/abs/evil.png": zips.image_bytes(),
            "fruit/loose.png": zips.image_bytes(),
            "__MACOSX/fruit/._apple.png": b"resource fork",
            "fruit/.DS_Store": b"clutter",
        }
    )
    data = zips.make_zip(files, links={"fruit/banana/link.png": "/etc/passwd"})
    folder = read_image_zip(data, size=(20, 20))
    assert folder.counts() == {"apple": 3, "banana": 3}  # training is still possible on the rest
    found = reasons(folder)
    assert found["fruit/apple/notes.txt"] == "not_image"
    assert found["fruit/apple/empty.png"] == "empty"
    assert found["fruit/apple/truncated.png"] == "corrupt"
    assert found["fruit/apple/text.png"] == "not_image"
    assert found["fruit/banana/bomb.png"] == "bomb"  # 900 megapixels: Pillow's guard refuses it at once
    assert found["fruit/banana/inner.zip"] == "archive"
    assert found["fruit/banana/link.png"] == "link"
    assert found["fruit/../../etc/evil.png"] == "unsafe_path" and found["/abs/evil.png"] == "unsafe_path"
    assert found["fruit/loose.png"] == "no_class_folder"
    assert not any("MACOSX" in name or "DS_Store" in name for name in found)  # system clutter is ignored quietly
    assert all(s.reason.render("en") and s.reason.render("ja") for s in folder.skipped)


@pytest.mark.parametrize(
    "mode, fmt", [("L", "PNG"), ("RGBA", "PNG"), ("P", "GIF"), ("CMYK", "JPEG"), ("I;16", "PNG"), ("1", "BMP")]
)
def test_other_image_modes_are_converted(mode, fmt):
    files = zips.class_folders(per_class=2)
    files["fruit/apple/odd"] = zips.image_bytes(mode, fmt=fmt)
    folder = read_image_zip(zips.make_zip(files), size=(20, 20))
    assert folder.counts()["apple"] == 3 and folder.converted == (0 if mode == "L" else 1)


def test_exif_rotated_photos_are_turned_upright():
    decoded = decode(zips.exif_rotated_jpeg((40, 20)))
    assert decoded.image.size == (20, 40) and "exif_rotated" in decoded.notes
    files = zips.class_folders(per_class=2)
    files["fruit/apple/phone.jpg"] = zips.exif_rotated_jpeg()
    assert read_image_zip(zips.make_zip(files), size=(20, 20)).rotated == 1


def test_an_empty_class_and_imbalance_are_warned_about():
    files = zips.class_folders(classes=("a", "b"), per_class=2)
    files.update({f"fruit/a/extra{i}.png": zips.image_bytes() for i in range(6)})
    files["fruit/c/broken.png"] = b""
    folder = read_image_zip(zips.make_zip(files), size=(10, 10))
    keys = [w.key for w in folder.warnings]
    assert keys == ["upload.warn.empty_class", "upload.warn.imbalance"]
    assert "'c'" in str(folder.warnings[0]) and "4.0 times" in str(folder.warnings[1])


@pytest.mark.parametrize(
    "data, key",
    [
        (b"PK\x03\x04 not really a zip", "upload.refused.not_zip"),
        (b"", "upload.refused.not_zip"),
        (zips.make_zip(zips.class_folders(classes=("only",))), "upload.refused.need_two_classes"),
        (zips.make_zip({"a/1.txt": b"x", "b/2.txt": b"y"}), "upload.refused.need_two_classes"),
    ],
)
def test_unusable_uploads_are_refused_plainly(data, key):
    with pytest.raises(UploadRefused) as info:
        read_image_zip(data)
    assert info.value.msg.key == key and str(info.value)


def test_limits_are_named_when_refusing(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_FILES", "5")
    with pytest.raises(UploadRefused, match="limit is 5"):
        read_image_zip(zips.make_zip(zips.class_folders()))
    monkeypatch.setenv("PLAYGROUND_MAX_FILES", "5000")
    monkeypatch.setenv("PLAYGROUND_MAX_TOTAL_PIXELS", "5000")
    with pytest.raises(UploadRefused, match="5,000 pixels"):
        read_image_zip(zips.make_zip(zips.class_folders(size=(40, 30))))
    monkeypatch.setenv("PLAYGROUND_MAX_UPLOAD_MB", "1")
    with pytest.raises(UploadRefused, match="1 MB"):
        read_image_zip(b"x" * (2 * 1024 * 1024))


def test_a_zip_bomb_is_refused(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_UPLOAD_MB", "1")
    files = zips.class_folders(per_class=2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("fruit/apple/bomb.png", b"\0" * (3 * 1024 * 1024))  # 3 MB of zeros: a few KB compressed
    folder = read_image_zip(buffer.getvalue(), size=(10, 10))
    assert reasons(folder)["fruit/apple/bomb.png"] == "too_large"


def test_japanese_cp932_folder_names_are_decoded():
    files = {"きのこ/1.png": zips.image_bytes(), "takenoko/1.png": zips.image_bytes()}
    folder = read_image_zip(zips.make_zip(files, legacy_names=True), size=(10, 10))
    assert folder.class_names == ("takenoko", "きのこ")


def test_an_image_over_our_pixel_limit_is_refused_before_decoding():
    with pytest.raises(ImageRejected) as info:
        decode(zips.huge_png(2000, 1000), max_pixels=1_000_000)
    assert info.value.reason == "too_many_pixels" and "2000 x 1000" in str(info.value)


def test_semicolon_csvs_are_read():
    table = read_csv_table(b"a;b;label\n1;2;x\n3;4;y\n5;6;x\n", "label")
    assert table.feature_names == ("a", "b") and table.class_names == ("x", "y")


def test_the_decoder_refuses_bombs_by_pillows_guard():
    with pytest.raises(ImageRejected) as info:
        decode(zips.huge_png(20000, 20000), max_pixels=500_000_000)
    assert info.value.reason == "bomb"


# --------------------------------------------------------------------------- CSV

CSV = (
    b"height,weight,colour,species\n1.0,2.0,red,a\n1.1,2.2,red,a\n3.0,5.0,blue,b\n3.1,5.1,blue,b\n,5.5,blue,b\n2.9,4.9,green,c\n"
)


def test_a_csv_gives_numeric_features_and_sorted_classes_with_warnings():
    table = read_csv_table(CSV, "species")
    assert table.feature_names == ("height", "weight") and table.class_names == ("a", "b", "c")
    assert table.x.shape == (5, 2) and table.y.tolist() == [0, 0, 1, 1, 2]
    assert [w.key for w in table.warnings] == ["upload.warn.text_columns", "upload.warn.rows_dropped"]


@pytest.mark.parametrize(
    "data, label, key",
    [
        (b"", "x", "upload.refused.empty_csv"),
        (b"value\n1\n2\n", "value", "upload.refused.csv_columns"),
        (CSV, "kind", "upload.refused.no_label_column"),
        (b"a,b\n1,x\n2,x\n", "b", "upload.refused.need_two_classes_rows"),
        (b"a,b\nx,1\ny,2\n", "b", "upload.refused.no_numeric_columns"),
    ],
)
def test_bad_csvs_are_refused_plainly(data, label, key):
    with pytest.raises(UploadRefused) as info:
        read_csv_table(data, label)
    assert info.value.msg.key == key


@pytest.fixture
def private_store(tmp_path):
    """The upload store of a new server (its own database): its bounds see only this test's uploads."""
    from tests.core import inline

    with inline.private_home(tmp_path):
        yield


def test_the_upload_store_keeps_sessions_apart_and_caps_per_owner(private_store):
    store = uploads.UploadStore(per_owner=2)
    mine = [store.put("ann", "images", f"{i}.zip", b"x") for i in range(3)]
    theirs = store.put("bob", "csv", "t.csv", b"y")
    assert store.get("ann", theirs.id) is None and store.get("bob", theirs.id).id == theirs.id
    assert [u.id for u in store.list("ann")] == [mine[1].id, mine[2].id]  # the oldest was dropped


def test_a_full_room_keeps_upload_memory_bounded_dropping_the_least_recently_used(monkeypatch, private_store):
    monkeypatch.setenv("PLAYGROUND_UPLOADS_MB", "1")
    monkeypatch.setenv("PLAYGROUND_MAX_UPLOAD_MB", "1")
    store = uploads.UploadStore(per_owner=3)
    mb = 1024 * 1024
    busy = store.put("bob", "images", "b.zip", b"b" * (mb // 3))  # the oldest upload...
    early = store.put("ann", "images", "a.zip", b"a" * (mb // 2))  # ann's tab is long closed
    assert store.get("bob", busy.id).id == busy.id  # ...but bob trains on it: used last, kept longest
    late = store.put("cho", "csv", "c.csv", b"c" * (mb // 3))
    assert store.get("ann", early.id) is None  # over 1 MB: the least recently used went
    assert store.get("bob", busy.id).id == busy.id and store.get("cho", late.id).id == late.id
    assert store.total_bytes() <= mb
    huge = store.put("dan", "images", "d.zip", b"d" * mb)  # the largest allowed upload always fits
    assert store.get("dan", huge.id).id == huge.id and store.list("bob") == [] and store.list("cho") == []


def test_the_upload_memory_bound_never_refuses_an_allowed_upload(monkeypatch, private_store):
    monkeypatch.setenv("PLAYGROUND_UPLOADS_MB", "1")  # set below one upload of the allowed size
    monkeypatch.setenv("PLAYGROUND_MAX_UPLOAD_MB", "3")
    store = uploads.UploadStore(per_owner=3)
    first = store.put("ann", "csv", "a.csv", b"a" * (2 * 1024 * 1024))
    second = store.put("bob", "csv", "b.csv", b"b" * (2 * 1024 * 1024))
    assert store.get("bob", second.id).id == second.id and store.get("ann", first.id) is None


def test_a_dropped_upload_says_to_upload_again(monkeypatch, private_store):
    store = uploads.UploadStore(per_owner=3, max_total_bytes=4)
    monkeypatch.setattr(uploads, "_STORE", store)
    gone = store.put("ann", "csv", "t.csv", CSV)
    store.put("bob", "csv", "u.csv", CSV)
    with pytest.raises(datasets.DatasetUnavailable) as info:
        datasets.load(DataSpec(name="csv", source=gone.id, label_column="species"), "ann")
    assert info.value.msg.key == "errors.upload_missing"


def test_uploaded_folders_and_csvs_load_as_datasets_for_their_owner_only():
    up = uploads.store().put("ann", "images", "fruit.zip", zips.make_zip(zips.class_folders(per_class=8)))
    spec = DataSpec(name="folder", source=up.id, image_height=12, image_width=16, test_fraction=0.25)
    data = datasets.load(spec, "ann")
    assert data.class_names == ("apple", "banana") and data.x_train.shape[1:] == (12, 16, 3)
    assert len(data.y_train) == 12 and len(data.y_test) == 4 and data.n_classes == 2
    with pytest.raises(datasets.DatasetUnavailable):
        datasets.load(spec, "bob")
    table = uploads.store().put("ann", "csv", "t.csv", CSV * 4)
    csv = datasets.load(DataSpec(name="csv", source=table.id, label_column="species"), "ann")
    assert csv.feature_names == ("height", "weight") and csv.n_classes == 3


def test_the_demo_folder_needs_no_upload():
    data = datasets.load(DataSpec(name="folder"))
    assert data.class_names == ("kinoko", "takenoko") and data.input_shape == (60, 90, 3)
    assert data.report.subset is not None  # its own train/ and test/ folders
