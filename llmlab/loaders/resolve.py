"""Resolve a model name: a bundled name, a local folder, a GGUF file or a hub id.

Also reads a folder's or hub id's ``config.json`` and says, before any weights are looked
for, whether it is a causal language model at all.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from importlib import resources
from pathlib import Path

from llmlab.gguf import find_gguf

__all__ = ["list_bundled_models", "resolve_model_path", "read_config", "hub_error"]


def _models_root() -> Path:
    return Path(str(resources.files("llmlab") / "models"))


def list_bundled_models() -> list[str]:
    """Return the names of the models that ship inside the package, sorted.

    Examples
    --------
    >>> import llmlab
    >>> "tiny-llama" in llmlab.list_bundled_models()  # doctest: +SKIP
    True
    """
    root = _models_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def _offline() -> bool:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}:
            return True
    return False


_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def _looks_like_path(name: str) -> bool:
    """A hub id is ``name`` or ``org/name``; anything else is meant as a path."""
    return not _HUB_ID.match(name) or name.startswith((".", "~"))


def _known(bundled, name=None) -> str:
    text = ", ".join(bundled) or "none"
    close = difflib.get_close_matches(name, bundled, n=1) if name else []
    return text + (f" (did you mean {close[0]!r}?)" if close else "")


def resolve_model_path(name_or_path: str | os.PathLike) -> str:
    """Resolve a bundled name, a local folder or a hub id.

    Returns the local folder for a bundled name or a folder, the ``.gguf`` file for a GGUF
    file or a folder (without ``config.json``) holding exactly one, and the id itself for a
    hub id.

    Raises
    ------
    TypeError
        If ``name_or_path`` is not a string or path.
    ValueError
        For an empty name, or a hub id while offline.
    FileNotFoundError
        For a path that does not exist, or a folder without ``config.json`` nor ``.gguf``.
    llmlab.gguf.GGUFError
        For a folder holding several ``.gguf`` files (they are listed).
    """
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str):
        raise TypeError(
            f"name_or_path must be a bundled model name, a folder or a hub id (str), "
            f"got {type(name_or_path).__name__}"
        )
    name = name_or_path.strip()
    if not name:
        raise ValueError(
            f"name_or_path is empty; bundled models are: {_known(list_bundled_models())}"
        )
    bundled = list_bundled_models()
    if name in bundled:
        return str(_models_root() / name)
    expanded = os.path.expanduser(name)
    if os.path.exists(expanded):
        return _local(name, expanded)
    if _looks_like_path(name):
        raise FileNotFoundError(
            f"model folder {name!r} does not exist; bundled models are: "
            f"{_known(bundled, os.path.basename(name.rstrip('/')))}"
        )
    # A hub id ("org/name" or "name").
    if _offline():
        raise ValueError(
            f"{name!r} is not a bundled model (bundled models: {_known(bundled, name)}) nor a "
            f"local folder, and the Hugging Face hub is offline here (HF_HUB_OFFLINE or "
            f"TRANSFORMERS_OFFLINE is set), so it cannot be downloaded as a hub id. Use a "
            f"bundled model or a local folder."
        )
    return name


def _local(name: str, expanded: str) -> str:
    """An existing path: its GGUF file, or a folder holding ``config.json``."""
    gguf_file = find_gguf(expanded)
    if gguf_file is not None:
        return gguf_file
    if not os.path.isdir(expanded):
        raise FileNotFoundError(
            f"{name!r} is a file, not a model folder nor a GGUF file; pass the folder that "
            f"holds config.json, or a .gguf file"
        )
    if not os.path.isfile(os.path.join(expanded, "config.json")):
        raise FileNotFoundError(
            f"folder {name!r} holds no config.json, so it is not a Hugging Face model folder "
            f"(save one with model.save_pretrained(folder)), and no .gguf file either"
        )
    return expanded


def hub_error(name: str, exc: Exception) -> Exception:
    """An OSError for a hub id that could not be fetched, pointing at the bundled models."""
    return OSError(
        f"could not load {name!r} from the Hugging Face hub ({exc.__class__.__name__}: "
        f"{str(exc).splitlines()[0] if str(exc) else ''}). If this machine is offline, use a "
        f"bundled model ({', '.join(list_bundled_models()) or 'none'}) or a local folder."
    )


def read_config(path: str):
    """Return the transformers config of a local folder or hub id, checking it is a causal LM.

    A local folder's ``config.json`` is checked before transformers parses it, so a folder
    of another kind of model (even one without weights) gets an error naming its type.

    Raises
    ------
    ValueError
        For a ``config.json`` that is not JSON, or a model that is not a causal LM.
    OSError
        For a hub id that cannot be fetched.
    """
    from transformers import AutoConfig

    if os.path.isdir(path):
        with open(os.path.join(path, "config.json"), encoding="utf-8") as fh:
            try:
                raw = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ValueError(f"config.json in {path!r} is not valid JSON: {exc}") from None
        check_causal(
            raw.get("model_type"), raw.get("architectures"), raw.get("is_decoder"), where=path
        )
    try:
        config = AutoConfig.from_pretrained(path)
    except OSError as exc:
        raise hub_error(path, exc) from None
    check_causal(
        config.model_type,
        getattr(config, "architectures", None),
        getattr(config, "is_decoder", None),
        where=path,
    )
    return config


def check_causal(model_type, architectures, is_decoder, *, where: str) -> None:
    """Raise ValueError naming ``model_type`` unless the config describes a causal LM.

    A type transformers has no causal-LM class for is refused. Encoder and encoder-decoder
    types (bert, roberta, bart, ...) also have a causal-LM class in transformers, for their
    decoder use; their config is taken as a causal LM only when its ``architectures`` name a
    causal-LM class or it sets ``is_decoder``, as transformers' own decoder classes need.
    """
    from transformers.models.auto import modeling_auto as auto

    causal_types = auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    listed = list(architectures or [])
    archs = ", ".join(listed) or "no architectures listed"
    tail = "; llmlab evaluates causal LMs such as Llama and Mistral"
    if model_type is None:
        raise ValueError(
            f"the config.json of {where!r} has no model_type, so it names no architecture "
            f"transformers can build{tail}"
        )
    if model_type not in causal_types:
        raise ValueError(
            f"{model_type} is not a causal language model: the model in {where!r} "
            f"(model_type={model_type!r}, {archs}) has no causal-LM class in transformers{tail}"
        )
    causal_classes = set(causal_types.values())
    if listed and not any(
        a in causal_classes or a.endswith(("ForCausalLM", "LMHeadModel")) for a in listed
    ):
        raise ValueError(
            f"{model_type} is not a causal language model: the checkpoint in {where!r} "
            f"(model_type={model_type!r}, {archs}) is not one of its causal-LM classes{tail}"
        )
    other_uses = set(auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES) | set(
        auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES
    )
    if not listed and model_type in other_uses and not is_decoder:
        raise ValueError(
            f"{model_type} is not a causal language model: the model in {where!r} "
            f"(model_type={model_type!r}, {archs}) is an encoder or encoder-decoder type, and "
            f"its config.json neither names a causal-LM architecture nor sets is_decoder{tail}"
        )
