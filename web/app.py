"""The console's application factory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    redirect,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from evidence_store import PRIVATE, FilesystemStore, NameTaken, UsageError, write_once
from evidence_store.bucket import LayeredStore, RetentionPolicy, S3Access, S3Store
from evidence_store.index import SessionIndex
from evidence_store.installation import DataDir
from web import audit
from web.access import init_access, public
from web.auth import sessions as login_sessions
from web.display import init_display
from web.error_pages import MAX_FORM_BYTES, init_error_pages
from web.extensions import babel, csrf, db, limiter, login_manager
from web.jobs import JobRunner, Schedule
from web.metrics import init_metrics
from web.models import User
from web.recorders import room_key
from web.schema import upgrade_database
from web.settings import ConsoleSettings

SUPPORTED_LANGUAGES = ("vi", "en")
MIN_SECRET_BYTES = 32  # the key that signs session cookies: guessable below this
SECRET_ENV = "SEALROOM_SECRET_KEY"  # noqa: S105 -- the variable's name, not a secret


def create_app(
    data: DataDir, settings: ConsoleSettings | None = None, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build a console bound to one installation's data directory (and its object store,
    when ``[evidence.s3]`` or ``SEALROOM_S3_*`` in ``environ`` name one)."""
    settings = settings or ConsoleSettings()
    data.secure()  # owner-only files; an installation open to others is tightened, warned
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(data.root, settings),
        SQLALCHEMY_DATABASE_URI=settings.database_url or f"sqlite:///{data.root / 'console.db'}",
        # A connection that died with a restarted database is replaced before use, so the
        # console recovers by itself instead of failing requests until it is restarted.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="sealroom_session",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_absolute_hours),
        # The cookie is sent back only when the session changed: a poll or a picture answered
        # after the language was switched would otherwise put back the cookie from before.
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the login session instead
        BABEL_DEFAULT_LOCALE=settings.default_language,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        SEALROOM_SETTINGS=settings,
    )
    init_metrics(app)  # first: its clock starts before any other hook runs
    if settings.proxy_hops:  # behind nginx: the client's address, not the proxy's
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    babel.init_app(app, locale_selector=_locale)

    store = data.store(create=True)
    signer = data.signer()
    app.extensions[audit.EXTENSION_KEY] = data.custody(store, signer)
    app.extensions["sealroom.data"] = data
    app.extensions["sealroom.local_store"] = store
    app.extensions["sealroom.store"] = evidence_reader(data, store, environ)
    app.extensions["sealroom.session_index"] = SessionIndex.open(
        data.index_url(), policy=RetentionPolicy(data.settings.s3.retention)
    )

    with app.app_context():
        upgrade_database(db.engine)

    init_access(app)
    init_display(app)
    _register_blueprints(app)
    if settings.run_jobs:
        _own_job_runner(app, data, settings, environ)
    init_error_pages(app)
    _security_headers(app)
    _warn_without_room_key(app, data, settings)

    @login_manager.user_loader
    def load_user(token: str) -> User | None:
        # The cookie names a login session on the server, which may have ended since.
        return login_sessions.load(token, current_app.config["SEALROOM_SETTINGS"])

    @app.get("/")
    @public
    def home() -> Response:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return redirect(url_for("auth.landing"))

    @app.get("/language/<code>")
    @public
    def language(code: str) -> Response:
        # ``next`` is the page's path, query and #fragment (the fragment added by
        # console.js as the link is clicked: the browser never sends it).
        if code in SUPPORTED_LANGUAGES:
            session["lang"] = code
        return redirect(_same_site(request.args.get("next", "")) or url_for("home"))

    app.add_template_global(language_return)

    @app.get("/favicon.ico")
    @public
    def favicon() -> Response:
        # Browsers ask for it at the root whatever the page links to.
        return send_from_directory(str(app.static_folder), "favicon.ico", max_age=86400)

    return app


def evidence_reader(
    data: DataDir, local: FilesystemStore, environ: Mapping[str, str] | None
) -> LayeredStore:
    """What the console reads evidence through: the local spool, then the bucket for
    sessions the uploader has released."""
    s3 = data.settings.s3
    if not s3.with_environment(environ).endpoint:
        return LayeredStore(local, None)
    access = S3Access.from_settings(s3, environ)  # incomplete settings fail at start-up
    return LayeredStore(local, lambda: S3Store.connect(access))


def job_runner(
    app: Flask,
    data: DataDir,
    settings: ConsoleSettings,
    environ: Mapping[str, str] | None = None,
) -> JobRunner:
    """The runner of this installation's jobs, with the catalog's reconcile on its schedule
    (not started)."""
    from evidence_store.cli import reconcile_installation
    from web.exports import EXPORT_JOB, run_export

    def reconcile() -> object:
        return reconcile_installation(data, environ=environ).as_dict()

    schedule = Schedule("catalog reconcile", settings.reconcile_minutes * 60, reconcile)
    return JobRunner(app, {EXPORT_JOB: run_export}, schedules=[schedule])


def _own_job_runner(
    app: Flask, data: DataDir, settings: ConsoleSettings, environ: Mapping[str, str] | None
) -> None:
    """A console that runs its own jobs: its runner starts with the first job it queues, or
    when it is served (``start_jobs``)."""
    from web.exports import JOBS_KEY

    app.extensions[JOBS_KEY] = job_runner(app, data, settings, environ)


def start_jobs(app: Flask) -> None:
    """Start this console's own runner, if it runs its jobs (reconciling at once)."""
    from web.exports import JOBS_KEY

    if (runner := app.extensions.get(JOBS_KEY)) is not None:
        runner.start(scheduled=True)


def _register_blueprints(app: Flask) -> None:
    from web.admin import blueprint as admin
    from web.alarms import blueprint as alarms
    from web.auth import blueprint as auth
    from web.catalog import blueprint as catalog
    from web.clips import blueprint as exhibits
    from web.courtroom import blueprint as courtroom
    from web.custody import blueprint as custody
    from web.diagrams import blueprint as diagrams
    from web.exports import blueprint as exports
    from web.review import blueprint as review
    from web.terminal import blueprint as terminal
    from web.wall import blueprint as wall

    every = (
        auth,
        review,
        custody,
        admin,
        terminal,
        exhibits,
        diagrams,
        courtroom,
        exports,
        catalog,
        alarms,
        wall,
    )
    for blueprint in every:
        app.register_blueprint(blueprint)


def language_return() -> str:
    """Where the language links lead back to: this page when it answers a GET. A page
    answering a form (POST) is no address to return to (a GET there is a 405): the page the
    form was on, when the browser names it and it is on this console, else the start page."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    return _referring_page() or url_for("home")


def _referring_page() -> str | None:
    referrer = urlsplit(request.referrer or "")
    if (referrer.scheme, referrer.netloc) != (request.scheme, request.host):
        return None
    return _same_site(f"{referrer.path}?{referrer.query}" if referrer.query else referrer.path)


def _same_site(path: str) -> str | None:
    """A path on this console to go back to; anything else (another site) is ignored."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return None


def _locale() -> str:
    chosen = session.get("lang")
    if chosen in SUPPORTED_LANGUAGES:
        return str(chosen)
    settings: ConsoleSettings = current_app.config["SEALROOM_SETTINGS"]
    return settings.default_language


def _secret_key(root: Path, settings: ConsoleSettings) -> str:
    """From the environment or a file; generated once per installation, never a default.
    A key shorter than 32 bytes is refused: the console does not start with it."""
    if from_env := os.environ.get(SECRET_ENV):
        return _long_enough(from_env, f"${SECRET_ENV}")
    path = settings.secret_key_file or root / "console-secret"
    if not path.exists():
        # Whole or absent, never half-written; a console starting alongside may win the race.
        with suppress(NameTaken):
            write_once(path, secrets.token_urlsafe(48).encode(), mode=PRIVATE)
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(f"cannot read the console's secret key {path}: {exc.strerror}") from exc
    return _long_enough(key, str(path))


def _long_enough(key: str, where: str) -> str:
    if len(key.encode()) < MIN_SECRET_BYTES:
        raise UsageError(
            f"the console's secret key ({where}) has {len(key.encode())} bytes; it needs at "
            f"least {MIN_SECRET_BYTES}. Make one with: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'"
        )
    return key


def _warn_without_room_key(app: Flask, data: DataDir, settings: ConsoleSettings) -> None:
    """The room terminal drives each recorder with a token made from the installation's
    room key; without a readable key it cannot, so say so at start rather than at the first
    button pressed."""
    try:
        room_key(data.root, settings)
    except UsageError as problem:
        app.logger.warning(
            "no recorder credential (%s): the room terminal cannot control any recorder",
            problem,
        )


def _security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
            "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.endpoint not in ("static", "favicon"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
