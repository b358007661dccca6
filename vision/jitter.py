"""A video jitter buffer that releases a frame as soon as its last packet (RTP marker) is in.

aiortc's buffer knows a frame is complete only when the first packet of the *next* frame
arrives, which adds one frame interval of latency (200 ms at 5 fps). RTP video payload
formats (RFC 7741 for VP8, RFC 6184 for H.264) set the marker bit on a frame's last
packet, so a contiguous run of packets from the buffer's origin that ends with the marker
is a whole frame. Anything else falls back to aiortc's rule.
"""

from __future__ import annotations

from typing import Any

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcpeerconnection import RTCPeerConnection

__all__ = ["MarkerJitterBuffer", "use_marker_jitter_buffers"]

_RECEIVER_BUFFER = "_RTCRtpReceiver__jitter_buffer"


class MarkerJitterBuffer(JitterBuffer):
    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        origin = self._origin
        if origin is None:
            return None
        collected: list[Any] = []
        timestamp = None
        for count in range(self.capacity):
            packet = self._packets[(origin + count) % self.capacity]
            if packet is None:
                break
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                break
            collected.append(packet)
            if packet.marker:
                frame = JitterFrame(data=b"".join(p._data for p in collected), timestamp=timestamp)
                self.remove(count + 1)
                return frame
        return super()._remove_frame(sequence_number)


def use_marker_jitter_buffers(pc: RTCPeerConnection) -> None:
    """Give every video receiver of ``pc`` a :class:`MarkerJitterBuffer` (before media flows)."""
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if transceiver.kind == "video" and hasattr(receiver, _RECEIVER_BUFFER):
            setattr(receiver, _RECEIVER_BUFFER, MarkerJitterBuffer(capacity=512, is_video=True))
