"""The one builder of export packages, for the console's export requests
(``web.exports.build``) and for ``sealroom export`` (``web.exports.cli``).

What to export is a whole session or a clip of the console's database (``clip-<id>``), and
either path builds the package the same way: the custody excerpt is the log's rows of the
session up to the export that may leave the office (``web.visibility.excerpt_rows``: no other
unit's rows, no refused accesses; ``evidence_store.export`` then keeps only who did what,
when and in which role), the export's own event is recorded after the build (it names the
package's digest), and the package is signed by this installation's key
(``DataDir.signer()``), under the installation's trust roots. Both run in the console's app
context: the excerpt needs its accounts and units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evidence_store import EvidenceReader, SealroomError, UsageError, layout
from evidence_store.custody import CustodyEntry, CustodyLog
from evidence_store.export import ExportedPackage, ExportSpec, build_package
from evidence_store.index import read_manifest
from evidence_store.installation import DataDir
from evidence_store.timestamping import token_verifier
from web.clips import proof_of
from web.evidence import console_settings
from web.extensions import db
from web.models import ROOT_UNIT, Clip
from web.visibility import excerpt_rows, unit_of

CLIP_PREFIX = "clip-"


@dataclass(frozen=True)
class Exporter:
    """The installation a package comes from: its data directory (trust roots and key), the
    evidence as it reads it (the local store, then the bucket), and its custody log."""

    data: DataDir
    reader: EvidenceReader
    custody: CustodyLog


def clip_ref(clip_id: int) -> str:
    """How a package, its custody event and the command line name a console clip."""
    return f"{CLIP_PREFIX}{clip_id}"


def clip_id_of(what: str) -> int | None:
    """The clip ``clip-<id>`` names; None when ``what`` does not name a clip."""
    if not what.startswith(CLIP_PREFIX):
        return None
    number = what.removeprefix(CLIP_PREFIX)
    if not (number.isascii() and number.isdigit()):
        raise UsageError(f"not a clip: {what!r} (expected clip-<number>, e.g. clip-12)")
    return int(number)


def session_spec(session_id: str) -> ExportSpec:
    """A whole session; a malformed id is refused before anything is read."""
    layout.check_session_id(session_id)
    return ExportSpec(session_id=session_id)


def clip_spec(clip_id: int) -> ExportSpec:
    """A clip of the console's database (call within the console's app context)."""
    clip = db.session.get(Clip, clip_id)
    if clip is None:
        raise UsageError(f"no clip {clip_ref(clip_id)} in the console database")
    return ExportSpec(
        session_id=clip.session_id,
        proof=proof_of(clip),
        title=clip.title,
        exhibit_number=clip.exhibit_number,
        clip_ref=clip_ref(clip.id),
    )


def build_export(
    source: Exporter,
    spec: ExportSpec,
    out: Path,
    *,
    exported_by: str,
    as_zip: bool,
    progress: Callable[[int], None] | None = None,
    extra_trust: Sequence[Path] = (),
) -> ExportedPackage:
    """Build, verify and place the package of ``spec`` at ``out`` (see
    ``evidence_store.export.build_package``); nothing is left behind on failure."""
    return build_package(
        source.reader,
        spec,
        source.data.trust(list(extra_trust)),
        out,
        custody=custody_for_export(source, spec.session_id),
        exported_by=exported_by,
        as_zip=as_zip,
        progress=progress,
        signer=source.data.signer(),  # this installation: the key of its custody log too
        tsa=token_verifier(source.data.settings),  # the root that checks its time-stamps
        timezone=console_settings().timezone,  # the seal sheets' zone: verify.py's local times
    )


def custody_for_export(source: Exporter, session_id: str) -> list[CustodyEntry]:
    """The session's custody rows that may leave the office in a package."""
    try:
        unit = unit_of(read_manifest(source.reader, session_id).metadata.unit)
    except (SealroomError, OSError):
        unit = ROOT_UNIT  # not sealed or unreadable: the build refuses it anyway
    return excerpt_rows(source.custody.entries(session_id=session_id), unit)
