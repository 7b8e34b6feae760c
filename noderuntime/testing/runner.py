"""Running fixture cases: each in its own world, many at once on one pool.

Every case gets a fresh embedded store seeded from its ``db``, HTTP stubs
for ``this.fetch``, its frozen clock and its limits, all given to
:meth:`Runtime.run` for that run alone, so cases run in parallel on one
worker pool without seeing each other.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from noderuntime.errors import MethodError
from noderuntime.runtime import RunResult, Runtime
from noderuntime.store import Store
from noderuntime.testing.expect import Mismatch, check
from noderuntime.testing.fixture import Case, FixtureError, discover, load_cases
from noderuntime.testing.stubs import StubHttp


@dataclass
class Outcome:
    """The result of one case."""

    case: Case
    mismatches: list[Mismatch]
    result: RunResult | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass
class Report:
    """Everything one ``noderuntime test`` found."""

    outcomes: list[Outcome] = field(default_factory=list)
    #: Fixture files that could not be read or checked.
    broken: list[FixtureError] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.broken and all(outcome.passed for outcome in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.passed]


def run_case(runtime: Runtime, case: Case) -> Outcome:
    """Run one case and check its expectations."""
    started = time.perf_counter()
    try:
        store = Store.embedded_store(case.db)
        http = StubHttp(case.http, getattr(runtime.http, "policy", None))
        limits = replace(runtime.config.limits, **case.limits)
        result = runtime.run(
            case.script, case.context, kind=case.kind, limits=limits, store=store, http=http, now=case.clock
        )
        mismatches = check(case.expect, result, store, http)
    except Exception as error:  # noqa: BLE001 - one broken case must not stop the others
        detail = error.message if isinstance(error, MethodError) else f"{type(error).__name__}: {error}"
        return Outcome(case, [Mismatch("case", f"could not be run: {detail}")], None, time.perf_counter() - started)
    return Outcome(case, mismatches, result, time.perf_counter() - started)


def collect(paths: Iterable[Path], select: str | None = None) -> tuple[list[Case], list[FixtureError]]:
    """The cases under ``paths`` whose id contains ``select`` (case-insensitive),
    and the fixture files that are broken."""
    cases: list[Case] = []
    broken: list[FixtureError] = []
    files: list[Path] = []
    for given in paths:
        try:
            files += discover([given])
        except FixtureError as error:
            broken.append(error)
    for path in files:
        try:
            cases += load_cases(path)
        except FixtureError as error:
            broken.append(error)
    if select:
        cases = [case for case in cases if select.lower() in case.id.lower()]
    return cases, broken


def run_cases(
    runtime: Runtime, cases: list[Case], *, threads: int, progress: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    """Run ``cases`` on ``threads`` host threads (the pool does the work), in
    file order in the report whatever order they finish in."""

    def one(case: Case) -> Outcome:
        outcome = run_case(runtime, case)
        if progress is not None:
            progress(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(threads, 1)) as pool:
        return list(pool.map(one, cases))


def format_failure(outcome: Outcome) -> str:
    """A failed case as an author reads it: what differs, then the logs."""
    case = outcome.case
    lines = [f"FAIL {case.id}"]
    if case.script_file is not None:
        lines.append(f"  script: {_shown_path(case.script_file)}")
    for mismatch in outcome.mismatches:
        lines += ["  " + line for line in mismatch.render().splitlines()]
    result = outcome.result
    if result is not None and result.logs:
        lines.append("  logs:")
        lines += [f"    [{line['level']}] {line['message']}" for line in result.logs]
    return "\n".join(lines)


#: Characters XML 1.0 cannot hold, even escaped (a script may log any of them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """``text`` with each character XML cannot hold written as ``\\xNN`` (``\\uNNNN``)."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def _shown_path(path: Path) -> str:
    """``path`` relative to the working folder when it is under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def write_junit(report: Report, path: Path, seconds: float) -> None:
    """The report as JUnit XML, for CI."""
    suite = ET.Element(
        "testsuite",
        name="noderuntime",
        tests=str(len(report.outcomes) + len(report.broken)),
        failures=str(len(report.failures)),
        errors=str(len(report.broken)),
        time=f"{seconds:.3f}",
    )
    for outcome in report.outcomes:
        element = ET.SubElement(
            suite,
            "testcase",
            classname=_xml_text(str(outcome.case.path)),
            name=_xml_text(outcome.case.name),
            time=f"{outcome.seconds:.3f}",
        )
        if not outcome.passed:
            message = _xml_text(outcome.mismatches[0].render().splitlines()[0])
            ET.SubElement(element, "failure", message=message).text = _xml_text(format_failure(outcome))
    for error in report.broken:
        element = ET.SubElement(suite, "testcase", classname=_xml_text(error.path), name="(fixture file)")
        ET.SubElement(element, "error", message=_xml_text(str(error))).text = _xml_text(str(error))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
