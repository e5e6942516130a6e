"""Model backends of the scoring core (:mod:`llmlab.scoring`) beyond in-process transformers.

* :mod:`llmlab.backends.server` -- a model behind an OpenAI-compatible server
  (:func:`llmlab.connect`);
* :mod:`llmlab.backends.llamacpp` -- a GGUF file run by llama.cpp in process
  (``llmlab.load_model(path, backend="llama.cpp")``).

Each implements :class:`llmlab.scoring.Backend`; perplexity, classify and the tasks take them
unchanged.
"""
