"""The evidence documents: chain links, events, segment references and the sealed manifest.

Every model is frozen and forbids unknown fields, so a document that parses is exactly one of
these shapes. ``to_document`` gives the plain dict whose canonical JSON is hashed and signed.

``parse`` is the one way to read a stored document (``Link.parse``, ``Manifest.parse``): the
bytes must be canonical JSON, valid without any conversion (strict), and exactly the bytes
the parsed model writes back. So nothing is quietly repaired on reading: no whitespace
trimmed, no default filled in for a field left out, no null dropped, no text made a number.
Anything else is a TamperedError naming the document and the first field at fault.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from evidence_store.canonical import (
    ABSENT,
    Difference,
    canonical_json,
    first_difference,
    parse_canonical,
)
from evidence_store.errors import Reason, TamperedError
from evidence_store.timefmt import TIMESTAMP_PATTERN, parse_utc

FORMAT_VERSION: Literal[1] = 1

# Characters that may not appear in metadata text: C0 and C1 controls (newline, tab, DEL and
# the rest), the Unicode line and paragraph separators, and the format characters (category
# Cf: bidirectional overrides, isolates and marks, zero-width spaces and joiners), which are
# invisible and make text display other than it is stored.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_CHARACTER_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}
# Set by ``parse`` (and other readers of stored documents): what was sealed is read as it was
# sealed, so a session sealed before the rule existed still verifies.
STORED = "stored"


def control_character(text: str) -> str | None:
    """The first character of ``text`` that metadata may not hold, or None."""
    for character in text:
        if unicodedata.category(character) in _REFUSED_CATEGORIES:
            return character
    return None


def spelled_out(text: str) -> str:
    """``text`` with every character ``control_character`` finds written out as an escape
    (``\\n``, ``\\t``, ``\\u2028``...): how text from a session sealed before the rule is shown,
    so it can neither break a line nor pass for other text."""
    if control_character(text) is None:
        return text
    escapes = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return "".join(
        escapes.get(c) or (f"\\u{ord(c):04x}" if control_character(c) else c) for c in text
    )


def plain_text_problem(text: str) -> str | None:
    """Why ``text`` cannot be metadata (one line a person can act on), or None when it can.

    The one rule for every text field of a session and of the console (case number, room,
    names, titles, exhibit numbers, reasons, ...): one line, no control characters."""
    character = control_character(text)
    if character is None:
        return None
    code = f"U+{ord(character):04X}"
    what = _CHARACTER_NAMES.get(character)
    what = f"{what} ({code})" if what else f"the control character {code}"
    return f"contains {what}: write it on one line, without control characters"


def _plain_text(value: Any, info: ValidationInfo) -> Any:
    # Before trimming: a trailing line break is refused, not quietly stripped away.
    if not isinstance(value, str) or (isinstance(info.context, dict) and info.context.get(STORED)):
        return value
    problem = plain_text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def stored(**values: Any) -> dict[str, Any]:
    """Validation context for documents read back from storage (see ``STORED``)."""
    return {STORED: True, **values}


def _real_time(text: str) -> str:
    parse_utc(text)  # a real calendar time, not just the right digits
    return text


Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Timestamp = Annotated[str, StringConstraints(pattern=TIMESTAMP_PATTERN), AfterValidator(_real_time)]
Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, strip_whitespace=True),
    BeforeValidator(_plain_text),
]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    BeforeValidator(_plain_text),
]
SessionId = Annotated[str, StringConstraints(pattern=r"^s-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$")]

GENESIS_PREV = "0" * 64
# Whole numbers in links stay below 10^18 (31,000 years of microseconds, an exabyte), so that
# a shell's 64-bit arithmetic can check a chain by hand (format section 3).
COUNT_LIMIT = 10**18
# A track of a passthrough session: "cam1", "cam2", ... and "sound". It names a directory.
TrackId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,15}$")]
Count = Annotated[int, Field(ge=0, lt=COUNT_LIMIT)]


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    noun: ClassVar[str] = "document"  # what a failure calls it: "malformed link: ..."

    def to_document(self) -> dict[str, Any]:
        """The plain JSON form, with absent optional fields left out."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def parse(cls, data: bytes, *, location: str) -> Self:
        """Read a stored document from its bytes, which must be exactly its canonical form.

        Raises TamperedError (with ``location``) for bytes that are not canonical JSON, for a
        document that is not valid without conversion, and for one that parses only by being
        altered (see the module's docstring).
        """
        document = parse_canonical(data, location=location)
        try:
            parsed = cls.model_validate_json(data, strict=True, context=stored())
        except ValidationError as exc:
            raise TamperedError(
                Reason(
                    "malformed_noun_exc",
                    "malformed {noun}: {exc}",
                    noun=cls.noun,
                    exc=first_error(exc),
                ),
                location=location,
            ) from exc
        if canonical_json(parsed.to_document()) != data:
            difference = first_difference(document, parsed.to_document())
            assert difference is not None  # the bytes differ, so the documents do
            raise TamperedError(
                Reason(
                    "malformed_noun_difference",
                    "malformed {noun}: {difference}",
                    noun=cls.noun,
                    difference=inexact(difference),
                ),
                location=location,
            )
        return parsed


def inexact(difference: Difference) -> str:
    """Why a stored field is not the one the format writes, as one line."""
    field = difference.field
    if difference.stored is ABSENT:
        return f"field {field!r} is left out (every field with a value is written, defaults too)"
    if difference.stored is None:
        return f"field {field!r} is null (a field without a value is left out, never null)"
    if difference.expected is ABSENT:
        return f"field {field!r} is not part of the document"
    return (
        f"field {field!r} is not in its exact form: {_short(difference.stored)} where the "
        f"format writes {_short(difference.expected)}"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class EventType(StrEnum):
    SESSION_STARTED = "session_started"
    PAUSED = "paused"
    RESUMED = "resumed"
    DEVICE_LOST = "device_lost"
    DEVICE_RESTORED = "device_restored"
    CLOCK_CORRECTED = "clock_corrected"
    NOTE = "note"
    DEVICE_STATS = "device_stats"
    INTERRUPTED = "interrupted"
    STOPPED = "stopped"
    CLOCK_SKEW = "clock_skew"  # the time-stamp authority's time disagreed with the device's


class PresentPerson(_Document):
    name: Name
    role: Name = Field(description="e.g. lawyer, interpreter, guardian")


class SessionMetadata(_Document):
    """What the investigator enters at the start of a session."""

    case_number: Name
    room: Name
    unit: Name | None = None
    accused: list[Name] = Field(default_factory=list)
    investigators: list[Name] = Field(default_factory=list)
    others_present: list[PresentPerson] = Field(default_factory=list)
    timezone: Name = "Asia/Ho_Chi_Minh"


class MediaInfo(_Document):
    """The recording format, fixed for the whole session."""

    container: Literal["mp4"] = "mp4"
    video_codec: Literal["h264"] = "h264"
    audio_codec: Literal["aac"] = "aac"
    width: int = Field(gt=0, le=7680)
    height: int = Field(gt=0, le=4320)
    fps: int = Field(gt=0, le=120)
    sample_rate: int = Field(gt=0, le=192000)
    channels: int = Field(gt=0, le=8)
    segment_seconds: int = Field(gt=0, le=60)


class TrackInfo(_Document):
    """One track of a passthrough session: a camera's own stream, or the room's sound."""

    id: TrackId
    kind: Literal["camera", "sound"]
    device: Name = Field(description="the device's name, as events and stats name it")


class TrackedMedia(_Document):
    """A passthrough session's format: each camera is its own track, recorded as it arrives
    (its codec, size and rate are those of its segment files); the room's sound is the
    ``sound`` track, AAC on the session clock."""

    mode: Literal["passthrough"]
    container: Literal["mp4"] = "mp4"
    audio_codec: Literal["aac"] = "aac"
    sample_rate: int = Field(gt=0, le=192000)
    channels: int = Field(gt=0, le=8)
    segment_seconds: int = Field(gt=0, le=60)
    tracks: list[TrackInfo] = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _tracks_distinct(self) -> Self:
        ids = [t.id for t in self.tracks]
        if len(set(ids)) != len(ids):
            raise ValueError("track ids must be distinct")
        devices = [t.device for t in self.tracks]
        if len(set(devices)) != len(devices):
            raise ValueError("each track has its own device")
        return self


MEDIA_TAGS = ("composite", "passthrough")


def _media_mode(value: Any) -> str:
    if isinstance(value, dict):
        return "passthrough" if "mode" in value else "composite"
    return "passthrough" if isinstance(value, TrackedMedia) else "composite"


SessionMedia = Annotated[
    Annotated[MediaInfo, Tag("composite")] | Annotated[TrackedMedia, Tag("passthrough")],
    Discriminator(_media_mode),
]


class SignerInfo(_Document):
    """Binds the signing key into the chain: a swapped key cannot reuse the old links."""

    algorithm: Literal["ed25519", "ecdsa-p256-sha256"]
    public_key_sha256: Sha256Hex = Field(description="SHA-256 of the DER SubjectPublicKeyInfo")
    certificate_sha256: Sha256Hex | None = Field(
        default=None, description="SHA-256 of the DER leaf certificate, when there is one"
    )


class SealLatency(_Document):
    """How long a device's media waited, after its segment's last frame, for its seal."""

    p50_us: Count
    p99_us: Count
    worst_us: Count


class DeviceStats(_Document):
    """What one device delivered and what the recorder did with it, for the whole session.

    Audio counts are in samples at the session's rate. ``join_wait_us`` is the time spent
    joining a running device until its first usable media (a camera's first keyframe, a
    microphone's first samples), at each start, resume and reconnection: a wait, never a
    lost device or filled frames."""

    device: Name
    kind: Literal["camera", "microphone"]
    track: TrackId | None = None
    frames_received: Count
    frames_dropped: Count
    frames_filled: Count
    silence_filled_samples: Count
    samples_cut: Count
    samples_resampled: Count
    clock_corrections: Count
    join_wait_us: Count
    seal_latency: SealLatency | None = None


# Which fields each event type carries (besides ``type``): required, then optional. An event
# carries exactly these; a field of another type's is refused, not ignored.
EVENT_FIELDS: dict[EventType, tuple[frozenset[str], frozenset[str]]] = {
    EventType.SESSION_STARTED: (frozenset({"metadata", "media", "signer"}), frozenset()),
    EventType.PAUSED: (frozenset({"reason"}), frozenset()),
    EventType.RESUMED: (frozenset({"reason"}), frozenset()),
    EventType.DEVICE_LOST: (frozenset({"device", "reason"}), frozenset()),
    EventType.DEVICE_RESTORED: (frozenset({"device"}), frozenset()),
    # ended_at: when the recording was cut off (its last sealed media), the link's own time
    # being when recovery ran. Absent in sessions recovered before it was recorded.
    EventType.INTERRUPTED: (frozenset({"reason"}), frozenset({"ended_at"})),
    EventType.STOPPED: (frozenset({"reason"}), frozenset()),
    # The time-stamp authority's time disagreed with the device's: a mark on the record.
    EventType.CLOCK_SKEW: (frozenset({"reason"}), frozenset()),
    # Passthrough sessions (format section 15): a device's clock corrected by resampling, a
    # note on the record (device optional), and every device's stats before the end.
    EventType.CLOCK_CORRECTED: (frozenset({"device", "reason"}), frozenset()),
    EventType.NOTE: (frozenset({"reason"}), frozenset({"device"})),
    EventType.DEVICE_STATS: (frozenset({"stats"}), frozenset()),
}


class Event(_Document):
    type: EventType
    reason: Text | None = None
    device: Name | None = None
    metadata: SessionMetadata | None = None
    media: SessionMedia | None = None
    signer: SignerInfo | None = None
    stats: list[DeviceStats] | None = None
    ended_at: Timestamp | None = None

    @model_validator(mode="after")
    def _fields_fit_type(self) -> Self:
        required, optional = EVENT_FIELDS[self.type]
        present = {name for name in type(self).model_fields if name != "type"}
        present = {name for name in present if getattr(self, name) is not None}
        if missing := sorted(required - present):
            raise ValueError(f"a {self.type.value} event needs {', '.join(missing)}")
        if extra := sorted(present - required - optional):
            raise ValueError(f"a {self.type.value} event carries no {', '.join(extra)}")
        return self


class SegmentRef(_Document):
    index: int = Field(ge=0, lt=COUNT_LIMIT)
    name: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}\.mp4$")]
    sha256: Sha256Hex
    size: int = Field(gt=0, lt=COUNT_LIMIT)
    start_us: int = Field(ge=0, lt=COUNT_LIMIT, description="start on the media timeline")
    duration_us: int = Field(gt=0, lt=COUNT_LIMIT)
    track: TrackId | None = Field(
        default=None, description="the track it belongs to (passthrough sessions only)"
    )

    @model_validator(mode="after")
    def _name_fits_index(self) -> Self:
        if self.name != f"{self.index:06d}.mp4":
            raise ValueError(f"segment {self.index} must be named {self.index:06d}.mp4")
        return self

    @property
    def path(self) -> str:
        """Where it lives in its session: ``segments/NNNNNN.mp4``, or under its track."""
        if self.track is None:
            return f"segments/{self.name}"
        return f"segments/{self.track}/{self.name}"

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us


class Link(_Document):
    """One link of a session's hash chain: a sealed segment or an event."""

    noun: ClassVar[str] = "link"

    v: Literal[1] = FORMAT_VERSION
    session: SessionId
    seq: int = Field(ge=0, lt=COUNT_LIMIT)
    prev: Sha256Hex
    time: Timestamp
    kind: Literal["segment", "event"]
    segment: SegmentRef | None = None
    event: Event | None = None

    @model_validator(mode="after")
    def _payload_fits_kind(self) -> Self:
        if (self.kind == "segment") != (self.segment is not None) or (
            (self.kind == "event") != (self.event is not None)
        ):
            raise ValueError("a link carries exactly the payload its kind names")
        return self


class Pause(_Document):
    paused_at: Timestamp
    reason: Text
    resumed_at: Timestamp | None = None
    resume_reason: Text | None = None


class DeviceOutage(_Document):
    device: Name
    lost_at: Timestamp
    reason: Text
    restored_at: Timestamp | None = None


class Note(_Document):
    """Something the recorder put on the record (e.g. a camera's long keyframe interval)."""

    at: Timestamp
    reason: Text
    device: Name | None = None


class TrackGap(_Document):
    """A stretch of a track's timeline without segments (an outage, a keyframe wait)."""

    track: TrackId
    from_us: Count
    to_us: Count


class ChainSummary(_Document):
    algorithm: Literal["sha256"] = "sha256"
    length: int = Field(gt=0)
    head: Sha256Hex
    head_signature: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]+$")]


class Manifest(_Document):
    """The final seal of a session, signed as a whole by the room device.

    ``ended_at`` is when the recording ended; for a session recovered after a crash it is the
    ``interrupted`` event's ``ended_at`` (its last sealed media), and ``recovered_at`` is when
    recovery sealed it (the ``interrupted`` link's time).
    """

    noun: ClassVar[str] = "manifest"

    v: Literal[1] = FORMAT_VERSION
    type: Literal["sealroom.manifest"] = "sealroom.manifest"
    session: SessionId
    metadata: SessionMetadata
    media: SessionMedia
    signer: SignerInfo
    started_at: Timestamp
    ended_at: Timestamp
    recovered_at: Timestamp | None = None
    stop_reason: Text
    interrupted: bool
    pauses: list[Pause]
    device_outages: list[DeviceOutage]
    segments: list[SegmentRef]
    duration_us: int = Field(ge=0)
    # Derived from the chain, and present only when it has them (sessions before tracks,
    # device stats and notes have none of these fields).
    devices: list[DeviceStats] | None = None
    notes: list[Note] | None = None
    gaps: list[TrackGap] | None = None
    chain: ChainSummary
    checksums_sha256: Sha256Hex = Field(description="SHA-256 of the session's SHA256SUMS file")


def first_error(exc: ValidationError) -> str:
    """The first validation problem, as one line a person can act on."""
    first = exc.errors()[0]
    # A union's tag (which kind of media it was read as) is not part of the document's path.
    where = ".".join(str(p) for p in first["loc"] if p not in MEDIA_TAGS)
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
