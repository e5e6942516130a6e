"""Every module's docstring examples run (those that need a model are marked SKIP)."""

import doctest
import importlib
import pkgutil

import pytest

import llmlab

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(llmlab.__path__, prefix="llmlab.")
    if not m.name.endswith("__main__")
)


def test_every_module_is_found():
    assert {"llmlab.scoring", "llmlab.report", "llmlab.metrics.classification",
            "llmlab.summaries", "llmlab.answers", "llmlab.evaluation"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, name
