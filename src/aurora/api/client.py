"""A small client of the REST API, so every analyst command can work against a remote collector.

`aurora isolate HOST --server URL --token T` and friends use it instead of opening the state
directory. Errors come back as one-line :class:`ApiClientError` messages taken from the API's
``detail``, never as tracebacks.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx

from aurora.errors import AuroraError

PAGE_MAX = 500  # the API's largest page


class ApiClientError(AuroraError):
    """The API refused the request or could not be reached."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:200] or resp.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        errors = detail.get("errors") or []
        return "; ".join([str(detail.get("message", "")), *map(str, errors)]).strip("; ")
    return str(detail or resp.reason_phrase)


class ApiClient:
    """Bearer-token client of ``/api/v1``. ``ca_cert`` pins the collector CA (else system CAs)."""

    def __init__(
        self, server: str, token: str, *, ca_cert: Path | None = None, timeout_s: float = 30.0
    ) -> None:
        if not server.startswith("https://"):
            raise ApiClientError(f"--server must be an https:// URL, not {server!r}")
        if not token:
            raise ApiClientError("--token is required with --server (or set AURORA_TOKEN)")
        verify: ssl.SSLContext | bool = True
        if ca_cert is not None:
            if not ca_cert.is_file():
                raise ApiClientError(f"CA certificate {ca_cert} does not exist")
            verify = ssl.create_default_context(cafile=str(ca_cert))
        self._http = httpx.Client(
            base_url=server.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            verify=verify,
            timeout=timeout_s,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiClientError(f"cannot reach {self._http.base_url}: {exc}") from None
        if resp.status_code >= 400:
            raise ApiClientError(
                f"server said {resp.status_code}: {_detail(resp)}", resp.status_code
            )
        return resp.json()

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean)

    # --- resources the CLI uses ----------------------------------------------------------------

    def paged(self, path: str, limit: int, **filters: Any) -> list[dict[str, Any]]:
        """Up to ``limit`` items of a paginated list, following ``next_offset``."""
        items: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None and len(items) < limit:
            page = self.get(path, limit=min(PAGE_MAX, limit - len(items)), offset=offset, **filters)
            items.extend(page["items"])
            offset = page.get("next_offset")
        return items[:limit]

    def hosts(self, limit: int = 100_000) -> list[dict[str, Any]]:
        """Host records, the same fields as :class:`~aurora.collector.store.base.HostRecord`."""
        return self.paged("/api/v1/hosts", limit)

    def events(self, limit: int = 100, **filters: Any) -> list[dict[str, Any]]:
        """Stored events, newest first; each item's ``event`` is the OCSF event. Filters: host,
        class_uid, since_ms, until_ms, pid, process_name, q."""
        return self.paged("/api/v1/events", limit, **filters)

    def alerts(self, limit: int = 1000, **filters: Any) -> list[dict[str, Any]]:
        """Alerts with their Detection Finding (``finding``). Filters: status, host, since_ms,
        min_severity, assignee, q."""
        return self.paged("/api/v1/alerts", limit, full="true", **filters)

    def request_action(self, host: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        body = {"action": action, "params": params}
        got: dict[str, Any] = self.request("POST", f"/api/v1/hosts/{host}/actions", json=body)
        return got

    def stage_rollout(
        self,
        package: Path,
        hosts: list[str],
        *,
        all_hosts: bool,
        percent: int,
        confirm_within_s: int,
    ) -> dict[str, Any]:
        """POST the package file (streamed, not read into memory) as a new rollout."""
        params: dict[str, Any] = {"percent": percent, "confirm_within_s": confirm_within_s}
        if all_hosts:
            params["all"] = "true"
        else:
            params["host"] = hosts
        with package.open("rb") as body:
            result: dict[str, Any] = self.request(
                "POST",
                "/api/v1/rollouts",
                params=params,
                content=body,
                headers={"Content-Type": "application/octet-stream"},
            )
        return result

    def action(self, command_id: str) -> dict[str, Any]:
        got: dict[str, Any] = self.get(f"/api/v1/actions/{command_id}")
        return got

    def download(self, command_id: str, out: Path) -> int:
        """Stream an action's upload to ``out``; return its size."""
        tmp = out.with_name(f".{out.name}.part")
        try:
            with self._http.stream("GET", f"/api/v1/actions/{command_id}/download") as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise ApiClientError(f"download failed: {_detail(resp)}", resp.status_code)
                size = 0
                with tmp.open("wb") as fh:
                    for chunk in resp.iter_bytes():
                        fh.write(chunk)
                        size += len(chunk)
        except httpx.HTTPError as exc:
            raise ApiClientError(f"download failed: {exc}") from None
        tmp.replace(out)
        return size
