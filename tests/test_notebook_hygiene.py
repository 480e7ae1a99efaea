"""Notebooks ship what a reader needs: no stored widget state (issue 27: ~50 KB in labs 04/05)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("solutions/*.ipynb")) + sorted(ROOT.glob("labs/**/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_stored_widget_state(path):
    meta = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    assert "widgets" not in meta, (f"{path.name} stores {len(json.dumps(meta['widgets'])):,} bytes of widget "
                                   "state: delete notebook metadata 'widgets' (it is re-created when run)")
