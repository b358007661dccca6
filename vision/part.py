"""The vision pipeline as a part of a running Skyeye (see ``skyeye.app``).

The media hub accepts the cameras of the configuration's ``vision.publish_tokens``
(vehicle id → Bearer token, a deployment's encoders) and those whose tokens a simulator
part left in ``context.services["whip_tokens"]``; viewers use ``vision.view_token``, or
one made for this run, left in ``context.services["whep_view_token"]``. The detector is
``vision.weights`` or else the model we train and ship (``vision/models/skyeye-yolo.pt``)
when it is there; without either the hub still relays the feeds and says that nothing is
detected. The service is left in
``context.services["vision"]``; the console serves its router (WHIP, WHEP, feed stats).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from skyeye.app import AppContext
from skyeye.errors import ConfigError
from vision.service import VisionConfig, VisionService

__all__ = ["SHIPPED_WEIGHTS", "vision_part"]

logger = logging.getLogger(__name__)

SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "models" / "skyeye-yolo.pt"


@asynccontextmanager
async def vision_part(context: AppContext) -> AsyncIterator[VisionService]:
    section = context.config.vision
    tokens = {vehicle: t.get_secret_value() for vehicle, t in section.publish_tokens.items()}
    simulated: Mapping[str, str] = context.services.get("whip_tokens", {})
    tokens.update(simulated)
    view_token = (
        secrets.token_urlsafe(24)
        if section.view_token is None
        else section.view_token.get_secret_value()
    )
    raw: dict[str, Any] = {
        "hub": {"publish_tokens": tokens, "view_token": view_token},
        "terrain_alt_amsl_m": context.services.get("terrain_alt_amsl_m", 0.0),
    }
    weights = section.weights or SHIPPED_WEIGHTS
    if weights.exists():
        raw["detector"] = {"type": "yolo", "weights": str(weights), "imgsz": section.imgsz}
    elif section.weights is not None:
        raise ConfigError(f"vision.weights: no detector weights at {weights}")
    else:
        logger.warning("no detector weights at %s: feeds are relayed, nothing detected", weights)
    config = VisionConfig.model_validate(raw)
    async with VisionService(config, bus=context.bus, clock=context.clock) as vision:
        context.services["vision"] = vision
        context.services["whep_view_token"] = view_token
        yield vision
