"""Helpers for the course notebooks' *visible* tests: they say what is wrong, not just fail.

Each helper raises ``AssertionError`` with a hint a learner can act on and returns ``None``
when the value passes, so a visible test cell reads ``check_number(ppl, "ppl", low=1)``.
(Returning nothing matters: nbgrader reads a test cell's displayed value as a partial score.)

These helpers give hints only. The hidden tests that decide the grade never call them (a
learner's answer could replace them), they use plain ``assert`` statements.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "check_choice",
    "check_number",
    "check_probability",
    "check_callable",
    "check_type",
    "check_sequence",
    "check_matrix",
    "check_text",
]


def _fail(message: str):
    raise AssertionError(message)


def check_choice(answer, choices="ABCD", name="answer"):
    """The answer to a multiple-choice question is one letter among ``choices``."""
    if answer is None or answer is Ellipsis:
        _fail(f"{name} is not answered yet: set it to one letter among {', '.join(choices)}.")
    if not isinstance(answer, str):
        _fail(f"{name} should be a string such as {choices[0]!r}, not a {type(answer).__name__}.")
    letter = answer.strip().upper()
    if letter not in tuple(choices):
        _fail(f"{name} is {answer!r}: answer with one letter among {', '.join(choices)}.")


def check_type(value, types, name="value"):
    """``value`` is an instance of ``types``."""
    if not isinstance(value, types):
        want = (
            " or ".join(t.__name__ for t in types) if isinstance(types, tuple) else types.__name__
        )
        _fail(f"{name} should be a {want}, but it is a {type(value).__name__}: {value!r:.80}")


def check_number(value, name="value", *, low=None, high=None, integer=False):
    """``value`` is a finite real number within ``[low, high]``."""
    if value is None:
        _fail(f"{name} is None: did your function forget to `return` its result?")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            import numpy as np

            if isinstance(value, np.ndarray) and value.size == 1:
                value = value.item()
            elif hasattr(value, "item") and getattr(value, "numel", lambda: 0)() == 1:
                value = value.item()  # a one-element torch tensor
        except ImportError:  # pragma: no cover
            pass
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(f"{name} should be a number, but it is a {type(value).__name__}: {value!r:.80}")
    if integer and int(value) != value:
        _fail(f"{name} should be a whole number (a count), but it is {value}.")
    if not math.isfinite(value):
        _fail(f"{name} is {value}: look for a log of zero or a division by zero.")
    if low is not None and value < low:
        _fail(f"{name} is {value:.6g}, below the smallest possible value {low}.")
    if high is not None and value > high:
        _fail(f"{name} is {value:.6g}, above the largest possible value {high}.")


def check_probability(value, name="value"):
    """A number in [0, 1] (a rate, not a percentage)."""
    check_number(value, name)
    if value > 1 and value <= 100:
        _fail(f"{name} is {value:.6g}: give a fraction between 0 and 1, not a percentage.")
    check_number(value, name, low=0.0, high=1.0)


def check_callable(fn, name="function", n_args=None):
    """``fn`` is a function (accepting ``n_args`` positional arguments if given)."""
    if not callable(fn):
        _fail(f"{name} should be a function, but it is a {type(fn).__name__}.")
    if n_args is not None:
        import inspect

        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):  # builtins without a signature
            return None
        try:
            sig.bind(*range(n_args))
        except TypeError:
            _fail(f"{name} should accept {n_args} positional argument(s); its signature is {sig}.")


def check_sequence(value, name="value", *, length=None, of=None):
    """A list/tuple/array of ``length`` items (each an instance of ``of`` if given)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        _fail(f"{name} should be a list, but it is a {type(value).__name__}.")
    if length is not None and len(value) != length:
        _fail(f"{name} should have {length} items, but it has {len(value)}.")
    if of is not None:
        for i, item in enumerate(value):
            if not isinstance(item, of):
                _fail(f"{name}[{i}] should be a {getattr(of, '__name__', of)}, "
                      f"not a {type(item).__name__}.")


def check_matrix(value, name="matrix", *, shape=None, total=None):
    """A 2-D array-like of numbers with the given ``shape`` whose entries sum to ``total``."""
    import numpy as np

    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        _fail(f"{name} should be a 2-D array of numbers; it could not be read as one.")
    if arr.ndim != 2:
        _fail(f"{name} should be 2-D (rows = true labels, columns = predictions), "
              f"but it has {arr.ndim} dimension(s).")
    if shape is not None and arr.shape != tuple(shape):
        _fail(f"{name} should have shape {tuple(shape)}, but it has shape {arr.shape}.")
    if total is not None and not math.isclose(arr.sum(), total):
        _fail(f"{name}'s entries sum to {arr.sum():g}, but there are {total} examples: "
              f"every example belongs in exactly one cell.")


def check_text(value, name="answer", *, min_words=1):
    """A written answer with at least ``min_words`` words."""
    if not isinstance(value, str):
        _fail(f"{name} should be a string, not a {type(value).__name__}.")
    if len(value.split()) < min_words:
        _fail(f"{name} is too short: write at least {min_words} words.")
