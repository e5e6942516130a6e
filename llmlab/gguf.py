"""Read a GGUF file's header and say, before loading, whether transformers can load it.

GGUF (llama.cpp's single-file format) holds a model's hyper-parameters, its tokenizer and its
tensors, most often quantized (``Q8_0``, ``Q4_K``, ...). :func:`llmlab.load_model` hands the
file to transformers, which dequantizes every tensor to a floating-point dtype. Transformers'
own failures on a bad file are deep tracebacks, so this module reads the header first (with
nothing but :mod:`struct`) and turns each problem into an error that names the file and what
to do:

* not a GGUF file (the first four bytes are not ``GGUF``);
* a truncated file (the header, or the tensor data it announces, runs past the end);
* an architecture transformers cannot load from GGUF (it is named, the supported ones listed);
* a tensor type transformers (through the ``gguf`` package) cannot dequantize.

:func:`read_gguf_header` returns a :class:`GGUFInfo`; :func:`find_gguf` resolves a file or
a folder holding exactly one ``.gguf`` file. Loading the file is the loaders' job
(:mod:`llmlab.loaders.from_gguf`); this module imports nothing from llmlab.
"""

from __future__ import annotations

import functools
import os
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "GGUFError",
    "GGUFFootprint",
    "GGUFInfo",
    "check_loadable",
    "dequantizable_types",
    "find_gguf",
    "is_gguf_file",
    "read_gguf_header",
    "supported_architectures",
]

MAGIC = b"GGUF"

#: ``general.file_type`` values (llama.cpp's ``llama_ftype``) and the names people use.
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4",
}

# Scalar value types of the GGUF key-value section: struct format per type id.
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
#: Arrays longer than this (token lists, merges) are kept as their length only.
_KEEP_ARRAY = 64


class GGUFError(ValueError):
    """A file that is not a loadable GGUF model; the message names the file and the fix."""


@dataclass
class GGUFInfo:
    """What a GGUF file's header says.

    Attributes
    ----------
    path : str
        The file.
    version : int
        GGUF format version (2 or 3).
    architecture : str
        ``general.architecture`` (``"llama"`` for Llama and Mistral files).
    name : str or None
        ``general.name``.
    file_type : str or None
        The quantization the file declares (``general.file_type``), e.g. ``"Q8_0"``,
        ``"Q4_K_M"`` or ``"F32"``; None if the file does not say.
    tensor_types : dict of {str: int}
        How many tensors are stored in each GGML type, e.g. ``{"Q8_0": 28, "F32": 9}``.
    n_tensors : int
        Number of tensors.
    n_bytes : int
        Size of the file in bytes.
    metadata : dict
        The key-value section; arrays longer than 64 items are replaced by their length.
    """

    path: str
    version: int
    architecture: str
    name: str | None
    file_type: str | None
    tensor_types: dict = field(default_factory=dict)
    n_tensors: int = 0
    n_bytes: int = 0
    metadata: dict = field(default_factory=dict)

    @property
    def quantization(self) -> str:
        """The file's quantization: ``file_type`` if declared, else the commonest tensor type."""
        if self.file_type:
            return self.file_type
        if not self.tensor_types:
            return "unknown"
        return max(self.tensor_types.items(), key=lambda kv: kv[1])[0]


def is_gguf_file(path) -> bool:
    """True if ``path`` is a file whose first four bytes are ``GGUF``."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == MAGIC
    except OSError:
        return False


def find_gguf(path) -> str | None:
    """Return the GGUF file that ``path`` names, or None if it names no GGUF at all.

    ``path`` may be a ``.gguf`` file (or any file starting with the GGUF magic), or a folder
    without ``config.json`` that holds exactly one ``.gguf`` file.

    Raises
    ------
    GGUFError
        For a file named ``*.gguf`` that is not one, or a folder with several ``.gguf`` files.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        if path.lower().endswith(".gguf") or is_gguf_file(path):
            return path
        return None
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "config.json")):
        found = sorted(p.name for p in Path(path).iterdir() if p.suffix.lower() == ".gguf")
        if len(found) > 1:
            raise GGUFError(
                f"folder {path!r} holds {len(found)} GGUF files ({', '.join(found)}); pass the "
                f"one to load, e.g. {os.path.join(path, found[0])!r}"
            )
        if found:
            return os.path.join(path, found[0])
    return None


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, fh):
        self.fh = fh

    def take(self, n):
        data = self.fh.read(n)
        if len(data) != n:
            raise _Truncated
        return data

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        return self.take(self.unpack("<Q")).decode("utf-8", errors="replace")

    def value(self, vtype):
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype, count = self.unpack("<I"), self.unpack("<Q")
            if itype in _SCALARS and itype != 7 and count > _KEEP_ARRAY:
                self.take(count * struct.calcsize(_SCALARS[itype]))  # skip, checking the length
                return f"<array of {count}>"
            items = [self.value(itype) for _ in range(count)]
            return items if count <= _KEEP_ARRAY else f"<array of {count}>"
        raise GGUFError(f"unknown GGUF value type {vtype}")


def _ggml_type_name(code: int) -> str:
    try:
        import gguf

        return gguf.GGMLQuantizationType(code).name
    except (ImportError, ValueError):
        return f"type {code}"


def _tensor_bytes(code: int, dims) -> int | None:
    try:
        import gguf

        block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(code)]
    except (ImportError, ValueError, KeyError):
        return None
    n = 1
    for d in dims:
        n *= int(d)
    return n // block * size


def read_gguf_header(path) -> GGUFInfo:
    """Read and check a GGUF file's header and tensor table (no tensor data is loaded).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.gguf`` file.

    Returns
    -------
    GGUFInfo

    Raises
    ------
    GGUFError
        If the file is not a GGUF file (bad magic), uses an unknown version, or is
        truncated (its header or announced tensor data run past the end of the file).
    FileNotFoundError
        If there is no such file.

    Examples
    --------
    >>> from llmlab.gguf import read_gguf_header
    >>> info = read_gguf_header("tiny-llama-q8_0.gguf")  # doctest: +SKIP
    >>> info.architecture, info.quantization  # doctest: +SKIP
    ('llama', 'Q8_0')
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        reader = _Reader(fh)
        magic = fh.read(4)
        if magic != MAGIC:
            raise GGUFError(
                f"{path!r} is not a GGUF file: it starts with {magic!r}, not b'GGUF'. Pass a .gguf "
                f"file as llama.cpp's converter writes it (or a model folder with config.json)"
            )
        try:
            version = reader.unpack("<I")
            if version not in (2, 3):
                raise GGUFError(
                    f"{path!r} is GGUF version {version}; versions 2 and 3 can be read. Re-export "
                    f"it with a current llama.cpp or gguf package"
                )
            n_tensors, n_kv = reader.unpack("<Q"), reader.unpack("<Q")
            if n_kv > size or n_tensors > size:
                raise _Truncated
            metadata = {}
            for _ in range(n_kv):
                key = reader.string()
                metadata[key] = reader.value(reader.unpack("<I"))
            tensors = []
            for _ in range(n_tensors):
                name = reader.string()
                n_dims = reader.unpack("<I")
                if n_dims > 8:
                    raise GGUFError(f"{path!r}: tensor {name!r} claims {n_dims} dimensions")
                dims = [reader.unpack("<Q") for _ in range(n_dims)]
                tensors.append((name, dims, reader.unpack("<I"), reader.unpack("<Q")))
        except _Truncated:
            raise GGUFError(
                f"{path!r} is truncated: its GGUF header ends early ({size} bytes in all). The "
                f"download or copy was probably cut off; fetch or export the file again"
            ) from None
        header_end = fh.tell()
    alignment = int(metadata.get("general.alignment", 32) or 32)
    data_start = -(-header_end // alignment) * alignment
    needed = data_start
    types: Counter = Counter()
    for name, dims, code, offset in tensors:
        types[_ggml_type_name(code)] += 1
        nbytes = _tensor_bytes(code, dims)
        if nbytes is not None:
            needed = max(needed, data_start + offset + nbytes)
    if needed > size:
        raise GGUFError(
            f"{path!r} is truncated: its tensors need {needed} bytes but the file has {size} "
            f"({needed - size} missing). The download or copy was probably cut off; fetch or "
            f"export the file again"
        )
    file_type = metadata.get("general.file_type")
    return GGUFInfo(
        path=path,
        version=version,
        architecture=str(metadata.get("general.architecture", "unknown")),
        name=metadata.get("general.name"),
        file_type=FILE_TYPES.get(file_type, f"file_type {file_type}")
        if file_type is not None
        else None,
        tensor_types=dict(sorted(types.items())),
        n_tensors=len(tensors),
        n_bytes=size,
        metadata=metadata,
    )


def supported_architectures() -> list[str]:
    """GGUF architectures (``general.architecture``) the installed transformers can load."""
    names: set[str] = set()
    try:
        from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

        names.update(GGUF_SUPPORTED_ARCHITECTURES)
    except ImportError:  # pragma: no cover - depends on the transformers version
        pass
    try:
        from transformers.integrations.gguf import GGUF_ARCHS

        names.update(GGUF_ARCHS)
    except ImportError:  # pragma: no cover - older transformers
        pass
    names -= {"general", "tokenizer"}
    return sorted(names)


@functools.lru_cache(maxsize=1)
def dequantizable_types() -> frozenset:
    """GGML tensor types the installed ``gguf`` package can dequantize (probed on one block)."""
    import gguf
    import numpy as np

    ok = set()
    for qtype, (block, size) in gguf.GGML_QUANT_SIZES.items():
        raw = np.zeros((1, size * (256 // block)), dtype=np.uint8)
        try:
            gguf.quants.dequantize(raw, qtype)
        except (NotImplementedError, ValueError, TypeError):
            pass  # no dequantizer (or one that fails on a zero block): not loadable here
        else:
            ok.add(qtype.name)
    return frozenset(ok)


def check_loadable(info: GGUFInfo) -> None:
    """Raise :class:`GGUFError` if transformers cannot load this file (architecture, types)."""
    supported = supported_architectures()

    def norm(name):  # files spell "qwen2moe" or "gpt-oss" where transformers says qwen2_moe
        return name.replace("_", "").replace("-", "").lower()

    if norm(info.architecture) not in {norm(name) for name in supported}:
        raise GGUFError(
            f"{info.path!r} holds a {info.architecture!r} model, an architecture the installed "
            f"transformers cannot load from GGUF. Supported architectures: {', '.join(supported)}. "
            f"Use the model's Hugging Face folder instead, or run the file with llama.cpp"
        )
    ok = dequantizable_types()
    bad = sorted(t for t in info.tensor_types if t not in ok)
    if bad:
        raise GGUFError(
            f"{info.path!r} stores tensors as {', '.join(bad)}, a quantization type that cannot "
            f"be dequantized here (gguf package). Types that can: {', '.join(sorted(ok))}. Use a "
            f"file quantized as one of those (for example Q8_0 or Q4_K_M)"
        )


class GGUFFootprint(int):
    """The in-memory bytes of a model loaded from GGUF (an ``int``), with what it came from.

    :func:`llmlab.memory_footprint` returns one for a model loaded from a GGUF file.

    Attributes
    ----------
    dequantized : bool
        Always True: transformers holds a GGUF's weights dequantized.
    file_quantization : str
        The file's quantization type from its header (e.g. ``"Q8_0"``).
    file_bytes : int
        Size of the GGUF file.
    note : str
        One sentence saying the above.
    """

    def __new__(cls, value, *, file_quantization, file_bytes, dtype):
        obj = super().__new__(cls, value)
        obj.dequantized = True
        obj.file_quantization = file_quantization
        obj.file_bytes = int(file_bytes)
        held = f"dequantized to {dtype}"
        if dtype in ("8bit", "4bit"):  # bitsandbytes on top of the dequantized weights
            held = f"dequantized, then quantized by bitsandbytes to {dtype}"
        obj.note = (
            f"{int(value)} bytes in memory, {held}, from a {file_quantization} GGUF file of "
            f"{int(file_bytes)} bytes"
        )
        return obj
