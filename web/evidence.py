"""Typed access to what every page reads: the evidence (the local store, then the bucket),
the installation's data directory, the console's settings, and the index of sessions.

The store holds the truth; the catalog (``evidence_store.index``) is what pages list, search
and look sessions up in: the rooms feed it with their events and the worker reconciles it with
the store, never a request (a page never lists the store: its cost would grow with every
session, and an unknown id would make every request a rebuild).
"""

from __future__ import annotations

from flask import current_app

from evidence_store import FilesystemStore
from evidence_store.bucket import LayeredStore
from evidence_store.index import SessionIndex
from evidence_store.installation import DataDir
from evidence_store.witnessing import witness_url
from web.settings import ConsoleSettings

STORE_KEY = "sealroom.store"
LOCAL_STORE_KEY = "sealroom.local_store"
DATA_KEY = "sealroom.data"
INDEX_KEY = "sealroom.session_index"
SETTINGS_KEY = "SEALROOM_SETTINGS"


def evidence_store() -> LayeredStore:
    """The local store, then the bucket for sessions that have left it."""
    store: LayeredStore = current_app.extensions[STORE_KEY]
    return store


def local_store() -> FilesystemStore:
    """The installation's own write-once store (exports and diagrams are kept beside it)."""
    store: FilesystemStore = current_app.extensions[LOCAL_STORE_KEY]
    return store


def data_dir() -> DataDir:
    """The installation's data directory: keys, trust roots, databases."""
    data: DataDir = current_app.extensions[DATA_KEY]
    return data


def console_settings() -> ConsoleSettings:
    """The ``[console]`` section of the configuration."""
    settings: ConsoleSettings = current_app.config[SETTINGS_KEY]
    return settings


def session_index() -> SessionIndex:
    """The installation's catalog of sessions (the one every page reads)."""
    index: SessionIndex = current_app.extensions[INDEX_KEY]
    return index


def witnessing() -> bool:
    """Whether this installation sends its heads to an off-box witness (the console then
    marks sessions "not yet witnessed" until the witness's receipt for the seal is here)."""
    return witness_url(data_dir().settings) is not None
