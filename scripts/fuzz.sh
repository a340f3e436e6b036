#!/usr/bin/env bash
# API fuzzing: schemathesis, every check enabled, against a running service with the
# committed spec and a valid token. Bounded: FUZZ_EXAMPLES examples per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

binary=${1:-target/debug/passerelle}
examples=${FUZZ_EXAMPLES:-50}
venv=.venv
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-fuzz.txt
fi

data_dir=$(mktemp -d /tmp/passerelle-fuzz.XXXXXX)
report=${FUZZ_REPORT:-.schemathesis/cassette.yaml}
mkdir -p "$(dirname "$report")"
chmod 755 "$data_dir"
trap 'stop_service; rm -rf "$data_dir"' EXIT
port=$(free_port)
# No background work: webhook endpoints the fuzzer registers (to any address, private ones
# allowed so that loopback can be registered) are never called.
start_service "$binary" "$data_dir" "$port" PASSERELLE_ACCESS_TOKEN_TTL=3600 \
    PASSERELLE_JOBS=false PASSERELLE_WEBHOOKS_ALLOW_PRIVATE=true
admin=$(token "$port" -d grant_type=password -d username=admin@passerelle.test -d password=admin-passerelle-2026)
# The demo association and its viewer: the identifiers the fuzzer puts in paths.
association=$(token "$port" -d grant_type=password -d username=viewer@association.demo.passerelle.test -d password=demo-passerelle-2026)
me=$(curl -fsS "http://127.0.0.1:$port/v1/me" -H "Authorization: Bearer $association")
FUZZ_ORGANISATION_ID=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["organisation"]["id"])' "$me")
FUZZ_ACCOUNT_ID=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["account"]["id"])' "$me")
# Case operations run as the association's admin, on a household it created.
FUZZ_CASE_TOKEN=$(token "$port" -d grant_type=password -d username=admin@association.demo.passerelle.test -d password=demo-passerelle-2026)
household=$(curl -fsS "http://127.0.0.1:$port/v1/households" -H "Authorization: Bearer $FUZZ_CASE_TOKEN" -H 'Content-Type: application/json' \
    -d '{"head": {"last_name": "Fuzz", "first_names": "Test", "birth_date": "1990-01-01"}, "household_type": "single_person", "adults": 1, "children": 0, "monthly_resources_cents": 90000, "housing_situation": "street", "special_category_grounds": ["psychiatric_disorder"]}')
FUZZ_HOUSEHOLD_ID=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$household")
# A referral from the CCAPEX (a commission's secretariat: under its decision, no consent
# needed) to the association.
ccapex=$(token "$port" -d grant_type=password -d username=admin@ddets.demo.passerelle.test -d password=demo-passerelle-2026)
referred=$(curl -fsS "http://127.0.0.1:$port/v1/households" -H "Authorization: Bearer $ccapex" -H 'Content-Type: application/json' \
    -d '{"head": {"last_name": "Fuzz", "first_names": "Referred", "birth_date": "1985-01-01"}, "household_type": "couple", "adults": 2, "children": 0, "monthly_resources_cents": 150000, "housing_situation": "hotel"}')
referral=$(curl -fsS "http://127.0.0.1:$port/v1/referrals" -H "Authorization: Bearer $ccapex" -H 'Content-Type: application/json' \
    -d "{\"household_id\": \"$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$referred")\", \"addressee_organisation_id\": \"$FUZZ_ORGANISATION_ID\", \"measure_kind\": \"avdl\", \"reason\": \"fuzzing\", \"mandate\": {\"commission\": \"ccapex\", \"decision_reference\": \"CCAPEX-FUZZ-1\", \"decided_on\": \"2026-01-05\"}}")
FUZZ_REFERRAL_ID=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$referral")
# Housing runs as the demo landlord (units, agreements, answering proposals) or the demo
# association (proposing, sub-letting), on the demo's unit, agreement, proposal, sub-lease.
FUZZ_LANDLORD_TOKEN=$(token "$port" -d grant_type=password -d username=admin@bailleur.demo.passerelle.test -d password=demo-passerelle-2026)
first_id() {
    curl -fsS "http://127.0.0.1:$port$1" -H "Authorization: Bearer $2" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])'
}
FUZZ_UNIT_ID=$(first_id "/v1/units?status=available" "$FUZZ_LANDLORD_TOKEN")
FUZZ_AGREEMENT_ID=$(first_id /v1/agreements "$FUZZ_LANDLORD_TOKEN")
FUZZ_PROPOSAL_ID=$(first_id /v1/proposals "$FUZZ_LANDLORD_TOKEN")
FUZZ_SUBLEASE_ID=$(first_id /v1/subleases "$FUZZ_CASE_TOKEN")
# Measures run as the association (the operator of the demo's EMPEX measure, which needs
# no decision: each of its actions reaches the state table), renewals are decided by the
# demo department (the funder of the demo's ASLL measure, whose first renewal waits).
FUZZ_MEASURE_ID=$(first_id "/v1/measures?as=operator&kind=empex" "$FUZZ_CASE_TOKEN")
FUZZ_OBJECTIVE_ID=$(first_id "/v1/measures/$FUZZ_MEASURE_ID/objectives" "$FUZZ_CASE_TOKEN")
FUZZ_CONTACT_ID=$(first_id "/v1/measures/$FUZZ_MEASURE_ID/contacts" "$FUZZ_CASE_TOKEN")
FUZZ_DEPARTMENT_TOKEN=$(token "$port" -d grant_type=password -d username=admin@departement.demo.passerelle.test -d password=demo-passerelle-2026)
FUZZ_RENEWAL_ID=$(first_id "/v1/renewals?as=decider&status=requested" "$FUZZ_DEPARTMENT_TOKEN")
export FUZZ_MEASURE_ID FUZZ_OBJECTIVE_ID FUZZ_CONTACT_ID FUZZ_DEPARTMENT_TOKEN FUZZ_RENEWAL_ID
# Programmes: the demo DDETS funds the AGIR programme.
FUZZ_FUNDER_TOKEN=$ccapex
FUZZ_PROGRAMME_ID=$(first_id "/v1/programmes?as=funder" "$FUZZ_FUNDER_TOKEN")
export FUZZ_FUNDER_TOKEN FUZZ_PROGRAMME_ID
# The referrer of the fuzzed referral (the CCAPEX) withdraws it; the association's partner
# system is the account whose secret is rotated.
FUZZ_REFERRER_TOKEN=$ccapex
FUZZ_SYSTEM_ACCOUNT_ID=$(curl -fsS "http://127.0.0.1:$port/v1/organisations/$FUZZ_ORGANISATION_ID/accounts?limit=200" -H "Authorization: Bearer $admin" |
    python3 -c 'import json, sys; print(next(a["id"] for a in json.load(sys.stdin)["items"] if a["kind"] == "system"))')
export FUZZ_REFERRER_TOKEN FUZZ_SYSTEM_ACCOUNT_ID
# Webhooks: endpoints of the demo association (its admin), one to act on and one to delete,
# and a test delivery.
webhook_endpoint() {
    curl -fsS "http://127.0.0.1:$port/v1/webhook-endpoints" -H "Authorization: Bearer $FUZZ_CASE_TOKEN" \
        -H 'Content-Type: application/json' -d "{\"url\": \"http://127.0.0.1:9/$1\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
FUZZ_WEBHOOK_ENDPOINT_ID=$(webhook_endpoint fuzz)
FUZZ_WEBHOOK_DELETED_ID=$(webhook_endpoint deleted)
FUZZ_WEBHOOK_DELIVERY_ID=$(curl -fsS -X POST "http://127.0.0.1:$port/v1/webhook-endpoints/$FUZZ_WEBHOOK_ENDPOINT_ID/test" \
    -H "Authorization: Bearer $FUZZ_CASE_TOKEN" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
export FUZZ_WEBHOOK_ENDPOINT_ID FUZZ_WEBHOOK_DELETED_ID FUZZ_WEBHOOK_DELIVERY_ID
export FUZZ_ORGANISATION_ID FUZZ_ACCOUNT_ID FUZZ_CASE_TOKEN FUZZ_HOUSEHOLD_ID FUZZ_REFERRAL_ID
export FUZZ_LANDLORD_TOKEN FUZZ_UNIT_ID FUZZ_AGREEMENT_ID FUZZ_PROPOSAL_ID FUZZ_SUBLEASE_ID

"$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run openapi/openapi.json \
    --url "http://127.0.0.1:$port" \
    --header "Authorization: Bearer $admin" \
    --checks all \
    --max-examples "$examples" \
    --seed "${FUZZ_SEED:-20261122}" \
    --report vcr --report-vcr-path "$report" \
    --no-color
# Every action was reached with an If-Match the service accepted (its logic ran).
"$venv/bin/python" scripts/fuzz-report.py openapi/openapi.json "$report"
