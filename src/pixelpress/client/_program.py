"""The client's logic, written once for the sync and the async client.

Every operation is a *program*: a generator that yields instructions (send this request, sleep
this long, refresh the tokens) and receives their results, without doing any I/O itself. The
sync `Client` and the `AsyncClient` are thin drivers that carry the instructions out, with
httpx's `Client` or `AsyncClient`, `time.sleep` or `anyio.sleep`. So retries, token refresh,
error mapping, decoding and waiting for jobs behave the same in both, because they are the same
code (the "sans-I/O" style of h11 and httpcore).

An exception raised while carrying out an instruction is thrown back into the program at its
`yield`, where it may be handled (waiting for a job falls back to polling when its event stream
fails) or let through to the caller."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from httpx_sse import ServerSentEvent

from pixelpress.client import errors
from pixelpress.client.models import Model, Session

T = TypeVar("T")
M = TypeVar("M", bound=Model)

API_PREFIX = "/api/v1"
RETRIED = (429, 503)
REFRESH_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    params: Mapping[str, str] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    files: Any = None
    data: Mapping[str, str] | None = None
    timeout: float | None = None
    """Seconds for each step (connecting, each read); None: the client's timeout."""

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The httpx request, with the client's timeouts and headers."""
        return http.build_request(
            self.method,
            self.url,
            params=self.params,
            json=self.json,
            headers=dict(self.headers),
            files=self.files,
            data=self.data,
            timeout=httpx.USE_CLIENT_DEFAULT if self.timeout is None else self.timeout,
        )


@dataclass(frozen=True)
class Send:
    """Send a request; answer its response. A 2xx body is streamed into `sink` when given, or,
    with `events`, read as Server-Sent Events until `events` returns True; any other body is
    read whole."""

    request: Request
    sink: Callable[[bytes], object] | None = None
    events: Callable[[ServerSentEvent], bool] | None = None


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Refresh:
    """Renew the tokens, unless another request already replaced `stale` (the access token this
    request was refused with): one refresh, however many requests find the token expired."""

    stale: str


Instruction = Send | Sleep | Refresh
Program = Generator[Instruction, Any, T]


class Run:
    """One program being driven. A driver's loop is
    `while not run.done: try: run.answer(do(run.step)) except Exception as e: run.fail(e)`,
    then `run.value` is the program's result."""

    def __init__(self, program: Program[Any]) -> None:
        self._program = program
        self._step: Instruction | None = None
        self.done = False
        self.value: Any = None
        self._advance(lambda: next(program))

    @property
    def step(self) -> Instruction:
        if self._step is None:
            raise RuntimeError("The program has finished.")
        return self._step

    def _advance(self, move: Callable[[], Instruction]) -> None:
        try:
            self._step = move()
        except StopIteration as finished:
            self._step, self.done, self.value = None, True, finished.value

    def answer(self, value: Any) -> None:
        self._advance(lambda: self._program.send(value))

    def fail(self, error: Exception) -> None:
        self._advance(lambda: self._program.throw(error))


@dataclass
class Tokens:
    """What the client authenticates with. `expires_at` (unix time) lets it refresh ahead of
    the service's refusal; without a refresh token, an expired token is the caller's to renew."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None

    def expiring(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at - REFRESH_MARGIN_SECONDS

    @classmethod
    def of(cls, session: Session) -> Tokens:
        return cls(session.access_token, session.refresh_token, time.time() + session.expires_in)


@dataclass(frozen=True)
class RetryPolicy:
    """429 and 503 are sent again after the service's Retry-After (or 1, 2, 4… s without one),
    at most `max_retries` times and `max_wait` seconds of waiting in all; a wait that would
    pass the bound is not started, and the refusal is raised at once."""

    max_retries: int = 3
    max_wait: float = 60.0

    def delay(self, response: httpx.Response, attempt: int) -> float:
        given = errors.retry_after(response)
        return given if given is not None else float(min(2**attempt, 30))


def path(*segments: str) -> str:
    """A path under the API from segments, each one quoted (an id cannot reach another route)."""
    return "".join(f"/{quote(s, safe='')}" for s in segments)


class Core:
    """The state shared by the programs of one client: where the service is, the tokens, the
    retry policy."""

    def __init__(
        self,
        base_url: str,
        *,
        tokens: Tokens | None,
        on_tokens: Callable[[Tokens | None], None] | None,
        retry: RetryPolicy,
    ) -> None:
        base = base_url.rstrip("/")
        self.base_url = base.removesuffix(API_PREFIX)
        self.tokens = tokens
        self.on_tokens = on_tokens
        self.retry = retry

    def url(self, target: str) -> str:
        """An absolute URL is kept (signed download links); a path is under the API."""
        if target.startswith(("http://", "https://")):
            return target
        return f"{self.base_url}{API_PREFIX}{target}"

    def set_tokens(self, tokens: Tokens | None) -> None:
        self.tokens = tokens
        if self.on_tokens is not None:
            self.on_tokens(tokens)

    def adopt(self, session: Session) -> Session:
        self.set_tokens(Tokens.of(session))
        return session

    def exchange(
        self,
        request: Request,
        *,
        auth: bool = True,
        resendable: bool = True,
        sink: Callable[[bytes], object] | None = None,
        events: Callable[[ServerSentEvent], bool] | None = None,
    ) -> Program[httpx.Response]:
        """Sends `request` (with the bearer token when `auth`), refreshing the tokens ahead of
        their expiry or once after a 401, and sending again after a 429 or 503 within the retry
        policy. Answers the last response, refused or not."""
        refreshed, attempt, waited = False, 0, 0.0
        while True:
            tokens = self.tokens if auth else None
            if tokens is not None and tokens.refresh_token and tokens.expiring(time.time()):
                yield Refresh(tokens.access_token)
                tokens = self.tokens
            sent = request
            if tokens is not None:
                auth_header = {"Authorization": f"Bearer {tokens.access_token}"}
                sent = replace(request, headers={**request.headers, **auth_header})
            try:
                response: httpx.Response = yield Send(sent, sink=sink, events=events)
            except httpx.TransportError as exc:
                raise errors.TransportError(
                    f"No answer from {self.base_url}: {exc or type(exc).__name__}",
                    code="timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable",
                ) from exc
            status = response.status_code
            if status == 401 and tokens is not None and tokens.refresh_token and not refreshed:
                refreshed = True
                try:
                    yield Refresh(tokens.access_token)
                except errors.AuthenticationError:
                    return response  # the first refusal says why (a disabled account, …)
                if resendable:
                    continue
                return response
            if status in RETRIED and resendable and attempt < self.retry.max_retries:
                delay = self.retry.delay(response, attempt)
                if waited + delay <= self.retry.max_wait:
                    attempt, waited = attempt + 1, waited + delay
                    yield Sleep(delay)
                    continue
            return response

    def call(
        self,
        model: type[M],
        method: str,
        target: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        auth: bool = True,
    ) -> Program[M]:
        """One JSON request, its answer decoded into `model` (or its refusal raised)."""
        request = Request(method, self.url(target), params=params, json=json)
        response = yield from self.exchange(request, auth=auth)
        return model.model_validate(ok(response).json())

    def call_empty(self, method: str, target: str, *, json: Any = None) -> Program[None]:
        response = yield from self.exchange(Request(method, self.url(target), json=json))
        ok(response)

    def refresh(self) -> Program[Session]:
        if self.tokens is None or not self.tokens.refresh_token:
            raise errors.AuthenticationError(
                "There is no refresh token to renew the session with; log in again.",
                status=401,
                code="not_authenticated",
            )
        body = {"refresh_token": self.tokens.refresh_token}
        session = yield from self.call(Session, "POST", "/auth/refresh", json=body, auth=False)
        return self.adopt(session)


def ok(response: httpx.Response) -> httpx.Response:
    """The response when it is a success; else its refusal, raised."""
    if response.is_error:
        raise errors.from_response(response)
    return response


def query(values: Mapping[str, object]) -> dict[str, str]:
    """Query parameters as the service reads them: booleans `true`/`false`, None left out."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out
