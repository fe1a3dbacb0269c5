"""Each text rule: what it holds back, obfuscated forms, and clean look-alikes."""

from __future__ import annotations

import pytest

from compliance import Draft, Policy, Severity, check


def _found(text: str, account_kind: str = "official") -> list[tuple[str, str, str | None]]:
    """(rule, severity, original text under the span) for every finding."""
    verdict = check(Draft(text=text, account_kind=account_kind), Policy.default())
    return [
        (f.rule, f.severity.value, text[f.span[0] : f.span[1]] if f.span else None)
        for f in verdict.findings
    ]


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("What the fuck happened at the match", "fuck"),  # plain
        ("What the FUCK happened", "FUCK"),  # upper case
        ("what the f.u.c.k happened", "f.u.c.k"),  # letters split by dots
        ("what the f u c k happened", "f u c k"),  # letters split by spaces
        ("what the f-u-c-k happened", "f-u-c-k"),  # letters split by hyphens
        ("total sh1t result", "sh1t"),  # leet 1 for i
        ("total sh!t result", "sh!t"),  # ! for i inside the word
        ("what the he11 is this", "he11"),  # leet 1 for l
        ("you absolute b1tch", "b1tch"),  # leet in a different word
        ("such a d1ckhead move", "d1ckhead"),  # leet compound
        ("such a @$$hole", "@$$hole"),  # symbols for letters
        ("f*ck this weather", "f*ck"),  # masked vowel
        ("f**k this weather", "f**k"),  # two masked letters
        ("fսck this", "fսck"),  # Armenian/Cyrillic look-alike letter
        ("ｆｕｃｋ this", "ｆｕｃｋ"),  # full-width letters
        ("f\u200buck this", "f\u200buck"),  # zero-width space inside the word
        ("f\u202eu\u202cck this", "f\u202eu\u202cck"),  # bidi controls inside the word
        ("Shit!", "Shit"),  # word followed by punctuation
        ("what a bunch of wankers", "wankers"),  # the policy's own addition
        ("oh bollocks, rain again", "bollocks"),  # the policy's own addition
        ("these dicks parked in the bay", "dicks"),  # plural of a listed word
    ],
)
def test_offensive_language_is_found_through_obfuscation(text: str, flagged: str) -> None:
    assert ("offensive", "review", flagged) in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe United visit the sports centre on Saturday",  # town with a word inside
        "Your assessment deadline is Friday",  # "ass" inside a word
        "Welcome to the class of 2026!",  # "ass" at the end of a word
        "Essex and Sussex alumni meet in London",  # "sex" inside a word
        "Cocktail evening for postgraduate researchers",  # "cock" inside a word
        "Book a session with a student therapist",  # "rapist" inside a word
        "Grape harvest research at the botanic garden",  # "rape" inside a word
        "Dickens reading group meets on Tuesday",  # "dick" inside a name
        "She graduated magna cum laude in physics",  # excepted phrase
        "A blue tit nesting in the quad camera",  # excepted phrase (a bird)
        "Roadworks on the A55 near campus",  # a road number is not leetspeak
        "Organ recital in the Great Hall tonight",  # excepted: ordinary word
        "New stroke research funded by the NIHR",  # excepted: medicine
        "Breast cancer awareness week: free talks",  # "breasts" excepted, "breast" unlisted
        "LGBT+ History Month: gay and lesbian lives in the archive",  # not slurs
        "Cheers to the 3 Peaks team, they did it in 24 hours",  # digits as digits
        "Hello!!! Great turnout today",  # punctuation only
        "She passed her viva, class act",  # "class" whole
        "Our sniper-free campus policy",  # excepted word
        "Fossils show Homo sapiens reached Europe earlier than thought",  # a species name
    ],
)
def test_clean_look_alikes_are_not_offensive(text: str) -> None:
    assert [f for f in _found(text) if f[0] == "offensive"] == []


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("CONFIDENTIAL: draft league table", "CONFIDENTIAL"),  # marker in capitals
        ("Embargoed until 00:01 Thursday", "Embargoed until"),  # the longer marker wins
        ("For internal use only - staff survey", "For internal use only"),  # longest phrase
        ("Results not for circulation yet", "not for circulation"),  # phrase
        ("c.o.n.f.i.d.e.n.t.i.a.l report attached", "c.o.n.f.i.d.e.n.t.i.a.l"),  # split
        ("Соnfidential memo", "Соnfidential"),  # Cyrillic С and о
    ],
)
def test_confidential_markers(text: str, flagged: str) -> None:
    assert ("confidential", "review", flagged) in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "Free and confidential counselling for every student",  # excepted support service
        "Need to talk? Our confidential helpline is open 24/7",  # excepted phrase
        "Confidentiality matters: read our data policy",  # a longer word, not the marker
    ],
)
def test_confidential_clean_uses(text: str) -> None:
    assert [f for f in _found(text) if f[0] == "confidential"] == []


@pytest.mark.parametrize(
    ("text", "flagged", "severity"),
    [
        ("Email jo.bloggs@example.ac.uk for details", "jo.bloggs@example.ac.uk", "review"),
        ("Call 07700 900123 to book", "07700 900123", "review"),  # UK mobile
        ("Call +44 7700 900123 to book", "+44 7700 900123", "review"),  # international form
        ("Ring 0113 496 0000 today", "0113 496 0000", "review"),  # landline
        ("Post it to LS2 9JT please", "LS2 9JT", "review"),  # postcode
        ("My NI number is QQ 12 34 56 C", "QQ 12 34 56 C", "block"),  # NI blocks
        ("NI AB123456C on the form", "AB123456C", "block"),  # NI without spaces
        ("Card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111", "block"),  # Luhn valid
        ("born on 12/03/1998 in Leeds", "born on 12/03/1998", "review"),  # date of birth
        ("DOB: 3rd March 2001", "DOB: 3rd March 2001", "review"),  # date of birth, words
        ("Student ID: 201912345 lost card", "Student ID: 201912345", "review"),  # student ID
    ],
)
def test_personal_data(text: str, flagged: str, severity: str) -> None:
    assert ("personal_data", severity, flagged) in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "Card 4111 1111 1111 1112 is not a real number",  # fails the Luhn check
        "Open day on 12/03/2026 from 10am",  # a date, but not anyone's birth date
        "Room 1.02, building 3, 250 seats",  # numbers that are not personal data
        "Join us @LeedsUni for the launch",  # a handle is not an email
        "Term starts 2026 09 28",  # digits in groups, not a phone number
        "Follow us at 10am on 3 March",  # time and date only
        "Questions? Email study@example.ac.uk",  # a team's shared mailbox, not a person
        "Press enquiries: PRESS@example.ac.uk",  # shared mailbox in capitals
    ],
)
def test_personal_data_clean_look_alikes(text: str) -> None:
    assert [f for f in _found(text) if f[0] == "personal_data"] == []


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("I'm at the library right now, come say hi", "I'm at the library right now"),
        ("I’m in the Roger Stevens building until 5", "I’m in the Roger Stevens building until"),
        ("Currently in room 2.14 marking essays", "Currently in room"),
        ("Come find me at the careers fair stand", "Come find me at"),
    ],
)
def test_whereabouts(text: str, flagged: str) -> None:
    assert ("whereabouts", "review", flagged) in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "We're at the freshers fair all week, come say hi",  # an official event, not a person
        "I'm proud of our graduates today",  # no place
        "Library opening hours change now that term is over",  # time without a person
    ],
)
def test_whereabouts_clean(text: str) -> None:
    assert [f for f in _found(text) if f[0] == "whereabouts"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a personal account with no disclaimer
        ("Loved the lecture on dark matter today", [("personal_account", "review", None)]),
        # with a disclaimer, nothing to say
        ("Loved the lecture today. Views my own.", []),
        # a disclaimer in leetspeak still counts
        ("Loved the lecture today. Vi3ws are my 0wn", []),
        # speaking for the University, even with a disclaimer
        (
            "On behalf of the University, welcome! Views my own",
            [("personal_account", "review", "On behalf of the University")],
        ),
    ],
)
def test_personal_account(text: str, expected: list[tuple[str, str, str | None]]) -> None:
    assert [f for f in _found(text, "personal") if f[0] == "personal_account"] == expected


def test_official_account_needs_no_disclaimer() -> None:
    assert _found("On behalf of the University, welcome to our new students!") == []


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("See you there #opendayleeds", "#opendayleeds"),  # three words, lower case
        ("#MENTALHEALTHAWARENESS week", "#MENTALHEALTHAWARENESS"),  # capitals
    ],
)
def test_hashtag_case(text: str, flagged: str) -> None:
    assert ("hashtag_case", "info", flagged) in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "See you there #OpenDayLeeds",  # CamelCase
        "Congratulations #graduation",  # one word
        "Big day #research",  # one word
        "Go team #GB",  # short
        "Proud to support #LGBTQIA students",  # an acronym, not words
        "Congratulations #graduation2026",  # one word and a year
    ],
)
def test_hashtag_case_clean(text: str) -> None:
    assert _found(text) == []


@pytest.mark.parametrize(
    ("text", "rule", "flagged"),
    [
        # emoji before the word: spans count code points of the original text
        ("🎓🎉 Congratulations! What the fuck though", "offensive", "fuck"),
        # zero-width characters before and inside the word
        ("\u200b\u200bso\u200b sh\u200bit", "offensive", "sh\u200bit"),
        # a ligature that folds to two letters earlier in the text
        ("ﬁnal ﬁgures are CONFIDENTIAL", "confidential", "CONFIDENTIAL"),
        # combining accents earlier in the text
        ("Cafe\u0301 talk, embargoed until noon", "confidential", "embargoed until"),
        # personal data after emoji
        ("📞📞 07700 900123", "personal_data", "07700 900123"),
    ],
)
def test_spans_index_the_original_text(text: str, rule: str, flagged: str) -> None:
    spans = [s for r, _, s in _found(text) if r == rule]
    assert spans == [flagged]


def test_findings_are_sorted_by_position() -> None:
    text = "Confidential: call 07700 900123, what the fuck"
    verdict = check(Draft(text=text), Policy.default())
    assert [f.rule for f in verdict.findings] == ["confidential", "personal_data", "offensive"]
    assert verdict.needs_signoff and not verdict.blocked


def test_block_finding_blocks() -> None:
    verdict = check(Draft(text="NI QQ123456C"), Policy.default())
    assert verdict.blocked
    assert [f.severity for f in verdict.findings] == [Severity.BLOCK]


def test_clean_post_has_no_findings() -> None:
    verdict = check(Draft(text="Open day this Saturday: tours, talks and free coffee ☕"))
    assert verdict.findings == ()
    assert not verdict.needs_signoff
