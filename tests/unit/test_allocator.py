from __future__ import annotations

import platform

import pytest

from pixelpress import allocator


@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the tuning is glibc's; elsewhere it does nothing"
)
def test_glibc_takes_the_settings() -> None:
    # The effect (an upload-heavy server's peak and settled memory) is measured in bench/.
    assert allocator.tune() is True
