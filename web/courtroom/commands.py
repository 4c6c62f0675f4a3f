"""The presenter's commands as changes of the presentation state (pure functions).

Playback is kept as the position at a moment: ``position`` seconds from the clip's start at
``at`` (server time, ms since the epoch), and whether it is playing. An audience screen
computes where the clip should be now from that, so the latency of the event does not put
it behind the presenter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

from evidence_store import UsageError
from web.courtroom.presentation import State

Edit = Callable[[State], State]
MAX_CALLOUTS = 20
MAX_CALLOUT_TEXT = 200
MIN_ZOOM = 0.02  # a zoom box smaller than 2 % of the diagram is a slip of the mouse


class CommandError(UsageError):
    """A command that cannot apply; the message is for the presenter."""


def number(value: Any, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CommandError(_("%(what)s must be a number.", what=what))
    if not low <= float(value) <= high:
        raise CommandError(
            _("%(what)s must lie between %(low)s and %(high)s.", what=what, low=low, high=high)
        )
    return float(value)


def clip_length(state: State) -> float:
    exhibit = state.get("exhibit") or {}
    if exhibit.get("kind") != "clip":
        raise CommandError(_("No clip is being presented."))
    clip = exhibit["clip"]
    return float(clip["out"]) - float(clip["in"])


def position_now(state: State, now: int) -> float:
    """Where the clip is at ``now``, from the last command."""
    playback = state["playback"]
    position = float(playback["position"])
    if playback["playing"]:
        position += (now - int(playback["at"])) / 1000
    exhibit = state.get("exhibit") or {}
    if exhibit.get("kind") == "clip":
        position = min(position, clip_length(state))
    return max(0.0, position)


def present(exhibit: dict[str, Any], *, play: bool, now: int) -> Edit:
    """Show ``exhibit`` (a clip from its start; a diagram whole) and un-blank the screen."""

    def edit(_state: State) -> State:
        return {
            "blank": False,
            "exhibit": exhibit,
            "playback": {"playing": play and exhibit["kind"] == "clip", "position": 0.0, "at": now},
            "zoom": None,
            "callouts": [],
        }

    return edit


def playback(action: str, position: Any, now: int) -> Edit:
    """play, pause or seek: ``position`` in seconds from the clip's start."""

    def edit(state: State) -> State:
        length = clip_length(state)
        at = number(position, _("The position"), 0.0, length)
        playing = {"play": True, "pause": False}.get(action, state["playback"]["playing"])
        if at >= length:
            playing = False  # the clip ends there: nothing to play
        return {**state, "playback": {"playing": playing, "position": at, "at": now}}

    return edit


def _diagram(state: State) -> None:
    exhibit = state.get("exhibit") or {}
    if exhibit.get("kind") != "diagram":
        raise CommandError(_("No diagram is being presented."))


def zoom(box: Any) -> Edit:
    """Zoom into ``box`` = {x, y, w, h}, fractions of the diagram; None shows it whole."""

    def edit(state: State) -> State:
        _diagram(state)
        if box is None:
            return {**state, "zoom": None}
        if not isinstance(box, dict):
            raise CommandError(_("A zoom region is x, y, width and height."))
        x = number(box.get("x"), "x", 0.0, 1.0)
        y = number(box.get("y"), "y", 0.0, 1.0)
        w = number(box.get("w"), _("width"), MIN_ZOOM, 1.0 - x + 1e-9)
        h = number(box.get("h"), _("height"), MIN_ZOOM, 1.0 - y + 1e-9)
        return {**state, "zoom": {"x": x, "y": y, "w": min(w, 1.0 - x), "h": min(h, 1.0 - y)}}

    return edit


def callout(x: Any, y: Any, text: Any) -> Edit:
    """Add a callout pointing at (x, y), fractions of the diagram, with a short text. It is
    kept as the diagram renderer's own callout shape, placed inside the zoomed region (if
    any) so the court sees it."""

    def edit(state: State) -> State:
        _diagram(state)
        if not isinstance(text, str) or not text.strip():
            raise CommandError(_("A callout needs a text."))
        if len(text) > MAX_CALLOUT_TEXT:
            raise CommandError(
                _("A callout's text is at most %(n)s characters.", n=MAX_CALLOUT_TEXT)
            )
        if len(state["callouts"]) >= MAX_CALLOUTS:
            raise CommandError(_("At most %(n)s callouts at once.", n=MAX_CALLOUTS))
        px, py = number(x, "x", 0.0, 1.0), number(y, "y", 0.0, 1.0)
        shape = {"type": "callout", "colour": "red", "px": px, "py": py, "text": text.strip()}
        shape.update(_callout_box(px, py, state.get("zoom")))
        return {**state, "callouts": [*state["callouts"], shape]}

    return edit


def _callout_box(px: float, py: float, zoom: dict[str, float] | None) -> dict[str, float]:
    """A text box beside the point, up and to the right where it fits, within the view."""
    view = zoom or {"x": 0.0, "y": 0.0, "w": 1.0, "h": 1.0}
    w, h = view["w"] * 0.32, view["h"] * 0.14
    gap_x, gap_y = view["w"] * 0.04, view["h"] * 0.06
    right, bottom = view["x"] + view["w"], view["y"] + view["h"]
    x = px + gap_x if px + gap_x + w <= right else px - gap_x - w
    y = py - gap_y - h if py - gap_y - h >= view["y"] else py + gap_y
    x = min(max(x, view["x"]), right - w)
    y = min(max(y, view["y"]), bottom - h)
    return {"x": round(x, 5), "y": round(y, 5), "w": round(w, 5), "h": round(h, 5)}


def clear_callouts() -> Edit:
    def edit(state: State) -> State:
        _diagram(state)
        return {**state, "callouts": []}

    return edit


def blank(on: bool, now: int) -> Edit:
    """Blank (or restore) the audience screen. Blanking pauses a playing clip where it is,
    so nothing is heard either and it resumes from there."""

    def edit(state: State) -> State:
        updated = {**state, "blank": on}
        if on and state["playback"]["playing"]:
            updated["playback"] = {
                "playing": False,
                "position": position_now(state, now),
                "at": now,
            }
        return updated

    return edit


def withdraw(now: int, *, only: int | None = None, key: str | None = None) -> Edit:
    """Take the exhibit off the screen; with ``only`` (an exhibit id) or ``key`` (one showing
    of it), only if that is what is on screen now, else the state is kept as it is."""

    def edit(state: State) -> State:
        exhibit = state.get("exhibit") or {}
        if only is not None and exhibit.get("id") != only:
            return state
        if key is not None and exhibit.get("key") != key:
            return state
        return {
            "blank": False,
            "exhibit": None,
            "playback": {"playing": False, "position": 0.0, "at": now},
            "zoom": None,
            "callouts": [],
        }

    return edit


def not_verified_notice(number: str) -> str:
    return str(
        _("Exhibit %(n)s could not be verified against its seal and is not shown.", n=number)
    )


def refuse_clip(clip_id: int, now: int) -> Edit:
    """Replace clip ``clip_id`` on screen (if it is) with the neutral "not verified" notice:
    its media failed a check while being shown. Nothing of it stays playable."""

    def edit(state: State) -> State:
        exhibit = state.get("exhibit") or {}
        if exhibit.get("kind") != "clip" or exhibit.get("clip_id") != clip_id:
            return state
        notice = {
            "id": exhibit["id"],
            "key": f"{exhibit['id']}:{now}",
            "number": exhibit["number"],
            "clip_id": clip_id,
            "kind": "unverified",
            "notice": not_verified_notice(exhibit["number"]),
        }
        return {
            **state,
            "exhibit": notice,
            "playback": {"playing": False, "position": 0.0, "at": now},
        }

    return edit
