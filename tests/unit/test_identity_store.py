"""Who is acting: the OS login on SQLite, the database login on PostgreSQL; `--as` only in
a demo database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from scheduler import services
from scheduler.errors import InvalidInput, PermissionDenied
from scheduler.models import PostState
from scheduler.store import Store
from tests.conftest import PgSchema, SettableClock


def test_the_first_login_becomes_admin_and_only_once(store: Store) -> None:
    first = services.init_database(store)
    assert first.login == store.login()
    assert first.role.value == "admin"
    assert services.init_database(store).id == first.id  # running it again changes nothing
    actor = services.resolve_actor(store)
    assert (actor.login, actor.role.value, actor.demo) == (first.login, "admin", False)


def test_as_switches_identity_only_in_a_demo_database(store: Store) -> None:
    first = services.init_database(store)
    me = services.resolve_actor(store)
    services.add_user(store, me, "bob", role="approver")
    with pytest.raises(PermissionDenied, match="--as works only in a demo database"):
        services.resolve_actor(store, "bob")
    # Naming yourself is not switching.
    assert services.resolve_actor(store, first.login).login == first.login
    services.mark_demo(store)
    bob = services.resolve_actor(store, "bob")
    assert (bob.login, bob.role.value, bob.demo) == ("bob", "approver", True)
    with pytest.raises(PermissionDenied, match="not a Gatepost user"):
        services.resolve_actor(store, "nobody")


def test_deactivated_people_are_shut_out(store: Store) -> None:
    services.init_database(store)
    me = services.resolve_actor(store)
    services.add_user(store, me, "carl")
    services.mark_demo(store)
    services.set_user_active(store, me, "carl", False)
    with pytest.raises(PermissionDenied, match="deactivated"):
        services.resolve_actor(store, "carl")
    with pytest.raises(InvalidInput, match="last admin"):
        services.set_user_active(store, me, me.login, False)


class PgLogins:
    """PostgreSQL roles that log in as Gatepost people, allowed into one test schema."""

    def __init__(self, schema: PgSchema) -> None:
        self.schema = schema
        self.suffix = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self._admin = sa.create_engine(schema.base_url, isolation_level="AUTOCOMMIT")

    def role(self, person: str) -> str:
        name = f"gp_{person}_{self.suffix}"
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE ROLE "{name}" LOGIN'))
            conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{self.schema.name}" TO "{name}"'))
            for what in ("TABLES", "SEQUENCES"):
                conn.execute(
                    sa.text(f'GRANT ALL ON ALL {what} IN SCHEMA "{self.schema.name}" TO "{name}"')
                )
        self.created.append(name)
        return name

    def url_for(self, role: str) -> str:
        url = sa.engine.make_url(self.schema.url).set(username=role)
        return url.render_as_string(hide_password=False)

    def drop(self) -> None:
        with self._admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP OWNED BY "{name}"'))
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{name}"'))
        self._admin.dispose()


@pytest.fixture
def pg_logins(pg_schema: PgSchema) -> Iterator[PgLogins]:
    logins = PgLogins(pg_schema)
    try:
        yield logins
    finally:
        logins.drop()


@pytest.mark.postgres
def test_postgresql_people_are_their_database_logins(
    pg_schema: PgSchema, pg_logins: PgLogins, clock: SettableClock
) -> None:
    owner = Store(pg_schema.url, clock=clock)
    admin_view = services.init_database(owner)
    admin = services.resolve_actor(owner)
    assert admin.login == admin_view.login == sa.engine.make_url(pg_schema.url).username
    alice_role, bob_role = pg_logins.role("alice"), pg_logins.role("bob")
    services.add_user(owner, admin, alice_role, role="author")
    services.add_user(owner, admin, bob_role, role="approver")
    services.add_account(owner, admin, "news", platform="outbox", require_approval=True)

    as_alice = Store(pg_logins.url_for(alice_role), clock=clock)
    as_bob = Store(pg_logins.url_for(bob_role), clock=clock)
    try:
        alice = services.resolve_actor(as_alice)
        bob = services.resolve_actor(as_bob)
        assert (alice.login, bob.login) == (alice_role, bob_role)
        # Being someone else needs their database password, not a flag.
        with pytest.raises(PermissionDenied, match="--as works only in a demo"):
            services.resolve_actor(as_alice, bob_role)
        post = services.create_post(
            as_alice, alice, account="news", text="Open day", at="2026-12-01 09:00"
        )
        services.submit_post(as_alice, alice, post.id)
        with pytest.raises(PermissionDenied):
            services.approve_post(as_alice, alice, post.id)
        approved = services.approve_post(as_bob, bob, post.id)
        assert approved.state is PostState.SCHEDULED
        assert approved.approval is not None and approved.approval.approver == bob_role
        assert services.verify_audit(owner).ok
    finally:
        as_alice.dispose()
        as_bob.dispose()
        owner.dispose()
