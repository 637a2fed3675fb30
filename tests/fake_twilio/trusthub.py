"""The fake's TrustHub resources (trusthub.twilio.com/v1) for A2P 10DLC. Evaluations check
what Twilio's policies ask for (the business, its representative and address on a customer
profile; the messaging profile and the customer profile on an A2P trust product). Reviews
never happen by themselves: a test moves a bundle on with `FakeTwilio.review`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fake_twilio._wire import iso8601, new_sid, not_found, now, require, stamps

if TYPE_CHECKING:
    from tests.fake_twilio import FakeTwilio

TRUSTHUB = "trusthub.twilio.com"
REQUIRED_ATTRIBUTES = {
    "customer_profile_business_information": (
        "business_name",
        "business_type",
        "business_industry",
        "business_registration_identifier",
        "business_registration_number",
        "business_regions_of_operation",
        "website_url",
        "business_identity",
    ),
    "authorized_representative_1": (
        "first_name",
        "last_name",
        "email",
        "phone_number",
        "business_title",
        "job_position",
    ),
    "us_a2p_messaging_profile_information": ("company_type",),
}


# TrustHub: end users, supporting documents, and the two kinds of bundle.


async def create_end_user(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := require(form, "FriendlyName", "Type"):
        return problem
    sid = new_sid("IT")
    record = {
        "sid": sid,
        "account_sid": fake.account_sid,
        "friendly_name": form["FriendlyName"],
        "type": form["Type"],
        "attributes": json.loads(str(form.get("Attributes") or "{}")),
        "url": f"https://{TRUSTHUB}/v1/EndUsers/{sid}",
    } | stamps()
    with fake.changed:
        fake.trust_objects[sid] = record
    return JSONResponse(record, status_code=201)


async def create_document(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := require(form, "FriendlyName", "Type"):
        return problem
    sid = new_sid("RD")
    record = {
        "sid": sid,
        "account_sid": fake.account_sid,
        "friendly_name": form["FriendlyName"],
        "type": form["Type"],
        "status": "DRAFT",
        "mime_type": None,
        "attributes": json.loads(str(form.get("Attributes") or "{}")),
        "url": f"https://{TRUSTHUB}/v1/SupportingDocuments/{sid}",
    } | stamps()
    with fake.changed:
        fake.trust_objects[sid] = record
    return JSONResponse(record, status_code=201)


def _collection(request: Request) -> str:
    return "CustomerProfiles" if "/CustomerProfiles" in request.url.path else "TrustProducts"


async def create_bundle(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := require(form, "FriendlyName", "Email", "PolicySid"):
        return problem
    sid, kind = new_sid("BU"), _collection(request)
    prefix = "customer_profiles" if kind == "CustomerProfiles" else "trust_products"
    url = f"https://{TRUSTHUB}/v1/{kind}/{sid}"
    record = {
        "sid": sid,
        "account_sid": fake.account_sid,
        "policy_sid": form["PolicySid"],
        "friendly_name": form["FriendlyName"],
        "status": "draft",
        "email": form["Email"],
        "status_callback": form.get("StatusCallback"),
        "valid_until": None,
        "url": url,
        "links": {
            f"{prefix}_entity_assignments": f"{url}/EntityAssignments",
            f"{prefix}_evaluations": f"{url}/Evaluations",
        },
        "errors": None,
    } | stamps()
    with fake.changed:
        fake.bundles[sid] = record
        fake.assignments[sid] = []
    return JSONResponse(record, status_code=201)


async def fetch_bundle(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    record = fake.bundles.get(request.path_params["sid"])
    return JSONResponse(record) if record else not_found(request)


async def update_bundle(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    with fake.changed:
        record = fake.bundles.get(request.path_params["sid"])
        if record is None:
            return not_found(request)
        for param, field in (
            ("Status", "status"),
            ("Email", "email"),
            ("FriendlyName", "friendly_name"),
        ):
            if param in form:
                record[field] = form[param]
        record["date_updated"] = iso8601(now())
    return JSONResponse(record)


async def assign(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    bundle_sid = request.path_params["sid"]
    if bundle_sid not in fake.bundles:
        return not_found(request)
    if problem := require(form, "ObjectSid"):
        return problem
    sid = new_sid("BV")
    key = (
        "customer_profile_sid"
        if _collection(request) == "CustomerProfiles"
        else "trust_product_sid"
    )
    record = {
        "sid": sid,
        key: bundle_sid,
        "account_sid": fake.account_sid,
        "object_sid": form["ObjectSid"],
        "date_created": iso8601(now()),
        "url": f"{fake.bundles[bundle_sid]['url']}/EntityAssignments/{sid}",
    }
    with fake.changed:
        fake.assignments[bundle_sid].append(str(form["ObjectSid"]))
    return JSONResponse(record, status_code=201)


def _requirement(name: str, invalid: list[str], what: str | None) -> dict[str, Any]:
    return {
        "friendly_name": name.replace("_", " ").title(),
        "object_type": name,
        "requirement_name": name,
        "requirement_friendly_name": name.replace("_", " ").title(),
        "passed": what is None and not invalid,
        "failure_reason": what,
        "error_code": 22214 if what else (22215 if invalid else None),
        "valid": [],
        "invalid": [
            {
                "friendly_name": field,
                "object_field": field,
                "failure_reason": f"The {field.replace('_', ' ')} is missing.",
                "error_code": 22215,
            }
            for field in invalid
        ],
    }


def _check(fake: FakeTwilio, assigned: list[str], kind: str) -> dict[str, Any]:
    found = [fake.trust_objects[s] for s in assigned if s in fake.trust_objects]
    entity = next((o for o in found if o["type"] == kind), None)
    if entity is None:
        return _requirement(kind, [], f"A {kind.replace('_', ' ')} is missing.")
    attributes = entity["attributes"]
    invalid = [f for f in REQUIRED_ATTRIBUTES.get(kind, ()) if not attributes.get(f)]
    if (
        kind == "us_a2p_messaging_profile_information"
        and attributes.get("company_type") == "public"
    ):
        invalid += [f for f in ("stock_exchange", "stock_ticker") if not attributes.get(f)]
    if kind == "customer_profile_address" and not all(
        a in fake.addresses for a in str(attributes.get("address_sids", "")).split(",") if a
    ):
        invalid.append("address_sids")
    return _requirement(kind, invalid, None)


async def evaluate(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    bundle_sid = request.path_params["sid"]
    if bundle_sid not in fake.bundles:
        return not_found(request)
    assigned = fake.assignments[bundle_sid]
    if _collection(request) == "CustomerProfiles":
        results = [
            _check(fake, assigned, "customer_profile_business_information"),
            _check(fake, assigned, "authorized_representative_1"),
            _check(fake, assigned, "customer_profile_address"),
        ]
        if fake.primary_profile_sid is not None:
            missing = None if fake.primary_profile_sid in assigned else "No primary profile."
            results.append(_requirement("primary_customer_profile", [], missing))
        key = "customer_profile_sid"
    else:
        profile = any(s in fake.bundles and s != bundle_sid for s in assigned)
        results = [
            _check(fake, assigned, "us_a2p_messaging_profile_information"),
            _requirement("customer_profile", [], None if profile else "No customer profile."),
        ]
        key = "trust_product_sid"
    sid = new_sid("EL")
    record = {
        "sid": sid,
        "account_sid": fake.account_sid,
        "policy_sid": form.get("PolicySid"),
        key: bundle_sid,
        "status": "compliant" if all(r["passed"] for r in results) else "noncompliant",
        "date_created": iso8601(now()),
        "url": f"{fake.bundles[bundle_sid]['url']}/Evaluations/{sid}",
        "results": results,
    }
    return JSONResponse(record, status_code=201)
