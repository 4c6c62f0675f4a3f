"""The console's forms. Flask-WTF adds the CSRF token to each.

Every text field that ends up as metadata (of a session, a clip, a hearing, an export, an
account...) carries ``PlainText``: the one rule of ``evidence_store.plain_text_problem``, so
a newline, a tab or another control character is refused with a clear message before
anything is written. Fields that hold one item per line (the accused, the people present)
use ``PlainLines``: line breaks separate items, and each item obeys the same rule.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from evidence_store import control_character
from web.extensions import db
from web.models import Unit

LINE_BREAK = re.compile(r"\r?\n")


def _refusal(character: str) -> str:
    names = {"\n": _("a line break"), "\r": _("a carriage return"), "\t": _("a tab")}
    code = f"U+{ord(character):04X}"
    what = names.get(character)
    found = f"{what} ({code})" if what else _("the control character %(code)s", code=code)
    return str(_("contains %(what)s: write it on one line, without control characters", what=found))


class PlainText:
    """One line of text without control characters (C0, C1, line and paragraph separators,
    format characters such as bidirectional marks and zero-width spaces)."""

    def __call__(self, form: Any, field: Any) -> None:
        if isinstance(field.data, str) and (found := control_character(field.data)) is not None:
            raise ValidationError(_refusal(found))


class PlainLines:
    """One item per line; each line obeys ``PlainText``."""

    def __call__(self, form: Any, field: Any) -> None:
        if not isinstance(field.data, str):
            return
        for line in LINE_BREAK.split(field.data):
            if (found := control_character(line)) is not None:
                raise ValidationError(_refusal(found))


def unit_choices() -> list[tuple[str, str]]:
    """Every unit the console knows, as (code, "code — name"), read when a form is shown."""
    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    return [(u.code, u.code if u.name in ("", u.code) else f"{u.code} — {u.name}") for u in units]


class UnitField(SelectField):
    """A unit picked from those the console knows, never typed; anything else is refused in
    the console's language (WTForms' own "Not a valid choice" has no Vietnamese)."""

    def __init__(self, label: Any = None, **kwargs: Any) -> None:
        super().__init__(label, choices=unit_choices, validators=[DataRequired()], **kwargs)

    def pre_validate(self, form: Any) -> None:
        if self.data not in {code for code, _label in unit_choices()}:
            raise ValidationError(_("Choose a unit from the list."))


def lines_of(text: str | None) -> list[str]:
    """The items of a ``PlainLines`` field: its non-empty lines, trimmed."""
    return [line.strip() for line in LINE_BREAK.split(text or "") if line.strip()]


def errors_of(form: FlaskForm) -> list[str]:
    """Every validation message of ``form``, each with its field's label."""
    found = []
    for field in form:
        for error in field.errors:
            label = field.label.text if field.label and field.label.text else field.name
            found.append(f"{label}: {error}")
    return found


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField(validators=[Optional(), Length(max=500)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=256)]
    )
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    repeat = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=256)])


class BookmarkForm(FlaskForm):
    # InputRequired: 0 (the very start) is a moment like any other.
    offset_ms = IntegerField(validators=[InputRequired(), NumberRange(min=0, max=10**9)])
    private = BooleanField(_l("Only for me"))
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=1000), PlainText()])


class ConfirmForm(FlaskForm):
    """A POST with nothing but its CSRF token (verify now, delete, ...)."""


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    case = StringField(validators=[Optional(), Length(max=200)])
    accused = StringField(validators=[Optional(), Length(max=200)])
    room = StringField(validators=[Optional(), Length(max=200)])
    investigator = StringField(validators=[Optional(), Length(max=200)])
    date_from = StringField(validators=[Optional(), Length(max=10)])
    date_to = StringField(validators=[Optional(), Length(max=10)])
