"""`llm.map(..., schema=)`: one typed column per field, misfits marked on their rows, repair."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Literal

import pandas as pd
from pydantic import BaseModel

import llmpipe_nb as llm
from llmpipe_nb.errors import SchemaValidationError


class Size(enum.Enum):
    S = "small"
    L = "large"


@dataclasses.dataclass
class Where:
    city: str


@dataclasses.dataclass
class Review:
    stars: int
    score: float
    verdict: Literal["keep", "return"]
    size: Size
    recommended: bool
    where: Where
    tags: list[str]
    note: str | None = None


class Tag(BaseModel):
    label: str


def test_each_field_is_a_column_of_its_own_type(mock):
    out = llm.map(["a", "b", "c"], "Review: {}", schema=Review, progress=False)
    assert list(out.columns[:9]) == [
        "content", "stars", "score", "verdict", "size", "recommended", "where", "tags", "note",
    ]  # fmt: skip
    dtypes = {name: str(out[name].dtype) for name in out.columns[1:9]}
    assert dtypes == {
        "stars": "Int64",
        "score": "Float64",
        "verdict": "category",
        "size": "category",
        "recommended": "boolean",
        "where": "object",
        "tags": "object",
        "note": "string",
    }
    assert all(isinstance(w, dict) and "city" in w for w in out["where"])
    assert out.error.isna().all()
    first = json.loads(out.content.iloc[0])
    assert out.stars.iloc[0] == first["stars"] and out["size"].iloc[0] == first["size"]


def test_a_misfit_row_keeps_its_error_and_the_others_complete(mock):
    good = json.dumps({"label": "fine"})
    mock.configure(
        respond=lambda body: good if "ok" in body["messages"][-1]["content"] else '{"x": 1}'
    )
    out = llm.map(["ok 1", "bad", "ok 2"], "{}", schema=Tag, progress=False)
    assert out.label.tolist()[::2] == ["fine", "fine"] and pd.isna(out.label.iloc[1])
    error = out.error.iloc[1]
    assert isinstance(error, SchemaValidationError) and error.path == "label"
    assert pd.isna(out.content.iloc[1]) and out.error.iloc[[0, 2]].isna().all()


def test_repair_in_a_batch_fixes_a_row_and_tags_its_second_attempt(mock):
    answers = iter(['{"oops": true}', json.dumps({"label": "fixed"})])
    mock.configure(respond=lambda body: next(answers))
    out = llm.map(["only"], "{}", schema=Tag, repair=1, progress=False, tags=["run-1"])
    assert out.label.tolist() == ["fixed"] and out.error.isna().all()
    rows = llm.costs()
    assert list(rows.status) == ["error", "completed"]
    assert (
        "repair:1" in rows.tags.iloc[1]
        and "run-1" in rows.tags.iloc[1]
        and "schema:Tag" in rows.tags.iloc[0]
    )


def test_a_list_schema_is_one_column_of_lists(mock):
    out = llm.map(["x"], "List tags of {}", schema=list[Tag], progress=False)
    assert list(out.columns[:2]) == ["content", "items"]
    assert isinstance(out["items"].iloc[0], list) and all(
        "label" in t for t in out["items"].iloc[0]
    )
