"""Request and response models of a run's HTTP service, built from what the run was trained on.

A table run's request body has one field per column the model reads (numbers, categories,
dates, with the training column names); a text run's has `text`; images come as base64
(`image`), audio as `waveform` + `rate`, series as `series`. The OpenAPI schema therefore
documents the real inputs of this run, not `dict`. The response side is the task's: its
`response_model` and `to_responses` (`neuronet.tasks`).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import TYPE_CHECKING, Annotated, Any, Union

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, create_model

from neuronet.errors import DataError
from neuronet.tasks import get_task

if TYPE_CHECKING:  # pragma: no cover
    from neuronet.tasks import Task

__all__ = ["Problem", "instance_model", "response_model", "to_inputs", "to_responses", "check_pixels", "MAX_PIXELS"]

MAX_PIXELS = 50_000_000  # the most decoded pixels (all images together) one request may hold in memory

Finite = Annotated[float, Field(allow_inf_nan=False)]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]  # a JSON number: not true/false, not "12"


def _date(value: str) -> str:
    if pd.isna(pd.to_datetime(value, errors="coerce", format="mixed")):
        raise ValueError("is not a date; give one like 2024-05-31, or null if it is missing")
    return value


Date = Annotated[str, Field(max_length=64), AfterValidator(_date)]  # a long string takes the parser seconds


class Problem(BaseModel):
    """Every error the service returns: one sentence saying what was wrong and what would be right."""

    detail: str = Field(description="What was wrong with the request, and what would be right.")


def _identifier(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", str(name)).strip("_") or "column"
    base = f"c_{base}" if base[0].isdigit() else base
    candidate, i = base, 2
    while candidate in taken:
        candidate, i = f"{base}_{i}", i + 1
    taken.add(candidate)
    return candidate


def _table_fields(meta: dict[str, Any], steps: list[dict[str, Any]] | None) -> dict[str, Any]:
    kinds = {s["column"]: s for s in steps or []}
    columns = meta["inputs"].get("columns") or meta.get("feature_names") or []
    fields: dict[str, Any] = {}
    taken: set[str] = set()
    for column in columns:
        step = kinds.get(column)
        kind = step["kind"] if step else "numeric"
        if step is None:  # a numeric table: every column is a finite number
            annotation: Any = Number
            info = Field(alias=str(column), description="A number.")
        elif kind == "numeric":
            annotation = Union[Number, None]
            info = Field(alias=str(column), description="A number; null if missing (filled as in training).")
        elif kind == "date":
            annotation = Union[Date, None]
            info = Field(alias=str(column), description="A date, e.g. 2024-05-31; null if missing.")
        else:
            seen = [str(c) for c in (step.get("categories") or [])][:20]
            annotation = Union[str, Finite, bool, None]
            info = Field(alias=str(column), description="A category" + (f", e.g. {', '.join(seen)}" if seen else "")
                         + "; an unseen one is read as unknown, null as missing.")
        fields[_identifier(column, taken)] = (annotation, info)
    return fields


def instance_model(meta: dict[str, Any], steps: list[dict[str, Any]] | None = None) -> type[BaseModel]:
    """The pydantic model of one input instance of this run (what `POST /predict` takes)."""
    kind = meta["inputs"].get("kind", meta.get("layout"))
    config = ConfigDict(extra="ignore", populate_by_name=False)
    if kind in ("frame", "table"):
        return create_model("Row", __config__=ConfigDict(extra="ignore"), **_table_fields(meta, steps))
    if kind in ("text", "corpus"):
        what = {"text": "The text to read.", "corpus": "The text to continue (the prompt)."}[kind]
        fields: dict[str, Any] = {"text": (str, Field(min_length=1, max_length=100_000, description=what))}
    elif kind == "image":
        fields = {"image": (str, Field(min_length=1, description="The image file (PNG, JPEG, ...) as base64, or a "
                                                                  "data: URL; it is converted and resized as in training."))}
    elif kind in ("audio", "speech"):  # a recording to classify or to transcribe
        fields = {"waveform": (list[Finite], Field(min_length=1, max_length=10_000_000,
                                                   description="Mono samples in [-1, 1].")),
                  "rate": (Union[Annotated[int, Field(gt=0, le=1_000_000)], None],
                           Field(None, description=f"Sample rate in Hz (default: the training rate, "
                                                   f"{meta['inputs'].get('rate')}).")),}
    elif kind == "series":
        n = meta["inputs"].get("input_len", 1)
        fields = {"series": (Union[list[Union[Finite, None]], list[list[Union[Finite, None]]]],
                             Field(min_length=n, description=f"The series, oldest first: at least its last {n} "
                                                             "values (one list per step when it has several "
                                                             "features); null for a missing value."))}
    else:
        fields = {"values": (list[Any], Field(min_length=1, description=f"An array of shape {meta.get('input_shape')}."))}
    return create_model("Instance", __config__=config, **fields)


def response_model(task: Task | str, classes: list[str] | None) -> type[BaseModel]:
    """The pydantic model of one prediction: the task's (`Task.response_model`)."""
    return get_task(task).response_model(classes)


def check_pixels(size: tuple[int, int], total: int, where: str) -> int:
    """`total` plus the pixels of an image of `size` (width, height), if within MAX_PIXELS.

    The header says the size before any pixel is decoded: a small compressed file can hold a
    huge image (a "decompression bomb"), which is refused here, not after filling memory.

    Raises:
        DataError: the image, or the images so far, have more than MAX_PIXELS pixels.
    """
    total += size[0] * size[1]
    if total > MAX_PIXELS:
        raise DataError(f"{where} is {size[0]} x {size[1]} pixels, which takes this request over the "
                        f"{MAX_PIXELS // 1_000_000} megapixels the service decodes at once; send smaller or fewer "
                        "images.")
    return total


def _image(text: str, i: int, total: int) -> tuple[Any, int]:
    from PIL import Image, UnidentifiedImageError

    data = text.split(",", 1)[1] if text.startswith("data:") and "," in text else text
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise DataError(f"Instance {i}: 'image' is not valid base64; send the image file's bytes base64-encoded.") from None
    unreadable = (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError, SyntaxError, EOFError)
    refusal = f"Instance {i}: 'image' is not a readable image file (PNG, JPEG, BMP, GIF, WebP)."
    try:
        image = Image.open(io.BytesIO(raw))  # reads the header only
    except unreadable:
        raise DataError(refusal) from None
    total = check_pixels(image.size, total, f"Instance {i}: 'image'")
    try:
        image.load()
    except unreadable:
        raise DataError(refusal) from None
    return image, total


def to_inputs(kind: str, instances: list[BaseModel]) -> Any:
    """Validated instances → what the Predictor reads."""
    if kind in ("frame", "table"):
        return pd.DataFrame([item.model_dump(by_alias=True) for item in instances])
    if kind in ("text", "corpus"):
        return [item.text for item in instances]
    if kind == "image":
        images, total = [], 0
        for i, item in enumerate(instances):
            image, total = _image(item.image, i, total)
            images.append(image)
        return images
    if kind in ("audio", "speech"):
        return [(np.asarray(item.waveform, dtype=np.float32), item.rate) if item.rate else
                np.asarray(item.waveform, dtype=np.float32) for item in instances]
    if kind == "series":
        return [np.asarray([np.nan if v is None else v for v in item.series], dtype=np.float64)
                if item.series and not isinstance(item.series[0], list) else
                np.asarray([[np.nan if v is None else v for v in step] for step in item.series], dtype=np.float64)
                for item in instances]
    try:
        return np.stack([np.asarray(item.values, dtype=np.float32) for item in instances])
    except (TypeError, ValueError):
        raise DataError("'values' must be arrays of numbers of one shape.") from None


def to_responses(task: Task | str, frame: pd.DataFrame, classes: list[str] | None) -> list[dict[str, Any]]:
    """Rows of `Predictor.predict_frame` → one response dict per instance: the task's (`Task.to_responses`)."""
    return get_task(task).to_responses(frame, classes)
