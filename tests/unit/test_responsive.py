"""Responsive images in the grammars: `dpr` multiplies the edges when parsed (so equivalent
specs share a hash), `dpr_auto` and `w_auto` read quantised client hints."""

from __future__ import annotations

import pytest

from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.limits import ImageLimits
from pixelpress.domain.spec import (
    WIDTH_STEPS,
    Hint,
    hinted_dpr,
    hinted_width,
    parse_options,
    parse_query,
    parse_spec,
    to_options,
    vary_headers,
)


def edges(options: str, **hints: float | int | None) -> tuple[int | None, int | None]:
    spec = parse_options(options, **hints).spec  # type: ignore[arg-type]
    assert spec is not None and spec.resize is not None
    return spec.resize.width, spec.resize.height


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1.0), ("2", 2.0), ("1.5", 1.5), ("2.625", 3.0), ("1.01", 1.5), ("1.001", 1.0),
     ("0.75", 1.0), ("9", 4.0), (" 3 ", 3.0), ("", None), ("0", None), ("-2", None),
     ("abc", None), ("nan", None), ("1e3", None), ("9" * 5000, 4.0), ("0." + "0" * 5000, None)],
)  # fmt: skip
def test_a_dpr_hint_is_clamped_and_rounded_up_to_a_half(text: str, expected: float | None) -> None:
    assert hinted_dpr(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 100), ("100", 100), ("101", 200), ("375", 480), ("1024", 1024), ("1025", 1280),
     ("2560", 2560), ("4000", 2560), ("", None), ("0", None), ("-5", None), ("12.5", None),
     ("٣٠٠", None), ("9" * 5000, 2560), ("-" + "9" * 5000, None), ("0" * 5000 + "300", 320),
     ("0" * 5000, None)],
)  # fmt: skip
def test_a_width_hint_is_rounded_up_to_a_step(text: str, expected: int | None) -> None:
    assert hinted_width(text) == expected
    if expected is not None:
        assert expected in WIDTH_STEPS


def test_dpr_multiplies_both_edges_and_shares_the_hash_of_the_product() -> None:
    doubled = parse_options("w_400,h_300,c_cover,dpr_2").spec
    plain = parse_options("w_800,h_600,c_cover").spec
    assert doubled == plain
    assert doubled is not None and plain is not None and doubled.hash == plain.hash
    assert edges("w_333,dpr_1.5") == (500, None)  # 499.5 rounds half up
    assert edges("h_100,dpr_1") == (None, 100)


def test_json_and_query_take_dpr_too() -> None:
    json_spec = parse_spec({"resize": {"width": 400}, "dpr": 2.5})
    query_spec = parse_query({"width": "400", "dpr": "2.5"})
    assert json_spec == query_spec == parse_spec({"resize": "1000x"})
    assert parse_spec({"transformations": {"resize": "x10", "dpr": 4}}).resize is not None


def test_dpr_never_pushes_an_edge_past_the_limit() -> None:
    limits = ImageLimits(max_edge=1000)
    spec = parse_options("w_800,h_400,dpr_4", limits=limits).spec
    assert spec is not None and spec.resize is not None
    assert (spec.resize.width, spec.resize.height) == (1000, 500)  # the factor lowered to 1.25
    spec = parse_spec({"resize": "1000x", "dpr": 3}, limits=limits)
    assert spec.resize is not None and spec.resize.width == 1000


@pytest.mark.parametrize(
    ("options", "error", "field"),
    [
        ("w_400,dpr_5", Unprocessable, "dpr"),
        ("w_400,dpr_0.5", Unprocessable, "dpr"),
        ("w_400,dpr_x", InvalidInput, "dpr"),
        ("w_400,dpr_", InvalidInput, "options"),
        ("dpr_2", Unprocessable, "dpr"),
        ("dpr_auto", Unprocessable, "dpr"),
        ("dpr_2,f_webp", Unprocessable, "dpr"),
        ("w_auto:0", Unprocessable, "width"),
        ("w_auto:abc", InvalidInput, "width"),
        ("w_auto:99999", Unprocessable, "width"),
    ],
)
def test_bad_dpr_and_w_auto_options_are_refused(
    options: str, error: type[Exception], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_options(options)
    assert type(caught.value) is error
    assert caught.value.details[0]["field"] == field


@pytest.mark.parametrize(
    "payload", [{"resize": "400x", "dpr": 0}, {"resize": "400x", "dpr": True},
                {"resize": "400x", "dpr": "2"}, {"format": "webp", "dpr": 2}],
)  # fmt: skip
def test_bad_json_dpr_is_refused(payload: dict[str, object]) -> None:
    with pytest.raises((InvalidInput, Unprocessable)):
        parse_spec(payload)


def test_dpr_auto_follows_the_hint_and_is_one_without() -> None:
    assert edges("w_400,h_300,c_cover,dpr_auto") == (400, 300)
    assert edges("w_400,h_300,c_cover,dpr_auto", dpr=2.0) == (800, 600)
    parsed = parse_options("w_400,dpr_auto", dpr=1.5)
    assert parsed.hints == (Hint.DPR,)
    assert parse_options("w_400,dpr_2").hints == ()


def test_w_auto_takes_the_hinted_width_else_its_fallback() -> None:
    assert edges("w_auto", width=640) == (640, None)
    assert edges("w_auto") == (1024, None)
    assert edges("w_auto:500") == (500, None)
    assert edges("w_auto:500,h_300,c_cover", width=1280) == (1280, 300)
    assert parse_options("w_auto,f_auto").hints == (Hint.WIDTH,)


def test_a_hinted_width_is_physical_but_the_fallback_and_height_scale_with_dpr() -> None:
    hinted = "w_auto:300,h_200,c_cover,dpr_auto"
    assert edges(hinted, width=800, dpr=2.0) == (800, 400)
    assert edges(hinted, dpr=2.0) == (600, 400)
    assert parse_options(hinted).hints == (Hint.DPR, Hint.WIDTH)


def test_to_options_writes_the_hints_back() -> None:
    spec = parse_spec({"resize": {"width": 400, "height": 300}})
    written = to_options(spec.canonical(), auto_dpr=True, auto_width=True, auto=True)
    assert written == "w_auto:400,h_300,c_cover,dpr_auto,f_auto"
    again = parse_options(written, dpr=2.0, width=1024, accept="image/webp")
    assert again.spec is not None and again.spec.resize is not None
    assert (again.spec.resize.width, again.spec.resize.height) == (1024, 600)
    assert to_options(None, auto_width=True) == "w_auto"
    only_format = parse_spec({"format": "webp"}).canonical()
    with pytest.raises(Unprocessable):
        to_options(only_format, auto_dpr=True)


def test_vary_names_the_headers_of_each_hint() -> None:
    assert vary_headers((Hint.DPR, Hint.WIDTH)) == ("Sec-CH-DPR", "DPR", "Sec-CH-Width", "Width")
    assert vary_headers(()) == ()
