"""Annotation shapes: what a layer (or a drawn diagram) may hold, checked on the server.

Coordinates are fractions (0..1) of the page, so a layer fits the picture at any size.
Colours come from a fixed palette and text has length limits: a layer is data, never markup,
and the browser draws it with DOM calls, never by parsing it.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from evidence_store import plain_text_problem

PALETTE = ("red", "yellow", "blue", "green", "black", "white")
Colour = Literal["red", "yellow", "blue", "green", "black", "white"]
TEXT_SIZES = ("small", "medium", "large")
MAX_SHAPES = 200
MAX_TEXT = 300
MAX_LAYER_NAME = 100
MAX_PAGE = 999


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _clean_text(value: str) -> str:
    """NFC (Vietnamese typed on some systems arrives decomposed); no control characters but
    line breaks, which would otherwise hide text or break rendering."""
    value = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(c) in ("Cc", "Cf") and c != "\n" for c in value):
        raise ValueError("control characters are not allowed")
    if len(value) > MAX_TEXT:
        raise ValueError(f"at most {MAX_TEXT} characters")
    return value


Fraction = Annotated[float, Field(ge=0.0, le=1.0), AfterValidator(_finite)]
Extent = Annotated[float, Field(gt=0.0, le=1.0), AfterValidator(_finite)]
Text = Annotated[str, AfterValidator(_clean_text)]
Label = Annotated[str, Field(min_length=1), AfterValidator(_clean_text)]
Page = Annotated[int, Field(ge=0, le=MAX_PAGE)]


class _Shape(BaseModel):
    # strict: "0.5" is not a number and True is not 1; unknown keys are refused, not dropped
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    page: Page = 0
    colour: Colour = "red"


class _Rect(_Shape):
    x: Fraction
    y: Fraction
    w: Extent
    h: Extent

    @model_validator(mode="after")
    def _inside(self) -> _Rect:
        if self.x + self.w > 1.0 + 1e-9 or self.y + self.h > 1.0 + 1e-9:
            raise ValueError("the rectangle must lie inside the picture")
        return self


class Box(_Rect):
    """A framed box, with optional text inside (a person or an event on a sơ đồ)."""

    type: Literal["box"]
    text: Text = ""


class Highlight(_Rect):
    """A translucent rectangle over part of the picture."""

    type: Literal["highlight"]


class Callout(_Rect):
    """A box of text with a pointer to the spot it explains."""

    type: Literal["callout"]
    px: Fraction
    py: Fraction
    text: Label


class Arrow(_Shape):
    type: Literal["arrow"]
    x1: Fraction
    y1: Fraction
    x2: Fraction
    y2: Fraction

    @model_validator(mode="after")
    def _has_length(self) -> Arrow:
        if self.x1 == self.x2 and self.y1 == self.y2:
            raise ValueError("an arrow needs two different points")
        return self


class TextLabel(_Shape):
    type: Literal["label"]
    x: Fraction
    y: Fraction
    text: Label
    size: Literal["small", "medium", "large"] = "medium"


Shape = Annotated[Box | Highlight | Callout | Arrow | TextLabel, Field(discriminator="type")]
_SHAPES: TypeAdapter[list[Shape]] = TypeAdapter(list[Shape])


class ShapeError(ValueError):
    """Shapes that cannot be accepted, with one readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _problems(error: ValidationError) -> list[str]:
    found = []
    for item in error.errors()[:10]:
        where = ".".join(str(part) for part in item["loc"])
        found.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
    return found


def parse_shapes(value: object) -> list[dict[str, Any]]:
    """Validated shapes as plain dicts (defaults filled in), or ShapeError."""
    if not isinstance(value, list):
        raise ShapeError(["shapes must be a list"])
    if len(value) > MAX_SHAPES:
        raise ShapeError([f"at most {MAX_SHAPES} shapes per layer"])
    try:
        shapes = _SHAPES.validate_python(value)
    except ValidationError as error:
        raise ShapeError(_problems(error)) from None
    return [shape.model_dump() for shape in shapes]


def parse_line(value: object, *, field: str, limit: int) -> str:
    """One line of 1..limit characters (a title, a layer name), or ShapeError."""
    if not isinstance(value, str):
        raise ShapeError([f"{field}: must be text"])
    try:
        line = _clean_text(value[: limit + 1]).strip()
    except ValueError as error:
        raise ShapeError([f"{field}: {error}"]) from None
    if not line or "\n" in line or len(line) > limit:
        raise ShapeError([f"{field}: one line of 1-{limit} characters"])
    if (problem := plain_text_problem(line)) is not None:  # the one rule for metadata
        raise ShapeError([f"{field}: {problem}"])
    return line


def canonical_json(value: object) -> str:
    """One spelling per value, so equal shapes hash equal."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
