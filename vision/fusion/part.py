"""The fusion service as a part of a running Skyeye (see ``skyeye.app``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from skyeye.app import AppContext
from vision.fusion.frame import LocalFrame
from vision.fusion.service import FusionService, FusionSettings

__all__ = ["fusion_part"]


@asynccontextmanager
async def fusion_part(context: AppContext) -> AsyncIterator[FusionService]:
    """Run fusion centred on the configured area, or on the first base another part named."""
    area = context.config.area
    if area.centre_lat_deg is not None and area.centre_lon_deg is not None:
        centre = (area.centre_lat_deg, area.centre_lon_deg)
    elif "area_centre" in context.services:
        centre = context.services["area_centre"]
    else:
        raise ValueError(
            "fusion needs the operating area's centre: set area.centre_lat_deg and "
            "area.centre_lon_deg, or run a simulator scenario that names its bases"
        )
    settings = FusionSettings(coverage_radius_m=area.radius_m, coverage_cell_m=area.coverage_cell_m)
    frame = LocalFrame(*centre)
    async with FusionService(
        context.bus, frame=frame, clock=context.clock, settings=settings
    ) as fusion:
        context.services["fusion"] = fusion
        yield fusion
