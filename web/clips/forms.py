"""The form that defines a clip. Flask-WTF adds the CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from web.forms import PlainText


class ClipForm(FlaskForm):
    session_id = HiddenField(validators=[DataRequired(), Length(max=40)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300), PlainText()])
    exhibit_number = StringField(
        _l("Exhibit number"), validators=[DataRequired(), Length(max=50), PlainText()]
    )
    start = StringField(_l("Start"), validators=[DataRequired(), Length(max=20), PlainText()])
    end = StringField(_l("End"), validators=[DataRequired(), Length(max=20), PlainText()])
