"""The seal sheet as a PDF: the session's facts and its seal, in Vietnamese, for the
investigator of a unit that may see the session only. Opening the sheet is a view; each
press of Print, and each PDF, is a print in the custody log."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest

from evidence_store import SessionMetadata, SessionWriter
from evidence_store.index.summary import read_manifest
from evidence_store.model import stored
from tests.support.console import MEDIA, Console, build_console, catalogue, csrf_token, login
from web.audit import custody_log
from web.extensions import db
from web.models import Unit


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    return build_console(tmp_path_factory.mktemp("console"))


def pdf_text(document: bytes) -> str:
    pdf = pdfium.PdfDocument(document)
    return "\n".join(page.get_textpage().get_text_range() for page in pdf)


def test_the_pdf_holds_the_facts_and_the_seal(console: Console) -> None:
    client = console.app.test_client()
    login(client, "investigator")
    response = client.get(f"/terminal/room1/seal/{console.own_session}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    manifest = read_manifest(console.data.store(), console.own_session)
    text = pdf_text(response.data)
    for expected in (
        manifest.chain.head,
        "VKS-1/2026",
        "Nguyễn Văn A",
        "Trần Thị B",
        "Phiếu niêm phong",
    ):
        assert expected in text, expected
    with console.app.app_context():
        printed = custody_log().entries(session_id=console.own_session, action="seal_sheet_printed")
    assert printed[-1].detail == {"format": "pdf", "filed_under": "hanoi-bd"}


def test_another_units_investigator_gets_no_pdf(console: Console) -> None:
    client = console.app.test_client()
    login(client, "investigator-danang")
    assert client.get(f"/terminal/room1/seal/{console.own_session}.pdf").status_code == 404


def test_control_characters_sealed_before_the_rule_are_spelled_out(console: Console) -> None:
    """Text from users is escaped wherever it goes: in the PDF and the page, a case number
    sealed with a line break reads "A\\nB", never two lines that pass for other text."""
    data = console.data
    metadata = SessionMetadata.model_validate(
        {"case_number": "VKS-77\nGIẢ", "room": "Phòng 1", "unit": "hanoi-bd"}, context=stored()
    )
    writer = SessionWriter.start(data.store(), data.signer(), metadata, MEDIA)
    writer.inflight_path(0).write_bytes(b"\x00" * 512)
    writer.seal_segment(0, start_us=0, duration_us=1_000_000)
    writer.stop("kết thúc")
    client = console.app.test_client()
    login(client, "investigator")
    text = pdf_text(client.get(f"/terminal/room1/seal/{writer.session_id}.pdf").data)
    assert "VKS-77\\nGIẢ" in text
    page = client.get(f"/terminal/room1/seal/{writer.session_id}").get_data(as_text=True)
    assert "VKS-77\\nGIẢ" in page


def test_everyone_present_signs_under_the_units_name_and_a_reprint_is_logged(
    console: Console,
) -> None:
    metadata = SessionMetadata.model_validate(
        {
            "case_number": "VKS-90/2026",
            "room": "Phòng 1",
            "unit": "hanoi-bd",
            "accused": ["Nguyễn Văn A", "Phạm Văn D"],
            "investigators": ["Trần Thị B", "Lê Văn E"],
            "others_present": [
                {"name": "Lê Văn C", "role": "luật sư"},
                {"name": "Đỗ Thị G", "role": "phiên dịch"},
            ],
        }
    )
    writer = SessionWriter.start(console.data.store(), console.data.signer(), metadata, MEDIA)
    writer.inflight_path(0).write_bytes(b"\x00" * 512)
    writer.seal_segment(0, start_us=0, duration_us=1_000_000)
    writer.stop("kết thúc")
    catalogue(console.app)  # the session page reads the catalog
    with console.app.app_context():
        unit = db.session.query(Unit).filter_by(code="hanoi-bd").one()
        unit.name = "Công an quận Ba Đình"
        db.session.commit()
    people = [
        ("Trần Thị B", "Điều tra viên"),
        ("Lê Văn E", "Điều tra viên"),
        ("Nguyễn Văn A", "Bị can"),
        ("Phạm Văn D", "Bị can"),
        ("Lê Văn C", "luật sư"),
        ("Đỗ Thị G", "phiên dịch"),
    ]
    investigator = console.app.test_client()
    login(investigator, "investigator")
    page = investigator.get(f"/terminal/room1/seal/{writer.session_id}").get_data(as_text=True)
    signatures = page.split('id="signatures"', 1)[1].split("</div>\n", 1)[0]
    for name, role in people:
        assert f"{name}<br><small>{role}</small>" in signatures, name
    assert "Công an quận Ba Đình" in page
    text = pdf_text(investigator.get(f"/terminal/room1/seal/{writer.session_id}.pdf").data)
    assert all(f"{name} — {role}" in text for name, role in people)
    assert "Công an quận Ba Đình" in text

    # From the session's page, by the prosecutor filing the record: the same sheet, logged.
    prosecutor = console.app.test_client()
    login(prosecutor, "prosecutor")
    session_page = prosecutor.get(f"/sessions/{writer.session_id}").get_data(as_text=True)
    assert f'href="/terminal/seal/{writer.session_id}" id="reprint-seal-sheet"' in session_page
    sheet = f"/terminal/seal/{writer.session_id}"
    again = prosecutor.get(sheet).get_data(as_text=True)
    assert 'id="reprint"' in again and "Lê Văn C<br><small>luật sư</small>" in again
    assert f'action="{sheet}/printed"' in again  # Print posts, then prints
    # Opening the sheet is a view, never a print; a print needs the form's CSRF token.
    assert printed_of(console, writer.session_id) == [("investigator", None, "pdf")]
    assert prosecutor.post(f"{sheet}/printed").status_code == 400
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', again).group(1)  # type: ignore[union-attr]
    json = {"Accept": "application/json"}
    pressed = prosecutor.post(f"{sheet}/printed", data={"csrf_token": token}, headers=json)
    assert pressed.status_code == 200 and pressed.get_json() == {"recorded": True}
    assert prosecutor.get(f"{sheet}.pdf").mimetype == "application/pdf"
    assert printed_of(console, writer.session_id)[-2:] == [
        ("prosecutor", True, None),
        ("prosecutor", True, "pdf"),
    ]
    with console.app.app_context():
        viewed = custody_log().entries(session_id=writer.session_id, action="seal_sheet_viewed")
    assert [(e.actor, e.detail["reprint"]) for e in viewed] == [
        ("investigator", False),
        ("prosecutor", True),
    ]
    outsider = console.app.test_client()
    login(outsider, "investigator-danang")
    assert outsider.get(sheet).status_code == 404
    refused = outsider.post(
        f"{sheet}/printed", data={"csrf_token": csrf_token(outsider, "/terminal/")}
    )
    assert refused.status_code == 404
    admin = console.app.test_client()
    login(admin, "admin")
    own = csrf_token(admin, "/admin/users")
    assert admin.post(f"{sheet}/printed", data={"csrf_token": own}).status_code == 403
    assert len(printed_of(console, writer.session_id)) == 3


def printed_of(console: Console, session_id: str) -> list[tuple[str, object, object]]:
    with console.app.app_context():
        printed = custody_log().entries(session_id=session_id, action="seal_sheet_printed")
    return [(e.actor, e.detail.get("reprint"), e.detail.get("format")) for e in printed]
