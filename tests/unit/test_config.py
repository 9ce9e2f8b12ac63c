"""Settings: defaults, then the TOML file, then the environment, then flags; tokens checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from revkv._config import BrokerSettings, Settings, Token, load_settings
from revkv.errors import InvalidRequest

ENV = ("REVKV_DATA", "REVKV_HOST", "REVKV_PORT", "REVKV_DURABILITY")
SECRET = "s3cret-deploy-token"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "revkv.toml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    settings = load_settings()
    assert settings == Settings()
    assert (settings.host, settings.port, settings.durability) == ("127.0.0.1", 8080, "always")
    assert settings.tokens == ()
    assert settings.insecure is False


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        data = "data"
        host = "0.0.0.0"
        port = 9000
        durability = "interval"
        odata_schema = "schema/Mem.xml"
        watch_keepalive = 2.5

        [[tokens]]
        name = "deploy"
        token = "{SECRET}"
        rights = "read-write"
        namespaces = ["config.*", "flags"]

        [[tokens]]
        name = "dashboard"
        token = "dashboard-token-0123"
        """,
    )
    settings = load_settings(path)
    assert settings.data == (tmp_path / "data").resolve()
    assert settings.odata_schema == (tmp_path / "schema" / "Mem.xml").resolve()
    assert (settings.host, settings.port, settings.durability) == ("0.0.0.0", 9000, "interval")
    assert settings.watch_keepalive == 2.5
    assert settings.tokens == (
        Token("deploy", SECRET, "read-write", ("config.*", "flags")),
        Token("dashboard", "dashboard-token-0123", "read", ("*",)),
    )


def test_the_connection_limits_load_from_the_file_and_flags(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        max_header_bytes = 32768
        max_headers = 50
        header_timeout = 2
        body_timeout = 30.5
        keep_alive_timeout = 1.5
        max_connections = 500
        """,
    )
    settings = load_settings(path, max_connections=100)
    assert (settings.max_header_bytes, settings.max_headers) == (32768, 50)
    assert (settings.header_timeout, settings.body_timeout) == (2, 30.5)
    assert (settings.keep_alive_timeout, settings.max_connections) == (1.5, 100)


def test_environment_beats_the_file_and_flags_beat_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, 'host = "10.0.0.1"\nport = 9000\ndurability = "never"\n')
    monkeypatch.setenv("REVKV_PORT", "9100")
    monkeypatch.setenv("REVKV_DATA", "/srv/revkv")
    settings = load_settings(path, host="10.0.0.2", port=None)
    assert settings.host == "10.0.0.2"  # flag
    assert settings.port == 9100  # environment; a None flag is no flag
    assert settings.durability == "never"  # file
    assert settings.data == Path("/srv/revkv")


def test_a_flag_of_none_changes_nothing() -> None:
    assert Settings().merged(host=None, port=None) == Settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'blue'\n", "unknown setting(s) colour"),
        ("extra = 1\n", "unknown setting(s) extra"),
        ("port = '8080'\n", "port must be a port number"),
        ("port = 70000\n", "port must be a port number"),
        ("port = true\n", "port must be a port number"),
        ("durability = 'sometimes'\n", "durability must be one of always, interval, never"),
        ("insecure = 'yes'\n", "insecure must be true or false"),
        ("watch_keepalive = 0\n", "watch_keepalive must be a number of seconds"),
        ("max_watchers = -1\n", "max_watchers must be a whole number"),
        ("max_header_bytes = 0\n", "max_header_bytes must be a whole number of bytes"),
        ("max_headers = 1.5\n", "max_headers must be a whole number of headers"),
        ("header_timeout = -1\n", "header_timeout must be a number of seconds"),
        ("body_timeout = 'long'\n", "body_timeout must be a number of seconds"),
        ("keep_alive_timeout = 0\n", "keep_alive_timeout must be a number of seconds"),
        ("max_connections = 0\n", "max_connections must be a whole number of connections"),
        ("data = 5\n", "data must be a path"),
        ("tokens = 'abc'\n", "tokens is a list of [[tokens]] tables"),
        ("port = \n", "is not valid TOML: Invalid value (at line 1"),
    ],
)
def test_a_bad_setting_is_named_with_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidRequest) as caught:
        load_settings(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def token_entry(**fields: object) -> str:
    base: dict[str, object] = {"name": "deploy", "token": SECRET}
    base.update(fields)
    lines = [
        f"{key} = {value!r}".replace("'", '"') for key, value in base.items() if value is not None
    ]
    return "[[tokens]]\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("[[tokens]]\nname = 'x'\n", "needs a name and a token"),
        (token_entry(name=""), "a token's name is a non-empty string"),
        (token_entry(token="short"), "at least 16 characters"),
        (token_entry(token=" padded-token-0123456 "), "printable ASCII with no spaces at its ends"),
        (token_entry(token="tab\there-0123456789"), "printable ASCII"),
        (token_entry(token="ünicode-token-0123456"), "printable ASCII"),
        (token_entry(rights="admin"), "rights is 'read' or 'read-write'"),
        (token_entry(namespaces="config.*"), "namespaces is a list of patterns"),
        (token_entry(namespaces=[""]), "namespaces is a list of patterns"),
        (token_entry(role="x"), "unknown field(s) role"),
        (token_entry(act_as_others="yes"), "act_as_others is true or false"),
    ],
)
def test_a_bad_token_is_refused_with_its_name(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        load_settings(write(tmp_path, entry))
    assert message in str(caught.value)


def test_a_token_may_be_allowed_to_act_for_others(tmp_path: Path) -> None:
    text = token_entry(name="gateway", act_as_others=True).replace("True", "true")
    text += token_entry(name="plain", token="another-secret-0123456789")
    tokens = load_settings(write(tmp_path, text)).tokens
    assert [(t.name, t.act_as_others) for t in tokens] == [("gateway", True), ("plain", False)]


def test_two_entries_with_one_secret_are_refused(tmp_path: Path) -> None:
    text = token_entry(name="a") + token_entry(name="b")
    with pytest.raises(InvalidRequest, match="the same token"):
        load_settings(write(tmp_path, text))


def test_two_secrets_may_share_a_name_while_one_is_rotated(tmp_path: Path) -> None:
    text = token_entry() + token_entry(token="rotated-deploy-token")
    names = [t.name for t in load_settings(write(tmp_path, text)).tokens]
    assert names == ["deploy", "deploy"]


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="cannot read the config file"):
        load_settings(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REVKV_PORT", "http", "REVKV_PORT must be a port number"),
        ("REVKV_PORT", "99999", "REVKV_PORT must be a port number"),
        ("REVKV_PORT", "\u00b2", "REVKV_PORT must be a port number"),
        ("REVKV_PORT", "9" * 5000, "REVKV_PORT must be a port number"),
        ("REVKV_DURABILITY", "maybe", "REVKV_DURABILITY must be one of"),
    ],
)
def test_a_bad_environment_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidRequest, match=message):
        load_settings()


def test_environment_host_and_durability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVKV_HOST", "::1")
    monkeypatch.setenv("REVKV_DURABILITY", "interval")
    settings = load_settings()
    assert (settings.host, settings.durability) == ("::1", "interval")


def test_a_token_never_shows_its_secret() -> None:
    token = Token("deploy", SECRET, "read-write")
    assert SECRET not in repr(token)
    assert SECRET not in str(Settings(tokens=(token,)))
    assert "deploy" in repr(token)


def test_a_broker_table_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [broker]
        amqp = "amqp://guest:guest@rabbit/"
        rpc_queue = "q"
        namespaces = ["people", "pets"]
        secret_file = "broker.secret"
        state_file = "state/broker.rev"
        """,
    )
    broker = load_settings(path).broker
    assert broker == BrokerSettings(
        amqp="amqp://guest:guest@rabbit/",
        rpc_queue="q",
        namespaces=("people", "pets"),
        secret_file=(tmp_path / "broker.secret").resolve(),
        state_file=(tmp_path / "state" / "broker.rev").resolve(),
    )
    assert broker.rpc_exchange == "dab_alert"
    assert load_settings().broker is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("broker = 1", "broker is a [broker] table"),
        ("[broker]\nsecret = 'x'", "[broker]: unknown setting(s) secret"),
        ("[broker]\nnamespaces = 'people'", "[broker] namespaces is a list of names"),
        ("[broker]\nstate_file = ''", "[broker] state_file must be a string"),
    ],
)
def test_a_bad_broker_table_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        load_settings(path)


def test_the_history_settings_load_and_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "change_log_bytes = 1048576\ncompact_on_snapshot = true\n")
    settings = load_settings(path)
    assert (settings.change_log_bytes, settings.compact_on_snapshot) == (1048576, True)
    with pytest.raises(InvalidRequest, match="compact_on_snapshot"):
        load_settings(write(tmp_path, 'compact_on_snapshot = "yes"\n'))
    with pytest.raises(InvalidRequest, match="change_log_bytes"):
        load_settings(write(tmp_path, "change_log_bytes = 0\n"))
