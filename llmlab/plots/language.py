"""Displays of language models: perplexity and bits per byte of several models, and
memory against quality (quantization)."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from llmlab.metrics import THRESHOLDS
from llmlab.plots.base import new_ax
from llmlab.validation import Interval, check_option

__all__ = ["MemoryQualityDisplay", "PerplexityDisplay"]


_PPL_METRICS = ("both", "perplexity", "bits_per_byte")


def _parse_result(name, result):
    """Return ``(perplexity, bits_per_byte)`` from one entry of ``results``."""
    if hasattr(result, "perplexity"):
        ppl, bpb = result.perplexity, getattr(result, "bits_per_byte", None)
    elif isinstance(result, Mapping):
        if "perplexity" not in result:
            raise ValueError(
                f"results[{name!r}] is a mapping without a 'perplexity' key; expected "
                f"{{'perplexity': ..., 'bits_per_byte': ...}}."
            )
        ppl, bpb = result["perplexity"], result.get("bits_per_byte")
    elif isinstance(result, Sequence) and not isinstance(result, str) and len(result) == 2:
        ppl, bpb = result
    elif isinstance(result, numbers.Real):
        ppl, bpb = result, None
    else:
        raise ValueError(
            f"results[{name!r}]={result!r} is not understood; give a perplexity result (with "
            f".perplexity and .bits_per_byte), a (perplexity, bits_per_byte) pair, or a "
            f"mapping with those keys."
        )
    for label, value, low in (("perplexity", ppl, 1.0), ("bits_per_byte", bpb, 0.0)):
        if value is None and label == "bits_per_byte":
            continue
        if not Interval(numbers.Real, low, None, closed="left").is_satisfied_by(value):
            raise ValueError(
                f"results[{name!r}] has {label}={value!r}; it must be a finite number >= {low:g}."
            )
    return float(ppl), (None if bpb is None else float(bpb))


class PerplexityDisplay:
    """Bar charts of perplexity and bits per byte across models (or texts).

    Perplexity depends on the tokenizer, so models with different tokenizers are compared
    with bits per byte; the chart shows both side by side by default. The perplexity panel
    marks the course's thresholds (:data:`llmlab.metrics.THRESHOLDS`).

    Parameters
    ----------
    names : list of str
        One bar per name.
    perplexity : list of float
    bits_per_byte : list of float, default=None

    Attributes
    ----------
    bars_ : dict
        ``{metric: matplotlib BarContainer}`` for each drawn metric.
    axes_ : dict
        ``{metric: matplotlib Axes}`` for each drawn metric.
    ax_ : matplotlib Axes, or ndarray of two Axes when both metrics are drawn
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from llmlab.plots import PerplexityDisplay
    >>> disp = PerplexityDisplay.from_predictions({"tiny-llama": (14.2, 1.31),
    ...                                            "tiny-mistral": (17.9, 1.27)})
    >>> [round(float(b.get_height()), 2) for b in disp.bars_["bits_per_byte"]]
    [1.31, 1.27]
    >>> import matplotlib.pyplot as plt; plt.close(disp.figure_)
    """

    def __init__(self, names, perplexity, bits_per_byte=None):
        names = [str(n) for n in names]
        ppl = [float(v) for v in perplexity]
        if len(names) == 0:
            raise ValueError("names is empty; give at least one model or text to plot.")
        if len(ppl) != len(names):
            raise ValueError(
                f"names has {len(names)} entries but perplexity has {len(ppl)}; give one value "
                f"per name."
            )
        if bits_per_byte is not None:
            bpb = [None if v is None else float(v) for v in bits_per_byte]
            if len(bpb) != len(names):
                raise ValueError(
                    f"names has {len(names)} entries but bits_per_byte has {len(bpb)}; give "
                    f"one value per name."
                )
        else:
            bpb = None
        self.names = names
        self.perplexity = ppl
        self.bits_per_byte = bpb

    @classmethod
    def from_predictions(cls, results, *, metric="both", ax=None, show_thresholds=True):
        """Draw perplexity and/or bits per byte of each model's predictions of the texts.

        A :func:`llmlab.perplexity` result is what a language model predicted for the texts
        (the log-probability of every token), summed; so this is the ``from_predictions`` of
        the perplexity display, as in scikit-learn's displays.

        Parameters
        ----------
        results : mapping of str to result
            ``{name: result}`` where result is the output of :func:`llmlab.perplexity`
            (anything with ``.perplexity`` and ``.bits_per_byte``), a
            ``(perplexity, bits_per_byte)`` pair, a mapping with those keys, or a bare
            perplexity.
        metric : {'both', 'perplexity', 'bits_per_byte'}, default='both'
        ax : matplotlib Axes (or a pair of Axes for 'both'), default=None
        show_thresholds : bool, default=True
            Mark the course's perplexity thresholds.

        Returns
        -------
        PerplexityDisplay
        """
        if not isinstance(results, Mapping):
            raise ValueError(  # noqa: TRY004 - bad user input is a ValueError here
                f"results must be a mapping {{name: result}}, got {type(results).__name__}."
            )
        if not results:
            raise ValueError("results is empty; give at least one model or text to plot.")
        parsed = {str(name): _parse_result(name, res) for name, res in results.items()}
        bpb = [v[1] for v in parsed.values()]
        disp = cls(
            list(parsed),
            [v[0] for v in parsed.values()],
            None if all(b is None for b in bpb) else bpb,
        )
        return disp.plot(metric=metric, ax=ax, show_thresholds=show_thresholds)

    @classmethod
    def from_results(cls, results, **kwargs):
        """Deprecated name of :meth:`from_predictions`; works, with a ``FutureWarning``,
        for one release."""
        warnings.warn(
            "PerplexityDisplay.from_results is deprecated: use "
            "PerplexityDisplay.from_predictions (same arguments); from_results stops working "
            "in the next release.", FutureWarning, stacklevel=2,
        )
        return cls.from_predictions(results, **kwargs)

    def plot(self, *, metric="both", ax=None, show_thresholds=True, color=None):
        """Draw the bars.

        Parameters
        ----------
        metric : {'both', 'perplexity', 'bits_per_byte'}, default='both'
        ax : matplotlib Axes, default=None
            For ``'both'``, ``None`` or a sequence of two Axes.
        show_thresholds : bool, default=True
            Mark the perplexity thresholds of :data:`llmlab.metrics.THRESHOLDS`.
        color : color or list of colors, default=None

        Returns
        -------
        PerplexityDisplay
            ``self``, with ``bars_``, ``axes_``, ``ax_`` and ``figure_`` set.
        """
        check_option("metric", metric, _PPL_METRICS)
        metrics = ["perplexity", "bits_per_byte"] if metric == "both" else [metric]
        if "bits_per_byte" in metrics and (
            self.bits_per_byte is None or any(v is None for v in self.bits_per_byte)
        ):
            missing = (
                self.names if self.bits_per_byte is None
                else [n for n, v in zip(self.names, self.bits_per_byte, strict=True) if v is None]
            )
            raise ValueError(
                f"bits per byte is missing for {missing!r}; give it, or plot "
                f"metric='perplexity'."
            )
        import matplotlib.pyplot as plt

        if len(metrics) == 2:
            if ax is None:
                fig, axes = plt.subplots(
                    1, 2, figsize=(max(6.4, 1.6 * len(self.names) + 3), 3.8)
                )
            else:
                axes = np.asarray(ax, dtype=object).ravel()
                if axes.size != 2:
                    raise ValueError(
                        "metric='both' draws two panels: pass ax as a pair of Axes, or None."
                    )
                fig = axes[0].figure
            axes = np.asarray(axes, dtype=object)
        else:
            fig, single = new_ax(ax)
            axes = np.asarray([single], dtype=object)

        self.bars_ = {}
        self.axes_ = {}
        for m, a in zip(metrics, axes, strict=True):
            values = self.perplexity if m == "perplexity" else self.bits_per_byte
            bars = a.bar(self.names, values, color=color)
            a.bar_label(bars, fmt="%.2f" if m == "perplexity" else "%.3f")
            if m == "perplexity":
                a.set_title("Perplexity (lower is better;\ndepends on the tokenizer)")
                a.set_ylabel("perplexity")
                rule = THRESHOLDS["perplexity"]
                if show_thresholds:
                    if "good_below" in rule:
                        a.axhline(rule["good_below"], color="tab:green", linestyle="--",
                                  label=f"good below {rule['good_below']:g}")
                    if "bad_above" in rule:
                        a.axhline(rule["bad_above"], color="tab:red", linestyle="--",
                                  label=f"bad above {rule['bad_above']:g}")
                    a.legend(loc="upper right", fontsize="small")
            else:
                a.set_title("Bits per byte (lower is better;\ncomparable across tokenizers)")
                a.set_ylabel("bits per byte")
            a.tick_params(axis="x", labelrotation=20 if len(self.names) > 3 else 0)
            self.bars_[m] = bars
            self.axes_[m] = a
        fig.tight_layout()
        self.ax_ = axes if len(metrics) == 2 else axes[0]
        self.figure_ = fig
        return self


_UNITS = (("B", 1), ("KiB", 1024), ("MiB", 1024**2), ("GiB", 1024**3))


class MemoryQualityDisplay:
    """Scatter plot of memory against quality, one labelled point per model.

    The usual use is quantization: the same model loaded in float32, 8-bit and 4-bit uses
    less memory and, maybe, predicts a little worse.

    Parameters
    ----------
    names : list of str
    memory_bytes : list of float
        Memory of each model in bytes (e.g. from :func:`llmlab.memory_footprint`).
    quality : list of float
        Quality of each model, e.g. bits per byte or accuracy.
    quality_label : str, default="bits per byte"
    lower_is_better : bool, default=True
        Says which way is better on the quality axis (True for bits per byte or perplexity,
        False for accuracy).

    Attributes
    ----------
    scatter_ : matplotlib PathCollection
        The points; ``scatter_.get_offsets()`` holds (memory in ``memory_unit_``, quality).
    annotations_ : list of matplotlib Annotation
        One name per point.
    line_ : matplotlib Line2D or None
        The points joined in order of memory (``connect=True``).
    memory_unit_ : str
        "B", "KiB", "MiB" or "GiB", chosen from the largest value.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from llmlab.plots import MemoryQualityDisplay
    >>> disp = MemoryQualityDisplay(
    ...     ["fp32", "8bit", "4bit"], [40e6, 12e6, 8e6], [1.20, 1.21, 1.27]).plot()
    >>> disp.memory_unit_
    'MiB'
    >>> import matplotlib.pyplot as plt; plt.close(disp.figure_)
    """

    def __init__(self, names, memory_bytes, quality, *, quality_label="bits per byte",
                 lower_is_better=True):
        names = [str(n) for n in names]
        if len(names) == 0:
            raise ValueError("names is empty; give at least one model to plot.")
        arrays = {}
        for label, values in (("memory_bytes", memory_bytes), ("quality", quality)):
            try:
                arr = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"{label} must be a sequence of numbers.") from None
            if arr.ndim != 1 or arr.shape[0] != len(names):
                raise ValueError(
                    f"names has {len(names)} entries but {label} has "
                    f"{arr.shape[0] if arr.ndim == 1 else arr.shape}; give one value per name."
                )
            bad = ~np.isfinite(arr)
            if label == "memory_bytes":
                bad |= arr <= 0
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                need = "positive" if label == "memory_bytes" else "finite"
                raise ValueError(
                    f"{label}[{i}] is {arr[i].item()!r} (for {names[i]!r}); it must be a "
                    f"{need} number."
                )
            arrays[label] = arr
        self.names = names
        self.memory_bytes = arrays["memory_bytes"]
        self.quality = arrays["quality"]
        self.quality_label = quality_label
        self.lower_is_better = bool(lower_is_better)

    @classmethod
    def from_measurements(
        cls,
        names,
        memory_bytes,
        quality,
        *,
        quality_label="bits per byte",
        lower_is_better=True,
        ax=None,
        connect=True,
    ):
        """Deprecated: ``MemoryQualityDisplay(names, memory_bytes, quality, ...).plot()``.

        The values are measured already, so, as in scikit-learn, the constructor takes them
        and :meth:`plot` draws them. This works, with a ``FutureWarning``, for one release.
        """
        warnings.warn(
            "MemoryQualityDisplay.from_measurements is deprecated: use "
            "MemoryQualityDisplay(names, memory_bytes, quality, ...).plot(ax=..., "
            "connect=...); from_measurements stops working in the next release.",
            FutureWarning, stacklevel=2,
        )
        disp = cls(names, memory_bytes, quality, quality_label=quality_label,
                   lower_is_better=lower_is_better)
        return disp.plot(ax=ax, connect=connect)

    def plot(self, *, ax=None, connect=True, unit=None):
        """Draw the points.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        connect : bool, default=True
            Join the points in order of memory.
        unit : {'B', 'KiB', 'MiB', 'GiB'}, default=None
            Unit of the memory axis; ``None`` picks one from the largest value.

        Returns
        -------
        MemoryQualityDisplay
            ``self``, with ``scatter_``, ``annotations_``, ``line_``, ``memory_unit_``,
            ``ax_`` and ``figure_`` set.
        """
        units = dict(_UNITS)
        if unit is None:
            unit = [u for u, size in _UNITS if self.memory_bytes.max() >= size][-1]
        check_option("unit", unit, tuple(units))
        x = self.memory_bytes / units[unit]
        fig, ax = new_ax(ax)
        self.line_ = None
        if connect and len(x) > 1:
            order = np.argsort(x, kind="stable")
            (self.line_,) = ax.plot(x[order], self.quality[order], linestyle="--",
                                    color="grey", zorder=1)
        self.scatter_ = ax.scatter(x, self.quality, zorder=2)
        self.annotations_ = [
            ax.annotate(name, (xi, qi), textcoords="offset points", xytext=(6, 6))
            for name, xi, qi in zip(self.names, x, self.quality, strict=True)
        ]
        better = "lower" if self.lower_is_better else "higher"
        ax.set(
            xlabel=f"memory ({unit})",
            ylabel=f"{self.quality_label} ({better} is better)",
            title="Memory against quality",
        )
        ax.margins(0.15)
        self.memory_unit_ = unit
        self.ax_ = ax
        self.figure_ = fig
        return self
