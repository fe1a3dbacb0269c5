"""Shared fixtures: a settable clock, and a store on SQLite and (when configured) PostgreSQL.

The ``store`` fixture runs each test twice: on a SQLite file in the test's temporary
folder, and on PostgreSQL in a schema of its own (dropped afterwards) when
``GATEPOST_TEST_PG_URL`` is set. Without it the PostgreSQL half is skipped with a reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from scheduler.store import Store, sqlite_url

PG_ENV = "GATEPOST_TEST_PG_URL"
#: The fixed "now" of the tests: a Thursday in late November (GMT, no clock change near).
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class SettableClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


def pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


_PG_SQL: dict[str, str] = {}


def _pg_migration_sql(base_url: str) -> str:
    """Every migration, as the SQL Alembic would run on PostgreSQL."""
    if "sql" not in _PG_SQL:
        import io

        from alembic import command

        from scheduler.store import _migrations_config

        config = _migrations_config()
        config.output_buffer = io.StringIO()
        config.set_main_option("sqlalchemy.url", base_url)
        command.upgrade(config, "head", sql=True)
        _PG_SQL["sql"] = config.output_buffer.getvalue()
    return _PG_SQL["sql"]


class PgSchema:
    """A PostgreSQL schema of its own for one test, and a URL whose search_path uses it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.name = f"t_{uuid.uuid4().hex[:16]}"
        self._admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.name}"'))

    def migrate(self) -> None:
        """Bring the schema to head with the migrations' own SQL, rendered once per run
        (Alembic's offline mode), which is much quicker than running Alembic per test."""
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'SET search_path TO "{self.name}"')
            conn.exec_driver_sql(_pg_migration_sql(self.base_url))

    @property
    def url(self) -> str:
        url = sa.engine.make_url(self.base_url).update_query_dict(
            {"options": f"-csearch_path={self.name}"}
        )
        return url.render_as_string(hide_password=False)

    def drop(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self._admin.dispose()


@pytest.fixture
def pg_schema() -> Iterator[PgSchema]:
    base = pg_base_url()
    if base is None:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV} (CI sets it; e.g. {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    schema = PgSchema(base)
    try:
        yield schema
    finally:
        schema.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for a new database on each backend. The PostgreSQL schema is already at head
    (from the migrations' SQL); ``pg_schema`` gives an empty one, for the store to migrate."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "gatepost.sqlite3")
        return
    schema = request.getfixturevalue("pg_schema")
    schema.migrate()
    yield schema.url


@pytest.fixture
def store(store_url: str, clock: SettableClock) -> Iterator[Store]:
    """A migrated store on SQLite and PostgreSQL, with the test's clock."""
    opened = Store(store_url, clock=clock)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: SettableClock) -> Iterator[Store]:
    """A migrated SQLite store only (for tests about SQLite itself)."""
    opened = Store(sqlite_url(tmp_path / "gatepost.sqlite3"), clock=clock)
    try:
        yield opened
    finally:
        opened.dispose()


def make_png(seed: int, size: tuple[int, int] = (96, 96)) -> bytes:
    """A small PNG whose picture depends on ``seed`` (different seeds look different)."""
    import io
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = x0 + rng.randrange(10, 60), y0 + rng.randrange(10, 60)
        draw.rectangle((x0, y0, x1, y1), fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class Team:
    """The people of a test database: the first admin, two authors and two approvers."""

    def __init__(self, store: Store) -> None:
        from scheduler import services
        from scheduler.views import Actor

        first = services.init_database(store)
        self.admin = Actor(first.login, first.role)
        made = {}
        for login, role in (
            ("alice", "author"),
            ("dave", "author"),
            ("bob", "approver"),
            ("carol", "approver"),
        ):
            view = services.add_user(store, self.admin, login, role=role)
            made[login] = Actor(view.login, view.role)
        self.alice, self.dave = made["alice"], made["dave"]
        self.bob, self.carol = made["bob"], made["carol"]
        self.news = services.add_account(
            store, self.admin, "uni-news", platform="outbox", options={"dir": "outbox"}
        )
        self.strict = services.add_account(
            store,
            self.admin,
            "uni-research",
            platform="outbox",
            options={"dir": "outbox"},
            require_approval=True,
        )


@pytest.fixture
def team(store: Store) -> Team:
    return Team(store)


@pytest.fixture
def gatepost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `gatepost ARGS` in-process as a given login, on a new database in ``tmp_path``
    whose first admin is ``ada``."""
    from click.testing import CliRunner

    from tui.cli import cli

    monkeypatch.delenv("GATEPOST_DATABASE_URL", raising=False)
    monkeypatch.setenv("GATEPOST_DATA_DIR", str(tmp_path))
    runner = CliRunner()

    def invoke(login: str, *args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), env={"LOGNAME": login, "USER": login})

    assert invoke("ada", "init").exit_code == 0
    return invoke
