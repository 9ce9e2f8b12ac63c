"""DaBroker's server guide, line by line, over the in-process transport."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from revkv.broker import BrokerClient, ForgedKey, Key, NotExported, UnknownKey, access_code
from tests.broker.guide import GuideServer, MyRoot, Status, client_of, local_cfg, serve_guide


@pytest.fixture
def served() -> Iterator[tuple[GuideServer, MyRoot, BrokerClient]]:
    broker, root = serve_guide(local_cfg())
    client = client_of(broker)
    yield broker, root, client
    client.stop()
    broker.stop()


def test_access_code_is_dabrokers() -> None:
    assert access_code("You really should change this", ("_s", "root")) == "PtQ+gKyU"
    assert access_code("other", ("_s", "root")) != "PtQ+gKyU"
    assert access_code("s", ("_s", 12)) == access_code("s", ("_s", "12"))


def test_root_key_shows_its_code(served: tuple[GuideServer, MyRoot, BrokerClient]) -> None:
    _, root, _ = served
    assert repr(root._key) == "R:('_s','root')‹PtQ+gKyU›"  # noqa: RUF001


def test_client_reads_fields_and_follows_refs(
    served: tuple[GuideServer, MyRoot, BrokerClient],
) -> None:
    _, _, client = served
    root = client.root
    assert root.version_string == "0.12.3"
    assert root.version_tuple == [0, 12, 3]
    assert root.status.health == "OK"
    assert root.status.servers == ["joe", "curly", "moe"]
    assert root.status.load == {"joe": 0.1, "curly": None, "moe": 2.5}
    assert root.status._key.parts == ("_s", "root", "status")


def test_login_and_call(served: tuple[GuideServer, MyRoot, BrokerClient]) -> None:
    _, _, client = served
    assert client.root.login("jane", "sing a song and whist1e") == "welcome jane"
    assert client.call("hello", "you") == "hello you"


def test_obj_update_is_seen_by_the_client(
    served: tuple[GuideServer, MyRoot, BrokerClient],
) -> None:
    broker, root, client = served
    remote = client.root
    assert remote.status.health == "OK"
    broker.obj_update(root.status, health="poor")
    assert remote.status.health == "poor"


def test_cached_reads_need_no_request(served: tuple[GuideServer, MyRoot, BrokerClient]) -> None:
    _, _, client = served
    remote = client.root
    remote.status  # noqa: B018 (fetch once)
    hits = client.hits
    for _ in range(5):
        assert remote.status.health == "OK"
    assert client.hits == hits + 5


def test_replacing_status_needs_a_fresh_root(
    served: tuple[GuideServer, MyRoot, BrokerClient],
) -> None:
    broker, root, client = served
    remote = client.root
    assert remote.status.health == "OK"
    old_status = root.status
    old_seq = Status.seq
    Status.seq += 1
    new_status = broker.obj_new(Status, health="poor")
    broker.add_static(new_status, "status", Status.seq)
    broker.obj_update(root, status=new_status)
    broker.obj_delete(old_status)
    broker.del_static(old_status, "status", old_seq)
    remote = remote._key()
    assert remote.status.health == "poor"
    assert remote.status._key.parts == ("_s", "status", Status.seq)


def test_include_sends_whole_objects(served: tuple[GuideServer, MyRoot, BrokerClient]) -> None:
    _, _, client = served
    assert client.call("special", "x").msg == "x"
    ref = client.call("special_ref", "y")
    assert isinstance(ref, Key) and ref.parts == ("_s", "special", "y")
    assert ref().msg == "y"
    assert client.root.special_object("z").msg == "z"
    assert isinstance(client.root.special_ref("w"), Key)


def test_unexported_methods_cannot_be_called(
    served: tuple[GuideServer, MyRoot, BrokerClient],
) -> None:
    _, _, client = served
    remote = client.root
    with pytest.raises(NotExported, match="secret"):
        client.send("secret", _o=remote)
    with pytest.raises(NotExported, match="__init__"):
        client.send("__init__", _o=remote)
    with pytest.raises(NotExported, match="no method 'nothing'"):
        client.call("nothing")


def test_forged_and_unknown_keys_are_refused(
    served: tuple[GuideServer, MyRoot, BrokerClient],
) -> None:
    _, _, client = served
    with pytest.raises(ForgedKey, match="access code"):
        client.get(Key(("_s", "root", "status"), "AAAAAAAA"))
    with pytest.raises(ForgedKey, match="without its access code"):
        client.get(Key(("_s", "root", "status")))
    secret = "You really should change this"
    with pytest.raises(UnknownKey):
        client.get(Key(("_s", "nothing"), access_code(secret, ("_s", "nothing"))))
    assert client.root.version_string == "0.12.3"  # still serving


def test_export_class_manually() -> None:
    from revkv.broker import BaseObj, BrokeredInfo, Callable, Field, Ref

    class Root(BaseObj):
        version_string = "1"

        def login(self, name: str) -> str:
            return name

    class Stat(BaseObj):
        health = "OK"

    root_info = BrokeredInfo("rootInfo")
    root_info.add(Field("version_string"))
    root_info.add(Ref("status"))
    root_info.add(Callable("login"))
    status_info = BrokeredInfo("statusInfo")
    status_info.add(Field("health"))
    Root._meta = root_info
    Stat._meta = status_info
    broker = GuideServer(cfg=local_cfg())
    broker.add_static(root_info, "root", "meta")
    broker.add_static(status_info, "status", "meta")
    broker.root = root = Root()
    root.status = Stat()  # type: ignore[attr-defined]
    broker.add_static(root, "root")
    broker.add_static(root.status, "status")  # type: ignore[attr-defined]
    broker.start()
    with client_of(broker) as client:
        assert client.root.status.health == "OK"
        assert client.root.login("jane") == "jane"
    broker.stop()
