"""revkv.broker's public face: everything exported is listed, everything listed exists."""

from __future__ import annotations

import types

import revkv.broker


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(revkv.broker).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - {"annotations"} == set(revkv.broker.__all__)
    assert revkv.broker.__all__ == sorted(revkv.broker.__all__)
    for name in ("BrokerServer", "BrokerClient", "BaseObj", "BrokeredInfo", "Field", "Ref",
                 "BackRef", "Callable", "exported", "SQLLoader", "session_wrapper",
                 "with_session", "Main"):  # fmt: skip
        assert name in revkv.broker.__all__
