from __future__ import annotations

from typing import Any

import pytest

from pixelpress.domain import signing
from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.spec import negotiate, parse_options, parse_spec, to_options
from pixelpress.domain.spec.url import expand_presets, preset_names

FULL = (
    "w_400,h_300,c_cover,g_center,r_90,fl_h,fl_v,e_grayscale,e_sepia,e_blur:3,e_sharpen,q_80,f_webp"
)


def test_options_map_onto_the_json_spec_and_its_hash() -> None:
    parsed = parse_options(FULL)
    same = parse_spec(
        {
            "resize": {"width": 400, "height": 300, "fit": "cover"},
            "rotate": 90,
            "mirror": True,
            "flip": True,
            "filters": {"grayscale": True, "sepia": True, "blur": 3, "sharpen": True},
            "quality": 80,
            "format": "webp",
        }
    )
    assert parsed.spec == same
    assert parsed.spec is not None
    assert parsed.spec.hash == same.hash


@pytest.mark.parametrize(
    "options",
    [
        FULL,
        "w_400",
        "h_300,f_png",
        "w_10,h_20,c_inside,r_33.5",
        "e_blur,q_60",
        "w_400,h_300,g_north_east",
        "w_400,h_300,g_auto",
        "cr_10:20:400:300,w_100",
        "wt_wqkgbWU,wp_top-left,wo_0.3,w_200",
        "wt_bm8sIGNvbW1hcy9vcl9zbGFzaGVzIGhhcm0gaXQ",
    ],
)
def test_round_trip_through_the_canonical_form(options: str) -> None:
    spec = parse_options(options).spec
    assert spec is not None
    again = parse_options(to_options(spec.canonical())).spec
    assert again is not None
    assert again.hash == spec.hash


def test_order_does_not_matter_and_ext_sets_the_format() -> None:
    a = parse_options("w_400,f_webp").spec
    b = parse_options("f_webp,w_400").spec
    c = parse_options("w_400", ext="webp").spec
    assert a is not None
    assert b is not None
    assert c is not None
    assert a.hash == b.hash == c.hash


def test_auto_format_negotiates_from_accept() -> None:
    assert negotiate("image/avif,image/webp,*/*") == "avif"
    assert negotiate("image/webp,*/*;q=0.8") == "webp"
    assert negotiate("text/html,*/*") == "jpeg"
    parsed = parse_options("w_100,f_auto", accept="image/webp")
    assert parsed.auto_format
    assert parsed.spec is not None
    assert str(parsed.spec.format) == "webp"


def test_a_version_changes_the_url_not_the_spec() -> None:
    assert parse_options("w_100,v_3f2a9c1e") == parse_options("w_100")
    assert parse_options("v_1").spec is None
    canonical = parse_options("w_100").spec.canonical()  # type: ignore[union-attr]
    assert to_options(canonical, version="3f2a9c1e", expires=5) == "w_100,v_3f2a9c1e,exp_5"


def test_expiry_is_read_and_nothing_means_no_spec() -> None:
    parsed = parse_options("w_100,exp_1767225600")
    assert parsed.expires == 1767225600
    assert parse_options("_").spec is None


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ("x_1", InvalidInput),
        ("w400", InvalidInput),
        ("w_0", Unprocessable),
        ("w_100000", Unprocessable),
        ("w_abc", InvalidInput),
        ("f_bmp", Unprocessable),
        ("fl_x", InvalidInput),
        ("e_glow", InvalidInput),
        ("g_north", Unprocessable),  # a gravity needs both edges
        ("w_10,h_10,g_up", Unprocessable),
        ("cr_1:2:3", InvalidInput),
        ("cr_0:0:0:10", Unprocessable),
        ("wt_!!", InvalidInput),
        ("wt_wqkgbWU,wp_middle", Unprocessable),
        ("wp_top", Unprocessable),  # a position needs a text
        ("exp_soon", InvalidInput),
        ("q_101", Unprocessable),
        ("w_10,v_a.b", InvalidInput),
        ("w_10,v_" + "a" * 33, InvalidInput),
        ("v_é", InvalidInput),
    ],
)
def test_bad_options_are_4xx_errors(options: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_options(options)


def test_signatures_accept_any_current_key() -> None:
    path = "w_400/abc"
    old, new = "old-key", "new-key"
    signature = signing.sign_url(old, path)
    assert signing.verify_url([new, old], path, signature)
    assert not signing.verify_url([new], path, signature)
    assert not signing.verify_url([old], "w_401/abc", signature)
    assert len(signature) == 32


def test_gravity_names_map_onto_one_spec() -> None:
    def hashed(options: str) -> str:
        spec = parse_options(options).spec
        assert spec is not None
        return spec.hash

    json_form = parse_spec({"resize": {"width": 400, "height": 300, "gravity": "top-right"}})
    assert hashed("w_400,h_300,g_north_east") == hashed("w_400,h_300,g_top-right") == json_form.hash
    assert to_options(json_form.canonical()) == "w_400,h_300,c_cover,g_top-right"
    # The default, and a gravity where nothing is cut, change nothing: same hash as without.
    assert hashed("w_400,h_300,g_center") == hashed("w_400,h_300")
    assert hashed("w_400,h_300,c_contain,g_north") == hashed("w_400,h_300,c_contain")
    assert hashed("w_400,h_300,g_auto") != hashed("w_400,h_300")
    assert parse_options("g_center").spec is None  # as before gravities: the original


def test_crops_and_text_watermarks_have_a_url_form() -> None:
    json_form = parse_spec(
        {
            "crop": {"x": 10, "y": 20, "width": 400, "height": 300},
            "resize": {"width": 100},
            "watermark": {"text": "© me, 2026/11", "position": "top-left", "opacity": 0.3},
        }
    )
    options = to_options(json_form.canonical())
    assert options.startswith("cr_10:20:400:300,w_100,wt_")
    assert "," not in options.split("wt_")[1].split(",")[0]  # the text cannot split options
    parsed = parse_options(options).spec
    assert parsed is not None
    assert parsed.hash == json_form.hash
    assert parsed.watermark is not None
    assert parsed.watermark.text == "© me, 2026/11"


def test_image_watermarks_go_into_a_url_by_id() -> None:
    minted = parse_spec(
        {"resize": {"width": 200}, "watermark": {"image": "logo.png", "position": "center"}}
    ).with_watermark_image("a1b2c3")
    options = to_options(minted.canonical())
    assert options == "w_200,wi_a1b2c3,wp_center,wo_0.5"
    parsed = parse_options(options).spec
    assert parsed is not None
    assert parsed.watermark_image_id == "a1b2c3"  # resolved: the signature vouches for it
    assert parsed.hash == minted.hash


def test_expiry_takes_ascii_digits_only() -> None:
    # Found by the property tests: "¹" is a digit to str.isdigit() but not to int() (a 500).
    with pytest.raises(InvalidInput):
        parse_options("w_10,exp_¹")


def test_presets_expand_first_and_the_urls_own_options_override_them() -> None:
    assert preset_names("w_10,wt_dGV4dA") == ()  # a watermark's text is no preset
    assert preset_names("w_10,t_a,f_auto,t_b") == ("a", "b")
    presets = {"a": "w_200,h_200,c_cover,g_auto,f_auto", "b": "q_75,e_sepia"}
    text = expand_presets("w_300,t_a,g_center,f_png,t_b", presets)
    assert text == "w_200,h_200,c_cover,g_auto,f_auto,q_75,e_sepia,w_300,g_center,f_png"
    parsed = parse_options(text, accept="image/webp")
    assert parsed.spec == parse_spec(
        {"resize": {"width": 300, "height": 200}, "filter": "sepia", "quality": 75, "format": "png"}
    )  # g_center took the preset's gravity back to the default, f_png its f_auto
    assert not parsed.auto_format
    assert expand_presets("t_a", {"a": "w_1"}) == "w_1"
    with pytest.raises(InvalidInput, match="Preset 't_a'"):
        parse_options("t_a")  # never reaches the parser unexpanded


LONG = "9" * 5000  # past int()'s 4300-digit limit on strings


@pytest.mark.parametrize(
    "parse",
    [
        lambda: parse_options(f"w_{LONG}"),
        lambda: parse_options(f"q_{LONG}"),
        lambda: parse_options(f"cr_{LONG}:1:1:1"),
        lambda: parse_options(f"w_auto:{LONG}"),
        lambda: parse_options(f"w_-{LONG}"),
        lambda: parse_spec({"resize": f"{LONG}x"}),
        lambda: parse_spec({"resize": {"width": LONG}}),
    ],
)
def test_numbers_of_any_length_are_4xx_not_crashes(parse: Any) -> None:
    with pytest.raises((Unprocessable, InvalidInput)):
        parse()


def test_long_numbers_with_leading_zeros_are_read() -> None:
    spec = parse_options("w_" + "0" * 5000 + "5").spec
    assert spec is not None and spec.resize is not None and spec.resize.width == 5
