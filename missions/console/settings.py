"""Settings of the console, validated at the edge (pydantic, unknown keys refused)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["ConsoleSettings", "default_leaflet_dir"]


def default_leaflet_dir() -> Path:
    """Leaflet in an installed wheel (``setup.py`` puts it there), else as ``npm ci`` installs
    it at the repository root."""
    here = Path(__file__).resolve().parent
    packaged = here / "static" / "vendor" / "leaflet"
    if (packaged / "leaflet.js").is_file():
        return packaged
    return here.parents[1] / "node_modules" / "leaflet" / "dist"


class ConsoleSettings(BaseModel):
    """What the console needs: its database, token key, map sources and push rate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = Field(
        default="sqlite+aiosqlite:///skyeye-console.sqlite3",
        title="Database URL",
        description="SQLAlchemy async URL of the users, zones and audit tables.",
    )
    token_secret: SecretStr = Field(
        title="Token key",
        description="HMAC key that signs API tokens; set SKYEYE_CONSOLE__TOKEN_SECRET.",
        min_length=16,
    )
    token_ttl_s: float = Field(
        default=8 * 3600.0, gt=0, le=7 * 86400, title="Token lifetime", description="Seconds."
    )
    max_failed_log_ins: int = Field(
        default=5,
        ge=1,
        le=100,
        title="Failed log-ins",
        description="Wrong passwords in a row that lock a user name out for lockout_s.",
    )
    lockout_s: float = Field(
        default=60.0, ge=0, le=3600, title="Lock-out", description="Seconds a user is locked out."
    )
    tile_url: str | None = Field(
        default=None,
        title="Basemap tile URL",
        description="XYZ template ({z}/{x}/{y}); empty shows the map without a basemap.",
    )
    whep_base_url: str = Field(
        default="",
        title="WHEP base URL",
        description="Prefix of /whep/{vehicle}; empty means the video hub is on this app.",
    )
    whep_token: SecretStr | None = Field(
        default=None,
        title="WHEP token",
        description="Bearer token of the video hub handed to users allowed to see feeds.",
    )
    frame_interval_s: float = Field(
        default=1 / 30,
        gt=0,
        le=2.0,
        title="Push interval",
        description="WebSocket pushes are coalesced to at most one per interval per client.",
    )
    low_battery_pct: float = Field(
        default=25.0, ge=0, le=100, title="Low battery", description="Alert at or below this."
    )
    leaflet_dir: Path = Field(
        default_factory=default_leaflet_dir,
        title="Leaflet",
        description="Directory of Leaflet's dist as installed by npm ci.",
    )
