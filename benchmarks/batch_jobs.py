"""Provider batch jobs at scale: the price of 10,000 rows through the Batch API beside the
same rows sent one by one, and how long a finished job takes to become the DataFrame.

It submits the rows to the loopback OpenAI server's Batch API (`engine="batch"`), waits
for the job, and times `result()` twice: the first call downloads the output file, runs
every answer through the pipeline (parse, price, cache, ledger) and builds the table;
the second reads the results the job store kept. The prices are the estimate of both
engines and the batch's priced ledger rows.

Run: .venv/bin/python benchmarks/batch_jobs.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import llmpipe_nb as llm
from llmpipe_nb.pricing import cost_for
from llmpipe_nb.responses import Usage
from llmpipe_nb.testing import FakeServer

KEY = "sk-benchmark-0000000000000000"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("LLMPIPE_BATCH_JOBS", os.path.join(tempfile.mkdtemp(), "jobs.sqlite3"))
    warnings.simplefilter("ignore")
    rows = [f"Classify the sentiment of review number {i}: it was fine." for i in range(args.rows)]
    with FakeServer("openai") as server:
        llm.configure("openai", base_url=server.base_url, api_key=KEY)
        normal = llm.estimate(rows, "{}", "openai", max_tokens=16)
        batch = llm.estimate(rows, "{}", "openai", max_tokens=16, engine="batch")
        started = time.perf_counter()
        job = llm.map(rows, "{}", "openai", max_tokens=16, engine="batch")
        submitted = time.perf_counter() - started
        while not job.refresh().terminal:
            pass
        started = time.perf_counter()
        out = job.result()
        first = time.perf_counter() - started
        started = time.perf_counter()
        llm.batch_job(job.id).result()
        again = time.perf_counter() - started
    spent = out.cost_usd.sum()
    ledger = llm.costs(tags=f"batch:{job.id}")
    one_by_one = sum(
        cost_for(
            "openai", r.model, Usage(input_tokens=r.input_tokens, output_tokens=r.output_tokens)
        )[0]
        for r in ledger.itertuples()
    )
    print(f"{args.rows:,} rows of openai/{normal.model}, max_tokens=16")
    print(
        f"  estimate one by one:  ${normal.cost_usd:.4f} (at most ${normal.ceiling_cost_usd:.4f})"
    )
    print(f"  estimate batch:       ${batch.cost_usd:.4f} (at most ${batch.ceiling_cost_usd:.4f})")
    print(f"  the answers, batch:   ${spent:.4f} ({len(ledger):,} ledger rows)")
    print(f"  the same tokens one by one: ${one_by_one:.4f}")
    print(f"  submit (render, pipeline up to the send, upload): {submitted:.2f} s")
    print(f"  finished job -> DataFrame (download, pipeline, table): {first:.2f} s")
    print(f"  the same from the job store in a new handle: {again:.2f} s")


if __name__ == "__main__":
    main()
