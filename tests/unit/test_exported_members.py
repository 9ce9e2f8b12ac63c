"""The public face is curated: everything exported is listed, everything listed exists."""

from __future__ import annotations

import types

import pytest

import revkv
import revkv.prevalence
import revkv.testing

TYPING_HELPERS = {"annotations", "Any", "Literal", "TypeVar", "Path", "T", "TYPE_CHECKING"}


@pytest.mark.parametrize("module", [revkv, revkv.prevalence, revkv.testing])
def test_all_lists_exactly_the_public_names(module: types.ModuleType) -> None:
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - TYPING_HELPERS == set(module.__all__) - {"__version__"}
    assert all(hasattr(module, name) for name in module.__all__)
