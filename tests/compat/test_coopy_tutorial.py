"""coopy's own tutorial code runs on revkv.prevalence with nothing changed but the import.

The programs below are the coopy 0.4b documentation's examples, verbatim, except for
the `import` line (and the directory, which the tutorial spells `/path/to/somedir`).
Each runs in a fresh interpreter, twice, as a user would run them, so the second run
sees only what the first left on disk.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WIKI = """
import datetime

class WikiPage():
    def __init__(self, id, content):
        self.id = id
        self.content = content
        self.history = []
        self.last_modify = datetime.datetime.now()

class Wiki():
    def __init__(self):
        self.pages = {}
    def create_page(self, page_id, content):
        page = None
        if page_id in self.pages:
            page = self.pages[page_id]
        if not page:
            page = WikiPage(page_id, content)
            self.pages[page_id] = page
        return page
"""

FIRST_RUN = (
    WIKI
    + """
from revkv.prevalence import init_system
wiki = init_system(Wiki(), "SOMEDIR")
wiki.create_page('My First Page', 'My First Page Content')
"""
)

SECOND_RUN = (
    WIKI
    + """
from revkv.prevalence import init_system
wiki = init_system(Wiki(), "SOMEDIR")
page = wiki.pages['My First Page']
print(page.content)
"""
)

TODO = """
from revkv.prevalence import init_persistent_system

class Todo(object):
    def __init__(self):
        self.tasks = []

    def add_task(self, name, description):
        task = dict(name=name, description=description)
        self.tasks.append(task)

persistent_todo_list = init_persistent_system(Todo())
persistent_todo_list.add_task("Some Task Name", "A Task Description")

# Take snapshot
persistent_todo_list.take_snapshot()
print(len(persistent_todo_list.tasks))
"""

DECORATORS = """
from revkv.prevalence import init_system
from revkv.prevalence import readonly, abort_exception

class Wiki():
    def __init__(self):
        self.pages = {}

    def update_page(self, page_id, content):
        self.pages[page_id] = content

    @readonly
    def get_page(self, id):
        if id in self.pages:
            return self.pages[id]
        else:
            return None

    @abort_exception
    def create_page(self, wikipage):
        page = None
        wikipage['last_modify'] = self._clock.now()
        if wikipage['id'] in self.pages:
            page = self.pages[wikipage['id']]
        if not page:
            self.pages[wikipage['id']] = wikipage
            raise Exception('Exemple error')
        else:
            self.update_page(wikipage['id'], wikipage['content'])

wiki = init_system(Wiki)
try:
    wiki.create_page({'id': 'x', 'content': 'c'})
except Exception as e:
    print(e)
print(wiki.get_page('x'))
"""


def run(code: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_wiki_tutorial(tmp_path: Path) -> None:
    somedir = str(tmp_path / "somedir")
    run(FIRST_RUN.replace("SOMEDIR", somedir), tmp_path)
    assert run(SECOND_RUN.replace("SOMEDIR", somedir), tmp_path) == "My First Page Content\n"


def test_the_todo_example_with_a_snapshot(tmp_path: Path) -> None:
    assert run(TODO, tmp_path) == "1\n"
    assert run(TODO, tmp_path) == "2\n"
    assert (tmp_path / "todo").is_dir()  # basedir: the lower-cased class name


def test_the_decorators_example(tmp_path: Path) -> None:
    assert run(DECORATORS, tmp_path) == "Exemple error\nNone\n"
    assert run(DECORATORS, tmp_path) == "Exemple error\nNone\n"  # nothing was journaled
