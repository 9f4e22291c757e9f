"""/me/notifications and /notifications."""

from __future__ import annotations

from pixelpress.api.deps import ClockDep, CurrentUser, Db, Notices, Paging, Webhooks
from pixelpress.api.routing import api_router
from pixelpress.api.schemas import PageOut
from pixelpress.api.schemas_ops import (
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    SendIn,
    SentOut,
)
from pixelpress.usecases import notifications

router = api_router(tags=["notifications"])


def _preferences_out(prefs: notifications.Preferences) -> PreferencesOut:
    return PreferencesOut(
        email=prefs.email, webhookUrl=prefs.webhook_url, webhookSecret=prefs.webhook_secret
    )


@router.get("/me/notifications", response_model=PreferencesOut)
async def get_preferences(user: CurrentUser) -> PreferencesOut:
    """What is sent when a job ends (the webhook secret is shown only when it is set)."""
    return _preferences_out(notifications.preferences_of(user))


@router.put("/me/notifications", response_model=PreferencesOut)
async def set_preferences(
    body: PreferencesIn, user: CurrentUser, db: Db, webhooks: Webhooks
) -> PreferencesOut:
    prefs = await notifications.set_preferences(
        user=user,
        email=body.email,
        webhook_url=body.webhookUrl,
        db=db,
        webhooks=webhooks,
    )
    return _preferences_out(prefs)


@router.post("/notifications/send", response_model=SentOut)
async def send(
    body: SendIn, user: CurrentUser, db: Db, notices: Notices, clock: ClockDep
) -> SentOut:
    sent = await notifications.send_notification(
        caller=user,
        user_id=body.userId,
        message=body.message,
        kind=body.notificationType,
        image_id=body.imageId,
        db=db,
        queue=notices,
        clock=clock,
    )
    return SentOut(message="Notification sent successfully.", notificationId=sent.id)


@router.get("/notifications/{user_id}/status", response_model=NotificationOut)
async def latest(user_id: str, user: CurrentUser, db: Db) -> NotificationOut:
    found = await notifications.latest(caller=user, user_id=user_id, db=db)
    return NotificationOut.of(found)


@router.get("/notifications", response_model=PageOut[NotificationOut])
async def list_mine(user: CurrentUser, db: Db, page: Paging) -> PageOut[NotificationOut]:
    found = await notifications.list_notifications(user=user, page=page, db=db)
    return PageOut[NotificationOut].of(found, [NotificationOut.of(n) for n in found.items])
