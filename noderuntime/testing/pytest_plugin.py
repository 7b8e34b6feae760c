"""pytest plugin: fixture files are collected beside the unit tests.

Registered through the ``pytest11`` entry point, so a plain ``pytest`` runs
every ``*.case.yaml``/``*.case.yml``/``*.case.json`` under its test paths,
one test item per case, on one worker pool shared by the session. A failed
case reports the same readable differences as ``noderuntime test``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from noderuntime.config import Config
from noderuntime.runtime import Runtime
from noderuntime.testing.fixture import Case, FixtureError, is_fixture_file, load_cases
from noderuntime.testing.runner import Outcome, format_failure, run_case

_runtime: Runtime | None = None


def _shared_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime(Config.from_env())
    return _runtime


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    """Collect fixture files."""
    if is_fixture_file(file_path):
        return CaseFile.from_parent(parent, path=file_path)
    return None


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the shared worker pool."""
    global _runtime
    if _runtime is not None:
        _runtime.close()
        _runtime = None


class CaseFailed(Exception):
    """A case whose run differs from its expectations."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.case.id)
        self.outcome = outcome


class CaseFile(pytest.File):
    """One fixture file: one item per case."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            cases = load_cases(self.path)
        except FixtureError as error:
            raise self.CollectError(str(error)) from None
        for case in cases:
            yield CaseItem.from_parent(self, name=case.name, case=case)


class CaseItem(pytest.Item):
    """One case."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        outcome = run_case(_shared_runtime(), self.case)
        if not outcome.passed:
            raise CaseFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return format_failure(excinfo.value.outcome)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"case: {self.case.name}"
