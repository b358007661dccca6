"""WHIP and WHEP clients: publish a feed with metadata, or view one with its metadata joined.

::

    async with WhipPublisher(f"{hub}/whip/drone-1", token=t, produce=next_frame) as publisher:
        await publisher.connected()
    async with WhepViewer(f"{hub}/whep/drone-1", token=v, vehicle_id="drone-1") as viewer:
        async for frame in viewer.frames():
            frame.metadata  # FrameMetadata or None
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType
from typing import Self
from urllib.parse import urljoin

import httpx
import numpy as np
import numpy.typing as npt
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from skyeye.clock import Clock, WallClock
from vision.errors import (
    FeedNotFoundError,
    MetadataError,
    PeerConnectionError,
    SignalingError,
    UnauthorizedError,
)
from vision.jitter import use_marker_jitter_buffers
from vision.metadata import RTP_CLOCK_HZ, Frame, FrameMetadata, MetadataIndex, parse_metadata

__all__ = ["PublishedFrame", "WhepViewer", "WhipPublisher"]

logger = logging.getLogger(__name__)

METADATA_LABEL = "metadata"
_TIME_BASE = Fraction(1, RTP_CLOCK_HZ)


@dataclass(frozen=True, slots=True)
class PublishedFrame:
    """A frame to publish; the publisher fills in the metadata's ``rtp_timestamp``."""

    image_bgr: npt.NDArray[np.uint8]
    metadata: FrameMetadata | None = None


FrameProducer = Callable[[], Awaitable[PublishedFrame]]


async def _offer_answer(
    url: str, token: str, pc: RTCPeerConnection, timeout_s: float
) -> tuple[str, str]:
    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"}
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.post(url, content=pc.localDescription.sdp, headers=headers)
    except httpx.HTTPError as exc:
        raise PeerConnectionError(f"cannot reach {url}: {exc}") from None
    if response.status_code != 201:
        reason = response.text.strip() or response.reason_phrase
        if response.status_code == 401:
            raise UnauthorizedError(reason)
        if response.status_code == 404:
            raise FeedNotFoundError(url.rstrip("/").rsplit("/", 1)[-1], reason)
        raise SignalingError(reason, status=response.status_code)
    location = response.headers.get("location")
    if not location:
        raise SignalingError(f"{url} answered 201 without a Location header", status=502)
    await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
    return urljoin(url, location), response.text


async def _delete(location: str, token: str, timeout_s: float) -> None:
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            await client.delete(location, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        logger.info("could not end session %s: %s", location, exc)


async def _wait_connected(pc: RTCPeerConnection, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed"):
                raise PeerConnectionError(f"the WebRTC connection is {pc.connectionState}")
            await asyncio.sleep(0.02)


class _ProducerTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, produce: FrameProducer, channel: RTCDataChannel, clock: Clock) -> None:
        super().__init__()
        self._produce = produce
        self._channel = channel
        self._channel_open = asyncio.Event()
        channel.on("open", self._channel_open.set)
        self._clock = clock
        self._start_s: float | None = None
        self._last_pts = -1
        self.frames_sent = 0

    async def recv(self) -> VideoFrame:
        published = await self._produce()
        now = self._clock.monotonic()
        if self._start_s is None:
            self._start_s = now
            if self._channel.readyState == "connecting":
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):
                        await self._channel_open.wait()
        pts = max(self._last_pts + 1, round((now - self._start_s) * RTP_CLOCK_HZ))
        self._last_pts = pts
        if published.metadata is not None and self._channel.readyState == "open":
            stamped = published.metadata.model_copy(update={"rtp_timestamp": pts})
            self._channel.send(stamped.model_dump_json())
        frame = VideoFrame.from_ndarray(np.ascontiguousarray(published.image_bgr), format="bgr24")
        frame.pts = pts
        frame.time_base = _TIME_BASE
        self.frames_sent += 1
        return frame


class WhipPublisher:
    """Publishes frames from ``produce`` to a WHIP endpoint, metadata on a data channel."""

    def __init__(
        self,
        url: str,
        *,
        token: str,
        produce: FrameProducer,
        clock: Clock | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._url = url
        self._token = token
        self._produce = produce
        self._clock = clock or WallClock()
        self._timeout_s = timeout_s
        self._pc: RTCPeerConnection | None = None
        self._track: _ProducerTrack | None = None
        self.location: str | None = None

    @property
    def frames_sent(self) -> int:
        return self._track.frames_sent if self._track else 0

    async def __aenter__(self) -> Self:
        pc = RTCPeerConnection(RTCConfiguration([]))
        channel = pc.createDataChannel(METADATA_LABEL, ordered=True)
        self._track = _ProducerTrack(self._produce, channel, self._clock)
        pc.addTransceiver(self._track, direction="sendonly")
        self._pc = pc
        try:
            self.location, _ = await _offer_answer(self._url, self._token, pc, self._timeout_s)
        except BaseException:
            await pc.close()
            self._pc = None
            raise
        return self

    async def connected(self) -> None:
        if self._pc is None:
            raise PeerConnectionError("the publisher is not open")
        await _wait_connected(self._pc, self._timeout_s)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.location is not None:
            await _delete(self.location, self._token, self._timeout_s)
            self.location = None
        if self._pc is not None:
            await self._pc.close()
            self._pc = None


class WhepViewer:
    """Views a feed from a WHEP endpoint; frames come joined with their metadata."""

    def __init__(
        self,
        url: str,
        *,
        token: str,
        vehicle_id: str,
        clock: Clock | None = None,
        metadata_wait_s: float = 0.05,
        timeout_s: float = 10.0,
    ) -> None:
        self._url = url
        self._token = token
        self._vehicle_id = vehicle_id
        self._clock = clock or WallClock()
        self._metadata_wait_s = metadata_wait_s
        self._timeout_s = timeout_s
        self._pc: RTCPeerConnection | None = None
        self._track: asyncio.Future[MediaStreamTrack] | None = None
        self._metadata = MetadataIndex()
        self.location: str | None = None
        self.frames_received = 0

    async def __aenter__(self) -> Self:
        pc = RTCPeerConnection(RTCConfiguration([]))
        loop = asyncio.get_running_loop()
        track_future: asyncio.Future[MediaStreamTrack] = loop.create_future()
        self._track = track_future
        pc.addTransceiver("video", direction="recvonly")
        use_marker_jitter_buffers(pc)
        channel = pc.createDataChannel(METADATA_LABEL, ordered=True)

        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            try:
                metadata = parse_metadata(message)
            except MetadataError as exc:
                logger.warning("viewer %s: %s", self._vehicle_id, exc)
                return
            self._metadata.put(metadata)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video" and not track_future.done():
                track_future.set_result(track)

        self._pc = pc
        try:
            self.location, _ = await _offer_answer(self._url, self._token, pc, self._timeout_s)
        except BaseException:
            await pc.close()
            self._pc = None
            raise
        return self

    async def frames(self) -> AsyncIterator[Frame]:
        """Frames until the feed ends (the publisher left or the hub closed the session)."""
        if self._track is None:
            raise PeerConnectionError("the viewer is not open")
        async with asyncio.timeout(self._timeout_s):
            track = await self._track
        while True:
            try:
                av_frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(av_frame, VideoFrame):
                continue
            received = self._clock.monotonic()
            rtp_timestamp = int(av_frame.pts or 0)
            metadata = await self._metadata.get(rtp_timestamp, self._metadata_wait_s)
            image = np.asarray(av_frame.to_ndarray(format="bgr24"), dtype=np.uint8)
            image.flags.writeable = False
            self.frames_received += 1
            yield Frame(
                vehicle_id=self._vehicle_id,
                frame_id=self.frames_received - 1,
                rtp_timestamp=rtp_timestamp,
                image_bgr=image,
                capture_time=metadata.capture_time if metadata else self._clock.now(),
                received_monotonic_s=received,
                metadata=metadata,
            )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.location is not None:
            await _delete(self.location, self._token, self._timeout_s)
            self.location = None
        if self._pc is not None:
            await self._pc.close()
            self._pc = None
