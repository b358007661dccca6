"""Vision: live feeds in over WebRTC, objects detected, every detection put on the ground.

The package's modules are imported on demand so that light users (fusion, the console)
do not pay for aiortc, torch or ultralytics:

- :mod:`vision.hub` — WHIP ingest, WHEP egress, per-frame metadata, feed statistics;
- :mod:`vision.webrtc` — WHIP publisher and WHEP viewer clients;
- :mod:`vision.metadata` — per-frame metadata and decoded :class:`~vision.metadata.Frame`;
- :mod:`vision.camera` — camera model, pose, pixel → ground projection with uncertainty;
- :mod:`vision.detectors` — detector plugins (ultralytics YOLO, ONNX Runtime);
- :mod:`vision.worker` — the detection worker: scheduling, tracking, projection, bus;
- :mod:`vision.recording` — segmented MP4 recording with metadata and retention;
- :mod:`vision.sources` — RTSP/UDP/file sources through PyAV;
- :mod:`vision.errors` — the error tree.
"""

from vision.errors import VisionError

__all__ = ["VisionError"]
