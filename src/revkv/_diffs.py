"""Unified diffs between two versions' text, shared by the CLI and the HTTP door."""

from __future__ import annotations

import difflib


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> list[str]:
    """`diff -u` of two texts, marking a last line without a newline as `diff` does."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), old_label, new_label
    )
    return [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines]  # fmt: skip
