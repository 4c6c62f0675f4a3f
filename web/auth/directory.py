"""Logging in with an LDAP / Active Directory account (``ldap3``), beside local accounts.

The console searches the account (as the service account, or anonymously), binds as it with
the password typed (the password is never kept here), reads its groups, and maps them to a
role and a unit through ``[console.directory] role_groups`` and ``unit_groups``. An account
in no mapped group, or in groups that give two roles or two units, cannot log in. A server
that cannot be reached is DirectoryUnavailable: the login page says so, and local accounts
keep working.
"""

from __future__ import annotations

import math
import os
import ssl
from dataclasses import dataclass

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from evidence_store import UsageError
from web.settings import DirectorySettings

BIND_PASSWORD_ENV = "SEALROOM_LDAP_BIND_PASSWORD"  # noqa: S105 -- the variable's name


@dataclass(frozen=True)
class DirectoryAccount:
    """Who the directory says logged in."""

    username: str
    display_name: str
    role: str
    unit: str


class DirectoryRefused(Exception):
    """The directory does not let this login through; ``reason`` is for the custody log."""


class DirectoryUnavailable(Exception):
    """The directory cannot be reached or does not answer."""


def _dn_key(dn: str) -> str:
    return ",".join(part.strip() for part in dn.split(",")).casefold()


def bind_password(settings: DirectorySettings) -> str | None:
    """The service account's password: from its file, else the environment; never config."""
    if settings.bind_dn is None:
        return None
    if settings.bind_password_file is not None:
        try:
            return settings.bind_password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(
                f"cannot read [console.directory] bind_password_file: {exc.strerror}"
            ) from exc
    password = os.environ.get(BIND_PASSWORD_ENV)
    if not password:
        raise UsageError(
            f"[console.directory] bind_dn needs a password: bind_password_file or "
            f"${BIND_PASSWORD_ENV}"
        )
    return password


def _server(settings: DirectorySettings) -> Server:
    tls = None
    if settings.url.startswith("ldaps://") or settings.start_tls:
        tls = Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=str(settings.ca_file) if settings.ca_file else None,
        )
    return Server(settings.url, connect_timeout=settings.timeout_seconds, get_info=NONE, tls=tls)


def _connect(settings: DirectorySettings, user: str | None, password: str | None) -> Connection:
    """An opened (and, with start_tls, encrypted) connection, not yet bound."""
    connection = Connection(
        _server(settings),
        user=user,
        password=password,
        receive_timeout=math.ceil(settings.timeout_seconds),  # ldap3 wants whole seconds
        raise_exceptions=False,
        read_only=True,
    )
    try:
        connection.open()
        if settings.start_tls:
            connection.start_tls()
    except LDAPException as exc:
        raise DirectoryUnavailable(str(exc)) from exc
    return connection


def _one_value(found: set[str], what: str) -> str:
    if not found:
        raise DirectoryRefused(f"in no directory group that gives a {what}")
    if len(found) > 1:
        raise DirectoryRefused(f"directory groups give more than one {what}")
    return found.pop()


def authenticate(settings: DirectorySettings, username: str, password: str) -> DirectoryAccount:
    """The account ``username`` if ``password`` is its directory password and it may log in;
    DirectoryRefused or DirectoryUnavailable otherwise."""
    if not password:
        raise DirectoryRefused("empty password")  # an empty bind is anonymous in LDAP
    service = _connect(settings, settings.bind_dn, bind_password(settings))
    try:
        try:
            if not service.bind():
                raise DirectoryUnavailable(f"the service account cannot bind: {service.result}")
            service.search(
                settings.user_base,
                settings.user_filter.format(username=escape_filter_chars(username)),
                SUBTREE,
                attributes=["cn", "displayName"],
                size_limit=2,
            )
            found = [e for e in service.response or [] if e.get("type") == "searchResEntry"]
            if len(found) != 1:
                raise DirectoryRefused("unknown user" if not found else "ambiguous user")
            dn = str(found[0]["dn"])
            attributes = found[0].get("attributes") or {}
            if not _bind_as(settings, dn, password):
                raise DirectoryRefused("wrong password")
            if settings.disabled_filter and service.search(
                dn, settings.disabled_filter, BASE, attributes=[]
            ):
                raise DirectoryRefused("account disabled")
            service.search(
                settings.group_base,
                settings.group_filter.format(dn=escape_filter_chars(dn)),
                SUBTREE,
                attributes=[],
            )
            groups = {
                _dn_key(str(e["dn"]))
                for e in service.response or []
                if e.get("type") == "searchResEntry"
            }
        except LDAPException as exc:
            raise DirectoryUnavailable(str(exc)) from exc
    finally:
        service.unbind()
    roles = {role for dn, role in settings.role_groups.items() if _dn_key(dn) in groups}
    units = {unit for dn, unit in settings.unit_groups.items() if _dn_key(dn) in groups}
    name = attributes.get("displayName") or attributes.get("cn") or username
    if isinstance(name, list):
        name = name[0] if name else username
    return DirectoryAccount(
        username=username,
        display_name=str(name)[:200],
        role=_one_value(roles, "role"),
        unit=_one_value(units, "unit"),
    )


def _bind_as(settings: DirectorySettings, dn: str, password: str) -> bool:
    connection = _connect(settings, dn, password)
    try:
        return bool(connection.bind())
    except LDAPException as exc:
        raise DirectoryUnavailable(str(exc)) from exc
    finally:
        connection.unbind()
