"""The loop between the executive and the reconciliation: a send-back stays open on the
reconciliation page until it is answered, with a change to the plan or a comment, and the
executive reads the answer in the pack."""

from __future__ import annotations

import pytest
from django.urls import reverse

from executive import services as exec_services
from reconciliation import services as recon_services
from sop import services as sop_services
from sop.choices import Stage
from sop.models import AuditEvent, CycleTransition
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db
REVIEW = reverse("reconciliation:review")
SIGNOFF = reverse("executive:signoff")


@pytest.fixture
def sent_back(in_review, executive, django_capture_on_commit_callbacks):
    """Sent back by Eve, with the base plan re-run by the system on entry (after commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        exec_services.plan_decide(
            cycle=in_review, user=executive, approve=False, comment="Margin too thin"
        )
    in_review.refresh_from_db()
    return in_review


def resubmit(cycle, user, comment=""):
    return sop_services.cycle_advance(
        cycle=cycle, target=Stage.EXECUTIVE_REVIEW, user=user, comment=comment
    )


def test_a_resubmit_with_no_change_and_no_comment_is_refused_with_who_and_why(sent_back, finance):
    # The system's own re-run of the base plan after the send-back is no one's answer.
    assert AuditEvent.objects.filter(
        cycle=sent_back, action="scenario.run", user__isnull=True
    ).exists()
    with pytest.raises(sop_services.TransitionRefused) as refused:
        resubmit(sent_back, finance, comment="   ")
    message = refused.value.messages[0]
    assert "sent back by Eve Executive" in message
    assert "Margin too thin" in message
    assert "change the plan, or say in the comment how you answered it" in message
    sent_back.refresh_from_db()
    assert sent_back.stage == Stage.RECONCILIATION


def test_a_rename_is_no_answer(
    recommended, reconciling, finance, executive, django_capture_on_commit_callbacks
):
    promo = recon_services.scenario_create(cycle=reconciling, name="Promo", user=finance)
    resubmit(reconciling, finance)
    exec_services.plan_decide(cycle=reconciling, user=executive, approve=False, comment="Why?")
    recon_services.scenario_rename(
        scenario=promo, name="Promo B", description="", version=promo.version, user=finance
    )
    with pytest.raises(sop_services.TransitionRefused, match="Nothing in it has changed"):
        resubmit(reconciling, finance)


def test_a_comment_answers_it_and_is_kept_in_the_history_and_the_audit(sent_back, finance):
    resubmit(sent_back, finance, comment="Margin holds: the promo is funded by the supplier")
    sent_back.refresh_from_db()
    assert sent_back.stage == Stage.EXECUTIVE_REVIEW
    last = CycleTransition.objects.filter(cycle=sent_back).last()
    assert last.comment == "Margin holds: the promo is funded by the supplier"
    event = AuditEvent.objects.filter(cycle=sent_back, action="cycle.transition").latest("at", "id")
    answer = event.new["answers_send_back"]
    assert (answer["by"], answer["why"], answer["changes"]) == (
        "Eve Executive",
        "Margin too thin",
        [],
    )
    assert event.reason == "Margin holds: the promo is funded by the supplier"


def test_a_change_since_the_send_back_answers_it_and_is_counted_by_kind(sent_back, finance):
    span = {"start": MONTHS[0].isoformat(), "end": MONTHS[-1].isoformat()}
    delta = {"kind": "demand", "family": "Bikes", "percent": 5, **span}
    recon_services.scenario_create(cycle=sent_back, name="Price up", user=finance, deltas=[delta])
    recon_services.decision_add(cycle=sent_back, text="Raise bike prices 3 %", user=finance)
    recon_services.decision_add(cycle=sent_back, text="Hold tea stock", user=finance)
    resubmit(sent_back, finance)
    sent_back.refresh_from_db()
    assert sent_back.stage == Stage.EXECUTIVE_REVIEW
    event = AuditEvent.objects.filter(cycle=sent_back, action="cycle.transition").latest("at", "id")
    assert event.new["answers_send_back"]["changes"] == [
        "1 scenario created",
        "2 entries in the decision log",
    ]


def test_a_first_submit_needs_no_answer(recommended, reconciling, finance):
    resubmit(reconciling, finance)
    reconciling.refresh_from_db()
    assert reconciling.stage == Stage.EXECUTIVE_REVIEW


def test_the_reconciliation_page_shows_the_open_send_back_until_it_is_answered(
    sent_back, finance, client_for, client
):
    client.force_login(finance)
    page = client.get(REVIEW, {"cycle": sent_back.pk}).content.decode()
    assert 'id="send-back"' in page
    assert "Sent back by Eve Executive" in page
    assert "Margin too thin" in page
    assert "Nothing has changed since" in page
    assert "Your answer to the send-back (needed: nothing has changed since)" in page

    recon_services.decision_add(cycle=sent_back, text="Cut the tea promo", user=finance)
    page = client.get(REVIEW, {"cycle": sent_back.pk}).content.decode()
    assert "Changed since: 1 entry in the decision log." in page

    resubmit(sent_back, finance)
    page = client.get(REVIEW, {"cycle": sent_back.pk}).content.decode()
    assert 'id="send-back"' not in page


def test_the_submit_form_refuses_without_an_answer_and_returns_to_the_page(
    sent_back, finance, client
):
    client.force_login(finance)
    url = f"{REVIEW}?cycle={sent_back.pk}"
    post = {"target": Stage.EXECUTIVE_REVIEW, "comment": "", "next": url}
    response = client.post(reverse("sop:cycle_advance", args=[sent_back.pk]), post)
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert "Nothing in it has changed since" in page
    sent_back.refresh_from_db()
    assert sent_back.stage == Stage.RECONCILIATION

    post["comment"] = "Checked with sales: margin is fine"
    post["next"] = "https://elsewhere.example/"  # not followed: back to the cycle page
    response = client.post(reverse("sop:cycle_advance", args=[sent_back.pk]), post)
    assert response["Location"] == f"{reverse('sop:home')}?cycle={sent_back.pk}"
    sent_back.refresh_from_db()
    assert sent_back.stage == Stage.EXECUTIVE_REVIEW


def test_the_pack_shows_the_executive_the_answer(sent_back, finance, executive, client):
    resubmit(sent_back, finance, comment="Checked with sales: margin is fine")
    client.force_login(executive)
    page = client.get(SIGNOFF, {"cycle": sent_back.pk}).content.decode()
    assert "Answer to the send-back" in page
    assert "<q>Margin too thin</q>" in page
    assert '<q class="answer">Checked with sales: margin is fine</q>' in page
    assert "Nothing in the plan changed in between: the comment is the answer." in page


def test_the_cycle_page_reminds_the_reconciliation_of_the_open_send_back(
    sent_back, finance, client
):
    client.force_login(finance)
    page = client.get("/", {"cycle": sent_back.pk}).content.decode()
    assert 'id="send-back-note"' in page
    assert "Sent back by Eve Executive" in page and "<q>Margin too thin</q>" in page
    assert "Nothing has changed since: say in the comment how you answered it" in page
    resubmit(sent_back, finance, comment="Margin holds")
    assert 'id="send-back-note"' not in client.get("/", {"cycle": sent_back.pk}).content.decode()
