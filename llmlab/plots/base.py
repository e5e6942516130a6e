"""What every display shares: an Axes to draw on, and how numbers are written in cells."""

from __future__ import annotations

__all__ = ["format_number", "new_ax"]


def new_ax(ax):
    """Return ``(figure, ax)``, making a new figure when ``ax`` is None."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots()
        return fig, ax
    if not hasattr(ax, "figure") or not hasattr(ax, "plot"):
        raise ValueError(f"ax={ax!r} is not a matplotlib Axes; pass one, or None for a new figure.")
    return ax.figure, ax


def format_number(value, fmt=None) -> str:
    if fmt is not None:
        return format(value, fmt)
    if float(value).is_integer():
        return str(int(value))
    return format(value, ".2f")
