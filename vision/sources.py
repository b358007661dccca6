"""Video sources for drones without WHIP: RTSP, UDP/RTP (H.264) and files, through PyAV.

::

    async with av_source("rtsp://10.0.0.5:8554/cam", vehicle_id="drone-7") as frames:
        async for frame in frames:   # vision.metadata.Frame, metadata None (telemetry fills in)
            ...

Decoding runs on a dedicated thread; frames reach the event loop through a two-slot
queue. Live sources (``realtime``, the default) let the newest frame win; with
``realtime=False`` a file is read as fast as it is consumed and no frame is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import av
import numpy as np

from skyeye.clock import Clock, WallClock
from vision.errors import SourceError
from vision.metadata import Frame

__all__ = ["av_source"]

logger = logging.getLogger(__name__)

_END = object()


def _options_for(url: str) -> dict[str, str]:
    if url.startswith("rtsp://"):
        return {"rtsp_transport": "tcp", "stimeout": "5000000"}
    if url.startswith(("udp://", "rtp://")):
        return {"fifo_size": "1000000", "overrun_nonfatal": "1"}
    return {}


@contextlib.asynccontextmanager
async def av_source(
    url: str,
    *,
    vehicle_id: str,
    clock: Clock | None = None,
    realtime: bool = True,
    options: dict[str, str] | None = None,
) -> AsyncIterator[AsyncIterator[Frame]]:
    """Open ``url`` (RTSP, UDP, file) and yield its decoded frames."""
    clock = clock or WallClock()
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=2)
    stop = threading.Event()
    opened: asyncio.Future[None] = loop.create_future()

    def offer(item: Any) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(item)

    def deliver(item: Any) -> None:
        """Hand ``item`` over without dropping: the decoder waits for the consumer."""
        future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while not stop.is_set():
            try:
                future.result(timeout=0.2)
                return
            except TimeoutError:
                continue
        future.cancel()

    def send(item: Any) -> None:
        if realtime:
            loop.call_soon_threadsafe(offer, item)
        else:
            deliver(item)

    def settle(error: BaseException | None) -> None:
        if opened.done():
            return
        if error is None:
            opened.set_result(None)
        else:
            opened.set_exception(error)

    def decode() -> None:
        try:
            container: Any = av.open(url, options=options or _options_for(url), timeout=10.0)
        except (av.FFmpegError, OSError) as exc:
            loop.call_soon_threadsafe(settle, SourceError(url, f"cannot open: {exc}"))
            return
        loop.call_soon_threadsafe(settle, None)
        try:
            if not container.streams.video:
                raise SourceError(url, "has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            started = time.monotonic()
            first_time: float | None = None
            for index, av_frame in enumerate(container.decode(stream)):
                if stop.is_set():
                    break
                media_time = float(av_frame.time) if av_frame.time is not None else 0.0
                if realtime:
                    first_time = media_time if first_time is None else first_time
                    delay = (media_time - first_time) - (time.monotonic() - started)
                    if delay > 0:
                        stop.wait(delay)
                image = np.asarray(av_frame.to_ndarray(format="bgr24"), dtype=np.uint8)
                image.flags.writeable = False
                frame = Frame(
                    vehicle_id=vehicle_id,
                    frame_id=index,
                    rtp_timestamp=round(media_time * 90_000),
                    image_bgr=image,
                    capture_time=clock.now(),
                    received_monotonic_s=clock.monotonic(),
                    metadata=None,
                )
                send(frame)
        except SourceError as exc:
            send(exc)
        except av.FFmpegError as exc:
            send(SourceError(url, f"decoding failed: {exc}"))
        finally:
            container.close()
            send(_END)

    thread = threading.Thread(target=decode, name=f"vision-src[{vehicle_id}]", daemon=True)
    thread.start()

    async def frames() -> AsyncIterator[Frame]:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, SourceError):
                raise item
            yield item

    try:
        await opened
        yield frames()
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 15.0)
