"""The reproducible recipe that built the bundled models.

It lives next to the package, not in it: ``pip install llmlab`` does not install it, and the
course never needs it (the trained models ship in ``llmlab/models``). From the repository
root, with llmlab installed, ``python -m training build --model all`` retrains the bundled
models from the frozen data in ``llmlab/data``, and ``python -m training.evaluate --model DIR``
measures a model folder on the held-out test splits. Nothing here runs on import.
"""

__all__ = ["configs", "evaluate", "instruct", "sequences", "tokenizer", "train"]
