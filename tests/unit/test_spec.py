from __future__ import annotations

import re
from typing import Any

import pytest

from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec import (
    Fit,
    OutputFormat,
    Position,
    Resize,
    parse_canonical,
    parse_query,
    parse_spec,
    plan,
    resize_geometry,
    rotated_size,
)

LIMITS = ImageLimits()


def test_three_forms_share_one_canonical_spec_and_hash() -> None:
    full = parse_spec(
        {
            "transformations": {
                "resize": {"width": 800, "height": 600, "fit": "cover"},
                "rotate": 90,
                "filters": {"grayscale": True},
                "format": "jpeg",
                "quality": 80,
            }
        }
    )
    short = parse_spec(
        {"resize": "800x600", "rotate": 90, "filter": "grayscale", "format": "jpg",
         "quality": 80}
    )  # fmt: skip
    query = parse_query(
        {"width": "800", "height": "600", "rotate": "450", "grayscale": "true", "format": "jpeg",
         "quality": "80"}
    )  # fmt: skip
    assert full == short == query
    assert full.hash == short.hash == query.hash
    assert re.fullmatch(r"[0-9a-f]{32}", full.hash)
    assert full.canonical() == {
        "resize": {"width": 800, "height": 600, "fit": "cover"},
        "rotate": 90,
        "filters": {"grayscale": True},
        "format": "jpeg",
        "quality": 80,
    }
    assert list(full.canonical()) == ["resize", "rotate", "filters", "format", "quality"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"rotate": 450}, {"rotate": 90}),
        ({"rotate": -90}, {"rotate": 270}),
        ({"rotate": 90.0}, {"rotate": 90}),
        ({"rotate": 360, "format": "jpeg"}, {"format": "jpeg", "flip": False}),
        ({"rotate": 30.00001}, {"rotate": 30}),
        ({"compress": True, "format": "jpeg"}, {"quality": 60, "format": "jpeg"}),
        ({"compress": True, "format": "avif"}, {"quality": 45, "format": "avif"}),
        ({"compress": 70}, {"quality": 70}),
        ({"compress": True, "quality": 70}, {"quality": 70}),  # an explicit quality wins
        ({"format": "gif", "quality": 50}, {"format": "gif"}),  # GIF has no quality
        ({"filter": ["sepia", "grayscale"]}, {"filters": {"grayscale": True, "sepia": True}}),
        ({"filter": "blur:3"}, {"filters": {"blur": 3.0}}),
        ({"filter": "blur"}, {"filters": {"blur": True}}),
        ({"resize": "800x"}, {"resize": {"width": 800}}),
        ({"resize": "800x600"}, {"resize": {"width": 800, "height": 600, "fit": "cover"}}),
        ({"resize": {"width": 800, "fit": "fill"}}, {"resize": {"width": 800}}),  # fit needs both
        ({"rotate": 90, "format": "webp"}, {"format": "webp", "rotate": 90}),
        ({"watermark": {"text": "hi"}},
         {"watermark": {"text": "hi", "position": "bottom-right", "opacity": 0.5}}),
        ({"watermark": "logo.png"}, {"watermark": {"image": "logo.png"}}),
        ({"flip": True, "mirror": None}, {"flip": True}),  # null means "not given"
    ],
)  # fmt: skip
def test_equivalent_specs_share_a_hash(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert parse_spec(a) == parse_spec(b)
    assert parse_spec(a).hash == parse_spec(b).hash


def test_different_specs_differ() -> None:
    specs: list[dict[str, Any]] = [
        {"rotate": 90},
        {"rotate": 91},
        {"rotate": 90.5},
        {"resize": "800x"},
        {"resize": "x800"},
        {"resize": "800x800"},
        {"resize": {"width": 800, "height": 800, "fit": "contain"}},
        {"resize": {"width": 800, "height": 800, "fit": "inside"}},
        {"flip": True},
        {"mirror": True},
        {"format": "png"},
        {"compress": True},
        {"quality": 60},
        {"watermark": {"text": "hi"}},
        {"watermark": {"text": "hi", "opacity": 0.6}},
        {"watermark": {"text": "hi", "position": "top"}},
    ]
    assert len({parse_spec(s).hash for s in specs}) == len(specs)


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
    again = parse_canonical(spec.canonical())
    assert again == spec
    assert again.hash == spec.hash
    assert spec.resize == Resize(20, 10, Fit.INSIDE)
    assert spec.watermark is not None
    assert spec.watermark.position is Position.TOP_LEFT
    assert spec.format is OutputFormat.AVIF
    unformatted = parse_spec({"compress": True})
    assert parse_canonical(unformatted.canonical()) == unformatted


def test_stored_specs_load_whatever_the_current_edge_limit() -> None:
    big = parse_spec({"resize": "20000x"}, limits=ImageLimits(max_edge=30_000))
    assert parse_canonical(big.canonical()) == big
    with pytest.raises(Unprocessable):
        parse_spec({"resize": "20000x"})


def test_watermark_references_resolve_to_an_id() -> None:
    spec = parse_spec({"watermark": "logo.png"})
    assert spec.watermark_ref == "logo.png"
    assert spec.watermark_image_id is None
    resolved = spec.with_watermark_image("abc123")
    assert resolved.watermark_ref is None
    assert resolved.watermark_image_id == "abc123"
    assert resolved.canonical()["watermark"] == {
        "image": "abc123",
        "position": "bottom-right",
        "opacity": 0.5,
    }
    restored = parse_canonical(resolved.canonical())
    assert restored == resolved
    assert restored.watermark_image_id == "abc123"
    assert restored.hash == resolved.hash != spec.hash
    assert parse_spec({"watermark": {"text": "x"}}).watermark_ref is None
    with pytest.raises(ValueError, match="no image watermark"):
        parse_spec({"rotate": 1}).with_watermark_image("abc")


def test_output_format_and_quality_defaults() -> None:
    plain = parse_spec({"rotate": 90})
    assert plain.output_format("png") is OutputFormat.PNG
    assert plain.output_format("tiff") is OutputFormat.JPEG
    assert plain.quality_for(OutputFormat.JPEG) == 82
    assert plain.quality_for(OutputFormat.PNG) is None  # lossless
    compressed = parse_spec({"compress": True})
    assert compressed.quality_for(OutputFormat.WEBP) == 60
    assert compressed.quality_for(OutputFormat.AVIF) == 45
    assert compressed.quality_for(OutputFormat.GIF) is None


@pytest.mark.parametrize(
    ("payload", "error", "field"),
    [
        ({"transformations": {"explode": True}}, InvalidInput, "transformations.explode"),
        ({"transformations": {"resize": {"width": 1, "foo": 2}}}, InvalidInput,
         "transformations.resize.foo"),
        ({"resize": {"width": 10, "depth": 3}}, InvalidInput, "resize.depth"),
        ({"resize": {"width": "wide"}}, InvalidInput, "resize.width"),
        ({"resize": {"width": True}}, InvalidInput, "resize.width"),  # a bool is not an int
        ({"resize": {"width": 10.5}}, InvalidInput, "resize.width"),
        ({"resize": {"width": 0}}, Unprocessable, "resize.width"),
        ({"resize": {"width": -5}}, Unprocessable, "resize.width"),
        ({"resize": {"width": 12_001}}, Unprocessable, "resize.width"),
        ({"resize": "0x10"}, Unprocessable, "resize.width"),
        ({"resize": {}}, Unprocessable, "resize"),
        ({"resize": "axb"}, InvalidInput, "resize.width"),
        ({"resize": 800}, InvalidInput, "resize"),
        ({"resize": {"width": 5, "height": 5, "fit": "squash"}}, Unprocessable, "resize.fit"),
        ({"crop": {"x": 0, "y": 0, "width": 10}}, InvalidInput, "crop.height"),
        ({"crop": {"x": 0, "y": 0, "width": 0, "height": 5}}, Unprocessable, "crop.width"),
        ({"crop": {"x": False, "y": 0, "width": 1, "height": 5}}, InvalidInput, "crop.x"),
        ({"crop": {"x": -1, "y": 0, "width": 1, "height": 5}}, Unprocessable, "crop.x"),
        ({"rotate": "left"}, InvalidInput, "rotate"),
        ({"rotate": True}, InvalidInput, "rotate"),
        ({"rotate": float("nan")}, InvalidInput, "rotate"),
        ({"flip": "yes"}, InvalidInput, "flip"),  # JSON booleans are JSON true/false
        ({"mirror": 1}, InvalidInput, "mirror"),
        ({"filters": {"blur": 0}}, Unprocessable, "filters.blur"),
        ({"filters": {"blur": -1}}, Unprocessable, "filters.blur"),
        ({"filters": {"blur": 101}}, Unprocessable, "filters.blur"),
        ({"filters": {"grayscale": "true"}}, InvalidInput, "filters.grayscale"),
        ({"filters": {"glow": True}}, InvalidInput, "filters.glow"),
        ({"filter": "glow"}, InvalidInput, "filter"),
        ({"filter": "blur:0"}, Unprocessable, "filter"),
        ({"filter": 3}, InvalidInput, "filter"),
        ({"watermark": {"text": "x" * 201}}, Unprocessable, "watermark.text"),
        ({"watermark": {"text": "  "}}, Unprocessable, "watermark.text"),
        ({"watermark": {"text": "a\x00b"}}, InvalidInput, "watermark.text"),
        ({"watermark": {"text": "a\ud800"}}, InvalidInput, "watermark.text"),
        ({"watermark": {"text": "a\tb"}}, Unprocessable, "watermark.text"),
        ({"watermark": "logo\udc00.png"}, InvalidInput, "watermark"),
        ({"format": "JPEG "}, Unprocessable, "format"),  # nothing is trimmed
        ({"format": "JPEG"}, Unprocessable, "format"),  # nor case-folded
        ({"resize": {"width": 10, "height": 10, "fit": " cover"}}, Unprocessable, "resize.fit"),
        ({"resize": " 800x"}, InvalidInput, "resize.width"),
        ({"resize": "800X600"}, InvalidInput, "resize.width"),
        ({"resize": "\uff18\uff10\uff10x"}, InvalidInput, "resize.width"),  # full-width digits
        ({"rotate": "90"}, InvalidInput, "rotate"),  # JSON numbers are JSON numbers
        ({"quality": "80"}, InvalidInput, "quality"),
        ({"filter": " grayscale"}, InvalidInput, "filter"),
        ({"filter": "Sepia"}, InvalidInput, "filter"),
        ({"watermark": {"text": 5}}, InvalidInput, "watermark.text"),
        ({"watermark": {"text": "a", "image": "b"}}, InvalidInput, "watermark"),
        ({"watermark": {"opacity": 0.3}}, InvalidInput, "watermark"),
        ({"watermark": {"text": "a", "opacity": 1.5}}, Unprocessable, "watermark.opacity"),
        ({"watermark": {"text": "a", "opacity": True}}, InvalidInput, "watermark.opacity"),
        ({"watermark": {"text": "a", "position": "middle"}}, Unprocessable, "watermark.position"),
        ({"watermark": {"text": "a", "imageId": "x"}}, InvalidInput, "watermark.imageId"),
        ({"watermark": "x" * 256}, Unprocessable, "watermark"),
        ({"format": "bmp"}, Unprocessable, "format"),
        ({"format": 3}, InvalidInput, "format"),
        ({"quality": 101}, Unprocessable, "quality"),
        ({"quality": 0}, Unprocessable, "quality"),
        ({"quality": True}, InvalidInput, "quality"),
        ({"compress": "yes"}, InvalidInput, "compress"),
        ({"compress": 0}, Unprocessable, "compress"),
        ({"compress": 50, "quality": 60}, Unprocessable, "compress"),
        ({}, Unprocessable, "transformations"),
        ({"flip": False}, Unprocessable, "transformations"),  # nothing left to do
        ({"transformations": {}}, Unprocessable, "transformations"),
        ({"transformations": []}, InvalidInput, "transformations"),
        ({"transformations": {"flip": True}, "extra": 1}, InvalidInput, "transformations"),
    ],
)  # fmt: skip
def test_bad_specs_name_the_field(
    payload: dict[str, Any], error: type[InvalidInput], field: str
) -> None:
    with pytest.raises(error) as caught:
        parse_spec(payload)
    assert type(caught.value) is error
    assert caught.value.code == "invalid_spec"
    details = caught.value.details
    assert details[0]["field"] == field
    assert details[0]["message"] == caught.value.message


def test_non_objects_are_refused() -> None:
    for payload in (None, [], "resize=10", 3):
        with pytest.raises(InvalidInput) as caught:
            parse_spec(payload)
        assert caught.value.details[0]["field"] == "transformations"


def test_query_parameters() -> None:
    spec = parse_query(
        {"width": "300", "fit": "contain", "height": "200", "flip": "yes", "mirror": "0",
         "blur": "1.25", "compress": "1", "watermarkText": "© me", "watermarkPosition": "top",
         "watermarkOpacity": "0.8", "sig": "abc"},
        ignore={"sig"},
    )  # fmt: skip
    assert spec == parse_spec(
        {"resize": {"width": 300, "height": 200, "fit": "contain"}, "flip": True,
         "filters": {"blur": 1.25}, "compress": True,
         "watermark": {"text": "© me", "position": "top", "opacity": 0.8}}
    )  # fmt: skip
    assert parse_query({"compress": "70"}) == parse_spec({"quality": 70})
    assert parse_query({"blur": "true"}) == parse_spec({"filter": "blur"})


@pytest.mark.parametrize(
    ("params", "error", "field"),
    [
        ({"width": "10", "colour": "red"}, InvalidInput, "colour"),
        ({"sig": "abc", "flip": "1"}, InvalidInput, "sig"),  # not ignored unless said so
        ({"width": "0"}, Unprocessable, "width"),
        ({"width": "ten"}, InvalidInput, "width"),
        ({"height": "12001"}, Unprocessable, "height"),
        ({"flip": "maybe"}, InvalidInput, "flip"),
        ({"fit": "cover"}, Unprocessable, "fit"),
        ({"blur": "0"}, Unprocessable, "blur"),
        ({"quality": "101"}, Unprocessable, "quality"),
        ({"watermarkPosition": "top"}, Unprocessable, "watermarkPosition"),
        ({"watermarkText": "x", "watermarkOpacity": "2"}, Unprocessable, "watermarkOpacity"),
        ({"grayscale": "false"}, Unprocessable, "transformations"),
        ({"width": " 10"}, InvalidInput, "width"),  # nothing is trimmed
        ({"width": "1_0"}, InvalidInput, "width"),  # int() would take it
        ({"width": "+10"}, InvalidInput, "width"),
        ({"width": "\u0661\u0660"}, InvalidInput, "width"),  # Arabic-Indic digits
        ({"rotate": "9 0"}, InvalidInput, "rotate"),
        ({"flip": "TRUE"}, InvalidInput, "flip"),
        ({"format": "JPEG"}, Unprocessable, "format"),
        ({"format": "jpeg "}, Unprocessable, "format"),
        ({"watermarkText": "a\x00"}, InvalidInput, "watermarkText"),
        ({"watermarkImage": "\ud800"}, InvalidInput, "watermarkImage"),
    ],
)
def test_query_errors_name_the_parameter(
    params: dict[str, str], error: type[InvalidInput], field: str
) -> None:
    with pytest.raises(error) as caught:
        parse_query(params)
    assert type(caught.value) is error
    assert caught.value.details[0]["field"] == field


# --- plan -----------------------------------------------------------------------------------------


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
        ({"width": 1000, "height": 1000, "fit": "inside"}, (1000, 500)),  # enlarging is allowed
    ],
)
def test_plan_sizes_for_each_fit(resize: dict[str, Any], expected: tuple[int, int]) -> None:
    out = plan(
        parse_spec({"resize": resize}), width=400, height=200, source_format="png", limits=LIMITS
    )
    assert (out.width, out.height) == expected
    assert out.format is OutputFormat.PNG


def test_resize_geometry_scales_before_cropping_or_letterboxing() -> None:
    cover = resize_geometry(Resize(100, 100, Fit.COVER), 400, 200)
    assert (cover.scaled_width, cover.scaled_height, cover.width, cover.height) == (
        200,
        100,
        100,
        100,
    )
    contain = resize_geometry(Resize(100, 100, Fit.CONTAIN), 400, 200)
    assert (contain.scaled_width, contain.scaled_height) == (100, 50)
    odd = resize_geometry(Resize(33, None), 100, 50)
    assert (odd.width, odd.height) == (33, 17)  # 16.5 rounds half up, as libvips does


def test_plan_crop_rotate_and_format() -> None:
    crop = parse_spec({"crop": {"x": 10, "y": 10, "width": 50, "height": 20}, "rotate": 90})
    out = plan(crop, width=100, height=100, source_format="tiff", limits=LIMITS)
    assert (out.width, out.height, out.format) == (20, 50, OutputFormat.JPEG)
    tilted = plan(
        parse_spec({"rotate": 30}), width=100, height=50, source_format="jpeg", limits=LIMITS
    )
    assert (tilted.width, tilted.height) == (112, 93)
    assert rotated_size(100, 50, 180) == (100, 50)
    assert rotated_size(100, 50, 270) == (50, 100)
    assert rotated_size(64, 48, 200) == (77, 67)  # as libvips' own rotate makes it


def test_plan_refuses_crops_outside_the_image() -> None:
    with pytest.raises(Unprocessable) as caught:
        plan(parse_spec({"crop": {"x": 90, "y": 0, "width": 20, "height": 10}}),
             width=100, height=100, source_format="png", limits=LIMITS)  # fmt: skip
    assert caught.value.details[0]["field"] == "crop"
    assert caught.value.details[0]["image"] == {"width": 100, "height": 100}


def test_plan_limits_apply_to_the_whole_chain() -> None:
    small = ImageLimits(max_edge=1000, max_pixels=600_000)
    # within the limits after the resize, past them only after the rotation
    spec = parse_spec({"resize": {"width": 1000, "height": 500, "fit": "fill"}, "rotate": 45})
    with pytest.raises(Unprocessable) as caught:
        plan(spec, width=100, height=100, source_format="png", limits=small)
    assert caught.value.details[0] | {"message": ""} == {
        "field": "rotate", "message": "", "limit": 1000, "actual": 1061,
    }  # fmt: skip
    assert caught.value.code == "edge_too_long"
    with pytest.raises(Unprocessable) as caught:
        plan(parse_spec({"resize": "900x900"}), width=10, height=10, source_format="png",
             limits=small)  # fmt: skip
    assert caught.value.details[0]["field"] == "resize"
    assert caught.value.details[0]["limit"] == 600_000
    assert caught.value.code == "too_many_pixels"
    # cover of a very wide target scales a tall image past the edge limit before cropping
    with pytest.raises(Unprocessable) as caught:
        plan(parse_spec({"resize": "1000x10"}), width=10, height=100, source_format="png",
             limits=small)  # fmt: skip
    assert caught.value.details[0]["field"] == "resize"
    assert caught.value.code == "edge_too_long"


def test_gravity_in_every_form() -> None:
    wanted = {"resize": {"width": 300, "height": 200, "fit": "cover", "gravity": "bottom-left"}}
    forms = [
        parse_spec({"resize": {"width": 300, "height": 200, "gravity": "south_west"}}),
        parse_spec({"resize": {"width": 300, "height": 200, "gravity": "bottom-left"}}),
        parse_query({"width": "300", "height": "200", "gravity": "south-west"}),
    ]
    assert {f.hash for f in forms} == {forms[0].hash}
    assert forms[0].canonical() == wanted
    assert parse_spec({"resize": "300x200"}).canonical() == {
        "resize": {"width": 300, "height": 200, "fit": "cover"}
    }
    moot = parse_spec({"resize": {"width": 300, "gravity": "top"}})  # nothing is cut
    assert moot.canonical() == {"resize": {"width": 300}}
    with pytest.raises(Unprocessable) as bad:
        parse_spec({"resize": {"width": 3, "height": 2, "gravity": "up"}})
    assert bad.value.details[0]["field"] == "resize.gravity"
    with pytest.raises(Unprocessable) as alone:
        parse_query({"gravity": "top"})
    assert alone.value.details[0]["field"] == "gravity"


def test_crop_as_a_query_parameter() -> None:
    wanted = parse_spec({"crop": {"x": 10, "y": 20, "width": 30, "height": 40}})
    assert parse_query({"crop": "10:20:30:40"}) == wanted
    assert parse_query({"crop": "10,20,30,40"}).hash == wanted.hash
    for bad, error in (("10:20:30", InvalidInput), ("a:b:c:d", InvalidInput),
                       ("0:0:0:5", Unprocessable)):  # fmt: skip
        with pytest.raises(error):
            parse_query({"crop": bad})


def test_huge_numbers_are_out_of_bounds_not_an_overflow() -> None:
    # Found by fuzzing the API: a JSON integer past a float's range (a 500 before).
    for payload in ({"rotate": 10**400}, {"filters": {"blur": -(10**400)}}, {"quality": 10**400}):
        with pytest.raises(Unprocessable):
            parse_spec(payload)
