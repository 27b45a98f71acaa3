"""Vendor deliveries as recorded events, and recorded events routed again."""

import json

from bot.notify.events import routed, sparkhire_event, wedgehr_event
from bot.storage.repos import StoredEvent


def test_a_recorded_event_is_routed_again_as_when_it_was_recorded():
    recorded = [
        sparkhire_event(
            team_id="T1",
            connection_id="c1",
            header_event="InterviewCompleted",
            webhook_uuid="w",
            body={"uuid": "i1", "job_post": {"uuid": "j1", "title": "Barista"}, "assigned_to": {"email": "a@b.io"}},
            raw=b"{}",
        ),
        sparkhire_event(
            team_id="T1",
            connection_id="c1",
            header_event="InterviewRated",
            webhook_uuid="w",
            body={"interview_uuid": "i1"},
            raw=b"{}",
        ),
        sparkhire_event(
            team_id="T1",
            connection_id="c1",
            header_event="JobCreated",
            webhook_uuid="w",
            body={"uuid": "j2", "title": "Chef"},
            raw=b"{}",
        ),
        wedgehr_event(
            team_id="T1",
            connection_id="c2",
            invite={"id": 7, "email": "x@y.io", "interviewId": 3},
            wedge={"id": 9, "interviewName": "Ops", "candidateEmail": "x@y.io"},
            status="complete",
        ),
        wedgehr_event(
            team_id="T1", connection_id="c2", invite={"id": 8, "email": "z@y.io"}, wedge=None, status="canceled"
        ),
        wedgehr_event(
            team_id="T1", connection_id="c2", invite=None, wedge={"id": 10, "interviewId": 4}, status="complete"
        ),
    ]
    for event in recorded:
        stored = StoredEvent(
            id=1, team_id="T1", vendor=event.vendor, event_type=event.event_type, payload=event.payload, received_at=0.0
        )
        again = routed(stored)
        fields = (
            "event_type",
            "thread_key",
            "job_name",
            "job_id",
            "candidate_email",
            "connection_id",
            "filters_deferred",
        )
        assert [getattr(again, f) for f in fields] == [getattr(event, f) for f in fields]
    assert (
        routed(StoredEvent(id=1, team_id="T1", vendor="sparkhire", event_type="completed", payload={}, received_at=0))
        is None
    )


def test_a_delivery_is_made_an_event_without_nul_characters_however_it_reaches_the_builder():
    # PostgreSQL's text cannot hold a NUL: the key, thread and payload must be free of it whoever
    # calls the builder (the receiver, or ``routed`` for a re-enabled subscription).
    body = {"uuid": "i\x001", "job_post": {"uuid": "j1", "title": "Bar\x00ista"}, "assigned_to": {"email": "a@b.io"}}
    event = sparkhire_event(
        team_id="T1",
        connection_id="c1",
        header_event="InterviewCompleted",
        webhook_uuid="w\x00",
        body=body,
        raw=json.dumps(body).encode(),
    )
    assert "\x00" not in json.dumps([event.dedup_key, event.subject, event.thread_key, event.payload, event.job_name])
    assert event.subject == "i1"
    assert event.job_name == "Barista"
    wedge = wedgehr_event(
        team_id="T1", connection_id="c2", invite=None, wedge={"id": 9, "candidateName": "Nu\x00la"}, status="complete"
    )
    assert wedge.payload["wedge"]["candidateName"] == "Nula"
