"""`this` as built inside the sandbox: proxies, fetch responses, lightness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from noderuntime.context import FetchResponse, MethodProxy, make_setup
from sandbox.errors import ScriptError
from sandbox.guards import JSObject
from sandbox.runner import RunContext

ROOT = str(Path(__file__).resolve().parents[2])


def test_method_proxy_sends_one_dict_merged_with_keywords():
    sent = []
    proxy = MethodProxy("getMember", lambda name, params: sent.append((name, params)) or "ok")
    assert proxy({"memberId": "a"}, option=1) == "ok"
    assert proxy(memberId="b") == "ok"
    assert sent == [("getMember", {"memberId": "a", "option": 1}), ("getMember", {"memberId": "b"})]
    assert repr(proxy) == "<method getMember>"
    with pytest.raises(ScriptError, match="takes one object of parameters"):
        proxy("a")


def test_fetch_response_reads_like_node_fetch():
    response = FetchResponse(
        {"status": 201, "ok": True, "statusText": "Created", "url": "u", "headers": {"Content-Type": "x"}, "body": '{"a": [1]}'}
    )
    assert (response.status, response.ok, response.statusText) == (201, True, "Created")
    assert response.headers.get("content-type") == "x"
    assert response.headers.has("CONTENT-TYPE")
    assert response.json() == {"a": [1]}
    assert isinstance(response.json(), JSObject)
    assert response.text() == '{"a": [1]}'
    with pytest.raises(ScriptError, match="not valid JSON"):
        FetchResponse({"status": 200, "ok": True, "body": "<html>"}).json()


def test_this_has_every_context_field_and_lazy_methods():
    setup = make_setup(["getMember"])
    run = RunContext(data=JSObject(member=JSObject(_id="m1"), app="a1"), call=lambda name, params: None)
    this = setup(run)["this"]
    assert [this[f] for f in ("messageEvent", "channel", "group", "agendaMeta", "node")] == [None] * 5
    assert this["app"] == "a1"
    assert "getMember" not in this  # made on first use
    assert isinstance(this["getMember"], MethodProxy)
    assert run.outputs["member"]() == {"_id": "m1"}


def test_the_worker_side_does_not_load_the_host_side():
    code = (
        f"import sys; sys.path.insert(0, {ROOT!r}); import noderuntime.context; "
        "print(sorted(m for m in ('requests', 'urllib3', 'noderuntime.runtime', 'noderuntime.fetch', 'pymongo') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
