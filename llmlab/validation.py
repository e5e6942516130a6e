"""Every argument check of llmlab, in one place.

Two kinds of checks live here:

* **Declarative constraints**, in the style of scikit-learn's parameter validation
  (``sklearn.utils._param_validation``): a parameter is described by a list of constraints
  (:class:`Interval`, :class:`Options`, :class:`StrOptions`, ``None``, ``"boolean"``,
  ``callable`` or a type), checked by :func:`check_param` or, for a whole function, by the
  :func:`validate_params` decorator. :func:`check_positive_int` and :func:`check_option` are
  the two constraints the library needs most often.
* **Validators of data**: lists of strings (:func:`check_str_list`, :func:`check_texts`),
  1-D arrays (:func:`check_1d`), and the families of the metrics and plots: class labels
  (:func:`check_targets`, :func:`check_prf_options`), scores (:func:`check_scores`) and
  probabilities (:func:`check_probabilities`).

Every check raises before any computation starts, with a message that names the parameter,
the bad value and the values that would have been accepted. A bad parameter raises
:class:`InvalidParameterError`, which is both a ``ValueError`` and a ``TypeError`` (as
scikit-learn's is), so either ``except`` clause catches it.

:func:`renamed_keywords` keeps an old keyword name working for one release, with a
``FutureWarning``.

Examples
--------
>>> from numbers import Integral
>>> from llmlab.validation import Interval, StrOptions, check_param
>>> check_param("n_bins", 10, [Interval(Integral, 1, None, closed="left")])
10
>>> check_param("strategy", "median", [StrOptions(["uniform", "quantile"])])
Traceback (most recent call last):
...
llmlab.validation.InvalidParameterError: strategy='median' is not supported;
choose one of ['uniform', 'quantile'].
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import reprlib
import warnings
from collections import Counter
from numbers import Integral, Real

import numpy as np

__all__ = [
    "AVERAGES",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "check_1d",
    "check_option",
    "check_param",
    "check_positive_int",
    "check_prf_options",
    "check_probabilities",
    "check_sample_weight",
    "check_scores",
    "check_str_list",
    "check_targets",
    "check_texts",
    "renamed_keywords",
    "validate_params",
]

#: The values ``average=`` accepts (multilabel ``"samples"`` is not supported).
AVERAGES = (None, "binary", "micro", "macro", "weighted")

_MAX_SHOWN = 10  # labels listed in an error message before "..."
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _MAX_SHOWN


class InvalidParameterError(ValueError, TypeError):
    """A parameter that none of its constraints accepts (both a ValueError and a TypeError)."""


def _short(value) -> str:
    """``repr(value)``, cut short for long strings and sequences."""
    return _REPR.repr(value)


# --------------------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------------------


class _Constraint:
    """What a parameter may be: ``is_satisfied_by`` decides, ``str()`` says it in words."""

    def is_satisfied_by(self, value) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self}>"


class Interval(_Constraint):
    """A number of one type in a range.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real}
        ``Integral`` accepts ints (numpy's too); ``Real`` accepts any finite real number.
        ``bool`` is never accepted: ``True`` is not a count.
    left, right : float or None
        The bounds; ``None`` leaves that side open.
    closed : {"left", "right", "both", "neither"}, default="both"
        Which bounds belong to the interval.

    Examples
    --------
    >>> from numbers import Integral, Real
    >>> str(Interval(Integral, 1, None, closed="left"))
    'an int >= 1'
    >>> Interval(Real, 0, 1, closed="neither").is_satisfied_by(1.0)
    False
    """

    def __init__(self, type, left, right, *, closed="both"):
        if type not in (Integral, Real):
            raise ValueError(f"type={type!r} is not supported; choose numbers.Integral or "
                             f"numbers.Real.")
        check_option("closed", closed, ("left", "right", "both", "neither"))
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def is_satisfied_by(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.type):
            return False
        if not math.isfinite(value):
            return False
        low_ok = self.left is None or (
            value >= self.left if self.closed in ("left", "both") else value > self.left)
        high_ok = self.right is None or (
            value <= self.right if self.closed in ("right", "both") else value < self.right)
        return bool(low_ok and high_ok)

    def __str__(self) -> str:
        kind = "an int" if self.type is Integral else "a finite number"
        left_in = self.closed in ("left", "both")
        right_in = self.closed in ("right", "both")
        if self.right is None:
            return kind if self.left is None else f"{kind} {'>=' if left_in else '>'} {self.left}"
        if self.left is None:
            return f"{kind} {'<=' if right_in else '<'} {self.right}"
        return (f"{kind} in {'[' if left_in else '('}{self.left}, "
                f"{self.right}{']' if right_in else ')'}")


class Options(_Constraint):
    """One of a few values, compared by type and value: ``True`` does not match ``1``.

    Numpy scalars match the Python values they hold (``np.str_("a")`` matches ``"a"``). The
    options keep their order in messages.
    """

    def __init__(self, options):
        self.options = tuple(options)

    def is_satisfied_by(self, value) -> bool:
        if isinstance(value, np.generic):
            value = value.item()
        return any(
            value is option or (type(value) is type(option) and value == option)
            for option in self.options
        )

    def __str__(self) -> str:
        return f"one of {list(self.options)!r}"


class StrOptions(Options):
    """One of a few strings."""

    def __init__(self, options):
        super().__init__(options)
        bad = [o for o in self.options if not isinstance(o, str)]
        if bad:
            raise ValueError(f"StrOptions takes strings; {bad!r} are not. Use Options.")


class _Simple(_Constraint):
    """``None``, ``"boolean"``, ``callable`` or a type: a test and its words."""

    def __init__(self, test, words):
        self.test, self.words = test, words

    def is_satisfied_by(self, value) -> bool:
        return self.test(value)

    def __str__(self) -> str:
        return self.words


_SHORTHANDS = {
    "boolean": Options((True, False)),
    "callable": _Simple(callable, "a callable"),
}


def _make_constraint(constraint) -> _Constraint:
    if isinstance(constraint, _Constraint):
        return constraint
    if constraint is None:
        return _Simple(lambda v: v is None, "None")
    if constraint is callable:
        return _SHORTHANDS["callable"]
    if isinstance(constraint, str) and constraint in _SHORTHANDS:
        return _SHORTHANDS[constraint]
    if isinstance(constraint, type):
        return _Simple(lambda v: isinstance(v, constraint), f"an instance of "
                       f"{constraint.__qualname__}")
    raise ValueError(f"constraint={constraint!r} is not a constraint llmlab knows; use "
                     f"Interval, Options, StrOptions, None, 'boolean', callable or a type.")


def _describe(constraints) -> str:
    """The accepted values in words: 'choose one of [...]' or 'expected X or Y'."""
    if all(isinstance(c, Options) for c in constraints):
        merged = [o for c in constraints for o in c.options]
        return f"choose one of {merged!r}"
    return "expected " + " or ".join(str(c) for c in constraints)


def check_param(name: str, value, constraints):
    """Return ``value`` if one of ``constraints`` accepts it; raise otherwise.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object
    constraints : list
        :class:`Interval`, :class:`Options`, :class:`StrOptions`, ``None``, ``"boolean"``,
        ``callable`` or a type; a single one may be passed without the list.

    Raises
    ------
    InvalidParameterError
        Naming ``name``, ``value`` and what the constraints accept.

    Examples
    --------
    >>> from numbers import Real
    >>> check_param("threshold", 0.5, [None, Interval(Real, 0, 1)])
    0.5
    >>> check_param("threshold", 2, [None, Interval(Real, 0, 1)])
    Traceback (most recent call last):
    ...
    llmlab.validation.InvalidParameterError: threshold=2 is not supported;
    expected None or a finite number in [0, 1].
    """
    if not isinstance(constraints, list):
        constraints = [constraints]
    constraints = [_make_constraint(c) for c in constraints]
    if any(c.is_satisfied_by(value) for c in constraints):
        return value
    raise InvalidParameterError(
        f"{name}={_short(value)} is not supported; {_describe(constraints)}."
    )


def check_option(name: str, value, allowed) -> None:
    """Raise unless ``value`` is one of ``allowed`` (compared by type and value).

    Examples
    --------
    >>> check_option("split", "dev", ("train", "validation", "test"))
    Traceback (most recent call last):
    ...
    llmlab.validation.InvalidParameterError: split='dev' is not supported;
    choose one of ['train', 'validation', 'test'].
    """
    check_param(name, value, [Options(allowed)])


_POSITIVE_INT = Interval(Integral, 1, None, closed="left")


def check_positive_int(name: str, value, *, allow_none: bool = False):
    """``value`` as an ``int`` if it is an integer >= 1 (or None where allowed); else raise.

    Examples
    --------
    >>> check_positive_int("batch_size", 8)
    8
    >>> check_positive_int("batch_size", 0)
    Traceback (most recent call last):
    ...
    llmlab.validation.InvalidParameterError: batch_size=0 is not supported;
    expected an int >= 1.
    """
    check_param(name, value, [None, _POSITIVE_INT] if allow_none else [_POSITIVE_INT])
    return None if value is None else int(value)


def validate_params(constraints: dict):
    """Decorate a function so that its arguments are checked against ``constraints``.

    ``constraints`` maps a parameter's name to its list of constraints (as
    :func:`check_param` takes them). Only the arguments the caller passed are checked;
    defaults are trusted.

    Examples
    --------
    >>> from numbers import Integral
    >>> @validate_params({"n": [Interval(Integral, 1, None, closed="left")]})
    ... def repeat(text, *, n=2):
    ...     return text * n
    >>> repeat("ab", n=3)
    'ababab'
    >>> repeat("ab", n=0)
    Traceback (most recent call last):
    ...
    llmlab.validation.InvalidParameterError: n=0 is not supported; expected an int >= 1.
    """

    def decorator(func):
        params = inspect.signature(func).parameters
        unknown = sorted(set(constraints) - set(params))
        if unknown:
            raise ValueError(f"{func.__qualname__} has no parameter(s) {unknown!r}.")
        # where each checked parameter sits among the positional arguments, if it can
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        where = {name: (i if params[name].kind in positional else None)
                 for i, name in enumerate(params) if name in constraints}

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for name, i in where.items():
                if name in kwargs:
                    check_param(name, kwargs[name], constraints[name])
                elif i is not None and i < len(args):
                    check_param(name, args[i], constraints[name])
            return func(*args, **kwargs)

        return wrapper

    return decorator


def renamed_keywords(**renamed):
    """Decorate a function whose keywords were renamed: ``old="new"``.

    A call with an old name still works for one release: it warns with a ``FutureWarning``
    and passes the value on under the new name. Passing both names is a ``TypeError``.

    Examples
    --------
    >>> import warnings
    >>> @renamed_keywords(y="y_pred")
    ... def count(y_true, y_pred):
    ...     return len(y_pred)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     count([1], y=[1])
    1
    >>> print(caught[0].category.__name__, caught[0].message)
    FutureWarning count(y=...) is deprecated: the argument is now called y_pred.
    y= stops working in the next release.
    """

    def decorator(func):
        positions = {p: i for i, p in enumerate(inspect.signature(func).parameters)}

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, new in renamed.items():
                if old not in kwargs:
                    continue
                if new in kwargs or positions.get(new, len(args)) < len(args):
                    raise TypeError(f"{func.__name__}() got {new} twice: as {new} and under "
                                    f"its old name {old}. Pass {new} only.")
                warnings.warn(
                    f"{func.__name__}({old}=...) is deprecated: the argument is now called "
                    f"{new}. {old}= stops working in the next release.",
                    FutureWarning, stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorator


# --------------------------------------------------------------------------------------
# Strings and 1-D arrays
# --------------------------------------------------------------------------------------


def check_str_list(values, name: str, *, allow_empty_items: bool = False,
                   accept_str: bool = False, what: str | None = None) -> list[str]:
    """A non-empty list of strings, each non-blank unless ``allow_empty_items``.

    ``accept_str=True`` turns a single string into a one-item list (``texts``); otherwise a
    string is refused. ``what`` is the verb of the messages ("there is nothing to score").

    Examples
    --------
    >>> check_str_list(("a", "b"), "contexts")
    ['a', 'b']
    >>> check_str_list("ab", "contexts")
    Traceback (most recent call last):
    ...
    TypeError: contexts must be a list of strings, got the string 'ab'
    """
    kinds = "a string or a list of strings" if accept_str else "a list of strings"
    if isinstance(values, str):
        if not accept_str:
            raise TypeError(f"{name} must be a list of strings, got the string {values[:40]!r}")
        values = [values]
    if values is None:
        raise ValueError(f"{name} is None; pass {kinds}")
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{name} must be {kinds}, got {type(values).__name__}") from None
    if not values:
        to = f"non-empty string to {what}" if what else "string"
        raise ValueError(f"{name} is empty; pass at least one {to}")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] is a {type(v).__name__}, not a str")
        if not allow_empty_items and not v.strip():
            nothing = f"; there is nothing to {what}" if what else ""
            raise ValueError(f"{name}[{i}] is empty or only whitespace{nothing}")
    return values


def check_texts(texts, what: str = "score") -> list[str]:
    """A string or a non-empty list of non-blank strings, as a list; else an error naming
    the bad item. ``what`` is the verb in the messages ("nothing to score").

    Examples
    --------
    >>> check_texts("one text")
    ['one text']
    >>> check_texts(["a", " "], what="classify")
    Traceback (most recent call last):
    ...
    ValueError: texts[1] is empty or only whitespace; there is nothing to classify
    """
    return check_str_list(texts, "texts", accept_str=True, what=what)


def check_1d(y, name: str, *, what: str = "values", hint: str = "") -> np.ndarray:
    """``y`` as a 1-D array, one value per sample (a column vector is flattened).

    ``what`` names the values in messages ("labels", "scores"); ``hint`` is appended to the
    message for a wrong shape.

    Examples
    --------
    >>> check_1d([[1], [2]], "y_true").tolist()
    [1, 2]
    >>> check_1d("spam", "y_true", what="labels")
    Traceback (most recent call last):
    ...
    ValueError: y_true='spam' is a single string; expected a sequence of labels, one per
    sample.
    """
    if y is None:
        raise ValueError(f"{name} is None; expected a sequence of {what}, one per sample.")
    if isinstance(y, (str, bytes)):
        raise ValueError(  # noqa: TRY004 - bad user input is a ValueError here
            f"{name}={_short(y)} is a single string; expected a sequence of {what}, one per "
            f"sample."
        )
    try:
        arr = np.asarray(y)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} is not a flat sequence of {what} ({exc}).") from None
    if arr.ndim == 0:
        raise ValueError(
            f"{name}={_short(y)} is a single value; expected a sequence of {what}, one per sample."
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(
            f"{name} has shape {arr.shape}; expected a 1-D sequence of {what}, one per "
            f"sample.{hint}"
        )
    return arr


# --------------------------------------------------------------------------------------
# Class labels: y_true, y_pred, labels, sample_weight
# --------------------------------------------------------------------------------------


def _sorted(values):
    """Sort label values; fall back to their repr when they cannot be compared."""
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)


def _show(values) -> str:
    """A short, readable list of label values for an error message."""
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    if len(values) > _MAX_SHOWN:
        return repr(values[:_MAX_SHOWN])[:-1] + f", ... ({len(values)} in all)]"
    return repr(values)


def _scalar_kind(value) -> str | None:
    """'string', 'number' or None (neither) for a single label value."""
    if isinstance(value, (str, np.str_)):
        return "string"
    if isinstance(value, (numbers.Number, np.number, np.bool_)):
        return "number"
    return None


def _first_bad(mask) -> tuple[int, int]:
    """Index of the first True in ``mask`` and how many there are."""
    idx = np.flatnonzero(mask)
    return int(idx[0]), int(idx.size)


def _object_labels(arr, name):
    """Labels numpy stored as objects: all strings or all numbers, none missing."""
    kinds = [_scalar_kind(v) for v in arr]
    if None in kinds:
        i = kinds.index(None)
        raise ValueError(
            f"{name}[{i}] is {arr[i]!r}, which is not a class label; labels must be strings "
            f"or numbers, with no missing values."
        )
    if len(set(kinds)) > 1:
        i_str, i_num = kinds.index("string"), kinds.index("number")
        raise ValueError(
            f"{name} mixes strings and numbers (e.g. {arr[i_str]!r} at index {i_str} and "
            f"{arr[i_num]!r} at index {i_num}); all labels must be of one type."
        )
    if kinds and kinds[0] == "string":
        return arr.astype(str)
    return np.asarray(arr.tolist())


def _as_label_array(y, name: str) -> tuple[np.ndarray, str]:
    """One sequence of class labels as a 1-D array, with its kind ("string" or "number")."""
    arr = check_1d(y, name, what="labels", hint=(
        " Per-class scores of shape (n_samples, n_classes) must be turned into labels first "
        "(e.g. the argmax of each row)."))
    if arr.dtype.kind in "US":
        if isinstance(y, np.ndarray) or all(isinstance(v, (str, bytes)) for v in y):
            return arr, "string"
        # numpy turned a mix such as ['ham', 1] into strings without a word
        arr = np.asarray(y, dtype=object).reshape(-1)
    if arr.dtype.kind == "O":
        arr = _object_labels(arr, name)
        if arr.dtype.kind in "US":
            return arr, "string"
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} has dtype {arr.dtype}; labels must be strings or numbers (int, bool, float)."
        )
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            i, n = _first_bad(bad)
            raise ValueError(
                f"{name} contains {arr[i].item()!r} at index {i} ({n} non-finite value(s) in "
                f"all); labels cannot be missing or infinite. Drop or fill those samples first."
            )
        frac = arr != np.round(arr)
        if frac.any():
            i, _ = _first_bad(frac)
            raise ValueError(
                f"{name} contains non-integer values such as {arr[i].item()!r} (index {i}): "
                f"these look like scores, not class labels. Threshold them first, e.g. "
                f"y_pred = (y_score >= 0.5).astype(int), or pass the scores as y_score to "
                f"precision_recall_curve."
            )
    return arr, "number"


def check_sample_weight(sample_weight, n: int):
    """``None``, or ``n`` finite non-negative weights as a float array."""
    if sample_weight is None:
        return None
    try:
        sw = np.asarray(sample_weight, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "sample_weight must be a sequence of non-negative numbers, one per sample."
        ) from None
    if sw.ndim != 1:
        raise ValueError(f"sample_weight has shape {sw.shape}; expected a 1-D sequence.")
    if sw.shape[0] != n:
        raise ValueError(
            f"sample_weight has {sw.shape[0]} values but there are {n} samples; pass one weight "
            f"per sample."
        )
    bad = ~np.isfinite(sw) | (sw < 0)
    if bad.any():
        i, n_bad = _first_bad(bad)
        raise ValueError(
            f"sample_weight[{i}] is {sw[i].item()!r} ({n_bad} bad value(s) in all); weights "
            f"must be finite and non-negative."
        )
    return sw


def _check_labels(labels, yt, yp, kind):
    """The ``labels=`` list: non-empty, no duplicates, same kind, covering y_true and y_pred."""
    lab, kind_l = _as_label_array(labels, "labels")
    if lab.shape[0] == 0:
        raise ValueError(
            "labels is empty; pass labels=None to use the labels found in y_true and "
            "y_pred, or list them, e.g. labels=['ham', 'spam']."
        )
    dupes = [v for v, c in Counter(lab.tolist()).items() if c > 1]
    if dupes:
        raise ValueError(f"labels lists {_show(dupes)} more than once; each label once.")
    if kind_l != kind:
        raise ValueError(
            f"labels holds {kind_l}s ({_show(lab.tolist())}) but y_true and y_pred hold "
            f"{kind}s (e.g. {yt[0].item()!r}); they must use the same labels."
        )
    allowed = set(lab.tolist())
    for name, arr in (("y_pred", yp), ("y_true", yt)):
        unknown = _sorted(set(arr.tolist()) - allowed)
        if unknown:
            raise ValueError(
                f"{name} contains label(s) {_show(unknown)} that are not in "
                f"labels={_show(lab.tolist())}. Every label in y_true and y_pred must be "
                f"listed: map stray values (an LLM answer outside the label set, a typo, "
                f"another capitalisation) onto a listed label, or add them to labels."
            )
    return lab


def check_targets(y_true, y_pred, *, labels=None, sample_weight=None):
    """Validate ``y_true``/``y_pred`` (and ``labels``, ``sample_weight``) for label metrics.

    Returns ``(y_true, y_pred, labels, sample_weight, kind)`` as arrays ready for
    scikit-learn; ``kind`` is "string" or "number".

    Examples
    --------
    >>> check_targets(["ham", "spam"], ["ham", 1])
    Traceback (most recent call last):
    ...
    ValueError: y_pred mixes strings and numbers (e.g. 'ham' at index 0 and 1 at index 1);
    all labels must be of one type.
    """
    yt, kind_t = _as_label_array(y_true, "y_true")
    yp, kind_p = _as_label_array(y_pred, "y_pred")
    if yt.shape[0] != yp.shape[0]:
        raise ValueError(
            f"y_true and y_pred have different lengths: len(y_true)={yt.shape[0]} but "
            f"len(y_pred)={yp.shape[0]}. They must hold one label per sample, in the same order."
        )
    if yt.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty; at least one sample is needed.")
    if kind_t != kind_p:
        raise ValueError(
            f"y_true holds {kind_t}s (e.g. {yt[0].item()!r}) but y_pred holds {kind_p}s "
            f"(e.g. {yp[0].item()!r}); both must use the same labels. Map one onto the other "
            f"first, e.g. y_pred = ['spam' if p == 1 else 'ham' for p in y_pred]."
        )
    lab = None if labels is None else _check_labels(labels, yt, yp, kind_t)
    sw = check_sample_weight(sample_weight, yt.shape[0])
    return yt, yp, lab, sw, kind_t


_BETA = Interval(Real, 0, None, closed="left")


def _check_binary_pos_label(yt, yp, kind, labels, pos_label):
    """With ``average='binary'``: at most two classes, and ``pos_label`` one of them."""
    present = _sorted(set(yt.tolist()) | set(yp.tolist()))
    if len(present) > 2:
        stray = _sorted(set(yp.tolist()) - set(yt.tolist()))
        if stray and len(set(yt.tolist())) <= 2:
            raise ValueError(
                f"y_pred contains label(s) {_show(stray)} that never occur in y_true "
                f"({_show(_sorted(set(yt.tolist())))}), so there are {len(present)} classes but "
                f"average='binary' needs two. Map stray predictions onto a real label, or choose "
                f"another average from [None, 'micro', 'macro', 'weighted']."
            )
        raise ValueError(
            f"average='binary' needs at most two classes, but y_true and y_pred hold "
            f"{len(present)}: {_show(present)}. Choose another average from "
            f"[None, 'micro', 'macro', 'weighted']."
        )
    if _scalar_kind(pos_label) != kind:
        raise ValueError(
            f"pos_label={pos_label!r} is not a valid label: the labels are {kind}s "
            f"{_show(present)}. Pass the class you care about, e.g. pos_label={present[-1]!r}."
        )
    known = present if labels is None else _sorted(set(present) | set(labels.tolist()))
    if pos_label not in known and (len(known) >= 2 or labels is not None):
        where = "y_true and y_pred" if labels is None else "labels, y_true and y_pred"
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the labels in {where}: {_show(known)}. "
            f"Pass the class you care about, e.g. pos_label={known[-1]!r}."
        )


def check_prf_options(yt, yp, kind, *, labels, pos_label, average, zero_division, beta=1.0):
    """Validate ``average``, ``pos_label``, ``zero_division`` and ``beta`` for checked targets."""
    if average == "samples":
        raise ValueError(
            "average='samples' is for multilabel targets, which llmlab does not support; choose "
            f"one of {list(AVERAGES)!r}."
        )
    check_option("average", average, AVERAGES)
    zd_ok = (isinstance(zero_division, str) and zero_division == "warn") or (
        isinstance(zero_division, numbers.Real)
        and not isinstance(zero_division, (bool, np.bool_))
        and (math.isnan(zero_division) or zero_division in (0, 1))
    )
    if not zd_ok:  # 0 and 0.0 are both fine, so not an Options check
        raise InvalidParameterError(
            f"zero_division={_short(zero_division)} is not supported; choose one of "
            f"['warn', 0.0, 1.0, np.nan]."
        )
    check_param("beta", beta, [_BETA])
    if average == "binary":
        _check_binary_pos_label(yt, yp, kind, labels, pos_label)


# --------------------------------------------------------------------------------------
# Scores and probabilities: y_true, y_score, pos_label, sample_weight
# --------------------------------------------------------------------------------------


def _as_score_array(y_score, name):
    if y_score is None:
        raise ValueError(f"{name} is None; expected one score per sample.")
    raw = np.asarray(y_score)
    if raw.dtype.kind in "USO" and raw.size and any(isinstance(v, str) for v in raw.ravel()):
        first = str(next(v for v in raw.ravel() if isinstance(v, str)))  # np.str_ -> str
        raise ValueError(
            f"{name} holds strings (e.g. {first!r}); it must hold numbers: the score or probability of the positive class for each "
            f"sample. Did you pass y_pred instead of {name}?"
        )
    try:
        # keep a float32 array float32, as scikit-learn would (its thresholds stay 0.3, not
        # 0.30000001); anything else becomes float64
        ys = raw if raw.dtype.kind == "f" else np.asarray(y_score, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a sequence of numbers: the score or probability of the positive "
            "class for each sample."
        ) from None
    ys = check_1d(ys, name, what="scores", hint=(
        f" For per-class probabilities pass the positive class's column, e.g. {name}[:, 1]."))
    bad = ~np.isfinite(ys)
    if bad.any():
        i, n = _first_bad(bad)
        raise ValueError(
            f"{name} contains {ys[i].item()!r} at index {i} ({n} non-finite value(s) in all); "
            f"scores must be finite numbers. Drop those samples or fix the scorer."
        )
    return ys


def _score_pos_label(classes, kind, pos_label, name, require_positive):
    """The positive class of a binary ``y_true`` whose distinct values are ``classes``."""
    if len(classes) > 2:
        raise ValueError(
            f"y_true holds {len(classes)} classes {_show(classes)}; {name} needs a binary "
            f"task (the positive class against the rest). Binarize first, e.g. "
            f"y_true = [y == 'spam' for y in y_true]."
        )
    if pos_label is None:
        if kind == "number" and (set(classes) <= {0, 1} or set(classes) <= {-1, 1}):
            pos_label = 1
        else:
            raise ValueError(
                f"y_true holds {_show(classes)} and pos_label is not set; pass the class that "
                f"y_score scores, e.g. pos_label={classes[-1]!r}."
            )
    if _scalar_kind(pos_label) != kind:
        raise ValueError(
            f"pos_label={pos_label!r} is not a valid label: y_true holds {kind}s "
            f"{_show(classes)}. Pass the class that y_score scores, e.g. "
            f"pos_label={classes[-1]!r}."
        )
    if pos_label not in classes and (len(classes) == 2 or require_positive):
        if len(classes) == 2:
            raise ValueError(
                f"pos_label={pos_label!r} is not one of the labels in y_true: {_show(classes)}."
            )
        raise ValueError(
            f"y_true contains no positive sample (no {pos_label!r}; only {_show(classes)}): "
            f"recall = TP / (TP + FN) is undefined without positives, so a precision-recall "
            f"curve means nothing. Evaluate on data that contains the positive class."
        )
    return pos_label


def check_scores(y_true, y_score, *, pos_label=None, sample_weight=None, name="y_score",
                 require_positive=True):
    """Validate inputs of score-based metrics; return ``(y_true, y_score, pos_label, sw)``.

    ``name`` is what the scores are called in messages (``"y_prob"`` for probabilities);
    ``require_positive`` refuses a ``y_true`` without the positive class (a precision-recall
    curve needs one; a calibration measure does not).

    Examples
    --------
    >>> check_scores(["ham", "spam"], [0.2, 0.9])
    Traceback (most recent call last):
    ...
    ValueError: y_true holds ['ham', 'spam'] and pos_label is not set; pass the class that
    y_score scores, e.g. pos_label='spam'.
    """
    yt, kind = _as_label_array(y_true, "y_true")
    ys = _as_score_array(y_score, name)
    if yt.shape[0] != ys.shape[0]:
        raise ValueError(
            f"y_true and {name} have different lengths: len(y_true)={yt.shape[0]} but "
            f"len({name})={ys.shape[0]}. They must hold one value per sample, in the same order."
        )
    if yt.shape[0] == 0:
        raise ValueError(f"y_true and {name} are empty; at least one sample is needed.")
    classes = _sorted(set(yt.tolist()))
    pos_label = _score_pos_label(classes, kind, pos_label, name, require_positive)
    sw = check_sample_weight(sample_weight, yt.shape[0])
    return yt, ys, pos_label, sw


def check_probabilities(y_true, y_prob, *, pos_label=None):
    """Validate a binary ``y_true`` and probabilities in [0, 1]; return ``(positive, y_prob)``.

    ``positive`` is the boolean array ``y_true == pos_label``. The checks are
    :func:`check_scores`' (a ``y_true`` without positives is allowed) plus the range.

    Examples
    --------
    >>> check_probabilities([0, 1], [0.2, 1.5])
    Traceback (most recent call last):
    ...
    ValueError: y_prob[1] is 1.5; probabilities must lie in [0, 1]. Scores that are not
    probabilities have no calibration to measure.
    """
    yt, yp, pos_label, _ = check_scores(y_true, y_prob, pos_label=pos_label, name="y_prob",
                                        require_positive=False)
    bad = (yp < 0) | (yp > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"y_prob[{i}] is {yp[i].item()!r}; probabilities must lie in [0, 1]. Scores that "
            f"are not probabilities have no calibration to measure."
        )
    return yt == pos_label, yp
