"""Write a camera's frames to an MP4 file (H.264), with its ground truth beside it.

For offline use (detector evaluation, demos without WebRTC): ``clip.mp4`` holds the video and
``clip.truth.jsonl`` one line per frame with the pose, time and every visible target.
"""

from __future__ import annotations

import fractions
import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import av

from sim.camera.errors import CameraError
from sim.camera.render import RenderedFrame

__all__ = ["Mp4Writer"]


class Mp4Writer:
    """``with Mp4Writer(path, fps=15) as mp4: mp4.write(frame)``; call from one thread."""

    def __init__(self, path: Path, *, fps: float, codec: str = "libx264") -> None:
        if path.suffix.lower() != ".mp4":
            raise CameraError(f"recording path {path} must end in .mp4")
        self.path = path
        self.truth_path = path.with_suffix(".truth.jsonl")
        self._fps = fps
        self._codec = codec
        self._container: Any = None
        self._stream: Any = None
        self._truth: IO[str] | None = None
        self.frames = 0

    def __enter__(self) -> Mp4Writer:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self.path), mode="w")
        self._truth = self.truth_path.open("w", encoding="utf-8")
        return self

    def write(self, frame: RenderedFrame) -> None:
        if self._container is None or self._truth is None:
            raise CameraError(f"MP4 writer for {self.path} is not open")
        height, width = frame.image_bgr.shape[:2]
        if self._stream is None:
            rate = fractions.Fraction(self._fps).limit_denominator(1000)
            self._stream = self._container.add_stream(self._codec, rate=rate)
            self._stream.width, self._stream.height = width, height
            self._stream.pix_fmt = "yuv420p"
        video = av.VideoFrame.from_ndarray(frame.image_bgr, format="bgr24")
        video.pts = self.frames
        for packet in self._stream.encode(video):
            self._container.mux(packet)
        pose = frame.pose
        record = {
            "frame": self.frames,
            "t_s": frame.t_s,
            "pose": {
                "lat_deg": pose.lat_deg,
                "lon_deg": pose.lon_deg,
                "alt_amsl_m": pose.alt_amsl_m,
                "roll_deg": pose.roll_deg,
                "pitch_deg": pose.pitch_deg,
                "yaw_deg": pose.yaw_deg,
                "gimbal_pitch_deg": pose.gimbal_pitch_deg,
                "gimbal_yaw_deg": pose.gimbal_yaw_deg,
            },
            "hfov_deg": frame.intrinsics.hfov_deg,
            "targets": [
                {
                    "id": t.target_id,
                    "class": t.target_class,
                    "box_px": list(t.box_px),
                    "lat_deg": t.lat_deg,
                    "lon_deg": t.lon_deg,
                    "alt_amsl_m": t.alt_amsl_m,
                }
                for t in frame.truth
            ],
        }
        self._truth.write(json.dumps(record) + "\n")
        self.frames += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._stream is not None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
        finally:
            if self._container is not None:
                self._container.close()
            if self._truth is not None:
                self._truth.close()
            self._container = self._stream = self._truth = None
