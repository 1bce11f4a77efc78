"""Image–caption pairs from catalogue files, image folders and EasyNLP TSV files.

Reading resolves every row to an :class:`Example` (id, image path or bytes,
free-text captions, attributes) up front, so a bad catalogue fails before any
training step, with the row named. Captions are drawn per epoch by
:class:`CaptionSampler`, deterministically from the seed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip.catalog.reader import cell_text, read_rows
from fashionclip.catalog.splits import split_keys
from fashionclip.errors import CatalogError, TemplateError
from fashionclip.io import is_remote, list_image_files
from fashionclip.templating import check_named_template
from fashionclip.training.config import DataSource, TrainConfigError
from fashionclip.training.regions import Box, mask_regions, read_label_names

log = logging.getLogger(__name__)

# the template field that names a mask region's label
REGION_FIELD = "label"
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".tsv": "tsv"}


@dataclass(frozen=True)
class Example:
    """One image with everything its captions can be made from."""

    id: str
    image: str | bytes
    captions: tuple[str, ...]
    attributes: dict[str, str] = field(default_factory=dict)
    source: int = 0
    box: Box | None = None  # a region of the image (fractions of its size), from a mask
    split_key: str = ""  # what the train / validation split hashes; default "<source>:<id>"


def source_format(source: DataSource) -> str:
    """The format of a source: its explicit ``format`` or one guessed from the path."""
    if source.format != "auto":
        if source.format not in (*_FORMATS.values(), "folder"):
            raise TrainConfigError(
                f"data source {source.path!r}: unknown format {source.format!r} (csv, jsonl, parquet, tsv, folder)"
            )
        return source.format
    path = Path(source.path)
    if path.is_dir():
        return "folder"
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise TrainConfigError(
            f"data source {source.path!r}: cannot tell the format from the suffix {path.suffix!r}; "
            "use a .csv/.jsonl/.parquet/.tsv file or an image folder, or set 'format'"
        )
    return fmt


def read_source(source: DataSource, index: int = 0) -> list[Example]:
    """All examples of one source, validated; raises :class:`TrainConfigError` naming the bad row."""
    path = Path(source.path).expanduser()
    if not path.exists():
        raise TrainConfigError(f"data source {source.path!r} does not exist")
    fmt = source_format(source)
    if fmt == "tsv":
        examples = _read_easynlp_tsv(path, source, index)
    elif fmt == "folder":
        examples = _read_folder(path, source, index)
    else:
        rows = _read_rows(path, fmt)
        root = Path(source.root).expanduser() if source.root else path.parent
        examples = _rows_to_examples(rows, source, root, index)
    if source.limit is not None:
        examples = examples[: source.limit]
    if not examples:
        raise TrainConfigError(f"data source {source.path!r} has no usable image–caption pairs")
    return examples


def _read_rows(path: Path, fmt: str) -> list[dict[str, Any]]:
    try:
        return read_rows(path, fmt)
    except CatalogError as exc:
        raise TrainConfigError(str(exc)) from None


@functools.lru_cache(maxsize=1024)
def _template_fields(template: str) -> tuple[str, ...]:
    # cached: every caption drawn in a DataLoader worker fills a template; checked here too, so a
    # DataSource made without a TrainConfig is never filled with attribute access either
    try:
        return tuple(check_named_template(template))
    except TemplateError as exc:
        raise TrainConfigError(str(exc)) from None


def _rows_to_examples(rows: list[dict[str, Any]], source: DataSource, root: Path, index: int) -> list[Example]:
    if not rows:
        return []
    columns = set(rows[0])
    where = f"data source {source.path!r}"
    if source.image_template is None and source.image_column not in columns:
        raise TrainConfigError(
            f"{where}: no image column {source.image_column!r} (columns: {sorted(columns)}); "
            "set image_column or image_template"
        )
    needed = set(source.caption_columns) | {f for t in source.templates for f in _template_fields(t)}
    if source.mask_template:
        needed = (needed - {REGION_FIELD}) | set(_template_fields(source.mask_template))
        names = read_label_names(_under(root, source.mask_labels))
    if source.image_template:
        needed |= set(_template_fields(source.image_template))
    if source.id_column:
        needed.add(source.id_column)
    missing = sorted(needed - columns)
    if missing:
        raise TrainConfigError(f"{where}: missing column(s) {missing} (columns: {sorted(columns)})")
    if not source.caption_columns and not source.templates:
        raise TrainConfigError(f"{where}: give caption_columns, templates or both")
    examples: list[Example] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, 1):
        attributes = {k: cell_text(v) for k, v in row.items()}
        item_id = attributes[source.id_column] if source.id_column else str(number)
        if not item_id:
            raise TrainConfigError(f"{where}, row {number}: empty id in column {source.id_column!r}")
        if item_id in seen:
            raise TrainConfigError(f"{where}, row {number}: duplicate id {item_id!r}")
        seen.add(item_id)
        template = source.image_template
        image = template.format(**attributes) if template else attributes[str(source.image_column)]
        if not image:
            raise TrainConfigError(f"{where}, row {number} (id {item_id!r}): empty image")
        if not is_remote(image):
            image = str(root / image)
        captions = tuple(c for c in (attributes[col] for col in source.caption_columns) if c)
        if not source.mask_template:
            key = f"{source.split_group}:{item_id}" if source.split_group else ""
            examples.append(Example(item_id, image, captions, attributes, index, split_key=key))
            continue
        mask = _under(root, source.mask_template.format(**attributes))
        try:
            regions = mask_regions(
                mask,
                names,
                ignore=source.ignore_labels,
                min_fraction=source.min_region_fraction,
                margin=source.region_margin,
            )
        except TrainConfigError as exc:
            raise TrainConfigError(f"{where}, row {number} (id {item_id!r}): {exc}") from None
        key = f"{source.split_group or index}:{item_id}"  # every region of a photo on the photo's side
        for label, box in regions:
            region_attributes = {**attributes, REGION_FIELD: label}
            examples.append(Example(f"{item_id}#{label}", image, captions, region_attributes, index, box, key))
    return examples


def _under(root: Path, path: str | None) -> Path:
    resolved = Path(str(path)).expanduser()
    return resolved if resolved.is_absolute() else root / resolved


def _read_easynlp_tsv(path: Path, source: DataSource, index: int) -> list[Example]:
    """EasyNLP's CLIP format: ``text<TAB>base64-encoded image`` per line."""
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                raise TrainConfigError(
                    f"{path}:{number}: expected 'text<TAB>base64-image', found {len(parts)} tab-separated fields"
                )
            text, encoded = parts[0].strip(), parts[1].strip()
            try:
                image = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise TrainConfigError(f"{path}:{number}: the image field is not valid base64") from None
            if not image:
                raise TrainConfigError(f"{path}:{number}: empty image")
            examples.append(Example(f"{path.stem}:{number}", image, (text,) if text else (), {"caption": text}, index))
    return examples


def _read_folder(path: Path, source: DataSource, index: int) -> list[Example]:
    """An image folder: captions from ``captions_file`` (CSV/JSONL with image + caption
    columns, image paths relative to the folder) or a ``.txt`` beside each image."""
    if source.captions_file:
        captions_path = Path(source.captions_file).expanduser()
        if not captions_path.is_absolute() and not captions_path.exists():
            captions_path = path / captions_path
        if not captions_path.exists():
            raise TrainConfigError(f"data source {source.path!r}: captions file {str(captions_path)!r} not found")
        fmt = _FORMATS.get(captions_path.suffix.lower())
        if fmt not in ("csv", "jsonl", "parquet"):
            raise TrainConfigError(f"captions file {str(captions_path)!r}: use .csv, .jsonl or .parquet")
        rows = _read_rows(captions_path, fmt)
        id_column = source.id_column if rows and source.id_column in rows[0] else None
        return _rows_to_examples(rows, replace(source, id_column=id_column), path, index)
    examples = []
    for image in list_image_files(path):
        sidecar = image.with_suffix(".txt")
        if not sidecar.exists():
            continue
        text = sidecar.read_text(encoding="utf-8").strip()
        if text:
            examples.append(Example(str(image.relative_to(path)), str(image), (text,), {"caption": text}, index))
    if not examples:
        raise TrainConfigError(
            f"data source {source.path!r}: no image has a caption; add a .txt file beside each image "
            "or set captions_file"
        )
    return examples


def split_by_id(
    examples: Sequence[Example], val_fraction: float, per_source: Sequence[float | None] = (), salt: str = ""
) -> tuple[list[int], list[int]]:
    """Deterministic train / validation indices from a hash of each id.

    ``per_source[i]``, when given, overrides ``val_fraction`` for source ``i``.
    Items with the same ``split_key`` (the regions of one photo) fall on the same side.
    An item keeps its side of the split when the catalogue grows or is reordered.
    """
    fractions = []
    for example in examples:
        fraction = val_fraction
        if example.source < len(per_source) and per_source[example.source] is not None:
            fraction = float(per_source[example.source])  # type: ignore[arg-type]
        fractions.append(fraction)
    keys = [example.split_key or f"{example.source}:{example.id}" for example in examples]
    return split_keys(keys, fractions, salt)


def rng_for(seed: int, epoch: int, index: int, stream: str = "") -> random.Random:
    """An independent random stream per (seed, epoch, item): the same draw whatever the
    worker, batch position or resume point."""
    digest = hashlib.blake2b(f"{seed}:{epoch}:{index}:{stream}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


@dataclass(frozen=True)
class Caption:
    """A drawn caption and the attribute facts it states.

    ``facts`` holds ``(column, value)`` pairs for a filled template (a list
    column gives one pair per named item); it is ``None`` for free text, which
    is known to be true of its own item only.
    """

    text: str
    facts: tuple[tuple[str, str], ...] | None = None


class CaptionSampler:
    """Picks one caption for an example: free text or a filled attribute template."""

    def __init__(self, sources: Sequence[DataSource]) -> None:
        self.sources = list(sources)
        self._fields = [[_template_fields(t) for t in s.templates] for s in self.sources]

    def candidates(self, example: Example, *, colour_free: bool = False) -> tuple[list[str], list[str]]:
        """Free-text captions and usable templates of one example."""
        source = self.sources[example.source]
        colour = set(source.colour_columns)
        templates = [
            t
            for t, names in zip(source.templates, self._fields[example.source], strict=True)
            if all(example.attributes.get(n) for n in names) and not (colour_free and colour & set(names))
        ]
        free = [] if colour_free and colour else list(example.captions)
        return free, templates

    def draw(self, example: Example, rng: random.Random, *, colour_free: bool = False) -> Caption:
        """A random caption of ``example``, with the facts it states."""
        source = self.sources[example.source]
        free, templates = self.candidates(example, colour_free=colour_free)
        if not free and not templates and colour_free:
            free, templates = self.candidates(example)
        if templates and (not free or rng.random() < source.template_probability):
            return self._fill(rng.choice(templates), example, rng)
        if free:
            return Caption(rng.choice(free))
        raise TrainConfigError(f"item {example.id!r} has no caption and no template it can fill")

    def sample(self, example: Example, rng: random.Random, *, colour_free: bool = False) -> str:
        """The text of :meth:`draw`."""
        return self.draw(example, rng, colour_free=colour_free).text

    def fill(self, template: str, example: Example, rng: random.Random | None = None) -> str:
        """``template`` filled from ``example``; without ``rng``, every list item and no alias."""
        return self._fill(template, example, rng).text

    def _fill(self, template: str, example: Example, rng: random.Random | None) -> Caption:
        source = self.sources[example.source]
        values = dict(example.attributes)
        facts: list[tuple[str, str]] = []
        for column in dict.fromkeys(_template_fields(template)):
            if column in source.list_columns:
                items = [v for v in values.get(column, "").split(source.list_columns[column] or None) if v]
                if items and rng is not None:
                    items = rng.sample(items, rng.randint(1, min(source.max_list_items, len(items))))
                facts.extend((column, item) for item in items)
                values[column] = _join([self._alias(source, column, item, rng) for item in items])
            else:
                facts.append((column, values[column]))
                values[column] = self._alias(source, column, values[column], rng)
        return Caption(" ".join(template.format(**values).split()), tuple(facts))

    @staticmethod
    def _alias(source: DataSource, column: str, value: str, rng: random.Random | None) -> str:
        # another common name for the same value teaches words the catalogue's own labels lack
        choices = source.aliases.get(column, {}).get(value)
        if choices and rng is not None and rng.random() < source.alias_probability:
            return rng.choice(choices)
        return value

    def holds(self, example: Example, facts: Sequence[tuple[str, str]], *, colour_removed: bool = False) -> bool:
        """Whether every fact is true of ``example`` (colour facts are false once its colour is removed)."""
        source = self.sources[example.source]
        for column, value in facts:
            if colour_removed and column in source.colour_columns:
                return False
            have = example.attributes.get(column, "")
            if column in source.list_columns:
                if value not in have.split(source.list_columns[column] or None):
                    return False
            elif have != value:
                return False
        return True

    def reference(self, example: Example) -> str:
        """The fixed caption used for validation: the first free text, else the first template."""
        free, templates = self.candidates(example)
        if free:
            return free[0]
        if templates:
            return self.fill(templates[0], example)
        raise TrainConfigError(f"item {example.id!r} has no caption and no template it can fill")


def batch_positives(
    sampler: CaptionSampler,
    examples: Sequence[Example],
    captions: Sequence[Caption],
    items: Sequence[int],
    colour_removed: Sequence[bool],
) -> np.ndarray:
    """(B, B) bool: image i (``examples[items[i]]``) matches caption j when it is j's own item,
    j's text is i's caption too (case aside), or i's attributes make every fact j states true."""
    texts = np.array([c.text.lower() for c in captions], dtype=object)
    ids = np.asarray(items)
    positives = (texts[:, None] == texts[None, :]) | (ids[:, None] == ids[None, :])
    columns: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
    for j, caption in enumerate(captions):
        if not caption.facts:
            continue
        if caption.facts not in columns:  # template captions repeat within a batch
            columns[caption.facts] = np.array(
                [
                    sampler.holds(examples[i], caption.facts, colour_removed=removed)
                    for i, removed in zip(items, colour_removed, strict=True)
                ]
            )
        positives[:, j] |= columns[caption.facts]
    return positives


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def read_sources(sources: Sequence[DataSource]) -> list[Example]:
    """Examples of all sources, in order; items with nothing to caption them are left out (logged)."""
    sampler = CaptionSampler(sources)
    examples: list[Example] = []
    for index, source in enumerate(sources):
        usable, uncaptioned = [], []
        for example in read_source(source, index):
            free, templates = sampler.candidates(example)
            (usable if free or templates else uncaptioned).append(example)
        if uncaptioned:
            log.warning(
                "data source %r: %d item(s) have no caption and no template they can fill, left out (first: %s)",
                source.path,
                len(uncaptioned),
                ", ".join(repr(e.id) for e in uncaptioned[:5]),
            )
        if not usable:
            raise TrainConfigError(f"data source {source.path!r}: no item has a caption or a template it can fill")
        examples.extend(usable)
    return examples


def epoch_order(indices: Sequence[int], weights: Sequence[int], seed: int, epoch: int) -> list[int]:
    """The shuffled training order of one epoch, each index repeated ``weights[i]`` times."""
    order = [i for i, w in zip(indices, weights, strict=True) for _ in range(w)]
    rng = random.Random(f"{seed}:{epoch}:order")
    rng.shuffle(order)
    return order


def batches(order: Sequence[int], batch_size: int, start: int = 0) -> Iterator[list[int]]:
    """Full batches of ``order`` from batch number ``start`` on; the last partial batch is dropped."""
    for b in range(start, len(order) // batch_size):
        yield list(order[b * batch_size : (b + 1) * batch_size])
