"""docs/broker.md cannot rot: its `pycon` blocks run as one doctest, outputs compared."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "broker.md"


def test_the_examples_in_docs_broker_md_run_as_shown() -> None:
    blocks = re.findall(r"```pycon\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 5
    parser = doctest.DocTestParser()
    test = parser.get_doctest("\n".join(blocks), {}, "docs/broker.md", str(DOC), 0)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.REPORT_NDIFF
    )
    try:
        runner.run(test)
    finally:
        globs = test.globs
        for name in ("kv",):
            if name in globs:
                globs[name].stop()
        if "broker" in globs:
            globs["broker"].stop()
    assert runner.failures == 0, f"{runner.failures} example(s) in docs/broker.md failed"
