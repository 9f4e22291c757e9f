from __future__ import annotations

import time

import httpx
import jwt
from pwdlib.hashers.bcrypt import BcryptHasher

from pixelpress.bootstrap import Services
from pixelpress.domain.models import Role
from pixelpress.settings import Settings
from tests.api.helpers import PASSWORD, assert_error, register, register_tokens


async def test_register_returns_user_and_tokens(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "alice", "email": "Alice@Example.com", "password": PASSWORD},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["message"] == "User registered successfully."
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60
    assert body["user"]["username"] == "alice"
    assert body["user"]["email"] == "alice@example.com"
    assert body["user"]["role"] == "user"
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]


async def test_register_refuses_duplicates_and_bad_input(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    dup_name = await client.post(
        "/api/v1/auth/register",
        json={"username": "ALICE", "email": "other@example.com", "password": PASSWORD},
    )
    assert_error(dup_name, 409, "username_taken")
    dup_mail = await client.post(
        "/api/v1/auth/register",
        json={"username": "bob", "email": "ALICE@example.com", "password": PASSWORD},
    )
    assert_error(dup_mail, 409, "email_taken")
    bad_mail = await client.post(
        "/api/v1/auth/register", json={"username": "bob", "email": "nope", "password": PASSWORD}
    )
    body = assert_error(bad_mail, 400, "invalid_input")
    assert body["details"][0]["field"] == "email"  # type: ignore[index]
    short = await client.post(
        "/api/v1/auth/register", json={"username": "bob", "email": "b@example.com", "password": "x"}
    )
    assert_error(short, 400, "invalid_password")
    bad_name = await client.post(
        "/api/v1/auth/register",
        json={"username": "../x", "email": "b@example.com", "password": PASSWORD},
    )
    assert_error(bad_name, 400, "invalid_username")
    role = await client.post(
        "/api/v1/auth/register",
        json={"username": "bob", "email": "b@example.com", "password": PASSWORD, "role": "admin"},
    )
    assert_error(role, 400, "invalid_input")  # no mass assignment


async def test_login_by_username_or_email_sets_cookie_and_last_login(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "alice")
    by_name = await client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
    )
    assert by_name.status_code == 200
    assert by_name.json()["user"]["last_login"] is not None
    cookie = by_name.headers.get_list("set-cookie")
    access = next(c for c in cookie if c.startswith("access_token="))
    assert "HttpOnly" in access and "Max-Age" not in access  # a session cookie
    by_mail = await client.post(
        "/api/v1/auth/login",
        json={"email": "ALICE@example.com", "password": PASSWORD, "remember_me": True},
    )
    assert by_mail.status_code == 200
    access = next(c for c in by_mail.headers.get_list("set-cookie") if "access_token=" in c)
    assert "Max-Age" in access  # persistent with remember-me


async def test_login_failures_look_the_same(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    wrong = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "bad"})
    unknown = await client.post("/api/v1/auth/login", json={"username": "zed", "password": "bad"})
    assert_error(wrong, 401, "invalid_credentials")
    assert_error(unknown, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()
    missing = await client.post("/api/v1/auth/login", json={"password": "bad"})
    assert_error(missing, 400)


async def test_cookie_authenticates_and_unsafe_requests_need_csrf(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "alice")
    await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert (await client.get("/api/v1/auth/me")).status_code == 200  # cookie only
    no_csrf = await client.post("/api/v1/images/x/transform", json={"rotate": 90})
    assert_error(no_csrf, 403, "csrf_failed")
    csrf = client.cookies["csrf_token"]
    with_csrf = await client.post(
        "/api/v1/images/x/transform", json={"rotate": 90}, headers={"X-CSRF-Token": csrf}
    )
    assert_error(with_csrf, 404, "image_not_found")


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    first = await register_tokens(client)
    second = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    # the spent token comes back: the whole family ends, including the newest pair
    reuse = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert_error(reuse, 401, "refresh_token_reused")
    newest = {"Authorization": f"Bearer {pair['access_token']}"}
    assert_error(await client.get("/api/v1/auth/me", headers=newest), 401, "session_ended")
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_error(again, 401)


async def test_token_types_are_not_interchangeable(client: httpx.AsyncClient) -> None:
    tokens = await register_tokens(client)
    as_access = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert_error(await client.get("/api/v1/auth/me", headers=as_access), 401, "wrong_token_type")
    as_refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]}
    )
    assert_error(as_refresh, 401, "wrong_token_type")


async def test_logout_revokes_access_and_refresh_at_once(client: httpx.AsyncClient) -> None:
    tokens = await register_tokens(client)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    out = await client.post("/api/v1/auth/logout", headers=headers)
    assert out.status_code == 200
    assert out.json() == {"message": "Logout successful."}
    assert_error(await client.get("/api/v1/auth/me", headers=headers), 401, "session_ended")
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_error(refreshed, 401)


async def test_bad_tokens_are_401(client: httpx.AsyncClient, settings: Settings) -> None:
    assert_error(await client.get("/api/v1/auth/me"), 401, "not_authenticated")
    garbage = {"Authorization": "Bearer not.a.jwt"}
    assert_error(await client.get("/api/v1/auth/me", headers=garbage), 401, "invalid_token")
    tokens = await register_tokens(client)
    claims = jwt.decode(
        tokens["access_token"], options={"verify_signature": False}, algorithms=["HS256"]
    )
    expired = dict(claims, exp=int(time.time()) - 10, iat=int(time.time()) - 100)
    token = jwt.encode(expired, settings.resolved_secret_key(), algorithm="HS256")
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401, "token_expired")
    forged = jwt.encode(claims, "another-secret-another-secret-another", algorithm="HS256")
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert_error(response, 401, "invalid_token")
    none_alg = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {none_alg}"})
    assert_error(response, 401, "invalid_token")
    wrong_aud = jwt.encode(
        dict(claims, aud="elsewhere"), settings.resolved_secret_key(), algorithm="HS256"
    )
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {wrong_aud}"})
    assert_error(response, 401, "invalid_token")


async def test_bcrypt_hashes_verify_and_are_upgraded(
    client: httpx.AsyncClient, services: Services
) -> None:
    await register(client, "alice")
    async with services.db.unit_of_work() as uow:
        user = await uow.users.find_by_login("alice")
        assert user is not None
        user.password_hash = BcryptHasher(rounds=4).hash("imported password")
        await uow.users.update(user)
        await uow.commit()
    r = await client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": "imported password"}
    )
    assert r.status_code == 200
    async with services.db.unit_of_work() as uow:
        user = await uow.users.find_by_login("alice")
    assert user is not None and user.password_hash.startswith("$argon2id$")


async def test_role_is_read_from_the_database(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client, "alice")
    async with services.db.unit_of_work() as uow:
        user = await uow.users.find_by_login("alice")
        assert user is not None
        user.role = Role.ADMIN
        await uow.users.update(user)
        await uow.commit()
    assert (await client.get("/api/v1/auth/me", headers=headers)).json()["role"] == "admin"


async def test_usernames_are_normalised_compared_without_case_and_whole(
    client: httpx.AsyncClient,
) -> None:
    def body(username: str, email: str) -> dict[str, str]:
        return {"username": username, "email": email, "password": PASSWORD}

    r = await client.post("/api/v1/auth/register", json=body("name", "n@example.com"))
    assert r.status_code == 201, r.text
    for taken in ("Name", "NAME", "\uff4e\uff41\uff4d\uff45"):  # full-width letters are NFKC "name"
        r = await client.post("/api/v1/auth/register", json=body(taken, f"{len(taken)}@x.org"))
        assert_error(r, 409, "username_taken")
    for bad in ("name\n", "name\r", "na\tme", "name\x00", "\u202ename"):
        r = await client.post("/api/v1/auth/register", json=body(bad, "other@example.com"))
        assert r.status_code == 400, (bad, r.text)
    login = {"username": "\uff2e\uff21\uff2d\uff25", "password": PASSWORD}  # "NAME", full-width
    assert (await client.post("/api/v1/auth/login", json=login)).status_code == 200


def cookie_line(response: httpx.Response, name: str) -> str:
    return next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}="))


async def test_remember_me_survives_refreshes(client: httpx.AsyncClient) -> None:
    """A refresh by cookie sends the cookies again with their lifetimes: remember-me stays
    remember-me (it used to turn into browser-session cookies after the first refresh)."""
    await register(client, "alice")
    login = {"username": "alice", "password": PASSWORD, "remember_me": True}
    r = await client.post("/api/v1/auth/login", json=login)
    assert "Max-Age" in cookie_line(r, "refresh_token")
    for _ in range(2):
        csrf = {"X-CSRF-Token": client.cookies["csrf_token"]}
        r = await client.post("/api/v1/auth/refresh", headers=csrf)
        assert r.status_code == 200, r.text
        for name in ("access_token", "refresh_token", "csrf_token"):
            line = cookie_line(r, name)
            assert "Max-Age=" in line, line
        refresh_age = int(cookie_line(r, "refresh_token").split("Max-Age=")[1].split(";")[0])
        assert refresh_age > 29 * 24 * 3600  # what is left of the 30 remember-me days
    # without remember-me: session cookies before and after a refresh
    client.cookies.clear()
    await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    r = await client.post(
        "/api/v1/auth/refresh", headers={"X-CSRF-Token": client.cookies["csrf_token"]}
    )
    assert r.status_code == 200
    assert "Max-Age" not in cookie_line(r, "refresh_token")


async def test_refresh_and_logout_by_cookie_need_the_csrf_token(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert_error(await client.post("/api/v1/auth/refresh"), 403, "csrf_failed")
    bad = {"X-CSRF-Token": "guess"}
    assert_error(await client.post("/api/v1/auth/refresh", headers=bad), 403, "csrf_failed")
    assert_error(await client.post("/api/v1/auth/logout"), 403, "csrf_failed")
    assert (await client.get("/api/v1/auth/me")).status_code == 200  # still signed in
    csrf = {"X-CSRF-Token": client.cookies["csrf_token"]}
    assert (await client.post("/api/v1/auth/refresh", headers=csrf)).status_code == 200
    csrf = {"X-CSRF-Token": client.cookies["csrf_token"]}
    assert (await client.post("/api/v1/auth/logout", headers=csrf)).status_code == 200
    assert_error(await client.get("/api/v1/auth/me"), 401)
    # a token in the body or a bearer header is no cookie: no CSRF token needed
    tokens = await register_tokens(client, "bob")
    client.cookies.clear()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.post("/api/v1/auth/logout", headers=bearer)).status_code == 200
