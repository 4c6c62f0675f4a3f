"""Durable files: a write-once name is never replaced (not by other bytes, not through a
symlink), files get exactly the mode asked for, and no temporary outlives a write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from evidence_store.durable import (
    PRIVATE,
    READ_ONLY,
    NameTaken,
    publish_once,
    replace_atomically,
    write_once,
)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def names_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("mode", [READ_ONLY, PRIVATE])
def test_write_once_creates_the_file_with_the_mode_asked(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "nested" / "hồ sơ.json"
    assert write_once(path, "bản gốc".encode(), mode=mode) is True
    assert path.read_bytes() == "bản gốc".encode()
    assert mode_of(path) == mode
    assert names_in(path.parent) == ["hồ sơ.json"]  # no temporary left


def test_an_existing_name_is_never_replaced_by_other_bytes(tmp_path: Path) -> None:
    path = tmp_path / "object"
    write_once(path, b"original", mode=READ_ONLY)
    inode = path.stat().st_ino
    with pytest.raises(NameTaken, match="never replaced"):
        write_once(path, b"replacement", mode=READ_ONLY)
    with pytest.raises(NameTaken):
        write_once(path, b"original plus more", mode=READ_ONLY)  # a prefix is not the same
    assert path.read_bytes() == b"original" and path.stat().st_ino == inode
    assert names_in(tmp_path) == ["object"]


def test_the_same_bytes_again_are_a_success_that_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "object"
    write_once(path, b"original", mode=READ_ONLY)
    inode = path.stat().st_ino
    assert write_once(path, b"original", mode=READ_ONLY) is False
    assert path.stat().st_ino == inode
    assert names_in(tmp_path) == ["object"]


def test_a_name_taken_by_a_symlink_is_not_written_through_even_to_the_same_bytes(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"original")
    before = mode_of(elsewhere)
    path = tmp_path / "object"
    path.symlink_to(elsewhere)
    with pytest.raises(NameTaken):  # the name would point at a file anyone may change
        write_once(path, b"original", mode=READ_ONLY)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(NameTaken):
        write_once(tmp_path / "dangling", b"original", mode=READ_ONLY)
    assert not (tmp_path / "nowhere").exists()
    assert path.is_symlink() and elsewhere.read_bytes() == b"original"
    assert mode_of(elsewhere) == before


def test_a_name_taken_by_a_directory_or_a_fifo_is_refused_without_waiting(
    tmp_path: Path,
) -> None:
    (tmp_path / "directory").mkdir()
    os.mkfifo(tmp_path / "fifo")  # opening it to compare must not wait for a writer
    for name in ("directory", "fifo"):
        with pytest.raises(NameTaken):
            write_once(tmp_path / name, b"", mode=READ_ONLY)
    assert names_in(tmp_path) == ["directory", "fifo"]


def test_publish_once_moves_the_file_into_place_with_its_mode(tmp_path: Path) -> None:
    source = tmp_path / "inflight" / "000000.mp4"
    source.parent.mkdir()
    source.write_bytes(b"segment")
    target = tmp_path / "segments" / "000000.mp4"
    publish_once(source, target, mode=READ_ONLY)
    assert target.read_bytes() == b"segment" and mode_of(target) == READ_ONLY
    assert not source.exists()


def test_publish_once_refuses_any_existing_name_and_keeps_the_source(tmp_path: Path) -> None:
    target = tmp_path / "000000.mp4"
    target.write_bytes(b"segment")
    source = tmp_path / "incoming.mp4"
    source.write_bytes(b"segment")  # the same bytes: still refused, the name is taken
    with pytest.raises(NameTaken):
        publish_once(source, target, mode=READ_ONLY)
    assert source.read_bytes() == b"segment" and target.read_bytes() == b"segment"
    assert not os.path.samefile(source, target)


def test_replace_atomically_replaces_with_the_mode_asked(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"v": 0}', encoding="utf-8")
    path.chmod(0o644)
    replace_atomically(path, b'{"v": 1}', mode=PRIVATE)
    assert path.read_bytes() == b'{"v": 1}' and mode_of(path) == PRIVATE
    assert names_in(tmp_path) == ["state.json"]


def test_a_failed_replace_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    taken = tmp_path / "state.json"
    taken.mkdir()  # a rename over a directory fails after the temporary was written
    (taken / "kept").write_bytes(b"kept")
    with pytest.raises(IsADirectoryError):
        replace_atomically(taken, b"{}", mode=PRIVATE)
    assert names_in(tmp_path) == ["state.json"] and (taken / "kept").read_bytes() == b"kept"
