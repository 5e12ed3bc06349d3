"""From a multipart request to a queued job: options, uploads, bundled examples.

Options are generated from :class:`impasto.StyleConfig`'s fields (type, default,
help, choices) and validated by constructing one, so the page, the API and
the CLI can never disagree about what a value may be. Uploaded files are
stored under server-made names (uuid4 hex plus a normalised extension);
the user's file name is kept only as a label for display. The whole request
is checked before anything is queued, and a refused job leaves no file behind.
A ``clip`` upload instead of a photo makes a video job (:mod:`.video_jobs`).
Decoding an upload (to check it) holds one of a few slots (:class:`Uploads`):
when all are taken a request waits briefly, then gets 503.
"""

from __future__ import annotations

import math
import shutil
import threading
import unicodedata
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeGuard, cast

from PIL import Image, UnidentifiedImageError
from starlette.datastructures import FormData, UploadFile

from .. import image as im
from ..config import INIT_KEYWORDS, StyleConfig
from ..errors import InputError
from ..options import OptionSpec, option_specs
from . import video_jobs
from .errors import BadRequest
from .examples import example, names as example_names
from .jobs import Job, JobQueue, QueueFull
from .settings import (
    DECODE_WAIT_S,
    DEFAULT_MAX_DECODING,
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIZE,
    MAX_STEPS,
    MAX_STYLES,
)

#: The options a web user may set. Left out on purpose: device, precision and
#: weights (the server's business; weights takes a path), layer lists (expert only).
WEB_OPTIONS = ("size", "quality", "steps", "start_size", "style_weight", "content_weight",
               "tv_weight", "palette_weight", "histogram_weight", "style_weights", "style_scale",
               "preserve_colors", "pooling", "optimizer", "init", "seed")
INIT_CHOICES = INIT_KEYWORDS  # init may also be a path on the CLI; never from the web
FILE_FIELDS = ("content", "style", "clip")
NAME_FIELDS = ("content_example", "style_example")

EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp",
              "TIFF": ".tif", "MPO": ".jpg"}


_SPECS = {spec.name: spec for spec in option_specs(StyleConfig)}


@dataclass(frozen=True)
class Uploads:
    """One studio's limits on what a request may send, and its decoding slots."""

    max_bytes: int = 25_000_000
    max_video_bytes: int = 200_000_000
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_size: int = DEFAULT_MAX_SIZE
    max_frames: int = DEFAULT_MAX_FRAMES
    decoding: threading.Semaphore = field(default_factory=lambda: threading.BoundedSemaphore(DEFAULT_MAX_DECODING))
    decode_wait_s: float = DECODE_WAIT_S

    @contextmanager
    def decode_slot(self) -> Iterator[None]:
        """Hold a decoding slot while checking an upload; 503 if none frees up in time."""
        if not self.decoding.acquire(timeout=self.decode_wait_s):
            raise BadRequest(503, "the studio is busy reading other uploads; try again in a moment")
        try:
            yield
        finally:
            self.decoding.release()


def describe_options(max_size: int) -> list[dict[str, Any]]:
    """Each web option's name, type, default, help and choices, for the page and the OpenAPI schema."""
    out = []
    for name in WEB_OPTIONS:
        spec = _SPECS[name]
        default = spec.default
        entry: dict[str, Any] = {"name": name, "type": _kind(spec), "help": spec.help,
                                 "default": list(default) if isinstance(default, tuple) else default}
        choices = INIT_CHOICES if name == "init" else spec.choices
        if name == "init":  # the CLI also takes a path here; the web never does
            entry["help"] = "start image: the photo (content) or noise"
        if choices and entry["type"] == "string":
            entry["choices"] = list(choices)
        if name == "size":
            entry["max"] = max_size
        out.append(entry)
    return out


def _kind(spec: OptionSpec) -> str:
    """The option's value type as a word, as the page and the OpenAPI schema name it."""
    if spec.many:
        return "number list" if spec.type is float else "string list"
    return {int: "integer", float: "number", str: "string"}.get(spec.type, "string")


def _convert(name: str, raw: str) -> Any:
    kind = _kind(_SPECS[name])
    try:
        if kind == "integer":
            return int(raw.strip())
        if kind == "number":
            value = float(raw.strip())
            if not math.isfinite(value):
                raise ValueError
            return value
        if kind == "number list":
            parts = [p for p in raw.replace(",", " ").split() if p]
            return tuple(float(p) for p in parts)
    except ValueError:
        noun = {"integer": "an integer", "number": "a finite number",
                "number list": "numbers separated by commas"}[kind]
        raise BadRequest(422, f"{name}={raw[:40]!r} is invalid: must be {noun}") from None
    return raw.strip()


def parse_config(values: dict[str, str], n_styles: int, max_size: int) -> StyleConfig:
    """The run's StyleConfig from form fields; every problem is a 422 naming the option."""
    options: dict[str, Any] = {}
    for name, raw in values.items():
        if raw.strip() != "":  # an empty field means "the default", as in a plain HTML form
            options[name] = _convert(name, raw)
    if "init" in options and options["init"] not in INIT_CHOICES:
        raise BadRequest(422, f"init={options['init'][:40]!r} is invalid: allowed: {', '.join(INIT_CHOICES)}")
    try:
        config = StyleConfig(**options)
    except (TypeError, ValueError) as exc:
        raise BadRequest(422, str(exc).splitlines()[0]) from None
    if config.size > max_size:
        raise BadRequest(422, f"size={config.size} is invalid: this studio paints at most {max_size} px")
    if (config.steps or 0) > MAX_STEPS:
        raise BadRequest(422, f"steps={config.steps} is invalid: at most {MAX_STEPS}")
    try:
        config.check_counts(n_styles)
    except InputError as exc:
        raise BadRequest(422, str(exc)) from None
    return config


def web_options(config: StyleConfig) -> dict[str, Any]:
    """The effective value of every web option, shown with the job."""
    data = config.to_dict()
    return {name: data[name] for name in WEB_OPTIONS}


def label(filename: str | None, fallback: str) -> str:
    """A display name from a user's file name: its last part, printable, short. Never a path."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] not in "CZ" or c == " ").strip()
    return name[:80] or fallback


def _copy(stream: BinaryIO, tmp: Path, role: str, shown: str, max_bytes: int) -> None:
    with open(tmp, "wb") as out:
        copied = 0
        while chunk := stream.read(1 << 20):
            copied += len(chunk)
            if copied > max_bytes:
                raise BadRequest(413, f"{role} {shown} is larger than the limit of {max_bytes / 1e6:g} MB")
            out.write(chunk)
    if copied == 0:
        raise BadRequest(422, f"{role} {shown} is empty")


def save_upload(stream: BinaryIO, filename: str | None, role: str, folder: Path,
                limits: Uploads) -> dict[str, str]:
    """Copy an upload under a new uuid name, check it is a usable image, return it as a job input."""
    shown = label(filename, role)
    tmp = folder / f"{uuid.uuid4().hex}.part"
    try:
        _copy(stream, tmp, role, shown, limits.max_bytes)
        with limits.decode_slot():
            fmt = _check_pixels(tmp, role, shown, limits.max_pixels)
            try:
                im.load(tmp, max_pixels=limits.max_pixels, label=role)
            except InputError as exc:  # its message names our temporary path; show the user's name
                raise BadRequest(422, str(exc).replace(str(tmp), shown)) from None
        final = tmp.with_suffix(EXTENSIONS.get(fmt, ".img"))
        shutil.move(tmp, final)
        return {"path": str(final), "label": shown}
    finally:
        tmp.unlink(missing_ok=True)


def save_clip(stream: BinaryIO, filename: str | None, folder: Path, limits: Uploads,
              video: video_jobs.VideoConfig) -> dict[str, str]:
    """Copy a clip upload under a new uuid name and decode it (small) to refuse a bad one now."""
    shown = label(filename, "clip")
    tmp = folder / f"{uuid.uuid4().hex}.part"
    try:
        _copy(stream, tmp, "clip", shown, limits.max_video_bytes)
        with limits.decode_slot():
            video_jobs.check_clip(tmp, shown, video, limits.max_pixels)
        final = tmp.with_suffix(video_jobs.suffix(filename))
        shutil.move(tmp, final)
        return {"path": str(final), "label": shown}
    finally:
        tmp.unlink(missing_ok=True)


def _check_pixels(path: Path, role: str, shown: str, max_pixels: int) -> str:
    """The declared size against the limit, before any decoding; returns Pillow's format name."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                w, h = img.size
                fmt = img.format or ""
    except Image.DecompressionBombError:
        raise BadRequest(413, f"{role} {shown} has too many pixels (limit {max_pixels:,})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadRequest(422, f"{role} {shown}: not an image file (use JPEG, PNG or WebP)") from None
    if w * h > max_pixels:
        raise BadRequest(413, f"{role} {shown}: {w}x{h} px is over the limit of {max_pixels:,} pixels")
    return fmt


def _text_fields(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        given = form.getlist(name)
        if len(given) > 1 or any(not isinstance(v, str) for v in given):
            raise BadRequest(422, f"{name} must be given once, as text")
        if given:
            values[name] = cast(str, given[0])
    return values


def create_job(form: FormData, jobs: JobQueue, uploads: Path, limits: Uploads) -> dict[str, Any]:
    """Validate the whole request, then save uploads, then queue; undo the saves on any failure."""
    allowed = set(FILE_FIELDS) | set(NAME_FIELDS) | set(WEB_OPTIONS) | set(video_jobs.VIDEO_OPTIONS)
    unknown = sorted(set(form.keys()) - allowed)
    if unknown:
        raise BadRequest(422, f"unknown field(s) {', '.join(k[:40] for k in unknown)}; options are: "
                              f"{', '.join(WEB_OPTIONS)} (and for a clip {', '.join(video_jobs.VIDEO_OPTIONS)})")
    files = {name: [v for v in form.getlist(name) if _is_upload(v)] for name in FILE_FIELDS}
    names = {name: [v for v in form.getlist(name) if isinstance(v, str) and v] for name in NAME_FIELDS}
    for name in FILE_FIELDS:
        if any(isinstance(v, str) and v for v in form.getlist(name)):
            raise BadRequest(422, f"{name} must be an uploaded file (to name a bundled one use {name}_example)")
    values = _text_fields(form, WEB_OPTIONS)
    clip_values = _text_fields(form, video_jobs.VIDEO_OPTIONS)
    n_content = len(files["content"]) + len(names["content_example"]) + len(files["clip"])
    if n_content != 1:
        raise BadRequest(422, "content: give one photo, as a file (content) or a bundled one (content_example), "
                              "or one clip (clip)" if n_content == 0 else "content: give only one photo or clip")
    video = video_jobs.parse_video(clip_values, limits.max_frames) if files["clip"] else None
    if video is None and clip_values:
        raise BadRequest(422, f"{', '.join(clip_values)}: for clips only (send the video as clip)")
    n_styles = len(files["style"]) + len(names["style_example"])
    if not 1 <= n_styles <= MAX_STYLES:
        raise BadRequest(422, f"style: give 1 to {MAX_STYLES} paintings, as files (style) "
                              f"or bundled ones (style_example)")
    config = parse_config(values, n_styles, limits.max_size)
    content = [example(n, "photo") for n in names["content_example"]]
    styles = [example(n, "painting") for n in names["style_example"]]
    saved: list[dict[str, str]] = []
    try:
        for role, name, out in (("content", "content", content), ("style", "style", styles)):
            for i, upload in enumerate(files[name]):
                item = save_upload(upload.file, upload.filename, role, uploads, limits)
                saved.append(item)
                out.insert(i, item)  # uploaded paintings come before bundled ones
        if video is not None:
            clip = files["clip"][0]
            content.append(save_clip(clip.file, clip.filename, uploads, limits, video))
            saved.append(content[0])
        shown = web_options(config) | (video_jobs.options(video) if video else {})
        job = Job(id=uuid.uuid4().hex, content=content[0], styles=styles, options=shown, config=config,
                  video=video, kind="picture" if video is None else "video")
        position = jobs.submit(job)
    except QueueFull as exc:
        _discard(saved)
        raise BadRequest(503, str(exc)) from None
    except BaseException:
        _discard(saved)
        raise
    return {"id": job.id, "status": "queued", "position": position, "url": f"/api/jobs/{job.id}"}


def _is_upload(value: Any) -> TypeGuard[UploadFile]:
    # A browser sends an empty part, with no file name, for a file input left empty.
    return isinstance(value, UploadFile) and bool(value.filename or value.size)


def _discard(items: list[dict[str, str]]) -> None:
    for item in items:
        Path(item["path"]).unlink(missing_ok=True)


def form_schema(max_size: int) -> dict[str, Any]:
    """The multipart body of POST /api/jobs for the OpenAPI page, generated from StyleConfig."""
    props: dict[str, Any] = {
        "content": {"type": "string", "format": "binary", "description": "the photo"},
        "content_example": {"type": "string", "enum": example_names("photo"), "description": "or a bundled photo"},
        "clip": {"type": "string", "format": "binary",
                 "description": "or a video clip (mp4, mov, webm, gif...): a video job, its result an MP4"},
        "style": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": f"paintings (up to {MAX_STYLES} with style_example)"},
        "style_example": {"type": "array", "items": {"type": "string", "enum": example_names("painting")},
                          "description": "bundled paintings"},
    }
    types = {"integer": "integer", "number": "number", "string": "string", "number list": "string"}
    for option in describe_options(max_size):
        prop: dict[str, Any] = {"type": types[option["type"]], "description": option["help"]}
        if option["type"] == "number list":
            prop["description"] += " (comma-separated)"
        elif option["default"] is not None:
            prop["default"] = option["default"]
        if "choices" in option:
            prop["enum"] = option["choices"]
        props[option["name"]] = prop
    for name in video_jobs.VIDEO_OPTIONS:
        spec = video_jobs.VideoConfig.__dataclass_fields__[name]
        props[name] = {"type": "number" if name == "temporal_weight" else "integer",
                       "default": spec.default, "description": f"clips only: {spec.metadata['help']}"}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "properties": props}}}}}
