"""The public GitLab Duo trial request: a web form and a JSON endpoint (R20, R21, R22).

Both record a lead and answer success whatever becomes of it: eligibility is decided later by
sales (``portal.leads``) and a dropped request is never revealed to the requester. Only
malformed input (a missing field, an invalid email) is answered with an error.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from portal.countries import COUNTRIES
from portal.errors import Refused
from portal.leads import submit_trial_request
from webcore.auth import csrf
from webcore.clock import app_clock
from webcore.errors import Refusal, refusal_renders

blueprint = Blueprint("trials", __name__)

SUCCESS = (
    "Thank you! Your GitLab Duo trial request was received. Once it is processed, the trial "
    "reaches your instance with its next daily synchronization, within 24 hours."
)
FIELDS = ("subscription_name", "email", "first_name", "last_name", "company", "country", "add_on")


@blueprint.route("/trials/duo", methods=["GET", "POST"])
def form() -> ResponseReturnValue:
    if request.method != "POST":  # GET and HEAD only show the form, whatever their body says
        return render_template("trials/form.html", form={}, countries=COUNTRIES)
    fields = {name: request.form.get(name, "") for name in FIELDS}

    def again(refused: Refusal) -> ResponseReturnValue:
        return render_template("trials/form.html", form=fields, countries=COUNTRIES), 422

    with refusal_renders(again):
        submit_trial_request(fields, app_clock().now())
    return render_template("trials/received.html", message=SUCCESS)


@blueprint.post("/api/v1/trial_requests")
@csrf.exempt
def api() -> ResponseReturnValue:
    """Refusals answer ``{"message": ..., "code": ...}`` (``webcore.errors``)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Refused("expected a JSON object", code="invalid_json", status=400)
    submit_trial_request({name: data.get(name) for name in FIELDS}, app_clock().now())
    return jsonify({"status": "received", "message": SUCCESS}), 202
