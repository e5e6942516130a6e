"""llmlab.plots: each display draws what it was given, on a non-interactive backend."""

import ast
import doctest
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import llmlab.plots as lp
from llmlab.metrics import (
    THRESHOLDS,
    confusion_matrix,
    precision_recall_curve,
    precision_score,
    recall_score,
)
from llmlab.plots import (
    ConfusionMatrixDisplay,
    MemoryQualityDisplay,
    PerplexityDisplay,
    PrecisionRecallDisplay,
)

matplotlib.use("Agg")  # tests/conftest.py sets MPLBACKEND=Agg too; never open windows

Y_TRUE = ["ham", "ham", "ham", "spam", "spam", "ham", "spam", "ham"]
Y_PRED = ["ham", "spam", "ham", "spam", "ham", "ham", "spam", "ham"]
Y_SCORE = [0.1, 0.7, 0.3, 0.9, 0.45, 0.2, 0.5, 0.05]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_matplotlib_is_imported_lazily():
    modules = sorted(Path(lp.__file__).parent.glob("*.py"))
    assert len(modules) >= 4
    for module in modules:
        tree = ast.parse(module.read_text())
        top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top_level for a in n.names] + [
            n.module for n in top_level if isinstance(n, ast.ImportFrom)
        ]
        assert not any(str(name).startswith("matplotlib") for name in names), module
    code = "import sys, llmlab.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(lp.__file__).parents[2], check=True)
    assert out.stdout.strip() == "False"


def test_doctests_pass():
    import importlib

    attempted = 0
    for name in ("classification", "calibration", "language"):
        result = doctest.testmod(importlib.import_module(f"llmlab.plots.{name}"))
        assert result.failed == 0, name
        attempted += result.attempted
    assert attempted > 5


# --------------------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------------------


def _texts(disp):
    return [[t.get_text() for t in row] for row in disp.text_]


def test_confusion_matrix_counts():
    disp = ConfusionMatrixDisplay.from_predictions(Y_TRUE, Y_PRED)
    assert isinstance(disp, ConfusionMatrixDisplay)
    counts = confusion_matrix(Y_TRUE, Y_PRED)
    assert disp.confusion_matrix.tolist() == counts.tolist() == [[4, 1], [1, 2]]
    assert _texts(disp) == [[str(v) for v in row] for row in counts]
    assert disp.ax_.get_xlabel() == "Predicted label"
    assert disp.ax_.get_ylabel() == "True label"
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["ham", "spam"]
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["ham", "spam"]
    assert disp.figure_ is disp.ax_.figure
    np.testing.assert_array_equal(disp.im_.get_array(), counts)


def test_confusion_matrix_label_order_and_names():
    disp = ConfusionMatrixDisplay.from_predictions(
        Y_TRUE, Y_PRED, labels=["spam", "ham"], display_labels=["SPAM", "HAM"]
    )
    assert _texts(disp) == [["2", "1"], ["1", "4"]]
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["SPAM", "HAM"]


def test_confusion_matrix_normalized_shows_rates_and_counts():
    disp = ConfusionMatrixDisplay.from_predictions(Y_TRUE, Y_PRED, normalize="true")
    np.testing.assert_allclose(disp.confusion_matrix, [[0.8, 0.2], [1 / 3, 2 / 3]])
    assert disp.counts.tolist() == [[4, 1], [1, 2]]
    assert _texts(disp) == [["0.80\n(4)", "0.20\n(1)"], ["0.33\n(1)", "0.67\n(2)"]]
    assert "rates per true label" in disp.ax_.get_title()


def test_confusion_matrix_on_given_ax_and_options():
    fig, ax = plt.subplots()
    disp = ConfusionMatrixDisplay.from_predictions(
        [0, 1, 1], [0, 1, 0], ax=ax, include_values=False, colorbar=True, title="mine"
    )
    assert disp.ax_ is ax and disp.figure_ is fig
    assert disp.text_ is None and disp.colorbar_ is not None
    assert ax.get_title() == "mine"


def test_confusion_matrix_from_values_and_errors():
    disp = ConfusionMatrixDisplay(np.array([[5, 0], [2, 3]]), display_labels=["a", "b"]).plot()
    assert _texts(disp) == [["5", "0"], ["2", "3"]]
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        ConfusionMatrixDisplay(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="display_labels has 3 names"):
        ConfusionMatrixDisplay(np.zeros((2, 2)), display_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"y_pred contains label\(s\) \['Spam'\]"):
        ConfusionMatrixDisplay.from_predictions(["ham"], ["Spam"], labels=["ham", "spam"])
    with pytest.raises(ValueError, match="not a matplotlib Axes"):
        ConfusionMatrixDisplay.from_predictions(["ham", "spam"], ["ham", "ham"], ax="left")


# --------------------------------------------------------------------------------------
# Precision-recall curve
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.5, 0.6, 0.95])
def test_precision_recall_threshold_marker(threshold):
    disp = PrecisionRecallDisplay.from_predictions(
        Y_TRUE, Y_SCORE, pos_label="spam", threshold=threshold
    )
    y_pred = ["spam" if s >= threshold else "ham" for s in Y_SCORE]
    expected_recall = recall_score(Y_TRUE, y_pred, pos_label="spam")
    expected_precision = precision_score(Y_TRUE, y_pred, pos_label="spam", zero_division=1.0)
    assert disp.threshold_recall == pytest.approx(expected_recall)
    assert disp.threshold_precision == pytest.approx(expected_precision)
    x, y = disp.threshold_marker_.get_data()
    assert list(x) == pytest.approx([expected_recall])
    assert list(y) == pytest.approx([expected_precision])
    # the marker lies on the curve
    points = set(zip(np.round(disp.recall, 12), np.round(disp.precision, 12), strict=True))
    assert (round(expected_recall, 12), round(expected_precision, 12)) in points
    assert f"threshold {threshold:g}" in disp.threshold_marker_.get_label()


def test_precision_recall_curve_data_and_labels():
    disp = PrecisionRecallDisplay.from_predictions(
        Y_TRUE, Y_SCORE, pos_label="spam", name="tiny-llama", plot_chance_level=True
    )
    precision, recall, thresholds = precision_recall_curve(Y_TRUE, Y_SCORE, pos_label="spam")
    x, y = disp.line_.get_data()
    np.testing.assert_allclose(x, recall)
    np.testing.assert_allclose(y, precision)
    np.testing.assert_allclose(disp.thresholds, thresholds)
    assert disp.line_.get_label().startswith("tiny-llama (AP = ")
    assert disp.ax_.get_xlabel() == "Recall (positive label: spam)"
    assert disp.ax_.get_ylabel() == "Precision (positive label: spam)"
    assert list(disp.chance_level_.get_ydata()) == pytest.approx([3 / 8, 3 / 8])
    assert disp.figure_ is disp.ax_.figure


def test_precision_recall_no_threshold_and_weights():
    disp = PrecisionRecallDisplay.from_predictions(
        Y_TRUE, Y_SCORE, pos_label="spam", threshold=None
    )
    assert disp.threshold_marker_ is None and disp.chance_level_ is None
    weights = [1, 1, 1, 2, 1, 1, 1, 1]
    disp = PrecisionRecallDisplay.from_predictions(
        Y_TRUE, Y_SCORE, pos_label="spam", sample_weight=weights, threshold=0.5
    )
    # flagged at 0.5: 0.7 (ham), 0.9 (spam, weight 2), 0.5 (spam); missed: 0.45 (spam)
    assert disp.threshold_precision == pytest.approx(3 / 4)
    assert disp.threshold_recall == pytest.approx(3 / 4)


def test_precision_recall_errors():
    with pytest.raises(ValueError, match="y_score contains nan at index 1"):
        PrecisionRecallDisplay.from_predictions([0, 1], [0.3, np.nan])
    with pytest.raises(ValueError, match="pos_label is not set"):
        PrecisionRecallDisplay.from_predictions(Y_TRUE, Y_SCORE)
    with pytest.raises(ValueError, match="threshold='high' is not supported; expected None or a finite number"):
        PrecisionRecallDisplay.from_predictions(Y_TRUE, Y_SCORE, pos_label="spam",
                                                threshold="high")
    with pytest.raises(ValueError, match="needs the prevalence"):
        PrecisionRecallDisplay([1.0, 0.5], [0.0, 1.0]).plot(plot_chance_level=True)


# --------------------------------------------------------------------------------------
# Perplexity / bits per byte
# --------------------------------------------------------------------------------------


def _heights(bars):
    return [float(b.get_height()) for b in bars]


def test_perplexity_bars_equal_inputs():
    results = {
        "tiny-llama": SimpleNamespace(perplexity=14.2, bits_per_byte=1.31),
        "tiny-mistral": (27.9, 1.27),
        "other": {"perplexity": 60.0, "bits_per_byte": 2.0},
    }
    disp = PerplexityDisplay.from_predictions(results)
    assert _heights(disp.bars_["perplexity"]) == pytest.approx([14.2, 27.9, 60.0])
    assert _heights(disp.bars_["bits_per_byte"]) == pytest.approx([1.31, 1.27, 2.0])
    assert disp.names == ["tiny-llama", "tiny-mistral", "other"]
    assert len(disp.ax_) == 2
    ppl_ax = disp.axes_["perplexity"]
    assert [t.get_text() for t in ppl_ax.get_xticklabels()] == disp.names
    lines = sorted(float(line.get_ydata()[0]) for line in ppl_ax.get_lines())
    assert lines == [THRESHOLDS["perplexity"]["good_below"], THRESHOLDS["perplexity"]["bad_above"]]
    assert disp.figure_ is ppl_ax.figure


def test_perplexity_single_metric_and_given_axes():
    _, ax = plt.subplots()
    disp = PerplexityDisplay.from_predictions({"a": 12.0, "b": 25.0}, metric="perplexity",
                                              ax=ax, show_thresholds=False)
    assert disp.ax_ is ax and list(disp.bars_) == ["perplexity"]
    assert _heights(disp.bars_["perplexity"]) == [12.0, 25.0]
    assert ax.get_lines() == []
    _, axes = plt.subplots(1, 2)
    disp = PerplexityDisplay.from_predictions({"a": (12.0, 1.0)}, ax=axes)
    assert disp.axes_["perplexity"] is axes[0] and disp.axes_["bits_per_byte"] is axes[1]
    disp = PerplexityDisplay.from_predictions({"a": (12.0, 1.0)}, metric="bits_per_byte")
    assert _heights(disp.bars_["bits_per_byte"]) == [1.0]


@pytest.mark.parametrize(
    "results, kwargs, match",
    [
        ([("a", 12.0)], {}, "results must be a mapping"),
        ({}, {}, "results is empty"),
        ({"a": 0.5}, {"metric": "perplexity"}, r"results\['a'\] has perplexity=0.5"),
        ({"a": (np.nan, 1.0)}, {}, r"results\['a'\] has perplexity=nan"),
        ({"a": (10.0, -1.0)}, {}, "bits_per_byte=-1.0"),
        ({"a": "good"}, {}, r"results\['a'\]='good' is not understood"),
        ({"a": {"ppl": 3}}, {}, "without a 'perplexity' key"),
        ({"a": 12.0}, {}, r"bits per byte is missing for \['a'\]"),
        ({"a": (12.0, 1.0)}, {"metric": "loss"}, "metric='loss' is not supported"),
    ],
)
def test_perplexity_errors(results, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PerplexityDisplay.from_predictions(results, **kwargs)


def test_perplexity_both_needs_two_axes():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="pair of Axes"):
        PerplexityDisplay.from_predictions({"a": (12.0, 1.0)}, ax=[ax])


# --------------------------------------------------------------------------------------
# Memory against quality
# --------------------------------------------------------------------------------------


def test_memory_quality_points():
    names = ["fp32", "8bit", "4bit"]
    memory = [40 * 2**20, 12 * 2**20, 8 * 2**20]
    quality = [1.20, 1.21, 1.27]
    disp = MemoryQualityDisplay(names, memory, quality).plot()
    assert disp.memory_unit_ == "MiB"
    np.testing.assert_allclose(disp.scatter_.get_offsets(), [[40, 1.20], [12, 1.21], [8, 1.27]])
    assert [a.get_text() for a in disp.annotations_] == names
    x, y = disp.line_.get_data()
    assert list(x) == [8, 12, 40] and list(y) == [1.27, 1.21, 1.20]
    assert disp.ax_.get_xlabel() == "memory (MiB)"
    assert disp.ax_.get_ylabel() == "bits per byte (lower is better)"
    assert disp.figure_ is disp.ax_.figure


def test_memory_quality_options():
    _, ax = plt.subplots()
    disp = MemoryQualityDisplay(
        ["a", "b"], [3 * 2**30, 2**30], [0.9, 0.85], quality_label="accuracy",
        lower_is_better=False,
    ).plot(ax=ax, connect=False)
    assert disp.ax_ is ax and disp.line_ is None and disp.memory_unit_ == "GiB"
    assert disp.ax_.get_ylabel() == "accuracy (higher is better)"
    disp.plot(unit="MiB")
    np.testing.assert_allclose(disp.scatter_.get_offsets()[:, 0], [3072, 1024])


@pytest.mark.parametrize(
    "names, memory, quality, match",
    [
        ([], [], [], "names is empty"),
        (["a", "b"], [1e6], [1.0, 2.0], "names has 2 entries but memory_bytes has 1"),
        (["a"], [1e6], [1.0, 2.0], "names has 1 entries but quality has 2"),
        (["a", "b"], [1e6, -5], [1.0, 2.0], r"memory_bytes\[1\] is -5.0 \(for 'b'\)"),
        (["a"], [1e6], [np.nan], r"quality\[0\] is nan"),
        (["a"], ["big"], [1.0], "memory_bytes must be a sequence of numbers"),
    ],
)
def test_memory_quality_errors(names, memory, quality, match):
    with pytest.raises(ValueError, match=match):
        MemoryQualityDisplay(names, memory, quality)


def test_memory_quality_bad_unit():
    disp = MemoryQualityDisplay(["a"], [1e6], [1.0])
    with pytest.raises(ValueError, match="unit='MB' is not supported"):
        disp.plot(unit="MB")


# --------------------------------------------------------------------------------------
# One from_* convention: the old names warn and draw the same
# --------------------------------------------------------------------------------------


def test_every_display_is_built_from_predictions_or_its_constructor():
    import llmlab.plots

    for name in llmlab.plots.__all__:
        cls = getattr(llmlab.plots, name)
        current = {m for m in vars(cls) if m.startswith("from_")} - {
            "from_results", "from_measurements"}  # deprecated, below
        assert current <= {"from_predictions"}, (name, current)


def test_from_results_is_from_predictions_with_a_future_warning():
    results = {"a": (12.0, 1.0), "b": (30.0, 1.4)}
    new = PerplexityDisplay.from_predictions(results, metric="bits_per_byte")
    with pytest.warns(FutureWarning, match=r"from_results is deprecated: use "
                                           r"PerplexityDisplay\.from_predictions"):
        old = PerplexityDisplay.from_results(results, metric="bits_per_byte")
    assert old.names == new.names and old.bits_per_byte == new.bits_per_byte
    assert _heights(old.bars_["bits_per_byte"]) == _heights(new.bars_["bits_per_byte"])


def test_from_measurements_is_the_constructor_with_a_future_warning():
    args = (["fp32", "4bit"], [4e7, 1e7], [1.2, 1.3])
    new = MemoryQualityDisplay(*args, lower_is_better=False).plot(connect=False)
    with pytest.warns(FutureWarning, match=r"from_measurements is deprecated: use "
                                           r"MemoryQualityDisplay\(names"):
        old = MemoryQualityDisplay.from_measurements(*args, lower_is_better=False,
                                                     connect=False)
    np.testing.assert_array_equal(old.scatter_.get_offsets(), new.scatter_.get_offsets())
    assert old.line_ is None and old.ax_.get_ylabel() == new.ax_.get_ylabel()


# --------------------------------------------------------------------------------------
# Reliability diagram
# --------------------------------------------------------------------------------------


def test_reliability_display_is_sklearns_curve_with_the_ece():
    from sklearn.calibration import calibration_curve

    from llmlab.metrics import expected_calibration_error
    from llmlab.plots import ReliabilityDisplay

    rng = np.random.default_rng(0)
    y_prob = rng.random(200)
    y_true = np.where(rng.random(200) < y_prob ** 2, "spam", "ham")
    disp = ReliabilityDisplay.from_predictions(y_true, y_prob, pos_label="spam", n_bins=5,
                                               name="tiny")
    prob_true, prob_pred = calibration_curve(y_true == "spam", y_prob, n_bins=5)
    np.testing.assert_allclose(disp.prob_true, prob_true)
    np.testing.assert_allclose(disp.prob_pred, prob_pred)
    assert disp.ece == pytest.approx(
        expected_calibration_error(y_true, y_prob, pos_label="spam", n_bins=5))
    assert disp.counts.sum() == 200 and len(disp.counts) == len(prob_true)
    assert disp.line_.get_label() == f"tiny (ECE = {disp.ece:.3f})"
    np.testing.assert_allclose(disp.line_.get_xdata(), prob_pred)
    assert [t.get_text() for t in disp.count_texts_] == [str(c) for c in disp.counts]
    assert disp.ax_.get_title() == "Reliability diagram"
    # a second curve (e.g. after calibration) on the same axes
    again = ReliabilityDisplay.from_predictions(y_true, y_prob ** 2, pos_label="spam",
                                                n_bins=5, name="squared", ax=disp.ax_)
    assert again.ax_ is disp.ax_ and len(disp.ax_.get_legend().get_texts()) >= 3


def test_reliability_display_bad_input():
    from llmlab.plots import ReliabilityDisplay

    with pytest.raises(ValueError, match=r"y_prob\[0\] is 1.5"):
        ReliabilityDisplay.from_predictions([0, 1], [1.5, 0.2])
    with pytest.raises(ValueError, match="strategy='equal'"):
        ReliabilityDisplay.from_predictions([0, 1], [0.5, 0.2], strategy="equal")
    with pytest.raises(ValueError, match="same length"):
        ReliabilityDisplay([0.1, 0.2], [0.1], [0.1, 0.2])
