"""Load self-hosted causal language models the way practitioners do.

Everything goes through transformers' ``from_pretrained``: :func:`load_model` wraps
``AutoModelForCausalLM.from_pretrained`` (with a ``BitsAndBytesConfig`` for 8-bit and
4-bit loading on the CPU) and :func:`load_tokenizer` wraps ``AutoTokenizer``. What this
package adds is name resolution and errors that say what is wrong:

1. a *bundled* name (``llmlab.list_bundled_models()``) is looked up inside the package;
2. an existing local folder is loaded from disk;
3. anything else is treated as a Hugging Face hub id, which works only where the hub is
   reachable and offline mode is off. Nothing is downloaded unless such an id is asked for.

A GGUF file (llama.cpp's format), or a folder holding exactly one, loads through
transformers' GGUF support: the weights are dequantized to ``dtype`` and the tokenizer is
built from the file (see :mod:`llmlab.gguf` for the checks made first), or, with
``backend="llama.cpp"``, on llama.cpp's own kernels. ``device=`` places the model on the
CPU, on a CUDA GPU, or across the GPUs (accelerate's ``device_map="auto"``).

One module per idea:

- :mod:`~llmlab.loaders.resolve`: a name to a folder, a GGUF file or a hub id; is it a
  causal LM;
- :mod:`~llmlab.loaders.placement`: the dtype, quantization and device options;
- :mod:`~llmlab.loaders.load` and :mod:`~llmlab.loaders.from_gguf`: loading;
- :mod:`~llmlab.loaders.footprint`: where a model came from, where its weights are and
  what they take.
"""

# Also re-exported beyond __all__: the names llmlab.loaders offered as one module.
from llmlab.gguf import GGUFFootprint
from llmlab.loaders.footprint import (
    memory_footprint,
    model_metadata,
    model_provenance,
    parameters_by_dtype,
    weight_placement,
)
from llmlab.loaders.from_gguf import load_gguf_model, load_gguf_tokenizer
from llmlab.loaders.load import load_model, load_tokenizer
from llmlab.loaders.placement import (
    BACKENDS,
    BNB_4BIT_MULTIPLE,
    DEVICES,
    QUANTIZATIONS,
    bnb_config,
    check_4bit_compatible,
    quiet_bitsandbytes,
    quiet_progress,
)
from llmlab.loaders.resolve import list_bundled_models, resolve_model_path
from llmlab.provenance import Provenance

__all__ = [
    "QUANTIZATIONS",
    "list_bundled_models",
    "resolve_model_path",
    "load_model",
    "load_tokenizer",
    "memory_footprint",
    "parameters_by_dtype",
    "check_4bit_compatible",
    "DEVICES",
    "model_metadata",
    "model_provenance",
    "Provenance",
    "BACKENDS",
    "quiet_bitsandbytes",
    "GGUFFootprint",
]
