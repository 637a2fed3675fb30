"""The fake's TrustHub (trusthub.twilio.com/v1) and Messaging (messaging.twilio.com/v1)
resources for A2P 10DLC. Evaluations check what Twilio's policies ask for (the business,
its representative and address on a customer profile; the messaging profile and the customer
profile on an A2P trust product). Reviews never happen by themselves: a test moves a
bundle, brand or campaign on with `FakeTwilio.review(sid, status, errors)`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fake_twilio._wire import error, is_true, iso8601, new_sid, now, page_v1

if TYPE_CHECKING:
    from tests.fake_twilio import FakeTwilio

TRUSTHUB, MESSAGING = "trusthub.twilio.com", "messaging.twilio.com"
NOT_FOUND, MISSING = 20404, 21605  # 21605: a code of the fake's choosing for a missing field
BRAND_NOT_APPROVED = 21717
ALREADY_IN_SERVICE, IN_OTHER_SERVICE, POOL_FULL = 21710, 21712, 21714
POOL_SIZE = 400
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


def _missing(request: Request) -> Response:
    return error(404, NOT_FOUND, f"The requested resource {request.url.path} was not found")


def _require(form: FormData, *names: str) -> Response | None:
    absent = [n for n in names if not form.get(n)]
    return error(400, MISSING, f"Missing required parameter {absent[0]}") if absent else None


def _stamp() -> dict[str, Any]:
    moment = iso8601(now())
    return {"date_created": moment, "date_updated": moment}


# TrustHub: end users, supporting documents, and the two kinds of bundle.


async def create_end_user(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := _require(form, "FriendlyName", "Type"):
        return problem
    sid = new_sid("IT")
    record = {
        "sid": sid,
        "account_sid": fake.account_sid,
        "friendly_name": form["FriendlyName"],
        "type": form["Type"],
        "attributes": json.loads(str(form.get("Attributes") or "{}")),
        "url": f"https://{TRUSTHUB}/v1/EndUsers/{sid}",
    } | _stamp()
    with fake.changed:
        fake.trust_objects[sid] = record
    return JSONResponse(record, status_code=201)


async def create_document(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := _require(form, "FriendlyName", "Type"):
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
    } | _stamp()
    with fake.changed:
        fake.trust_objects[sid] = record
    return JSONResponse(record, status_code=201)


def _collection(request: Request) -> str:
    return "CustomerProfiles" if "/CustomerProfiles" in request.url.path else "TrustProducts"


async def create_bundle(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := _require(form, "FriendlyName", "Email", "PolicySid"):
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
    } | _stamp()
    with fake.changed:
        fake.bundles[sid] = record
        fake.assignments[sid] = []
    return JSONResponse(record, status_code=201)


async def fetch_bundle(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    record = fake.bundles.get(request.path_params["sid"])
    return JSONResponse(record) if record else _missing(request)


async def update_bundle(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    with fake.changed:
        record = fake.bundles.get(request.path_params["sid"])
        if record is None:
            return _missing(request)
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
        return _missing(request)
    if problem := _require(form, "ObjectSid"):
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
        return _missing(request)
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


# Messaging: brands, services, their numbers, campaigns.


async def create_brand(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := _require(form, "CustomerProfileBundleSid", "A2PProfileBundleSid"):
        return problem
    if any(
        form[k] not in fake.bundles for k in ("CustomerProfileBundleSid", "A2PProfileBundleSid")
    ):
        return error(404, NOT_FOUND, "The bundle was not found")
    sid = new_sid("BN")
    url = f"https://{MESSAGING}/v1/a2p/BrandRegistrations/{sid}"
    record = {
        "sid": sid,
        "account_sid": fake.account_sid,
        "customer_profile_bundle_sid": form["CustomerProfileBundleSid"],
        "a2p_profile_bundle_sid": form["A2PProfileBundleSid"],
        "brand_type": form.get("BrandType") or "STANDARD",
        "status": "PENDING",
        "tcr_id": None,
        "failure_reason": None,
        "url": url,
        "brand_score": None,
        "brand_feedback": None,
        "identity_status": None,
        "russell_3000": None,
        "government_entity": None,
        "tax_exempt_status": None,
        "skip_automatic_sec_vet": is_true(form.get("SkipAutomaticSecVet")),
        "errors": [],
        "mock": is_true(form.get("Mock")),
        "links": {"brand_vettings": f"{url}/Vettings", "brand_registration_otps": f"{url}/SmsOtp"},
    } | _stamp()
    with fake.changed:
        fake.brands[sid] = record
    return JSONResponse(record, status_code=201)


async def read_brands(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    return page_v1(request, MESSAGING, "data", list(fake.brands.values()))


async def fetch_brand(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    record = fake.brands.get(request.path_params["sid"])
    return JSONResponse(record) if record else _missing(request)


async def create_service(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := _require(form, "FriendlyName"):
        return problem
    sid = new_sid("MG")
    url = f"https://{MESSAGING}/v1/Services/{sid}"
    record = {
        "sid": sid,
        "account_sid": fake.account_sid,
        "friendly_name": form["FriendlyName"],
        "inbound_request_url": form.get("InboundRequestUrl"),
        "inbound_method": form.get("InboundMethod") or "POST",
        "fallback_url": None,
        "fallback_method": "POST",
        "status_callback": form.get("StatusCallback"),
        "sticky_sender": True,
        "mms_converter": True,
        "smart_encoding": True,
        "scan_message_content": "inherit",
        "fallback_to_long_code": False,
        "area_code_geomatch": True,
        "validity_period": 14400,
        "synchronous_validation": True,
        "usecase": form.get("Usecase") or "undeclared",
        "us_app_to_person_registered": False,
        "use_inbound_webhook_on_number": is_true(form.get("UseInboundWebhookOnNumber")),
        "url": url,
        "links": {
            "phone_numbers": f"{url}/PhoneNumbers",
            "us_app_to_person": f"{url}/Compliance/Usa2p",
        },
    } | _stamp()
    with fake.changed:
        fake.services[sid] = record
        fake.service_numbers[sid] = {}
        fake.campaigns[sid] = {}
    return JSONResponse(record, status_code=201)


async def add_number(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    service_sid = request.path_params["sid"]
    if service_sid not in fake.services:
        return _missing(request)
    number_sid = str(form.get("PhoneNumberSid", ""))
    with fake.changed:
        owned = fake.owned.get(number_sid)
        if owned is None:
            return error(404, NOT_FOUND, f"Phone Number {number_sid} not found")
        pool = fake.service_numbers[service_sid]
        if number_sid in pool:
            return error(
                409, ALREADY_IN_SERVICE, "Phone Number is already in the Messaging Service"
            )
        if any(
            number_sid in other for s, other in fake.service_numbers.items() if s != service_sid
        ):
            return error(409, IN_OTHER_SERVICE, "Phone Number is associated with another Service")
        if len(pool) >= POOL_SIZE:
            return error(400, POOL_FULL, "Messaging Service Number Pool size limit reached")
        pool[number_sid] = record = {
            "sid": number_sid,
            "account_sid": fake.account_sid,
            "service_sid": service_sid,
            "phone_number": owned["phone_number"],
            "country_code": "US",
            "capabilities": ["MMS", "SMS", "Voice"],
            "url": f"https://{MESSAGING}/v1/Services/{service_sid}/PhoneNumbers/{number_sid}",
        } | _stamp()
    return JSONResponse(record, status_code=201)


async def read_numbers(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    pool = fake.service_numbers.get(request.path_params["sid"])
    if pool is None:
        return _missing(request)
    return page_v1(request, MESSAGING, "phone_numbers", list(pool.values()))


async def create_campaign(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    service_sid = request.path_params["sid"]
    if service_sid not in fake.services:
        return _missing(request)
    required = ("BrandRegistrationSid", "Description", "MessageFlow", "MessageSamples")
    if problem := _require(form, *required, "UsAppToPersonUsecase"):
        return problem
    brand = fake.brands.get(str(form["BrandRegistrationSid"]))
    if brand is None or brand["status"] != "APPROVED":
        return error(400, BRAND_NOT_APPROVED, "The Brand Registration is not registered")
    sid = new_sid("QE")
    record = {
        "sid": sid,
        "account_sid": fake.account_sid,
        "brand_registration_sid": brand["sid"],
        "messaging_service_sid": service_sid,
        "description": form["Description"],
        "message_samples": form.getlist("MessageSamples"),
        "us_app_to_person_usecase": form["UsAppToPersonUsecase"],
        "has_embedded_links": is_true(form.get("HasEmbeddedLinks")),
        "has_embedded_phone": is_true(form.get("HasEmbeddedPhone")),
        "subscriber_opt_in": True,
        "age_gated": False,
        "direct_lending": False,
        "campaign_status": "PENDING",
        "campaign_id": None,
        "is_externally_registered": False,
        "rate_limits": {},
        "message_flow": form["MessageFlow"],
        "opt_in_message": form.get("OptInMessage"),
        "opt_out_message": None,
        "help_message": None,
        "opt_in_keywords": None,
        "opt_out_keywords": None,
        "help_keywords": None,
        "privacy_policy_url": form.get("PrivacyPolicyUrl"),
        "terms_and_conditions_url": form.get("TermsAndConditionsUrl"),
        "url": f"https://{MESSAGING}/v1/Services/{service_sid}/Compliance/Usa2p/{sid}",
        "mock": False,
        "errors": [],
    } | _stamp()
    with fake.changed:
        fake.campaigns[service_sid][sid] = record
    return JSONResponse(record, status_code=201)


async def read_campaigns(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    campaigns = fake.campaigns.get(request.path_params["sid"])
    if campaigns is None:
        return _missing(request)
    return page_v1(request, MESSAGING, "compliance", list(campaigns.values()))


async def fetch_campaign(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    campaign = fake.campaigns.get(request.path_params["sid"], {}).get(request.path_params["qe"])
    return JSONResponse(campaign) if campaign else _missing(request)
