"""Live chat: handing a member to human agents and carrying what they say.

- :mod:`~noderuntime.livechat.assignments`: the assignment and group documents, and where a request goes;
- :mod:`~noderuntime.livechat.outbox`: every call to an outlet, stored first, made in order, retried;
- :mod:`~noderuntime.livechat.desk`: starting and ending live chats, and the host side (:class:`LiveChat`);
- :mod:`~noderuntime.livechat.outlets`: the systems agents work in (custom, Rocket.Chat, Support Board);
- :mod:`~noderuntime.livechat.worker`: the background worker.
"""
