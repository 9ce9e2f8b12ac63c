"""The public face is curated: everything exported is listed, everything listed exists."""

from __future__ import annotations

import types

import pytest

import revkv
import revkv.dripline
import revkv.http
import revkv.prevalence
import revkv.store
import revkv.testing

TYPING_HELPERS = {"annotations", "Any", "Literal", "TypeVar", "Path", "T", "TYPE_CHECKING"}


@pytest.mark.parametrize(
    "module", [revkv, revkv.dripline, revkv.http, revkv.prevalence, revkv.store, revkv.testing]
)
def test_all_lists_exactly_the_public_names(module: types.ModuleType) -> None:
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - TYPING_HELPERS == set(module.__all__) - {"__version__"}
    assert all(hasattr(module, name) for name in module.__all__)


def test_implementation_modules_are_private() -> None:
    """Users import the packages and `revkv.errors`; the modules behind them are `_name`
    (as httpx's), except the documented ones."""
    import pkgutil

    documented = {
        "revkv.errors", "revkv.store.base", "revkv.testing.conformance",
        "revkv.testing.stateful", "revkv.cli.__main__",
    }  # fmt: skip
    public = [
        info.name
        for info in pkgutil.walk_packages(revkv.__path__, "revkv.")
        if not info.ispkg and not any(p.startswith("_") for p in info.name.split("."))
    ]
    assert sorted(set(public) - documented) == []
