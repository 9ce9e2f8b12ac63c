"""The OData door in a real `revkv serve --odata-schema` process: what only a process shows.

Entities outlive a restart (with their versions), expire through the store's TTL (the
expiry is a version of its own, a tombstone the sweeper records), links follow the Host
header the client sent, tokens from a --config file guard the door, and every example
of docs/odata.md prints what the page shows.

The page is one session, in order: each `$ ` line of a ```console block runs in bash and
must print the lines under it; each run of ```python blocks (the blocks up to the next
console block) runs as one script in this interpreter's environment (where Pyslet is
installed) and must print the ```text blocks among them. The page's server is
`127.0.0.1:8080`; here it is a fresh `revkv serve --memory --odata-schema` on a free port.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

from tests.compat.test_pyslet import serve_odata

KVP = "/odata/KeyValuePairs"
BODY = {"Key": "k", "Value": "v", "Expires": "/Date(1893456000000)/"}
JSON = {"Accept": "application/json"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "odata.md"
DATES = re.compile(r"\\/Date\(\d+\)\\/")


def test_entities_outlive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = serve_odata(data)
    try:
        assert httpx.post(server.url + KVP, json=BODY).status_code == 201
        changed = {**BODY, "Value": "w"}
        assert httpx.put(server.url + KVP + "('k')", json=changed).status_code == 204
    finally:
        server.stop()
    server = serve_odata(data)
    try:
        got = httpx.get(server.url + KVP + "('k')", headers=JSON)
    finally:
        server.stop()
    assert got.headers["etag"] == 'W/"2"'
    assert got.json()["d"]["Value"] == "w"


def test_expiry_is_a_commit_of_the_sweeper() -> None:
    server = serve_odata(None)
    try:
        soon = {**BODY, "Expires": f"/Date({int((time.time() + 1) * 1000)})/"}
        assert httpx.post(server.url + KVP, json=soon).status_code == 201
        assert httpx.get(server.url + KVP + "('k')").status_code == 200
        time.sleep(1.2)
        assert httpx.get(server.url + KVP + "('k')").status_code == 404
        assert httpx.get(server.url + KVP + "/$count").text == "0"
        again = httpx.post(server.url + KVP, json=BODY)
    finally:
        server.stop()
    # 1, the expiry's tombstone (recorded by the sweeper, or counted until it is), this one
    assert again.headers["etag"] == 'W/"3"'


def test_links_follow_the_host_the_client_used() -> None:
    server = serve_odata(None)
    try:
        host = f"localhost:{server.port}"
        document = httpx.get(server.url + "/odata/", headers={"Host": host})
        redirect = httpx.get(server.url + "/odata")
    finally:
        server.stop()
    base = ET.fromstring(document.content).get("{http://www.w3.org/XML/1998/namespace}base")
    assert base == f"http://{host}/odata/"
    assert redirect.status_code == 307
    assert redirect.headers["location"].endswith("/odata/")


def test_tokens_from_a_config_file_guard_the_door(tmp_path: Path) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text(
        '[[tokens]]\nname = "writer"\ntoken = "writer-token-0123456789"\nrights = "read-write"\n'
        '[[tokens]]\nname = "reader"\ntoken = "reader-token-0123456789"\n'
    )
    server = serve_odata(None, "--config", str(config))
    try:
        anonymous = httpx.get(server.url + "/odata/")
        reader = {"Authorization": "Bearer reader-token-0123456789"}
        refused = httpx.post(server.url + KVP, json=BODY, headers=reader)
        writer = {"Authorization": "Bearer writer-token-0123456789", **JSON}
        created = httpx.post(server.url + KVP, json=BODY, headers=writer)
        read = httpx.get(server.url + KVP + "('k')/Value/$value", headers=reader)
    finally:
        server.stop()
    assert (anonymous.status_code, anonymous.headers["www-authenticate"]) == (401, "Bearer")
    assert refused.status_code == 403
    assert created.status_code == 201
    assert read.text == "v"


# -- docs/odata.md --------------------------------------------------------------------------


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S)]


def console_steps(body: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def shown(lines: list[str]) -> list[str]:
    return [DATES.sub(r"\\/Date(<ms>)\\/", line) for line in lines]


def run_python(script: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "session.py"
    path.write_text(script)
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected.splitlines()


def test_every_example_in_the_odata_docs_runs_as_shown(tmp_path: Path) -> None:
    server = serve_odata(None)
    here = f"127.0.0.1:{server.port}"
    script, printed, steps = "", "", 0
    try:
        for language, body in blocks(DOCS.read_text().replace("127.0.0.1:8080", here)):
            if language == "python":
                script += body
            elif language == "text":
                printed += body
            elif language == "console":
                if script:
                    run_python(script, printed, tmp_path)
                    script, printed = "", ""
                for command, expected in console_steps(body):
                    done = subprocess.run(
                        ["bash", "-c", f"{{ {command} ; }} 2>&1"],
                        capture_output=True, text=True, timeout=60, check=False,
                    )  # fmt: skip
                    assert shown(done.stdout.splitlines()) == expected, f"$ {command}"
                    steps += 1
        assert not script, "the page ends with Python that was never run"
    finally:
        server.stop()
    assert steps >= 10
