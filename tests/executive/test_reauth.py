"""Approving a plan needs a recent sign-in: within SOP_REAUTH_MINUTES, or the password again."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from sop.accounts import AUTH_TIME_KEY
from sop.choices import Stage

pytestmark = pytest.mark.django_db
PASSWORD = "pass-for-tests-1"  # tests.factories.UserFactory


def _stale(client, minutes=16):
    session = client.session
    session[AUTH_TIME_KEY] = time.time() - minutes * 60
    session.save()


def _approve(client, cycle, **extra):
    return client.post(
        reverse("executive:decide", args=[cycle.pk]),
        {"decision": "approve", "comment": "", **extra},
        follow=True,
    )


def test_a_fresh_sign_in_approves_without_asking_again(in_review, executive, client):
    client.force_login(executive)  # signing in records the time
    page = client.get(reverse("executive:signoff"), {"cycle": in_review.pk}).content.decode()
    assert 'name="password"' not in page
    _approve(client, in_review)
    in_review.refresh_from_db()
    assert in_review.stage == Stage.APPROVED


def test_a_sign_in_older_than_15_minutes_must_confirm_the_password(in_review, executive, client):
    client.force_login(executive)
    _stale(client)
    page = client.get(reverse("executive:signoff"), {"cycle": in_review.pk}).content.decode()
    assert 'name="password"' in page and "more than 15 minutes ago" in page
    refused = _approve(client, in_review).content.decode()
    assert "Confirm your password to approve" in refused
    wrong = _approve(client, in_review, password="not-it").content.decode()
    assert "That password is not right: the plan was not approved." in wrong
    in_review.refresh_from_db()
    assert in_review.stage == Stage.EXECUTIVE_REVIEW
    _approve(client, in_review, password=PASSWORD)
    in_review.refresh_from_db()
    assert in_review.stage == Stage.APPROVED
    assert client.session[AUTH_TIME_KEY] == pytest.approx(time.time(), abs=5)


def test_sending_back_needs_no_new_sign_in(in_review, executive, client):
    client.force_login(executive)
    _stale(client, minutes=120)
    client.post(
        reverse("executive:decide", args=[in_review.pk]),
        {"decision": "send_back", "comment": "Cover the peak first"},
    )
    in_review.refresh_from_db()
    assert in_review.stage == Stage.RECONCILIATION


def test_approving_from_the_cycle_home_asks_the_same(in_review, executive, client):
    client.force_login(executive)
    _stale(client)
    url = reverse("sop:cycle_advance", args=[in_review.pk])
    home = client.get(reverse("sop:home"), {"cycle": in_review.pk}).content.decode()
    assert 'name="password"' in home
    refused = client.post(url, {"target": Stage.APPROVED}, follow=True).content.decode()
    assert "Confirm your password to approve" in refused
    in_review.refresh_from_db()
    assert in_review.stage == Stage.EXECUTIVE_REVIEW
    client.post(url, {"target": Stage.APPROVED, "password": PASSWORD})
    in_review.refresh_from_db()
    assert in_review.stage == Stage.APPROVED


def test_a_single_sign_on_user_is_sent_to_sign_in_again(in_review, executive, client):
    executive.set_unusable_password()
    executive.save()
    client.force_login(executive)
    _stale(client)
    page = client.get(reverse("executive:signoff"), {"cycle": in_review.pk}).content.decode()
    assert 'name="password"' not in page and "sign in again" in page
    refused = _approve(client, in_review).content.decode()
    assert "Sign in again with single sign-on to approve" in refused
