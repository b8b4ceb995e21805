"""The batch layer costs nothing at `import llmpipe_nb`, and df.llm is there when pandas came first."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_import_loads_neither_pandas_nor_the_batch_package():
    out = run(
        "import sys, llmpipe_nb\n"
        "print(sorted(m for m in ('pandas', 'dask', 'distributed', 'llmpipe_nb.batch')"
        " if m in sys.modules))"
    )
    assert out == "[]"


def test_the_accessor_exists_when_pandas_was_imported_first():
    out = run(
        "import pandas as pd, llmpipe_nb\n"
        "print(pd.DataFrame({'q': ['a']}).llm.map('{q}', progress=False).error.isna().all())"
    )
    assert out == "True"
