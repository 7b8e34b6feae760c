"""The README's "Testing your scripts" example is a real fixture, word for word."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _block_after(readme: str, title: str, language: str) -> str:
    start = readme.index(f"```{language}\n", readme.index(title)) + len(language) + 4
    return readme[start : readme.index("```", start)]


@pytest.mark.parametrize(
    ("title", "language", "path"),
    [
        ("`fixtures/members/gender.py`:", "python", "fixtures/members/gender.py"),
        ("`fixtures/members/gender.case.yaml`:", "yaml", "fixtures/members/gender.case.yaml"),
    ],
)
def test_the_readme_shows_the_fixture_as_it_is(title, language, path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _block_after(readme, title, language).strip() == (ROOT / path).read_text(encoding="utf-8").strip()
