"""The alarms page: every alarm about the viewer's units, newest first, with what is known of
its session now (an alarm about a session stays open until the session verifies again)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from web.access import allow
from web.audit import record
from web.roles import ALARM_READERS
from web.trust import alarms_for

blueprint = Blueprint("alarms", __name__, url_prefix="/alarms")


@blueprint.get("/")
@allow(*ALARM_READERS)
def overview() -> str:
    alarms = alarms_for(current_user)
    record("list_alarms", detail={"shown": len(alarms)})
    return render_template("alarms/list.html", alarms=alarms)
