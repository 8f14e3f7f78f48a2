"""Plotly figure builders for every chart the pages show.

Plain functions from data to `go.Figure`; titles and axis names are passed in
(already translated by the caller), so this module knows no language.

Example:
    >>> fig = history_figure({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]}, "loss")
    >>> [trace.name for trace in fig.data]
    ['train', 'validation']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

TRAIN_COLOR, VAL_COLOR = "#1f77b4", "#ff7f0e"
# Two-class maps as TensorFlow Playground draws them: orange vs blue.
BINARY_SCALE = [[0.0, "#f59322"], [0.5, "#e8eaeb"], [1.0, "#0877bd"]]
CLASS_COLORS = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 320) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"),
        height=height,
        margin=dict(l=10, r=10, t=40, b=40),
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0.0),
        uirevision="keep",  # live updates keep the user's zoom
    )
    return fig


def learning_rate_figure(
    rates: Sequence[float], title: str, x_title: str = "epoch", total_epochs: int | None = None
) -> go.Figure:
    """The learning rate each epoch ended with (the callback reads the optimizer's, schedule included).

    >>> len(learning_rate_figure([0.01, 0.005], "Learning rate").data)
    1
    """
    fig = go.Figure(
        go.Scatter(x=list(range(1, len(rates) + 1)), y=list(rates), mode="lines+markers", line=dict(color=TRAIN_COLOR))
    )
    _layout(fig, title, x_title, title, height=260)
    fig.update_yaxes(exponentformat="e", rangemode="tozero")
    if total_epochs:
        fig.update_xaxes(range=[0.5, total_epochs + 0.5])
    return fig


def history_figure(
    history: dict[str, Sequence[float]],
    metric: str,
    title: str | None = None,
    x_title: str = "epoch",
    train_name: str = "train",
    val_name: str = "validation",
    total_epochs: int | None = None,
    reference: float | None = None,
    reference_name: str = "tutorial",
) -> go.Figure:
    """Train vs validation curves of one metric, x = epoch (1-based).

    `total_epochs` fixes the x range so a live chart does not rescale every epoch;
    `reference` draws a dashed horizontal line (e.g. the tutorial's reported figure).
    """
    fig = go.Figure()
    for key, name, color in ((metric, train_name, TRAIN_COLOR), (f"val_{metric}", val_name, VAL_COLOR)):
        values = list(history.get(key, []))
        if values:
            fig.add_trace(
                go.Scatter(x=list(range(1, len(values) + 1)), y=values, name=name, mode="lines+markers", line=dict(color=color))
            )
    if reference is not None:
        fig.add_hline(
            y=reference, line_dash="dash", line_color="#888", annotation_text=reference_name, annotation_position="bottom right"
        )
    _layout(fig, title or metric, x_title, title or metric)
    if total_epochs:
        fig.update_xaxes(range=[0.5, total_epochs + 0.5])
    if metric == "accuracy":
        fig.update_yaxes(rangemode="tozero")
    return fig


def compare_figure(
    runs: Sequence[tuple[str, dict[str, Sequence[float]]]],
    metric: str,
    title: str | None = None,
    x_title: str = "epoch",
    train_suffix: str = "train",
    val_suffix: str = "validation",
) -> go.Figure:
    """Overlay several runs: one colour per run, dotted = train, solid = validation (as tutorial 003)."""
    fig = go.Figure()
    for i, (label, history) in enumerate(runs):
        color = CLASS_COLORS[i % len(CLASS_COLORS)]
        for key, dash, suffix in ((metric, "dot", train_suffix), (f"val_{metric}", "solid", val_suffix)):
            values = list(history.get(key, []))
            if values:
                fig.add_trace(
                    go.Scatter(
                        x=list(range(1, len(values) + 1)),
                        y=values,
                        name=f"{label} ({suffix})",
                        mode="lines",
                        line=dict(color=color, dash=dash),
                    )
                )
    return _layout(fig, title or metric, x_title, title or metric, height=380)


def decision_boundary_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    z: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    title: str = "decision boundary",
    class_names: Sequence[str] | None = None,
) -> go.Figure:
    """The model's output over the plane with the data points on top (TensorFlow Playground style).

    For two classes z is P(class 1); for more, z = class + 0.999 * confidence; for a regression
    (`n_classes` 0) z is the predicted value and y the points' true values.
    """
    if n_classes == 0:
        return _value_map(xs, ys, z, x, y, title)
    fig = go.Figure()
    if n_classes == 2:
        fig.add_trace(
            go.Heatmap(x=xs, y=ys, z=z, zmin=0, zmax=1, colorscale=BINARY_SCALE, showscale=False, opacity=0.75, hoverinfo="skip")
        )
    else:
        cls = np.floor(z).astype(int)
        conf = z - cls
        # Blend each class colour towards white by (1 - confidence) via a discrete colour per class.
        scale = []
        for k in range(n_classes):
            c = CLASS_COLORS[k % len(CLASS_COLORS)]
            scale += [[k / n_classes, "#ffffff"], [(k + 0.999) / n_classes, c]]
        fig.add_trace(
            go.Heatmap(
                x=xs,
                y=ys,
                z=(cls + conf) / n_classes,
                zmin=0,
                zmax=1,
                colorscale=scale,
                showscale=False,
                opacity=0.6,
                hoverinfo="skip",
            )
        )
    for k in range(n_classes):
        mask = y == k
        fig.add_trace(
            go.Scatter(
                x=x[mask, 0],
                y=x[mask, 1],
                mode="markers",
                name=str(class_names[k]) if class_names else str(k),
                marker=dict(color=CLASS_COLORS[k % len(CLASS_COLORS)], size=6, line=dict(color="white", width=1)),
            )
        )
    _layout(fig, title, "x1", "x2", height=320)
    fig.update_xaxes(range=[float(xs[0]), float(xs[-1])], constrain="domain")
    fig.update_yaxes(range=[float(ys[0]), float(ys[-1])], scaleanchor="x", scaleratio=1, constrain="domain")
    return fig


def _value_map(xs, ys, z, x, y, title: str) -> go.Figure:
    """A regression over the plane: the predicted value as colour (orange low, blue high, as TensorFlow Playground)."""
    lo, hi = float(min(np.min(z), np.min(y))), float(max(np.max(z), np.max(y)))
    fig = go.Figure(
        go.Heatmap(x=xs, y=ys, z=z, zmin=lo, zmax=hi, colorscale=BINARY_SCALE, opacity=0.75, colorbar=dict(thickness=10))
    )
    fig.add_trace(
        go.Scatter(
            x=x[:, 0],
            y=x[:, 1],
            mode="markers",
            showlegend=False,
            marker=dict(color=y, cmin=lo, cmax=hi, colorscale=BINARY_SCALE, size=6, line=dict(color="white", width=1)),
        )
    )
    _layout(fig, title, "x1", "x2", height=320)
    fig.update_xaxes(range=[float(xs[0]), float(xs[-1])], constrain="domain")
    fig.update_yaxes(range=[float(ys[0]), float(ys[-1])], scaleanchor="x", scaleratio=1, constrain="domain")
    return fig


def predicted_vs_actual_figure(
    actual: np.ndarray,
    predicted: np.ndarray,
    title: str = "predicted vs actual",
    x_title: str = "actual",
    y_title: str = "predicted",
) -> go.Figure:
    """A regression's test predictions against the truth; the diagonal is a perfect model.

    >>> [t.mode for t in predicted_vs_actual_figure(np.array([1.0, 2.0]), np.array([1.1, 1.8])).data]
    ['markers', 'lines']
    """
    a, p = np.ravel(actual), np.ravel(predicted)
    lo, hi = float(min(a.min(), p.min())) if len(a) else 0.0, float(max(a.max(), p.max())) if len(a) else 1.0
    fig = go.Figure(go.Scatter(x=a, y=p, mode="markers", marker=dict(color=TRAIN_COLOR, size=5, opacity=0.6), showlegend=False))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=dict(color="#888", dash="dash"), showlegend=False))
    _layout(fig, title, x_title, y_title, height=340)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def histogram_figure(values: np.ndarray, title: str, x_title: str, y_title: str = "samples") -> go.Figure:
    """How values spread: a regression's residuals, or its targets on the Data page."""
    fig = go.Figure(go.Histogram(x=np.ravel(values), marker_color=TRAIN_COLOR, nbinsx=40))
    _layout(fig, title, x_title, y_title, height=300)
    return fig


def probabilities_figure(
    probabilities: Sequence[float], class_names: Sequence[str], title: str, truth: int | None = None
) -> go.Figure:
    """One prediction: the probability of every class, the true class drawn in another colour."""
    names = [str(n) for n in class_names]
    colors = [VAL_COLOR if k == truth else TRAIN_COLOR for k in range(len(names))]
    values = [float(v) for v in probabilities]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colors, text=[f"{v:.3f}" for v in values]))
    _layout(fig, title, "", "", height=max(220, 26 * len(names) + 80))
    fig.update_xaxes(range=[0, 1.08])
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def points_figure(x: np.ndarray, y: np.ndarray, class_names: Sequence[str], title: str = "") -> go.Figure:
    """Scatter of 2-D data coloured by class (no classes: by its value, a regression's)."""
    fig = go.Figure()
    if not class_names:
        fig.add_trace(
            go.Scatter(
                x=x[:, 0],
                y=x[:, 1],
                mode="markers",
                marker=dict(color=y, colorscale=BINARY_SCALE, size=6, colorbar=dict(thickness=10)),
                showlegend=False,
            )
        )
    for k, name in enumerate(class_names):
        mask = y == k
        fig.add_trace(
            go.Scatter(
                x=x[mask, 0],
                y=x[mask, 1],
                mode="markers",
                name=name,
                marker=dict(color=CLASS_COLORS[k % len(CLASS_COLORS)], size=6),
            )
        )
    _layout(fig, title, "x1", "x2", height=340)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def confusion_figure(
    cm: np.ndarray, class_names: Sequence[str], title: str = "confusion matrix", x_title: str = "predicted", y_title: str = "true"
) -> go.Figure:
    """Counts per (true, predicted) class, with the numbers written in the cells."""
    names = [str(n) for n in class_names]
    fig = go.Figure(go.Heatmap(z=cm, x=names, y=names, colorscale="Blues", text=cm, texttemplate="%{text}", showscale=False))
    _layout(fig, title, x_title, y_title, height=max(300, 32 * len(names) + 120))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


def class_counts_figure(
    counts: Sequence[int],
    class_names: Sequence[str],
    title: str = "samples per class",
    x_title: str = "class",
    y_title: str = "samples",
) -> go.Figure:
    names = [str(n) for n in class_names]
    fig = go.Figure(go.Bar(x=names, y=list(counts), marker_color=TRAIN_COLOR, text=list(counts), textposition="outside"))
    _layout(fig, title, x_title, y_title, height=300)
    fig.update_xaxes(type="category")
    return fig


def top_k_figure(
    labels: Sequence[str], probabilities: Sequence[float], title: str = "top classes", x_title: str = "probability"
) -> go.Figure:
    """Horizontal bars, best class on top, as a classifier's top-k answer."""
    fig = go.Figure(
        go.Bar(
            x=list(probabilities)[::-1],
            y=[str(s) for s in labels][::-1],
            orientation="h",
            marker_color=TRAIN_COLOR,
            text=[f"{p:.1%}" for p in list(probabilities)[::-1]],
            textposition="auto",
        )
    )
    _layout(fig, title, x_title, "", height=60 + 34 * max(1, len(labels)))
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(type="category")
    return fig


def weight_histogram_figure(
    history: list,
    layer: str,
    part: str = "kernel",
    title: str = "",
    x_title: str = "value",
    y_title: str = "count",
    epoch_label: str = "epoch {epoch}",
) -> go.Figure:
    """One line per epoch (light = early, dark = late), as TensorBoard overlays histograms.

    `history` is a list of core.network_views.weight_histograms results, one per epoch (0 = before training).
    """
    fig = go.Figure()
    epochs = [(i, h[layer][part]) for i, h in enumerate(history) if layer in h and part in h[layer]]
    for n, (epoch, hist) in enumerate(epochs):
        shade = 0.25 + 0.75 * (n / max(1, len(epochs) - 1))
        fig.add_trace(
            go.Scatter(
                x=hist.centers,
                y=hist.counts,
                mode="lines",
                name=epoch_label.format(epoch=epoch),
                line=dict(color=f"rgba(31, 119, 180, {shade:.2f})", width=1.5 if n < len(epochs) - 1 else 2.5),
                showlegend=n in (0, len(epochs) - 1),
            )
        )
    return _layout(fig, title or f"{layer} · {part}", x_title, y_title, height=300)


def shape_label(shape) -> str:
    """(6, 6, 4) -> '6x6x4'."""
    return "x".join(str(int(d)) for d in shape)


def comparison_heatmap(
    rows: Sequence[dict], x: str, y: str, metric: str, title: str, x_title: str, y_title: str, order: Sequence[dict] = ()
) -> go.Figure:
    """A two-setting comparison: one cell per pair of values, its final `metric` as colour and as text.

    `rows` are core.compare.table rows (keys: the two settings, the metric); missing pairs stay empty. The axes
    follow the values' order in `order` (rows in the order the comparison planned them), else in `rows`.
    """
    xs = list(dict.fromkeys(r[x] for r in [*order, *rows]))
    ys = list(dict.fromkeys(r[y] for r in [*order, *rows]))
    z: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    for r in rows:
        z[ys.index(r[y])][xs.index(r[x])] = r.get(metric)
    text = [["" if v is None else f"{v:.3f}" for v in line] for line in z]
    fig = go.Figure(
        go.Heatmap(
            x=[str(v) for v in xs],
            y=[str(v) for v in ys],
            z=z,
            text=text,
            texttemplate="%{text}",
            colorscale="Viridis",
            colorbar=dict(thickness=10),
            hovertemplate=f"{x_title} %{{x}}<br>{y_title} %{{y}}<br>{metric} %{{z:.4f}}<extra></extra>",
        )
    )
    _layout(fig, title, x_title, y_title, height=360)
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


def parallel_coordinates_figure(rows: Sequence[dict], axes: Sequence[tuple[str, str]], metric: str, title: str) -> go.Figure:
    """Every run of a comparison as one line across its settings and its final `metric` (coloured by the metric).

    `axes` are (row key, label) pairs; words are spread evenly along their axis and labelled.
    """
    done = [r for r in rows if r.get(metric) is not None]
    dimensions = []
    for key, label in [*axes, (metric, metric)]:
        values = [r[key] for r in done]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            dimensions.append(dict(label=label, values=values))
        else:
            words = list(dict.fromkeys(str(v) for v in values))
            dimensions.append(
                dict(label=label, values=[words.index(str(v)) for v in values], tickvals=list(range(len(words))), ticktext=words)
            )
    color = [r[metric] for r in done]
    fig = go.Figure(go.Parcoords(dimensions=dimensions, line=dict(color=color, colorscale="Viridis", showscale=True)))
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=360, margin=dict(l=60, r=40, t=70, b=30))
    return fig
