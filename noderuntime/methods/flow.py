"""Flow methods: send a member to another node of the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from noderuntime.engine.executor import Engine, note_redirect
from noderuntime.engine.trees import REDIRECT_OPTIONS, Redirect
from noderuntime.errors import NotFound, RedirectError
from noderuntime.methods import method
from noderuntime.methods.params import param
from noderuntime.methods.scope import app_of

if TYPE_CHECKING:
    from noderuntime.runtime import Run


def _check_options(options: dict[str, Any]) -> str | None:
    for key, value in options.items():
        if key not in REDIRECT_OPTIONS:
            return f"has no option {key!r} (options: {', '.join(REDIRECT_OPTIONS)})"
        if not isinstance(value, bool):
            return f"option {key!r} must be true or false"
    return None


@method(
    memberId=param(str, required=True),
    channelId=param(str),
    treeId=param(str, required=True),
    nodeCompositeId=param(str, required=True),
    redirectOptions=param(dict, check=_check_options),
    meta=param(dict),
)
def redirectMemberToNode(
    run: Run,
    *,
    memberId: str,
    channelId: str | None,
    treeId: str,
    nodeCompositeId: str,
    redirectOptions: dict[str, Any] | None,
    meta: dict[str, Any] | None,
) -> dict[str, Any]:
    """Run ``treeId``/``nodeCompositeId`` (and the nodes it redirects to) for
    the member now, with ``this.agendaMeta = meta``. Returns
    ``{ok: 1, member: memberId, sendResults: [NodeSendResult, ...]}``, one
    entry per node run."""
    engine = Engine.serving(run)
    target = Redirect.from_options(treeId, nodeCompositeId, redirectOptions)
    event = run.context.get("messageEvent")
    result = engine.run_node(app_of(run), memberId, target, agenda_meta=meta, event=event, channel_id=channelId)
    note_redirect(result)
    if not result.ok:
        error = result.error or {}
        if error.get("type") in ("NotFound", "TreeError") and "step" not in error:
            raise NotFound(str(error.get("message")))
        kind, message = error.get("type"), str(error.get("message"))
        # The target's own error type (ZeroDivisionError, NotFound...) stays in the message.
        raise RedirectError(message if kind == "RedirectError" else f"{kind} in {message}")
    return {"ok": 1, "member": memberId, "sendResults": result.sendResults}
