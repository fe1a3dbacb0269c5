"""Platform connectors: one adapter per platform behind one protocol, no database."""

import importlib
from typing import TYPE_CHECKING, Any

from connectors.base import (
    AccountConfig,
    Connector,
    MediaItem,
    Problem,
    PublishRequest,
    Receipt,
    TextMeasure,
)
from connectors.counting import measure_text
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

if TYPE_CHECKING:
    from connectors.authflows import flow_base_url, run_flow
    from connectors.credentials import CredentialStore, connector_factory

# The credential store and the authorisation flows pull in keyring (over half a second
# to import) and requests-oauthlib: they load on first use, not with the package.
_LAZY = {
    "CredentialStore": "connectors.credentials",
    "connector_factory": "connectors.credentials",
    "flow_base_url": "connectors.authflows",
    "run_flow": "connectors.authflows",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'connectors' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "PLATFORMS",
    "AccountConfig",
    "AuthExpired",
    "Connector",
    "ConnectorError",
    "CredentialStore",
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
    "connector_factory",
    "flow_base_url",
    "make_connector",
    "measure_text",
    "run_flow",
]
