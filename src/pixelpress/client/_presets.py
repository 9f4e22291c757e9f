"""Operations on named presets (`t_{name}` in URLs), written once for both clients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pixelpress.client._descriptors import Endpoints, endpoint
from pixelpress.client._program import Program, path, query
from pixelpress.client.models import Preset, Presets


def _definition(
    options: str | None, transformations: Mapping[str, Any] | None, public: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {"public": public}
    if options is not None:
        body["options"] = options
    if transformations is not None:
        body["transformations"] = dict(transformations)
    return body


class PresetEndpoints(Endpoints):
    @endpoint
    def create_preset(
        self,
        name: str,
        options: str | None = None,
        *,
        transformations: Mapping[str, Any] | None = None,
        public: bool = False,
        is_global: bool = False,
    ) -> Program[Preset]:
        """A preset of yours: `options` in the URL grammar (`w_200,h_200,c_cover`) or
        `transformations` as a JSON spec. `public`: usable in URLs without a signature;
        `is_global`: for everyone (admins only)."""
        body = _definition(options, transformations, public) | {"name": name}
        if is_global:
            body["global"] = True
        return self._core.call(Preset, "POST", "/presets", json=body)

    @endpoint
    def list_presets(self) -> Program[list[Preset]]:
        """Yours and the global ones."""
        listed = yield from self._core.call(Presets, "GET", "/presets")
        return list(listed.items)

    @endpoint
    def get_preset(self, name: str, *, is_global: bool = False) -> Program[Preset]:
        """Yours of that name, else the global one (`is_global`: the global one)."""
        params = query({"global": is_global or None})
        return self._core.call(Preset, "GET", path("presets", name), params=params)

    @endpoint
    def update_preset(
        self,
        name: str,
        options: str | None = None,
        *,
        transformations: Mapping[str, Any] | None = None,
        public: bool = False,
        is_global: bool = False,
    ) -> Program[Preset]:
        """Redefines a preset; new options purge what the old ones made."""
        params = query({"global": is_global or None})
        body = _definition(options, transformations, public)
        return self._core.call(Preset, "PUT", path("presets", name), params=params, json=body)

    @endpoint
    def delete_preset(self, name: str, *, is_global: bool = False) -> Program[None]:
        """Deletes a preset and what it made."""
        suffix = "?global=true" if is_global else ""
        return self._core.call_empty("DELETE", path("presets", name) + suffix)
