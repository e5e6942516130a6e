"""Byte-level BPE tokenizers for the bundled models, trained with the ``tokenizers`` library.

The tokenizer is byte-level (like GPT-2's): every string maps to tokens and ``decode`` gives
the exact string back, so no text is ever out of vocabulary. A post-processor puts ``<s>``
(BOS) first, as Llama and Mistral tokenizers do. The result is wrapped as a
:class:`transformers.PreTrainedTokenizerFast` and saved so that
``AutoTokenizer.from_pretrained(folder)`` works offline.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SPECIAL_TOKENS", "train_tokenizer", "wrap_tokenizer"]

#: Special tokens, in id order: <unk>=0, <s>=1, </s>=2, <pad>=3 (Llama's first three ids).
SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>")


def train_tokenizer(texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2):
    """Train a byte-level BPE tokenizer on ``texts``; return a ``PreTrainedTokenizerFast``.

    Parameters
    ----------
    texts : iterable of str
        The training text, one document per item.
    vocab_size : int
        Total vocabulary size, special tokens included. A multiple of 64 keeps the
        ``lm_head`` quantizable by bitsandbytes.
    min_frequency : int, default=2
        A merge must occur at least this often.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size % 64:
        raise ValueError(f"vocab_size must be a multiple of 64, got {vocab_size}")
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    if tok.get_vocab_size() != vocab_size:
        # Too little text for that many merges: fail loudly rather than ship an odd size.
        raise ValueError(
            f"trained vocabulary has {tok.get_vocab_size()} tokens, wanted {vocab_size}; "
            "use more text or a smaller vocab_size"
        )
    return wrap_tokenizer(tok)


def wrap_tokenizer(tok):
    """Add the BOS post-processor to a ``tokenizers.Tokenizer`` and wrap it for transformers.

    ``model_max_length`` is left unset (as in Meta's and Mistral's tokenizer configs), so long
    texts tokenize without a warning; the context length lives in the model's config.
    """
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    bos, eos, pad, unk = "<s>", "</s>", "<pad>", "<unk>"
    bos_id = tok.token_to_id(bos)
    # Llama style: <s> first, no </s> at the end of an encoded text.
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=f"{bos} $A",
                pair=f"{bos} $A {bos} $B",
                special_tokens=[(bos, bos_id)],
            ),
        ]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        pad_token=pad,
        unk_token=unk,
        padding_side="right",
        clean_up_tokenization_spaces=False,
        add_bos_token=True,
        add_eos_token=False,
    )
