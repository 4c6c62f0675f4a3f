"""The console's forms. Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField(validators=[Optional(), Length(max=500)])


class BookmarkForm(FlaskForm):
    offset_ms = IntegerField(validators=[DataRequired(), NumberRange(min=0, max=10**9)])
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=1000)])


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
