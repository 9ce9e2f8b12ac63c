"""Every example in docs/python-api.md really runs and shows what the page shows.

The page's `>>>` examples are one doctest session, run against a `revkv serve --memory`
started here, whose address replaces `http://127.0.0.1:8080`.
"""

from __future__ import annotations

import doctest
from pathlib import Path

from tests.servers import RevkvServer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"


def test_the_python_api_page_runs() -> None:
    with RevkvServer(None) as server:
        text = DOCS.read_text().replace("http://127.0.0.1:8080", server.url)
        test = doctest.DocTestParser().get_doctest(text, {}, "python-api.md", str(DOCS), 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test)
        results = runner.summarize(verbose=False)
    assert results.attempted > 40
    assert results.failed == 0
