"""`revkv dripline` refuses bad input with one line and an exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from revkv.cli import cli
from tests.servers import free_port


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_module_path_in_the_yaml_is_refused_before_anything_starts(tmp_path: Path) -> None:
    config = tmp_path / "evil.yaml"
    config.write_text(
        "name: s\nendpoints:\n  - name: p\n    module: kv_store\n    module_path: /tmp/x.py\n"
    )
    code, output = run("dripline", "serve", "-c", str(config), "--data", str(tmp_path / "d"))
    assert code == 2
    assert "module_path is refused" in output
    assert not (tmp_path / "d").exists()


def test_a_calibration_that_is_code_is_refused_naming_the_endpoint(tmp_path: Path) -> None:
    config = tmp_path / "evil.yaml"
    config.write_text(
        "name: s\nendpoints:\n  - name: p\n    module: kv_store\n    endpoints:\n"
        "      - name: peaches\n        module: kv_store_key\n"
        "        calibration: \"__import__('os').system('touch pwned')\"\n"
    )
    code, output = run("dripline", "serve", "-c", str(config), "--data", str(tmp_path / "d"))
    assert code == 2
    assert "'peaches'" in output and "not an arithmetic expression" in output


def test_an_unreachable_broker_is_one_line_and_exit_4() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    code, output = run("dripline", "get", "peaches", "-b", url, "--timeout", "1")
    assert code == 4
    assert output.startswith("revkv: cannot reach 127.0.0.1:")
    assert "Traceback" not in output


def test_a_broker_that_is_not_amqp_is_a_usage_error() -> None:
    code, output = run("dripline", "get", "peaches", "-b", "http://example.org/")
    assert code == 2
    assert "amqp://" in output


def test_serve_refuses_amqp_without_dripline(tmp_path: Path) -> None:
    code, output = run("serve", "--data", str(tmp_path), "--amqp", "localhost")
    assert code == 2
    assert "--amqp goes with --dripline" in output
