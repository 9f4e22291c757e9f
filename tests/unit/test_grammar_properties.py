"""Properties of the three spec grammars over generated input: whatever arrives, the parsers
answer a spec or a domain error (a 4xx), never anything else (a 500); and a URL made from a
spec parses back to the same hash."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pixelpress.domain import signing
from pixelpress.domain.errors import DomainError
from pixelpress.domain.spec import parse_options, parse_query, parse_spec, to_options

KEYS = ["w", "h", "c", "g", "r", "fl", "e", "q", "f", "exp", "cr", "wt", "wi", "wp", "wo", "x"]
VALUES = st.one_of(
    st.integers(-5, 100_000).map(str),
    st.sampled_from(
        ["cover", "contain", "north_east", "auto", "top-left", "h", "v", "blur:3", "sepia",
         "webp", "jpeg", "bmp", "auto", "1:2:3:4", "0:0:10:10", "wqkgbWU", "0.5", "", "!!"]
    ),
    st.text(max_size=12),
)  # fmt: skip
OPTION = st.builds(lambda k, v: f"{k}_{v}", st.sampled_from(KEYS), VALUES)
OPTIONS = st.one_of(
    st.lists(OPTION, max_size=8).map(",".join),
    st.text(max_size=60),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 100_000),
    st.integers(),  # JSON numbers have no bound: 10**400 must not overflow a float()
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
JSON_KEYS = [
    "resize", "crop", "rotate", "flip", "mirror", "filters", "filter", "watermark", "format",
    "quality", "compress", "width", "height", "fit", "gravity", "x", "y", "text", "image",
    "position", "opacity", "blur", "grayscale", "transformations",
]  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(JSON_KEYS), inner, max_size=5),
    ),
    max_leaves=12,
)


def parses_or_refuses(parse: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return parse(*args, **kwargs)
    except DomainError:
        return None


@given(OPTIONS, st.sampled_from(["", "webp", "png", "bmp"]))
def test_any_url_options_parse_or_are_refused(options: str, ext: str) -> None:
    parsed = parses_or_refuses(parse_options, options, ext=ext or None, accept="image/avif")
    if parsed is not None and parsed.spec is not None:
        # What parses has a URL form that parses back to the same spec (a minted URL works).
        again = parse_options(to_options(parsed.spec.canonical())).spec
        assert again is not None
        assert again.hash == parsed.spec.hash


@given(st.dictionaries(st.sampled_from(
    ["crop", "width", "height", "fit", "gravity", "rotate", "flip", "quality", "compress",
     "blur", "grayscale", "watermarkText", "watermarkPosition", "watermarkOpacity", "other"]
), st.text(max_size=12), max_size=6))  # fmt: skip
def test_any_query_parameters_parse_or_are_refused(params: dict[str, str]) -> None:
    parses_or_refuses(parse_query, params)


@given(JSON)
def test_any_json_parses_or_is_refused(payload: object) -> None:
    spec = parses_or_refuses(parse_spec, payload)
    if spec is not None:
        assert parse_spec(spec.canonical()).hash == spec.hash


@given(st.text(max_size=40), st.text(max_size=40))
def test_any_signature_is_checked_not_raised(path: str, signature: str) -> None:
    # compare_digest raises on non-ASCII strings: a signature from a URL must be a False.
    assert signing.verify_url(["key-one", "key-two"], path, signature) in (True, False)
    assert signing.verify("secret", path, 2**40, signature, now=0) in (True, False)
    assert signing.equal(signature, signature)
