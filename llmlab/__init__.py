"""llmlab: evaluate self-hosted causal language models (Llama, Mistral) on your own machine.

The public API, re-exported here::

    llmlab.list_bundled_models()
    llmlab.load_model(name_or_path, *, quantization=None, dtype=None)
    llmlab.load_tokenizer(name_or_path)
    llmlab.memory_footprint(model), llmlab.parameters_by_dtype(model)
    llmlab.connect(base_url, model=None, *, tokenizer=None, ...)   # a model behind a server

Importing llmlab has no side effects: nothing is downloaded or loaded until asked for.
"""

from llmlab import datasets, metrics, plots, tasks
from llmlab.backends.server import connect
from llmlab.classify import ClassificationResult, classify
from llmlab.loaders import (
    list_bundled_models,
    load_model,
    load_tokenizer,
    memory_footprint,
    parameters_by_dtype,
    resolve_model_path,
)
from llmlab.perplexity import PerplexityResult, perplexity

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "datasets",
    "metrics",
    "plots",
    "resolve_model_path",
    "tasks",
    "list_bundled_models",
    "load_model",
    "load_tokenizer",
    "memory_footprint",
    "parameters_by_dtype",
    "classify",
    "connect",
    "ClassificationResult",
    "perplexity",
    "PerplexityResult",
]
