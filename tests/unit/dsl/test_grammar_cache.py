"""Lark's cache of the built rule parser is a pickle: it lives only where this user alone can
write (issue #15 start-up; never lark's default, a predictable name in the shared /tmp)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lark import Lark

from dsl import grammar


def test_the_cache_is_in_the_users_own_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = grammar.cache_file()
    assert isinstance(path, str)
    assert Path(path).parent == tmp_path / "cache" / "dibs"
    assert Path(path).parent.stat().st_mode & 0o777 == 0o700


def test_a_directory_others_can_write_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dibs").mkdir()
    os.chmod(tmp_path / "dibs", 0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert grammar.cache_file() is False


def test_no_cache_directory_means_building_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # not a directory
    assert grammar.cache_file() is False


def test_the_cached_parser_parses_like_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = 'when new order if total > 10 and channel == "web" then allocate'
    options = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": False}
    source = grammar.GRAMMAR.read_text(encoding="utf-8")
    cache = grammar.cache_file()
    assert isinstance(cache, str)
    written = Lark(source, cache=cache, **options)  # builds and writes the file
    assert Path(cache).is_file()
    loaded = Lark(source, cache=cache, **options)  # loads it
    assert loaded.parse(text) == written.parse(text) == Lark(source, **options).parse(text)
