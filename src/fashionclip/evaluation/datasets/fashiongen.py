"""FashionGen image–caption pairs in EasyNLP's TSV format.

EasyNLP's CLIP tutorial (alibaba/EasyNLP, examples/appzoo_tutorials/clip) ships
FashionGen as ``fashiongen_1to1_train.tsv`` and ``fashiongen_1to1_test.tsv``:
``text<TAB>base64-encoded image`` per line, no header (input_schema
``text:str:1,image:str:1``), decoded there with ``base64.urlsafe_b64decode``,
so both base64 alphabets are accepted here. Its ``*_part_text.tsv`` /
``*_part_image.tsv`` files hold a single column (inputs for feature extraction)
and are skipped in a folder. EasyNLP's text-to-image TSVs put an id first:
``idx<TAB>text<TAB>imgbase64``; such three-column files are read too, the id
taking the line number's place in the item id.

``path`` is a .tsv file or a folder of them; a file's split comes from its name
(train; val / valid / validation / dev -> "val"; test).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from pathlib import Path

from fashionclip.evaluation.dataset import DatasetError, EvalDataset
from fashionclip.evaluation.datasets._common import check_limit, check_split_name

log = logging.getLogger(__name__)

_SPLIT_WORDS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test"}
_FEATURE_INPUTS = ("_part_text", "_part_image")  # EasyNLP's one-column files for feature extraction
_URLSAFE = re.compile(r"[-_]")


def load_fashiongen(path: Path | str, *, split: str | None = None, limit: int | None = None) -> EvalDataset:
    """FashionGen pairs from the EasyNLP TSV file(s) at ``path``: images are the decoded bytes, captions the text.

    ids are ``"<file stem>:<line number>"`` (``"<file stem>:<idx>"`` for
    three-column files); split comes from each file's name, or is None when no
    file name names one. ``split`` keeps one split, ``limit`` the first items.
    """
    check_limit(limit)
    files = _tsv_files(Path(path).expanduser())
    named = [_split_of(file) for file in files]
    has_splits = any(named)
    # a file whose name names no split, beside files that do, is a split of its own name
    sides = [side or file.stem for side, file in zip(named, files, strict=True)]
    check_split_name(split, sorted(set(sides)) if has_splits else [], "fashiongen")
    ids: list[str] = []
    images: list[bytes] = []
    captions: list[str] = []
    item_splits: list[str] = []
    for file, side in zip(files, sides, strict=True):
        if split is not None and side != split:
            continue  # never read: these files run to gigabytes
        left = None if limit is None else limit - len(ids)
        if left == 0:
            break
        for item_id, text, image in _read_tsv(file, left):
            ids.append(item_id)
            captions.append(text)
            images.append(image)
            item_splits.append(side)
    return EvalDataset(
        name="fashiongen", ids=ids, images=images, captions=captions, split=item_splits if has_splits else None
    )


def _tsv_files(path: Path) -> list[Path]:
    if not path.exists():
        raise DatasetError(f"fashiongen: {str(path)!r} does not exist")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".tsv")
    skipped = [p.name for p in files if p.stem.endswith(_FEATURE_INPUTS)]
    if skipped:
        log.info("fashiongen: skipping one-column feature-extraction files %s", ", ".join(skipped))
    files = [p for p in files if not p.stem.endswith(_FEATURE_INPUTS)]
    if not files:
        raise DatasetError(f"fashiongen: no .tsv files of image–caption pairs in {str(path)!r}")
    return files


def _split_of(path: Path) -> str | None:
    words = re.split(r"[^a-z0-9]+", path.stem.lower())
    return next((_SPLIT_WORDS[word] for word in words if word in _SPLIT_WORDS), None)


def _read_tsv(path: Path, limit: int | None) -> list[tuple[str, str, bytes]]:
    items: list[tuple[str, str, bytes]] = []
    seen: dict[str, int] = {}
    columns = None
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if limit is not None and len(items) == limit:
                    break
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                fields = line.split("\t")
                columns = columns or _check_columns(len(fields), path, number)
                if len(fields) != columns:
                    raise DatasetError(
                        f"{path}:{number}: {len(fields)} tab-separated fields, but earlier lines have {columns}"
                    )
                key = fields[0].strip() if columns == 3 else str(number)
                if not key:
                    raise DatasetError(f"{path}:{number}: empty id in the first field")
                if key in seen:
                    raise DatasetError(f"{path}:{number}: id {key!r} already on line {seen[key]}")
                seen[key] = number
                items.append((f"{path.stem}:{key}", fields[-2].strip(), _decode(fields[-1], path, number)))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    if not items:
        raise DatasetError(f"{path}: no image–caption pairs")
    return items


def _check_columns(count: int, path: Path, number: int) -> int:
    if count in (2, 3):
        return count
    hint = " (EasyNLP's *_part_text / *_part_image files hold one column; load the paired file)" if count == 1 else ""
    raise DatasetError(
        f"{path}:{number}: expected 'text<TAB>base64-image' or 'idx<TAB>text<TAB>base64-image', "
        f"found {count} tab-separated field(s){hint}"
    )


def _decode(encoded: str, path: Path, number: int) -> bytes:
    encoded = encoded.strip()
    altchars = b"-_" if _URLSAFE.search(encoded) else None
    try:
        image = base64.b64decode(encoded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise DatasetError(f"{path}:{number}: the image field is not valid base64") from None
    if not image:
        raise DatasetError(f"{path}:{number}: empty image")
    return image
