"""The json codec as DaBroker's 2014 client sends and reads it (reference §2.5)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from revkv.broker import _codec as codec
from tests.broker.guide import GuideServer, MyRoot, local_cfg, serve_guide


def LIST(*items: Any) -> dict[str, Any]:
    return {"_o": "LIST", "_d": list(items)}


def ref(*parts: Any, code: str | None = None, secret: str = "You really should change this") -> Any:
    from revkv.broker import access_code

    tagged: dict[str, Any] = {"_o": "Ref", "k": LIST(*parts)}
    if code != "":
        tagged["c"] = code or access_code(secret, parts)
    return tagged


@pytest.fixture
def served() -> Any:
    broker, root = serve_guide(local_cfg())
    yield broker, root
    broker.stop()


def ask(broker: GuideServer, message: Any) -> tuple[list[Any], dict[str, Any]]:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    broadcasts, reply = broker.handle(body)
    return [json.loads(b) for _, b in broadcasts], json.loads(reply)


def test_root_is_an_obj(served: tuple[GuideServer, MyRoot]) -> None:
    broker, _ = served
    _, reply = ask(broker, {"_m": "root"})
    assert reply["msgid"] == 0
    data = reply["data"]
    assert data["_o"] == "Obj"
    assert data["k"] == LIST("_s", "root")
    assert data["c"] == "PtQ+gKyU"
    assert data["f"] == {"version_string": "0.12.3", "version_tuple": LIST(0, 12, 3)}
    assert data["r"]["_meta"] == ref("_s", "_ec", "MyRoot")
    assert data["r"]["status"] == ref("_s", "root", "status")


def test_meta_is_an_info(served: tuple[GuideServer, MyRoot]) -> None:
    broker, _ = served
    _, reply = ask(broker, {"_m": "get", "_a": LIST(ref("_s", "_ec", "Status"))})
    info = reply["data"]
    assert info["_o"] == "Info"
    assert info["f"]["name"] == "Status"
    assert info["f"]["fields"]["health"] == {"name": "health", "_o": "_F"}
    assert info["f"]["refs"]["_meta"] == {"name": "_meta", "_o": "_R"}
    assert info["f"]["backrefs"] == {}
    assert info["f"]["_dab_cached"] is None
    assert info["r"] == {"_meta": {"_o": "_ROOT"}}


def test_requests_come_wrapped_in_data_as_dabrokers_client_sends_them(
    served: tuple[GuideServer, MyRoot],
) -> None:
    broker, _ = served
    wrapped = {"data": {"_m": "hello", "_a": LIST("you")}}
    assert ask(broker, wrapped)[1] == {"data": "hello you", "msgid": 0}


def test_method_call_target_travels_as_o_(served: tuple[GuideServer, MyRoot]) -> None:
    broker, _ = served
    message = {"_m": "login", "_o_": ref("_s", "root"), "_a": LIST("jane", "h")}
    assert ask(broker, message)[1] == {"data": "welcome jane", "msgid": 0}
    assert ask(broker, {"_m": "hello", "_a": LIST("you")})[1]["data"] == "hello you"


def test_invalidation_broadcast_comes_first(served: tuple[GuideServer, MyRoot]) -> None:
    broker, root = served

    def do_degrade() -> None:
        broker.obj_update(root.status, health="poor")

    broker.do_degrade = do_degrade  # type: ignore[attr-defined]
    ask(broker, {"_m": "root"})  # the client has the status's key from here on
    broadcasts, reply = ask(broker, {"_m": "degrade"})
    assert broadcasts == [
        {
            "data": {
                "_m": "invalid_key",
                "_key": ref("_s", "root", "status", code=""),
                "_meta": ref("_s", "_ec", "Status", code=""),
                "health": LIST("OK", "poor"),
            },
            "msgid": 1,
        }
    ]
    assert reply == {"data": None, "msgid": 1}


def test_user_keys_starting_with_o_are_escaped(served: tuple[GuideServer, MyRoot]) -> None:
    broker, _ = served
    _, reply = ask(broker, {"_m": "echo", "_a": LIST({"_o_ops": 1, "x": LIST(1, 2)})})
    assert reply["data"] == {"_o_ops": 1, "x": LIST(1, 2)}
    assert codec.decode(reply["data"], lambda t, f: None) == {"_oops": 1, "x": [1, 2]}


def test_dates_round_trip() -> None:
    when = dt.datetime(2014, 6, 1, 12, 30, tzinfo=dt.UTC)
    values = [when, dt.date(2014, 6, 1), dt.time(12, 30, 5), dt.timedelta(seconds=90)]
    wire = codec.encode(values, lambda v, i: None)
    assert wire["_d"][1] == {"_o": "date", "d": 735385, "s": "2014-06-01"}
    assert wire["_d"][0]["t"] == when.timestamp()
    assert codec.decode(json.loads(json.dumps(wire)), lambda t, f: None) == values


ROOT_REF = '{"_o":"Ref","k":{"_o":"LIST","_d":["_s","root"]},"c":"PtQ+gKyU"}'
FORGED_REF = ROOT_REF.replace("PtQ+gKyU", "AAAAAAAA")
BAD_KEY = '{"_o": "LIST", "_d": [{"_o": "Ref", "k": 5}]}'


@pytest.mark.parametrize(
    ("body", "kind", "words"),
    [
        (b"{not json", "MalformedMessage", "not JSON"),
        (b"[1]", "MalformedMessage", "JSON object"),
        (b'{"_a": []}', "MalformedMessage", "_m"),
        (b'{"_m": "get", "_a": {"_o": "Pickle", "x": 1}}', "MalformedMessage", "Pickle"),
        (b'{"_m": "get", "_a": %s}' % BAD_KEY.encode(), "MalformedMessage", "LIST of strings"),
        (b'{"_m": "nothing"}', "NotExported", "nothing"),
        (b'{"_m": "secret", "_o_": %s}' % ROOT_REF.encode(), "NotExported", "secret"),
        (
            b'{"_m": "get", "_a": {"_o":"LIST","_d":[%s]}}' % FORGED_REF.encode(),
            "ForgedKey",
            "code",
        ),
    ],
)
def test_bad_requests_get_error_replies(
    served: tuple[GuideServer, MyRoot], body: bytes, kind: str, words: str
) -> None:
    broker, _ = served
    _, reply = ask(broker, body)
    assert reply["error"]["_o"] == "exc"
    assert reply["error"]["_t"] == kind
    assert words in reply["error"]["msg"]
    assert reply["tb"] == []
    assert ask(broker, {"_m": "hello", "_a": LIST("still")})[1]["data"] == "hello still"
