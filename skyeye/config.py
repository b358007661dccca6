"""Configuration: one YAML file, validated at the edge, secrets from the environment.

Every section forbids unknown keys; an error names the key path and the line it is on.
Secrets never live in the file: ``SKYEYE_BUS__PASSWORD`` (section, two underscores, key)
overrides any value, and so does every other key, for containers and CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from skyeye.errors import ConfigError

__all__ = [
    "AreaConfig",
    "BusConfig",
    "ConsoleConfig",
    "DatabaseConfig",
    "FleetConfig",
    "SimConfig",
    "SkyeyeConfig",
    "VisionPartConfig",
    "load_config",
    "require_serve_secrets",
]

_TOKEN_SECRET_MIN_CHARS = 32
_TOKEN_SECRET_MIN_DISTINCT = 12
_MAKE_A_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BusConfig(_Section):
    url: str | None = Field(
        default=None,
        title="Broker URL",
        description="mqtt://host:port of an external broker; empty starts the embedded broker.",
        pattern=r"^mqtts?://[^/:]+(:\d+)?/?$",
    )
    username: str | None = Field(default=None, title="Username", description="Broker user name.")
    password: SecretStr | None = Field(
        default=None, title="Password", description="Broker password; set SKYEYE_BUS__PASSWORD."
    )
    protocol: Literal["5", "3.1.1"] = Field(
        default="5",
        title="MQTT protocol",
        description="MQTT 5 for external brokers; the embedded broker speaks 3.1.1.",
    )
    embedded_host: str = Field(
        default="127.0.0.1",
        title="Embedded host",
        description="Interface the embedded broker binds.",
    )
    embedded_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        title="Embedded port",
        description="Port of the embedded broker; 0 picks a free one.",
    )
    outbox_limit: int = Field(
        default=10_000,
        gt=0,
        title="Outbox limit",
        description="QoS 1 messages kept while the broker is unreachable before publishing fails.",
    )
    reconnect_initial_s: float = Field(
        default=0.2, gt=0, title="First reconnect delay", description="Backoff starts here."
    )
    reconnect_max_s: float = Field(
        default=5.0,
        gt=0,
        title="Longest reconnect delay",
        description="Backoff doubles up to this.",
    )
    connect_timeout_s: float = Field(
        default=10.0,
        gt=0,
        title="Connect timeout",
        description="Time allowed for the first connect.",
    )


class DatabaseConfig(_Section):
    url: str = Field(
        default="sqlite+aiosqlite:///skyeye.sqlite3",
        title="Database URL",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file or postgresql+asyncpg://…",
    )


class ConsoleConfig(_Section):
    host: str = Field(default="127.0.0.1", title="Host", description="Interface of the console.")
    port: int = Field(
        default=8000,
        ge=0,
        le=65535,
        title="Port",
        description="Console HTTP port; 0 picks a free one.",
    )
    tile_url: str | None = Field(
        default=None,
        title="Basemap tile URL",
        description="XYZ template for the map; empty uses the simulator's world in sim mode.",
    )
    token_secret: SecretStr | None = Field(
        default=None,
        title="Token key",
        description="HMAC key that signs the console's tokens, the same for every console "
        f"worker, so tokens outlive a restart: at least {_TOKEN_SECRET_MIN_CHARS} random "
        "characters from SKYEYE_CONSOLE__TOKEN_SECRET. skyeye serve refuses to start without "
        "it; skyeye demo makes one for each run.",
    )
    token_ttl_s: float = Field(
        default=8 * 3600.0,
        gt=0,
        le=7 * 86400,
        title="Token lifetime",
        description="Seconds a log-in's token is valid (at most a week).",
    )

    @field_validator("token_secret")
    @classmethod
    def _strong_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is None:
            return None
        text = secret.get_secret_value()
        if len(text) < _TOKEN_SECRET_MIN_CHARS or len(set(text)) < _TOKEN_SECRET_MIN_DISTINCT:
            raise ValueError(
                f"too weak ({len(text)} characters, {len(set(text))} different): use at least "
                f"{_TOKEN_SECRET_MIN_CHARS} random characters, e.g. from `{_MAKE_A_SECRET}`"
            )
        return secret


class VisionPartConfig(_Section):
    publish_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        title="Publish tokens",
        description="Vehicle id → Bearer token its camera (encoder) presents to WHIP at "
        "/whip/{vehicle}; set them as JSON in SKYEYE_VISION__PUBLISH_TOKENS. The demo adds its "
        "simulated cameras'.",
    )
    view_token: SecretStr | None = Field(
        default=None,
        title="View token",
        description="Bearer token of WHEP viewers and the feed list, handed by the console to "
        "users allowed to see feeds (SKYEYE_VISION__VIEW_TOKEN); empty: one made for each run.",
        min_length=16,
    )
    weights: Path | None = Field(
        default=None,
        title="Detector weights",
        description="YOLO weights (.pt); empty: the shipped model, or no detection without it.",
    )
    imgsz: int = Field(
        default=640,
        ge=32,
        le=2048,
        title="Detector input",
        description="Inference size in px. The shipped model learnt targets at their pixel size "
        "in the stream (2.5-16 cm per pixel), so give it the stream's own width: frames are not "
        "shrunk.",
    )

    @field_validator("publish_tokens")
    @classmethod
    def _usable_tokens(cls, tokens: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for vehicle_id, token in tokens.items():
            if len(token.get_secret_value()) < 16:
                raise ValueError(f"the token of {vehicle_id!r} is shorter than 16 characters")
        return tokens


class SimConfig(_Section):
    scenario: Path | None = Field(
        default=None, title="Scenario", description="Scenario YAML; empty uses the built-in demo."
    )
    vehicles: int | None = Field(
        default=None, ge=1, le=1000, title="Vehicles", description="Override the scenario's count."
    )
    speedup: float = Field(
        default=1.0, gt=0, le=1000, title="Speed-up", description="Simulated seconds per second."
    )


class FleetConfig(_Section):
    connections: tuple[str, ...] = Field(
        default=(),
        title="Connections",
        description="MAVLink links: udp:0.0.0.0:14550, tcp:host:5760, serial:/dev/ttyUSB0:57600.",
    )
    gcs_system_id: int = Field(
        default=255, ge=1, le=255, title="GCS system id", description="Our MAVLink system id."
    )
    state_rate_hz: float = Field(
        default=2.0,
        gt=0,
        le=50,
        title="State rate",
        description="Bus state messages per vehicle/s.",
    )
    link_timeout_s: float = Field(
        default=2.0, gt=0, title="Link timeout", description="Silence after which a link is lost."
    )


class AreaConfig(_Section):
    centre_lat_deg: float | None = Field(
        default=None,
        ge=-90,
        le=90,
        title="Centre latitude",
        description="Centre of the operating area (fusion frame, coverage grid); "
        "empty takes the simulator scenario's first base.",
    )
    centre_lon_deg: float | None = Field(
        default=None, ge=-180, le=180, title="Centre longitude", description="See centre_lat_deg."
    )
    radius_m: float = Field(
        default=50_000.0, gt=0, le=200_000, title="Radius", description="Operating radius."
    )
    coverage_cell_m: float = Field(
        default=250.0, gt=0, title="Coverage cell", description="Cell size of the coverage layer."
    )


class SkyeyeConfig(BaseSettings):
    """The whole configuration. Sections are optional; defaults run the embedded demo."""

    model_config = SettingsConfigDict(
        env_prefix="SKYEYE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    bus: BusConfig = Field(default_factory=BusConfig, title="Message bus")
    database: DatabaseConfig = Field(default_factory=DatabaseConfig, title="Database")
    console: ConsoleConfig = Field(default_factory=ConsoleConfig, title="Console")
    sim: SimConfig = Field(default_factory=SimConfig, title="Simulator")
    fleet: FleetConfig = Field(default_factory=FleetConfig, title="Fleet links")
    area: AreaConfig = Field(default_factory=AreaConfig, title="Operating area")
    vision: VisionPartConfig = Field(default_factory=VisionPartConfig, title="Video and detection")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, so secrets and deployment overrides apply.
        return env_settings, init_settings


def load_config(path: Path | None = None) -> SkyeyeConfig:
    """Load and validate ``path`` (or only the environment and defaults when ``None``)."""
    if path is None:
        return _validate({}, {}, "<defaults>")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections, not {type(data).__name__}"
        )
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return _validate(data, lines, str(path))


def require_serve_secrets(config: SkyeyeConfig) -> None:
    """Refuse what ``skyeye serve`` cannot run without (the demo makes its own)."""
    if config.console.token_secret is None:
        raise ConfigError(
            "skyeye serve needs console.token_secret, the key that signs log-in tokens, so "
            "that they outlive a restart and every console worker accepts them: set "
            f"SKYEYE_CONSOLE__TOKEN_SECRET to at least {_TOKEN_SECRET_MIN_CHARS} random "
            f"characters, e.g. from `{_MAKE_A_SECRET}`"
        )


def _validate(
    data: dict[str, Any], lines: dict[tuple[str | int, ...], int], source: str
) -> SkyeyeConfig:
    try:
        return SkyeyeConfig(**data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            key = ".".join(str(part) for part in loc) or "<root>"
            line = _line_of(loc, lines)
            where = f" (line {line})" if line else ""
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            elif error["type"] == "value_error":  # our own sentence, not "Value error, …"
                message = str(error["ctx"]["error"])
            else:
                message = error["msg"]
            problems.append(f"{key}{where}: {message}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def _index_lines(
    node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, str(key_node.value))
            out[key_path] = key_node.start_mark.line + 1
            _index_lines(value_node, key_path, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            item_path = (*path, index)
            out[item_path] = item.start_mark.line + 1
            _index_lines(item, item_path, out)


def _line_of(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    for end in range(len(loc), 0, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None
