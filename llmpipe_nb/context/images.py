"""Figures and images in a prompt: a matplotlib Figure (or Axes), a PIL image, PNG/JPEG/GIF/
WEBP bytes, or a path to such a file become an image part of the message.

Each is scaled down (never up) so its longer side fits the provider's limit, and
re-encoded as JPEG if it is still over `MAX_BYTES`. Its tokens are estimated as
width * height / 750 (Anthropic's published rule; other providers count fewer), so the
budget errs on the safe side. Pillow is needed to measure and scale an image; it comes
with matplotlib.
"""

from __future__ import annotations

import base64
import io
import math
import os
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from ..errors import ConfigError, MissingDependencyError
from .renderers import no_spec, render_other, render_text, renderer

#: the longest side each provider takes without scaling the image itself
MAX_SIDE = {"anthropic": 1568, "gemini": 3072, "openai": 2048}
DEFAULT_MAX_SIDE = 2048
#: the largest image sent (Anthropic's per-image limit, the strictest)
MAX_BYTES = 5 * 1024 * 1024
SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".webp": "webp"}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True)
class Image:
    """An image on its way into a prompt: its encoded bytes, type and size."""

    data: bytes
    media_type: str
    width: int
    height: int

    @property
    def tokens(self) -> int:
        return max(1, math.ceil(self.width * self.height / 750))

    @property
    def label(self) -> str:
        kind = self.media_type.partition("/")[2].upper()
        return f"[image: {self.width}x{self.height} {kind}, {len(self.data):,} bytes]"

    def part(self) -> dict[str, Any]:
        """The message part every provider translates."""
        data = base64.b64encode(self.data).decode("ascii")
        return {"type": "image", "data": data, "media_type": self.media_type}

    def fitted(self, max_side: int) -> Image:
        """This image scaled down to `max_side` pixels on its longer side, under MAX_BYTES."""
        if max(self.width, self.height) <= max_side and len(self.data) <= MAX_BYTES:
            return self
        pil = _pil()
        with pil.open(io.BytesIO(self.data)) as im:
            im.thumbnail((max_side, max_side))
            image = _encoded(im, "PNG" if self.media_type == "image/png" else "JPEG")
            while len(image.data) > MAX_BYTES:
                im = im.resize((max(1, im.width * 3 // 4), max(1, im.height * 3 // 4)))
                image = _encoded(im, "JPEG")
            return image


def media_type(data: bytes) -> str | None:
    """The image type the bytes start with, if they are an image."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def from_bytes(data: bytes) -> Image:
    kind = media_type(data)
    if kind is None:
        raise ConfigError("These bytes are not a PNG, JPEG, GIF or WEBP image: pass image bytes.")
    with _pil().open(io.BytesIO(data)) as im:
        width, height = im.size
    return Image(bytes(data), kind, width, height)


def image_path(value: str | PurePath) -> str | None:
    """`value` as a path when it names an existing image file (by its suffix), else None."""
    path = os.fspath(value)
    if len(path) > 4096 or "\n" in path:
        return None
    if os.path.splitext(path)[1].lower() in SUFFIXES and os.path.isfile(path):
        return path
    return None


def from_path(value: str | PurePath) -> Image:
    path = image_path(value)
    if path is None:
        raise ConfigError(
            f"{os.fspath(value)!r} is not an image file (.png, .jpg, .gif or .webp) that exists: "
            "check the path."
        )
    with open(path, "rb") as file:
        return from_bytes(file.read())


@renderer("matplotlib.figure:Figure", "matplotlib.axes:Axes")
def render_figure(value: Any, spec: str) -> Image:
    """A matplotlib Figure (or the Figure of an Axes) as a PNG."""
    no_spec("figure", spec)
    figure = value if hasattr(value, "savefig") else value.figure
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return from_bytes(buffer.getvalue())


@renderer("PIL.Image:Image")
def render_pil(value: Any, spec: str) -> Image:
    no_spec("PIL image", spec)
    return _encoded(value, "PNG")


@renderer(bytes, bytearray)
def render_bytes(value: bytes, spec: str) -> Any:
    """Image bytes as the image; any other bytes as their repr, clipped."""
    if media_type(bytes(value[:16])) is not None and not spec:
        return from_bytes(bytes(value))
    return render_other(value, spec)


@renderer(PurePath)
def render_path(value: PurePath, spec: str) -> Any:
    """A path to an image file as the image; any other path as its text."""
    if not spec and os.path.splitext(value)[1].lower() in SUFFIXES:
        return from_path(value)
    return render_other(value, spec)


@renderer(str)
def render_text_or_image(value: str, spec: str) -> Any:
    """A string; one that is the path of an existing image file is that image."""
    if not spec and image_path(value) is not None:
        return from_path(value)
    return render_text(value, spec)


def _encoded(im: Any, fmt: str) -> Image:
    if fmt == "JPEG" and im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    elif im.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        im = im.convert("RGBA")
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return Image(buffer.getvalue(), f"image/{fmt.lower()}", im.width, im.height)


def _pil() -> Any:
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise MissingDependencyError("pillow", "notebook") from None
    return PILImage
