"""Per-feed tracking in the image with ultralytics' ByteTrack: each detection gets a track id."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from vision.detectors import SKYEYE_CLASSES, Detection

__all__ = ["FeedTracker", "TrackerSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackerSettings:
    """ByteTrack's thresholds (ultralytics' defaults) and how long a lost track is kept."""

    track_high_thresh: float = 0.25
    track_low_thresh: float = 0.1
    new_track_thresh: float = 0.25
    track_buffer_frames: int = 30
    match_thresh: float = 0.8
    fuse_score: bool = True


class _Boxes:
    """The numpy-backed, maskable view of one frame's detections that ByteTrack reads."""

    def __init__(
        self,
        xywh: npt.NDArray[np.float32],
        conf: npt.NDArray[np.float32],
        cls: npt.NDArray[np.float32],
    ) -> None:
        self.xywh = xywh
        self.conf = conf
        self.cls = cls

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, mask: npt.NDArray[np.bool_]) -> _Boxes:
        return _Boxes(self.xywh[mask], self.conf[mask], self.cls[mask])


class FeedTracker:
    """Tracks one feed's detections from frame to frame; not thread-safe (one feed, one user)."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        from ultralytics.trackers.byte_tracker import BYTETracker

        settings = settings or TrackerSettings()
        args = SimpleNamespace(
            track_high_thresh=settings.track_high_thresh,
            track_low_thresh=settings.track_low_thresh,
            new_track_thresh=settings.new_track_thresh,
            track_buffer=settings.track_buffer_frames,
            match_thresh=settings.match_thresh,
            fuse_score=settings.fuse_score,
        )
        self._tracker: Any = BYTETracker(args)  # type: ignore[no-untyped-call]
        self._class_index = {name: i for i, name in enumerate(SKYEYE_CLASSES)}

    def update(self, detections: tuple[Detection, ...]) -> tuple[Detection, ...]:
        """The same detections, those that belong to a confirmed track carrying its id."""
        xywh = np.array(
            [[*d.center_px, d.width_px, d.height_px] for d in detections], dtype=np.float32
        ).reshape(-1, 4)
        conf = np.array([d.confidence for d in detections], dtype=np.float32)
        cls = np.array(
            [self._class_index.get(d.class_name, -1) for d in detections], dtype=np.float32
        )
        rows = self._tracker.update(_Boxes(xywh, conf, cls))
        ids: dict[int, int] = {}
        for row in np.asarray(rows).reshape(-1, 8):
            ids[int(row[7])] = int(row[4])
        return tuple(
            replace(d, track_id=ids.get(i)) if i in ids else d for i, d in enumerate(detections)
        )
