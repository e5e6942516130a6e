"""The reproducible recipe that built the bundled models.

``python -m training build --model all`` retrains ``tiny-llama`` and ``tiny-mistral``
from the frozen data in :mod:`llmlab.data`; ``python -m training.evaluate --model DIR``
measures a model folder on the held-out test splits. Nothing here runs on import, and the
course never needs it: the trained models ship in ``llmlab/models``.
"""

__all__ = ["configs", "evaluate", "tokenizer", "train"]
