"""Entity-tags and conditional requests (RFC 9110 section 13), free of Django and DRF.

Format a strong ETag from a row version, parse ``If-Match`` / ``If-None-Match`` strictly
(an unquoted ``If-Match: 7`` is an error, never "no header"), parse and format HTTP dates,
and evaluate the preconditions of a request into a :class:`Decision` that the Django and
DRF layers turn into 200, 304, 400, 412 or 428.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, NamedTuple

__all__ = [
    "STAR",
    "Decision",
    "EntityTag",
    "MalformedHeader",
    "Outcome",
    "Reason",
    "StarType",
    "evaluate_preconditions",
    "format_http_date",
    "make_etag",
    "parse_entity_tags",
    "parse_http_date",
    "strong_match",
    "weak_match",
]

MAX_HEADER_LENGTH: Final = 8192

# etagc = %x21 / %x23-7E / obs-text (RFC 9110 section 8.8.3); anything else inside the quotes
# is an error. Header values reach Python as latin-1, so obs-text is U+0080-U+00FF.
_NOT_ETAGC: Final = re.compile(r"[^\x21\x23-\x7e\x80-\xff]")
_NOT_LATIN1: Final = re.compile(r"[^\x00-\xff]")
_PRINTABLE_ASCII: Final = re.compile(r"[\x21-\x7e]+")
_OWS: Final = " \t"


class EntityTag(NamedTuple):
    """One entity-tag: ``"7"`` is ``EntityTag("7", weak=False)``."""

    opaque: str
    weak: bool

    def __str__(self) -> str:
        return f'W/"{self.opaque}"' if self.weak else f'"{self.opaque}"'


class StarType(enum.Enum):
    """The type of :data:`STAR`, so that ``result is STAR`` narrows for type checkers."""

    STAR = "*"

    def __repr__(self) -> str:
        return "STAR"

    def __str__(self) -> str:
        return "*"


STAR: Final = StarType.STAR
"""``If-Match: *`` / ``If-None-Match: *``: "any current representation"."""


class MalformedHeader(ValueError):
    """A conditional header that does not follow the RFC 9110 grammar.

    ``header`` names the field (``"If-Match"``); ``explanation`` (also ``str(exc)``) is one
    sentence for the client saying what is wrong and how to fix it.
    """

    def __init__(self, header: str, explanation: str) -> None:
        self.header = header
        self.explanation = explanation
        super().__init__(explanation)

    def __reduce__(self) -> tuple[type[MalformedHeader], tuple[str, str]]:
        return (type(self), (self.header, self.explanation))


def make_etag(version: int) -> str:
    """The strong ETag of a row at ``version``: ``make_etag(7) == '"7"'``."""
    if type(version) is not int and (isinstance(version, bool) or not isinstance(version, int)):
        raise TypeError(f"make_etag() takes an int row version, not {type(version).__name__}")
    return f'"{version:d}"'


def strong_match(a: EntityTag, b: EntityTag) -> bool:
    """Strong comparison (RFC 9110 section 8.8.3.2): both strong and the same opaque-tag."""
    return not a.weak and not b.weak and a.opaque == b.opaque


def weak_match(a: EntityTag, b: EntityTag) -> bool:
    """Weak comparison (RFC 9110 section 8.8.3.2): the same opaque-tag, weakness ignored."""
    return a.opaque == b.opaque


def _shown(text: str) -> str | None:
    """``text`` if it is short, visible ASCII and safe to echo in an explanation."""
    if len(text) <= 40 and _PRINTABLE_ASCII.fullmatch(text):
        return text
    return None


def _describe_char(char: str) -> str:
    if char == " ":
        return "a space"
    if char == '"':
        return "a double quote"
    return f"the character U+{ord(char):04X}"


# What String(null) and String(undefined) put in a header: the client had no tag to send.
_SCRIPT_NOTHING: Final = frozenset({"null", "undefined"})


def _unquoted(header: str, token: str) -> MalformedHeader:
    if token == "*":
        return MalformedHeader(
            header,
            f"{header}: * must be the whole header value; it cannot be combined with "
            f"entity-tags. Send either {header}: * or a list of quoted entity-tags.",
        )
    if token in _SCRIPT_NOTHING:
        return MalformedHeader(
            header,
            f"{header}: {token} is what a JavaScript client sends when it could not read the "
            f"ETag response header: a browser on another origin sees ETag only when the API "
            f"lists it in Access-Control-Expose-Headers (with django-cors-headers, "
            f'CORS_EXPOSE_HEADERS = ["ETag"]). Send the tag exactly as the server sent it, '
            f'like {header}: "7".',
        )
    weak = token.startswith(("W/", "w/"))
    bare = token[2:] if weak else token
    if weak and bare.startswith('"'):
        return MalformedHeader(
            header,
            f'The weak prefix in {header} is case-sensitive: write W/"...", not w/"...".',
        )
    shown = _shown(bare)
    if shown is not None and not _NOT_ETAGC.search(shown):
        good = f'W/"{shown}"' if weak else f'"{shown}"'
        bad = f"W/{shown}" if weak else shown
        return MalformedHeader(
            header,
            f"{header} entity-tags must be quoted: send {header}: {good}, not {header}: {bad}",
        )
    return MalformedHeader(
        header,
        f'{header} entity-tags must be quoted, like {header}: "7" or {header}: W/"7"; '
        f"separate several with commas.",
    )


def parse_entity_tags(
    value: str | None, *, header: str = "If-Match", max_tags: int = 64
) -> Literal[StarType.STAR] | list[EntityTag] | None:
    """Parse an ``If-Match`` or ``If-None-Match`` value (RFC 9110 sections 13.1.1, 13.1.2).

    Returns ``None`` when the header is absent (``value is None``), :data:`STAR` for ``*``,
    or the entity-tags in order. Raises :class:`MalformedHeader` for anything the grammar
    does not allow, including an empty value. Runs in time linear in ``len(value)``.
    """
    if value is None:
        return None
    if max_tags < 1:
        raise ValueError("max_tags must be at least 1")
    if len(value) > MAX_HEADER_LENGTH:
        raise MalformedHeader(
            header,
            f"{header} is {len(value)} characters long; the limit is {MAX_HEADER_LENGTH}. "
            f"Send only the ETag you last received.",
        )
    if match := _NOT_LATIN1.search(value):
        raise MalformedHeader(
            header,
            f"{header} contains {_describe_char(match.group())}, which HTTP header fields "
            f"cannot carry. Send the ETag exactly as the server sent it.",
        )
    text = value.strip(_OWS)
    if not text:
        raise MalformedHeader(
            header,
            f'{header} is empty. Send the ETag you last received, like {header}: "7", '
            f"or leave the header out.",
        )
    if text == "*":
        return STAR

    tags: list[EntityTag] = []
    length = len(text)
    i = 0
    while True:
        # RFC 9110 section 5.6.1: recipients accept empty list elements and OWS around commas.
        while i < length and text[i] in " \t,":
            i += 1
        if i >= length:
            break
        start = i
        weak = text.startswith("W/", i)
        if weak:
            i += 2
        if i >= length or text[i] != '"':
            end = text.find(",", start)
            raise _unquoted(header, text[start : length if end == -1 else end].strip(_OWS))
        close = text.find('"', i + 1)
        if close == -1:
            raise MalformedHeader(
                header,
                f"{header} has an unterminated quote: every entity-tag needs a closing double "
                f'quote, like {header}: "7".',
            )
        opaque = text[i + 1 : close]
        if bad := _NOT_ETAGC.search(opaque):
            raise MalformedHeader(
                header,
                f"An entity-tag in {header} contains {_describe_char(bad.group())}, which "
                f"entity-tags cannot contain; separate entity-tags with commas and send "
                f"each exactly as the server sent it.",
            )
        tags.append(EntityTag(opaque, weak))
        if len(tags) > max_tags:
            raise MalformedHeader(
                header,
                f"{header} lists more than {max_tags} entity-tags. Send only the ETag you "
                f"last received.",
            )
        i = close + 1
        while i < length and text[i] in _OWS:
            i += 1
        if i < length and text[i] != ",":
            raise MalformedHeader(
                header,
                f"{header} has unexpected characters after {tags[-1]}: separate "
                f'entity-tags with commas, like {header}: "7", "8".',
            )
    if not tags:
        raise MalformedHeader(
            header,
            f'{header} lists no entity-tags. Send the ETag you last received, like {header}: "7".',
        )
    return tags


_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_DAY: Final = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY: Final = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH: Final = f"(?P<month>{'|'.join(_MONTHS)})"
_TIME: Final = "(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
# RFC 9110 section 5.6.7: IMF-fixdate, then the obsolete rfc850-date and asctime-date forms.
_IMF_FIXDATE: Final = re.compile(
    rf"{_DAY}, (?P<day>[0-9]{{2}}) {_MONTH} (?P<year>[0-9]{{4}}) {_TIME} GMT"
)
_RFC850_DATE: Final = re.compile(
    rf"{_LONG_DAY}, (?P<day>[0-9]{{2}})-{_MONTH}-(?P<year>[0-9]{{2}}) {_TIME} GMT"
)
_ASCTIME_DATE: Final = re.compile(
    rf"{_DAY} {_MONTH} (?P<day>[0-9]{{2}}| [0-9]) {_TIME} (?P<year>[0-9]{{4}})"
)


def parse_http_date(value: str | None) -> datetime | None:
    """An aware UTC datetime from an HTTP-date, or ``None`` if absent or invalid.

    Invalid dates are not errors: RFC 9110 sections 13.1.3 and 13.1.4 say to ignore them.
    """
    if value is None:
        return None
    text = value.strip(_OWS)
    for pattern in (_IMF_FIXDATE, _RFC850_DATE, _ASCTIME_DATE):
        if match := pattern.fullmatch(text):
            break
    else:
        return None
    year = int(match["year"])
    if pattern is _RFC850_DATE:
        # RFC 9110 section 5.6.7: a two-digit year more than 50 years in the future means
        # the most recent past year with those last two digits.
        this_year = datetime.now(UTC).year
        year += this_year - this_year % 100
        if year > this_year + 50:
            year -= 100
    try:
        return datetime(
            year,
            _MONTHS.index(match["month"]) + 1,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def format_http_date(moment: datetime) -> str:
    """``moment`` as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), for Last-Modified."""
    if moment.utcoffset() is None:
        raise ValueError(
            "format_http_date() needs a timezone-aware datetime; use django.utils.timezone.now() "
            "or attach tzinfo=datetime.UTC."
        )
    utc = moment.astimezone(UTC)
    return (
        f"{_DAYS[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year:04d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} GMT"
    )


class Outcome(enum.Enum):
    """What to do with the request; the value is the status code to answer with."""

    PROCEED = 200
    NOT_MODIFIED = 304
    BAD_REQUEST = 400
    PRECONDITION_FAILED = 412
    PRECONDITION_REQUIRED = 428


class Reason(enum.StrEnum):
    """Every machine code a response's ``reason`` (and the ``write_refused`` signal) can carry.

    One enumeration for the HTTP logic, the Django REST Framework integration, the admin
    and the OpenAPI schema; docs/http.md's table is tested against it. A member is its
    string (``Reason.IF_MATCH_FAILED == "if-match-failed"``), so clients and logs see
    plain strings. ``statuses`` are the status codes it can answer with; ``description``
    says when.
    """

    statuses: tuple[int, ...]
    description: str

    def __new__(cls, value: str, statuses: tuple[int, ...], description: str) -> Reason:
        member = str.__new__(cls, value)
        member._value_ = value
        member.statuses = statuses
        member.description = description
        return member

    PROCEED = ("proceed", (200,), "no precondition prevents the request")
    NOT_MODIFIED = (
        "not-modified",
        (304,),
        "a read whose If-None-Match (or If-Modified-Since) matches the current state",
    )
    IF_MATCH_MISSING = (
        "if-match-missing",
        (428,),
        "a PUT, PATCH or DELETE without If-Match where If-Match is required",
    )
    IF_MATCH_FAILED = (
        "if-match-failed",
        (412,),
        "no entity-tag in If-Match matches the current ETag (a weak tag never matches), "
        "or If-Match: * on a resource that does not exist",
    )
    IF_MATCH_STAR_REFUSED = (
        "if-match-star-refused",
        (412,),
        "If-Match: * on a write where the view or ETAG_LOCK_ALLOW_IF_MATCH_STAR refuses it",
    )
    IF_UNMODIFIED_SINCE_FAILED = (
        "if-unmodified-since-failed",
        (412,),
        "the resource changed after the If-Unmodified-Since date (only without If-Match)",
    )
    IF_NONE_MATCH_FAILED = (
        "if-none-match-failed",
        (412,),
        "a write whose If-None-Match matches: the tag is current, or If-None-Match: * and "
        "the resource (or the collection a POST goes to) exists",
    )
    MALFORMED_IF_MATCH = (
        "malformed-if-match",
        (400, 412),
        "If-Match breaks the RFC 9110 grammar: 400 on a write, 412 on a read",
    )
    MALFORMED_IF_NONE_MATCH = (
        "malformed-if-none-match",
        (400,),
        "If-None-Match breaks the RFC 9110 grammar, on a write (a read ignores it)",
    )
    CONCURRENT_WRITE = (
        "concurrent-write",
        (412,),
        "another write changed the row after the preconditions passed; nothing was written",
    )
    CONCURRENT_DELETE = (
        "concurrent-delete",
        (412,),
        "another request deleted the row after the preconditions passed; nothing was written",
    )
    CONCURRENT_CREATE = (
        "concurrent-create",
        (412,),
        "a create-only PUT (If-None-Match: *) lost to another request that created the "
        "resource first; the database's unique constraint decided",
    )
    UNIQUE_CONFLICT = (
        "unique-conflict",
        (409,),
        "a concurrent write took a unique value this write needs; nothing was written",
    )
    CHILD_PRECONDITION_FAILED = (
        "child-precondition-failed",
        (412,),
        "a nested child's etag does not match the child's current version; nothing was written",
    )
    CHILD_DELETED = (
        "child-deleted",
        (412,),
        "a nested child the request names was deleted since the client read it; nothing "
        "was written",
    )
    CHILD_ETAG_MISSING = (
        "child-etag-missing",
        (428,),
        "an existing nested child is changed without its etag; nothing was written",
    )
    CHILD_REMOVAL_UNCHECKED = (
        "child-removal-unchecked",
        (428,),
        "children left out of a nested list would be deleted, but nothing vouches for what "
        "the client saw of them (the child does not touch its parent); nothing was written",
    )
    WRITTEN_THEN_FAILED = (
        "written-then-failed",
        (500,),
        "the write was committed, then a conflict was raised after the commit (an "
        "on_commit callback); the change is in, do not resend it",
    )


@dataclass(frozen=True)
class Decision:
    """The result of :func:`evaluate_preconditions`.

    ``reason`` is a stable machine code (a :class:`Reason`); ``detail`` is one English
    sentence for the client; ``header`` is the header that decided, if any.
    """

    outcome: Outcome
    reason: Reason
    detail: str
    header: str | None


_SAFE_METHODS: Final = frozenset({"GET", "HEAD"})
# RFC 9110 section 13.2.1: these never select or modify a representation.
_IGNORING_METHODS: Final = frozenset({"OPTIONS", "TRACE", "CONNECT"})
_IF_MATCH_REQUIRED_METHODS: Final = frozenset({"PUT", "PATCH", "DELETE"})

_PROCEED: Final = Decision(
    Outcome.PROCEED, Reason.PROCEED, "No precondition prevents this request.", None
)
_RELOAD: Final = "GET the resource again, reapply your change, and resend it with the new ETag."


def _current_tag(current_etag: str | None) -> EntityTag | None:
    if current_etag is None:
        return None
    try:
        tags = parse_entity_tags(current_etag, header="ETag", max_tags=1)
    except MalformedHeader:
        tags = None
    if not isinstance(tags, list):
        raise ValueError(
            f"current_etag must be one quoted entity-tag such as make_etag(7) == '\"7\"', "
            f"not {current_etag!r}."
        )
    return tags[0]


def _not_modified(header: str) -> Decision:
    return Decision(
        Outcome.NOT_MODIFIED,
        Reason.NOT_MODIFIED,
        "The resource has not changed since the representation you hold; use your cached copy.",
        header,
    )


def _if_match_failed(tags: list[EntityTag], current: EntityTag | None, exists: bool) -> Decision:
    if current is None and exists:
        detail = (
            "The target has no entity-tag of its own (a collection), so no entity-tag in "
            "If-Match can match it; only If-Match: * does."
        )
    elif current is None:
        detail = "None of the If-Match entity-tags matches: the resource has no current state."
    elif not current.weak and any(tag.weak and weak_match(tag, current) for tag in tags):
        # RFC 9110 section 13.1.1: If-Match uses the strong comparison. A weak copy of our
        # own tag usually means a proxy or compression middleware weakened the ETag.
        detail = (
            f'If-Match uses strong comparison, so the weak entity-tag W/"{current.opaque}" '
            f"never matches; send If-Match: {current} (check that no proxy or compression "
            f"middleware adds W/ to the ETag)."
        )
    else:
        detail = f"The resource has changed since you read it: If-Match does not match. {_RELOAD}"
    return Decision(Outcome.PRECONDITION_FAILED, Reason.IF_MATCH_FAILED, detail, "If-Match")


def evaluate_preconditions(
    *,
    method: str,
    current_etag: str | None,
    last_modified: datetime | None = None,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_unmodified_since: str | None = None,
    if_modified_since: str | None = None,
    require_if_match: bool = True,
    allow_star: bool = True,
    max_tags: int = 64,
    exists: bool | None = None,
) -> Decision:
    """Evaluate a request's preconditions in the order of RFC 9110 section 13.2.2.

    ``current_etag`` is the selected representation's ETag (``make_etag(row.version)``), or
    ``None`` when there is none. Header arguments are raw values, ``None`` when absent.
    ``exists`` says whether the target has a current representation; by default, whether
    it has an ETag. A collection exists without a tag of its own: ``exists=True,
    current_etag=None`` makes ``If-Match: *`` and ``If-None-Match: *`` match it, and no
    entity-tag.

    With ``require_if_match``, PUT, PATCH and DELETE without If-Match get 428 (RFC 6585
    section 3). If-Unmodified-Since alone does not satisfy that requirement: HTTP dates have
    one-second resolution, so they cannot tell apart two writes made in the same second.
    A malformed If-Match or If-None-Match never lets an unsafe method proceed (400).
    """
    method = method.upper()
    current = _current_tag(current_etag)
    if exists is None:
        exists = current is not None
    elif current is not None and not exists:
        raise ValueError("A resource that does not exist has no current_etag.")
    if last_modified is not None and last_modified.utcoffset() is None:
        raise ValueError("last_modified must be a timezone-aware datetime.")
    if method in _IGNORING_METHODS:
        return _PROCEED
    safe = method in _SAFE_METHODS

    # Step 1: If-Match.
    if if_match is not None:
        try:
            tags = parse_entity_tags(if_match, header="If-Match", max_tags=max_tags)
        except MalformedHeader as exc:
            # A malformed tag cannot match anything: a read fails its precondition, a write
            # is refused as a bad request rather than performed.
            outcome = Outcome.PRECONDITION_FAILED if safe else Outcome.BAD_REQUEST
            return Decision(outcome, Reason.MALFORMED_IF_MATCH, exc.explanation, "If-Match")
        if tags is STAR:
            if not exists:
                return Decision(
                    Outcome.PRECONDITION_FAILED,
                    Reason.IF_MATCH_FAILED,
                    "If-Match: * requires the resource to have a current state, and it has none.",
                    "If-Match",
                )
            if not allow_star and not safe:
                return Decision(
                    Outcome.PRECONDITION_FAILED,
                    Reason.IF_MATCH_STAR_REFUSED,
                    "If-Match: * is not accepted here because it cannot detect changes you "
                    'have not seen; send If-Match with the ETag you last received, like "7".',
                    "If-Match",
                )
        elif current is None or not any(strong_match(tag, current) for tag in tags or ()):
            return _if_match_failed(tags or [], current, exists)
    elif require_if_match and method in _IF_MATCH_REQUIRED_METHODS:
        # RFC 6585 section 3. Decided before If-Unmodified-Since on purpose: see docstring.
        return Decision(
            Outcome.PRECONDITION_REQUIRED,
            Reason.IF_MATCH_MISSING,
            "This request must be conditional: send If-Match with the ETag from your last "
            'GET, like If-Match: "7". If-Unmodified-Since is not enough, because HTTP dates '
            "have one-second resolution and cannot tell apart two changes in the same second.",
            "If-Match",
        )

    # Step 2: If-Unmodified-Since, only without If-Match (RFC 9110 section 13.1.4).
    if if_match is None and last_modified is not None:
        since = parse_http_date(if_unmodified_since)
        if since is not None and last_modified.replace(microsecond=0) > since:
            return Decision(
                Outcome.PRECONDITION_FAILED,
                Reason.IF_UNMODIFIED_SINCE_FAILED,
                f"The resource has changed since the If-Unmodified-Since date. {_RELOAD}",
                "If-Unmodified-Since",
            )

    # Step 3: If-None-Match.
    if if_none_match is not None:
        try:
            none_tags = parse_entity_tags(if_none_match, header="If-None-Match", max_tags=max_tags)
        except MalformedHeader as exc:
            if safe:
                # A read cannot lose data: answer with the full representation, not a 304.
                return Decision(
                    Outcome.PROCEED,
                    Reason.PROCEED,
                    f"If-None-Match was ignored because it is malformed: {exc.explanation}",
                    "If-None-Match",
                )
            return Decision(
                Outcome.BAD_REQUEST,
                Reason.MALFORMED_IF_NONE_MATCH,
                exc.explanation,
                "If-None-Match",
            )
        if none_tags is STAR:
            matched = exists
        else:
            matched = current is not None and any(
                weak_match(tag, current) for tag in none_tags or ()
            )
        if matched:
            if safe:
                return _not_modified("If-None-Match")
            detail = (
                "If-None-Match: * requires that the resource does not exist, and it does."
                if none_tags is STAR
                else "The resource's current ETag matches If-None-Match, so the request was "
                "not performed."
            )
            return Decision(
                Outcome.PRECONDITION_FAILED, Reason.IF_NONE_MATCH_FAILED, detail, "If-None-Match"
            )
    # Step 4: If-Modified-Since, only for GET and HEAD without If-None-Match.
    elif safe and last_modified is not None:
        since = parse_http_date(if_modified_since)
        if since is not None and last_modified.replace(microsecond=0) <= since:
            return _not_modified("If-Modified-Since")

    return _PROCEED
