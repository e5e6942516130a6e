"""A compressor as a language model: the bits-per-byte baseline of the docs test split.

Any compressor is a language model in disguise: a text it can predict well costs few bits.
Given the training text as "memory", the extra bytes that xz (LZMA, preset
``9 | PRESET_EXTREME``) needs for the test text, times 8, divided by the test text's UTF-8
bytes, is directly comparable with a model's bits per byte
(:attr:`llmlab.perplexity` ``.bits_per_byte``). A neural model worth its parameters should beat
it.

Run it with::

    python -m training.xz_baseline

Texts are joined with a blank line (``"\\n\\n"``) before compressing. LZMA's dictionary at
preset 9 is 64 MiB, larger than the training split, so the whole training text is in reach.
"""

from __future__ import annotations

import argparse
import lzma
import sys

#: The xz settings of the baseline.
PRESET = 9 | lzma.PRESET_EXTREME
#: What the texts of one split are joined with before compressing.
SEPARATOR = "\n\n"


def _compressed_size(data: bytes) -> int:
    return len(lzma.compress(data, format=lzma.FORMAT_XZ, preset=PRESET))


def xz_bits_per_byte(train_texts: list[str], test_texts: list[str]) -> float:
    """Bits per byte of ``test_texts`` under xz, given ``train_texts`` as context.

    ``(size(xz(train + test)) - size(xz(train))) * 8 / bytes(test)``, where ``+`` joins the
    texts with :data:`SEPARATOR` and sizes are in bytes.

    Parameters
    ----------
    train_texts : list of str
        The text the compressor has "seen" first (may be empty).
    test_texts : list of str
        The text whose cost is measured; must hold at least one byte.

    Returns
    -------
    float
        Bits per UTF-8 byte of the test text.

    Raises
    ------
    ValueError
        If the test text is empty.

    Examples
    --------
    >>> from training.xz_baseline import xz_bits_per_byte
    >>> train = ["the cat sat on the mat"] * 50
    >>> bpb_seen = xz_bits_per_byte(train, ["the cat sat on the mat"] * 5)
    >>> bpb_new = xz_bits_per_byte(train, ["qzx vwk jpl fhg brt dmn"] * 5)
    >>> bpb_seen < bpb_new
    True
    """
    test = SEPARATOR.join(test_texts).encode("utf-8")
    if not test:
        raise ValueError("test_texts must hold at least one byte of text; got none.")
    train = SEPARATOR.join(train_texts).encode("utf-8")
    if train:
        joined = train + SEPARATOR.encode("utf-8") + test
        extra = _compressed_size(joined) - _compressed_size(train)
    else:
        extra = _compressed_size(test)
    return extra * 8 / len(test)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="xz bits per byte of the bundled docs split")
    parser.add_argument("--split", default="test", choices=("validation", "test"))
    parser.add_argument("--no-train", action="store_true",
                        help="compress the split alone, without the training text as context")
    args = parser.parse_args(argv)
    from llmlab.datasets import load_docs

    train = [] if args.no_train else load_docs("train")
    test = load_docs(args.split)
    bpb = xz_bits_per_byte(train, test)
    context = "no context" if args.no_train else "given the training split"
    print(f"xz (preset 9|extreme) bits per byte on docs/{args.split}, {context}: {bpb:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
