"""The store: one SQLite file by default, or PostgreSQL for several machines.

``Store(url)`` opens the database and brings it to the newest schema (Alembic) on first
use. ``store.read()`` gives a session for reading; ``store.write()`` a session whose
transaction commits on success. On SQLite a write transaction starts with
``BEGIN IMMEDIATE`` so a read-then-write cannot fail half-way with "database is locked";
WAL mode and a busy timeout let the TUI and the daemon write at the same time.
"""

from __future__ import annotations

import functools
import getpass
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from platformdirs import user_data_dir
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from scheduler.errors import StoreError
from scheduler.times import Clock, system_clock

ENV_DATABASE_URL = "GATEPOST_DATABASE_URL"
ENV_DATA_DIR = "GATEPOST_DATA_DIR"
DATABASE_FILE = "gatepost.sqlite3"
BUSY_TIMEOUT_MS = 10_000
_WRITE = "gatepost_write"
# Any constant will do: it only has to be the same for every Gatepost process.
_PG_MIGRATION_LOCK = 0x6761_7465
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


@functools.cache
def schema_head() -> str:
    """The newest migration, read from the scripts' ``revision``/``down_revision`` lines.

    Every command checks the database against it; reading two lines per script is much
    cheaper than loading Alembic, which is only imported when there is something to do.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        found = _REVISION.search(text)
        if found:
            revisions.add(found.group(1))
        parents.update(_DOWN_REVISION.findall(text))
    heads = revisions - parents
    if len(heads) != 1:
        raise StoreError(f"the migrations have {len(heads)} heads; expected one")
    return heads.pop()


def data_dir() -> Path:
    """Where Gatepost keeps its files: ``GATEPOST_DATA_DIR`` or the user data directory."""
    override = os.environ.get(ENV_DATA_DIR)
    return Path(override) if override else Path(user_data_dir("gatepost", appauthor=False))


def default_url() -> str:
    """``GATEPOST_DATABASE_URL`` if set, else the SQLite file in :func:`data_dir`."""
    configured = os.environ.get(ENV_DATABASE_URL)
    if configured:
        return configured
    return sqlite_url(data_dir() / DATABASE_FILE)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def _migrations_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of Gatepost (read from the scripts)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_migrations_config()).get_current_head()
    assert head is not None
    return head


class Store:
    """A Gatepost database: engine, sessions, migrations, and who is using it.

    ``url`` is a SQLAlchemy URL (``None``: :func:`default_url`). ``migrate`` brings the
    schema to head on construction. ``clock`` is the source of "now" for every service
    (tests pass a settable one). Raises ``StoreError`` when the database cannot be opened.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        migrate: bool = True,
        clock: Clock = system_clock,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        self.url = url or default_url()
        self.clock = clock
        try:
            parsed = sa.engine.make_url(self.url)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the database URL: {exc}") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create the database folder: {exc}") from exc
        elif self.dialect != "postgresql":
            raise StoreError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        try:
            self.engine = self._make_engine(engine_options or {})
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open the database: {exc}") from exc
        self._writer = self.engine.execution_options(**{_WRITE: True})
        if migrate:
            self.ensure_schema()

    # -- engine ------------------------------------------------------------------------

    def _make_engine(self, options: dict[str, Any]) -> Engine:
        if self.dialect == "sqlite":
            engine = sa.create_engine(
                self.url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **options
            )
            _configure_sqlite(engine)
            return engine
        return sa.create_engine(self.url, pool_pre_ping=True, **options)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def now(self) -> datetime:
        """The current time from the store's clock (aware UTC)."""
        return self.clock()

    def describe(self) -> str:
        """The database URL without its password, for messages."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    # -- sessions ----------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; its transaction ends (rolled back) when the block ends.

        Objects read stay usable after the block (the session is closed, not expired).
        """
        with self._session(self.engine) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends without an error.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (the write lock is
        taken before the first read).
        """
        with self._session(self._writer) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def _session(self, bind: Engine) -> Iterator[Session]:
        session = Session(bind, expire_on_commit=False, autoflush=True)
        try:
            yield session
        except OperationalError as exc:
            raise StoreError(f"database error: {_first_line(exc)}") from exc
        finally:
            session.close()

    # -- identity ----------------------------------------------------------------------

    def login(self) -> str:
        """Who is using the store: the OS login (SQLite) or the database user (PostgreSQL)."""
        if self.is_sqlite:
            return getpass.getuser()
        with self.engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT current_user")).scalar_one())

    # -- schema ------------------------------------------------------------------------

    def current_revision(self) -> str | None:
        """The schema revision the database is at (``None`` for a new database)."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        return str(rows[0][0]) if len(rows) == 1 else None

    def ensure_schema(self) -> bool:
        """Upgrade to head if the database is behind; return whether it upgraded."""
        try:
            if self.current_revision() == schema_head():
                return False
        except OperationalError as exc:
            raise StoreError(f"cannot open the database: {_first_line(exc)}") from exc
        self.upgrade()
        return True

    def upgrade(self, target: str = "head") -> str:
        """Run the pending migrations up to ``target`` (safe when several processes start
        at once). Returns the revision reached. Raises ``StoreError`` when one fails."""
        from alembic import command

        config = _migrations_config()
        try:
            with self._writer.connect() as conn:
                raw = conn.connection.driver_connection if self.is_sqlite else None
                if raw is not None:
                    # SQLite's batch migrations copy and drop tables; with foreign keys
                    # on, dropping a table deletes (cascades to) the rows that point at
                    # it. The pragma only works outside a transaction, so it is set on the
                    # raw connection before ours begins, and checked after.
                    raw.execute("PRAGMA foreign_keys = OFF")
                try:
                    with conn.begin():
                        if not self.is_sqlite:
                            conn.execute(
                                sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                {"key": _PG_MIGRATION_LOCK},
                            )
                        config.attributes["connection"] = conn
                        command.upgrade(config, target)
                        if raw is not None:
                            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                            if broken:
                                raise StoreError(
                                    f"a migration left {len(broken)} rows pointing at "
                                    f"nothing (first in table {broken[0][0]}); nothing changed"
                                )
                finally:
                    if raw is not None:
                        raw.execute("PRAGMA foreign_keys = ON")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the database: {_first_line(exc)}") from exc
        return self.current_revision() or ""

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    """WAL, busy timeout, foreign keys, and our own BEGIN (SQLAlchemy's pysqlite recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from issuing BEGIN itself (and from committing before DDL).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk before it returns. The daemon commits a post's claim
        # and attempt before sending it; were that commit lost to a power cut after the
        # post went out, the post would look unsent and go out again.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
