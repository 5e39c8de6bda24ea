"""The GGUF → safetensors cache: where it lives, keyed by the file's hash, converted once,
nothing half-written when a conversion fails."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpu_runtime import gguf_cache
from gpu_runtime.gguf_cache import cache_dir, converted, entry_path, is_complete
from gpu_runtime.trained_drafter import read_weights
from properties.profiles import examples
from reference.errors import ConfigError, FileFormatError


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
    with pytest.raises(FileFormatError, match="half-way"):  # the reader's error, typed
        converted(model, root=root)
    assert list(root.iterdir()) == []  # no entry, no staging directory
    assert not entry_path(model, root=root).exists()


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no GGUF file"):
        converted(tmp_path / "absent.gguf", root=tmp_path)


@settings(max_examples=examples(15), deadline=None)
@given(blob=st.one_of(st.binary(max_size=64),
                      st.binary(max_size=48).map(lambda tail: b"GGUF\x03\x00\x00\x00" + tail)))
def test_a_corrupt_gguf_file_is_a_typed_error_and_leaves_no_entry(blob):
    """Truncated, foreign or garbage bytes (some with the GGUF magic and version): the real
    conversion (transformers' GGUF reader) fails with FileFormatError, and nothing is cached."""
    pytest.importorskip("gguf")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bad.gguf"
        path.write_bytes(blob)
        root = Path(tmp) / "cache"
        with pytest.raises(FileFormatError, match="cannot be converted"):
            converted(path, root=root)
        assert not root.exists() or list(root.iterdir()) == []  # no entry, no staging left


@settings(max_examples=examples(15), deadline=None)
@given(blob=st.binary(max_size=200))
def test_a_corrupt_trained_drafter_file_is_a_typed_error(blob):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drafter.safetensors"
        path.write_bytes(blob)
        with pytest.raises(ConfigError):  # FileFormatError, or "not a trained drafter file"
            read_weights(path)
