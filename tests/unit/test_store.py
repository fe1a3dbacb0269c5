"""The store: where the database lives, migrations, SQLite settings, concurrent writers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from scheduler import services
from scheduler.errors import StoreError
from scheduler.models import Setting
from scheduler.store import Store, data_dir, default_url, head_revision, schema_head, sqlite_url
from tests.conftest import PgSchema


def test_default_database_lives_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEPOST_DATABASE_URL", raising=False)
    monkeypatch.setenv("GATEPOST_DATA_DIR", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data"
    store = Store()
    try:
        assert store.url == sqlite_url(tmp_path / "data" / "gatepost.sqlite3")
        assert (tmp_path / "data" / "gatepost.sqlite3").exists()
    finally:
        store.dispose()


def test_database_url_from_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEPOST_DATABASE_URL", sqlite_url(tmp_path / "elsewhere.db"))
    monkeypatch.setenv("GATEPOST_DATA_DIR", str(tmp_path / "data"))
    assert default_url() == sqlite_url(tmp_path / "elsewhere.db")


def test_quick_schema_head_agrees_with_alembic() -> None:
    # Commands compare the database with a head read from the scripts without Alembic.
    assert schema_head() == head_revision()


def test_new_database_is_brought_to_head(store: Store) -> None:
    assert store.current_revision() == head_revision()


@pytest.mark.postgres
def test_empty_postgresql_schema_is_migrated_on_first_use(pg_schema: PgSchema) -> None:
    opened = Store(pg_schema.url)
    try:
        assert opened.current_revision() == head_revision()
        assert opened.ensure_schema() is False
    finally:
        opened.dispose()


def test_unmigrated_database_is_upgraded_on_first_use(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    bare = Store(url, migrate=False)
    assert bare.current_revision() is None
    bare.dispose()
    upgraded = Store(url)
    try:
        assert upgraded.current_revision() == head_revision()
        assert upgraded.ensure_schema() is False  # nothing left to do
    finally:
        upgraded.dispose()


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(StoreError, match="unsupported database"):
        Store("mysql://somewhere/db")


def test_database_under_a_file_gives_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the database folder"):
        Store(sqlite_url(tmp_path / "a-file" / "gatepost.sqlite3"))


def test_unreachable_postgresql_gives_a_store_error() -> None:
    # Port 1 on loopback: nothing listens there.
    with pytest.raises(StoreError, match="cannot open the database"):
        Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_sqlite_is_set_up_for_two_processes(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        # Commits reach the disk before they return (2 = FULL): a claim survives a power cut.
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_sqlite_write_transactions_begin_immediate(sqlite_store: Store) -> None:
    # Two writers that each read and then write: with a deferred BEGIN the second would
    # fail with "database is locked" on its upgrade to a write lock; with BEGIN IMMEDIATE
    # it waits for the first one instead.
    services.mark_demo(sqlite_store)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def bump() -> None:
        try:
            barrier.wait()
            for _ in range(20):
                with sqlite_store.write() as session:
                    row = session.get(Setting, "demo")
                    assert row is not None
                    row.value = str(int(row.value) + 1)
                    session.add(row)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sqlite_store.read() as session:
        row = session.get(Setting, "demo")
        assert row is not None
        assert row.value == "41"  # 1 + 2 writers x 20 increments, none lost


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO post_assets (post_id, position, asset_id, alt_text) "
                "VALUES (999, 0, 999, '')"
            )
        )


def test_login_names_who_is_using_the_store(store: Store) -> None:
    login = store.login()
    assert login
    if not store.is_sqlite:
        assert login == sa.engine.make_url(store.url).username


def test_an_old_database_keeps_its_data_through_the_upgrade(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    old = Store(url, migrate=False)
    assert old.upgrade("0001") == "0001"
    with old.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO accounts (name, platform, handle, kind, timezone, options, "
                "require_approval, grace_minutes, active, created_at) VALUES ('news', 'outbox', "
                "'', 'official', 'Europe/London', '{}', 0, 15, 1, '2026-11-01 09:00:00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO posts (account_id, author, edited_by, text, links, state, "
                "state_reason, fingerprint, version, created_at, updated_at, attempt_count, "
                "last_error) VALUES (1, 'alice', 'alice', 'kept', '[]', 'draft', '', '', 1, "
                "'2026-11-01 09:00:00', '2026-11-01 09:00:00', 0, '')"
            )
        )
    old.dispose()
    upgraded = Store(url)  # first use brings it to head
    try:
        assert upgraded.current_revision() == head_revision()
        assert services.get_post(upgraded, 1).text == "kept"
        with upgraded.engine.connect() as conn:
            # The migration turned foreign keys off for itself only.
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        upgraded.dispose()


def test_the_migrations_build_exactly_the_tables_the_models_describe(store: Store) -> None:
    # A column added to a model without a migration (or the other way round) shows here.
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from scheduler.models import metadata

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    assert differences == []
