"""``this``: the script's view of the conversation, built inside the sandbox.

This module runs in the worker (and in-process): it turns the run's plain data
into ``this`` (member, messageEvent, channel, group, agendaMeta, node, app),
attaches the helper libraries, and makes one proxy per platform method. A
proxy holds nothing but a name: calling it sends the name and plain parameters
to the host, which validates and executes the call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from noderuntime.lodash import Lodash
from noderuntime.moment import MomentFactory
from sandbox.errors import ScriptError
from sandbox.guards import Exposed, JSObject, Namespace
from sandbox.runner import RunContext, Setup, to_script

#: Data fields of ``this``, in the order the README documents them.
CONTEXT_FIELDS = ("member", "messageEvent", "channel", "group", "agendaMeta", "node", "app")

#: Imported by each worker before it locks itself down.
WORKER_PRELOAD = ("noderuntime.context", "pendulum", "pendulum.parsing", "pydash")

_LODASH = Lodash()


class MethodProxy(Exposed):
    """A platform method as a script sees it: call it with one dict of
    parameters or with keyword arguments (or both: keywords win)."""

    script_name = "method"

    def __init__(self, name: str, call: Callable[[str, Any], Any]) -> None:
        self._name = name
        self._call = call

    def __repr__(self) -> str:
        return f"<method {self._name}>"

    def __call__(self, params: Any = None, **kwargs: Any) -> Any:
        if params is None:
            params = {}
        elif not isinstance(params, dict):
            raise ScriptError(
                "ParamError", f"{self._name} takes one object of parameters (a dict) or keyword arguments"
            )
        if kwargs:
            params = {**params, **kwargs}
        return self._call(self._name, params)


class Headers(Exposed):
    """``response.headers``: case-insensitive ``get``/``has``, like fetch's Headers."""

    exposed = frozenset({"get", "has", "keys", "values", "entries", "raw"})
    script_name = "Headers"

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = {k.lower(): v for k, v in headers.items()}

    def get(self, name: str) -> str | None:
        return self._headers.get(str(name).lower())

    def has(self, name: str) -> bool:
        return str(name).lower() in self._headers

    def keys(self) -> list[str]:
        return list(self._headers)

    def values(self) -> list[str]:
        return list(self._headers.values())

    def entries(self) -> list[list[str]]:
        return [[k, v] for k, v in self._headers.items()]

    def raw(self) -> JSObject:
        return JSObject(self._headers)


class FetchResponse(Exposed):
    """What ``this.fetch`` returns: ``status``, ``ok``, ``statusText``, ``url``,
    ``redirected``, ``headers``, and the body through ``json()`` / ``text()``."""

    exposed = frozenset({"status", "ok", "statusText", "url", "redirected", "headers", "json", "text", "toJSON"})
    script_name = "Response"

    def __init__(self, data: dict[str, Any]) -> None:
        self.status: int = data["status"]
        self.ok: bool = data["ok"]
        self.statusText: str = data.get("statusText", "")
        self.url: str = data.get("url", "")
        self.redirected: bool = data.get("redirected", False)
        self.headers = Headers(data.get("headers") or {})
        self._body: str = data.get("body", "")

    def text(self) -> str:
        return self._body

    def json(self) -> Any:
        try:
            return to_script(json.loads(self._body))
        except ValueError as error:
            raise ScriptError("FetchError", f"response body of {self.url} is not valid JSON: {error}") from None

    def toJSON(self) -> dict[str, Any]:
        return {"status": self.status, "ok": self.ok, "statusText": self.statusText, "url": self.url}


class Fetch(Exposed):
    """``this.fetch(url, options)``: node-fetch's call shape; the request is
    made by the host under its egress policy and the run's HTTP budget."""

    script_name = "fetch"

    def __init__(self, call: Callable[[str, Any], Any]) -> None:
        self._call = call

    def __call__(self, url: Any, options: Any = None) -> FetchResponse:
        return FetchResponse(self._call("fetch", {"url": url, "options": options}))


def _clock(data: JSObject) -> Callable[[], int]:
    frozen = (data.get("clock") or {}).get("frozen")
    if frozen is not None:
        return lambda: int(frozen)
    return lambda: int(time.time() * 1000)


def make_setup(method_names: Iterable[str]) -> Setup:
    """The setup hook for a runtime whose method table has ``method_names``."""
    names = frozenset(method_names)

    def setup(run: RunContext) -> dict[str, Any]:
        call = run.call
        this = Namespace("this", names, lambda name: MethodProxy(name, call))
        data = run.data
        for field in CONTEXT_FIELDS:
            this[field] = data.get(field)
        if this["member"] is None:
            this["member"] = JSObject()
        this["lodash"] = _LODASH
        this["moment"] = MomentFactory(_clock(data))
        this["fetch"] = Fetch(call)
        run.outputs["member"] = lambda: this["member"]
        return {"this": this}

    return setup


def worker_setup(method_names: list[str]) -> Setup:
    """Entry point named in the pool's start-up configuration."""
    return make_setup(method_names)
