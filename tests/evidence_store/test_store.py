"""The write-once filesystem store: nothing is overwritten, objects are read-only, keys are
checked, and an unusable directory is a usage error."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from evidence_store.errors import ObjectExistsError, StoreError, UsageError
from evidence_store.store import FilesystemStore, SessionFolder, irregular_entries

KEY = "sessions/s-20261122T235911Z-1a2b3c4d/segments/000000.mp4"


@pytest.fixture
def store(tmp_path: Path) -> FilesystemStore:
    return FilesystemStore.open(tmp_path / "evidence", create=True)


def test_put_refuses_to_overwrite_and_the_original_is_unchanged(store: FilesystemStore) -> None:
    store.put_bytes(KEY, "bản gốc".encode())
    with pytest.raises(ObjectExistsError, match="already exists"):
        store.put_bytes(KEY, b"replacement")
    assert store.read_bytes(KEY) == "bản gốc".encode()
    assert store.list_keys("sessions/") == [KEY]  # no temp file left behind


def test_put_refuses_even_the_same_bytes_again(store: FilesystemStore) -> None:
    # Stricter than write-once alone (which accepts a retry of the same bytes): a writer of
    # sealed evidence always learns that another got there first.
    store.put_bytes(KEY, b"original")
    with pytest.raises(ObjectExistsError, match="already exists"):
        store.put_bytes(KEY, b"original")
    assert store.read_bytes(KEY) == b"original"


def test_a_write_never_touches_another_writers_temporary(store: FilesystemStore) -> None:
    # Temporaries are unique per write, not per process: a second thread writing the same key
    # neither fails on the first one's temporary nor deletes it from under it.
    target = store.path(KEY)
    target.parent.mkdir(parents=True)
    other = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    other.write_bytes(b"another writer, half way")
    store.put_bytes(KEY, b"data")
    assert store.read_bytes(KEY) == b"data"
    assert other.read_bytes() == b"another writer, half way"
    assert store.list_keys("sessions/") == [KEY]  # a write in progress is not listed


def test_put_file_refuses_to_overwrite(store: FilesystemStore) -> None:
    store.put_bytes(KEY, b"original")
    source = store.inflight_dir("sessions/x/") / "000000.mp4"
    source.write_bytes(b"replacement")
    with pytest.raises(ObjectExistsError):
        store.put_file(KEY, source)
    assert store.read_bytes(KEY) == b"original"
    assert source.read_bytes() == b"replacement"  # the refused file is kept, not lost


def test_objects_are_read_only(store: FilesystemStore) -> None:
    store.put_bytes(KEY, b"data")
    source = store.inflight_dir("sessions/x/") / "adopted"
    source.write_bytes(b"more")
    store.put_file("sessions/x/adopted", source)
    for key in (KEY, "sessions/x/adopted"):
        assert stat.S_IMODE(store.path(key).stat().st_mode) == 0o444


@pytest.mark.parametrize(
    "key",
    [
        "sessions/../../etc/passwd",
        "..",
        "sessions/./x",
        "/etc/passwd",
        "sessions//x",
        "sessions/x/",
        "",
        "sessions\\x",
    ],
)
def test_unsafe_keys_are_refused(store: FilesystemStore, key: str) -> None:
    with pytest.raises(StoreError, match="invalid object key"):
        store.put_bytes(key, b"data")
    with pytest.raises(StoreError, match="invalid object key"):
        store.read_bytes(key)
    assert not any(store.root.parent.rglob("passwd"))


def test_put_file_adopts_and_removes_the_source(store: FilesystemStore) -> None:
    source = store.inflight_dir("sessions/s/") / "000000.mp4"
    source.write_bytes(b"\x00\x00\x00\x18ftypiso6")
    store.put_file(KEY, source)
    assert not source.exists()
    assert store.read_bytes(KEY) == b"\x00\x00\x00\x18ftypiso6"
    assert store.list_keys("sessions/") == [KEY]


def test_a_store_under_a_regular_file_is_a_usage_error(tmp_path: Path) -> None:
    # Running as root ignores permission bits, so use a path that cannot be a directory.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot create data directory"):
        FilesystemStore.open(blocker / "evidence", create=True)
    with pytest.raises(UsageError, match="no evidence store"):
        FilesystemStore.open(blocker / "evidence", create=False)


def test_opening_a_missing_store_without_create_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no evidence store"):
        FilesystemStore.open(tmp_path / "nowhere", create=False)
    assert not (tmp_path / "nowhere").exists()


def test_what_is_not_a_file_or_directory_is_reported_never_followed(
    store: FilesystemStore, tmp_path: Path
) -> None:
    # Listing keeps to regular files (rglob + is_file); verification asks for the rest, so a
    # link (dangling, to a file, to a directory outside) or a pipe is tampering, not unseen.
    store.put_bytes(KEY, b"sealed")
    folder = store.root / "sessions" / "s-20261122T235911Z-1a2b3c4d"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "000001.mp4").write_bytes(b"cut")
    (folder / "segments" / "cut").symlink_to(outside)
    (folder / "segments" / "000009.mp4").symlink_to("/nonexistent")
    (folder / "segments" / "000001.mp4").symlink_to(outside / "000001.mp4")
    os.mkfifo(folder / "zz.mp4")
    prefix = "sessions/s-20261122T235911Z-1a2b3c4d/"
    expected = [
        (prefix + "segments/000001.mp4", "a symbolic link"),
        (prefix + "segments/000009.mp4", "a symbolic link"),
        (prefix + "segments/cut", "a symbolic link"),
        (prefix + "zz.mp4", "a named pipe (FIFO)"),
    ]
    assert irregular_entries(store, prefix) == expected
    assert irregular_entries(SessionFolder(folder), prefix) == expected
    assert not any(key.startswith(prefix + "segments/cut/") for key in store.list_keys(prefix))
