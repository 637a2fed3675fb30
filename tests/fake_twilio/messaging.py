"""The fake's Messaging resources (messaging.twilio.com/v1) for A2P 10DLC: brands, messaging
services, their numbers, campaigns. Reviews never happen by themselves: a test moves a brand
or campaign on with `FakeTwilio.review`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fake_twilio._wire import (
    error,
    is_true,
    new_sid,
    not_found,
    page_v1,
    require,
    stamps,
)

if TYPE_CHECKING:
    from tests.fake_twilio import FakeTwilio

MESSAGING = "messaging.twilio.com"
BRAND_NOT_APPROVED = 21717
ALREADY_IN_SERVICE, IN_OTHER_SERVICE, POOL_FULL = 21710, 21712, 21714
POOL_SIZE = 400  # numbers a Messaging Service holds


async def create_brand(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := require(form, "CustomerProfileBundleSid", "A2PProfileBundleSid"):
        return problem
    if any(
        form[k] not in fake.bundles for k in ("CustomerProfileBundleSid", "A2PProfileBundleSid")
    ):
        return error(404, 20404, "The bundle was not found")
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
    } | stamps()
    with fake.changed:
        fake.brands[sid] = record
    return JSONResponse(record, status_code=201)


async def read_brands(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    return page_v1(request, MESSAGING, "data", list(fake.brands.values()))


async def fetch_brand(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    record = fake.brands.get(request.path_params["sid"])
    return JSONResponse(record) if record else not_found(request)


async def create_service(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    if problem := require(form, "FriendlyName"):
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
    } | stamps()
    with fake.changed:
        fake.services[sid] = record
        fake.service_numbers[sid] = {}
        fake.campaigns[sid] = {}
    return JSONResponse(record, status_code=201)


async def add_number(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    service_sid = request.path_params["sid"]
    if service_sid not in fake.services:
        return not_found(request)
    number_sid = str(form.get("PhoneNumberSid", ""))
    with fake.changed:
        owned = fake.owned.get(number_sid)
        if owned is None:
            return error(404, 20404, f"Phone Number {number_sid} not found")
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
        } | stamps()
    return JSONResponse(record, status_code=201)


async def read_numbers(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    pool = fake.service_numbers.get(request.path_params["sid"])
    if pool is None:
        return not_found(request)
    return page_v1(request, MESSAGING, "phone_numbers", list(pool.values()))


async def create_campaign(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    service_sid = request.path_params["sid"]
    if service_sid not in fake.services:
        return not_found(request)
    required = ("BrandRegistrationSid", "Description", "MessageFlow", "MessageSamples")
    if problem := require(form, *required, "UsAppToPersonUsecase"):
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
    } | stamps()
    with fake.changed:
        fake.campaigns[service_sid][sid] = record
    return JSONResponse(record, status_code=201)


async def read_campaigns(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    campaigns = fake.campaigns.get(request.path_params["sid"])
    if campaigns is None:
        return not_found(request)
    return page_v1(request, MESSAGING, "compliance", list(campaigns.values()))


async def fetch_campaign(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    campaign = fake.campaigns.get(request.path_params["sid"], {}).get(request.path_params["qe"])
    return JSONResponse(campaign) if campaign else not_found(request)
