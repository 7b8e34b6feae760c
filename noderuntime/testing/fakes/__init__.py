"""Local fake servers for the live-chat systems the runtime hands members to.

Each one listens on 127.0.0.1, answers as the real system does (its
documented and its real, source-checked behaviour, error paths included),
and can be told to fail, be slow or be down. Tests and ``noderuntime chat``
use them; an embedder can use them to test their own trees offline.
"""
