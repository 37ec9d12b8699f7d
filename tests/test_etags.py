"""Tests for django_etag_lock.etags: pure HTTP, no database, no Django settings."""

from __future__ import annotations

import ast
import dataclasses
import pickle
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_etag_lock import etags
from django_etag_lock.etags import (
    STAR,
    Decision,
    EntityTag,
    MalformedHeader,
    Outcome,
    evaluate_preconditions,
    format_http_date,
    make_etag,
    parse_entity_tags,
    parse_http_date,
    strong_match,
    weak_match,
)

CURRENT = make_etag(7)
NOV_6_1994 = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
IMF_NOV_6_1994 = "Sun, 06 Nov 1994 08:49:37 GMT"
ETAGC = "".join(chr(c) for c in [0x21, *range(0x23, 0x7F), *range(0x80, 0x100)])


def decide(**kwargs: Any) -> Decision:
    kwargs.setdefault("method", "PATCH")
    kwargs.setdefault("current_etag", CURRENT)
    return evaluate_preconditions(**kwargs)


def tags_of(value: str) -> list[EntityTag]:
    result = parse_entity_tags(value)
    assert isinstance(result, list)
    return result


def malformed(value: str, **kwargs: Any) -> MalformedHeader:
    with pytest.raises(MalformedHeader) as info:
        parse_entity_tags(value, **kwargs)
    return info.value


# --- the module itself --------------------------------------------------------------------


def test_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(etags.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "enum", "re", "dataclasses", "datetime", "typing"}


# --- make_etag and EntityTag --------------------------------------------------------------


def test_make_etag_is_a_strong_quoted_version() -> None:
    assert make_etag(7) == '"7"'
    assert make_etag(123456789012) == '"123456789012"'


@pytest.mark.parametrize("version", [True, "7", 7.0, None])
def test_make_etag_rejects_anything_but_an_int(version: Any) -> None:
    with pytest.raises(TypeError, match="int row version"):
        make_etag(version)


def test_entity_tag_str_is_the_wire_form() -> None:
    assert str(EntityTag("7", weak=False)) == '"7"'
    assert str(EntityTag("7", weak=True)) == 'W/"7"'
    assert str(EntityTag("", weak=False)) == '""'


def test_star_is_a_singleton_that_prints_as_star() -> None:
    assert parse_entity_tags("*") is STAR
    assert pickle.loads(pickle.dumps(STAR)) is STAR
    assert str(STAR) == "*"
    assert repr(STAR) == "STAR"


# --- comparison (RFC 9110 section 8.8.3.2) ------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "strong", "weak"),
    [
        ('W/"1"', 'W/"1"', False, True),
        ('W/"1"', 'W/"2"', False, False),
        ('W/"1"', '"1"', False, True),
        ('"1"', '"1"', True, True),
    ],
)
def test_rfc_9110_comparison_table(a: str, b: str, strong: bool, weak: bool) -> None:
    [tag_a] = tags_of(a)
    [tag_b] = tags_of(b)
    assert strong_match(tag_a, tag_b) is strong
    assert strong_match(tag_b, tag_a) is strong
    assert weak_match(tag_a, tag_b) is weak
    assert weak_match(tag_b, tag_a) is weak


# --- parse_entity_tags: valid values ------------------------------------------------------


def test_absent_header_parses_to_none() -> None:
    assert parse_entity_tags(None) is None


def test_single_strong_and_weak_tags() -> None:
    assert parse_entity_tags('"7"') == [EntityTag("7", False)]
    assert parse_entity_tags('W/"7"') == [EntityTag("7", True)]
    assert parse_entity_tags('""') == [EntityTag("", False)]


def test_star_with_surrounding_whitespace_is_star() -> None:
    assert parse_entity_tags(" \t* ") is STAR


def test_list_tolerates_odd_whitespace_and_empty_elements() -> None:
    assert parse_entity_tags(' ,, "a" ,\t, W/"b",,"c"\t, ') == [
        EntityTag("a", False),
        EntityTag("b", True),
        EntityTag("c", False),
    ]


def test_commas_inside_quotes_belong_to_the_tag() -> None:
    assert parse_entity_tags('"a,b", "c"') == [EntityTag("a,b", False), EntityTag("c", False)]


def test_obs_text_inside_quotes_is_allowed() -> None:
    assert parse_entity_tags('"caf\xe9\x80\xff"') == [EntityTag("caf\xe9\x80\xff", False)]


def test_every_etagc_character_is_accepted() -> None:
    assert parse_entity_tags(f'"{ETAGC}"') == [EntityTag(ETAGC, False)]


def test_exactly_max_tags_is_accepted() -> None:
    value = ", ".join(f'"{n}"' for n in range(64))
    assert len(tags_of(value)) == 64


def test_value_of_exactly_the_length_limit_is_accepted() -> None:
    value = '"' + "a" * (etags.MAX_HEADER_LENGTH - 2) + '"'
    assert parse_entity_tags(value) == [EntityTag("a" * (etags.MAX_HEADER_LENGTH - 2), False)]


# --- parse_entity_tags: malformed values --------------------------------------------------


def test_unquoted_tag_is_malformed_not_absent() -> None:
    exc = malformed("7")
    assert exc.header == "If-Match"
    assert str(exc) == exc.explanation
    assert 'send If-Match: "7", not If-Match: 7' in exc.explanation


def test_unquoted_tag_after_a_quoted_one_is_malformed() -> None:
    assert 'send If-Match: "8"' in malformed('"7", 8').explanation


def test_unquoted_weak_tag_suggests_the_quoted_weak_form() -> None:
    assert 'send If-Match: W/"7", not If-Match: W/7' in malformed("W/7").explanation


@pytest.mark.parametrize("token", ["null", "undefined"])
@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
def test_null_or_undefined_tag_says_the_etag_header_was_unreadable(header: str, token: str) -> None:
    explanation = malformed(token, header=header).explanation
    assert explanation.startswith(f"{header}: {token} is what a JavaScript client sends")
    assert "could not read the ETag response header" in explanation
    assert "Access-Control-Expose-Headers" in explanation
    assert f'like {header}: "7"' in explanation
    # Not the generic hint, which would suggest quoting the word.
    assert f'"{token}"' not in explanation


def test_null_inside_quotes_is_an_ordinary_tag() -> None:
    assert parse_entity_tags('"null"') == [EntityTag("null", False)]


def test_lowercase_weak_prefix_is_malformed() -> None:
    assert "case-sensitive" in malformed('w/"7"').explanation


def test_unquoted_garbage_is_not_echoed_back() -> None:
    exc = malformed("<script>alert(1) </script>")
    assert "<script>" not in exc.explanation
    assert 'If-Match: "7"' in exc.explanation


def test_explanation_names_the_header_it_came_from() -> None:
    exc = malformed("7", header="If-None-Match")
    assert exc.header == "If-None-Match"
    assert 'send If-None-Match: "7", not If-None-Match: 7' in exc.explanation


@pytest.mark.parametrize("value", ["", " ", "\t \t"])
def test_empty_or_whitespace_value_is_malformed(value: str) -> None:
    assert "empty" in malformed(value).explanation


@pytest.mark.parametrize("value", [",", " , ,\t,"])
def test_list_of_only_empty_elements_is_malformed(value: str) -> None:
    assert "no entity-tags" in malformed(value).explanation


@pytest.mark.parametrize("value", ['"7', '"7", "8', 'W/"7'])
def test_unterminated_quote_is_malformed(value: str) -> None:
    assert "unterminated quote" in malformed(value).explanation


@pytest.mark.parametrize("value", ['"7" "8"', '"7""8"', '"7"x', '"7";"8"', '"7" W/"8"'])
def test_garbage_between_tags_is_malformed(value: str) -> None:
    assert "separate entity-tags with commas" in malformed(value).explanation


@pytest.mark.parametrize("value", ['"7 8"', '"7\t"', '"\x00"', '"\x7f"', '"a\nb"'])
def test_space_control_and_del_inside_quotes_are_malformed(value: str) -> None:
    malformed(value)


@pytest.mark.parametrize("value", ['*, "7"', '"7", *', "*, *", "*,", "**"])
def test_star_mixed_with_anything_is_malformed(value: str) -> None:
    malformed(value)


@pytest.mark.parametrize("value", ['"\u20ac"', '"7", "\u0100"', '"\U0001f600"', '"7"\u3000'])
def test_characters_above_u00ff_are_malformed(value: str) -> None:
    assert "cannot carry" in malformed(value).explanation


def test_more_than_max_tags_is_malformed() -> None:
    value = ", ".join(f'"{n}"' for n in range(65))
    assert "more than 64" in malformed(value).explanation
    assert "more than 2" in malformed('"1", "2", "3"', max_tags=2).explanation


def test_max_tags_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_tags"):
        parse_entity_tags('"7"', max_tags=0)


def test_value_longer_than_the_limit_is_malformed() -> None:
    value = '"' + "a" * (etags.MAX_HEADER_LENGTH - 1) + '"'
    assert "the limit is 8192" in malformed(value).explanation


@pytest.mark.parametrize(
    "value",
    [
        '"' + "a" * 100_000,
        '"a",' * 25_000,
        "W/" * 50_000,
        " " * 100_000,
        "," * 100_000,
        '"a" ' * 25_000,
        "\u20ac" * 100_000,
    ],
)
def test_hostile_100_kb_header_is_rejected(value: str) -> None:
    malformed(value)


def test_hostile_header_just_under_the_limit_is_rejected() -> None:
    malformed(',"' * 4095)
    malformed("," * 8000 + "7")


def test_malformed_header_is_a_value_error_that_pickles() -> None:
    exc = malformed("7")
    assert isinstance(exc, ValueError)
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.header, copy.explanation) == (exc.header, exc.explanation)


# --- HTTP dates (RFC 9110 section 5.6.7) --------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        IMF_NOV_6_1994,
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        " Sun, 06 Nov 1994 08:49:37 GMT\t",
    ],
)
def test_all_three_http_date_forms_parse_to_aware_utc(value: str) -> None:
    parsed = parse_http_date(value)
    assert parsed is not None
    assert parsed == NOV_6_1994
    assert parsed.tzinfo is UTC


def test_asctime_with_two_digit_day() -> None:
    assert parse_http_date("Thu Nov 17 08:49:37 1994") == NOV_6_1994.replace(day=17)


def test_rfc_850_two_digit_year_is_never_more_than_50_years_ahead() -> None:
    this_year = datetime.now(UTC).year
    for offset in (0, 49):
        year = this_year + offset
        value = f"Monday, 01-Jan-{year % 100:02d} 00:00:00 GMT"
        assert parse_http_date(value).year == year  # type: ignore[union-attr]
    past = this_year + 51 - 100
    value = f"Monday, 01-Jan-{past % 100:02d} 00:00:00 GMT"
    assert parse_http_date(value).year == past  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "yesterday",
        "1994-11-06T08:49:37Z",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:49:60 GMT",
        "Sun, 06 Nov 0000 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
        "Sun, \u0660\u0666 Nov 1994 08:49:37 GMT",
    ],
)
def test_invalid_http_date_is_none(value: str | None) -> None:
    assert parse_http_date(value) is None


def test_format_http_date_is_imf_fixdate() -> None:
    assert format_http_date(NOV_6_1994) == IMF_NOV_6_1994


def test_format_http_date_converts_to_utc_and_drops_microseconds() -> None:
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(1994, 11, 6, 10, 49, 37, 999_999, tzinfo=plus_two)
    assert format_http_date(moment) == IMF_NOV_6_1994


def test_format_http_date_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_http_date(datetime(1994, 11, 6, 8, 49, 37))


# --- evaluate_preconditions: If-Match (step 1) --------------------------------------------


def test_matching_if_match_proceeds() -> None:
    decision = decide(if_match=CURRENT)
    assert decision == Decision(Outcome.PROCEED, "proceed", decision.detail, None)


def test_stale_if_match_is_412() -> None:
    decision = decide(if_match='"6"')
    assert decision.outcome is Outcome.PRECONDITION_FAILED
    assert decision.reason == "if-match-failed"
    assert decision.header == "If-Match"
    assert "changed since you read it" in decision.detail


def test_if_match_list_proceeds_when_any_member_matches() -> None:
    assert decide(if_match='"5", "6" ,, "7"').outcome is Outcome.PROCEED


def test_weak_tag_in_if_match_never_matches() -> None:
    decision = decide(if_match='W/"7"')
    assert decision.reason == "if-match-failed"
    assert 'send If-Match: "7"' in decision.detail
    assert "strong comparison" in decision.detail


def test_weak_current_etag_never_satisfies_if_match() -> None:
    assert decide(current_etag='W/"7"', if_match='W/"7"').reason == "if-match-failed"


def test_if_match_star_proceeds_when_a_representation_exists() -> None:
    assert decide(if_match="*").outcome is Outcome.PROCEED


def test_if_match_star_fails_without_a_representation() -> None:
    decision = decide(method="PUT", current_etag=None, if_match="*")
    assert (decision.outcome, decision.reason) == (Outcome.PRECONDITION_FAILED, "if-match-failed")


def test_if_match_list_fails_without_a_representation() -> None:
    assert decide(current_etag=None, if_match=CURRENT).reason == "if-match-failed"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_if_match_star_refused_on_writes_when_star_not_allowed(method: str) -> None:
    decision = decide(method=method, if_match="*", allow_star=False)
    assert decision.outcome is Outcome.PRECONDITION_FAILED
    assert decision.reason == "if-match-star-refused"
    assert decision.header == "If-Match"
    assert "ETag" in decision.detail


def test_if_match_star_on_a_read_is_fine_when_star_not_allowed() -> None:
    assert decide(method="GET", if_match="*", allow_star=False).outcome is Outcome.PROCEED


def test_stale_if_match_on_a_read_is_412() -> None:
    assert decide(method="GET", if_match='"6"').outcome is Outcome.PRECONDITION_FAILED


# --- evaluate_preconditions: 428 ----------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_write_without_if_match_is_428(method: str) -> None:
    decision = decide(method=method)
    assert decision.outcome is Outcome.PRECONDITION_REQUIRED
    assert decision.reason == "if-match-missing"
    assert decision.header == "If-Match"
    assert "If-Match" in decision.detail


def test_if_unmodified_since_alone_does_not_satisfy_the_if_match_requirement() -> None:
    decision = decide(if_unmodified_since=IMF_NOV_6_1994, last_modified=NOV_6_1994)
    assert decision.reason == "if-match-missing"
    assert "one-second resolution" in decision.detail


def test_428_is_decided_before_a_malformed_if_none_match() -> None:
    assert decide(if_none_match="7").reason == "if-match-missing"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_unconditional_write_proceeds_when_if_match_not_required(method: str) -> None:
    assert decide(method=method, require_if_match=False).outcome is Outcome.PROCEED


@pytest.mark.parametrize("method", ["POST", "GET", "HEAD"])
def test_if_match_is_not_required_for_post_or_reads(method: str) -> None:
    assert decide(method=method).outcome is Outcome.PROCEED


def test_method_case_does_not_bypass_the_requirement() -> None:
    assert decide(method="patch").reason == "if-match-missing"


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "CONNECT"])
def test_options_and_trace_always_proceed(method: str) -> None:
    decision = decide(method=method, if_match="7", if_none_match=CURRENT)
    assert decision.outcome is Outcome.PROCEED


# --- evaluate_preconditions: malformed validators -----------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_malformed_if_match_on_a_write_is_400(method: str) -> None:
    decision = decide(method=method, if_match="7")
    assert decision.outcome is Outcome.BAD_REQUEST
    assert decision.reason == "malformed-if-match"
    assert decision.header == "If-Match"
    assert decision.detail == malformed("7").explanation


def test_empty_if_match_is_malformed_not_absent() -> None:
    decision = decide(if_match="")
    assert (decision.outcome, decision.reason) == (Outcome.BAD_REQUEST, "malformed-if-match")


def test_if_match_with_too_many_tags_is_400() -> None:
    decision = decide(if_match='"5", "6", "7"', max_tags=2)
    assert decision.reason == "malformed-if-match"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_malformed_if_match_on_a_read_is_412(method: str) -> None:
    decision = decide(method=method, if_match="7")
    assert decision.outcome is Outcome.PRECONDITION_FAILED
    assert decision.reason == "malformed-if-match"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_malformed_if_none_match_on_a_write_is_400(method: str) -> None:
    decision = decide(method=method, if_match=CURRENT, if_none_match="8")
    assert decision.outcome is Outcome.BAD_REQUEST
    assert decision.reason == "malformed-if-none-match"
    assert decision.header == "If-None-Match"
    assert 'If-None-Match: "8"' in decision.detail


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_malformed_if_none_match_on_a_read_is_ignored(method: str) -> None:
    decision = decide(method=method, if_none_match="7")
    assert (decision.outcome, decision.reason) == (Outcome.PROCEED, "proceed")


def test_malformed_if_none_match_on_a_read_never_yields_304_from_if_modified_since() -> None:
    decision = decide(
        method="GET", if_none_match="7", if_modified_since=IMF_NOV_6_1994, last_modified=NOV_6_1994
    )
    assert decision.outcome is Outcome.PROCEED


@pytest.mark.parametrize("current_etag", ["7", "", '"7", "8"', "*", '"7'])
def test_invalid_current_etag_is_a_programming_error_not_a_bad_request(current_etag: str) -> None:
    with pytest.raises(ValueError, match="make_etag") as info:
        decide(current_etag=current_etag, if_match=CURRENT)
    assert not isinstance(info.value, MalformedHeader)


def test_naive_last_modified_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(method="GET", last_modified=datetime(1994, 11, 6))


# --- evaluate_preconditions: If-Unmodified-Since (step 2) ---------------------------------


def test_if_unmodified_since_older_than_last_modified_is_412() -> None:
    decision = decide(
        require_if_match=False,
        if_unmodified_since=IMF_NOV_6_1994,
        last_modified=NOV_6_1994 + timedelta(seconds=1),
    )
    assert decision.outcome is Outcome.PRECONDITION_FAILED
    assert decision.reason == "if-unmodified-since-failed"
    assert decision.header == "If-Unmodified-Since"


def test_if_unmodified_since_at_or_after_last_modified_proceeds() -> None:
    for last_modified in (NOV_6_1994, NOV_6_1994 - timedelta(days=1)):
        decision = decide(
            require_if_match=False, if_unmodified_since=IMF_NOV_6_1994, last_modified=last_modified
        )
        assert decision.outcome is Outcome.PROCEED


def test_if_unmodified_since_compares_at_one_second_resolution() -> None:
    decision = decide(
        require_if_match=False,
        if_unmodified_since=IMF_NOV_6_1994,
        last_modified=NOV_6_1994 + timedelta(microseconds=999_999),
    )
    assert decision.outcome is Outcome.PROCEED


def test_if_unmodified_since_compares_across_time_zones() -> None:
    minus_five = timezone(timedelta(hours=-5))
    later = datetime(1994, 11, 6, 3, 49, 38, tzinfo=minus_five)
    decision = decide(
        require_if_match=False, if_unmodified_since=IMF_NOV_6_1994, last_modified=later
    )
    assert decision.reason == "if-unmodified-since-failed"


def test_if_unmodified_since_is_ignored_when_if_match_is_present() -> None:
    decision = decide(
        if_match=CURRENT,
        if_unmodified_since=IMF_NOV_6_1994,
        last_modified=NOV_6_1994 + timedelta(days=1),
    )
    assert decision.outcome is Outcome.PROCEED


def test_invalid_if_unmodified_since_is_ignored() -> None:
    decision = decide(
        require_if_match=False,
        if_unmodified_since="not a date",
        last_modified=NOV_6_1994 + timedelta(days=1),
    )
    assert decision.outcome is Outcome.PROCEED


def test_if_unmodified_since_is_ignored_without_last_modified() -> None:
    decision = decide(require_if_match=False, if_unmodified_since=IMF_NOV_6_1994)
    assert decision.outcome is Outcome.PROCEED


def test_if_unmodified_since_applies_to_reads_too() -> None:
    decision = decide(
        method="GET",
        if_unmodified_since=IMF_NOV_6_1994,
        last_modified=NOV_6_1994 + timedelta(days=1),
    )
    assert decision.outcome is Outcome.PRECONDITION_FAILED


# --- evaluate_preconditions: If-None-Match (step 3) ---------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("if_none_match", [CURRENT, 'W/"7"', '"1", W/"7"', "*"])
def test_matching_if_none_match_on_a_read_is_304(method: str, if_none_match: str) -> None:
    decision = decide(method=method, if_none_match=if_none_match)
    assert decision.outcome is Outcome.NOT_MODIFIED
    assert decision.reason == "not-modified"
    assert decision.header == "If-None-Match"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_matching_if_none_match_on_a_write_is_412(method: str) -> None:
    decision = decide(method=method, if_match=CURRENT, if_none_match='W/"7"')
    assert decision.outcome is Outcome.PRECONDITION_FAILED
    assert decision.reason == "if-none-match-failed"
    assert decision.header == "If-None-Match"


def test_non_matching_if_none_match_proceeds() -> None:
    assert decide(method="GET", if_none_match='"6", W/"8"').outcome is Outcome.PROCEED


def test_if_none_match_star_allows_creating_a_missing_resource() -> None:
    decision = decide(method="PUT", current_etag=None, if_none_match="*", require_if_match=False)
    assert decision.outcome is Outcome.PROCEED


def test_if_none_match_star_refuses_to_overwrite_an_existing_resource() -> None:
    decision = decide(method="PUT", if_none_match="*", require_if_match=False)
    assert decision.reason == "if-none-match-failed"
    assert "does not exist" in decision.detail


def test_if_none_match_on_a_missing_resource_proceeds() -> None:
    assert decide(method="GET", current_etag=None, if_none_match=CURRENT).outcome is Outcome.PROCEED


def test_if_match_is_evaluated_before_if_none_match() -> None:
    decision = decide(if_match='"6"', if_none_match="7")
    assert decision.reason == "if-match-failed"


# --- evaluate_preconditions: If-Modified-Since (step 4) -----------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_unmodified_since_if_modified_since_is_304(method: str) -> None:
    decision = decide(
        method=method,
        if_modified_since=IMF_NOV_6_1994,
        last_modified=NOV_6_1994 + timedelta(microseconds=500_000),
    )
    assert decision.outcome is Outcome.NOT_MODIFIED
    assert decision.reason == "not-modified"
    assert decision.header == "If-Modified-Since"


def test_modified_since_if_modified_since_proceeds() -> None:
    decision = decide(
        method="GET",
        if_modified_since=IMF_NOV_6_1994,
        last_modified=NOV_6_1994 + timedelta(seconds=1),
    )
    assert decision.outcome is Outcome.PROCEED


def test_if_modified_since_is_ignored_when_if_none_match_is_present() -> None:
    decision = decide(
        method="GET",
        if_none_match='"6"',
        if_modified_since=IMF_NOV_6_1994,
        last_modified=NOV_6_1994,
    )
    assert decision.outcome is Outcome.PROCEED


@pytest.mark.parametrize(
    ("method", "value", "last_modified"),
    [
        ("GET", "not a date", NOV_6_1994),
        ("GET", IMF_NOV_6_1994, None),
        ("PATCH", IMF_NOV_6_1994, NOV_6_1994),
        ("POST", IMF_NOV_6_1994, NOV_6_1994),
    ],
)
def test_if_modified_since_is_ignored_when_invalid_unknown_or_not_a_read(
    method: str, value: str, last_modified: datetime | None
) -> None:
    decision = decide(
        method=method, if_match=CURRENT, if_modified_since=value, last_modified=last_modified
    )
    assert decision.outcome is Outcome.PROCEED


# --- Decision and Outcome -----------------------------------------------------------------


def test_outcome_values_are_status_codes() -> None:
    assert [outcome.value for outcome in Outcome] == [200, 304, 400, 412, 428]


def test_decision_is_frozen() -> None:
    decision = decide(if_match=CURRENT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.reason = "changed"  # type: ignore[misc]


# --- properties ---------------------------------------------------------------------------

header_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=' \t,"Ww/*78a\x7f\xe9\u20ac', max_size=40),
    st.lists(st.sampled_from(['"7"', 'W/"7"', '"8"', "*", " ", ",", '"', "7", "W/"])).map("".join),
)
entity_tags = st.builds(EntityTag, st.text(alphabet=ETAGC, max_size=30), st.booleans())


@settings(max_examples=200)
@given(header_text)
def test_parsing_arbitrary_text_returns_tags_or_raises_malformed_header(value: str) -> None:
    try:
        result: object = parse_entity_tags(value)
    except MalformedHeader as exc:
        result = exc
    if isinstance(result, MalformedHeader):
        assert result.header == "If-Match"
        assert result.explanation
    else:
        assert result is STAR or (
            isinstance(result, list)
            and 1 <= len(result) <= 64
            and all(isinstance(tag, EntityTag) for tag in result)
        )


@settings(max_examples=200)
@given(header_text, st.booleans())
def test_patch_proceeds_only_with_the_current_strong_tag_or_star(
    value: str, allow_star: bool
) -> None:
    decision = decide(if_match=value, allow_star=allow_star)
    if decision.outcome is Outcome.PROCEED:
        members = [part.strip(" \t") for part in value.split(",")]
        assert CURRENT in members or (allow_star and value.strip(" \t") == "*")


@settings(max_examples=200)
@given(entity_tags)
def test_entity_tag_round_trips_through_the_parser(tag: EntityTag) -> None:
    assert parse_entity_tags(str(tag)) == [tag]


@settings(max_examples=200)
@given(st.lists(entity_tags, min_size=1, max_size=64), st.sampled_from([",", ", ", " ,\t", ",,"]))
def test_entity_tag_lists_round_trip_through_the_parser(
    tags: list[EntityTag], separator: str
) -> None:
    assert parse_entity_tags(separator.join(str(tag) for tag in tags)) == tags


@settings(max_examples=200)
@given(
    st.sampled_from(["GET", "HEAD", "PUT", "PATCH", "DELETE", "POST", "OPTIONS", "PROPFIND"]),
    st.one_of(st.none(), header_text),
    st.one_of(st.none(), header_text),
    st.one_of(st.none(), st.text(max_size=40), st.just(IMF_NOV_6_1994)),
    st.one_of(st.none(), st.text(max_size=40), st.just(IMF_NOV_6_1994)),
)
def test_evaluation_never_raises_on_arbitrary_headers(
    method: str,
    if_match: str | None,
    if_none_match: str | None,
    if_unmodified_since: str | None,
    if_modified_since: str | None,
) -> None:
    decision = decide(
        method=method,
        last_modified=NOV_6_1994,
        if_match=if_match,
        if_none_match=if_none_match,
        if_unmodified_since=if_unmodified_since,
        if_modified_since=if_modified_since,
    )
    assert isinstance(decision.outcome, Outcome)
    if decision.outcome is not Outcome.PROCEED:
        assert decision.detail
        assert decision.header


@settings(max_examples=200)
@given(st.datetimes(min_value=datetime(1, 1, 1), timezones=st.just(UTC)))
def test_http_dates_round_trip_at_one_second_resolution(moment: datetime) -> None:
    assert parse_http_date(format_http_date(moment)) == moment.replace(microsecond=0)


# -- a target that exists without an entity-tag (a collection) ---------------------------


def collection(**kwargs: Any) -> Decision:
    return evaluate_preconditions(current_etag=None, exists=True, **kwargs)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_if_none_match_star_on_an_existing_collection_fails_a_write(method: str) -> None:
    decision = collection(method=method, if_none_match="*", require_if_match=False)
    assert (decision.outcome, decision.reason) == (
        Outcome.PRECONDITION_FAILED,
        etags.Reason.IF_NONE_MATCH_FAILED,
    )


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_star_on_an_existing_collection_is_304_on_a_read(method: str) -> None:
    assert collection(method=method, if_none_match="*").outcome is Outcome.NOT_MODIFIED


def test_no_entity_tag_matches_a_collection_in_if_match() -> None:
    decision = collection(method="POST", if_match='"no-such-tag"')
    assert (decision.outcome, decision.reason) == (
        Outcome.PRECONDITION_FAILED,
        etags.Reason.IF_MATCH_FAILED,
    )
    assert "no entity-tag of its own" in decision.detail


def test_if_match_star_and_a_non_matching_if_none_match_pass_on_a_collection() -> None:
    assert collection(method="POST", if_match="*").outcome is Outcome.PROCEED
    assert collection(method="POST", if_none_match='"1"').outcome is Outcome.PROCEED
    assert collection(method="GET", if_none_match='"1"').outcome is Outcome.PROCEED


def test_a_missing_resource_fails_if_match_star_and_passes_if_none_match_star() -> None:
    assert decide(current_etag=None, if_match="*").outcome is Outcome.PRECONDITION_FAILED
    missing = decide(method="PUT", current_etag=None, if_none_match="*", require_if_match=False)
    assert missing.outcome is Outcome.PROCEED


def test_a_resource_that_does_not_exist_cannot_have_an_etag() -> None:
    with pytest.raises(ValueError, match="no current_etag"):
        decide(exists=False)


def _code_literals(path: Path) -> list[tuple[str, int]]:
    """String constants in ``path`` that are not docstrings, with their line numbers."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        (node.value, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_reason_codes_are_spelled_only_in_the_enumeration() -> None:
    codes = {reason.value for reason in etags.Reason}
    package = Path(etags.__file__).parent
    spelled = {
        (str(path.relative_to(package)), value)
        for path in package.rglob("*.py")
        for value, _ in _code_literals(path)
        if value in codes
    }
    assert spelled == {("etags.py", code) for code in codes}


def test_every_reason_has_statuses_and_a_description() -> None:
    for reason in etags.Reason:
        assert reason.statuses
        assert all(100 <= status < 600 for status in reason.statuses)
        assert reason.description
        assert etags.Reason(reason.value) is reason
