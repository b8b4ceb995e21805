"""engine="dask" on a real 2-worker LocalCluster: same results as local, ledger back, shared Redis."""

from __future__ import annotations

import pandas as pd
import pytest

import llmpipe_nb as llm
from llmpipe_nb.testing import FakeServer, faults

pytestmark = pytest.mark.slow
dd = pytest.importorskip("dask.dataframe")

COMPARED = ["content", "finish_reason", "input_tokens", "output_tokens", "cost_usd", "cache_hit"]


def frame(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {"topic": [f"topic {i}" for i in range(n)], "n": range(n)},
        index=pd.Index([f"k{(i * 13) % n:03d}" for i in range(n)], name="key"),
    )


def test_dask_results_equal_local_results_and_the_ledger_totals_match(dask_client, mock):
    llm.set_price("mock-1", input_per_mtok=2.0, output_per_mtok=8.0)
    df = frame()
    local = llm.map(df, "Explain {topic} in {n} words", progress=False)
    llm.ledger().reset()
    mock.reset()

    remote = llm.map(
        df, "Explain {topic} in {n} words", engine="dask", partitions=5, progress=False
    )

    assert remote.index.equals(df.index)
    pd.testing.assert_frame_equal(remote[COMPARED], local[COMPARED])
    assert remote.error.isna().all()
    assert mock.requests == []  # every row ran on the workers
    costs = llm.costs(tags=f"batch:{remote.attrs['batch_id']}")
    assert len(costs) == len(df)
    assert costs.cost_usd.sum() == pytest.approx(remote.cost_usd.sum())
    assert remote.cost_usd.sum() > 0
    traces = llm.traces(tags=f"batch:{remote.attrs['batch_id']}")
    assert set(traces.request_id) == set(costs.request_id)


def test_a_dask_dataframe_and_a_list_work_too(dask_client):
    df = frame(30)
    local = llm.map(df, "About {topic}", progress=False)

    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    from_dask = llm.map(ddf, "About {topic}", engine="dask", progress=False)
    assert from_dask.index.tolist() == df.index.tolist()  # dask may change the index's dtype
    pd.testing.assert_frame_equal(from_dask[COMPARED], local[COMPARED], check_index_type=False)

    from_list = llm.map(df.topic.tolist(), "About {}", engine="dask", progress=False)
    assert from_list.index.tolist() == list(range(30))
    assert from_list.content.tolist() == local.content.tolist()

    est = llm.map(ddf, "About {topic}", engine="dask", dry_run=True)
    assert est == llm.estimate(df, "About {topic}")


def test_failed_rows_come_back_typed_from_the_workers(dask_client, openai_fake):
    openai_fake.inject(faults.http_error(401))
    out = llm.map(
        [f"q{i}" for i in range(8)], "{}", "openai", engine="dask", concurrency=1, progress=False
    )
    failed = out.error.dropna()
    assert len(failed) == 1
    assert isinstance(failed.iloc[0], llm.AuthenticationError)
    assert out.content.notna().sum() == 7


def test_bad_input_fails_on_the_caller_before_the_cluster_is_used(dask_client, mock):
    with pytest.raises(llm.ConfigError, match="no column 'missing'"):
        llm.map(frame(), "{missing}", engine="dask")
    with pytest.raises(llm.ConfigError, match="no column 'missing'"):
        llm.map(dd.from_pandas(frame(), npartitions=2), "{missing}", engine="dask")
    with pytest.raises(llm.ConfigError, match="partitions"):
        llm.map(frame(), "{topic}", engine="dask", partitions=0)


def test_a_missing_key_fails_once_on_the_caller(dask_client):
    with FakeServer("openai") as server:
        llm.configure("openai", base_url=server.base_url)
        with pytest.raises(llm.MissingKeyError):
            llm.map(frame(), "{topic}", "openai", engine="dask", progress=False)
        with pytest.raises(llm.MissingKeyError):
            llm.map(dd.from_pandas(frame(), npartitions=2), "{topic}", "openai", engine="dask")
        assert server.requests == []


def test_workers_share_the_redis_cache_so_no_row_is_paid_twice(
    dask_client, openai_fake, redis_cache
):
    items = [f"shared {i}" for i in range(24)]
    first = llm.map(
        items, "{}", "openai", engine="dask", partitions=4, cache=redis_cache, progress=False
    )
    assert len(openai_fake.requests) == 24 and not first.cache_hit.any()

    # other partitions, so most rows land on a different worker than the first time
    again = llm.map(
        items[::-1], "{}", "openai", engine="dask", partitions=3, cache=redis_cache, progress=False
    )
    assert len(openai_fake.requests) == 24
    assert again.cache_hit.all()
    assert again.content.tolist() == first.content.tolist()[::-1]


def test_max_cost_is_shared_out_between_partitions(dask_client, mock):
    llm.set_price("mock-1", input_per_mtok=1000.0, output_per_mtok=1000.0)
    df = frame(40)
    per_row = llm.map(df.iloc[:1], "Explain {topic}", progress=False).cost_usd.iloc[0]
    limit = per_row * 20.5
    out = llm.map(
        df, "Explain {topic}", engine="dask", partitions=4, max_cost=limit, progress=False
    )
    assert out.cost_usd.sum() <= limit
    assert 10 <= out.error.isna().sum() <= 20
    assert all(isinstance(e, llm.BudgetExceededError) for e in out.error.dropna())


def test_threads_in_the_callers_process_record_each_ledger_row_once(mock):
    distributed = pytest.importorskip("distributed")
    llm.set_price("mock-1", input_per_mtok=1.0, output_per_mtok=1.0)
    with (
        distributed.LocalCluster(  # web server on a free port, as in conftest.py
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        out = llm.map(frame(12), "{topic}", engine="dask", client=client, progress=False)
    costs = llm.costs(tags=f"batch:{out.attrs['batch_id']}")
    assert len(costs) == 12
    assert costs.cost_usd.sum() == pytest.approx(out.cost_usd.sum())
    assert len(mock.requests) == 12
