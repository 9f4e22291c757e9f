from __future__ import annotations

from typing import Any

import pytest

from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec import (
    Fit,
    OutputFormat,
    Position,
    TransformSpec,
    parse_query,
    parse_spec,
    plan,
)

LIMITS = ImageLimits()


def test_three_forms_share_one_canonical_spec_and_hash() -> None:
    full = parse_spec(
        {
            "transformations": {
                "resize": {"width": 800, "height": 600, "fit": "cover"},
                "filters": {"grayscale": True},
                "format": "jpeg",
                "quality": 80,
            }
        }
    )
    short = parse_spec(
        {"resize": "800x600", "filter": "grayscale", "format": "jpg", "quality": "80"}
    )
    query = parse_query(
        {"width": "800", "height": "600", "grayscale": "true", "format": "jpeg", "quality": "80"}
    )
    assert full == short == query
    assert full.hash == short.hash == query.hash
    assert full.canonical() == {
        "resize": {"width": 800, "height": 600, "fit": "cover"},
        "filters": {"grayscale": True},
        "format": "jpeg",
        "quality": 80,
    }


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"rotate": 450}, {"rotate": 90}),
        ({"rotate": -90}, {"rotate": 270}),
        ({"rotate": 90.0}, {"rotate": "90"}),
        ({"compress": True}, {"quality": 60}),
        ({"filter": ["sepia", "grayscale"]}, {"filters": {"grayscale": True, "sepia": True}}),
        ({"filter": "blur:3"}, {"filters": {"blur": 3}}),
        ({"resize": "800x"}, {"resize": {"width": 800}}),
        ({"resize": {"width": 800, "fit": "fill"}}, {"resize": {"width": 800}}),  # fit needs both
        ({"rotate": 90, "format": "webp"}, {"format": "webp", "rotate": 90}),
        ({"watermark": {"text": "hi"}}, {"watermark": {"text": "hi", "position": "bottom-right"}}),
    ],
)
def test_equivalent_specs_share_a_hash(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert parse_spec(a).hash == parse_spec(b).hash


def test_different_specs_differ() -> None:
    hashes = {
        parse_spec(s).hash
        for s in [
            {"rotate": 90},
            {"rotate": 91},
            {"resize": "800x"},
            {"resize": "x800"},
            {"resize": {"width": 800, "height": 600, "fit": "contain"}},
            {"resize": {"width": 800, "height": 600, "fit": "inside"}},
            {"flip": True},
            {"mirror": True},
            {"format": "png"},
        ]
    }
    assert len(hashes) == 9


def test_canonical_round_trip() -> None:
    spec = parse_spec(
        {
            "crop": {"x": 1, "y": 2, "width": 30, "height": 40},
            "resize": {"width": 20, "height": 10, "fit": "inside"},
            "rotate": 33.5,
            "flip": True,
            "mirror": True,
            "filters": {"grayscale": True, "sepia": True, "blur": 1.5, "sharpen": True},
            "watermark": {"text": "© me", "position": "top-left", "opacity": 0.25},
            "format": "avif",
            "quality": 55,
        }
    )
    again = TransformSpec.from_canonical(spec.canonical())
    assert again == spec
    assert again.hash == spec.hash
    assert spec.resize is not None
    assert spec.resize.fit is Fit.INSIDE
    assert spec.watermark is not None
    assert spec.watermark.position is Position.TOP_LEFT
    assert spec.format is OutputFormat.AVIF


def test_watermark_references_resolve_to_an_id() -> None:
    spec = parse_spec({"watermark": "logo.png"})
    assert spec.watermark_ref == "logo.png"
    assert spec.watermark_image_id is None
    resolved = spec.with_watermark_image("abc123")
    assert resolved.watermark_ref is None
    assert resolved.watermark_image_id == "abc123"
    assert resolved.canonical()["watermark"]["image"] == "abc123"
    restored = TransformSpec.from_canonical(resolved.canonical())
    assert restored.watermark_image_id == "abc123"
    assert restored.hash == resolved.hash != spec.hash


@pytest.mark.parametrize(
    ("payload", "error", "field"),
    [
        ({"transformations": {"explode": True}}, InvalidInput, "transformations.explode"),
        ({"resize": {"width": 10, "depth": 3}}, InvalidInput, "resize.depth"),
        ({"resize": {"width": "wide"}}, InvalidInput, "resize.width"),
        ({"resize": {"width": True}}, InvalidInput, "resize.width"),  # a bool is not an int
        ({"resize": {"width": 0}}, Unprocessable, "resize.width"),
        ({"resize": {"width": -5}}, Unprocessable, "resize.width"),
        ({"resize": {"width": 100_000}}, Unprocessable, "resize.width"),
        ({"resize": {}}, Unprocessable, "resize"),
        ({"resize": "axb"}, InvalidInput, "resize.width"),
        ({"resize": {"width": 5, "height": 5, "fit": "squash"}}, Unprocessable, "resize.fit"),
        ({"crop": {"x": 0, "y": 0, "width": 10}}, InvalidInput, "crop.height"),
        ({"crop": {"x": 0, "y": 0, "width": 0, "height": 5}}, Unprocessable, "crop.width"),
        ({"rotate": "left"}, InvalidInput, "rotate"),
        ({"rotate": float("nan")}, InvalidInput, "rotate"),
        ({"flip": "yes"}, InvalidInput, "flip"),
        ({"filters": {"blur": 0}}, Unprocessable, "filters.blur"),
        ({"filters": {"blur": 1000}}, Unprocessable, "filters.blur"),
        ({"filters": {"glow": True}}, InvalidInput, "filters.glow"),
        ({"filter": "glow"}, Unprocessable, "filter"),
        ({"watermark": {"text": "x" * 201}}, Unprocessable, "watermark.text"),
        ({"watermark": {"text": "a", "image": "b"}}, InvalidInput, "watermark"),
        ({"watermark": {"text": "a", "opacity": 2}}, Unprocessable, "watermark.opacity"),
        ({"watermark": {"text": "a", "position": "middle"}}, Unprocessable, "watermark.position"),
        ({"format": "bmp"}, Unprocessable, "format"),
        ({"format": 3}, InvalidInput, "format"),
        ({"quality": 101}, Unprocessable, "quality"),
        ({"quality": 0}, Unprocessable, "quality"),
        ({}, Unprocessable, "transformations"),
        ({"transformations": {}}, Unprocessable, "transformations"),
        ({"transformations": []}, InvalidInput, "transformations"),
    ],
)
def test_bad_specs_name_the_field(
    payload: dict[str, Any], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as caught:
        parse_spec(payload)
    assert type(caught.value) is error
    details = caught.value.details  # type: ignore[attr-defined]
    assert details[0]["field"] == field
    assert details[0]["message"]


def test_query_errors() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_query({"width": "10", "colour": "red"})
    assert caught.value.details[0]["field"] == "colour"
    with pytest.raises(Unprocessable):
        parse_query({"width": "0"})
    with pytest.raises(InvalidInput):
        parse_query({"flip": "maybe"})
    with pytest.raises(Unprocessable):
        parse_query({"fit": "cover"})


@pytest.mark.parametrize(
    ("resize", "expected"),
    [
        ({"width": 200}, (200, 100)),
        ({"height": 50}, (100, 50)),
        ({"width": 100, "height": 100, "fit": "cover"}, (100, 100)),
        ({"width": 100, "height": 100, "fit": "contain"}, (100, 100)),
        ({"width": 100, "height": 100, "fit": "fill"}, (100, 100)),
        ({"width": 100, "height": 100, "fit": "inside"}, (100, 50)),
        ({"width": 100, "height": 100, "fit": "outside"}, (200, 100)),
    ],
)
def test_plan_sizes_for_each_fit(resize: dict[str, Any], expected: tuple[int, int]) -> None:
    out = plan(
        parse_spec({"resize": resize}), width=400, height=200, source_format="png", limits=LIMITS
    )
    assert (out.width, out.height) == expected
    assert out.format is OutputFormat.PNG


def test_plan_crop_rotate_and_format() -> None:
    crop = parse_spec({"crop": {"x": 10, "y": 10, "width": 50, "height": 20}, "rotate": 90})
    out = plan(crop, width=100, height=100, source_format="tiff", limits=LIMITS)
    assert (out.width, out.height, out.format) == (20, 50, OutputFormat.JPEG)
    tilted = plan(
        parse_spec({"rotate": 30}), width=100, height=50, source_format="jpeg", limits=LIMITS
    )
    assert (tilted.width, tilted.height) == (112, 93)


def test_plan_refuses_crops_outside_and_outputs_over_the_limits() -> None:
    with pytest.raises(Unprocessable) as caught:
        plan(parse_spec({"crop": {"x": 90, "y": 0, "width": 20, "height": 10}}),
             width=100, height=100, source_format="png", limits=LIMITS)  # fmt: skip
    assert caught.value.details[0]["field"] == "crop"
    small = ImageLimits(max_edge=1000, max_pixels=600_000)
    # within limits after the resize, past them only after the rotation: the whole chain counts
    spec = parse_spec({"resize": {"width": 1000, "height": 500, "fit": "fill"}, "rotate": 45})
    with pytest.raises(Unprocessable) as caught:
        plan(spec, width=100, height=100, source_format="png", limits=small)
    assert caught.value.details[0]["limit"] == 1000
    with pytest.raises(Unprocessable):
        plan(
            parse_spec({"resize": "900x900"}),
            width=10,
            height=10,
            source_format="png",
            limits=small,
        )
