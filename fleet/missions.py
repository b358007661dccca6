"""Mission, fence and rally transfer (the MAVLink mission protocol) and its items.

Upload: MISSION_COUNT → the vehicle requests each item (MISSION_REQUEST_INT, or the
legacy MISSION_REQUEST) → we answer with MISSION_ITEM_INT → MISSION_ACK. On silence we
resend the last item and the next few after it, so a lost request costs one timeout rather
than the vehicle's own (often one second) re-request interval. Download:
MISSION_REQUEST_LIST → MISSION_COUNT → we request each item → MISSION_ACK. Both sides
resend on silence, so every step tolerates lost, duplicated and reordered packets: a
request is answered however often it comes, items and acks that do not fit the step are
ignored, and a transfer only fails after ``mission_retries`` timeouts in a row without
progress, or when the vehicle's MISSION_ACK names an error.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet.errors import MissionTimeout, MissionTransferError
from fleet.port import Port

__all__ = [
    "MissionItem",
    "MissionType",
    "clear_mission",
    "download_mission",
    "mission_result_name",
    "set_current",
    "upload_mission",
]

_REQUEST_INT = mavlink.MAVLINK_MSG_ID_MISSION_REQUEST_INT
_REQUEST = mavlink.MAVLINK_MSG_ID_MISSION_REQUEST
_ACK = mavlink.MAVLINK_MSG_ID_MISSION_ACK
_COUNT = mavlink.MAVLINK_MSG_ID_MISSION_COUNT
_ITEM_INT = mavlink.MAVLINK_MSG_ID_MISSION_ITEM_INT
_CURRENT = mavlink.MAVLINK_MSG_ID_MISSION_CURRENT
_ACCEPTED = mavlink.MAV_MISSION_ACCEPTED
_WINDOW = 16
_GLOBAL_FRAMES = frozenset(
    {
        mavlink.MAV_FRAME_GLOBAL,
        mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT,
        mavlink.MAV_FRAME_GLOBAL_INT,
        mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
        mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT,
        mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT,
    }
)


class MissionType(enum.IntEnum):
    """MAV_MISSION_TYPE."""

    MISSION = mavlink.MAV_MISSION_TYPE_MISSION
    FENCE = mavlink.MAV_MISSION_TYPE_FENCE
    RALLY = mavlink.MAV_MISSION_TYPE_RALLY


def mission_result_name(result: int) -> str:
    entry = mavlink.enums["MAV_MISSION_RESULT"].get(result)
    return entry.name if entry is not None else f"MAV_MISSION_RESULT({result})"


def _f32(value: float) -> float:
    return float(np.float32(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class MissionItem:
    """One MISSION_ITEM_INT: ``x``/``y`` are degE7 in global frames, ``z`` metres.

    Float fields are stored at the wire's float32 precision, so an item read back from a
    vehicle compares equal to the one uploaded.
    """

    command: int
    frame: int = mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: int = 0
    y: int = 0
    z: float = 0.0
    autocontinue: bool = True
    current: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if self.command not in mavlink.enums["MAV_CMD"]:
            raise ValueError(f"unknown MAV_CMD {self.command}")
        if self.frame not in mavlink.enums["MAV_FRAME"]:
            raise ValueError(f"unknown MAV_FRAME {self.frame}")
        if self.frame in _GLOBAL_FRAMES and not (
            -900_000_000 <= self.x <= 900_000_000 and -1_800_000_000 <= self.y <= 1_800_000_000
        ):
            raise ValueError(f"position x={self.x} y={self.y} (degE7) is outside WGS84")
        for f in ("param1", "param2", "param3", "param4", "z"):
            value = getattr(self, f)
            if math.isinf(value):
                raise ValueError(f"{f} must be finite or NaN, got {value}")
            object.__setattr__(self, f, _f32(value))

    @classmethod
    def global_(
        cls,
        command: int,
        lat_deg: float,
        lon_deg: float,
        alt_rel_m: float,
        *params: float,
    ) -> MissionItem:
        """An item at a WGS84 point, altitude relative to home (params 1–4 as given)."""
        p = (*params, 0.0, 0.0, 0.0, 0.0)[:4]
        if not (-90 <= lat_deg <= 90 and -180 <= lon_deg <= 180):
            raise ValueError(f"({lat_deg}, {lon_deg}) is outside WGS84")
        return cls(
            command=command,
            param1=p[0],
            param2=p[1],
            param3=p[2],
            param4=p[3],
            x=round(lat_deg * 1e7),
            y=round(lon_deg * 1e7),
            z=alt_rel_m,
        )

    @classmethod
    def waypoint(
        cls, lat_deg: float, lon_deg: float, alt_rel_m: float, *, hold_s: float = 0.0
    ) -> MissionItem:
        return cls.global_(mavlink.MAV_CMD_NAV_WAYPOINT, lat_deg, lon_deg, alt_rel_m, hold_s)

    @classmethod
    def takeoff(cls, alt_rel_m: float) -> MissionItem:
        return cls(command=mavlink.MAV_CMD_NAV_TAKEOFF, z=alt_rel_m)

    @classmethod
    def rtl(cls) -> MissionItem:
        return cls(command=mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH)

    @property
    def lat_deg(self) -> float:
        return self.x * 1e-7

    @property
    def lon_deg(self) -> float:
        return self.y * 1e-7

    def encode(self, port: Port, seq: int, mission_type: MissionType) -> Any:
        return port.encoder.mission_item_int_encode(
            port.system_id, port.component_id, seq, self.frame, self.command,
            int(self.current), int(self.autocontinue),
            self.param1, self.param2, self.param3, self.param4,
            self.x, self.y, self.z, int(mission_type),
        )  # fmt: skip

    @classmethod
    def decode(cls, message: Any) -> MissionItem:
        values = {f.name: getattr(message, f.name) for f in fields(cls)}
        values["autocontinue"] = bool(values["autocontinue"])
        values["current"] = bool(values["current"])
        return cls(**values)


def _type_name(mission_type: MissionType) -> str:
    return f"MAV_MISSION_TYPE_{mission_type.name}"


async def upload_mission(
    port: Port, items: Sequence[MissionItem], mission_type: MissionType
) -> None:
    what = f"upload {mission_type.name.lower()}"
    port.require_link(what)
    settings, enc = port.settings, port.encoder
    count = len(items)
    with port.watch(what, _REQUEST_INT, _REQUEST, _ACK) as inbox:
        last_sent = enc.mission_count_encode(
            port.system_id, port.component_id, count, int(mission_type)
        )
        port.send(last_sent)
        highest = -1
        stalls = 0
        sent_final = count == 0
        last_progress = port.link_time()
        give_up_s = settings.mission_item_timeout_s * (settings.mission_retries + 1)
        while True:
            message = await inbox.get(item_timeout_s(port))
            if message is None:
                stalls += 1
                if stalls > settings.mission_retries and (
                    port.link_time() - last_progress > give_up_s
                ):
                    raise MissionTimeout(
                        port.vehicle_id, "upload", _type_name(mission_type),
                        f"no request after item {highest} of {count}",
                    )  # fmt: skip
                if sent_final and stalls >= 3:
                    break  # the vehicle has had every item: perhaps only its final ACK was lost
                port.send(last_sent)
                # The vehicle's request may be what was lost, and vehicles (ArduPilot,
                # sim/) take the item they expect whether or not they asked for it: send
                # the next few in order, more with every silent round.
                for ahead in range(highest + 1, min(count, highest + 1 + min(stalls, _WINDOW))):
                    port.send(items[ahead].encode(port, ahead, mission_type))
                    sent_final = sent_final or ahead == count - 1
                continue
            if message.mission_type != mission_type:
                continue
            if message._header.msgId == _ACK:
                if message.type != _ACCEPTED:
                    raise MissionTransferError(
                        port.vehicle_id, "upload", _type_name(mission_type),
                        mission_result_name(message.type),
                    )  # fmt: skip
                if highest == count - 1:
                    return
                continue  # a stale ACCEPTED from an earlier transfer
            seq = message.seq
            if not 0 <= seq < count:
                continue
            if seq > highest:
                highest, stalls, last_progress = seq, 0, port.link_time()
            last_sent = items[seq].encode(port, seq, mission_type)
            port.send(last_sent)
            sent_final = sent_final or seq == count - 1
    await _confirm_upload(port, items, mission_type)


async def _confirm_upload(
    port: Port, items: Sequence[MissionItem], mission_type: MissionType
) -> None:
    """The final MISSION_ACK never came: the upload counts only if the vehicle now holds
    exactly ``len(items)`` items and its last one is ours."""
    count, enc = len(items), port.encoder
    with port.watch("confirm upload", _COUNT, _ITEM_INT) as inbox:
        listed = await _exchange(
            port, inbox,
            enc.mission_request_list_encode(port.system_id, port.component_id, int(mission_type)),
            lambda m: m._header.msgId == _COUNT, "no MISSION_COUNT", mission_type,
        )  # fmt: skip
        if listed.count == count:
            last = await _exchange(
                port, inbox,
                enc.mission_request_int_encode(
                    port.system_id, port.component_id, count - 1, int(mission_type)
                ),
                lambda m: m._header.msgId == _ITEM_INT and m.seq == count - 1,
                f"no item {count - 1}", mission_type,
            )  # fmt: skip
        else:
            last = None
    port.send(
        enc.mission_ack_encode(port.system_id, port.component_id, _ACCEPTED, int(mission_type))
    )
    if count == 0 and listed.count == 0:
        return
    if last is None or MissionItem.decode(last) != items[-1]:
        raise MissionTimeout(
            port.vehicle_id,
            "upload",
            _type_name(mission_type),
            f"no MISSION_ACK, and the vehicle holds {listed.count} item(s), not ours",
        )


async def download_mission(port: Port, mission_type: MissionType) -> list[MissionItem]:
    """Items are requested in a window of up to ``_WINDOW`` at a time; gaps are re-requested."""
    what = f"download {mission_type.name.lower()}"
    port.require_link(what)
    enc = port.encoder
    with port.watch(what, _COUNT, _ITEM_INT) as inbox:
        request = enc.mission_request_list_encode(
            port.system_id, port.component_id, int(mission_type)
        )
        count = await _exchange(
            port, inbox, request, lambda m: m._header.msgId == _COUNT, "no MISSION_COUNT",
            mission_type,
        )  # fmt: skip
        total = count.count
        received: dict[int, MissionItem] = {}
        requested_at: dict[int, float] = {}
        done = 0  # every item below this index has been received
        last_progress = port.link_time()
        while done < total:
            now = port.link_time()
            timeout_s = item_timeout_s(port)
            if now - last_progress > timeout_s * (port.settings.mission_retries + 1):
                raise MissionTimeout(
                    port.vehicle_id, "download", _type_name(mission_type),
                    f"no item {done} of {total}",
                )  # fmt: skip
            for seq in range(done, min(total, done + _WINDOW)):
                if seq not in received and now - requested_at.get(seq, -1e9) >= timeout_s:
                    requested_at[seq] = now
                    port.send(
                        enc.mission_request_int_encode(
                            port.system_id, port.component_id, seq, int(mission_type)
                        )
                    )
            oldest = min(
                (
                    requested_at[s]
                    for s in range(done, min(total, done + _WINDOW))
                    if s not in received
                ),
                default=now,
            )
            message = await inbox.get(oldest + timeout_s - port.link_time())
            if message is None:
                continue
            if message._header.msgId != _ITEM_INT or message.mission_type != mission_type:
                continue
            if done <= message.seq < total and message.seq not in received:
                received[message.seq] = MissionItem.decode(message)
                last_progress = port.link_time()
                while done in received:
                    done += 1
    port.send(
        enc.mission_ack_encode(port.system_id, port.component_id, _ACCEPTED, int(mission_type))
    )
    return [received[seq] for seq in range(total)]


def item_timeout_s(port: Port) -> float:
    """Three round trips when the round-trip time is known, capped by the setting."""
    rtt_s = port.rtt_s
    limit = port.settings.mission_item_timeout_s
    return limit if rtt_s is None else min(limit, max(0.03, 3 * rtt_s))


async def clear_mission(port: Port, mission_type: MissionType) -> None:
    what = f"clear {mission_type.name.lower()}"
    port.require_link(what)
    enc = port.encoder
    with port.watch(what, _ACK) as inbox:
        request = enc.mission_clear_all_encode(port.system_id, port.component_id, int(mission_type))
        ack = await _exchange(port, inbox, request, lambda m: True, "no MISSION_ACK", mission_type)
    if ack.type != _ACCEPTED:
        raise MissionTransferError(
            port.vehicle_id, "clear", _type_name(mission_type), mission_result_name(ack.type)
        )


async def set_current(port: Port, seq: int) -> None:
    """MISSION_SET_CURRENT, confirmed by MISSION_CURRENT reporting ``seq``."""
    if seq < 0:
        raise ValueError(f"mission item {seq} does not exist")
    port.require_link(f"set current item {seq}")
    request = port.encoder.mission_set_current_encode(port.system_id, port.component_id, seq)
    with port.watch(f"set current item {seq}", _CURRENT) as inbox:
        await _exchange(
            port, inbox, request, lambda m: m.seq == seq, f"MISSION_CURRENT never showed {seq}",
            MissionType.MISSION,
        )  # fmt: skip


async def _exchange(
    port: Port, inbox: Any, request: Any, match: Any, detail: str, mission_type: MissionType
) -> Any:
    settings = port.settings
    for _ in range(settings.mission_retries + 1):
        port.send(request)
        deadline = port.link_time() + item_timeout_s(port)
        while (left := deadline - port.link_time()) > 0:
            message = await inbox.get(left)
            if message is None:
                break
            if getattr(message, "mission_type", mission_type) == mission_type and match(message):
                return message
    raise MissionTimeout(port.vehicle_id, "transfer", _type_name(mission_type), detail)
