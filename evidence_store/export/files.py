"""The file work of an export: staging, copying byte for byte, listing, zipping."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from evidence_store.bucket import LayeredStore
from evidence_store.durable import READ_ONLY, NameTaken, masked, publish_once
from evidence_store.errors import UsageError
from evidence_store.store import CHUNK, EvidenceReader, FilesystemStore, sha256_file

Progress = Callable[[int], None]
PACKAGE_SUMS = "PACKAGE-SHA256SUMS"
PACKAGE_SIG = "PACKAGE-SHA256SUMS.sig"  # the exporting installation's signature over the list


def check_destination(out: Path) -> None:
    """Refuse before any work: an export never overwrites or merges into anything."""
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out} already exists; choose a new path for the package")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a directory")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{out.parent} is not writable")


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A scratch directory beside ``out``; removed unless the caller moved it into place."""
    directory = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def local_file(reader: EvidenceReader, key: str) -> Path | None:
    """The file behind ``key`` when the reader is (or layers over) the local store."""
    if isinstance(reader, FilesystemStore):
        return reader.path(key) if reader.exists(key) else None
    if isinstance(reader, LayeredStore):
        return reader.local_path(key)
    return None


def copy_object(reader: EvidenceReader, key: str, target: Path, progress: Progress) -> None:
    """Copy one object byte for byte. The copy is verified afterwards, as a whole package,
    so nothing is hashed here: a local file is copied by the kernel, as ``cp`` would."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source = local_file(reader, key)
    if source is not None:
        shutil.copyfile(source, target)
        progress(target.stat().st_size)
        return
    with reader.open_read(key) as stream, target.open("xb") as sink:
        while chunk := stream.read(CHUNK):
            sink.write(chunk)
            progress(len(chunk))


def package_files(root: Path) -> list[str]:
    """Every file under ``root`` as a POSIX relative path, in byte order."""
    names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    return sorted(names, key=str.encode)


def write_package_sums(root: Path, known: dict[str, str]) -> str:
    """List every file but the list and its signature (``sha256sum -c`` form); returns the
    list's SHA-256.

    That digest names the package as a whole in the custody log. ``known`` holds digests
    already established (the sealed segments' digests, once the copy has verified), so the
    media is not read again.
    """
    lines = []
    for name in package_files(root):
        if name not in (PACKAGE_SUMS, PACKAGE_SIG):
            lines.append(f"{known.get(name) or sha256_file(root / name)[0]}  {name}\n")
    body = "".join(lines).encode("utf-8")
    (root / PACKAGE_SUMS).write_bytes(body)
    return hashlib.sha256(body).hexdigest()


def make_read_only(root: Path) -> None:
    """An export is a copy of sealed evidence: nothing in it is meant to be edited. (Read-only
    less the umask, as everything the installation creates: its owner's, where it is private.)"""
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(masked(READ_ONLY))


def zip_directory(root: Path, target: Path, top: str) -> None:
    """Store (not deflate) every file under ``top/``: MP4 does not compress, and stored
    entries keep the bytes visibly unchanged. The archive is read-only, like the files of a
    package, and never replaces a file that appeared at ``target`` while it was built."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        with zipfile.ZipFile(partial, "x", compression=zipfile.ZIP_STORED) as archive:
            for name in package_files(root):
                archive.write(root / name, f"{top}/{name}")
        publish_once(partial, target, mode=READ_ONLY)
    except NameTaken:
        raise UsageError(f"{target} already exists; choose a new path for the package") from None
    finally:
        partial.unlink(missing_ok=True)
