"""schemathesis against Tempest's own OpenAPI document (`/api/v1/openapi.json`), in process
through WSGI: for every operation, generated valid and invalid requests, with the admin token
and a meter's key, never get a 5xx and never get an answer that breaks the document (status
codes it declares, error bodies of its Error schema).

`POST /api/v1/meters/{serial}/config/push` is left out: it makes Tempest call the agent URL a
meter reported, and generated heartbeats could point that anywhere (this suite only ever
talks to loopback). tests/ui and tests/delivery cover it against a real agent.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hardening.fuzzcount import FUZZ
from tests.hardening.state import Stored
from tests.support.tempest_client import ADMIN_TOKEN

EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          content_type_conformance]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    s = Stored(tmp_path_factory.mktemp("schemathesis"))
    yield s
    s.close()


def _operations(stored):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", stored.app).exclude(
        path_regex=r"/config/push$")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_tempest_keeps_to_its_openapi_document(stored, mode):
    """Each operation in turn (schemathesis's pytest plugin does not run under pytest 9, so
    the cases are drawn from each operation's strategy here)."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "x-api-key": stored.key}
    failures: dict[str, str] = {}
    operations = _operations(stored)
    assert len(operations) > 40
    for op in operations:
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(op.as_strategy(mode))
        def one(case):
            FUZZ[f"schemathesis ({mode.value}): openapi.json requests"] += 1
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            one()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            continue
        except Exception as exc:  # noqa: BLE001 - collected, reported all at once
            failures[f"{op.method.upper()} {op.path}"] = str(exc)[:1500]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
