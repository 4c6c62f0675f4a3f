"""Forms of the hearings pages. Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from web.forms import PlainText

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class HearingForm(FlaskForm):
    case_number = StringField(_l("Case"), validators=[DataRequired(), Length(max=200), PlainText()])
    court = StringField(_l("Court"), validators=[DataRequired(), Length(max=300), PlainText()])
    hearing_date = StringField(
        _l("Date"),
        validators=[DataRequired(), Regexp(DATE, message=_l("A date such as 2026-03-31."))],
    )

    def validate_hearing_date(self, field: StringField) -> None:
        try:
            date.fromisoformat(field.data or "")
        except ValueError as exc:
            raise ValidationError(_l("A date such as 2026-03-31.")) from exc


class ExhibitForm(FlaskForm):
    """``item`` is "clip-<id>" or "diagram-<id>"; the number defaults to the clip's own."""

    item = SelectField(_l("Exhibit"), validators=[DataRequired()], validate_choice=False)
    exhibit_number = StringField(_l("Exhibit number"), validators=[Length(max=50), PlainText()])
    # Asked for when the clip is of another case than the hearing's: a mistake more often than not.
    other_case = BooleanField(_l("Yes, add this clip of another case to this hearing"))


class MoveForm(FlaskForm):
    direction = SelectField(choices=["up", "down"])
