"""numpy arrays as prompt text: shape, dtype, summary statistics, then a few values.

The statistics of a numeric array ignore NaN and say how many there were; the values
shown are numpy's own abbreviated print (the first and last few along each axis), with
fewer of them at each smaller rendering, then none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .renderers import no_spec, renderer, shorter

#: values shown at each end of each axis, from the richest rendering (None: no values)
EDGE_ITEMS = (3, 1, None)


@renderer("numpy:ndarray")
def render_array(value: Any, spec: str) -> Iterator[str]:
    """A numpy array: its shape, dtype and statistics, then fewer values at each rendering."""
    import numpy as np

    no_spec("numpy array", spec)
    head = f"ndarray: shape {value.shape}, dtype {value.dtype}"
    numeric = np.issubdtype(value.dtype, np.number) and not np.iscomplexobj(value)
    if numeric and value.size:
        flat = value.astype(float, copy=False).ravel()
        nans = int(np.isnan(flat).sum())
        if nans < flat.size:
            head += (
                f"\nmin {np.nanmin(flat):.6g}, max {np.nanmax(flat):.6g}, "
                f"mean {np.nanmean(flat):.6g}, std {np.nanstd(flat):.6g}"
            )
        head += f", {nans:,} NaN" if nans else ""

    def text(edge: int | None) -> str:
        if edge is None:
            return head
        values = np.array2string(value, threshold=2 * edge, edgeitems=edge, precision=6)
        return f"{head}\nvalues:\n{values}"

    return shorter(text(edge) for edge in EDGE_ITEMS)
