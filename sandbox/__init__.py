"""Untrusted execution, generic: compile policy, guards, isolated workers.

This package knows nothing about bots. A host gives it source text, plain data
and a way to answer calls; it gives back plain data.
"""
