"""llmlab.course.checks: hints for learners, None when the value passes."""

import math

import numpy as np
import pytest
import torch

from llmlab.course import checks


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: checks.check_choice(None, "ABCD", "answer_q1"), "answer_q1 is not answered yet"),
        (lambda: checks.check_choice(2, "ABCD", "q"), "should be a string"),
        (lambda: checks.check_choice("E", "ABCD", "q"), "one letter among A, B, C, D"),
        (lambda: checks.check_number(None, "ppl"), "forget to `return`"),
        (lambda: checks.check_number("3", "ppl"), "should be a number"),
        (lambda: checks.check_number(True, "ppl"), "should be a number"),
        (lambda: checks.check_number(math.inf, "ppl"), "log of zero"),
        (lambda: checks.check_number(0.5, "ppl", low=1), "below the smallest"),
        (lambda: checks.check_number(7, "p", high=1), "above the largest"),
        (lambda: checks.check_number(2.5, "n", integer=True), "whole number"),
        (lambda: checks.check_probability(85.0, "acc"), "not a percentage"),
        (lambda: checks.check_probability(-0.1, "acc"), "below the smallest"),
        (lambda: checks.check_callable(3, "f"), "should be a function"),
        (lambda: checks.check_callable(lambda a: a, "f", n_args=2), "accept 2 positional"),
        (lambda: checks.check_type(3, str, "x"), "should be a str"),
        (lambda: checks.check_sequence("abc", "xs"), "should be a list"),
        (lambda: checks.check_sequence([1, 2], "xs", length=3), "should have 3 items"),
        (lambda: checks.check_sequence([1, "a"], "xs", of=int), r"xs\[1\] should be a int"),
        (lambda: checks.check_matrix([1, 2], "cm"), "should be 2-D"),
        (lambda: checks.check_matrix([[1, 2]], "cm", shape=(2, 2)), "shape"),
        (lambda: checks.check_matrix([[1, 2], [3, 4]], "cm", total=11), "sum to 10"),
        (lambda: checks.check_text("two words", "why", min_words=5), "too short"),
    ],
)
def test_failures_give_hints(call, match):
    with pytest.raises(AssertionError, match=match):
        call()


def test_passing_values_return_none():
    assert checks.check_choice(" b ", "ABCD") is None
    assert checks.check_number(np.float32(2.5), low=1) is None
    assert checks.check_number(np.array([3.0])) is None
    assert checks.check_number(torch.tensor(4.0), low=1) is None
    assert checks.check_probability(0.25) is None
    assert checks.check_callable(lambda a, b: a, n_args=2) is None
    assert checks.check_type("s", (str, bytes)) is None
    assert checks.check_sequence([1, 2, 3], length=3, of=int) is None
    assert checks.check_matrix(np.eye(2), shape=(2, 2), total=2) is None
    assert checks.check_text("a reasoned answer here", min_words=3) is None


def test_course_helpers_are_not_library_api():
    """The hints belong to the course: ``import llmlab`` neither exports nor imports them."""
    import subprocess
    import sys

    import llmlab

    assert "checks" not in llmlab.__all__ and "course" not in llmlab.__all__
    code = ("import sys, llmlab; print(sorted(m for m in sys.modules "
            "if m.startswith(('llmlab.course', 'llmlab.checks'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    import pkgutil

    top = {m.name for m in pkgutil.iter_modules(llmlab.__path__)}
    assert "course" in top and "checks" not in top
