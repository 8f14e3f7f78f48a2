import numpy as np
import pytest

from core import charts, export


def test_history_figure_has_train_and_validation_by_epoch():
    fig = charts.history_figure(
        {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6]}, "loss", "Loss", total_epochs=10, reference=0.3
    )
    assert [t.name for t in fig.data] == ["train", "validation"]
    assert list(fig.data[0].x) == [1, 2, 3] and list(fig.data[1].y) == [1.0, 0.7, 0.6]
    assert tuple(fig.layout.xaxis.range) == (0.5, 10.5)
    assert fig.layout.title.text == "Loss"
    assert fig.layout.shapes[0].y0 == 0.3  # the reference line


def test_history_figure_without_validation_has_one_trace():
    fig = charts.history_figure({"accuracy": [0.5]}, "accuracy")
    assert [t.name for t in fig.data] == ["train"]


def test_compare_figure_draws_train_dotted_and_validation_solid_per_run():
    fig = charts.compare_figure(
        [("plain", {"accuracy": [0.5], "val_accuracy": [0.4]}), ("l2", {"accuracy": [0.6], "val_accuracy": [0.5]})], "accuracy"
    )
    assert [t.line.dash for t in fig.data] == ["dot", "solid", "dot", "solid"]
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color


@pytest.mark.parametrize("n_classes", [2, 3])
def test_decision_boundary_figure_has_the_map_and_one_trace_per_class(n_classes):
    xs, ys = np.linspace(-1, 1, 5), np.linspace(-1, 1, 4)
    z = np.full((4, 5), 0.5) if n_classes == 2 else np.full((4, 5), 1.5)
    x = np.random.default_rng(0).normal(size=(30, 2))
    y = np.arange(30) % n_classes
    fig = charts.decision_boundary_figure(xs, ys, z, x, y, n_classes)
    assert fig.data[0].type == "heatmap" and len(fig.data) == 1 + n_classes
    assert sum(len(t.x) for t in fig.data[1:]) == 30


def test_confusion_and_counts_figures():
    cm = np.array([[5, 1], [2, 7]])
    fig = charts.confusion_figure(cm, ["cat", "dog"])
    assert fig.data[0].z.tolist() == cm.tolist() and list(fig.data[0].x) == ["cat", "dog"]
    bars = charts.class_counts_figure([3, 4], ["a", "b"])
    assert list(bars.data[0].y) == [3, 4]


def test_history_csv_has_one_row_per_epoch():
    text = export.history_csv({"loss": [0.5, 0.4], "val_loss": [0.6, 0.5], "accuracy": [0.7, 0.8]})
    lines = text.splitlines()
    assert lines[0] == "epoch,accuracy,loss,val_loss"
    assert lines[2] == "2,0.8,0.4,0.5" and len(lines) == 3


def test_model_bytes_is_a_loadable_keras_file_written_in_the_app_temp_dir(tmp_path):
    import keras

    from core import settings

    inputs = keras.Input((3,), name="input")
    model = keras.Model(inputs, keras.layers.Dense(2, name="output")(inputs))
    data = export.model_bytes(model)
    assert data[:2] == b"PK"
    assert list(settings.temp_dir().glob("*.keras")) == []  # cleaned up
    path = tmp_path / "m.keras"
    path.write_bytes(data)
    again = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(again.get_layer("output").get_weights()[0], model.get_layer("output").get_weights()[0])
