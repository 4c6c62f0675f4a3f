"""Hearings and their exhibit lists, and the presentation behind the two court screens:
commands, verification before showing, custody events, and the server-sent event stream."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.clips import (
    client_for,
    clip_id_of,
    custody,
    make_clip,
    record_long_session,
)
from tests.support.console import PASSWORD, build_console, csrf_token, record_session
from tests.support.diagrams import forge, png_bytes, upload, uploaded_id
from tests.support.hearings import add_exhibit, exhibit_ids, new_hearing, post_json
from web.auth.accounts import create_user
from web.clips.verified import EXTENSION_KEY, VerifiedClips
from web.courtroom import presentation
from web.extensions import db
from web.models import Clip, Diagram, Hearing, HearingExhibit


@dataclass
class Court:
    app: Flask
    session_id: str  # four one-second segments, unit hanoi-bd
    clip_id: int  # 0:01.5 - 0:02.5 of it, exhibit VC-1
    diagram_id: int  # a drawn diagram of unit hanoi
    upper_clip_id: int  # a clip of a session of unit hanoi


def exhibit_list(app: Flask, hearing_id: int) -> list[tuple[str, int | None, int | None]]:
    with app.app_context():
        hearing = db.session.get(Hearing, hearing_id)
        assert hearing is not None
        return [(e.exhibit_number, e.clip_id, e.diagram_id) for e in hearing.exhibits]


def command(client: FlaskClient, hearing_id: int, action: str, **body: Any) -> TestResponse:
    return post_json(client, f"/hearings/{hearing_id}/present/{action}", body)


def version_of(client: FlaskClient, hearing_id: int) -> int:
    state = client.get(f"/hearings/{hearing_id}/state").get_json()
    return int(state["version"])


def build_court(root: Path) -> Court:
    console = build_console(root)
    app = console.app
    with app.app_context():
        create_user("clerk-danang", role="court_clerk", unit="danang", password=PASSWORD)
        create_user("clerk-bd", role="court_clerk", unit="hanoi-bd", password=PASSWORD)
    session_id = record_long_session(console.data, "hanoi-bd", [os.urandom(2500) for _ in "abcd"])
    upper_session = record_session(console.data, "hanoi", "VKS-9/2026", os.urandom(1500))
    prosecutor = client_for(app, "prosecutor")
    status, location = make_clip(prosecutor, session_id, "0:01.5", "0:02.5")
    assert status == 302, location
    status, upper = make_clip(prosecutor, upper_session, "0:00", "0:00.5", number="VC-H")
    assert status == 302, upper
    clerk = client_for(app, "court-clerk")
    shapes = [
        {"type": "box", "x": 0.1, "y": 0.1, "w": 0.2, "h": 0.1, "text": "Nguyễn Văn A"},
        {"type": "arrow", "x1": 0.3, "y1": 0.15, "x2": 0.6, "y2": 0.15, "colour": "black"},
    ]
    drawn = post_json(clerk, "/diagrams/drawn", {"title": "Sơ đồ hiện trường", "shapes": shapes})
    assert drawn.status_code == 201, drawn.get_data(as_text=True)
    return Court(app, session_id, clip_id_of(location), drawn.get_json()["id"], clip_id_of(upper))


@pytest.fixture(scope="module")
def court(tmp_path_factory: pytest.TempPathFactory) -> Court:
    return build_court(tmp_path_factory.mktemp("hearings"))


def test_a_clerk_creates_a_hearing_and_orders_its_exhibits(court: Court) -> None:
    clerk = client_for(court.app, "court-clerk")
    hearing_id = new_hearing(clerk)
    assert custody(court.app, "hearing_created")[-1]["hearing_id"] == hearing_id
    assert add_exhibit(clerk, hearing_id, f"clip-{court.clip_id}").status_code == 302
    assert add_exhibit(clerk, hearing_id, f"diagram-{court.diagram_id}", "SĐ-1").status_code == 302
    # the clip's own number when none is given; diagrams need one
    assert exhibit_list(court.app, hearing_id) == [
        ("VC-1", court.clip_id, None),
        ("SĐ-1", None, court.diagram_id),
    ]
    added = custody(court.app, "hearing_exhibit_added")
    assert added[-2]["session_id"] == court.session_id and added[-1]["session_id"] is None

    duplicate = add_exhibit(clerk, hearing_id, f"clip-{court.clip_id}", "SĐ-1")
    assert duplicate.status_code == 400
    assert "Exhibit number SĐ-1 is already on this hearing" in duplicate.get_data(as_text=True)
    assert add_exhibit(clerk, hearing_id, f"diagram-{court.diagram_id}").status_code == 400
    assert len(exhibit_list(court.app, hearing_id)) == 2

    first, second = exhibit_ids(court.app, hearing_id)
    url = f"/hearings/{hearing_id}/exhibits/{second}/move"
    token = csrf_token(clerk, f"/hearings/{hearing_id}")
    assert clerk.post(url, data={"csrf_token": token, "direction": "up"}).status_code == 302
    assert exhibit_ids(court.app, hearing_id) == [second, first]
    clerk.post(url, data={"csrf_token": token, "direction": "up"})  # already first: no change
    assert exhibit_ids(court.app, hearing_id) == [second, first]
    clerk.post(url, data={"csrf_token": token, "direction": "down"})
    assert exhibit_ids(court.app, hearing_id) == [first, second]

    remove = f"/hearings/{hearing_id}/exhibits/{first}/remove"
    assert clerk.post(remove, data={"csrf_token": token}).status_code == 302
    assert exhibit_list(court.app, hearing_id) == [("SĐ-1", None, court.diagram_id)]
    with court.app.app_context():
        remaining = db.session.query(HearingExhibit).filter_by(hearing_id=hearing_id).one()
        assert remaining.position == 0
    assert custody(court.app, "hearing_exhibit_removed")[-1]["clip_id"] == court.clip_id
    page = clerk.get(f"/hearings/{hearing_id}").get_data(as_text=True)
    assert "Sơ đồ hiện trường" in page and 'id="open-presenter"' in page


def flashes(page: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<p class="flash ok" role="status">(.*?)</p>', page)]


def test_creating_a_hearing_and_adding_an_exhibit_are_confirmed_once(court: Court) -> None:
    """Post/Redirect/Get: the page the form leads to says what was done, in Vietnamese, and
    says it once (not again on reload)."""
    clerk = client_for(court.app, "court-clerk")
    clerk.get("/language/vi")
    hearing_id = new_hearing(clerk, case="VKS-7/2026", date="2026-05-02")
    page = clerk.get(f"/hearings/{hearing_id}").get_data(as_text=True)
    assert flashes(page) == [
        "Đã tạo phiên tòa của vụ án VKS-7/2026. Hãy thêm vật chứng ở bên dưới."
    ]
    assert flashes(clerk.get(f"/hearings/{hearing_id}").get_data(as_text=True)) == []
    added = add_exhibit(clerk, hearing_id, f"clip-{court.clip_id}")
    assert added.status_code == 302 and added.location == f"/hearings/{hearing_id}"
    page = clerk.get(added.location).get_data(as_text=True)
    assert flashes(page) == ["Đã thêm vật chứng VC-1 vào danh mục."]
    assert flashes(clerk.get(added.location).get_data(as_text=True)) == []
    refused = add_exhibit(clerk, hearing_id, f"clip-{court.clip_id}")  # the same number again
    assert refused.status_code == 400 and flashes(refused.get_data(as_text=True)) == []


def test_a_clip_of_another_case_is_added_only_when_confirmed_and_is_marked(court: Court) -> None:
    prosecutor = client_for(court.app, "prosecutor")  # of hanoi: sees both units' clips
    hearing_id = new_hearing(prosecutor, case="VKS-7/2026")
    asked = add_exhibit(prosecutor, hearing_id, f"clip-{court.upper_clip_id}")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409
    assert "is of case VKS-9/2026, not of this hearing&#39;s case VKS-7/2026" in page
    assert 'id="other-case-question"' in page and 'id="exhibit-other-case"' in page
    assert exhibit_list(court.app, hearing_id) == []  # nothing added until confirmed

    assert add_exhibit(prosecutor, hearing_id, f"clip-{court.clip_id}").status_code == 302
    confirmed = add_exhibit(prosecutor, hearing_id, f"clip-{court.upper_clip_id}", other_case=True)
    assert confirmed.status_code == 302
    assert exhibit_list(court.app, hearing_id) == [
        ("VC-1", court.clip_id, None),
        ("VC-H", court.upper_clip_id, None),
    ]
    added = custody(court.app, "hearing_exhibit_added")
    assert added[-1]["other_case"] == "VKS-9/2026" and "other_case" not in added[-2]
    page = prosecutor.get(f"/hearings/{hearing_id}").get_data(as_text=True)
    rows = page.split('id="exhibit-list"', 1)[1].split("</table>", 1)[0].split("<tr data-exhibit")
    assert "other-case" not in rows[1] and "Of another case: VKS-9/2026" in rows[2]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"case_number": "VKS-1", "court": "TAND", "hearing_date": "2026-02-30"}, "2026-03-31"),
        ({"case_number": "VKS-1", "court": "", "hearing_date": "2026-04-01"}, "Court: "),
        ({"case_number": "VKS-1", "court": "TAND", "hearing_date": "1/4/2026"}, "2026-03-31"),
    ],
)
def test_a_bad_hearing_is_refused_and_nothing_stored(
    court: Court, form: dict[str, str], message: str
) -> None:
    clerk = client_for(court.app, "court-clerk")
    with court.app.app_context():
        before = db.session.query(Hearing).count()
    response = clerk.post(
        "/hearings/", data={**form, "csrf_token": csrf_token(clerk, "/hearings/")}
    )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with court.app.app_context():
        assert db.session.query(Hearing).count() == before


def test_who_may_manage_view_and_present(court: Court) -> None:
    prosecutor = client_for(court.app, "prosecutor")
    hearing_id = new_hearing(prosecutor, case="VKS-roles")
    assert (
        add_exhibit(prosecutor, hearing_id, f"clip-{court.clip_id}", other_case=True).status_code
        == 302
    )
    for username in ("supervisor", "auditor"):
        viewer = client_for(court.app, username)
        page = viewer.get(f"/hearings/{hearing_id}").get_data(as_text=True)
        assert "VKS-roles" in page and 'id="exhibit-form"' not in page, username
        assert add_exhibit(viewer, hearing_id, f"clip-{court.clip_id}", "X").status_code == 403
        assert viewer.get(f"/hearings/{hearing_id}/present").status_code == 403, username
        assert viewer.get(f"/hearings/{hearing_id}/audience").status_code == 403, username
    for username in ("investigator", "admin"):
        assert client_for(court.app, username).get("/hearings/").status_code == 403
    assert (
        client_for(court.app, "court-clerk").get(f"/hearings/{hearing_id}/present").status_code
        == 200
    )


def test_hearings_and_their_exhibits_are_unit_scoped(court: Court) -> None:
    clerk = client_for(court.app, "court-clerk")
    hearing_id = new_hearing(clerk, case="VKS-scope")
    danang = client_for(court.app, "clerk-danang")
    denied = len(custody(court.app, "access_denied"))
    assert danang.get(f"/hearings/{hearing_id}").status_code == 404
    assert command(danang, hearing_id, "blank").status_code == 404
    assert len(custody(court.app, "access_denied")) == denied + 2
    assert "VKS-scope" not in danang.get("/hearings/").get_data(as_text=True)

    # A hearing of hanoi-bd may not list an exhibit of hanoi: its own people could not see it.
    lower = client_for(court.app, "clerk-bd")
    lower_hearing = new_hearing(lower, case="VKS-lower")
    prosecutor = client_for(court.app, "prosecutor")  # of hanoi: sees both units
    page = prosecutor.get(f"/hearings/{lower_hearing}").get_data(as_text=True)
    assert f'value="clip-{court.clip_id}"' in page
    assert f'value="clip-{court.upper_clip_id}"' not in page
    assert (
        add_exhibit(prosecutor, lower_hearing, f"clip-{court.upper_clip_id}", "H").status_code
        == 404
    )
    assert exhibit_list(court.app, lower_hearing) == []


def presented_hearing(court: Court, client: FlaskClient) -> tuple[int, int, int]:
    hearing_id = new_hearing(client, case="VKS-present")
    add_exhibit(client, hearing_id, f"clip-{court.clip_id}", other_case=True)
    add_exhibit(client, hearing_id, f"diagram-{court.diagram_id}", "SĐ-2")
    clip_entry, diagram_entry = exhibit_ids(court.app, hearing_id)
    return hearing_id, clip_entry, diagram_entry


def test_presenting_a_clip_verifies_it_first_and_every_step_is_custody(court: Court) -> None:
    clerk = client_for(court.app, "court-clerk")
    hearing_id, clip_entry, _diagram_entry = presented_hearing(court, clerk)
    assert version_of(clerk, hearing_id) == 0

    shown = command(clerk, hearing_id, "show", exhibit_id=clip_entry)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    answer = shown.get_json()
    check = answer["verification"]
    assert check["intact"] and check["segments"] == 2
    assert (check["first_segment"], check["last_segment"]) == ("000001.mp4", "000002.mp4")
    assert check["signer"] and len(check["head"]) == 64
    state = answer["state"]
    assert answer["version"] == 1 and state["exhibit"]["kind"] == "clip"
    assert state["playback"]["playing"] is True and state["blank"] is False
    assert [s["url"] for s in state["exhibit"]["clip"]["segments"]] == [
        f"/clips/{court.clip_id}/segments/1.mp4",
        f"/clips/{court.clip_id}/segments/2.mp4",
    ]
    present = custody(court.app, "present", court.session_id)[-1]
    assert present["hearing_id"] == hearing_id and present["verification"]["intact"] is True

    paused = command(clerk, hearing_id, "pause", position=0.4).get_json()["state"]
    assert paused["playback"]["playing"] is False and paused["playback"]["position"] == 0.4
    sought = command(clerk, hearing_id, "seek", position=0.7).get_json()["state"]
    assert sought["playback"]["position"] == 0.7 and sought["playback"]["playing"] is False
    played = command(clerk, hearing_id, "play", position=0.7).get_json()["state"]
    assert played["playback"]["playing"] is True
    for action, position_ms in (("present_pause", 400), ("present_seek", 700)):
        event = custody(court.app, action, court.session_id)[-1]
        assert (event["hearing_id"], event["position_ms"]) == (hearing_id, position_ms)
    assert custody(court.app, "present_play", court.session_id)[-1]["playing"] is True

    version = version_of(clerk, hearing_id)
    for action, body in (
        ("seek", {"position": 1.5}),  # past the clip's end (it is 1 s long)
        ("seek", {"position": "soon"}),
        ("zoom", {"box": {"x": 0, "y": 0, "w": 0.5, "h": 0.5}}),  # a clip has no zoom
        ("show", {"exhibit_id": 987654}),
        ("dance", {}),
    ):
        refused = command(clerk, hearing_id, action, **body)
        assert refused.status_code in (400, 404), action
        assert refused.get_json()["error"], action
    assert version_of(clerk, hearing_id) == version  # nothing changed

    blanked = command(clerk, hearing_id, "blank").get_json()["state"]
    assert blanked["blank"] is True and blanked["playback"]["playing"] is False
    assert 0.7 <= blanked["playback"]["position"] <= 1.0  # paused where it had got to
    assert custody(court.app, "present_blank", court.session_id)[-1]["hearing_id"] == hearing_id
    assert command(clerk, hearing_id, "unblank").get_json()["state"]["blank"] is False


def test_presenting_a_diagram_with_zoom_and_callouts(court: Court) -> None:
    clerk = client_for(court.app, "court-clerk")
    hearing_id, _clip_entry, diagram_entry = presented_hearing(court, clerk)
    answer = command(clerk, hearing_id, "show", exhibit_id=diagram_entry).get_json()
    assert answer["verification"] is None
    exhibit = answer["state"]["exhibit"]
    assert exhibit["kind"] == "diagram" and exhibit["diagram"]["id"] == court.diagram_id
    assert custody(court.app, "present")[-1]["sha256"] == exhibit["diagram"]["sha256"]

    box = {"x": 0.5, "y": 0.25, "w": 0.25, "h": 0.5}
    zoomed = command(clerk, hearing_id, "zoom", box=box).get_json()["state"]
    assert zoomed["zoom"] == box
    assert custody(court.app, "present_zoom")[-1]["zoom"] == {
        "x": "0.5000",
        "y": "0.2500",
        "w": "0.2500",
        "h": "0.5000",
    }
    version = version_of(clerk, hearing_id)
    for bad in ({"x": 0.9, "y": 0, "w": 0.5, "h": 0.5}, {"x": 0, "y": 0, "w": 0, "h": 0.5}, "all"):
        assert command(clerk, hearing_id, "zoom", box=bad).status_code == 400
    assert command(clerk, hearing_id, "callout", x=0.6, y=0.5, text="  ").status_code == 400
    assert version_of(clerk, hearing_id) == version

    marked = command(clerk, hearing_id, "callout", x=0.6, y=0.5, text="Vị trí xe máy")
    callout = marked.get_json()["state"]["callouts"][0]
    assert callout["type"] == "callout" and (callout["px"], callout["py"]) == (0.6, 0.5)
    # its text box lies within the zoomed view, where the court can read it
    assert box["x"] <= callout["x"] and callout["x"] + callout["w"] <= box["x"] + box["w"] + 1e-6
    assert box["y"] <= callout["y"] and callout["y"] + callout["h"] <= box["y"] + box["h"] + 1e-6
    assert custody(court.app, "present_callout")[-1]["callout"]["text"] == "Vị trí xe máy"
    whole = command(clerk, hearing_id, "zoom", box=None).get_json()["state"]
    assert whole["zoom"] is None and len(whole["callouts"]) == 1
    assert command(clerk, hearing_id, "clear-callouts").get_json()["state"]["callouts"] == []
    assert command(clerk, hearing_id, "withdraw").get_json()["state"]["exhibit"] is None
    withdrawn = custody(court.app, "present_withdraw")[-1]  # names what left the screen
    assert (withdrawn["exhibit_id"], withdrawn["exhibit_number"]) == (diagram_entry, "SĐ-2")

    # Taking an exhibit off the list while it is on the court screen takes it off the screen.
    command(clerk, hearing_id, "show", exhibit_id=diagram_entry)
    token = csrf_token(clerk, f"/hearings/{hearing_id}")
    clerk.post(
        f"/hearings/{hearing_id}/exhibits/{diagram_entry}/remove", data={"csrf_token": token}
    )
    assert clerk.get(f"/hearings/{hearing_id}/state").get_json()["state"]["exhibit"] is None
    removed = custody(court.app, "present_withdraw")[-1]
    assert (removed["exhibit_id"], removed["removed"]) == (diagram_entry, True)


def test_custody_names_what_leaves_the_screen(court: Court) -> None:
    clerk = client_for(court.app, "court-clerk")
    hearing_id, clip_entry, diagram_entry = presented_hearing(court, clerk)
    command(clerk, hearing_id, "show", exhibit_id=clip_entry)
    ends = len(custody(court.app, "present_withdraw", court.session_id))
    command(clerk, hearing_id, "show", exhibit_id=diagram_entry)  # replaces the clip
    replaced = custody(court.app, "present_withdraw", court.session_id)
    assert len(replaced) == ends + 1  # in the recording's own history
    assert replaced[-1]["exhibit_id"] == clip_entry and replaced[-1]["exhibit_number"] == "VC-1"
    assert replaced[-1]["replaced_by"] == diagram_entry

    command(clerk, hearing_id, "show", exhibit_id=clip_entry)
    command(clerk, hearing_id, "withdraw")
    withdrawn = custody(court.app, "present_withdraw", court.session_id)[-1]
    assert (withdrawn["hearing_id"], withdrawn["exhibit_id"]) == (hearing_id, clip_entry)
    assert withdrawn["exhibit_number"] == "VC-1" and "replaced_by" not in withdrawn

    # Removing an exhibit that is not on screen leaves the screen (and its version) alone.
    command(clerk, hearing_id, "show", exhibit_id=diagram_entry)
    version = version_of(clerk, hearing_id)
    token = csrf_token(clerk, f"/hearings/{hearing_id}")
    clerk.post(f"/hearings/{hearing_id}/exhibits/{clip_entry}/remove", data={"csrf_token": token})
    state = clerk.get(f"/hearings/{hearing_id}/state").get_json()
    assert state["version"] == version and state["state"]["exhibit"]["id"] == diagram_entry


def test_a_tampered_clip_is_not_shown_as_authentic(tmp_path: Path) -> None:
    court = build_court(tmp_path)
    clerk = client_for(court.app, "court-clerk")
    hearing_id, clip_entry, _ = presented_hearing(court, clerk)
    segments = tmp_path / "evidence" / "sessions" / court.session_id / "segments"
    outside = segments / "000003.mp4"  # not covered by the clip: it is still intact
    outside.chmod(0o644)
    outside.write_bytes(b"X" + outside.read_bytes()[1:])
    assert (
        command(clerk, hearing_id, "show", exhibit_id=clip_entry).get_json()["state"]["exhibit"][
            "kind"
        ]
        == "clip"
    )

    covered = segments / "000002.mp4"
    covered.chmod(0o644)
    covered.write_bytes(b"X" + covered.read_bytes()[1:])
    answer = command(clerk, hearing_id, "show", exhibit_id=clip_entry).get_json()
    check = answer["verification"]
    assert check["intact"] is False and check["result"] == "tampered"
    assert check["location"] == "segments/000002.mp4"
    exhibit = answer["state"]["exhibit"]
    assert exhibit["kind"] == "unverified" and "clip" not in exhibit  # no media to play
    assert "could not be verified" in exhibit["notice"]
    assert answer["state"]["playback"]["playing"] is False
    refused = custody(court.app, "present_refused", court.session_id)
    assert refused[-1]["verification"]["location"] == "segments/000002.mp4"
    assert command(clerk, hearing_id, "play", position=0).status_code == 400


def test_a_diagram_whose_original_was_altered_is_not_shown(tmp_path: Path) -> None:
    court = build_court(tmp_path)
    clerk = client_for(court.app, "court-clerk")
    hearing_id, _clip_entry, diagram_entry = presented_hearing(court, clerk)
    with court.app.app_context():
        diagram = db.session.get(Diagram, court.diagram_id)
        assert diagram is not None
        sha256 = diagram.sha256
    original = tmp_path / "exhibits" / sha256
    original.chmod(0o644)
    original.write_bytes(original.read_bytes().replace(b"Nguy", b"Tr\xe1\xba\xa7"))
    answer = command(clerk, hearing_id, "show", exhibit_id=diagram_entry)
    assert answer.status_code == 200
    exhibit = answer.get_json()["state"]["exhibit"]
    assert exhibit["kind"] == "unverified" and "diagram" not in exhibit
    assert answer.get_json()["verification"]["intact"] is False


def test_a_segment_altered_after_the_clip_was_shown_never_reaches_the_screen(
    tmp_path: Path,
) -> None:
    court = build_court(tmp_path)
    clerk = client_for(court.app, "court-clerk")
    hearing_id, clip_entry, _ = presented_hearing(court, clerk)
    shown = command(clerk, hearing_id, "show", exhibit_id=clip_entry, play=False).get_json()
    assert shown["verification"]["intact"]
    url = shown["state"]["exhibit"]["clip"]["segments"][1]["url"]
    assert clerk.get(url).status_code == 200
    stream = f"/hearings/{hearing_id}/events?since={shown['version']}"
    court.app.config[presentation.STREAM_SECONDS_KEY] = 1.0

    covered = tmp_path / "evidence" / "sessions" / court.session_id / "segments" / "000002.mp4"
    covered.chmod(0o644)
    covered.write_bytes(b"FORGED" + covered.read_bytes()[6:])
    assert command(clerk, hearing_id, "play", position=0).status_code == 200
    audience = client_for(court.app, "court-clerk")  # the court screen's next fetch
    refused = audience.get(url)
    assert refused.status_code == 409 and not refused.data.startswith(b"FORGED")

    state = clerk.get(f"/hearings/{hearing_id}/state").get_json()["state"]
    exhibit = state["exhibit"]
    assert exhibit["kind"] == "unverified" and "clip" not in exhibit
    assert "could not be verified" in exhibit["notice"] and exhibit["number"] == "VC-1"
    assert state["playback"]["playing"] is False
    events = [
        json.loads(line[6:])
        for line in read_stream(clerk, stream).splitlines()
        if line.startswith("data: ")
    ]  # the screens following the stream get the notice
    assert events[-1]["state"]["exhibit"]["kind"] == "unverified"
    refusal = custody(court.app, "present_refused", court.session_id)[-1]
    assert refusal["hearing_id"] == hearing_id and refusal["exhibit_id"] == clip_entry
    assert refusal["verification"]["location"] == "segments/000002.mp4"
    assert custody(court.app, "playback_refused", court.session_id)[-1]["segment"] == "000002.mp4"
    assert command(clerk, hearing_id, "play", position=0).status_code == 400


def test_a_segment_forged_on_disk_and_in_the_database_proof_is_refused(tmp_path: Path) -> None:
    """The database's copy of the proof is not evidence: segments are served against what
    verify_clip established, and a changed proof is verified again (and fails) first."""
    court = build_court(tmp_path)
    clerk = client_for(court.app, "court-clerk")
    hearing_id, clip_entry, _ = presented_hearing(court, clerk)
    shown = command(clerk, hearing_id, "show", exhibit_id=clip_entry, play=False).get_json()
    assert shown["verification"]["intact"]
    url = shown["state"]["exhibit"]["clip"]["segments"][1]["url"]
    covered = tmp_path / "evidence" / "sessions" / court.session_id / "segments" / "000002.mp4"
    covered.chmod(0o644)
    forged = b"FORGED" + covered.read_bytes()[6:]
    covered.write_bytes(forged)
    with court.app.app_context():
        clip = db.session.get(Clip, court.clip_id)
        assert clip is not None
        proof = json.loads(clip.proof)
        for sealed in proof["segments"]:
            if sealed["index"] == 2:
                sealed["sha256"] = hashlib.sha256(forged).hexdigest()
        clip.proof = json.dumps(proof)
        db.session.commit()

    refused = clerk.get(url)
    assert refused.status_code == 409 and not refused.data.startswith(b"FORGED")
    assert "does not match its seal" in refused.get_data(as_text=True)
    assert clerk.get(url.replace("/2.mp4", "/1.mp4")).status_code == 409  # nothing of it
    logged = custody(court.app, "playback_refused", court.session_id)
    assert logged[-1]["clip_id"] == court.clip_id and logged[-1]["index"] == 1
    assert logged[-2]["index"] == 2 and logged[-2]["verification"]["intact"] is False
    assert logged[-1]["verification"]["location"] == "clip proof"
    state = clerk.get(f"/hearings/{hearing_id}/state").get_json()["state"]
    assert state["exhibit"]["kind"] == "unverified" and "clip" not in state["exhibit"]
    assert "could not be verified" in state["exhibit"]["notice"]
    refusal = custody(court.app, "present_refused", court.session_id)[-1]
    assert refusal["hearing_id"] == hearing_id and refusal["verification"]["intact"] is False
    assert command(clerk, hearing_id, "play", position=0).status_code == 400


def test_a_restarted_console_verifies_a_clip_before_serving_it(tmp_path: Path) -> None:
    court = build_court(tmp_path)
    clerk = client_for(court.app, "court-clerk")
    url = f"/clips/{court.clip_id}/segments/1.mp4"
    assert clerk.get(url).status_code == 200  # never verified in this process: verified now
    assert len(verified_clips_of(court.app)) == 1
    court.app.extensions.pop(EXTENSION_KEY)  # what a restart forgets
    assert clerk.get(url).status_code == 200
    assert custody(court.app, "playback_refused", court.session_id) == []


def verified_clips_of(app: Flask) -> VerifiedClips:
    found: VerifiedClips = app.extensions[EXTENSION_KEY]
    return found


def test_a_refused_segment_changes_no_hearing_that_does_not_show_its_clip(tmp_path: Path) -> None:
    court = build_court(tmp_path)
    clerk = client_for(court.app, "court-clerk")
    hearing_id, _clip_entry, diagram_entry = presented_hearing(court, clerk)
    assert command(clerk, hearing_id, "show", exhibit_id=diagram_entry).status_code == 200
    before = version_of(clerk, hearing_id)
    covered = tmp_path / "evidence" / "sessions" / court.session_id / "segments" / "000002.mp4"
    covered.chmod(0o644)
    covered.write_bytes(b"FORGED" + covered.read_bytes()[6:])
    assert clerk.get(f"/clips/{court.clip_id}/segments/2.mp4").status_code == 409
    assert version_of(clerk, hearing_id) == before  # the diagram stays; nothing was written
    assert custody(court.app, "present_refused", court.session_id) == []
    assert len(custody(court.app, "playback_refused", court.session_id)) == 1


def test_an_uploaded_diagram_whose_original_was_altered_is_not_shown(tmp_path: Path) -> None:
    court = build_court(tmp_path)
    clerk = client_for(court.app, "court-clerk")
    picture = png_bytes((64, 48), "teal")
    sha256 = hashlib.sha256(picture).hexdigest()
    diagram_id = uploaded_id(upload(clerk, picture))
    hearing_id = new_hearing(clerk, case="VKS-upload")
    assert add_exhibit(clerk, hearing_id, f"diagram-{diagram_id}", "SĐ-9").status_code == 302
    [entry] = exhibit_ids(court.app, hearing_id)
    shown = command(clerk, hearing_id, "show", exhibit_id=entry).get_json()
    assert shown["state"]["exhibit"]["kind"] == "diagram"  # intact: shown

    original = tmp_path / "exhibits" / sha256
    forge(original, png_bytes((64, 48), "red"))
    answer = command(clerk, hearing_id, "show", exhibit_id=entry)
    assert answer.status_code == 200
    exhibit = answer.get_json()["state"]["exhibit"]
    assert exhibit["kind"] == "unverified" and "diagram" not in exhibit
    assert "could not be verified" in exhibit["notice"] and exhibit["number"] == "SĐ-9"
    told = answer.get_json()["verification"]  # what the presenter's panel shows
    assert told["intact"] is False and told["location"] == f"exhibits/{sha256}"
    assert "does not match its recorded SHA-256" in told["reason"]
    refused = custody(court.app, "present_refused")[-1]
    assert refused["hearing_id"] == hearing_id and refused["verification"]["intact"] is False

    original.unlink()
    gone = command(clerk, hearing_id, "show", exhibit_id=entry).get_json()
    assert gone["state"]["exhibit"]["kind"] == "unverified"
    assert "missing" in gone["verification"]["reason"]


def test_the_audience_screen_shows_only_what_is_presented(court: Court) -> None:
    clerk = client_for(court.app, "court-clerk")
    hearing_id, clip_entry, _ = presented_hearing(court, clerk)
    command(clerk, hearing_id, "show", exhibit_id=clip_entry)
    page = clerk.get(f"/hearings/{hearing_id}/audience").get_data(as_text=True)
    for control in ("<button", "<input", "<form", "<nav", "controls", "<a "):
        assert control not in page, control
    assert "VKS-present" not in page and "TAND" not in page  # no other data
    config = json.loads(
        re.search(r'id="audience-config">(.*?)</script>', page).group(1)  # type: ignore[union-attr]
    )
    assert config["state"]["exhibit"]["kind"] == "clip" and config["version"] >= 1


def read_stream(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> str:
    """The whole stream, until the server ends it; then closed, as a browser would."""
    with client.get(url, headers=headers or {}) as response:
        return response.get_data(as_text=True)


def test_the_event_stream_follows_versions_and_ends(
    court: Court, monkeypatch: pytest.MonkeyPatch
) -> None:
    court.app.config[presentation.STREAM_SECONDS_KEY] = 1.5
    settings = court.app.config["SEALROOM_SETTINGS"]  # [console] stream_keepalive_seconds
    quick = settings.model_copy(update={"stream_keepalive_seconds": 0.4})
    monkeypatch.setitem(court.app.config, "SEALROOM_SETTINGS", quick)
    clerk = client_for(court.app, "court-clerk")
    hearing_id, _, diagram_entry = presented_hearing(court, clerk)
    url = f"/hearings/{hearing_id}/events"

    with clerk.get(url) as fresh:  # a new screen: the current state at once, then it ends
        assert fresh.headers["Content-Type"].startswith("text/event-stream")
        body = fresh.get_data(as_text=True)
    assert body.startswith("retry: ") and "id: 0\nevent: state\n" in body
    assert ": keep-alive" in body

    command(clerk, hearing_id, "show", exhibit_id=diagram_entry)
    current = version_of(clerk, hearing_id)
    quiet = read_stream(clerk, url, {"Last-Event-ID": str(current)})
    assert "event: state" not in quiet  # it has seen this version: nothing to resend

    other = client_for(court.app, "court-clerk")

    def change_soon() -> None:
        time.sleep(0.3)
        command(other, hearing_id, "blank")

    changer = threading.Thread(target=change_soon)
    changer.start()
    live = read_stream(clerk, f"{url}?since={current}")
    changer.join()
    events = [json.loads(line[6:]) for line in live.splitlines() if line.startswith("data: ")]
    assert [e["version"] for e in events] == [current + 1]
    assert events[0]["state"]["blank"] is True and events[0]["server_time"] > 0


def test_live_screens_cannot_take_every_server_thread(
    court: Court, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Here the process's threads are the limit: the unit's share does not get in the way.
    monkeypatch.setitem(court.app.config, presentation.MAX_STREAMS_PER_UNIT_KEY, 100)
    clerk = client_for(court.app, "court-clerk")
    hearing_id = new_hearing(clerk, case="VKS-streams")
    url = f"/hearings/{hearing_id}/events"
    clients = [client_for(court.app, u) for u in ("court-clerk", "prosecutor")]
    per_user = presentation.MAX_STREAMS_PER_USER  # two users' shares fill the process's 8
    open_streams = [c.get(url) for c in clients for _ in range(per_user)]
    assert all(r.status_code == 200 for r in open_streams)
    for client in clients:  # every slot is taken
        refused = client.get(url)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
    open_streams.pop().close()  # a screen goes away: its slot is free again
    again = clients[1].get(url)
    assert again.status_code == 200
    for response in [*open_streams, again]:
        response.close()
    for _ in range(2):  # every slot was given back
        with clerk.get(url) as later:
            assert later.status_code == 200


def test_one_unit_cannot_take_every_live_screen(court: Court) -> None:
    """Court-screen slots are per unit: one province's courtrooms leave another's theirs."""
    hanoi_clerk = client_for(court.app, "court-clerk")
    ours = f"/hearings/{new_hearing(hanoi_clerk, case='VKS-unit-a')}/events"
    danang = client_for(court.app, "clerk-danang")
    theirs = f"/hearings/{new_hearing(danang, case='VKS-unit-b')}/events"
    hanoi = [client_for(court.app, u) for u in ("court-clerk", "prosecutor")]
    share = presentation.MAX_STREAMS_PER_UNIT
    held = [hanoi[n % 2].get(ours) for n in range(share)]
    assert all(r.status_code == 200 for r in held)
    assert hanoi[1].get(ours).status_code == 503  # the unit's share is used, the user's is not
    with danang.get(theirs) as other_unit:
        assert other_unit.status_code == 200
    for response in held:
        response.close()


def test_presenters_of_one_unit_share_its_live_screens(court: Court) -> None:
    """Counted per unit (in the database, as every replica counts): two presenters of one
    unit share its slots, however few each holds."""
    clerk = client_for(court.app, "court-clerk")
    prosecutor = client_for(court.app, "prosecutor")  # of the same unit
    hearing_id = new_hearing(clerk, case="VKS-unit")
    url = f"/hearings/{hearing_id}/events"
    half = presentation.MAX_STREAMS_PER_UNIT // 2
    screens = [c.get(url) for c in (clerk, prosecutor) for _ in range(half)]
    assert all(r.status_code == 200 for r in screens)
    assert half < presentation.MAX_STREAMS_PER_USER  # neither user is at their own limit
    assert clerk.get(url).status_code == 503
    screens.pop().close()
    with clerk.get(url) as again:
        assert again.status_code == 200
    for response in screens:
        response.close()


def test_one_user_cannot_take_every_live_screen(
    court: Court, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(court.app.config, presentation.MAX_STREAMS_PER_UNIT_KEY, 100)
    clerk = client_for(court.app, "court-clerk")
    hearing_id = new_hearing(clerk, case="VKS-tabs")
    url = f"/hearings/{hearing_id}/events"
    tabs = [clerk.get(url) for _ in range(presentation.MAX_STREAMS_PER_USER)]
    assert all(r.status_code == 200 for r in tabs)
    same_user = client_for(court.app, "court-clerk")  # another login of the same user
    assert same_user.get(url).status_code == 503
    other = client_for(court.app, "prosecutor")  # another courtroom's presenter still connects
    with other.get(url) as theirs:
        assert theirs.status_code == 200
    tabs.pop().close()
    with same_user.get(url) as again:
        assert again.status_code == 200
    for response in tabs:
        response.close()
