"""The COMMAND_LONG / COMMAND_INT protocol with COMMAND_ACK.

One exchange: send with confirmation 0; on silence resend with the confirmation counter
incremented, up to ``command_retries`` times; an IN_PROGRESS ack stops the resends and
extends the wait; ACCEPTED returns; anything else raises :class:`CommandDenied` with the
MAV_RESULT name and the STATUSTEXT the vehicle sent with its refusal. Nothing is sent after
the command's expiry: it is dropped and reported as :class:`CommandExpired`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from fleet.errors import CommandDenied, CommandExpired, CommandTimeout
from fleet.port import Port

__all__ = ["CommandAck", "command_name", "result_name", "run_command"]

_ACK = mavlink.MAVLINK_MSG_ID_COMMAND_ACK
_TEXT = mavlink.MAVLINK_MSG_ID_STATUSTEXT
_ACCEPTED = mavlink.MAV_RESULT_ACCEPTED
_IN_PROGRESS = mavlink.MAV_RESULT_IN_PROGRESS
_STATUSTEXT_GRACE_S = 0.2


def command_name(command: int) -> str:
    entry = mavlink.enums["MAV_CMD"].get(command)
    return entry.name if entry is not None else f"MAV_CMD({command})"


def result_name(result: int) -> str:
    entry = mavlink.enums["MAV_RESULT"].get(result)
    return entry.name if entry is not None else f"MAV_RESULT({result})"


@dataclass(frozen=True, slots=True)
class CommandAck:
    command: str
    result: str
    attempts: int
    rtt_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class _Frame:
    """COMMAND_INT's frame and integer x/y (degE7); None means COMMAND_LONG."""

    frame: int
    x: int
    y: int


def _encode(
    port: Port, command: int, params: tuple[float, ...], frame: _Frame | None, confirmation: int
) -> Any:
    p = params + (0.0,) * (7 - len(params))
    enc = port.encoder
    if frame is None:
        return enc.command_long_encode(port.system_id, port.component_id, command, confirmation, *p)
    return enc.command_int_encode(
        port.system_id,
        port.component_id,
        frame.frame,
        command,
        0,
        0,
        p[0],
        p[1],
        p[2],
        p[3],
        frame.x,
        frame.y,
        p[6],
    )


async def run_command(
    port: Port,
    command: int,
    params: tuple[float, ...] = (),
    *,
    frame: int | None = None,
    lat_deg: float = 0.0,
    lon_deg: float = 0.0,
    expires_in_s: float | None = None,
) -> CommandAck:
    """Send one command and return its ACCEPTED ack, or raise the typed reason it failed.

    ``frame`` selects COMMAND_INT (x/y from ``lat_deg``/``lon_deg``, z from ``params[6]``).
    """
    name = command_name(command)
    port.require_link(name)
    settings, telemetry, link_time = port.settings, port.telemetry, port.link_time
    int_frame = (
        None
        if frame is None
        else _Frame(frame=frame, x=round(lat_deg * 1e7), y=round(lon_deg * 1e7))
    )
    started = link_time()
    expires_at = port.clock.monotonic() + (
        settings.command_expiry_s if expires_in_s is None else expires_in_s
    )
    texts_before = telemetry.status_text_count
    attempts = 0
    in_progress_until: float | None = None
    with port.watch(name, _ACK) as inbox:
        while True:
            now = link_time()
            if in_progress_until is None:
                if attempts > settings.command_retries:
                    raise CommandTimeout(port.vehicle_id, name, attempts, port.signing_hint())
                if port.clock.monotonic() >= expires_at:
                    raise CommandExpired(port.vehicle_id, name, attempts, port.signing_hint())
                port.send(_encode(port, command, params, int_frame, attempts))
                attempts += 1
                wait_until = now + settings.command_timeout_s
            else:
                if now >= in_progress_until:
                    raise CommandTimeout(port.vehicle_id, name, attempts, "stuck IN_PROGRESS")
                wait_until = in_progress_until
            while True:
                ack = await inbox.get(wait_until - link_time())
                if ack is None:
                    break
                if ack.command != command or ack.target_system not in (0, settings.gcs_system_id):
                    continue
                if ack.result == _ACCEPTED:
                    return CommandAck(name, result_name(_ACCEPTED), attempts, link_time() - started)
                if ack.result == _IN_PROGRESS:
                    in_progress_until = link_time() + settings.command_in_progress_timeout_s
                    wait_until = in_progress_until
                    continue
                reason = await _explanation(port, texts_before)
                raise CommandDenied(port.vehicle_id, name, result_name(ack.result), reason)


async def _explanation(port: Port, texts_before: int) -> str:
    """The vehicle's STATUSTEXT about a refusal; ArduPilot sends it around the ack."""
    telemetry = port.telemetry
    if telemetry.status_text_count == texts_before:
        with port.watch("read the refusal's reason", _TEXT) as texts:
            if telemetry.status_text_count == texts_before:
                await texts.get(_STATUSTEXT_GRACE_S)
    return "; ".join(telemetry.texts_since(texts_before))
