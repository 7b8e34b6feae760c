"""Fixture files written under tmp_path, and runtimes to run their cases.

No ``*.case.yaml`` file is ever kept under tests/: the pytest plugin would
collect it. Every test writes the files it needs with ``write``.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from noderuntime.config import Config
from noderuntime.errors import ParamError
from noderuntime.methods import MethodTable
from noderuntime.methods.params import param
from noderuntime.runtime import Runtime
from noderuntime.testing.fixture import Case, FixtureError, load_cases
from noderuntime.testing.runner import Outcome, run_case

FROZEN = 1_601_481_600_000  # 2020-09-30T16:00:00Z

#: A fixture file with one case that passes and one that fails.
TWO_CASES = """\
script: 'return {"greeting": "Hi Ann"}'
cases:
  - name: greets Ann
    expect: {value: {greeting: Hi Ann}}
  - name: greets Bob
    expect: {value: {greeting: Hi Bob}}
"""


def send_text(run: Any, *, text: str) -> dict[str, Any]:
    """A platform-like sender (``sent`` expectations look at ``send*`` calls)."""
    if text == "refuse":
        raise ParamError("refused")
    return {"sent": text}


def methods_with_sender() -> MethodTable:
    methods = MethodTable()
    methods.add("sendText", send_text, text=param(str, required=True))
    return methods


@pytest.fixture(scope="session")
def inprocess_runtime() -> Iterator[Runtime]:
    with Runtime(Config(mode="inprocess", workers=2), methods=methods_with_sender()) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def isolated_runtime() -> Iterator[Runtime]:
    with Runtime(Config(mode="isolated", workers=2), methods=methods_with_sender()) as runtime:
        yield runtime


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, Any], Path]:
    """``write(name, text_or_data)``: a file under tmp_path (dicts and lists as JSON, text dedented)."""

    def write(name: str, content: Any) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def load(write: Callable[[str, Any], Path]) -> Callable[..., list[Case]]:
    """``load(text, name="t.case.yaml")``: the cases of a fixture file with that text."""

    def load(content: Any, name: str = "t.case.yaml") -> list[Case]:
        return load_cases(write(name, content))

    return load


@pytest.fixture
def refused(write: Callable[[str, Any], Path]) -> Callable[..., FixtureError]:
    """``refused(text, name="t.case.yaml")``: the FixtureError such a file raises."""

    def refused(content: Any, name: str = "t.case.yaml") -> FixtureError:
        path = write(name, content)
        with pytest.raises(FixtureError) as caught:
            load_cases(path)
        assert caught.value.path == str(path)
        return caught.value

    return refused


@pytest.fixture
def outcome(load: Callable[..., list[Case]], inprocess_runtime: Runtime) -> Callable[..., Outcome]:
    """``outcome(text)``: the one case of that fixture text, run in-process and checked."""

    def outcome(content: Any, name: str = "t.case.yaml") -> Outcome:
        [case] = load(content, name)
        return run_case(inprocess_runtime, case)

    return outcome


def rendered(outcome: Outcome) -> list[str]:
    """Every mismatch of an outcome as the author reads it."""
    return [mismatch.render() for mismatch in outcome.mismatches]
