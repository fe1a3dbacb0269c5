"""Platform connectors: one adapter per platform behind one protocol, no database."""

from connectors.base import (
    AccountConfig,
    Connector,
    MediaItem,
    Problem,
    PublishRequest,
    Receipt,
    TextMeasure,
)
from connectors.errors import (
    AuthExpired,
    ConnectorError,
    CredentialsError,
    Permanent,
    RateLimited,
    Transient,
    Unsupported,
)
from connectors.registry import PLATFORMS, make_connector

__all__ = [
    "PLATFORMS",
    "AccountConfig",
    "AuthExpired",
    "Connector",
    "ConnectorError",
    "CredentialsError",
    "MediaItem",
    "Permanent",
    "Problem",
    "PublishRequest",
    "RateLimited",
    "Receipt",
    "TextMeasure",
    "Transient",
    "Unsupported",
    "make_connector",
]
