"""Numerics shared across the library: softmax and log-softmax over the last axis, in float64.

One copy, so that label probabilities (:mod:`llmlab.classify`), contextual calibration
(:mod:`llmlab.metrics.calibration`) and the llama.cpp backend's log-probabilities normalise
logits the same way. numpy only, so that backends can import it without scikit-learn.
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_softmax", "softmax"]


def log_softmax(x, axis: int = -1) -> np.ndarray:
    """``log(softmax(x))`` along ``axis``, in float64, without overflow.

    The maximum is subtracted first, so large logits do not overflow ``exp``.

    Examples
    --------
    >>> import numpy as np
    >>> log_softmax(np.log([[1.0, 3.0]])).round(4).tolist()
    [[-1.3863, -0.2877]]
    """
    x = np.asarray(x, dtype=np.float64)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax(x, axis: int = -1) -> np.ndarray:
    """Probabilities ``exp(x) / sum(exp(x))`` along ``axis``, in float64.

    Examples
    --------
    >>> softmax([[0.0, 0.0], [1000.0, 0.0]]).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
