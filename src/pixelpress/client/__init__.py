"""The Python client of Pixelpress: `Client` (blocking) and `AsyncClient` (asyncio) over httpx,
typed models for every answer, exceptions carrying the service's error codes, and `UrlSigner`,
which signs `/i/` delivery URLs locally from a key, as the service would.

Importing it loads httpx and pydantic, never the server (FastAPI, SQLAlchemy, pyvips, …)."""

from pixelpress.client._program import RetryPolicy, Tokens
from pixelpress.client._transfer import Destination, Progress, Source
from pixelpress.client.aio import AsyncClient
from pixelpress.client.errors import (
    AuthenticationError,
    ClientError,
    ConflictError,
    InvalidRequestError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    PixelpressError,
    RateLimitedError,
    ServerError,
    TooLargeError,
    TransportError,
    UnavailableError,
    UnsupportedMediaError,
    WaitTimeoutError,
)
from pixelpress.client.signer import UrlSigner
from pixelpress.client.sync import Client

__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ClientError",
    "ConflictError",
    "Destination",
    "InvalidRequestError",
    "JobFailedError",
    "NotFoundError",
    "PermissionDeniedError",
    "PixelpressError",
    "Progress",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "Source",
    "Tokens",
    "TooLargeError",
    "TransportError",
    "UnavailableError",
    "UnsupportedMediaError",
    "UrlSigner",
    "WaitTimeoutError",
]
