"""Token id sequences for training: documents encoded one by one, then packed into rows.

Both the pretraining stages (:mod:`training.train`) and the instruct stage
(:mod:`training.instruct`) encode plain documents this way.
"""

from __future__ import annotations


def encode_documents(tokenizer, texts) -> list:
    """Encode each text as ``[<s>, ..., </s>]`` (a list of id lists)."""
    eos = tokenizer.eos_token_id
    backend = tokenizer.backend_tokenizer
    out = []
    for i in range(0, len(texts), 1024):
        encs = backend.encode_batch(list(texts[i : i + 1024]), add_special_tokens=True)
        out.extend(e.ids + [eos] for e in encs)
    return out


def pack(docs_ids, seq_len: int, *, offset: int = 0):
    """Concatenate id lists and cut them into a ``(n, seq_len)`` LongTensor (tail dropped)."""
    import torch

    flat = torch.tensor([i for d in docs_ids for i in d], dtype=torch.long)
    flat = flat[offset:]
    n = flat.numel() // seq_len
    return flat[: n * seq_len].view(n, seq_len)


def validation_sequences(tokenizer, texts, seq_len: int, max_sequences: int):
    """The fixed validation batch: ``texts`` encoded, packed, the first ``max_sequences`` rows."""
    return pack(encode_documents(tokenizer, texts), seq_len)[:max_sequences]
