"""Progress events of background jobs: one protocol, an in-process bus and a Redis bus.

A job publishes a snapshot of its row after each step; an SSE route subscribes to the job's
topic. In-process (no ``MP_REDIS_URL``) the snapshots go to the subscribers' queues in this
process, as before. With Redis they go through pub/sub, so any replica can stream the progress
of a job that runs in another process. Events are hints, not the record: the job row is, so a
subscriber re-reads it when nothing arrives for a while (a message lost with a Redis reconnect
delays a stream by that long and never ends it early).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)

_CHANNEL = "mp:events:"


class Subscription(Protocol):
    async def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None when none came within ``timeout`` seconds."""
        ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    """Publish is non-blocking and callable from the event loop; events of one topic arrive in
    the order they were published."""

    def publish(self, topic: str, event: dict[str, Any]) -> None: ...

    async def subscribe(self, topic: str) -> Subscription:
        """Listen to ``topic``; events published after this returns are delivered."""
        ...

    async def close(self) -> None: ...


class _QueueSubscription:
    def __init__(self, bus: LocalEventBus, topic: str) -> None:
        self.bus, self.topic = bus, topic
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        self.bus.subscribers.get(self.topic, set()).discard(self)


class LocalEventBus:
    """Subscribers in this process only (the embedded default)."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[_QueueSubscription]] = {}

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        for sub in list(self.subscribers.get(topic, ())):
            sub.queue.put_nowait(event)

    async def subscribe(self, topic: str) -> Subscription:
        sub = _QueueSubscription(self, topic)
        self.subscribers.setdefault(topic, set()).add(sub)
        return sub

    async def close(self) -> None:
        self.subscribers.clear()


class _RedisSubscription:
    def __init__(self, pubsub: Any) -> None:
        self.pubsub = pubsub

    async def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
        except Exception as exc:  # Redis went away: the caller falls back to the job row
            log.warning("event subscription lost: %s", exc)
            await asyncio.sleep(timeout)
            return None
        return json.loads(message["data"]) if message else None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()


class RedisEventBus:
    """Pub/sub on Redis, so every replica sees the events of every worker. Published events go
    through one sender task in order; a failed send is logged and dropped (the row holds the
    state)."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send(), name="event-bus")
        self._outbox.put_nowait((_CHANNEL + topic, json.dumps(event)))

    async def _send(self) -> None:
        while True:
            channel, data = await self._outbox.get()
            try:
                await self.client.publish(channel, data)
            except Exception as exc:
                log.warning("progress event on %s not sent: %s", channel, exc)

    async def subscribe(self, topic: str) -> Subscription:
        pubsub = self.client.pubsub()
        try:
            await pubsub.subscribe(_CHANNEL + topic)
            # Wait for the confirmation: from then on nothing published is missed.
            await pubsub.get_message(timeout=2)
        except Exception as exc:  # Redis down: the follower reads the job row on each timeout
            log.warning("event subscription to %s failed: %s", topic, exc)
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            return _QueueSubscription(LocalEventBus(), topic)
        return _RedisSubscription(pubsub)

    async def close(self) -> None:
        if self._sender is not None:
            # Let queued events out (a job's last snapshot matters to its followers).
            for _ in range(50):
                if self._outbox.empty():
                    break
                await asyncio.sleep(0.02)
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        await self.client.aclose()


def build_event_bus(redis_url: str | None) -> EventBus:
    return RedisEventBus(redis_url) if redis_url else LocalEventBus()
