"""A simulated camera publishes over WHIP to a separate aiortc peer, with its metadata."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from sim.camera import (
    CameraConfig,
    CameraConfigError,
    CameraEffects,
    CameraPose,
    Renderer,
    WhipAuthError,
)
from sim.camera.record import Mp4Writer
from sim.camera.streams import CameraStreams
from sim.camera.whip import WhipPublisher
from sim.world import TargetField, TargetsConfig, World, WorldConfig
from skyeye.clock import WallClock

TOKEN = "s3cret"


@dataclass
class Session:
    pc: RTCPeerConnection
    frames: list[tuple[int, np.ndarray[Any, Any]]] = field(default_factory=list)
    metadata: dict[int, dict[str, Any]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class WhipEndpoint:
    """A minimal RFC 9725 endpoint on a raw asyncio socket, with aiortc answering."""

    url: str = ""
    sessions: list[Session] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)
    refused: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readline()).decode().split()
        headers = {}
        while (line := (await reader.readline()).decode().strip()) != "":
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        method, path = request[0], request[1]
        if headers.get("authorization") != f"Bearer {TOKEN}":
            self.refused += 1
            await self._respond(writer, "401 Unauthorized", {}, b"")
        elif method == "POST" and headers.get("content-type") == "application/sdp":
            self.posted.append(path)
            answer = await self._answer(body.decode())
            location = f"/whip/session/{len(self.sessions) - 1}"
            await self._respond(
                writer,
                "201 Created",
                {"Content-Type": "application/sdp", "Location": location},
                answer.encode(),
            )
        elif method == "DELETE":
            self.deleted.append(path)
            await self._respond(writer, "200 OK", {}, b"")
        else:
            await self._respond(writer, "400 Bad Request", {}, b"")
        writer.close()

    async def _answer(self, offer: str) -> str:
        pc = RTCPeerConnection()
        session = Session(pc)
        self.sessions.append(session)

        @pc.on("track")
        def on_track(track: Any) -> None:
            async def pull() -> None:
                with contextlib.suppress(MediaStreamError):
                    while True:
                        frame = await track.recv()
                        session.frames.append((frame.pts, frame.to_ndarray(format="bgr24")))
                        self.arrived.set()

            session.tasks.append(asyncio.create_task(pull(), name="test.whip.pull"))

        @pc.on("datachannel")
        def on_channel(channel: Any) -> None:
            def on_message(message: str) -> None:
                data = json.loads(message)
                session.metadata[data["rtp_timestamp"]] = data

            channel.on("message", on_message)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    @staticmethod
    async def _respond(
        writer: asyncio.StreamWriter, status: str, headers: dict[str, str], body: bytes
    ) -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()

    async def frames_from(self, index: int, count: int) -> Session:
        async with asyncio.timeout(40):
            while len(self.sessions) <= index or len(self.sessions[index].frames) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.sessions[index]


@pytest.fixture
async def endpoint() -> AsyncIterator[WhipEndpoint]:
    ep = WhipEndpoint()
    server = await asyncio.start_server(ep.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ep.url = f"http://127.0.0.1:{port}/whip/drone-1"
    async with server:
        yield ep
        for session in ep.sessions:
            await session.pc.close()
            for task in session.tasks:
                task.cancel()
            await asyncio.gather(*session.tasks, return_exceptions=True)


def _renderer() -> Renderer:
    world = World(WorldConfig(origin=(52.0, 5.0), relief_m=20.0), seed=3)
    targets = TargetField(world, TargetsConfig())
    clean = CameraEffects(noise_sigma=0.0, vignetting=0.0, motion_blur=False)
    return Renderer(world, targets, CameraConfig(hfov_deg=60.0, fps=10.0, effects=clean))


POSE = CameraPose(
    lat_deg=52.001, lon_deg=5.002, alt_amsl_m=120.0, yaw_deg=45.0, gimbal_pitch_deg=-90.0
)


async def test_frames_and_metadata_reach_a_separate_peer(
    endpoint: WhipEndpoint, tmp_path: Path
) -> None:
    renderer = _renderer()
    with Mp4Writer(tmp_path / "drone-1.mp4", fps=10.0) as mp4:
        async with WhipPublisher(
            renderer,
            lambda: POSE,
            url=endpoint.url,
            token=TOKEN,
            clock=WallClock(),
            name="drone-1",
            record=mp4.write,
        ) as publisher:
            session = await endpoint.frames_from(0, 8)
            await publisher.wait_streaming()
    assert mp4.frames >= 8  # the same frames went to the file, for offline use
    assert publisher.sessions == 1
    assert endpoint.deleted == ["/whip/session/0"]
    pts = [p for p, _ in session.frames]
    assert pts == sorted(pts)
    # libav may round a pts by a tick or two on the way through the codec
    matched = [
        next((session.metadata[k] for k in range(p - 3, p + 4) if k in session.metadata), None)
        for p in pts
    ]
    assert sum(m is not None for m in matched) >= len(pts) - 1  # the last may still be in flight
    meta = next(m for m in matched if m is not None)
    assert meta["lat_deg"] == POSE.lat_deg
    assert meta["lon_deg"] == POSE.lon_deg
    assert meta["alt_amsl_m"] == POSE.alt_amsl_m
    assert meta["gimbal_pitch_deg"] == -90.0
    assert meta["yaw_deg"] == 45.0
    assert meta["hfov_deg"] == pytest.approx(60.0)
    assert meta["vfov_deg"] == pytest.approx(35.98, abs=0.05)
    assert meta["capture_time"].endswith("Z")
    # what arrived is the world under that pose (the video codec is lossy, the scene is not)
    expected = renderer.render(POSE, 0.0).image_bgr.astype(float)
    _, image = session.frames[-1]
    assert image.shape == expected.shape
    assert np.abs(image.astype(float) - expected).mean() < 12.0
    assert (
        np.abs(image.astype(float) - np.roll(expected, 40, axis=1)).mean()
        > np.abs(image.astype(float) - expected).mean()
    )


async def test_publisher_reconnects_when_the_receiver_goes_away(endpoint: WhipEndpoint) -> None:
    async with WhipPublisher(
        _renderer(),
        lambda: POSE,
        url=endpoint.url,
        token=TOKEN,
        clock=WallClock(),
        reconnect_delay_s=0.2,
    ) as publisher:
        first = await endpoint.frames_from(0, 3)
        await first.pc.close()  # the receiver goes away
        second = await endpoint.frames_from(1, 3)
        assert publisher.sessions == 2
    assert second.metadata


async def test_a_refused_token_is_a_clear_error(endpoint: WhipEndpoint) -> None:
    with pytest.raises(WhipAuthError, match="refused camera drone-9's token") as info:
        async with WhipPublisher(
            _renderer(),
            lambda: POSE,
            url=endpoint.url,
            token="wrong",
            clock=WallClock(),
            name="drone-9",
        ):
            await asyncio.sleep(30)
    assert info.value.status == 401
    assert endpoint.refused == 1
    assert endpoint.sessions == []


class Fleet:
    def __init__(self) -> None:
        self.poses = {
            "drone-1": POSE,
            "drone-2": CameraPose(lat_deg=52.003, lon_deg=5.0, alt_amsl_m=90.0),
        }

    def vehicle(self, vehicle_id: str) -> Fleet.Vehicle:
        return Fleet.Vehicle(self.poses[vehicle_id])

    @dataclass(frozen=True)
    class Vehicle:
        """Reports its position 0.0001° north of where it is, its heading 2° off."""

        true: CameraPose

        def pose(self) -> CameraPose:
            return self.true

        def reported_pose(self) -> CameraPose:
            t = self.true
            return replace(t, lat_deg=t.lat_deg + 1e-4, yaw_deg=t.yaw_deg + 2.0)


async def test_camera_streams_publish_every_vehicle(endpoint: WhipEndpoint, tmp_path: Path) -> None:
    world = World(WorldConfig(origin=(52.0, 5.0), relief_m=20.0), seed=3)
    base = endpoint.url.rsplit("/", 1)[0]
    async with CameraStreams(
        world=world,
        targets=TargetField(world, TargetsConfig()),
        vehicles=Fleet(),
        vehicle_ids=["drone-1", "drone-2"],
        camera=CameraConfig(hfov_deg=60.0, fps=5.0, width_px=320, height_px=180),
        url_template=base + "/{vehicle_id}",
        token=TOKEN,
        clock=WallClock(),
        record_dir=tmp_path,
    ) as streams:
        await endpoint.frames_from(0, 3)
        await endpoint.frames_from(1, 3)
        assert set(streams.publishers) == {"drone-1", "drone-2"}
        async with asyncio.timeout(10):
            while not all(session.metadata for session in endpoint.sessions):
                endpoint.arrived.clear()  # set by each frame; metadata follows its frames
                await endpoint.arrived.wait()
    # the view is rendered from the true pose; the metadata carries the reported one
    reported = {
        (round(p.lat_deg + 1e-4, 9), round(p.yaw_deg + 2.0, 9)) for p in Fleet().poses.values()
    }
    seen = {
        (round(meta["lat_deg"], 9), round(meta["yaw_deg"], 9))
        for session in endpoint.sessions
        for meta in session.metadata.values()
    }
    assert seen == reported
    assert sorted(endpoint.posted) == ["/whip/drone-1", "/whip/drone-2"]
    clips = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.glob("*.mp4")))
    assert clips == ["drone-1.mp4", "drone-2.mp4"]
    with pytest.raises(CameraConfigError, match="vehicle_id"):
        CameraStreams(
            world=world,
            targets=None,
            vehicles=Fleet(),
            vehicle_ids=["drone-1"],
            camera=CameraConfig(hfov_deg=60.0),
            url_template=base,
            token=None,
            clock=WallClock(),
        )
