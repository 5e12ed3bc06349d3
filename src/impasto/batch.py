"""Planning a batch: which pictures to paint, where they go, and which are already done.

A batch is a list of :class:`Job` (a photo, one or more paintings that blend,
an output path, the options). Jobs come from photos x ``--style`` entries or
from a JSON-lines manifest. Everything that can be refused is refused here,
before any work: unreadable manifest lines (with their line numbers), missing
files, two jobs writing the same file, an output that would replace an input,
and existing outputs made from other inputs or options (unless ``overwrite``).
Running a batch (workers, writing) is :mod:`impasto.batch_run`.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import output, recipe as recipes
from .config import INIT_KEYWORDS, StyleConfig
from .errors import InputError

#: Characters that separate the paintings of one ``--style`` entry (they blend).
BLEND_SEPARATOR = ","
_OPTION_NAMES = frozenset(f.name for f in fields(StyleConfig))
_MANIFEST_KEYS = frozenset({"content", "style", "output"})
_MAX_LISTED = 20


@dataclass(frozen=True)
class Job:
    """One picture: ``content`` painted in ``styles`` (blended), written to ``output``."""

    content: str
    styles: tuple[str, ...]
    output: Path
    config: StyleConfig
    line: int = 0  # line of the manifest it came from; 0 from the command line

    @property
    def init(self) -> str | None:
        """The start image's path, if the options name one."""
        return self.config.init_path

    def inputs(self) -> list[str]:
        return [self.content, *self.styles] + ([self.init] if self.init else [])

    def where(self) -> str:
        return f"line {self.line}: " if self.line else ""


@dataclass(frozen=True)
class Plan:
    """What a run will do: ``todo`` to paint, ``skipped`` already finished (job, reason)."""

    todo: list[Job]
    skipped: list[tuple[Job, str]] = field(default_factory=list)


class ManifestError(InputError):
    """Every bad line of a manifest at once, each with its line number."""

    def __init__(self, manifest: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:_MAX_LISTED]
        more = len(self.problems) - len(shown)
        text = f"{manifest}: {len(self.problems)} bad line(s), nothing was painted:\n  " + "\n  ".join(shown)
        super().__init__(text + (f"\n  ... and {more} more" if more > 0 else ""))


# ---- jobs from the command line -------------------------------------------------------------

def split_style(entry: str) -> tuple[str, ...]:
    """One ``--style`` entry: a painting, or several separated by commas (they blend)."""
    if Path(entry).is_file():  # a file whose name holds a comma is still one painting
        return (entry,)
    parts = tuple(p.strip() for p in entry.split(BLEND_SEPARATOR) if p.strip())
    if not parts:
        raise InputError(f"--style {entry!r}: no painting named")
    return parts


def _label(path: Path, depth: int) -> str:
    parents = list(path.parent.parts[len(path.parent.parts) - depth:]) if depth else []
    return "_".join([*(p.strip("/\\") or "root" for p in parents), path.stem])


def unique_labels(paths: Iterable[str]) -> dict[str, str]:
    """A short name per file for output names: its stem, with parent folders added only
    where two different files share a stem (``a/IMG_1.jpg`` -> ``a_IMG_1``).

    The same files always get the same names, so re-running a batch finds its outputs.
    """
    given = list(dict.fromkeys(paths))
    resolved = {p: Path(p).resolve() for p in given}
    distinct = sorted(set(resolved.values()))
    depth = dict.fromkeys(distinct, 0)
    while True:
        groups: dict[str, list[Path]] = defaultdict(list)
        for r in distinct:
            groups[_label(r, depth[r])].append(r)
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            break
        moved = False
        for group in clashes:
            for r in group:
                if depth[r] < len(r.parent.parts):
                    depth[r] += 1
                    moved = True
        if not moved:
            names = " and ".join(str(r) for r in clashes[0])
            raise InputError(f"{names} would get the same output name: rename one, or use --manifest "
                             "with an output per job")
    return {p: _label(resolved[p], depth[resolved[p]]) for p in given}


def jobs_from_args(photos: Sequence[str], style_entries: Sequence[str], outdir: Path,
                   config: StyleConfig) -> list[Job]:
    """Every photo in every ``--style`` entry's style: ``OUTDIR/PHOTO-PAINTING.png``.

    Photo-major order, so the driver reads each photo once for all its styles.
    """
    if not photos:
        raise InputError("no photos given (or use --manifest)")
    if not style_entries:
        raise InputError("no --style given")
    blends = [split_style(e) for e in style_entries]
    photo_names = unique_labels(photos)
    painting_names = unique_labels(p for blend in blends for p in blend)
    jobs = []
    for photo in dict.fromkeys(photos):  # a photo given twice is painted once
        for blend in dict.fromkeys(blends):
            name = f"{photo_names[photo]}-{'+'.join(painting_names[p] for p in blend)}.png"
            jobs.append(Job(photo, blend, outdir / name, config))
    return jobs


# ---- jobs from a manifest -------------------------------------------------------------------

def jobs_from_manifest(manifest: str | os.PathLike[str], outdir: Path, config: StyleConfig) -> list[Job]:
    """One job a line: ``{"content": ..., "style": ... or [...], "output": ..., any option}``.

    Relative input paths are relative to the manifest's folder, a relative
    ``output`` to ``outdir``; without ``output`` the name is PHOTO-PAINTING.png.
    Blank lines and lines starting with ``#`` are ignored. Every bad line is
    reported (:class:`ManifestError`), none is painted.
    """
    path = Path(manifest)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"manifest {manifest}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"manifest {manifest}: cannot read it ({exc.__class__.__name__})") from None
    base = path.parent
    jobs, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            jobs.append(_manifest_job(line, number, base, outdir, config))
        except InputError as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        raise ManifestError(str(manifest), problems)
    if not jobs:
        raise InputError(f"manifest {manifest}: no jobs in it")
    return jobs


def _manifest_job(line: str, number: int, base: Path, outdir: Path, config: StyleConfig) -> Job:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(entry, dict):
        raise InputError("not a JSON object")
    unknown = sorted(set(entry) - _MANIFEST_KEYS - _OPTION_NAMES)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}")
    content, style = entry.get("content"), entry.get("style")
    if not isinstance(content, str) or not content:
        raise InputError('"content" must name the photo')
    styles = [style] if isinstance(style, str) else style
    if not isinstance(styles, list) or not styles or not all(isinstance(s, str) and s for s in styles):
        raise InputError('"style" must name a painting or a list of paintings')
    options = {k: v for k, v in entry.items() if k in _OPTION_NAMES}
    if isinstance(options.get("init"), str) and options["init"] not in INIT_KEYWORDS:
        options["init"] = str(base / options["init"])
    try:
        job_config = config.with_options(**options)
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from None
    content_path = str(base / content)
    style_paths = tuple(str(base / s) for s in styles)
    out = entry.get("output")
    if out is None:
        out = f"{Path(content).stem}-{'+'.join(Path(s).stem for s in styles)}.png"
    elif not isinstance(out, str) or not out:
        raise InputError('"output" must be a file name')
    job = Job(content_path, style_paths, outdir / out, job_config, line=number)
    missing = [p for p in job.inputs() if not Path(p).is_file()]
    if missing:
        raise InputError(f"{missing[0]}: file not found")
    output.format_for(job.output)
    return job


# ---- checks before any work -----------------------------------------------------------------

def check(jobs: Sequence[Job]) -> None:
    """Refuse missing inputs, two jobs with one output, and outputs that are inputs."""
    problems: list[str] = []
    inputs = {Path(p).resolve() for job in jobs for p in job.inputs()}
    for job in jobs:
        for p in job.inputs():
            if not Path(p).is_file():
                problems.append(f"{job.where()}{p}: file not found")
        if job.output.resolve() in inputs:
            problems.append(f"{job.where()}output {job.output} is one of the inputs")
        if job.output.is_dir():
            problems.append(f"{job.where()}output {job.output} is a directory")
    by_output: dict[Path, list[Job]] = defaultdict(list)
    for job in jobs:
        by_output[job.output.resolve()].append(job)
    for out, same in by_output.items():
        if len(same) > 1:
            who = ", ".join(f"line {j.line}" if j.line else f"{j.content} in {'+'.join(j.styles)}"
                            for j in same)
            problems.append(f"{len(same)} jobs would write {out}: {who}")
    if problems:
        raise InputError(_listing("cannot start the batch", list(dict.fromkeys(problems))))


def _listing(head: str, problems: Sequence[str]) -> str:
    shown = list(problems[:_MAX_LISTED])
    more = len(problems) - len(shown)
    return f"{head}:\n  " + "\n  ".join(shown) + (f"\n  ... and {more} more" if more > 0 else "")


# ---- resume ---------------------------------------------------------------------------------

class Digests:
    """SHA-256 of input files, each file hashed at most once."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        key = str(Path(path).resolve())
        if key not in self._known:
            self._known[key] = recipes.sha256(Path(path))
        return self._known[key]


def finished(job: Job, recipe: Mapping[str, Any] | None, digest: Digests) -> bool | None:
    """True: ``recipe`` is this job's, complete. None: this job's but stopped early
    (repainted freely). False: another picture (only replaced with ``overwrite``)."""
    if not recipe:
        return False
    if json.loads(json.dumps(recipe.get("options"))) != json.loads(json.dumps(job.config.to_dict())):
        return False
    inputs = recipe.get("inputs") or {}
    try:
        stored = [inputs["content"]["sha256"], *(s["sha256"] for s in inputs["styles"])]
        if job.init:
            stored.append(inputs["init"]["sha256"])
    except (KeyError, TypeError):
        return False
    if stored != [digest(p) for p in job.inputs()]:
        return False
    return True if recipe.get("stopped") is None else None


def plan(jobs: Sequence[Job], *, overwrite: bool = False) -> Plan:
    """Check ``jobs`` and split them into what to paint and what is already done.

    An existing output whose recipe matches (same inputs' SHA-256, same
    options) is skipped without being opened for writing; one made from
    anything else is refused unless ``overwrite``.
    """
    check(jobs)
    digest = Digests()
    todo, skipped, refused = [], [], []
    for job in jobs:
        if not job.output.exists():
            todo.append(job)
            continue
        try:
            recipe = recipes.read_recipe(job.output)
        except Exception:  # noqa: BLE001 - not a picture we can read: someone else's file
            recipe = None
        state = finished(job, recipe, digest)
        if state:
            skipped.append((job, "already painted with the same inputs and options"))
        elif state is None or overwrite:
            todo.append(job)
        else:
            refused.append(f"{job.where()}{job.output} exists and was made from other inputs or options")
    if refused:
        raise InputError(_listing("some outputs exist (pass --overwrite to replace them)", refused))
    return Plan(todo, skipped)
