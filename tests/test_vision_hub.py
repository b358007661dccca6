"""The media hub against real aiortc peers over loopback: WHIP in, WHEP out, metadata joined."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.rtp import RtpPacket
from fastapi import FastAPI
from pydantic import SecretStr

from skyeye.clock import WallClock
from vision.errors import FeedNotFoundError, UnauthorizedError
from vision.hub import HubSettings, MediaHub
from vision.jitter import MarkerJitterBuffer
from vision.metadata import Frame, FrameMetadata
from vision.server import HttpServer
from vision.webrtc import PublishedFrame, WhepViewer, WhipPublisher

PUBLISH_TOKEN = "publish-secret"
VIEW_TOKEN = "view-secret"
FPS = 15.0


@dataclass
class Hub:
    hub: MediaHub
    url: str


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    settings = HubSettings(
        publish_tokens={"drone-1": SecretStr(PUBLISH_TOKEN), "drone-2": SecretStr("other")},
        view_token=SecretStr(VIEW_TOKEN),
        metadata_wait_s=0.2,
        stats_interval_s=0.3,
    )
    async with MediaHub(settings, clock=WallClock()) as media_hub:
        app = FastAPI()
        app.include_router(media_hub.router)
        async with HttpServer(app) as server:
            yield Hub(media_hub, server.url)


class CountingCamera:
    """Frames whose grey level and metadata latitude both encode the frame's sequence number."""

    def __init__(self, *, with_metadata: bool = True) -> None:
        self.sent = 0
        self._clock = WallClock()
        self._with_metadata = with_metadata

    async def __call__(self) -> PublishedFrame:
        await asyncio.sleep(1.0 / FPS)
        index = self.sent
        self.sent += 1
        image = np.full((120, 160, 3), (index % 12) * 20 + 10, dtype=np.uint8)
        metadata = None
        if self._with_metadata:
            metadata = FrameMetadata(
                rtp_timestamp=0,
                capture_time=self._clock.now(),
                lat_deg=52.0 + index * 1e-4,
                lon_deg=5.0,
                alt_amsl_m=100.0,
                hfov_deg=70.0,
            )
        return PublishedFrame(image, metadata)


def sequence_of(frame: Frame) -> int:
    assert frame.metadata is not None
    return round((frame.metadata.lat_deg - 52.0) / 1e-4)


def grey_matches_metadata(frame: Frame) -> bool:
    grey = float(np.median(frame.image_bgr))
    return abs(grey - ((sequence_of(frame) % 12) * 20 + 10)) < 6


async def collect(frames: AsyncIterator[Frame], count: int) -> list[Frame]:
    got: list[Frame] = []
    async with asyncio.timeout(30):
        async for frame in frames:
            got.append(frame)
            if len(got) == count:
                break
    return got


async def test_whip_feed_reaches_consumer_with_metadata_joined(hub: Hub) -> None:
    camera = CountingCamera()
    async with (
        hub.hub.frames("drone-1") as frames,
        WhipPublisher(f"{hub.url}/whip/drone-1", token=PUBLISH_TOKEN, produce=camera) as publisher,
    ):
        assert publisher.location is not None
        assert "/whip/drone-1/" in publisher.location
        got = await collect(frames, 20)
    with_metadata = [frame for frame in got if frame.metadata is not None]
    assert len(with_metadata) >= 18
    assert all(grey_matches_metadata(frame) for frame in with_metadata)
    assert all(
        frame.metadata is not None and frame.capture_time == frame.metadata.capture_time
        for frame in with_metadata
    )
    assert [frame.frame_id for frame in got] == sorted(frame.frame_id for frame in got)
    assert got[0].width_px == 160
    assert got[0].height_px == 120


async def test_whep_viewer_and_consumer_share_one_feed(hub: Hub) -> None:
    camera = CountingCamera()
    async with (
        hub.hub.frames("drone-1") as frames,
        WhipPublisher(f"{hub.url}/whip/drone-1", token=PUBLISH_TOKEN, produce=camera),
        WhepViewer(f"{hub.url}/whep/drone-1", token=VIEW_TOKEN, vehicle_id="drone-1") as viewer,
    ):
        local, remote = await asyncio.gather(collect(frames, 15), collect(viewer.frames(), 15))
        assert hub.hub.stats("drone-1").viewers == 1
    remote_with_metadata = [frame for frame in remote if frame.metadata is not None]
    assert len(remote_with_metadata) >= 10
    assert all(grey_matches_metadata(frame) for frame in remote_with_metadata)
    assert len(local) == 15
    assert all(frame.vehicle_id == "drone-1" for frame in remote)


async def test_feed_that_disconnects_and_returns_resumes(hub: Hub) -> None:
    url = f"{hub.url}/whip/drone-1"
    async with hub.hub.frames("drone-1") as frames:
        async with WhipPublisher(url, token=PUBLISH_TOKEN, produce=CountingCamera()):
            first = await collect(frames, 5)
        assert hub.hub.stats("drone-1").state == "waiting"
        async with WhipPublisher(url, token=PUBLISH_TOKEN, produce=CountingCamera()):
            second = await collect(frames, 5)
    assert len(first) == len(second) == 5
    assert second[0].frame_id > first[-1].frame_id
    stats = hub.hub.stats("drone-1")
    assert stats.sessions_total == 2
    assert stats.state == "waiting"


async def test_feed_statistics(hub: Hub) -> None:
    async with (
        hub.hub.frames("drone-1") as frames,
        WhipPublisher(f"{hub.url}/whip/drone-1", token=PUBLISH_TOKEN, produce=CountingCamera()),
    ):
        await collect(frames, 25)
        stats = hub.hub.stats("drone-1")
        async with httpx.AsyncClient() as client:
            listed = await client.get(
                f"{hub.url}/feeds", headers={"Authorization": f"Bearer {VIEW_TOKEN}"}
            )
    assert stats.state == "live"
    assert 3.0 < stats.fps < 40.0
    assert stats.bitrate_kbps > 0.0
    assert stats.packets_received > 0
    assert stats.packet_loss_pct == 0.0
    assert stats.frame_age_ms is not None
    assert stats.frame_age_ms >= 0.0
    assert stats.frames_with_metadata >= 20
    assert listed.status_code == 200
    assert {feed["vehicle_id"] for feed in listed.json()} == {"drone-1", "drone-2"}


async def test_frames_without_metadata_fall_back_to_receipt_time(hub: Hub) -> None:
    async with (
        hub.hub.frames("drone-2") as frames,
        WhipPublisher(
            f"{hub.url}/whip/drone-2", token="other", produce=CountingCamera(with_metadata=False)
        ),
    ):
        got = await collect(frames, 5)
    assert all(frame.metadata is None for frame in got)
    assert all(frame.capture_time.tzinfo is not None for frame in got)


async def test_signaling_refusals_carry_reasons_and_change_nothing(hub: Hub) -> None:
    valid_sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\n"
    )
    sdp_headers = {"Content-Type": "application/sdp"}
    auth = {"Authorization": f"Bearer {PUBLISH_TOKEN}"}
    async with httpx.AsyncClient(base_url=hub.url) as client:
        wrong_token = await client.post(
            "/whip/drone-1",
            content=valid_sdp,
            headers={**sdp_headers, "Authorization": "Bearer nope"},
        )
        no_token = await client.post("/whip/drone-1", content=valid_sdp, headers=sdp_headers)
        unknown = await client.post(
            "/whip/drone-9", content=valid_sdp, headers={**sdp_headers, **auth}
        )
        garbage = await client.post(
            "/whip/drone-1", content="hello", headers={**sdp_headers, **auth}
        )
        no_video = await client.post(
            "/whip/drone-1",
            content="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
            headers={**sdp_headers, **auth},
        )
        wrong_type = await client.post(
            "/whip/drone-1", content=valid_sdp, headers={"Content-Type": "text/plain", **auth}
        )
        broken = await client.post(
            "/whip/drone-1",
            content=valid_sdp + "a=rtpmap:oops\r\n",
            headers={**sdp_headers, **auth},
        )
        not_live = await client.post(
            "/whep/drone-1",
            content=valid_sdp.replace("sendonly", "recvonly"),
            headers={**sdp_headers, "Authorization": f"Bearer {VIEW_TOKEN}"},
        )
        unknown_session = await client.delete("/whip/drone-1/abc", headers=auth)
    assert wrong_token.status_code == 401
    assert "token" in wrong_token.text
    assert no_token.status_code == 401
    assert "Bearer" in no_token.text
    assert unknown.status_code == 404
    assert "drone-9" in unknown.text
    assert garbage.status_code == 400
    assert "v=0" in garbage.text
    assert no_video.status_code == 400
    assert "video" in no_video.text
    assert wrong_type.status_code == 415
    assert broken.status_code == 400
    assert "cannot be used" in broken.text
    assert not_live.status_code == 404
    assert "not publishing" in not_live.text
    assert unknown_session.status_code == 404
    stats = hub.hub.stats("drone-1")
    assert stats.sessions_total == 0
    assert stats.state == "waiting"


async def test_clients_raise_typed_errors(hub: Hub) -> None:
    with pytest.raises(UnauthorizedError):
        async with WhipPublisher(
            f"{hub.url}/whip/drone-1", token="wrong", produce=CountingCamera()
        ):
            pass
    with pytest.raises(FeedNotFoundError):
        async with WhepViewer(f"{hub.url}/whep/drone-1", token=VIEW_TOKEN, vehicle_id="drone-1"):
            pass


async def test_second_publisher_for_a_live_feed_is_refused(hub: Hub) -> None:
    url = f"{hub.url}/whip/drone-1"
    async with (
        hub.hub.frames("drone-1") as frames,
        WhipPublisher(url, token=PUBLISH_TOKEN, produce=CountingCamera()),
    ):
        await collect(frames, 2)
        with pytest.raises(Exception, match="already publishes") as caught:
            async with WhipPublisher(url, token=PUBLISH_TOKEN, produce=CountingCamera()):
                pass
        assert getattr(caught.value, "status", None) == 409
        more = await collect(frames, 3)
    assert len(more) == 3


def rtp(sequence: int, timestamp: int, *, marker: bool, data: bytes) -> RtpPacket:
    packet = RtpPacket(
        payload_type=96, sequence_number=sequence, timestamp=timestamp, marker=int(marker)
    )
    packet._data = data  # type: ignore[attr-defined]
    return packet


def test_marker_bit_releases_a_frame_without_waiting_for_the_next() -> None:
    buffer = MarkerJitterBuffer(capacity=128, is_video=True)
    assert buffer.add(rtp(10, 3000, marker=False, data=b"ab"))[1] is None
    _, frame = buffer.add(rtp(11, 3000, marker=True, data=b"cd"))
    assert frame is not None
    assert frame.data == b"abcd"
    assert frame.timestamp == 3000
    # A frame whose marker is lost is still released by the next frame's first packet.
    assert buffer.add(rtp(12, 6000, marker=False, data=b"ef"))[1] is None
    _, late = buffer.add(rtp(13, 9000, marker=False, data=b"gh"))
    assert late is not None
    assert late.data == b"ef"
    # A gap (lost packet) holds the frame back.
    assert buffer.add(rtp(15, 9000, marker=True, data=b"ij"))[1] is None


async def test_publisher_that_vanishes_without_delete_frees_the_feed(hub: Hub) -> None:
    """A camera that drops off (no DELETE) ends its session; the next one is let in."""
    pc = RTCPeerConnection(RTCConfiguration([]))
    pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    async with hub.hub.frames("drone-1") as frames:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{hub.url}/whip/drone-1",
                content=pc.localDescription.sdp,
                headers={
                    "Authorization": f"Bearer {PUBLISH_TOKEN}",
                    "Content-Type": "application/sdp",
                },
            )
        assert response.status_code == 201
        await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        await collect(frames, 2)
        await pc.close()
        async with WhipPublisher(
            f"{hub.url}/whip/drone-1", token=PUBLISH_TOKEN, produce=CountingCamera()
        ):
            after = await collect(frames, 3)
    assert len(after) == 3
    assert any(frame.metadata is not None for frame in after)
    assert hub.hub.stats("drone-1").sessions_total == 2
