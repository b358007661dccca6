"""The media hub: WHIP ingest, WHEP egress, per-frame metadata, per-feed statistics.

::

    async with MediaHub(HubSettings(...), clock=clock) as hub:
        app.include_router(hub.router)          # POST/DELETE /whip/{vehicle}, /whep/{vehicle}
        async with hub.frames("drone-1") as frames:
            async for frame in frames:          # vision.metadata.Frame, latest wins
                ...

Each published feed is received once; an aiortc ``MediaRelay`` hands the decoded frames to
the hub's own pump (statistics, metadata join, in-process consumers such as detectors and
recorders) and to every WHEP viewer, so one decode serves everyone. In-process consumers
survive a publisher that disconnects and comes back: they wait for the next session.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import enum
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Annotated, Self

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from skyeye.clock import Clock, WallClock
from vision.errors import (
    BadOfferError,
    FeedBusyError,
    FeedNotFoundError,
    MetadataError,
    SignalingError,
    UnauthorizedError,
)
from vision.jitter import use_marker_jitter_buffers
from vision.metadata import Frame, FrameMetadata, MetadataIndex, parse_metadata

__all__ = ["FeedStats", "HubSettings", "MediaHub"]

logger = logging.getLogger(__name__)

METADATA_LABEL = "metadata"
VehicleId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class HubSettings(BaseModel):
    """Who may publish and view, and how feeds are handled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    publish_tokens: dict[VehicleId, SecretStr] = Field(
        title="Publish tokens",
        description="Vehicle id → Bearer token its camera uses for WHIP; other ids get 404.",
    )
    view_token: SecretStr = Field(
        title="View token", description="Bearer token for WHEP viewers and the feed list."
    )
    metadata_wait_s: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        title="Metadata wait",
        description="How long a frame waits for its metadata before telemetry must stand in.",
    )
    max_viewers_per_feed: int = Field(
        default=16, ge=1, le=256, title="Viewers per feed", description="WHEP sessions per feed."
    )
    stats_interval_s: float = Field(
        default=1.0, gt=0.0, le=60.0, title="Stats interval", description="Bitrate/loss sampling."
    )


class FeedState(enum.Enum):
    WAITING = "waiting"
    LIVE = "live"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedStats:
    """Live figures of one feed."""

    vehicle_id: str
    state: str
    sessions_total: int
    frames_total: int
    frames_with_metadata: int
    fps: float
    bitrate_kbps: float
    frame_age_ms: float | None
    packets_received: int
    packets_lost: int
    packet_loss_pct: float
    viewers: int
    width_px: int | None
    height_px: int | None


class _LatestSlot:
    """Hands the newest frame to one consumer; older unread frames are counted as dropped."""

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        if self._frame is not None:
            self.dropped += 1
        self._frame = frame
        self._ready.set()

    async def get(self) -> Frame:
        await self._ready.wait()
        self._ready.clear()
        frame, self._frame = self._frame, None
        assert frame is not None
        return frame


class _ViewerTrack(MediaStreamTrack):
    """A viewer's relay proxy that remembers the pts of the first frame it handed out."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source
        self.first_pts: int | None = None

    async def recv(self) -> VideoFrame:
        frame = await self._source.recv()
        if not isinstance(frame, VideoFrame):
            raise MediaStreamError
        if self.first_pts is None:
            self.first_pts = int(frame.pts or 0)
        return frame

    def stop(self) -> None:
        super().stop()
        self._source.stop()


@dataclass(eq=False, slots=True)
class _ViewSession:
    session_id: str
    pc: RTCPeerConnection
    track: _ViewerTrack
    channel: RTCDataChannel | None = None

    def forward(self, metadata: FrameMetadata) -> None:
        first = self.track.first_pts
        if self.channel is None or self.channel.readyState != "open" or first is None:
            return
        key = metadata.rtp_timestamp - first
        if key < 0:
            return
        rekeyed = metadata.model_copy(update={"rtp_timestamp": key})
        self.channel.send(rekeyed.model_dump_json())


@dataclass(eq=False, slots=True)
class _PublishSession:
    session_id: str
    pc: RTCPeerConnection
    relay: MediaRelay = field(default_factory=MediaRelay)
    metadata: MetadataIndex = field(default_factory=MetadataIndex)
    track: MediaStreamTrack | None = None
    track_ready: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    viewers: dict[str, _ViewSession] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class _Feed:
    vehicle_id: str
    session: _PublishSession | None = None
    session_changed: asyncio.Event = field(default_factory=asyncio.Event)
    consumers: set[_LatestSlot] = field(default_factory=set)
    sessions_total: int = 0
    frames_total: int = 0
    frames_with_metadata: int = 0
    recent_receipts: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=120)
    )
    bitrate_kbps: float = 0.0
    frame_age_ms: float | None = None
    packets_received: int = 0
    packets_lost: int = 0
    width_px: int | None = None
    height_px: int | None = None

    @property
    def state(self) -> FeedState:
        return FeedState.LIVE if self.session is not None else FeedState.WAITING


def _check_offer(body: bytes, content_type: str | None, *, need_send: bool) -> str:
    if content_type is None or content_type.split(";")[0].strip() != "application/sdp":
        raise SignalingError("the offer must be sent as Content-Type: application/sdp", status=415)
    try:
        sdp = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadOfferError("the SDP offer is not UTF-8 text") from None
    lines = [line.strip() for line in sdp.splitlines() if line.strip()]
    if not lines or lines[0] != "v=0":
        raise BadOfferError("the body is not an SDP offer: it must start with 'v=0'")
    if not any(line.startswith("m=video") for line in lines):
        raise BadOfferError("the SDP offer has no video media section")
    direction = "a=sendonly" if need_send else "a=recvonly"
    if not any(line in (direction, "a=sendrecv") for line in lines):
        raise BadOfferError(f"the SDP offer's video must be {direction[2:]} or sendrecv")
    return sdp


class MediaHub:
    """Receives feeds over WHIP and serves them over WHEP and to in-process consumers."""

    def __init__(self, settings: HubSettings, *, clock: Clock | None = None) -> None:
        self._settings = settings
        self._clock = clock or WallClock()
        self._feeds = {vehicle: _Feed(vehicle) for vehicle in settings.publish_tokens}
        self._task_group: asyncio.TaskGroup | None = None
        self._closing = False
        self.router = self._build_router()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        if self._task_group is not None:
            raise RuntimeError("the media hub is already running")
        self._task_group = asyncio.TaskGroup()
        await self._task_group.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        for feed in self._feeds.values():
            if feed.session is not None:
                await self._end_session(feed, feed.session)
        assert self._task_group is not None
        await self._task_group.__aexit__(exc_type, exc, tb)
        self._task_group = None

    # ------------------------------------------------------------------ consumers

    @property
    def vehicles(self) -> tuple[str, ...]:
        return tuple(self._feeds)

    def stats(self, vehicle_id: str) -> FeedStats:
        feed = self._feed(vehicle_id)
        receipts = feed.recent_receipts
        fps = 0.0
        if len(receipts) >= 2 and receipts[-1] > receipts[0]:
            fps = (len(receipts) - 1) / (receipts[-1] - receipts[0])
        seen = feed.packets_received + feed.packets_lost
        return FeedStats(
            vehicle_id=vehicle_id,
            state=feed.state.value,
            sessions_total=feed.sessions_total,
            frames_total=feed.frames_total,
            frames_with_metadata=feed.frames_with_metadata,
            fps=fps,
            bitrate_kbps=feed.bitrate_kbps,
            frame_age_ms=feed.frame_age_ms,
            packets_received=feed.packets_received,
            packets_lost=feed.packets_lost,
            packet_loss_pct=100.0 * feed.packets_lost / seen if seen else 0.0,
            viewers=len(feed.session.viewers) if feed.session else 0,
            width_px=feed.width_px,
            height_px=feed.height_px,
        )

    @contextlib.asynccontextmanager
    async def frames(self, vehicle_id: str) -> AsyncIterator[AsyncIterator[Frame]]:
        """Frames of one feed, newest first-come: a slow consumer skips to the latest frame.

        The iterator outlives publisher sessions: after a disconnect it waits for the next.
        """
        feed = self._feed(vehicle_id)
        slot = _LatestSlot()
        feed.consumers.add(slot)

        async def iterate() -> AsyncIterator[Frame]:
            while True:
                yield await slot.get()

        try:
            yield iterate()
        finally:
            feed.consumers.discard(slot)

    def _feed(self, vehicle_id: str) -> _Feed:
        feed = self._feeds.get(vehicle_id)
        if feed is None:
            raise FeedNotFoundError(vehicle_id, f"vehicle {vehicle_id!r} is not known to the hub")
        return feed

    # ------------------------------------------------------------------ signaling

    def _authorize(self, authorization: str | None, expected: SecretStr) -> None:
        if authorization is None or not authorization.startswith("Bearer "):
            raise UnauthorizedError("missing 'Authorization: Bearer <token>' header")
        token = authorization.removeprefix("Bearer ").strip()
        if not secrets.compare_digest(token.encode(), expected.get_secret_value().encode()):
            raise UnauthorizedError("the Bearer token is not valid for this feed")

    def _spawn(self, coro: object, name: str) -> asyncio.Task[None]:
        if self._task_group is None or self._closing:
            raise SignalingError("the media hub is not running", status=503)
        return self._task_group.create_task(coro, name=name)  # type: ignore[arg-type]

    async def publish(self, vehicle_id: str, offer_sdp: str) -> tuple[str, str]:
        """Accept a WHIP offer; return (session id, answer SDP)."""
        feed = self._feed(vehicle_id)
        if feed.session is not None:
            raise FeedBusyError(vehicle_id)
        if self._task_group is None or self._closing:
            raise SignalingError("the media hub is not running", status=503)
        session = _PublishSession(uuid.uuid4().hex, RTCPeerConnection(RTCConfiguration([])))
        pc = session.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video" and session.track is None:
                session.track = track
                session.track_ready.set()

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            if channel.label != METADATA_LABEL:
                return

            @channel.on("message")
            async def on_message(message: str | bytes) -> None:
                try:
                    metadata = parse_metadata(message)
                except MetadataError as exc:
                    session.metadata.rejected += 1
                    logger.warning("feed %s: %s", vehicle_id, exc)
                    return
                session.metadata.put(metadata)
                for viewer in list(session.viewers.values()):
                    viewer.forward(metadata)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                session.ended.set()
                await self._end_session(feed, session)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            use_marker_jitter_buffers(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            await pc.close()
            raise BadOfferError(f"the SDP offer cannot be used: {exc}") from None
        if feed.session is not None:
            await pc.close()
            raise FeedBusyError(vehicle_id)
        feed.session = session
        feed.sessions_total += 1
        feed.session_changed.set()
        name = f"vision.hub[{vehicle_id}]"
        session.tasks.append(self._spawn(self._pump(feed, session), f"{name}.pump"))
        session.tasks.append(self._spawn(self._sample_stats(feed, session), f"{name}.stats"))
        logger.info("feed %s: WHIP session %s opened", vehicle_id, session.session_id)
        return session.session_id, pc.localDescription.sdp

    async def view(self, vehicle_id: str, offer_sdp: str) -> tuple[str, str]:
        """Accept a WHEP offer for a live feed; return (session id, answer SDP)."""
        feed = self._feed(vehicle_id)
        session = feed.session
        if session is None:
            raise FeedNotFoundError(vehicle_id, f"vehicle {vehicle_id!r} is not publishing now")
        if len(session.viewers) >= self._settings.max_viewers_per_feed:
            raise SignalingError(
                f"feed {vehicle_id!r} already has {len(session.viewers)} viewers", status=503
            )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await session.track_ready.wait()
        if session.track is None:
            raise FeedNotFoundError(vehicle_id, f"feed {vehicle_id!r} has no video yet")
        pc = RTCPeerConnection(RTCConfiguration([]))
        track = _ViewerTrack(session.relay.subscribe(session.track, buffered=False))
        viewer = _ViewSession(uuid.uuid4().hex, pc, track)

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            if channel.label == METADATA_LABEL:
                viewer.channel = channel

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._end_viewer(session, viewer)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            for transceiver in pc.getTransceivers():
                if transceiver.kind == "video":
                    transceiver.sender.replaceTrack(track)
                    transceiver.direction = "sendonly"
                    break
            await pc.setLocalDescription(await pc.createAnswer())
        except (ValueError, KeyError, IndexError, AttributeError) as exc:
            track.stop()
            await pc.close()
            raise BadOfferError(f"the SDP offer cannot be used: {exc}") from None
        session.viewers[viewer.session_id] = viewer
        logger.info("feed %s: WHEP viewer %s joined", vehicle_id, viewer.session_id)
        return viewer.session_id, pc.localDescription.sdp

    async def end_publish(self, vehicle_id: str, session_id: str) -> None:
        feed = self._feed(vehicle_id)
        if feed.session is None or feed.session.session_id != session_id:
            raise FeedNotFoundError(vehicle_id, f"no WHIP session {session_id!r} for {vehicle_id}")
        await self._end_session(feed, feed.session)

    async def end_view(self, vehicle_id: str, session_id: str) -> None:
        feed = self._feed(vehicle_id)
        session = feed.session
        viewer = session.viewers.get(session_id) if session else None
        if session is None or viewer is None:
            raise FeedNotFoundError(vehicle_id, f"no WHEP session {session_id!r} for {vehicle_id}")
        await self._end_viewer(session, viewer)

    async def _end_viewer(self, session: _PublishSession, viewer: _ViewSession) -> None:
        if session.viewers.pop(viewer.session_id, None) is None:
            return
        viewer.track.stop()
        await viewer.pc.close()

    async def _end_session(self, feed: _Feed, session: _PublishSession) -> None:
        if feed.session is not session:
            return
        feed.session = None
        feed.session_changed.set()
        session.ended.set()
        for viewer in list(session.viewers.values()):
            await self._end_viewer(session, viewer)
        await session.pc.close()
        current = asyncio.current_task()
        for task in session.tasks:
            if task is not current:
                task.cancel()
        logger.info("feed %s: WHIP session %s ended", feed.vehicle_id, session.session_id)

    # ------------------------------------------------------------------ per-session tasks

    async def _pump(self, feed: _Feed, session: _PublishSession) -> None:
        ended = asyncio.ensure_future(session.ended.wait())
        try:
            ready = asyncio.ensure_future(session.track_ready.wait())
            await asyncio.wait({ended, ready}, return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
            if session.track is None:
                return
            proxy = session.relay.subscribe(session.track, buffered=False)
            try:
                while True:
                    try:
                        av_frame = await proxy.recv()
                    except MediaStreamError:
                        break
                    if isinstance(av_frame, VideoFrame):
                        await self._deliver(feed, session, av_frame)
            finally:
                proxy.stop()
        finally:
            ended.cancel()
            await self._end_session(feed, session)

    async def _deliver(self, feed: _Feed, session: _PublishSession, av_frame: VideoFrame) -> None:
        received = self._clock.monotonic()
        rtp_timestamp = int(av_frame.pts or 0)
        metadata = await session.metadata.get(rtp_timestamp, self._settings.metadata_wait_s)
        now = self._clock.now()
        capture_time = metadata.capture_time if metadata is not None else now
        feed.frames_total += 1
        feed.frames_with_metadata += metadata is not None
        feed.recent_receipts.append(received)
        feed.frame_age_ms = (now - capture_time).total_seconds() * 1000.0
        feed.width_px, feed.height_px = av_frame.width, av_frame.height
        if not feed.consumers:
            return
        image = np.asarray(av_frame.to_ndarray(format="bgr24"), dtype=np.uint8)
        image.flags.writeable = False
        frame = Frame(
            vehicle_id=feed.vehicle_id,
            frame_id=feed.frames_total - 1,
            rtp_timestamp=rtp_timestamp,
            image_bgr=image,
            capture_time=capture_time,
            received_monotonic_s=received,
            metadata=metadata,
        )
        for slot in list(feed.consumers):
            slot.put(frame)

    async def _sample_stats(self, feed: _Feed, session: _PublishSession) -> None:
        last_bytes: int | None = None
        last_time = self._clock.monotonic()
        while not session.ended.is_set():
            await asyncio.sleep(self._settings.stats_interval_s)
            report = await session.pc.getStats()
            now = self._clock.monotonic()
            for stats in report.values():
                if stats.type == "transport":
                    if last_bytes is not None and now > last_time:
                        delta = stats.bytesReceived - last_bytes
                        feed.bitrate_kbps = 8.0 * delta / (now - last_time) / 1000.0
                    last_bytes, last_time = stats.bytesReceived, now
                elif stats.type == "inbound-rtp" and stats.kind == "video":
                    feed.packets_received = stats.packetsReceived
                    feed.packets_lost = max(0, stats.packetsLost)

    # ------------------------------------------------------------------ HTTP

    def _build_router(self) -> APIRouter:
        router = APIRouter(tags=["video"])
        hub = self

        def refuse(exc: SignalingError) -> PlainTextResponse:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return PlainTextResponse(exc.reason + "\n", status_code=exc.status, headers=headers)

        def created(request: Request, session_id: str, answer: str) -> Response:
            location = f"{request.url.path.rstrip('/')}/{session_id}"
            return Response(
                answer,
                status_code=201,
                media_type="application/sdp",
                headers={"Location": location, "ETag": f'"{session_id}"'},
            )

        @router.post("/whip/{vehicle_id}", summary="Publish a feed (WHIP, RFC 9725)")
        async def whip(
            vehicle_id: str, request: Request, authorization: str | None = Header(default=None)
        ) -> Response:
            try:
                expected = hub._settings.publish_tokens.get(vehicle_id)
                if expected is None:
                    raise FeedNotFoundError(vehicle_id, f"vehicle {vehicle_id!r} is not known")
                hub._authorize(authorization, expected)
                sdp = _check_offer(
                    await request.body(), request.headers.get("content-type"), need_send=True
                )
                session_id, answer = await hub.publish(vehicle_id, sdp)
            except SignalingError as exc:
                return refuse(exc)
            return created(request, session_id, answer)

        @router.delete("/whip/{vehicle_id}/{session_id}", summary="End a published feed")
        async def whip_delete(
            vehicle_id: str, session_id: str, authorization: str | None = Header(default=None)
        ) -> Response:
            try:
                expected = hub._settings.publish_tokens.get(vehicle_id)
                if expected is None:
                    raise FeedNotFoundError(vehicle_id, f"vehicle {vehicle_id!r} is not known")
                hub._authorize(authorization, expected)
                await hub.end_publish(vehicle_id, session_id)
            except SignalingError as exc:
                return refuse(exc)
            return Response(status_code=200)

        @router.post("/whep/{vehicle_id}", summary="View a feed (WHEP)")
        async def whep(
            vehicle_id: str, request: Request, authorization: str | None = Header(default=None)
        ) -> Response:
            try:
                hub._authorize(authorization, hub._settings.view_token)
                sdp = _check_offer(
                    await request.body(), request.headers.get("content-type"), need_send=False
                )
                session_id, answer = await hub.view(vehicle_id, sdp)
            except SignalingError as exc:
                return refuse(exc)
            return created(request, session_id, answer)

        @router.delete("/whep/{vehicle_id}/{session_id}", summary="Stop viewing a feed")
        async def whep_delete(
            vehicle_id: str, session_id: str, authorization: str | None = Header(default=None)
        ) -> Response:
            try:
                hub._authorize(authorization, hub._settings.view_token)
                await hub.end_view(vehicle_id, session_id)
            except SignalingError as exc:
                return refuse(exc)
            return Response(status_code=200)

        @router.get("/feeds", summary="Live statistics of every feed")
        async def feeds(authorization: str | None = Header(default=None)) -> Response:
            try:
                hub._authorize(authorization, hub._settings.view_token)
            except SignalingError as exc:
                return refuse(exc)
            return JSONResponse([_stats_json(hub.stats(v)) for v in hub.vehicles])

        return router


def _stats_json(stats: FeedStats) -> dict[str, object]:
    return dataclasses.asdict(stats)
