"""Operations on the account and the service: sign-up and sessions, notifications, logs,
administration, health. Each is written once, for both clients (see `_descriptors`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pixelpress.client._descriptors import Endpoints, Pages, endpoint, paged
from pixelpress.client._program import Program, Request, ok, path, query
from pixelpress.client.models import (
    AdminUser,
    Created,
    LogEntry,
    Notification,
    Page,
    Preferences,
    Readiness,
    Session,
    Stats,
    User,
)


class AccountEndpoints(Endpoints):
    # -- sessions ---------------------------------------------------------------------------

    @endpoint
    def register(self, username: str, email: str, password: str) -> Program[Session]:
        """Creates an account and signs in with it: the client keeps its tokens."""
        body = {"username": username, "email": email, "password": password}
        session = yield from self._core.call(
            Session, "POST", "/auth/register", json=body, auth=False
        )
        return self._core.adopt(session)

    @endpoint
    def login(self, login: str, password: str, *, remember_me: bool = False) -> Program[Session]:
        """Signs in by username or email: the client keeps the tokens and renews them when
        they expire. `remember_me`: the longer session (30 days by default, not 14)."""
        body: dict[str, Any] = {
            "email" if "@" in login else "username": login,
            "password": password,
            "remember_me": remember_me,
        }
        session = yield from self._core.call(Session, "POST", "/auth/login", json=body, auth=False)
        return self._core.adopt(session)

    @endpoint
    def refresh(self) -> Program[Session]:
        """Renews the tokens now (the client does it by itself when they expire)."""
        return self._core.refresh()

    @endpoint
    def logout(self) -> Program[None]:
        """Ends the session: its access and refresh tokens stop working on every API process.
        The client forgets them."""
        tokens = self._core.tokens
        if tokens is not None:
            # The refresh token names the session even after the access token expired.
            body = {"token": tokens.refresh_token or tokens.access_token}
            request = Request("POST", self._core.url("/auth/logout"), json=body)
            ok((yield from self._core.exchange(request, auth=False)))
        self._core.set_tokens(None)

    @endpoint
    def me(self) -> Program[User]:
        return self._core.call(User, "GET", "/auth/me")

    # -- notifications ----------------------------------------------------------------------

    @endpoint
    def set_notification_preferences(
        self, *, email: bool, webhook_url: str | None = None
    ) -> Program[Preferences]:
        """What to send when one of your jobs ends: an email, a signed webhook (its signing
        secret is in the answer, once)."""
        body = {"email": email, "webhookUrl": webhook_url}
        return self._core.call(Preferences, "PUT", "/me/notifications", json=body)

    @endpoint
    def send_notification(
        self,
        user_id: str,
        message: str,
        *,
        notification_type: str = "email",
        image_id: str | None = None,
    ) -> Program[Created]:
        """Sends a notification to yourself (admins: to anyone); `id` is the notification's."""
        body = {
            "userId": user_id,
            "message": message,
            "notificationType": notification_type,
            "imageId": image_id,
        }
        return self._core.call(Created, "POST", "/notifications/send", json=body)

    @endpoint
    def latest_notification(self, user_id: str) -> Program[Notification]:
        target = path("notifications", user_id, "status")
        return self._core.call(Notification, "GET", target)

    @endpoint
    def list_notifications(self, *, page: int = 1, limit: int = 10) -> Program[Page[Notification]]:
        return self._page(Page[Notification], "/notifications", page, limit)

    @paged
    def iter_notifications(self, *, limit: int = 100) -> Pages[Notification]:
        return lambda page: self._page(Page[Notification], "/notifications", page, limit)

    # -- logs -------------------------------------------------------------------------------

    @endpoint
    def create_log(
        self,
        level: str,
        message: str,
        *,
        timestamp: datetime | None = None,
        image_id: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> Program[Created]:
        """Writes an entry into the log service (`level`: debug, info, warning, error or
        critical; `timestamp` aware); `id` is the entry's."""
        body = {
            "logLevel": level,
            "message": message,
            "timestamp": timestamp.isoformat() if timestamp else None,
            "imageId": image_id,
            "context": context,
        }
        return self._core.call(Created, "POST", "/logs", json=body)

    @endpoint
    def get_log(self, log_id: str) -> Program[LogEntry]:
        return self._core.call(LogEntry, "GET", path("logs", log_id))

    @endpoint
    def list_logs(
        self,
        *,
        level: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        image_id: str | None = None,
        page: int = 1,
        limit: int = 10,
    ) -> Program[Page[LogEntry]]:
        """Log entries (admins: everyone's), filtered by level, time range and image."""
        where = log_filter(level, since, until, image_id)
        return self._page(Page[LogEntry], "/logs", page, limit, where)

    @paged
    def iter_logs(
        self,
        *,
        level: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        image_id: str | None = None,
        limit: int = 100,
    ) -> Pages[LogEntry]:
        where = log_filter(level, since, until, image_id)
        return lambda page: self._page(Page[LogEntry], "/logs", page, limit, where)

    # -- administration ---------------------------------------------------------------------

    @endpoint
    def admin_list_users(self, *, page: int = 1, limit: int = 10) -> Program[Page[AdminUser]]:
        return self._page(Page[AdminUser], "/admin/users", page, limit)

    @paged
    def admin_iter_users(self, *, limit: int = 100) -> Pages[AdminUser]:
        return lambda page: self._page(Page[AdminUser], "/admin/users", page, limit)

    @endpoint
    def admin_update_user(
        self, user_id: str, *, role: str | None = None, disabled: bool | None = None
    ) -> Program[AdminUser]:
        """Changes a user's role (`user`, `admin`) or disables them (from their next request)."""
        body = {k: v for k, v in (("role", role), ("disabled", disabled)) if v is not None}
        return self._core.call(AdminUser, "PATCH", path("admin", "users", user_id), json=body)

    @endpoint
    def admin_delete_user(self, user_id: str) -> Program[None]:
        """Deletes a user with their images, variants, jobs and stored objects."""
        return self._core.call_empty("DELETE", path("admin", "users", user_id))

    @endpoint
    def admin_stats(self) -> Program[Stats]:
        return self._core.call(Stats, "GET", "/admin/stats")

    # -- health -----------------------------------------------------------------------------

    @endpoint
    def ready(self) -> Program[Readiness]:
        """Whether the service and its dependencies answer (UnavailableError naming the one
        that does not); asked once, not retried."""
        request = Request("GET", f"{self._core.base_url}/readyz")
        response = yield from self._core.exchange(request, auth=False, resendable=False)
        return Readiness.model_validate(ok(response).json())

    def _page(
        self,
        model: type[Page[Any]],
        target: str,
        page: int,
        limit: int,
        where: dict[str, str] | None = None,
    ) -> Program[Any]:
        params = {**(where or {}), **query({"page": page, "limit": limit})}
        return self._core.call(model, "GET", target, params=params)


def log_filter(
    level: str | None, since: datetime | None, until: datetime | None, image_id: str | None
) -> dict[str, str]:
    return query(
        {
            "level": level,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "imageId": image_id,
        }
    )
