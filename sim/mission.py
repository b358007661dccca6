"""The vehicle's side of the MAVLink mission protocol, for mission, fence and rally lists.

Upload: the ground station sends MISSION_COUNT; the vehicle asks for every item in turn with
MISSION_REQUEST_INT, asking again when an item is late (the vehicle's own timeout), and ends
with MISSION_ACK. The new list replaces the old only when it is complete and valid. Download:
MISSION_REQUEST_LIST → MISSION_COUNT, then items on request. As in ArduPilot, mission item 0
is home.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = [
    "MISSION_LIMITS",
    "MissionItem",
    "MissionTransfer",
    "item_from_message",
]

M = mavlink
MISSION_LIMITS: dict[int, int] = {
    M.MAV_MISSION_TYPE_MISSION: 700,
    M.MAV_MISSION_TYPE_FENCE: 84,
    M.MAV_MISSION_TYPE_RALLY: 20,
}
UPLOAD_RETRY_S = 1.0
UPLOAD_GIVE_UP_S = 8.0

_GLOBAL_FRAMES = frozenset(
    {
        M.MAV_FRAME_GLOBAL,
        M.MAV_FRAME_GLOBAL_INT,
        M.MAV_FRAME_GLOBAL_RELATIVE_ALT,
        M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
        M.MAV_FRAME_GLOBAL_TERRAIN_ALT,
        M.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT,
    }
)
_MISSION_FRAMES = _GLOBAL_FRAMES | {M.MAV_FRAME_MISSION}
SUPPORTED_COMMANDS: dict[int, frozenset[int]] = {
    M.MAV_MISSION_TYPE_MISSION: frozenset(
        {
            M.MAV_CMD_NAV_WAYPOINT,
            M.MAV_CMD_NAV_TAKEOFF,
            M.MAV_CMD_NAV_LOITER_UNLIM,
            M.MAV_CMD_NAV_LOITER_TURNS,
            M.MAV_CMD_NAV_LOITER_TIME,
            M.MAV_CMD_NAV_RETURN_TO_LAUNCH,
            M.MAV_CMD_NAV_LAND,
            M.MAV_CMD_DO_CHANGE_SPEED,
            M.MAV_CMD_DO_SET_ROI_LOCATION,
            M.MAV_CMD_DO_SET_ROI_NONE,
            M.MAV_CMD_DO_SET_ROI,
            M.MAV_CMD_DO_JUMP,
            M.MAV_CMD_DO_MOUNT_CONTROL,
            M.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
            M.MAV_CMD_CONDITION_YAW,
            M.MAV_CMD_CONDITION_DELAY,
            M.MAV_CMD_DO_SET_HOME,
        }
    ),
    M.MAV_MISSION_TYPE_FENCE: frozenset(
        {
            M.MAV_CMD_NAV_FENCE_RETURN_POINT,
            M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
            M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
            M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
            M.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
        }
    ),
    M.MAV_MISSION_TYPE_RALLY: frozenset({M.MAV_CMD_NAV_RALLY_POINT}),
}


@dataclass(frozen=True, slots=True)
class MissionItem:
    """One stored item, as MISSION_ITEM_INT carries it (lat/lon in 1e-7 degrees)."""

    seq: int
    frame: int
    command: int
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: int = 0
    y: int = 0
    z: float = 0.0
    autocontinue: int = 1
    mission_type: int = 0

    @property
    def lat_deg(self) -> float:
        return self.x * 1e-7

    @property
    def lon_deg(self) -> float:
        return self.y * 1e-7


def item_from_message(msg: Any) -> MissionItem:
    """MISSION_ITEM_INT or (legacy) MISSION_ITEM → :class:`MissionItem`."""
    if msg.get_type() == "MISSION_ITEM":
        x, y = round(msg.x * 1e7), round(msg.y * 1e7)
        frame = msg.frame
    else:
        x, y, frame = int(msg.x), int(msg.y), msg.frame
    return MissionItem(
        seq=msg.seq,
        frame=frame,
        command=msg.command,
        param1=msg.param1,
        param2=msg.param2,
        param3=msg.param3,
        param4=msg.param4,
        x=x,
        y=y,
        z=msg.z,
        autocontinue=msg.autocontinue,
        mission_type=getattr(msg, "mission_type", 0),
    )


def validate_item(
    item: MissionItem, mission_type: int, extra_commands: frozenset[int] = frozenset()
) -> int:
    """MAV_MISSION_ACCEPTED, or the MAV_MISSION_RESULT that refuses this item
    (``extra_commands``: mission commands this vehicle flies beyond the common ones)."""
    supported = SUPPORTED_COMMANDS[mission_type]
    if mission_type == M.MAV_MISSION_TYPE_MISSION:
        supported = supported | extra_commands
    if item.command not in supported:
        return int(M.MAV_MISSION_UNSUPPORTED)
    frames = _MISSION_FRAMES if mission_type == M.MAV_MISSION_TYPE_MISSION else _GLOBAL_FRAMES
    if item.frame not in frames:
        return int(M.MAV_MISSION_UNSUPPORTED_FRAME)
    values = (item.param1, item.param2, item.param3, item.param4, item.z)
    if any(v != v or v in (float("inf"), float("-inf")) for v in values):
        return int(M.MAV_MISSION_INVALID)
    if item.frame in _GLOBAL_FRAMES and item.seq != 0 and _has_position(item):
        if not -900_000_000 <= item.x <= 900_000_000:
            return int(M.MAV_MISSION_INVALID_PARAM5_X)
        if not -1_800_000_000 <= item.y <= 1_800_000_000:
            return int(M.MAV_MISSION_INVALID_PARAM6_Y)
        if not -1_000.0 <= item.z <= 20_000.0:
            return int(M.MAV_MISSION_INVALID_PARAM7)
    if item.command == M.MAV_CMD_DO_JUMP and item.param2 < -1:
        return int(M.MAV_MISSION_INVALID_PARAM2)
    if item.command == M.MAV_CMD_NAV_LOITER_TIME and item.param1 < 0:
        return int(M.MAV_MISSION_INVALID_PARAM1)
    return int(M.MAV_MISSION_ACCEPTED)


def _has_position(item: MissionItem) -> bool:
    return item.command in (
        M.MAV_CMD_NAV_WAYPOINT,
        M.MAV_CMD_NAV_LOITER_UNLIM,
        M.MAV_CMD_NAV_LOITER_TURNS,
        M.MAV_CMD_NAV_LOITER_TIME,
        M.MAV_CMD_NAV_LAND,
        M.MAV_CMD_NAV_VTOL_LAND,
        M.MAV_CMD_DO_SET_ROI_LOCATION,
        M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
        M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
        M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
        M.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
        M.MAV_CMD_NAV_RALLY_POINT,
        M.MAV_CMD_NAV_FENCE_RETURN_POINT,
    )


@dataclass(slots=True)
class _Upload:
    mission_type: int
    count: int
    items: list[MissionItem]
    partner: tuple[int, int]
    last_progress_s: float
    last_request_s: float


Send = Callable[[Any], None]


class MissionTransfer:
    """Stored lists (mission, fence, rally) and the upload/download state machine."""

    def __init__(
        self,
        *,
        send: Send,
        home_item: Callable[[], MissionItem],
        extra_commands: frozenset[int] = frozenset(),
    ) -> None:
        self._send = send
        self._home_item = home_item
        self._extra_commands = extra_commands
        self.lists: dict[int, list[MissionItem]] = {t: [] for t in MISSION_LIMITS}
        self._upload: _Upload | None = None
        self.on_changed: Callable[[int], None] = lambda _mission_type: None

    @property
    def mission(self) -> list[MissionItem]:
        """Mission items, item 0 being home (as ArduPilot stores it)."""
        items = self.lists[M.MAV_MISSION_TYPE_MISSION]
        return [self._home_item(), *items[1:]] if items else []

    def replace(self, mission_type: int, items: list[MissionItem]) -> None:
        self.lists[mission_type] = [
            replace(it, seq=i, mission_type=mission_type) for i, it in enumerate(items)
        ]
        self.on_changed(mission_type)

    def count(self, mission_type: int) -> int:
        return len(self.lists[mission_type])

    # --- upload ----------------------------------------------------------------------------

    def on_count(self, msg: Any, sender: tuple[int, int], now_s: float) -> None:
        mission_type = getattr(msg, "mission_type", 0)
        if mission_type not in MISSION_LIMITS:
            self._ack(sender, M.MAV_MISSION_UNSUPPORTED, mission_type)
            return
        if self._upload is not None and self._upload.partner != sender:
            self._ack(sender, M.MAV_MISSION_DENIED, mission_type)
            return
        if msg.count > MISSION_LIMITS[mission_type]:
            self._ack(sender, M.MAV_MISSION_NO_SPACE, mission_type)
            return
        if msg.count == 0:
            self._upload = None
            self.replace(mission_type, [])
            self._ack(sender, M.MAV_MISSION_ACCEPTED, mission_type)
            return
        self._upload = _Upload(mission_type, msg.count, [], sender, now_s, now_s)
        self._request(self._upload)

    def on_item(self, msg: Any, sender: tuple[int, int], now_s: float) -> None:
        up = self._upload
        mission_type = getattr(msg, "mission_type", 0)
        if up is None or up.partner != sender or mission_type != up.mission_type:
            return
        if msg.seq != len(up.items):
            return  # out of order: the next re-request asks for the right one
        item = item_from_message(msg)
        result = validate_item(item, mission_type, self._extra_commands)
        if result != M.MAV_MISSION_ACCEPTED:
            self._upload = None
            self._ack(sender, result, mission_type)
            return
        up.items.append(item)
        if len(up.items) == up.count:
            self._upload = None
            self.replace(mission_type, up.items)
            self._ack(sender, M.MAV_MISSION_ACCEPTED, mission_type)
            return
        up.last_progress_s = up.last_request_s = now_s
        self._request(up)

    def tick(self, now_s: float) -> None:
        up = self._upload
        if up is None:
            return
        if now_s - up.last_progress_s > UPLOAD_GIVE_UP_S:
            self._upload = None
            self._ack(up.partner, M.MAV_MISSION_OPERATION_CANCELLED, up.mission_type)
        elif now_s - up.last_request_s > UPLOAD_RETRY_S:
            up.last_request_s = now_s
            self._request(up)

    def _request(self, up: _Upload) -> None:
        self._send(
            M.MAVLink_mission_request_int_message(
                up.partner[0], up.partner[1], len(up.items), up.mission_type
            )
        )

    def on_ack(self, msg: Any, sender: tuple[int, int]) -> None:
        up = self._upload
        if up is not None and up.partner == sender and msg.type != M.MAV_MISSION_ACCEPTED:
            self._upload = None  # the ground station cancelled its upload

    # --- download, clear ---------------------------------------------------------------------

    def on_request_list(self, msg: Any, sender: tuple[int, int]) -> None:
        mission_type = getattr(msg, "mission_type", 0)
        if mission_type not in MISSION_LIMITS:
            self._ack(sender, M.MAV_MISSION_UNSUPPORTED, mission_type)
            return
        items = self._items(mission_type)
        self._send(M.MAVLink_mission_count_message(sender[0], sender[1], len(items), mission_type))

    def on_request(self, msg: Any, sender: tuple[int, int], *, as_int: bool) -> None:
        mission_type = getattr(msg, "mission_type", 0)
        if mission_type not in MISSION_LIMITS:
            self._ack(sender, M.MAV_MISSION_UNSUPPORTED, mission_type)
            return
        items = self._items(mission_type)
        if not 0 <= msg.seq < len(items):
            self._ack(sender, M.MAV_MISSION_INVALID_SEQUENCE, mission_type)
            return
        it = items[msg.seq]
        cls = M.MAVLink_mission_item_int_message if as_int else M.MAVLink_mission_item_message
        x: float = it.x if as_int else it.x * 1e-7
        y: float = it.y if as_int else it.y * 1e-7
        self._send(
            cls(
                sender[0],
                sender[1],
                it.seq,
                it.frame,
                it.command,
                0,
                it.autocontinue,
                it.param1,
                it.param2,
                it.param3,
                it.param4,
                x,
                y,
                it.z,
                mission_type,
            )
        )

    def on_clear_all(self, msg: Any, sender: tuple[int, int]) -> None:
        mission_type = getattr(msg, "mission_type", 0)
        if mission_type == M.MAV_MISSION_TYPE_ALL:
            for t in MISSION_LIMITS:
                self.replace(t, [])
        elif mission_type in MISSION_LIMITS:
            self.replace(mission_type, [])
        else:
            self._ack(sender, M.MAV_MISSION_UNSUPPORTED, mission_type)
            return
        self._ack(sender, M.MAV_MISSION_ACCEPTED, mission_type)

    def _items(self, mission_type: int) -> list[MissionItem]:
        if mission_type == M.MAV_MISSION_TYPE_MISSION:
            return self.mission
        return self.lists[mission_type]

    def _ack(self, sender: tuple[int, int], result: int, mission_type: int) -> None:
        self._send(M.MAVLink_mission_ack_message(sender[0], sender[1], result, mission_type))
