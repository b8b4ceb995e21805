"""`engine="batch"`: the rows of a map submitted to the provider's Batch API.

Every row runs through the provider's pipeline up to the send (validation, config,
cache, context management, the provider's own request builder), so the batch carries
exactly the request a normal call would send. A row the cache answers is not sent; a
row identical to another is sent once (its custom id is the hash of its request); a
job over more rows or bytes than one provider batch takes is split into several. The
job is written to the job store before the first provider call, and each provider
batch id as soon as the provider gives it.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from ..config import ProviderConfig
from ..errors import BudgetExceededError, ConfigError, LLMPipeError
from ..pipeline import Pipeline
from ..plug import Plug
from ..pricing import BATCH
from ..providers._batches import BatchAPI
from ..request import Request
from ..transport import HttpCall
from .engine import usd
from .estimate import Estimate, OutputPrior, Rates, input_tokens, make_estimate
from .frame import outcome, unsent
from .handle import BatchJob
from .job import Job, Spec
from .jobstore import JobRecord, Part, dump_outcome, open_store
from .remote import batch_api

EXECUTE = "ExecuteRequest"
#: features that shape sending one request at a time, which a Batch API does itself
_NOT_FOR_BATCH = ("retry", "rate_limit", "circuit_breaker")


def check_features(features: dict[str, Any]) -> None:
    given = [name for name in _NOT_FOR_BATCH if features.get(name) not in (None, False)]
    if given:
        raise ConfigError(
            f"{', '.join(f'{n}=' for n in given)} cannot go with engine='batch': the provider "
            "paces a batch itself (and polls are retried anyway); leave them out."
        )


def batch_estimate(
    spec: Spec,
    messages: Sequence[Any],
    output: OutputPrior | None = None,
    pilot_rows: int = 0,
    pilot_cost: float = 0.0,
) -> Estimate:
    """Expected tokens and cost of sending `messages`, at the batch price beside the normal one."""
    model = spec.plan.options.get("model")
    tokens = input_tokens(messages)
    prior = output or spec.output
    normal = make_estimate(Rates.lookup(spec.plan.provider, model), tokens, prior)
    return make_estimate(
        Rates.lookup(spec.plan.provider, model, BATCH),
        tokens,
        prior,
        pilot_rows,
        pilot_cost,
        engine=BATCH,
        standard=normal,
    )


def submit(spec: Spec, data: Any) -> BatchJob:
    """Submit the rows of `data`; a ConfigError, MissingKeyError or BudgetExceededError
    here means nothing was sent."""
    job = Job(spec, data)
    plan = spec.plan
    config = plan.config()
    provider, api = batch_api(plan.provider)
    kept = kept_plan(spec)
    store = open_store()
    fingerprint = _fingerprint(plan.provider, config, kept, job.messages, job.rows.index)
    running = store.running(fingerprint)
    if running is not None:
        warnings.warn(
            f"These rows are already in batch job {running.id} (submitted "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(running.created_at))}, "
            f"{running.status}): re-attached to it instead of submitting and paying again.",
            stacklevel=4,
        )
        return BatchJob(running, store, plan=plan, reattached=True)

    plugs = plan.pipeline()
    prefix = plugs[: [p.name for p in plugs].index(EXECUTE)]
    rows: list[tuple[str | None, str | None]] = []
    unique: dict[str, tuple[Any, HttpCall]] = {}
    for messages in job.messages:
        if isinstance(messages, ConfigError):  # an empty field: not sent, fails on its own
            rows.append((None, dump_outcome(unsent(messages))))
            continue
        ready = _prepared(plan.request(messages), prefix)
        if isinstance(ready, BaseException):
            rows.append((None, dump_outcome(unsent(ready))))
        elif ready.halted:  # the cache has the answer: recorded as the hit it is
            done = Pipeline.run(plan.request(messages), plugs, trace=False)
            rows.append((None, dump_outcome(outcome(done))))
        else:
            call = ready.provider_request
            cid = custom_id(call)
            unique.setdefault(cid, (messages, call))
            rows.append((cid, None))

    estimate = batch_estimate(spec, [m for m, _ in unique.values()])
    _check_budget(spec.max_cost, estimate)
    kept["estimate_usd"] = estimate.cost_usd
    parts = split(list(unique.items()), api)
    record = JobRecord(
        spec.batch_id,
        plan.provider,
        plan.options.get("model") or provider.default_model,
        config.base_url,
        time.time(),
        "submitting" if unique else "completed",
        len(rows),
        len(unique),
        fingerprint,
        kept,
        job.rows.index,
        finished_at=None if unique else time.time(),
        collected_at=None if unique else time.time(),
        parts=[Part(n, len(p)) for n, p in enumerate(parts)],
    )
    part_of = {cid: n for n, calls in enumerate(parts) for cid, _ in calls}
    requests = [(cid, part_of[cid], json.dumps(m)) for cid, (m, _) in unique.items()]
    store.create(record, rows, requests)
    handle = BatchJob(record, store, plan=plan)
    handle.submit_parts(provider, api, config, [[(c, call) for c, (_, call) in p] for p in parts])
    return handle


def kept_plan(spec: Spec) -> dict[str, Any]:
    """What the job store keeps to run the answers through the pipeline later: never a
    key or headers (a later process takes them from llm.configure or the environment)."""
    plan = spec.plan
    schema = None if spec.schema is None else spec.schema.json_schema
    options = {k: v for k, v in plan.options.items() if k not in ("api_key", "headers")}
    if schema is not None:  # the type as the JSON Schema it was sent as (the same on the wire)
        options["schema"] = schema
    kept = {
        "provider": plan.provider,
        "options": options,
        "features": [[name, dict(opts)] for name, opts in plan.features],
        "tags": list(plan.tags),
        "schema": schema,
    }
    try:
        json.dumps(kept)
    except (TypeError, ValueError):
        raise ConfigError(
            "engine='batch' keeps the job on disk, so its options (and cache=) must be plain "
            "JSON values (a store name, not a store object); pass them that way."
        ) from None
    return kept


def custom_id(call: HttpCall) -> str:
    """The row's id in the batch: the hash of what it sends, so equal requests share one."""
    blob = json.dumps(
        [call.method, call.path, call.json], sort_keys=True, separators=(",", ":"), default=repr
    )
    return "r" + hashlib.sha256(blob.encode()).hexdigest()[:40]


def split(
    calls: Sequence[tuple[str, tuple[Any, HttpCall]]], api: BatchAPI
) -> list[list[tuple[str, tuple[Any, HttpCall]]]]:
    """Consecutive groups, each within the provider's requests and bytes per batch."""
    parts: list[list[tuple[str, tuple[Any, HttpCall]]]] = []
    size = 0
    for item in calls:
        cid, (_, call) = item
        line = api.line_size(cid, call)
        if not parts or len(parts[-1]) >= api.max_requests or size + line > api.max_bytes:
            parts.append([])
            size = 0
        parts[-1].append(item)
        size += line
    return parts


def _prepared(request: Request, prefix: Iterable[Plug]) -> Request | BaseException:
    """The request after the plugs before the send (halted when the cache answered it), or
    the error that stopped it; nothing is recorded, as nothing was sent."""
    try:
        for plug in prefix:
            request = plug.call(request)
            if request.halted:
                break
    except LLMPipeError as error:
        return error
    return request


def _check_budget(max_cost: float | None, estimate: Estimate) -> None:
    if max_cost is None:
        return
    if estimate.cost_usd is None:
        raise ConfigError(
            f"max_cost needs a price for model {estimate.model!r} of '{estimate.provider}': "
            "set one with llm.set_price()."
        )
    if estimate.cost_usd > max_cost:
        raise BudgetExceededError(
            f"Not submitted: the batch is expected to cost {usd(estimate.cost_usd)} at the "
            f"batch price, more than max_cost={usd(max_cost)}; raise max_cost or send fewer rows."
        )


def _fingerprint(
    provider: str, config: ProviderConfig, kept: dict[str, Any], messages: Any, index: Any
) -> str:
    """The same rows, options and provider give the same fingerprint (the tags aside)."""
    rows = [str(m) if isinstance(m, Exception) else m for m in messages]
    asked = {k: v for k, v in kept.items() if k != "tags"}
    blob = json.dumps([provider, config.base_url, asked, rows], sort_keys=True, default=repr)
    digest = hashlib.sha256(blob.encode())
    digest.update(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
    return digest.hexdigest()
