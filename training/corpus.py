"""Build the frozen documentation corpus that the bundled models are trained and tested on.

The corpus is real English technical prose, none of it written by us:

* **Python's own documentation** -- the ``pydoc_data.topics`` help texts (the language
  reference sections that ``help("assert")`` shows) and the docstrings of the standard
  library's public modules, classes, functions and methods (PSF licence). These are the only
  source of the validation and test splits.
* **Scientific Python docstrings** -- numpy, scipy, scikit-learn and matplotlib, as installed in
  the building environment (BSD-3-Clause / the PSF-based Matplotlib licence). These go to the
  training split only.

Recipe (all of it deterministic for a given set of installed packages and ``--seed``):

1. collect docstrings in child processes (one per source, so a module with import side effects
   can never touch the builder), skipping test packages, GUI toolkits and modules that do
   something when imported;
2. clean each text: :func:`inspect.cleandoc`, Unicode NFC, tabs expanded, trailing spaces
   removed, runs of blank lines squeezed to one; drop texts shorter than ``MIN_CHARS``;
3. deduplicate: exact duplicates (same text after lower-casing and squeezing whitespace) keep
   one copy; near duplicates (Jaccard similarity >= ``NEAR_DUP_JACCARD`` of word 5-gram sets,
   candidates found with MinHash/LSH and then verified exactly) are joined into clusters with
   union-find;
4. split by cluster: a whole cluster always lands in one split. Clusters made only of Python
   documentation and no longer than ``MAX_EVAL_CLUSTER_CHARS`` are eligible for evaluation;
   they are visited in the order of a seeded SHA-256 of the cluster key and fill the test split
   and then the validation split up to ``EVAL_FRACTION`` of the Python documentation's bytes
   each. Everything else is training data;
5. purge the evaluation splits of contained near duplicates: a validation or test document at
   least ``MAX_EVAL_CONTAINMENT`` of whose shingles occur somewhere in the (final) training
   split is dropped. Jaccard similarity misses these pairs: a pydoc topic that is one section of
   a longer topic (``topics/class`` inside ``topics/compound``), or a short docstring whose
   variant differs in a few words (``os.spawnve`` and ``os.spawnle``). The dropped documents
   are neither trained on nor evaluated; the manifest lists them;
6. freeze as ``docs/{train,validation,test}.jsonl.xz`` (one ``{"text", "source"}`` object per
   line) plus ``docs/manifest.json``.

Run it with::

    python -m training.corpus --out llmlab/data

The frozen files, not this script, are what the course uses: they make evaluation independent
of the Python version and package versions installed on a learner's machine.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import itertools
import json
import lzma
import os
import platform
import re
import subprocess
import sys
import tempfile
import unicodedata
import zlib
from pathlib import Path

#: Seed of the split assignment.
SEED = 20240601
#: Texts shorter than this (in characters, after cleaning) are dropped.
MIN_CHARS = 200
#: Word n-gram size of the shingles used for near-duplicate detection.
SHINGLE_N = 5
#: Two texts whose shingle sets have at least this Jaccard similarity are near duplicates.
NEAR_DUP_JACCARD = 0.8
#: An evaluation document with at least this share of its shingles in the training split is
#: a near duplicate of training text (contained in it), and is dropped from evaluation.
MAX_EVAL_CONTAINMENT = 0.8
#: MinHash signature size and LSH banding (bands * rows == permutations).
MINHASH_PERMUTATIONS = 128
LSH_BANDS = 32
#: Share of the Python documentation's bytes that goes to each of validation and test.
EVAL_FRACTION = 0.06
#: Clusters longer than this (in characters) stay in training, so no single text dominates an
#: evaluation split.
MAX_EVAL_CLUSTER_CHARS = 8000
#: Upper bound on the training split's size in UTF-8 bytes; scientific docstrings beyond it are
#: left out (the least-hashed first), Python's own documentation never is.
MAX_TRAIN_BYTES = 9_500_000

#: Where each collected source comes from and under which licence it is distributed.
SOURCES = {
    "python": {
        "description": "Python standard library docstrings and pydoc_data.topics help texts",
        "licence": "PSF-2.0 (Python Software Foundation License)",
        "url": "https://docs.python.org/3/license.html",
    },
    "numpy": {
        "description": "docstrings of numpy's public modules",
        "licence": "BSD-3-Clause",
        "url": "https://numpy.org/doc/stable/license.html",
    },
    "scipy": {
        "description": "docstrings of scipy's public modules",
        "licence": "BSD-3-Clause",
        "url": "https://github.com/scipy/scipy/blob/main/LICENSE.txt",
    },
    "sklearn": {
        "distribution": "scikit-learn",
        "description": "docstrings of scikit-learn's public modules",
        "licence": "BSD-3-Clause",
        "url": "https://github.com/scikit-learn/scikit-learn/blob/main/COPYING",
    },
    "matplotlib": {
        "description": "docstrings of matplotlib's public modules",
        "licence": "Matplotlib License (PSF-based, BSD-compatible)",
        "url": "https://matplotlib.org/stable/project/license.html",
    },
}

# Standard library modules that are never imported: GUI toolkits, the test suite, modules that
# print or open a browser when imported, and platform-specific ones.
_STDLIB_SKIP_TOP = {
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "lib2to3", "test",
    "pydoc_data", "ensurepip", "venv", "msilib", "winreg", "winsound", "msvcrt", "nt",
    "_winapi", "__hello__", "__phello__", "xxlimited", "xxlimited_35", "xxsubtype",
}
# Sub-packages of the scientific packages that are never imported.
_THIRD_PARTY_SKIP = ("tests", "test", "testing", "conftest", "setup", "externals", "backends",
                     "f2py", "_build_utils", "__main__", "sphinxext", "pylab")


# --------------------------------------------------------------------------------------------
# Collection (runs in a child process)
# --------------------------------------------------------------------------------------------

def _is_private(modname: str) -> bool:
    return any(part.startswith("_") for part in modname.split("."))


def _module_names(root: str, stdlib: bool) -> list[str]:
    """Public module names under ``root``, found on disk without importing anything."""
    import importlib.util
    import pkgutil

    names = [root]
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        return names
    max_depth = 8 if stdlib else 3

    def walk(paths, prefix, depth):
        for info in sorted(pkgutil.iter_modules(paths), key=lambda i: i.name):
            name = info.name
            if (name.startswith(("_", "test")) or name in _THIRD_PARTY_SKIP
                    or name.endswith("_test")):
                continue
            full = f"{prefix}.{name}"
            names.append(full)
            if info.ispkg and depth < max_depth:
                walk([os.path.join(info.module_finder.path, name)], full, depth + 1)

    walk(list(spec.submodule_search_locations), root, 1)
    return sorted(names)


def _owned(obj, modname: str, root: str) -> bool:
    """True when ``obj`` is defined by ``modname`` or by a private module of the same package."""
    owner = getattr(obj, "__module__", None)
    if not isinstance(owner, str):
        return False
    if owner == modname:
        return True
    if root == "python":
        return owner.startswith("_") or owner == "builtins" and modname == "builtins"
    return owner.split(".")[0] == modname.split(".")[0] and _is_private(owner)


def _own_doc(obj) -> str | None:
    if isinstance(obj, type):
        doc = vars(obj).get("__doc__")
    else:
        doc = getattr(obj, "__doc__", None)
    return doc if isinstance(doc, str) else None


def _member_doc(member) -> str | None:
    """Docstring of a class member (function, static/class method, property), else None."""
    try:
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property):
            member = member.fget
        if member is None or not callable(member):
            return None
        doc = getattr(member, "__doc__", None)
    except Exception:  # noqa: BLE001 - descriptors that refuse introspection
        return None
    return doc if isinstance(doc, str) and doc else None


def _collect_module(mod, modname: str, root: str, seen: set, out: list) -> None:
    doc = mod.__doc__ if isinstance(mod.__doc__, str) else None
    if doc:
        out.append({"source": f"{modname}", "text": doc})
    for name, obj in sorted(vars(mod).items()):
        try:
            wanted = (not name.startswith("_") and (inspect.isclass(obj) or callable(obj))
                      and _owned(obj, modname, root))
        except Exception:  # noqa: BLE001 - proxies and mocks that refuse introspection
            wanted = False
        if not wanted:
            continue
        key = (str(getattr(obj, "__module__", "")), str(getattr(obj, "__qualname__", name)))
        if key in seen:
            continue
        seen.add(key)
        qual = f"{modname}.{name}"
        doc = _own_doc(obj)
        if doc:
            out.append({"source": qual, "text": doc})
        if not isinstance(obj, type):
            continue
        for mname, member in sorted(vars(obj).items()):
            if mname.startswith("_") and mname != "__init__":
                continue
            mdoc = _member_doc(member)
            if mdoc:
                out.append({"source": f"{qual}.{mname}", "text": mdoc})


def _seed_numpy() -> None:
    """Make docstrings that some packages build by sampling at import time reproducible.

    scipy.stats, for one, fills the examples of its distribution classes with draws from an
    unseeded generator; seeding every unseeded generator of this child process fixes them.
    """
    import numpy as np

    original = np.random.default_rng

    def default_rng(seed=None):
        return original(0 if seed is None else seed)

    np.random.default_rng = default_rng
    np.random.seed(0)


def _collect_worker(group: str, out_path: str) -> None:
    """Import the modules of ``group`` and write their raw docstrings to ``out_path`` (JSON)."""
    import contextlib
    import importlib
    import io
    import signal
    import warnings

    warnings.simplefilter("ignore")
    os.environ.setdefault("MPLBACKEND", "Agg")
    docs: list[dict] = []
    seen: set = set()
    skipped: list[str] = []

    def _alarm(signum, frame):  # pragma: no cover - only on a hanging import
        raise TimeoutError

    signal.signal(signal.SIGALRM, _alarm)
    if group == "python":
        import pydoc_data.topics

        for name, text in sorted(pydoc_data.topics.topics.items()):
            docs.append({"source": f"topics/{name}", "text": text})
        roots = sorted(n for n in sys.stdlib_module_names
                       if not n.startswith("_") and n not in _STDLIB_SKIP_TOP)
        modnames = []
        for root in roots:
            modnames.extend(_module_names(root, stdlib=True))
    else:
        modnames = _module_names(group, stdlib=False)
        _seed_numpy()

    for modname in modnames:
        sink = io.StringIO()
        try:
            signal.alarm(20)
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                mod = importlib.import_module(modname)
        except BaseException as exc:  # any failing import (even SystemExit) is skipped
            if isinstance(exc, KeyboardInterrupt):
                raise
            skipped.append(f"{modname}: {type(exc).__name__}")
            continue
        finally:
            signal.alarm(0)
        before = len(docs)
        try:
            _collect_module(mod, modname, group, seen, docs)
        except Exception as exc:  # noqa: BLE001 - an odd object skips its module
            del docs[before:]
            skipped.append(f"{modname}: {type(exc).__name__} while collecting")
    prefix = "python/" if group == "python" else f"{group}/"
    for d in docs:
        d["source"] = prefix + d["source"]
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump({"docs": docs, "skipped": skipped, "modules": len(modnames)}, fh)


def collect(group: str) -> dict:
    """Collect raw docstrings of ``group`` ("python" or a package name) in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "docs.json")
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0", OMP_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", DISPLAY="",
                   HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--collect", group,
                        "--collect-out", out], check=True, env=env, cwd=tmp,
                       stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=1800)
        with open(out, encoding="utf-8") as fh:
            return json.load(fh)


# --------------------------------------------------------------------------------------------
# Cleaning and deduplication
# --------------------------------------------------------------------------------------------

def clean_text(text: str) -> str:
    """Dedent and lightly normalise one docstring (no rewording)."""
    text = inspect.cleandoc(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = unicodedata.normalize("NFC", text).expandtabs(4)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def normalise_for_dedupe(text: str) -> str:
    """Lower-case and squeeze all whitespace: the key of exact-duplicate detection."""
    return " ".join(text.lower().split())


_WORD = re.compile(r"\w+")


def shingles(text: str, n: int = SHINGLE_N) -> set[int]:
    """Set of CRC-32 hashes of the lower-cased word ``n``-grams of ``text``."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {zlib.crc32(" ".join(words).encode())}
    return {zlib.crc32(" ".join(words[i:i + n]).encode()) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def containment(a: set, pool: set) -> float:
    """Share of the shingles ``a`` that also occur in ``pool`` (0 for an empty ``a``)."""
    return len(a & pool) / len(a) if a else 0.0


def drop_contained(items: list[dict], train_shingles: set, *,
                   threshold: float = MAX_EVAL_CONTAINMENT) -> tuple[list[dict], list[dict]]:
    """Split ``items`` (dicts with a ``"text"``) into (kept, dropped) by containment.

    A document is dropped when at least ``threshold`` of its word-5-gram shingles occur in
    ``train_shingles`` (the union of the training split's shingles). Order is preserved.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    kept, dropped = [], []
    for d in items:
        share = containment(shingles(d["text"]), train_shingles)
        (dropped if share >= threshold else kept).append(d)
    return kept, dropped


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def near_duplicate_clusters(shingle_sets: list[set[int]], *, threshold: float = NEAR_DUP_JACCARD,
                            seed: int = SEED) -> list[int]:
    """Cluster id (smallest member index) of each text under Jaccard >= ``threshold``.

    MinHash signatures with LSH banding propose candidate pairs; each candidate pair is then
    verified with the exact Jaccard similarity, and verified pairs are merged with union-find.
    """
    import numpy as np

    prime = (1 << 61) - 1
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1 << 31, size=MINHASH_PERMUTATIONS, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, size=MINHASH_PERMUTATIONS, dtype=np.uint64)
    rows = MINHASH_PERMUTATIONS // LSH_BANDS
    buckets: dict[tuple, list[int]] = {}
    for idx, sh in enumerate(shingle_sets):
        x = np.fromiter(sh, dtype=np.uint64, count=len(sh))
        sig = np.empty(MINHASH_PERMUTATIONS, dtype=np.uint64)
        for start in range(0, len(x), 4096):
            chunk = x[start:start + 4096]
            part = ((a[:, None] * chunk[None, :] + b[:, None]) % prime).min(axis=1)
            sig = part if start == 0 else np.minimum(sig, part)
        for band in range(LSH_BANDS):
            key = (band, sig[band * rows:(band + 1) * rows].tobytes())
            buckets.setdefault(key, []).append(idx)
    pairs: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) < 2:
            continue
        if len(members) <= 60:
            pairs.update((members[i], members[j]) for i in range(len(members))
                         for j in range(i + 1, len(members)))
        else:  # a very crowded bucket: chain neighbours and compare all with the first
            pairs.update((members[0], m) for m in members[1:])
            pairs.update(itertools.pairwise(members))
    uf = _UnionFind(len(shingle_sets))
    for i, j in sorted(pairs):
        if uf.find(i) != uf.find(j) and jaccard(shingle_sets[i], shingle_sets[j]) >= threshold:
            uf.union(i, j)
    return [uf.find(i) for i in range(len(shingle_sets))]


def _stable_hash(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------

def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for group, info in SOURCES.items():
        if group != "python":
            out[group] = metadata.version(info.get("distribution", group))
    return out


def build(out_dir: str | Path, *, seed: int = SEED, log=print) -> dict:
    """Collect, clean, deduplicate, split and freeze the docs corpus; return the manifest."""
    out_dir = Path(out_dir) / "docs"
    out_dir.mkdir(parents=True, exist_ok=True)

    raw: list[dict] = []
    skipped_modules: dict[str, int] = {}
    for group in SOURCES:
        got = collect(group)
        log(f"[corpus] {group}: {got['modules']} modules, {len(got['docs'])} raw texts, "
            f"{len(got['skipped'])} modules skipped")
        skipped_modules[group] = len(got["skipped"])
        for d in got["docs"]:
            raw.append({"group": group, "source": d["source"], "text": clean_text(d["text"])})
    n_raw = len(raw)
    docs = [d for d in raw if len(d["text"]) >= MIN_CHARS]
    n_short = n_raw - len(docs)

    # Exact duplicates: keep the first copy, preferring Python's own docs (collected first).
    kept, seen_keys, n_exact = [], {}, 0
    for d in docs:
        key = hashlib.sha256(normalise_for_dedupe(d["text"]).encode()).hexdigest()
        if key in seen_keys:
            n_exact += 1
            continue
        seen_keys[key] = len(kept)
        kept.append(d)
    docs = kept
    log(f"[corpus] {n_raw} raw texts, {n_short} shorter than {MIN_CHARS} chars, "
        f"{n_exact} exact duplicates removed, {len(docs)} left")

    shingle_sets = [shingles(d["text"]) for d in docs]
    roots = near_duplicate_clusters(shingle_sets, seed=seed)
    clusters: dict[int, list[int]] = {}
    for i, r in enumerate(roots):
        clusters.setdefault(r, []).append(i)
    multi = [m for m in clusters.values() if len(m) > 1]
    log(f"[corpus] {len(clusters)} clusters; {len(multi)} near-duplicate clusters holding "
        f"{sum(len(m) for m in multi)} texts (largest {max((len(m) for m in multi), default=0)})")

    py_bytes = sum(len(d["text"].encode()) for d in docs if d["group"] == "python")
    target = EVAL_FRACTION * py_bytes
    split_of: dict[int, str] = {}
    sizes = {"test": 0, "validation": 0}
    order = sorted(clusters, key=lambda r: _stable_hash(min(docs[i]["source"]
                                                            for i in clusters[r]), seed))
    for r in order:
        members = clusters[r]
        nbytes = sum(len(docs[i]["text"].encode()) for i in members)
        eligible = (all(docs[i]["group"] == "python" for i in members)
                    and sum(len(docs[i]["text"]) for i in members) <= MAX_EVAL_CLUSTER_CHARS)
        split = "train"
        if eligible:
            for name in ("test", "validation"):
                if sizes[name] < target:
                    split, sizes[name] = name, sizes[name] + nbytes
                    break
        split_of[r] = split

    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for i, d in enumerate(docs):
        splits[split_of[roots[i]]].append(d)
    for items in splits.values():
        items.sort(key=lambda d: _stable_hash(d["source"] + "\0" + d["text"][:64], seed))

    # Cap the training split: drop scientific docstrings (in hash order) beyond the budget.
    train, total, n_capped = [], 0, 0
    for d in sorted(splits["train"], key=lambda d: (d["group"] != "python",
                                                    _stable_hash(d["source"], seed))):
        nbytes = len(d["text"].encode())
        if d["group"] != "python" and total + nbytes > MAX_TRAIN_BYTES:
            n_capped += 1
            continue
        total += nbytes
        train.append(d)
    keep = {id(d) for d in train}
    splits["train"] = [d for d in splits["train"] if id(d) in keep]
    purged = purge_contained(splits)
    log(f"[corpus] evaluation documents dropped as contained in training text: "
        f"{ {k: len(v) for k, v in purged.items()} }")

    versions = _versions()
    manifest: dict = {
        "name": "llmlab docs corpus",
        "built_with": {"python": versions["python"], "script": "training/corpus.py",
                       "seed": seed},
        "sources": {g: dict(SOURCES[g], version=versions[g]) for g in SOURCES},
        "recipe": {
            "min_chars": MIN_CHARS, "shingle": f"word {SHINGLE_N}-grams",
            "near_duplicate_jaccard": NEAR_DUP_JACCARD,
            "minhash_permutations": MINHASH_PERMUTATIONS, "lsh_bands": LSH_BANDS,
            "eval_fraction_each": EVAL_FRACTION, "max_eval_cluster_chars": MAX_EVAL_CLUSTER_CHARS,
            "max_train_bytes": MAX_TRAIN_BYTES, "max_eval_containment": MAX_EVAL_CONTAINMENT,
        },
        "dedupe": {
            "raw_texts": n_raw, "dropped_short": n_short, "exact_duplicates_removed": n_exact,
            "texts_after_exact_dedupe": len(docs), "clusters": len(clusters),
            "near_duplicate_clusters": len(multi),
            "texts_in_near_duplicate_clusters": sum(len(m) for m in multi),
            "largest_cluster": max((len(m) for m in multi), default=0),
            "cluster_size_counts": {str(k): v for k, v in sorted(
                {n: sum(len(m) == n for m in multi) for n in {len(m) for m in multi}}.items())},
            "largest_clusters": [sorted(docs[i]["source"] for i in m) for m in sorted(
                multi, key=lambda m: (-len(m), min(docs[i]["source"] for i in m)))[:5]],
            "mixed_source_clusters": sum(len({docs[i]["group"] for i in m}) > 1 for m in multi),
            "train_texts_dropped_by_size_cap": n_capped,
            "modules_skipped_on_import": skipped_modules,
            "eval_texts_dropped_as_contained": _purge_record(purged),
        },
        "splits": {},
    }
    for name, items in splits.items():
        manifest["splits"][name] = _freeze_split(out_dir, name, items)
        log(f"[corpus] {name}: {len(items)} documents, "
            f"{manifest['splits'][name]['text_bytes']} text bytes, "
            f"{manifest['splits'][name]['file_bytes']} file bytes")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def purge_contained(splits: dict, *, threshold: float = MAX_EVAL_CONTAINMENT) -> dict:
    """Drop contained near duplicates from ``splits["validation"]`` and ``splits["test"]``.

    ``splits`` maps split names to lists of ``{"text", "source", ...}`` dicts and is changed
    in place; returns ``{split: [dropped documents]}``.
    """
    pool: set = set()
    for d in splits["train"]:
        pool |= shingles(d["text"])
    dropped = {}
    for name in ("validation", "test"):
        splits[name], dropped[name] = drop_contained(splits[name], pool, threshold=threshold)
    return dropped


def _purge_record(dropped: dict) -> dict:
    return {name: {"documents": len(items),
                   "text_bytes": sum(len(d["text"].encode()) for d in items),
                   "sources": sorted(d["source"] for d in items)}
            for name, items in dropped.items()}


def _freeze_split(out_dir: Path, name: str, items: list[dict]) -> dict:
    """Write ``items`` as ``out_dir/<name>.jsonl.xz``; return its manifest entry."""
    path = out_dir / f"{name}.jsonl.xz"
    payload = "".join(json.dumps({"text": d["text"], "source": d["source"]},
                                 ensure_ascii=False) + "\n" for d in items).encode()
    path.write_bytes(lzma.compress(payload, preset=9))
    per_group: dict[str, dict] = {}
    for d in items:
        group = d.get("group") or d["source"].split("/", 1)[0]
        g = per_group.setdefault(group, {"documents": 0, "text_bytes": 0})
        g["documents"] += 1
        g["text_bytes"] += len(d["text"].encode())
    return {
        "file": f"docs/{path.name}",
        "documents": len(items),
        "text_bytes": sum(len(d["text"].encode()) for d in items),
        "file_bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "sha256_uncompressed": hashlib.sha256(payload).hexdigest(),
        "by_source": dict(sorted(per_group.items())),
    }


def repurge(data_dir: str | Path, *, log=print) -> dict:
    """Apply step 5 (the containment purge) to already frozen splits, without re-collecting.

    Reads ``data_dir/docs``, drops the contained evaluation documents, rewrites the validation
    and test files and updates ``manifest.json``. The training split is not touched, so models
    trained on it stay trained on exactly the frozen text. Returns the updated manifest.
    """
    out_dir = Path(data_dir) / "docs"
    manifest_path = out_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    splits = {}
    for name in ("train", "validation", "test"):
        raw = lzma.decompress((out_dir / f"{name}.jsonl.xz").read_bytes()).decode()
        splits[name] = [json.loads(line) for line in raw.splitlines() if line]
    purged = purge_contained(splits)
    log(f"[corpus] evaluation documents dropped as contained in training text: "
        f"{ {k: len(v) for k, v in purged.items()} }")
    previous = manifest["dedupe"].get("eval_texts_dropped_as_contained", {})
    record = _purge_record(purged)
    for name, rec in record.items():  # a second run drops nothing more: keep the first record
        old = previous.get(name, {"documents": 0, "text_bytes": 0, "sources": []})
        record[name] = {"documents": old["documents"] + rec["documents"],
                        "text_bytes": old["text_bytes"] + rec["text_bytes"],
                        "sources": sorted(old["sources"] + rec["sources"])}
    manifest["recipe"]["max_eval_containment"] = MAX_EVAL_CONTAINMENT
    manifest["dedupe"]["eval_texts_dropped_as_contained"] = record
    for name in ("validation", "test"):
        manifest["splits"][name] = _freeze_split(out_dir, name, splits[name])
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="llmlab/data", help="data folder (docs/ goes inside)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--repurge", action="store_true",
                        help="only re-apply the containment purge (step 5) to the frozen "
                             "validation and test splits in --out; collect nothing")
    parser.add_argument("--collect", help=argparse.SUPPRESS)
    parser.add_argument("--collect-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.collect:
        _collect_worker(args.collect, args.collect_out)
        return 0
    if args.repurge:
        repurge(args.out)
        return 0
    build(args.out, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
