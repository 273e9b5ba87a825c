"""The events API's contract: `validate_event`, which the view runs, and `EventInput`, the
OpenAPI schema, give the same answer to every body: the same clean values, or the same
field errors message for message (valid, near-valid and invalid bodies; unknown keys,
which both ignore, as PagerDuty's other fields arrive from monitors)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from apps.alerts import event_input as contract
from apps.alerts.api.serializers import EventInput
from apps.alerts.event_input import validate_event
from tests.support.contracts import (
    CONTRACT,
    Field,
    assert_same,
    bodies,
    choice_field,
    junk,
    obj_field,
    serializer_answer,
    text,
    text_field,
)

DETAILS = Field(valid=st.dictionaries(text, junk, max_size=4),
                wild=st.one_of(st.just({"blob": "x" * 9000}), st.just({"deep": {"a": {"b": {"c": {"d": {}}}}}}), junk))
PAYLOAD = obj_field({
    "summary": text_field(max_length=contract.MAX_SUMMARY_LENGTH, allow_blank=False),
    "severity": choice_field(contract.PAGERDUTY_SEVERITIES),
    "source": text_field(max_length=contract.MAX_SOURCE_LENGTH, allow_blank=False),
    "site": text_field(max_length=contract.MAX_SITE_LENGTH, allow_blank=False),
    "details": DETAILS,
    "custom_details": DETAILS,
}, required=("summary", "severity", "source"))
EVENT = obj_field({
    "event_action": choice_field(contract.EVENT_ACTIONS),
    "dedup_key": text_field(max_length=contract.MAX_KEY_LENGTH, allow_blank=False),
    "routing_key": text_field(max_length=contract.MAX_KEY_LENGTH, allow_blank=False),
    "payload": PAYLOAD,
}, required=("event_action",))
PAGERDUTY_EXTRAS = st.fixed_dictionaries({}, optional={
    "client": text, "client_url": text, "links": junk, "images": junk, "payload_extra": junk})


@CONTRACT
@given(body=bodies(EVENT))
def test_event_validator_answers_as_its_serializer(body):
    assert_same(validate_event(body), serializer_answer(EventInput, body))


@CONTRACT
@given(body=EVENT.valid, extras=PAGERDUTY_EXTRAS)
def test_pagerdutys_other_fields_are_ignored_by_both(body, extras):
    assert_same(validate_event({**extras, **body}), serializer_answer(EventInput, {**extras, **body}))


def test_the_serializers_choices_are_the_validators():
    fields = EventInput().fields
    assert set(fields["event_action"].choices) == set(contract.EVENT_ACTIONS)
    assert set(fields["payload"].fields["severity"].choices) == set(contract.PAGERDUTY_SEVERITIES)
