"""Schemathesis over the OpenAPI document, against the real HTTPS server: whatever it sends, the
API answers without a 5xx, and no generated request gets past authentication or RBAC."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.apienv import Env, make_env, seed
from api.test_rbac import API_ROUTES, PUBLIC, WHO_MAY

# Bounded so the whole module stays well under a minute on two shared cores.
MAX_EXAMPLES = 5


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = make_env(tmp_path_factory.mktemp("fuzz"))
    seed(e)
    yield e
    e.close()


def _check(case: schemathesis.Case, env: Env, session: requests.Session) -> None:
    permission = API_ROUTES[(case.method.upper(), case.operation.path)]
    for role in (None, "viewer", "analyst", "admin"):
        headers = {"Authorization": f"Bearer {env.tokens[role]}"} if role else {}
        session.cookies.clear()  # a fuzzed login must not authenticate the next request
        resp = case.call(
            base_url=env.server.url,
            session=session,
            headers=headers,
            verify=session.verify,
            timeout=30,
        )
        where = f"{role or 'anonymous'} {case.method} {case.formatted_path}"
        assert resp.status_code < 500, f"{where} -> {resp.status_code}: {resp.text[:300]}"
        if permission == PUBLIC:
            continue
        if role is None:
            assert resp.status_code == 401, f"{where} bypassed authentication: {resp.status_code}"
        elif role not in WHO_MAY[permission]:
            assert resp.status_code == 403, f"{where} bypassed RBAC: {resp.status_code}"
        if 400 <= resp.status_code < 500:
            assert resp.json().get("detail"), f"{where}: 4xx without a message"


def test_no_5xx_and_no_authorisation_bypass(fuzz_env: Env) -> None:
    spec = fuzz_env.client().get("/openapi.json").json()
    # The live stream never ends by itself; the RBAC matrix and test_live cover it.
    api = schemathesis.openapi.from_dict(spec).exclude(path="/api/v1/stream")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 30
    session = requests.Session()
    # One keep-alive session: a TLS handshake per request would dominate the run time.
    session.verify = str(fuzz_env.state_dir / "pki" / "ca.crt")
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            _check(case, fuzz_env, session)

        fuzz()
    session.close()
