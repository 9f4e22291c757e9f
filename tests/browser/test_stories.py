"""The console's stories in a real Chromium against a real `pixelpress serve`: a user's whole
path through the library, an admin's, and upload and editor by keyboard alone. During each:
no console errors, no failed requests, no request off 127.0.0.1."""

from __future__ import annotations

import re
from pathlib import Path

import blurhash
import httpx
import pytest
import pyvips
from playwright.sync_api import FileChooser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import PASSWORD, Server, Watch, shoot
from tests.images import photo, png_declaring

GRAY = """(img) => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let spread = 0;
  for (let i = 0; i < data.length; i += 4) {
    spread = Math.max(spread, Math.abs(data[i] - data[i + 1]), Math.abs(data[i + 1] - data[i + 2]));
  }
  return spread;
}"""


def files(tmp_path: Path) -> list[Path]:
    made = {
        "harbour.jpg": photo(1200, 800),
        "meadow.png": photo(640, 480, ".png"),
        "bomb.png": png_declaring(20000, 20000),  # 400 megapixels: refused before decoding
    }
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return [tmp_path / name for name in made]


def sign_up(page: Page, name: str) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(f"{name}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Library")).to_be_visible()


def api(page: Page, method: str, path: str, **kwargs: object) -> dict[str, object]:
    """A request with the page's own session, as the console makes them."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrf_token")
    response = page.request.fetch(
        f"/api/v1{path}", method=method, headers={"X-CSRF-Token": csrf}, **kwargs
    )
    assert response.ok, response.text()
    return response.json() if response.status != 204 else {}


def open_editor_at(page: Page, name: str) -> str:
    page.get_by_role("link", name=re.compile(name)).first.click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    image_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name=f"Edit {name}")).to_be_visible()
    expect(page.locator(".preview")).to_have_attribute("data-state", "ready")
    return image_id


def test_a_user_uploads_edits_saves_shares_and_deletes(
    story: tuple[Page, Watch], server: Server, tmp_path: Path
) -> None:
    page, watch = story
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, "signin")
    # a refusal is shown next to the field it concerns
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("short")
    watch.expect("POST", r"/auth/register$", 400)
    page.get_by_role("button", name="Sign up").click()
    password_field = page.locator('[data-field~="password"]')
    expect(password_field.locator(".field-error")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    shoot(page, "signup")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    expect(page.get_by_role("link", name="Admin")).to_be_hidden()  # not an admin
    page.evaluate("window.sameDocument = true")  # gone if anything reloads the page

    # upload three files at once: one is refused with the service's message
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
    watch.expect("POST", r"/api/v1/images$", 413)
    page.locator("#upload-files").set_input_files(files(tmp_path))
    rows = page.locator(".upload")
    expect(rows).to_have_count(3)
    expect(page.locator('.upload[data-state="done"]')).to_have_count(2)
    refused = page.locator('.upload[data-state="refused"]')
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("bomb.png")
    expect(refused.locator(".result")).to_contain_text(re.compile("pixels", re.I))
    for row in page.locator('.upload[data-state="done"]').all():
        bar = row.locator("progress")
        assert bar.get_attribute("max") == str(bar.evaluate("(p) => p.value"))
    shoot(page, "upload")

    # the grid shows the two others, with their placeholders painted
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(2)
    expect(page.locator('canvas.placeholder[data-painted="blurhash"]')).to_have_count(2)
    expect(page.locator(".thumb.loaded")).to_have_count(2)
    for img in page.locator(".tile img").all():
        assert "/i/" in img.get_attribute("src")
        assert img.get_attribute("srcset").count("w,") == 2  # three widths
    painted = page.locator("canvas.placeholder").first.evaluate(
        "(c) => [...c.getContext('2d').getImageData(16, 16, 1, 1).data]"
    )
    assert painted[3] == 255  # opaque: the placeholder is there under the image
    # our decoder paints what the reference implementation (the Python package) decodes
    hashes = [i["placeholder"]["blurhash"] for i in api(page, "GET", "/images")["items"]]  # type: ignore[attr-defined]
    for hash_ in hashes:
        ours = page.evaluate(
            "(h) => import('/assets/blurhash.js').then((m) => Array.from(m.decode(h, 8, 6)))",
            hash_,
        )
        reference = [c for row in blurhash.decode(hash_, 8, 6) for px in row for c in [*px, 255]]
        assert max(abs(a - b) for a, b in zip(ours, reference, strict=True)) <= 1
    page.get_by_label("Sort").select_option("filename")
    expect(page.locator(".tile .name").first).to_have_text("harbour.jpg")
    page.get_by_label("Filter by filename").fill("MEAD")
    expect(tiles).to_have_count(1)
    expect(page.locator(".tile .name")).to_have_text("meadow.png")
    page.get_by_label("Filter by filename").fill("")
    expect(tiles).to_have_count(2)
    shoot(page, "library")

    # the image page, then the editor: width 300 and grayscale
    page.get_by_role("link", name=re.compile("harbour.jpg")).click()
    expect(page.get_by_role("heading", name="harbour.jpg")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("1200 \u00d7 800 px")
    shoot(page, "image")
    image_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("link", name="Edit").click()
    expect(page.locator(".preview")).to_have_attribute("data-state", "ready")
    page.get_by_label("Width", exact=True).first.fill("300")
    page.get_by_label("Grayscale").check()
    preview = page.locator(".preview")
    expect(preview).to_have_attribute("data-spec", re.compile('"grayscale":true'))
    expect(preview).to_have_attribute("data-state", "ready")
    image = page.locator(".preview img")
    assert image.evaluate("(i) => i.naturalWidth") == 300
    assert image.evaluate("(i) => i.naturalHeight") == 200
    assert image.evaluate(GRAY) <= 2
    expect(page.locator(".predicted")).to_contain_text("300 \u00d7 200 px \u00b7 JPEG")
    shoot(page, "editor")

    # save as a job: its states arrive over SSE, without a reload, then download it
    page.get_by_role("button", name="Save as job").click()
    expect(page.locator(".job-status")).to_have_attribute("data-status", "processed")
    assert page.evaluate("window.sameDocument") is True
    with page.expect_download() as started:
        page.get_by_role("button", name="Download the result").click()
    saved = tmp_path / "result.jpg"
    started.value.save_as(saved)
    (job,) = api(page, "GET", f"/images/{image_id}/status")["jobs"]  # type: ignore[misc]
    variants = api(page, "GET", f"/images/{image_id}")["variants"]
    variant = next(v for v in variants if v["id"] == job["variantId"])  # type: ignore[attr-defined]
    assert saved.stat().st_size == variant["size"]
    downloaded = pyvips.Image.new_from_file(str(saved))
    assert (downloaded.width, downloaded.height) == (300, 200)

    # get a URL: it serves without credentials, and the snippet has several widths
    page.get_by_role("button", name="Get a URL").click()
    url_field = page.get_by_label("Signed URL")
    expect(url_field).to_have_value(re.compile(r"/i/[\w-]+/w_300,e_grayscale,f_auto,v_\w+/"))
    url = url_field.input_value()
    fetched = httpx.get(url, headers={"Accept": "image/webp,image/*"}, timeout=30)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/webp"
    assert pyvips.Image.new_from_buffer(fetched.content, "").width == 300
    snippet = page.get_by_label("<img srcset> snippet").input_value()
    assert snippet.startswith("<img src=")
    assert [int(w) for w in re.findall(r" (\d+)w", snippet)] == [320, 640, 960, 1280]
    page.get_by_role("button", name="Copy URL").click()
    expect(page.locator("#status")).to_have_text("URL copied.")
    assert page.evaluate("navigator.clipboard.readText()") == url

    # crop by dragging a box on the source image
    page.locator(".overlay").scroll_into_view_if_needed()
    box = page.locator(".overlay").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.75, steps=5)
    page.mouse.up()
    expect(preview).to_have_attribute("data-spec", re.compile('"crop":'))
    expect(preview).to_have_attribute("data-state", "ready")
    crop = [
        int(page.locator(f"input[name={k}]").input_value())
        for k in ("cropX", "cropY", "cropW", "cropH")
    ]
    assert all(abs(a - b) <= 12 for a, b in zip(crop, [300, 200, 600, 400], strict=True)), crop
    assert image.evaluate("(i) => i.naturalWidth") == 300
    assert image.evaluate("(i) => i.naturalHeight") == 200  # the 600 by 400 box keeps 3:2
    assert page.evaluate("window.sameDocument") is True

    # notifications and logs
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications").click()
    page.get_by_label(re.compile("Email me")).check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_have_text("Notification settings saved.")
    page.get_by_role("button", name="Send a test email").click()
    expect(page.locator("tbody tr[data-status]")).to_have_count(1)
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator('tbody tr[data-status="sent"]')).to_have_count(1, timeout=15_000)
    shoot(page, "notifications")
    api(page, "POST", "/logs", data={"logLevel": "warning", "message": "disk almost full"})
    api(page, "POST", "/logs", data={"logLevel": "info", "message": "all good"})
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Logs").click()
    expect(page.locator("tbody tr[data-level]")).to_have_count(2)
    page.get_by_label("Level").select_option("warning")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("tbody tr[data-level]")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("disk almost full")
    shoot(page, "logs")

    # delete the image: it is gone from the grid
    page.goto(f"/#/images/{image_id}")
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    expect(tiles).to_have_count(1)
    expect(page.locator(".tile .name")).to_have_text("meadow.png")
    gone = httpx.get(url, timeout=30)
    assert gone.status_code == 404

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    watch.assert_clean()


def test_an_admin_changes_disables_and_deletes_a_user(
    story: tuple[Page, Watch], server: Server
) -> None:
    page, watch = story
    server.create_admin("root")
    with httpx.Client(base_url=f"{server.base}/api/v1", timeout=30) as http:
        bob = http.post(
            "/auth/register",
            json={"username": "bob", "email": "bob@example.com", "password": PASSWORD},
        ).json()
        uploaded = http.post(
            "/images",
            headers={"Authorization": f"Bearer {bob['access_token']}"},
            files={"image": ("bobs-cat.jpg", photo(400, 300), "image/jpeg")},
        )
        assert uploaded.status_code == 201, uploaded.text
    page.goto("/")
    page.get_by_label("Username or email").fill("root@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    stats = page.locator(".stats")
    expect(stats).to_contain_text("Users")
    assert stats.locator("dd").first.inner_text() == str(len(page.locator("tr[data-user]").all()))
    bob_row = page.locator('tr[data-user="bob"]')
    expect(bob_row).to_contain_text("bob@example.com")
    expect(page.get_by_role("link", name="bobs-cat.jpg")).to_be_visible()
    shoot(page, "admin")

    page.get_by_label("Role of bob").select_option("admin")
    expect(page.locator("#status")).to_have_text("bob is now admin.")
    expect(page.get_by_label("Role of bob")).to_have_value("admin")
    page.get_by_role("button", name="Disable bob").click()
    expect(bob_row).to_contain_text("disabled")
    expect(page.get_by_role("button", name="Enable bob")).to_be_visible()
    page.get_by_role("button", name="Delete bob").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(bob_row).to_have_count(0)
    expect(page.get_by_role("link", name="bobs-cat.jpg")).to_have_count(0)
    # the role is the server's: what the console hides, the API refuses anyway
    with httpx.Client(base_url=f"{server.base}/api/v1", timeout=30) as http:
        gone = http.post("/auth/login", json={"username": "bob", "password": PASSWORD})
        assert gone.status_code == 401
    watch.assert_clean()


FOCUSED = """([selector, text]) => {
  const el = document.activeElement;
  return Boolean(el?.matches(selector) && (text === null || el.textContent.trim() === text));
}"""


def tab_to(page: Page, selector: str, text: str | None = None, limit: int = 120) -> None:
    """Presses Tab until the focus is on `selector` (with `text`): the keyboard gets there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED, [selector, text]):
            return
    raise AssertionError(f"Tab never reached {selector} {text or ''}")


def test_upload_and_editor_by_keyboard_alone(
    story: tuple[Page, Watch], server: Server, tmp_path: Path
) -> None:
    page, watch = story
    with httpx.Client(base_url=f"{server.base}/api/v1", timeout=30) as http:
        made = http.post(
            "/auth/register",
            json={"username": "kim", "email": "kim@example.com", "password": PASSWORD},
        )
        assert made.status_code == 201
    picture = tmp_path / "keys.jpg"
    picture.write_bytes(photo(800, 600))
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    tab_to(page, "input[name=login]")
    page.keyboard.type("kim")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    page.goto("/#/admin")  # not an admin: back to the library
    expect(page.get_by_role("heading", name="Library")).to_be_visible()

    tab_to(page, '#nav a[href="#/upload"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Upload")).to_be_visible()
    tab_to(page, "#upload-files")
    outline = page.evaluate(
        "() => getComputedStyle(document.querySelector('.dropzone .button')).outlineStyle"
    )
    assert outline == "solid"  # the focus shows on the visible button
    chooser = open_file_chooser(page)
    chooser.set_files(str(picture))
    expect(page.locator('.upload[data-state="done"]')).to_have_count(1)

    tab_to(page, '#nav a[href="#/library"]')
    page.keyboard.press("Enter")
    tab_to(page, ".tile a")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="keys.jpg")).to_be_visible()
    tab_to(page, 'a[href$="/edit"]')
    page.keyboard.press("Enter")
    expect(page.locator(".preview")).to_have_attribute("data-state", "ready")
    tab_to(page, "input[name=width]")
    page.keyboard.type("200")
    tab_to(page, "input[name=grayscale]")
    page.keyboard.press("Space")
    tab_to(page, "button", "Rotate right 90°")
    page.keyboard.press("Enter")
    preview = page.locator(".preview")
    expect(preview).to_have_attribute("data-spec", re.compile('"rotate":90'))
    expect(preview).to_have_attribute("data-state", "ready")
    image = page.locator(".preview img")
    assert image.evaluate("(i) => [i.naturalWidth, i.naturalHeight]") == [150, 200]
    assert image.evaluate(GRAY) <= 2
    tab_to(page, "button", "Save as job")
    page.keyboard.press("Enter")
    expect(page.locator(".job-status")).to_have_attribute("data-status", "processed")
    tab_to(page, "button", "Download the result")
    with page.expect_download() as started:
        page.keyboard.press("Enter")
    assert started.value.suggested_filename.startswith("keys-")
    watch.assert_clean()


def open_file_chooser(page: Page) -> FileChooser:
    """Space on the focused file input opens the chooser. On a loaded machine Chromium now and
    then lets the first key press go by before the input is ready: press again, a few times."""
    for _ in range(3):
        try:
            with page.expect_file_chooser(timeout=10_000) as chooser:
                page.keyboard.press("Space")
            return chooser.value
        except PlaywrightTimeoutError:
            continue
    pytest.fail("the file chooser never opened")


def test_the_editor_centres_a_cover_crop_on_the_face_it_finds(
    story: tuple[Page, Watch], server: Server
) -> None:
    page, _ = story
    sign_up(page, "faye")
    portrait = Path(__file__).parents[1] / "pictures" / "astronaut.jpg"
    file = {"name": "astronaut.jpg", "mimeType": "image/jpeg", "buffer": portrait.read_bytes()}
    api(page, "POST", "/images", multipart={"image": file})
    page.reload()
    open_editor_at(page, "astronaut.jpg")
    page.get_by_label("Width", exact=True).first.fill("120")
    page.get_by_label("Height", exact=True).first.fill("300")
    page.get_by_label("Gravity").select_option("face")
    preview = page.locator(".preview")
    expect(preview).to_have_attribute("data-spec", re.compile('"gravity":"face"'))
    expect(preview).to_have_attribute("data-state", "ready")
    expect(page.locator(".predicted")).to_contain_text("120 \u00d7 300 px")
    expect(page.locator(".predicted")).to_contain_text("1 face found")
    shoot(page, "editor-face")
