"""The vision pipeline as a part of a running Skyeye (see ``skyeye.app``).

The media hub accepts the cameras whose tokens a simulator part left in
``context.services["whip_tokens"]`` (vehicle id → Bearer token); viewers use a view token
made for this run (``context.services["whep_view_token"]``). The detector is the model we
train and ship (``vision/models/skyeye-yolo.pt``) when it is there; without it the hub
still relays the feeds and says that nothing is detected. The service is left in
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
from vision.service import VisionConfig, VisionService

__all__ = ["SHIPPED_WEIGHTS", "vision_part"]

logger = logging.getLogger(__name__)

SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "models" / "skyeye-yolo.pt"


@asynccontextmanager
async def vision_part(context: AppContext) -> AsyncIterator[VisionService]:
    tokens: Mapping[str, str] = context.services.get("whip_tokens", {})
    view_token = secrets.token_urlsafe(24)
    raw: dict[str, Any] = {
        "hub": {"publish_tokens": dict(tokens), "view_token": view_token},
        "terrain_alt_amsl_m": context.services.get("terrain_alt_amsl_m", 0.0),
    }
    if SHIPPED_WEIGHTS.exists():
        raw["detector"] = {"type": "yolo", "weights": str(SHIPPED_WEIGHTS), "imgsz": 320}
    else:
        logger.warning(
            "no detector weights at %s: feeds are relayed, nothing detected", SHIPPED_WEIGHTS
        )
    config = VisionConfig.model_validate(raw)
    async with VisionService(config, bus=context.bus, clock=context.clock) as vision:
        context.services["vision"] = vision
        context.services["whep_view_token"] = view_token
        yield vision
