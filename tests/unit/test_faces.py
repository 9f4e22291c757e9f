"""Face gravity in the spec's grammars, and the geometry of a face-aware cover crop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixelpress.domain.faces import Box, Faces, Focus, cover_offsets, wants_faces
from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec import Crop, Gravity, parse_query, parse_spec
from pixelpress.domain.spec.url import parse_options

LIMITS = ImageLimits()


@pytest.mark.parametrize("name", ["face", "faces"])
def test_face_gravity_reads_alike_in_json_query_and_url(name: str) -> None:
    from_json = parse_spec({"resize": {"width": 200, "height": 300, "gravity": name}})
    from_query = parse_query({"width": "200", "height": "300", "gravity": name})
    from_url = parse_options(f"w_200,h_300,g_{name}", limits=LIMITS).spec
    assert from_json == from_query == from_url
    assert from_json.resize is not None and from_json.resize.gravity is Gravity(name)
    assert from_json.canonical()["resize"]["gravity"] == name
    assert wants_faces(from_json)
    assert from_json.hash != parse_spec({"resize": "200x300"}).hash


def test_face_gravity_is_dropped_where_nothing_is_cut() -> None:
    one_edge = parse_spec({"resize": {"width": 200, "gravity": "face"}})
    assert one_edge.resize is not None and one_edge.resize.gravity is Gravity.CENTER
    contain = parse_spec({"resize": {"width": 200, "height": 300, "fit": "contain",
                                     "gravity": "face"}})  # fmt: skip
    assert contain.resize is not None and contain.resize.gravity is Gravity.CENTER
    assert not wants_faces(contain)
    assert not wants_faces(parse_spec({"resize": {"width": 200, "height": 300}}))


def test_face_picks_the_largest_and_faces_the_box_around_all() -> None:
    faces = Faces(1000, 500, (Box(600, 100, 200, 200), Box(100, 50, 50, 50)))
    assert faces.focus(Gravity.FACE) == Focus(0.6, 0.2, 0.8, 0.6)
    assert faces.focus(Gravity.FACES) == Focus(0.1, 0.1, 0.8, 0.6)
    assert faces.focus(Gravity.AUTO) is None
    assert Faces(1000, 500).focus(Gravity.FACE) is None


def test_faces_scale_and_survive_the_cache() -> None:
    faces = Faces(500, 250, (Box(100, 50, 40, 20),))
    assert faces.scaled_to(2000, 1000) == Faces(2000, 1000, (Box(400, 200, 160, 80),))
    assert Faces.load(faces.dump()) == faces
    with pytest.raises((ValueError, KeyError, TypeError)):
        Faces.load(b'{"width": 1}')


def test_a_focus_is_re_expressed_in_a_crop_or_lost_outside_it() -> None:
    focus = Focus(0.5, 0.5, 0.6, 0.6)  # pixels 500..600 of a 1000 x 1000 picture
    assert focus.within(None, 1000, 1000) is focus
    assert focus.within(Crop(400, 400, 400, 400), 1000, 1000) == Focus(0.25, 0.25, 0.5, 0.5)
    assert focus.within(Crop(0, 0, 300, 300), 1000, 1000) is None


def test_the_crop_centres_on_the_focus_and_stays_inside() -> None:
    focus = Focus(0.8, 0.1, 0.9, 0.2)  # near the top-right corner
    assert cover_offsets(focus, 1000, 400, 400, 400) == (600, 0)
    assert cover_offsets(Focus(0.45, 0.4, 0.55, 0.6), 1000, 400, 400, 400) == (300, 0)
    assert cover_offsets(Focus(0.0, 0.0, 0.1, 0.1), 1000, 400, 400, 400) == (0, 0)


@given(
    st.integers(1, 3000),
    st.integers(1, 3000),
    st.floats(0.02, 1.0),
    st.floats(0.02, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.05, 1.0),
    st.floats(0.05, 1.0),
)
def test_a_region_that_fits_the_crop_is_inside_it(
    scaled_w: int, scaled_h: int, share_w: float, share_h: float,
    x: float, y: float, box_w: float, box_h: float,
) -> None:  # fmt: skip
    width, height = max(1, int(scaled_w * share_w)), max(1, int(scaled_h * share_h))
    left_f, top_f = x * (1 - box_w), y * (1 - box_h)
    focus = Focus(left_f, top_f, left_f + box_w, top_f + box_h)
    left, top = cover_offsets(focus, scaled_w, scaled_h, width, height)
    assert 0 <= left <= scaled_w - width and 0 <= top <= scaled_h - height
    # In pixels (one of slack for rounding), a region no larger than the crop lies inside it.
    if box_w * scaled_w <= width - 1:
        assert left <= focus.left * scaled_w + 1 and focus.right * scaled_w <= left + width + 1
    if box_h * scaled_h <= height - 1:
        assert top <= focus.top * scaled_h + 1 and focus.bottom * scaled_h <= top + height + 1
