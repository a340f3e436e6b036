"""A partner's first integration, with the Python client generated from the committed spec
(`make clients`): a partner system gets a token, creates a household, refers it; the
operator's system acknowledges and accepts with If-Match; the referrer sees the acceptance
in its feed. Synthetic data only.

Usage: python scenario.py BASE_URL (the generated package on PYTHONPATH).
"""

import datetime
import sys
import time
import uuid

from passerelle_client import AuthenticatedClient, Client
from passerelle_client.types import UNSET, Unset
from passerelle_client.api.auth import create_token
from passerelle_client.api.events import list_events
from passerelle_client.api.households import create_household
from passerelle_client.api.referrals import accept_referral, acknowledge_referral, create_referral
from passerelle_client.api.accounts import get_me
from passerelle_client.models import (
    CommissionKind,
    EventPage,
    GrantType,
    Household,
    HouseholdType,
    HousingSituation,
    Mandate,
    Me,
    NewHead,
    NewHousehold,
    NewReferral,
    Organisation,
    Referral,
    TokenRequest,
    TokenResponse,
)


def position(cursor: str | None | Unset) -> str | Unset:
    """A page's `next_cursor`, as the next call's `after`."""
    return cursor if isinstance(cursor, str) else UNSET


def signed_in(base: str, client_id: str, secret: str) -> AuthenticatedClient:
    token = create_token.sync(
        client=Client(base_url=base),
        body=TokenRequest(
            grant_type=GrantType.CLIENT_CREDENTIALS, client_id=client_id, client_secret=secret
        ),
    )
    assert isinstance(token, TokenResponse), token
    return AuthenticatedClient(base_url=base, token=token.access_token)


def main(base: str) -> None:
    # The CCAPEX's software (the secretariat of a commission: it refers without the
    # household's consent, under the commission's decision).
    ccapex = signed_in(base, "demo-ddets", "demo-secret-ddets")
    operator = signed_in(base, "demo-association", "demo-secret-association")
    me = get_me.sync(client=operator)
    assert isinstance(me, Me), me
    assert isinstance(me.organisation, Organisation), me
    operator_id = me.organisation.id

    # Where the referrer's feed stands before.
    page = list_events.sync(client=ccapex, limit=200)
    assert isinstance(page, EventPage), page
    cursor = page.next_cursor
    while page.poll_after_seconds == 0 and page.next_cursor:
        page = list_events.sync(client=ccapex, limit=200, after=position(cursor))
        assert isinstance(page, EventPage), page
        cursor = page.next_cursor or cursor

    suffix = uuid.uuid4().hex[:8]
    created = create_household.sync_detailed(
        client=ccapex,
        body=NewHousehold(
            head=NewHead(
                last_name=f"Client-{suffix}", first_names="Généré", birth_date=datetime.date(1984, 5, 6)
            ),
            household_type=HouseholdType.SINGLE_PERSON,
            adults=1,
            children=0,
            monthly_resources_cents=85000,
            housing_situation=HousingSituation.ORDINARY_HOUSING_UNDER_THREAT,
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    assert created.status_code == 201, (created.status_code, created.content)
    household = created.parsed
    assert isinstance(household, Household), household

    sent = create_referral.sync_detailed(
        client=ccapex,
        body=NewReferral(
            household_id=household.id,
            addressee_organisation_id=operator_id,
            measure_kind="avdl",
            reason="Assignation reçue : accompagnement vers le relogement",
            mandate=Mandate(
                commission=CommissionKind.CCAPEX,
                decision_reference=f"CCAPEX-53-{suffix}",
                decided_on=datetime.date.today() - datetime.timedelta(days=3),
            ),
        ),
    )
    assert sent.status_code == 201, (sent.status_code, sent.content)
    referral = sent.parsed
    assert isinstance(referral, Referral), referral

    # The operator acts on the version it read: the ETag goes back as If-Match.
    acknowledged = acknowledge_referral.sync_detailed(
        referral.id, client=operator, if_match=sent.headers["etag"]
    )
    assert acknowledged.status_code == 200, (acknowledged.status_code, acknowledged.content)
    accepted = accept_referral.sync_detailed(
        referral.id, client=operator, if_match=acknowledged.headers["etag"]
    )
    assert accepted.status_code == 200, (accepted.status_code, accepted.content)
    assert isinstance(accepted.parsed, Referral) and accepted.parsed.status.value == "accepted"

    # The referrer learns it from its feed.
    deadline = time.monotonic() + 30
    while True:
        page = list_events.sync(client=ccapex, limit=200, after=position(cursor))
        assert isinstance(page, EventPage), page
        if any(e.type_ == "referral.accepted" and e.subject.id == referral.id for e in page.items):
            break
        cursor = page.next_cursor or cursor
        assert time.monotonic() < deadline, "referral.accepted never reached the referrer's feed"
        time.sleep(min(page.poll_after_seconds, 1))
    assert isinstance(referral.mandate, Mandate) and referral.mandate.commission == CommissionKind.CCAPEX
    print(f"scenario: referral {referral.id} accepted, seen in the referrer's feed")


if __name__ == "__main__":
    main(sys.argv[1])
