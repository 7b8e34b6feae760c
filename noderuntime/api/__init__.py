"""The runtime's HTTP server: live-chat outlets' webhooks and health."""

from noderuntime.api.app import create_app
from noderuntime.api.server import Server

__all__ = ["Server", "create_app"]
