"""Updates to an index from rows keyed by id, whole or partial: a price or stock feed names only
the ids and the columns that changed.

A row for a stored item changes the columns it gives; the others keep their stored values. It is
merged with the stored row and its row hash made again; unless it gives an image or a new text,
its stored embedding hash stands, so no image is read and the stored vector is written back (a
metadata-only write). A row that gives an image is planned as indexing plans it (the image is
read and embedded only if its bytes changed); one that changes the text is embedded again. A
row for an id not in the index adds a product, and needs an image or a text for that.

Every row is checked before anything is written: a bad id, value or column is a CatalogError
naming the item and the problem, and the index is left as it was. The writes then run through
the local executor's loop (:func:`fashionclip.indexing.local.embed_run`), batch by batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fashionclip.catalog.reader import (
    FORMATS,
    ID_COLUMNS,
    IMAGE_COLUMNS,
    NOT_A_NUMBER,
    TEXT_COLUMNS,
    CatalogData,
    CatalogItem,
    ColumnMap,
    Problem,
    cell_text,
    read_catalog,
    read_rows,
    to_number,
)
from fashionclip.encoder import Encoder
from fashionclip.errors import CatalogError, StoreError, shown
from fashionclip.indexing.hashes import index_info, row_hash
from fashionclip.indexing.local import check_batch_size, embed_run
from fashionclip.indexing.report import IndexReport
from fashionclip.indexing.run import IndexRun
from fashionclip.io import is_remote
from fashionclip.reserved_columns import RESERVED_COLUMNS
from fashionclip.store.base import Hit, Value, VectorStore
from fashionclip.store.filters import check_column_name

SHOWN = 5  # problems named in one error


@dataclass
class Feed:
    """Rows to apply: each a mapping of column to value; ``where`` names them in messages,
    ``typed`` says whether values are typed (JSON, Parquet, dictionaries) or all text (CSV),
    ``root`` is where relative image paths start."""

    rows: list[Mapping[str, Any]]
    where: str = "rows"
    typed: bool = True
    root: Path | None = None
    columns: ColumnMap | None = None  # the columns the rows were made with, where they are known


@dataclass
class _Layout:
    """Which of the feed's columns holds the id, the image, the text, and the metadata with its kinds."""

    id: str
    image: str | None
    texts: list[str]
    kinds: dict[str, str]  # metadata column -> "numeric" | "text", the index's or (new ones) the feed's


@dataclass
class _Row:
    """One parsed row: what it gives (None: not given)."""

    number: int
    id: str
    image: str | None = None
    gives_image: bool = False
    text: str | None = None
    metadata: dict[str, Value] = field(default_factory=dict)


def feed_of(source: Any, root: str | Path | None = None) -> Feed:
    """A :class:`Feed` from a catalogue file (.csv, .jsonl, .parquet), an image folder, a
    :class:`CatalogData`, a DataFrame or an iterable of mappings."""
    base = Path(root).expanduser() if root is not None else None
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if path.is_dir() or not path.exists():  # read_catalog names what is wrong with it
            return feed_of(read_catalog(path, root=root), root)
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise CatalogError(
                f"catalogue {str(path)!r}: unknown file type {path.suffix!r}; use .csv, .jsonl, .parquet or a folder"
            )
        return Feed(read_rows(path, fmt), str(path), typed=fmt != "csv", root=base or path.parent)
    if isinstance(source, CatalogData):
        if source.problems:
            raise CatalogError(f"{source.source or 'catalogue'}: {_listed(source.problems)} (nothing was written)")
        rows = [{"id": i.id, "image": i.image, "text": i.text, **i.metadata} for i in source.items]
        made = ColumnMap(id_column="id", image_column="image", text_columns="text")
        return Feed(rows, source.source or "catalogue", root=base, columns=made)
    if isinstance(source, Mapping):
        raise CatalogError("give a list of rows (one mapping per product), not one mapping")
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # a pandas DataFrame
        source = source.to_dict("records")
    if not isinstance(source, Iterable):
        raise CatalogError(f"rows: expected a file, a DataFrame or a list of mappings, got {type(source).__name__}")
    rows = list(source)
    for number, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            raise CatalogError(f"row {number}: expected a mapping of column to value, got {type(row).__name__}")
    return Feed(rows, root=base or Path.cwd())


def update_catalog(
    store: VectorStore,
    encoder: Encoder,
    feed: Feed,
    columns: ColumnMap = ColumnMap(),
    *,
    delete: Sequence[str] = (),
    new_columns: bool = False,
    skip_unknown: bool = False,
    image_refs: bool = True,
    batch_size: int = 256,
    show_progress: bool | None = None,
    optimize: bool = False,
) -> IndexReport:
    """Apply ``feed`` to ``store`` (see the module docstring), then remove the ``delete`` ids.

    - ``new_columns``: a column the index does not have is added (else refused, naming it: a
      typo in a feed must not become a column).
    - ``skip_unknown``: a row for an id not in the index that cannot add a product (no image and
      no text) is skipped and reported in ``problems`` (else refused).
    - ``image_refs``: False refuses rows that name an image (a server never opens a path a
      client names).
    - ``optimize``: bring the store's indices up to date afterwards, as indexing does.

    Raises CatalogError, naming the item and the problem, before anything is written.
    """
    check_batch_size(batch_size)
    if columns.image_template:
        raise CatalogError("an update gives the image column itself; image_template is for indexing a catalogue")
    deleted = check_ids(delete, "delete")
    info = index_info(encoder)
    store.claim(info)  # before reading it: another model's index is refused first
    kinds = store.columns()
    rows: list[_Row] = []
    problems: list[Problem] = []
    if feed.rows:
        layout = _layout(feed, feed.columns or columns, kinds, new_columns or not store.count())
        rows, problems = _parse(feed, layout, image_refs)
        kinds = {**kinds, **layout.kinds}  # with the new columns
    # the stored hashes of the feed's ids only: a price feed of ten rows reads ten, not the index
    run = IndexRun.begin(store, info, CatalogData([], [], [], feed.where), ids=[row.id for row in rows])
    both = sorted({row.id for row in rows} & set(deleted))
    if both:
        problems.append(Problem(f"item {both[0]!r}", "is both updated and deleted in this update", both[0]))
    stored = {hit.id: hit for hit in store.get([row.id for row in rows if row.id in run.stored])}
    items, keep, unknown = _merge(rows, stored, run.stored, kinds, problems)
    if unknown and not skip_unknown:
        problems.extend(unknown)
    if problems:
        raise CatalogError(f"{feed.where}: {_listed(problems)} (nothing was written)")
    run.items = items
    run.report.problems.extend(unknown)
    embed_run(run, encoder, batch_size=batch_size, show_progress=show_progress, keep_vectors=keep)
    if deleted:
        run.report.deleted = store.delete(deleted)
    return run.finish(False, optimize=optimize)


def check_ids(ids: Iterable[Any], what: str = "ids") -> list[str]:
    """``ids`` as a list without repeats, or CatalogError naming one that is no id (empty, not a
    string, or with a control character)."""
    if isinstance(ids, (str, bytes)):
        raise CatalogError(f"{what}: give a list of ids, not one string")
    checked = []
    for n, item_id in enumerate(ids, 1):
        if not isinstance(item_id, str) or not item_id.strip():
            raise CatalogError(f"{what} #{n}: {shown(item_id)} is not a product id (a non-empty string)")
        if _control(item_id):
            raise CatalogError(f"{what} #{n}: {shown(item_id)} holds a control character")
        checked.append(item_id)
    return list(dict.fromkeys(checked))


def _control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _listed(problems: Sequence[Problem]) -> str:
    named = "; ".join(str(p) for p in problems[:SHOWN])
    more = len(problems) - SHOWN
    return named + (f"; and {more} more" if more > 0 else "")


# ---------------------------------------------------------------------------- the feed's columns
def _layout(feed: Feed, columns: ColumnMap, kinds: Mapping[str, str], new_columns: bool) -> _Layout:
    """Where the id, image and text are, and each metadata column's kind; CatalogError for a
    column the index cannot take."""
    where = feed.where
    present = list(dict.fromkeys(name for row in feed.rows for name in row if name is not None))
    odd = next((name for name in present if not isinstance(name, str)), None)
    if odd is not None:
        raise CatalogError(f"{where}: column names are strings, got {shown(odd)}")
    id_column = columns.id_column or next((c for c in ID_COLUMNS if c in present), None)
    if id_column is None or (feed.rows and id_column not in present):
        raise CatalogError(
            f"{where}: no id column ({columns.id_column or ', '.join(ID_COLUMNS)}); columns are {present}"
        )
    # a column the index holds as metadata stays metadata, whatever its name suggests
    free = [c for c in present if c not in kinds and c != id_column]
    image = columns.image_column if columns.image_column in present else None
    if columns.image_column is None:
        image = next((c for c in IMAGE_COLUMNS if c in free), None)
    named = [columns.text_columns] if isinstance(columns.text_columns, str) else list(columns.text_columns or [])
    texts = [c for c in named if c in present] if named else [c for c in TEXT_COLUMNS if c in free][:1]
    if named and texts and len(texts) != len(named):
        missing = [c for c in named if c not in present]
        raise CatalogError(
            f"{where}: the text is made of columns {named}, and the rows give {texts} but not {missing}: "
            "give all of them or none"
        )
    metadata = [c for c in present if c not in (id_column, image, *texts)]
    found: dict[str, str] = {}
    for name in metadata:
        if name in kinds:
            found[name] = kinds[name]
            continue
        if name in RESERVED_COLUMNS:
            raise CatalogError(f"{where}: column {name!r} is a name the index keeps for itself; rename it")
        try:
            check_column_name(name)
        except StoreError as exc:
            raise CatalogError(f"{where}: {exc}") from None
        if not new_columns:
            raise CatalogError(
                f"{where}: column {name!r} is not in the index (its columns: {', '.join(kinds) or 'none'}); "
                "add it on purpose with new_columns=True (--new-columns)"
            )
        found[name] = _kind([row.get(name) for row in feed.rows if name in row], feed.typed)
    return _Layout(id_column, image, texts, found)


def _kind(values: list[Any], typed: bool) -> str:
    """A new column's kind: numeric when every filled value is a number (CSV: reads as one, and
    no code such as "00123")."""
    filled = [v for v in values if cell_text(v) and not isinstance(v, (list, dict))]
    if not filled:
        return "text"
    if typed:
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in filled)
    else:
        numbers = all(to_number(v) is not NOT_A_NUMBER and not _leading_zero(str(v)) for v in filled)
    return "numeric" if numbers else "text"


def _leading_zero(text: str) -> bool:
    text = text.strip().lstrip("+-")
    return len(text) > 1 and text[0] == "0" and text[1].isdigit()


# ---------------------------------------------------------------------------- the rows
def _parse(feed: Feed, layout: _Layout, image_refs: bool) -> tuple[list[_Row], list[Problem]]:
    """The rows as given, typed to the index's columns, and a problem for each bad one."""
    rows: list[_Row] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, raw in enumerate(feed.rows, 1):
        label = f"row {number}"
        if None in raw:  # csv.DictReader files surplus fields under None
            problems.append(Problem(label, "more fields than the header has columns (an unquoted comma?)"))
            continue
        value = raw.get(layout.id)
        item_id = cell_text(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if not item_id:
            problems.append(Problem(label, f"no id (column {layout.id!r} holds {shown(value)})"))
            continue
        label = f"item {item_id!r}"
        if _control(item_id):
            problems.append(Problem(label, "its id holds a control character", item_id))
            continue
        if item_id in seen:
            problems.append(Problem(label, "given twice in this update", item_id))
            continue
        seen.add(item_id)
        row = _Row(number, item_id)
        bad = _fill(row, raw, feed, layout, image_refs)
        if bad:
            problems.append(Problem(label, bad, item_id))
        else:
            rows.append(row)
    return rows, problems


def _fill(row: _Row, raw: Mapping[str, Any], feed: Feed, layout: _Layout, image_refs: bool) -> str | None:
    """Fill ``row`` from ``raw``; the problem, if any."""
    texts = []
    for name, value in raw.items():
        if name == layout.id:
            continue
        if value is not None and not isinstance(value, (str, int, float, bool)):
            return f"column {name!r} holds a {type(value).__name__}, not a text or a number"
        if name == layout.image:
            image = cell_text(value)
            if image and not image_refs:
                return f"column {name!r} names an image; image references are not accepted here"
            if image and feed.root is not None and not is_remote(image) and not Path(image).expanduser().is_absolute():
                image = str(feed.root / image)
            row.image, row.gives_image = image or None, True
        elif name in layout.texts:
            texts.append(cell_text(value))
        elif layout.kinds[name] == "numeric":
            number = to_number(value)
            if number is NOT_A_NUMBER:
                return f"column {name!r} holds {shown(value)}, not a number (the index holds numbers there)"
            row.metadata[name] = number
        else:
            row.metadata[name] = cell_text(value)
    if texts:
        row.text = " ".join(t for t in texts if t)
    return None


def _merge(
    rows: list[_Row],
    stored: Mapping[str, Hit],
    hashes: Mapping[str, str],
    kinds: Mapping[str, str],
    problems: list[Problem],
) -> tuple[list[CatalogItem], set[str], list[Problem]]:
    """The items to write: stored rows with the given columns replaced, and new products; the
    stored ids whose vector stays (neither image nor text given or changed); and a problem for
    each unknown id that cannot become a product. A row that would leave its product with
    neither image nor text goes into ``problems``."""
    items: list[CatalogItem] = []
    keep: set[str] = set()
    unknown: list[Problem] = []
    for row in rows:
        hit = stored.get(row.id)
        if hit is None:  # a new product: the index's columns it does not give are empty
            image, text = row.image, row.text or ""
            if not image and not text:
                reason = "not in the index, and its row has no image or text to add it from"
                unknown.append(Problem(f"item {row.id!r}", reason, row.id))
                continue
            empty = {name: None if kind == "numeric" else "" for name, kind in kinds.items()}
            items.append(CatalogItem(row.id, image, text, {**empty, **row.metadata}))
            continue
        base = stored_item(hit, hashes[row.id])
        image = row.image if row.gives_image else base.image
        text = row.text if row.text is not None else base.text
        if not image and not text:
            problems.append(Problem(f"item {row.id!r}", "would have no image and no text", row.id))
            continue
        if not row.gives_image and text == base.text:
            keep.add(row.id)
        items.append(CatalogItem(row.id, image, text, {**base.metadata, **row.metadata}))
    return items, keep, unknown


def stored_item(hit: Hit, content_hash: str) -> CatalogItem:
    """The catalogue item a stored row was written from. Stores give numbers back as floats,
    where a catalogue's "120" was the integer 120: whole numbers are read as integers where that
    gives the row hash the item was stored with (or where neither reading does), so that a
    feed that changes nothing leaves the hash, and the next full run, as they were."""
    row = content_hash.partition(":")[2]
    whole = {name: _whole(value) for name, value in hit.metadata.items()}
    for metadata in (whole, dict(hit.metadata)):
        item = CatalogItem(hit.id, hit.image, hit.text, metadata)
        if row_hash(item) == row:
            return item
    return CatalogItem(hit.id, hit.image, hit.text, whole)


def _whole(value: Value) -> Value:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
