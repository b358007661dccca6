"""Recording to segmented MP4 with metadata and retention; PyAV file and UDP sources."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vision.errors import SourceError
from vision.metadata import Frame, FrameMetadata
from vision.recording import FeedRecorder, RecorderSettings
from vision.sources import av_source

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def frame(index: int) -> Frame:
    when = T0 + timedelta(seconds=0.1 * index)
    image = np.full((120, 160, 3), (index * 15) % 255, dtype=np.uint8)
    return Frame(
        vehicle_id="drone-1",
        frame_id=index,
        rtp_timestamp=index * 9000,
        image_bgr=image,
        capture_time=when,
        received_monotonic_s=0.0,
        metadata=FrameMetadata(
            rtp_timestamp=index * 9000,
            capture_time=when,
            lat_deg=52.0 + index * 1e-5,
            lon_deg=5.0,
            alt_amsl_m=120.0,
            hfov_deg=60.0,
        ),
    )


@contextlib.asynccontextmanager
async def frames(count: int, done: asyncio.Event) -> AsyncIterator[AsyncIterator[Frame]]:
    async def generate() -> AsyncIterator[Frame]:
        for index in range(count):
            yield frame(index)
        done.set()
        await asyncio.Event().wait()

    yield generate()


async def record(tmp_path: Path, count: int, **settings: object) -> FeedRecorder:
    done = asyncio.Event()
    options = RecorderSettings.model_validate({"out_dir": tmp_path, **settings})
    async with FeedRecorder(options, "drone-1", frames(count, done)) as recorder:
        async with asyncio.timeout(60):
            await done.wait()  # set when the recorder asks for the frame after the last
        assert recorder.frames_written == count
    return recorder


async def decoded_frames(path: Path) -> int:
    count = 0
    async with av_source(str(path), vehicle_id="replay", realtime=False) as replay:
        async for _ in replay:
            count += 1
    return count


async def test_segments_hold_every_frame_and_its_metadata(tmp_path: Path) -> None:
    recorder = await record(tmp_path, 25, segment_s=1.0)
    segments = recorder.segments
    assert len(segments) == 3  # 2.5 s of capture time in 1 s segments
    assert sum(s.frames for s in segments) == 25
    seen_ids = []
    for segment in segments:
        lines = [json.loads(line) for line in segment.metadata.read_text().splitlines()]
        assert len(lines) == segment.frames
        assert await decoded_frames(segment.video) == segment.frames
        for line in lines:
            seen_ids.append(line["frame_id"])
            expected_lat = 52.0 + line["frame_id"] * 1e-5
            assert line["metadata"]["lat_deg"] == pytest.approx(expected_lat)
    assert seen_ids == list(range(25))
    assert segments[0].video.name == "20260601T120000.000Z.mp4"


async def test_retention_deletes_the_oldest_segments(tmp_path: Path) -> None:
    recorder = await record(tmp_path, 40, segment_s=0.5, retention_bytes=6_000)
    kept = recorder.segments
    files = sorted((tmp_path / "drone-1").glob("*.mp4"))
    assert 0 < len(kept) < 8
    assert [s.video for s in kept] == files
    assert kept[-1].video.name == "20260601T120003.500Z.mp4"
    total = sum(p.stat().st_size for p in (tmp_path / "drone-1").iterdir())
    assert total <= 6_000


async def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open"):
        async with av_source(str(tmp_path / "nope.mp4"), vehicle_id="x"):
            pass


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_udp_h264_stream_is_decoded() -> None:
    port = free_udp_port()
    stop = threading.Event()

    def transmit() -> None:
        container = av.open(f"udp://127.0.0.1:{port}?pkt_size=1316", mode="w", format="mpegts")
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.options = {"tune": "zerolatency", "preset": "ultrafast"}
        index = 0
        while not stop.is_set() and index < 750:
            image = np.full((120, 160, 3), index % 255, dtype=np.uint8)
            video_frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            video_frame.pts, video_frame.time_base = index, Fraction(1, 25)
            for packet in stream.encode(video_frame):
                container.mux(packet)
            index += 1
            stop.wait(0.04)
        container.close()

    sender = threading.Thread(target=transmit, daemon=True)
    sender.start()
    received = 0
    async with av_source(f"udp://127.0.0.1:{port}", vehicle_id="udp-1") as incoming:
        try:
            async with asyncio.timeout(30):
                async for decoded in incoming:
                    assert decoded.width_px == 160
                    received += 1
                    if received == 10:
                        break
        finally:
            stop.set()
            await asyncio.to_thread(sender.join, 10)
    assert received == 10
