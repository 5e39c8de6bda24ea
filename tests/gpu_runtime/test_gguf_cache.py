"""The GGUF → safetensors cache: where it lives, keyed by the file's hash, converted once,
nothing half-written when a conversion fails."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gpu_runtime import gguf_cache
from gpu_runtime.gguf_cache import cache_dir, converted, entry_path, is_complete
from reference.errors import ConfigError


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("DSI_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("DSI_CACHE_DIR")
    assert cache_dir() == tmp_path / "xdg" / "dsi-suite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "dsi-suite"


@pytest.fixture
def fake_convert(monkeypatch):
    """Replace the (30 s) transformers conversion by one that writes the entry's files."""
    calls: list[Path] = []

    def convert(gguf_path: Path, out: Path) -> None:
        calls.append(gguf_path)
        if gguf_path.read_bytes().startswith(b"broken"):
            (out / "config.json").write_text("{}")
            raise RuntimeError("conversion failed half-way")
        for name in gguf_cache.ENTRY_FILES:
            (out / name).write_text(name)

    monkeypatch.setattr(gguf_cache, "_convert", convert)
    return calls


def test_entry_is_keyed_by_the_files_hash_and_converted_once(tmp_path, fake_convert):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"weights v1")
    first = converted(model, root=tmp_path / "cache")
    assert first.name == "gguf-" + hashlib.sha256(b"weights v1").hexdigest()[:16]
    assert is_complete(first) and len(fake_convert) == 1
    assert converted(model, root=tmp_path / "cache") == first and len(fake_convert) == 1  # cached
    model.write_bytes(b"weights v2")  # same name, other content: another entry
    second = converted(model, root=tmp_path / "cache")
    assert second != first and len(fake_convert) == 2


def test_failed_conversion_leaves_nothing(tmp_path, fake_convert):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"broken file")
    root = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="half-way"):
        converted(model, root=root)
    assert list(root.iterdir()) == []  # no entry, no staging directory
    assert not entry_path(model, root=root).exists()


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no GGUF file"):
        converted(tmp_path / "absent.gguf", root=tmp_path)
