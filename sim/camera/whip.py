"""Publish a simulated camera over WebRTC with WHIP (RFC 9725), as a real drone encoder would.

Frames are rendered in an executor, never on the event loop; when rendering falls behind, the
stream drops to what it can render (the latest pose wins, nothing queues). Each frame's
metadata (MISB ST 0601 semantics: capture time, platform position and attitude, gimbal angles,
fields of view) goes on the ``metadata`` data channel as JSON keyed by the frame's RTP
timestamp: its pts on the 90 kHz clock, counted from 0 at the session's first frame.

When the receiver goes away (the peer connection fails or closes, or the data channel
closes), the publisher tears the session down and offers a new one after a back-off.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import fractions
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import httpx
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from sim.camera.errors import PoseError, WhipAuthError, WhipError
from sim.camera.model import CameraPose
from sim.camera.render import RenderedFrame, Renderer
from skyeye.clock import Clock

__all__ = ["RTP_CLOCK_HZ", "CameraTrack", "PublisherState", "WhipPublisher", "frame_metadata"]

_log = logging.getLogger(__name__)

RTP_CLOCK_HZ = 90_000
_TIME_BASE = fractions.Fraction(1, RTP_CLOCK_HZ)
#: metadata of frames sent before the data channel opened, kept to send when it does
_EARLY_METADATA = 64

PoseSource = Callable[[], CameraPose]


def frame_metadata(frame: RenderedFrame, rtp_timestamp: int, capture_time: str) -> dict[str, Any]:
    """The data-channel message of one frame."""
    pose, k = frame.pose, frame.intrinsics
    return {
        "rtp_timestamp": rtp_timestamp,
        "capture_time": capture_time,
        "lat_deg": pose.lat_deg,
        "lon_deg": pose.lon_deg,
        "alt_amsl_m": pose.alt_amsl_m,
        "roll_deg": pose.roll_deg,
        "pitch_deg": pose.pitch_deg,
        "yaw_deg": ((pose.yaw_deg + 180.0) % 360.0) - 180.0,
        "gimbal_pitch_deg": pose.gimbal_pitch_deg,
        "gimbal_yaw_deg": ((pose.gimbal_yaw_deg + 180.0) % 360.0) - 180.0,
        "hfov_deg": k.hfov_deg,
        "vfov_deg": k.vfov_deg,
    }


class CameraTrack(VideoStreamTrack):
    """A video track of rendered frames; ``on_frame`` hears each frame with its RTP timestamp."""

    def __init__(
        self,
        renderer: Renderer,
        pose_source: PoseSource,
        *,
        clock: Clock,
        fps: float,
        executor: Executor | None = None,
        on_frame: Callable[[RenderedFrame, int], None] | None = None,
        record: Callable[[RenderedFrame], None] | None = None,
    ) -> None:
        super().__init__()
        self._record = record
        self._renderer = renderer
        self._pose_source = pose_source
        self._clock = clock
        self._fps = fps
        self._executor = executor
        self._on_frame = on_frame
        self._first_wall_s: float | None = None
        self._t0_s = clock.monotonic()
        self.frames_rendered = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._first_wall_s is None:
            self._first_wall_s = now
        else:
            # the next frame slot after the last one, skipping slots already missed
            elapsed = now - self._first_wall_s
            due = self._first_wall_s + (int(elapsed * self._fps) + 1) / self._fps
            await asyncio.sleep(due - now)
        pts = round((time.monotonic() - self._first_wall_s) * RTP_CLOCK_HZ)
        pose = self._pose_source()
        t_s = self._clock.monotonic() - self._t0_s
        loop = asyncio.get_running_loop()
        rendered = await loop.run_in_executor(self._executor, self._render, pose, t_s)
        frame = VideoFrame.from_ndarray(rendered.image_bgr, format="bgr24")
        frame.pts = pts
        frame.time_base = _TIME_BASE
        self.frames_rendered += 1
        if self._on_frame is not None:
            self._on_frame(rendered, pts)
        return frame

    def _render(self, pose: CameraPose, t_s: float) -> RenderedFrame:
        try:
            rendered = self._renderer.render(pose, t_s)
        except PoseError as exc:  # e.g. parked below the world's terrain: a blind frame
            _log.debug("camera pose not renderable, sending a blank frame: %s", exc)
            rendered = self._renderer.blank(pose, t_s)
        if self._record is not None:  # e.g. Mp4Writer.write: encoding stays off the loop too
            self._record(rendered)
        return rendered


class PublisherState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    BACKING_OFF = "backing_off"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Session:
    pc: RTCPeerConnection
    resource_url: str | None
    gone: asyncio.Event


class WhipPublisher:
    """One camera publishing to one WHIP endpoint, reconnecting for as long as the block runs.

    ::

        async with WhipPublisher(renderer, pose_source, url=url, token=token, clock=clock):
            ...  # streaming; a refused token raises WhipAuthError out of the block
    """

    def __init__(
        self,
        renderer: Renderer,
        pose_source: PoseSource,
        *,
        url: str,
        token: str | None,
        clock: Clock,
        name: str = "camera",
        executor: Executor | None = None,
        reconnect_delay_s: float = 1.0,
        max_reconnect_delay_s: float = 10.0,
        request_timeout_s: float = 10.0,
        record: Callable[[RenderedFrame], None] | None = None,
        ice_servers: Sequence[str] = (),
    ) -> None:
        self._record = record
        self._renderer = renderer
        self._pose_source = pose_source
        self.url = url
        self._token = token
        self._clock = clock
        self.name = name
        self._executor = executor
        self._delay_s = reconnect_delay_s
        self._max_delay_s = max_reconnect_delay_s
        self._timeout_s = request_timeout_s
        self._ice_servers = tuple(ice_servers)  # none: host candidates only, no STUN lookup
        self.state = PublisherState.IDLE
        self.sessions = 0
        self.frames_sent = 0
        self.metadata_sent = 0
        self._group: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self._connected = asyncio.Event()

    async def __aenter__(self) -> WhipPublisher:
        if self.state is not PublisherState.IDLE:
            raise WhipError(f"publisher {self.name} was already started", url=self.url)
        self._http = httpx.AsyncClient(timeout=self._timeout_s)
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._task = self._group.create_task(self._run(), name=f"sim.camera[{self.name}].whip")
        self.state = PublisherState.CONNECTING
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._group is not None
        assert self._http is not None
        assert self._task is not None
        try:
            self._task.cancel()
            await self._group.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            whip = [e for e in group.exceptions if isinstance(e, WhipError)]
            if len(whip) == len(group.exceptions) == 1:
                raise whip[0] from None
            raise
        finally:
            await self._http.aclose()
            self.state = PublisherState.CLOSED

    async def wait_streaming(self) -> None:
        """Return once a session is established."""
        await self._connected.wait()

    async def _run(self) -> None:
        delay = self._delay_s
        while True:
            self.state = PublisherState.CONNECTING
            try:
                session = await self._open()
            except WhipAuthError:
                raise
            except (WhipError, httpx.HTTPError, OSError) as exc:
                _log.warning("camera %s: WHIP offer to %s failed: %s", self.name, self.url, exc)
                self.state = PublisherState.BACKING_OFF
                await asyncio.sleep(delay)
                delay = min(self._max_delay_s, delay * 2)
                continue
            delay = self._delay_s
            self.sessions += 1
            self.state = PublisherState.STREAMING
            self._connected.set()
            try:
                await session.gone.wait()
                _log.warning("camera %s: receiver went away; reconnecting", self.name)
            finally:
                self._connected.clear()
                await self._close(session)
            self.state = PublisherState.BACKING_OFF
            await asyncio.sleep(delay)

    async def _open(self) -> _Session:
        assert self._http is not None
        pc = RTCPeerConnection(RTCConfiguration([RTCIceServer(url) for url in self._ice_servers]))
        gone = asyncio.Event()
        try:
            channel = pc.createDataChannel("metadata")

            early: collections.deque[str] = collections.deque(maxlen=_EARLY_METADATA)

            def on_frame(frame: RenderedFrame, pts: int) -> None:
                self.frames_sent += 1
                capture = self._clock.now().isoformat().replace("+00:00", "Z")
                message = json.dumps(frame_metadata(frame, pts, capture))
                if channel.readyState != "open":  # video may flow before SCTP is up
                    early.append(message)
                    return
                channel.send(message)
                self.metadata_sent += 1

            @channel.on("open")
            def on_open() -> None:
                while early:
                    channel.send(early.popleft())
                    self.metadata_sent += 1

            track = CameraTrack(
                self._renderer,
                self._pose_source,
                clock=self._clock,
                fps=self._renderer.config.fps,
                executor=self._executor,
                on_frame=on_frame,
                record=self._record,
            )
            pc.addTrack(track)

            @pc.on("connectionstatechange")
            def on_state() -> None:
                if pc.connectionState in ("failed", "closed"):
                    gone.set()

            @channel.on("close")
            def on_close() -> None:
                gone.set()

            await pc.setLocalDescription(await pc.createOffer())
            headers = {"Content-Type": "application/sdp"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            response = await self._http.post(
                self.url, content=pc.localDescription.sdp, headers=headers
            )
            if response.status_code in (401, 403):
                raise WhipAuthError(
                    f"WHIP endpoint {self.url} refused camera {self.name}'s token "
                    f"({response.status_code})",
                    url=self.url,
                    status=response.status_code,
                )
            if response.status_code != 201:
                raise WhipError(
                    f"WHIP endpoint {self.url} answered {response.status_code}, not 201 Created",
                    url=self.url,
                    status=response.status_code,
                )
            location = response.headers.get("Location")
            resource = urljoin(self.url, location) if location else None
            await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))
        except BaseException:
            await pc.close()
            raise
        return _Session(pc=pc, resource_url=resource, gone=gone)

    async def _close(self, session: _Session) -> None:
        assert self._http is not None
        try:
            if session.resource_url is not None:
                headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
                with contextlib.suppress(httpx.HTTPError, OSError):
                    await self._http.delete(session.resource_url, headers=headers)
        finally:
            await session.pc.close()
