"""The HTTP application (Starlette): the routes and nothing else.

- ``POST /livechat/{channelId}/webhook``: an outlet's webhook (custom,
  Rocket.Chat, Support Board: the channel's type decides how the request is
  checked and read). The events are stored before the answer, and the answer
  comes at once (Rocket.Chat retries anything slower or other than 200); the
  worker acts on them right after.
- ``GET /health``: ``{"ok": true}``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from noderuntime.livechat.desk import LiveChat

#: The largest webhook body accepted (a Rocket.Chat close event carries the whole transcript).
MAX_WEBHOOK_BYTES = 4 * 1024 * 1024


def create_app(desk: LiveChat, *, wake: Callable[[], None] | None = None) -> Starlette:
    """The application serving ``desk``. ``wake`` is called after a webhook
    stored new events (the live-chat worker's :meth:`wake`); without it the
    events are handled in the background of the request."""

    async def webhook(request: Request) -> JSONResponse:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_WEBHOOK_BYTES):
            return JSONResponse({"error": f"a webhook body is at most {MAX_WEBHOOK_BYTES} bytes"}, status_code=413)
        body = bytearray()
        async for chunk in request.stream():  # counted as it comes: a chunked body has no length up front
            body += chunk
            if len(body) > MAX_WEBHOOK_BYTES:
                return JSONResponse({"error": f"a webhook body is at most {MAX_WEBHOOK_BYTES} bytes"}, status_code=413)
        channel_id = request.path_params["channel_id"]
        status, answer = await run_in_threadpool(desk.receive_webhook, channel_id, dict(request.headers), bytes(body))
        task = None
        if status == 200 and answer.get("new"):
            task = BackgroundTask(wake) if wake is not None else BackgroundTask(run_in_threadpool, desk.handle_inbox)
        return JSONResponse(answer, status_code=status, background=task)

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/livechat/{channel_id}/webhook", webhook, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
