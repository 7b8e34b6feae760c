"""Library calls that run in the host: ``this.fetch``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from noderuntime.methods import method
from noderuntime.methods.params import param

if TYPE_CHECKING:
    from noderuntime.runtime import Run


@method(library=True, url=param(str, required=True), options=param(dict))
def fetch(run: Run, *, url: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """``this.fetch(url, options)``: one HTTP request under the egress policy,
    charged to the run's HTTP budgets."""
    run.charge_http_request()
    response = run.http.fetch(
        url, options, max_bytes=run.http_bytes_left(), timeout=run.fetch_timeout_seconds(options)
    )
    run.charge_http_bytes(response.get("bytes", len(response.get("body", ""))))
    return response
