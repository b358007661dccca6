"""Parameters: read, write (confirmed by the vehicle's echo) and list, with retries.

Values travel as float32 (ArduPilot's "C cast" encoding); an integer parameter reads back
as an integral float. A write is done only when the vehicle echoes the new value.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet.errors import ParameterError, ParameterTimeout
from fleet.port import Port

__all__ = ["get_param", "list_params", "set_param"]

_VALUE = mavlink.MAVLINK_MSG_ID_PARAM_VALUE
_NAME = re.compile(r"^[A-Za-z0-9_]{1,16}$")


def _check_name(port: Port, name: str) -> bytes:
    if not _NAME.match(name):
        raise ParameterError(port.vehicle_id, name, "names are 1–16 letters, digits or _")
    return name.encode("ascii")


def _name_of(message: Any) -> str:
    raw = message.param_id
    return raw if isinstance(raw, str) else bytes(raw).decode("ascii", "replace")


async def get_param(port: Port, name: str) -> float:
    encoded = _check_name(port, name)
    port.require_link(f"read {name}")
    request = port.encoder.param_request_read_encode(port.system_id, port.component_id, encoded, -1)
    message = await _exchange(port, request, name, f"read {name}", lambda m: True)
    return float(message.param_value)


async def set_param(port: Port, name: str, value: float, *, param_type: int | None = None) -> float:
    """Write and return the value the vehicle confirmed (float32 of ``value``)."""
    encoded = _check_name(port, name)
    if not np.isfinite(value):
        raise ParameterError(port.vehicle_id, name, f"{value} is not a finite number")
    port.require_link(f"set {name}")
    wanted = float(np.float32(value))
    kind = param_type if param_type is not None else mavlink.MAV_PARAM_TYPE_REAL32
    request = port.encoder.param_set_encode(
        port.system_id, port.component_id, encoded, wanted, kind
    )
    message = await _exchange(
        port, request, name, f"set {name}", lambda m: float(m.param_value) == wanted
    )
    return float(message.param_value)


async def _exchange(port: Port, request: Any, name: str, what: str, accept: Any) -> Any:
    settings, link_time = port.settings, port.link_time
    last: Any = None
    with port.watch(what, _VALUE) as inbox:
        for _ in range(settings.param_retries + 1):
            port.send(request)
            deadline = link_time() + settings.param_timeout_s
            while (left := deadline - link_time()) > 0:
                message = await inbox.get(left)
                if message is None:
                    break
                if _name_of(message) != name:
                    continue
                if accept(message):
                    return message
                last = message
    if last is not None:
        raise ParameterError(
            port.vehicle_id, name, f"the vehicle kept {float(last.param_value):g} ({what} refused)"
        )
    raise ParameterTimeout(port.vehicle_id, name, settings.param_retries + 1)


async def list_params(port: Port) -> dict[str, float]:
    """Every parameter; indices missing after the stream are re-requested one by one."""
    settings, enc = port.settings, port.encoder
    port.require_link("list parameters")
    values: dict[int, tuple[str, float]] = {}
    total: int | None = None
    with port.watch("list parameters", _VALUE) as inbox:
        port.send(enc.param_request_list_encode(port.system_id, port.component_id))
        stalls = 0
        while total is None or len(values) < total:
            message = await inbox.get(settings.param_timeout_s)
            if message is None:
                stalls += 1
                if stalls > settings.param_retries:
                    got = len(values)
                    raise ParameterError(
                        port.vehicle_id, "*", f"list stalled at {got} of {total or '?'}"
                    )
                if total is None:
                    port.send(enc.param_request_list_encode(port.system_id, port.component_id))
                else:
                    missing = [i for i in range(total) if i not in values][:20]
                    for index in missing:
                        port.send(
                            enc.param_request_read_encode(
                                port.system_id, port.component_id, b"", index
                            )
                        )
                continue
            if message.param_index >= 65535:
                continue  # an echo of a single read or write, not part of the list
            total = message.param_count
            if message.param_index not in values:
                stalls = 0
            values[message.param_index] = (_name_of(message), float(message.param_value))
    return dict(values.values())
