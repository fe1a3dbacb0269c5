"""Random sequences of actions by random people, checked against what must always hold:

- nothing reaches ``publishing`` unless an approval covers the post exactly as it stands
  (even when someone changes the text behind the services' back);
- nobody approves a post they wrote;
- the audit chain is never broken.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from scheduler import lifecycle, services
from scheduler.errors import GatepostError
from scheduler.models import Approval, Post, PostState
from scheduler.store import Store, sqlite_url
from scheduler.views import Actor
from tests.conftest import SettableClock, Team

TEXTS = [
    "Open day on Saturday!",
    "Graduation photos are up: https://example.ac.uk/grad",
    "Questions? Email admissions.help@example.ac.uk",  # a review finding
    "Our NI number is QQ 12 34 56 C",  # a block finding
    "",
]
TIMES = ["2026-12-01 09:00", "2026-12-02 10:30", "2027-01-15 12:00"]
_TEMPLATE: dict[str, Path] = {}


def _template() -> Path:
    """A migrated database with the team, made once and copied for every example."""
    if "path" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="gatepost-machine-"))
        store = Store(sqlite_url(folder / "template.sqlite3"), clock=SettableClock())
        Team(store)
        store.dispose()
        _TEMPLATE["path"] = folder / "template.sqlite3"
    return _TEMPLATE["path"]


class PostLifecycle(RuleBasedStateMachine):
    posts = Bundle("posts")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="gatepost-example-"))
        shutil.copy(_template(), self.folder / "gatepost.sqlite3")
        self.store = Store(sqlite_url(self.folder / "gatepost.sqlite3"), clock=SettableClock())
        login = self.store.login()
        self.people = {
            login: Actor(login, services.get_user(self.store, login).role),
            **{
                name: Actor(name, services.get_user(self.store, name).role)
                for name in ("alice", "dave", "bob", "carol")
            },
        }
        # What each post's text was when it was last approved (by a person or the gate).
        self.approved_text: dict[int, str] = {}

    def teardown(self) -> None:
        self.store.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def actor(self, name: str) -> Actor:
        return self.people[name]

    people_names = st.sampled_from(["alice", "dave", "bob", "carol"])

    def _note_approval(self, post_id: int) -> None:
        post = services.get_post(self.store, post_id)
        if post.state is PostState.SCHEDULED:
            self.approved_text[post_id] = post.text

    @rule(
        target=posts,
        who=people_names,
        account=st.sampled_from(["uni-news", "uni-research"]),
        text=st.sampled_from(TEXTS),
        at=st.sampled_from(TIMES),
    )
    def create(self, who: str, account: str, text: str, at: str) -> int:
        post = services.create_post(self.store, self.actor(who), account=account, text=text, at=at)
        return post.id

    @rule(post=posts, who=people_names, text=st.sampled_from(TEXTS))
    def edit(self, post: int, who: str, text: str) -> None:
        try:
            services.edit_post(self.store, self.actor(who), post, text=text)
        except GatepostError:
            pass

    @rule(post=posts, who=people_names)
    def submit(self, post: int, who: str) -> None:
        try:
            services.submit_post(self.store, self.actor(who), post)
        except GatepostError:
            return
        self._note_approval(post)

    @rule(post=posts)
    def submit_as_author(self, post: int) -> None:
        author = services.get_post(self.store, post).author
        self.submit(post, author)

    @rule(post=posts, who=people_names)
    def sign_off(self, post: int, who: str) -> None:
        findings = services.list_findings(self.store, post)
        for finding in findings:
            try:
                services.sign_off_finding(
                    self.store, self.actor(who), post, finding.id, comment="looked at it"
                )
            except GatepostError:
                pass

    @rule(post=posts, who=people_names)
    def approve(self, post: int, who: str) -> None:
        try:
            services.approve_post(self.store, self.actor(who), post)
        except GatepostError:
            return
        self._note_approval(post)

    @rule(post=posts, who=people_names)
    def reject(self, post: int, who: str) -> None:
        try:
            services.reject_post(self.store, self.actor(who), post, comment="not yet")
        except GatepostError:
            pass

    @rule(post=posts, who=people_names)
    def cancel(self, post: int, who: str) -> None:
        try:
            services.cancel_post(self.store, self.actor(who), post)
        except GatepostError:
            pass

    @rule(post=posts, text=st.sampled_from(TEXTS))
    def tamper(self, post: int, text: str) -> None:
        # Someone with the database file changes a post without going through the services.
        with self.store.write() as session:
            row = session.get(Post, post)
            assert row is not None
            row.text = text + " (changed)"
            session.add(row)

    @rule()
    def daemon_claims_everything_scheduled(self) -> None:
        # As the daemon does when posts fall due: claim each scheduled post and publish it.
        with self.store.write() as session:
            rows = session.execute(
                sa.select(Post).where(Post.state == PostState.SCHEDULED.value)
            ).scalars()
            for row in list(rows):
                try:
                    lifecycle.transition(
                        session,
                        row,
                        PostState.PUBLISHING,
                        action="claim",
                        actor="daemon",
                        now=self.store.now(),
                    )
                except GatepostError:
                    continue
                # It was allowed: it must be exactly what was approved.
                assert row.text == self.approved_text.get(row.id), row.text
                lifecycle.transition(
                    session,
                    row,
                    PostState.PUBLISHED,
                    action="published",
                    actor="daemon",
                    now=self.store.now(),
                )

    @invariant()
    def nobody_approved_their_own_post(self) -> None:
        with self.store.read() as session:
            own = session.execute(
                sa.select(Approval.id)
                .join(Post, Post.id == Approval.post_id)
                .where(Approval.approver == Post.author, sa.not_(Approval.automatic))
            ).all()
        assert own == []

    @invariant()
    def audit_chain_holds(self) -> None:
        report = services.verify_audit(self.store)
        assert report.ok, report.problem


PostLifecycle.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPostLifecycle = PostLifecycle.TestCase
