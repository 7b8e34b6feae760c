"""What error messages keep and what they lose before an author sees them."""

from __future__ import annotations

import pytest

from sandbox.errors import clean_message


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('File "/usr/lib/python3.11/json/decoder.py", line 3', 'File "<path>", line 3'),
        ("cannot open /srv/noderuntime/secret.env", "cannot open <path>"),
        ("/etc/passwd is here", "<path> is here"),
        ("<function f at 0x7f3a2b1c0d30>", "<function f>"),
        (
            "fetch: no stub answers GET https://api.example.com/u/1",
            "fetch: no stub answers GET https://api.example.com/u/1",
        ),
        ("see http://127.0.0.1:8080/a/b/c?x=1", "see http://127.0.0.1:8080/a/b/c?x=1"),
    ],
)
def test_paths_and_addresses_go_but_urls_stay(raw, clean):
    assert clean_message(raw) == clean
