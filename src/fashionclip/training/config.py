"""Everything a training run needs, as plain JSON-serialisable records.

A run is fully described by one :class:`TrainConfig`: the CLI builds it from
flags or reads it from a recipe file, the trainer writes it next to the
checkpoint, and ``--resume`` reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from fashionclip.errors import TemplateError, TrainConfigError
from fashionclip.templating import check_label_template, check_named_template


@dataclass(frozen=True)
class DataSource:
    """One file or folder of image–caption pairs.

    ``path`` is a catalogue file (``.csv``, ``.jsonl``, ``.parquet``), an
    EasyNLP ``.tsv`` (``text<TAB>base64-image`` per line) or an image folder
    (captions from ``captions_file`` or a ``.txt`` file beside each image).
    Images are taken from ``image_column``, or built from ``image_template``
    filled with the row (``"images/{id}.jpg"``), relative to ``root``
    (default: the catalogue's folder).

    Each time an item is drawn, its caption is one of its free-text
    ``caption_columns`` or, with probability ``template_probability``, one of
    ``templates`` filled from the row's attributes (templates with an empty
    field are skipped). A column in ``list_columns`` holds several values
    separated by the given string; a template fills it with a random
    non-empty subset of at most ``max_list_items`` values.

    ``aliases`` maps a column to other names of its values
    (``{"articleType": {"Sweaters": ["pullover", "jumper"]}}``); a template
    names a value by one of its aliases with probability ``alias_probability``.
    A filled template counts as a match for every item in the batch whose
    attributes make it true, not only for its own item.

    With ``mask_template`` (a label-index image per row, such as
    ``"masks/{photo}.png"``, with ``mask_labels`` an ``index,label`` CSV), each
    row yields one close-up per labelled region instead of the whole image,
    with the region's label in the ``{label}`` field; labels in
    ``ignore_labels`` and regions under ``min_region_fraction`` of the image
    are skipped. Sources with the same ``split_group`` share one train /
    validation split of their ids, so the regions of a held-out photo stay
    held out.
    """

    path: str
    format: str = "auto"
    root: str | None = None
    id_column: str | None = "id"
    image_column: str | None = "image"
    image_template: str | None = None
    caption_columns: tuple[str, ...] = ("caption",)
    templates: tuple[str, ...] = ()
    template_probability: float = 0.5
    list_columns: dict[str, str] = field(default_factory=dict)
    max_list_items: int = 3
    # captions that stay true when an augmentation removes colour avoid these columns
    colour_columns: tuple[str, ...] = ()
    aliases: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    alias_probability: float = 0.5
    mask_template: str | None = None
    mask_labels: str | None = None
    ignore_labels: tuple[str, ...] = ()
    min_region_fraction: float = 0.01
    region_margin: float = 0.1
    split_group: str | None = None
    captions_file: str | None = None
    repeat: int = 1
    limit: int | None = None
    val_fraction: float | None = None  # overrides the run's val_fraction for this source

    def __post_init__(self) -> None:
        _freeze_lists(self, ("caption_columns", "templates", "colour_columns", "ignore_labels"))
        _check_source(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSource:
        return cls(**_known(cls, data, "data source"))


@dataclass(frozen=True)
class Augment:
    """Light image augmentations, each applied with its probability.

    ``crop_scale`` is the smallest area kept by the random crop (1.0 turns it
    off). ``background`` recolours a near-white background that touches the
    border; ``greyscale`` drops colour; ``negative`` inverts a greyscale image
    (a dark-background look); ``low_resolution`` downsamples to
    ``low_resolution_size`` pixels and back.
    """

    crop_scale: float = 0.8
    flip: float = 0.5
    background: float = 0.0
    greyscale: float = 0.0
    negative: float = 0.0
    low_resolution: float = 0.0
    low_resolution_size: int = 28

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Augment:
        return cls(**_known(cls, data, "augment"))

    def validate(self) -> None:
        """Raise :class:`TrainConfigError` naming the first bad setting (construction already does)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "low_resolution_size":
                if value < 4:
                    raise TrainConfigError(f"augment.low_resolution_size must be >= 4, got {value}")
            elif not 0.0 <= value <= 1.0:
                raise TrainConfigError(f"augment.{f.name} must be within [0, 1], got {value}")
        if self.crop_scale <= 0:
            raise TrainConfigError(f"augment.crop_scale must be > 0, got {self.crop_scale}")


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``model`` starts from a checkpoint (registry name or
    directory); ``architecture`` builds a new model from scratch instead.

    Frozen and checked when built: a config that exists is a valid one (change one with
    :func:`dataclasses.replace`, which checks again)."""

    data: tuple[DataSource, ...]
    output: str
    model: str | None = None
    architecture: dict[str, Any] | None = None
    epochs: int = 5
    batch_size: int = 128
    grad_accumulation: int = 1
    lr: float = 1e-5
    weight_decay: float = 0.1
    warmup: float = 0.05  # fraction of all optimizer steps (< 1) or a number of steps (>= 1)
    min_lr_ratio: float = 0.0
    loss: str = "clip"
    precision: str = "fp32"
    freeze: tuple[str, ...] = ()
    augment: Augment = field(default_factory=Augment)
    seed: int = 0
    workers: int = 2
    device: str = "cpu"
    val_fraction: float = 0.1
    val_attribute: str | None = None
    val_prompt: str = "a photo of a {}"
    val_max_items: int | None = 5000
    checkpoint_every: int = 200
    log_every: int = 20
    save_dtype: str = "float32"
    model_name: str | None = None
    license: str = "MIT"

    def __post_init__(self) -> None:
        # accept plain dicts (from JSON or keyword arguments) for the nested records
        if not isinstance(self.data, (list, tuple)) or not self.data:
            raise TrainConfigError("training config: 'data' needs at least one source")
        data = tuple(DataSource.from_dict(d) if isinstance(d, dict) else d for d in self.data)
        object.__setattr__(self, "data", data)
        _freeze_lists(self, ("freeze",))
        if isinstance(self.augment, dict):
            object.__setattr__(self, "augment", Augment.from_dict(self.augment))
        self.validate()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return cls(**_known(cls, data, "training config"))

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TrainConfigError(f"cannot read training config {str(path)!r}: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> None:
        """Raise :class:`TrainConfigError` naming the first bad option (construction already does)."""
        if (self.model is None) == (self.architecture is None):
            raise TrainConfigError("give exactly one of 'model' (a checkpoint to fine-tune) or 'architecture'")
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "grad_accumulation": self.grad_accumulation}
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise TrainConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise TrainConfigError("batch_size must be at least 2: a contrastive batch needs negatives")
        if not self.lr > 0:
            raise TrainConfigError(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0 or self.warmup < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise TrainConfigError("weight_decay and warmup must be >= 0 and min_lr_ratio within [0, 1]")
        if self.loss not in ("clip", "siglip"):
            raise TrainConfigError(f"loss must be 'clip' or 'siglip', got {self.loss!r}")
        if self.precision not in ("fp32", "bf16"):
            raise TrainConfigError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        bad = sorted(set(self.freeze) - set(FREEZABLE))
        if bad:
            raise TrainConfigError(f"cannot freeze {bad}: choose from {sorted(FREEZABLE)}")
        if not 0 < self.val_fraction < 1:
            raise TrainConfigError(f"val_fraction must be within (0, 1), got {self.val_fraction}")
        if self.workers < 0:
            raise TrainConfigError(f"workers must be >= 0, got {self.workers}")
        if self.save_dtype not in ("float32", "float16", "bfloat16"):
            raise TrainConfigError(f"save_dtype must be float32, float16 or bfloat16, got {self.save_dtype!r}")
        try:
            check_label_template(self.val_prompt)
        except TemplateError as exc:
            raise TrainConfigError(f"val_prompt: {exc}") from None
        for source in self.data:
            if not isinstance(source, DataSource):
                raise TrainConfigError(f"data sources must be DataSource records or dicts, got {source!r}")
        groups: dict[str, set[float]] = {}
        for source in self.data:
            if source.split_group is not None:
                fraction = self.val_fraction if source.val_fraction is None else source.val_fraction
                groups.setdefault(source.split_group, set()).add(fraction)
        for group, fractions in groups.items():
            if len(fractions) > 1:
                raise TrainConfigError(
                    f"sources of split_group {group!r} have different val_fraction {sorted(fractions)}; "
                    "one split needs one fraction"
                )


def _freeze_lists(record: Any, names: Sequence[str]) -> None:
    """Store the list fields of a frozen record as tuples, so that frozen means unchangeable."""
    for name in names:
        value = getattr(record, name)
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise TrainConfigError(f"{name} must be a list of strings, got {value!r}")
        object.__setattr__(record, name, tuple(value))


def _check_source(source: DataSource) -> None:
    """Raise :class:`TrainConfigError` naming the source and its first bad option."""
    if source.repeat < 1:
        raise TrainConfigError(f"data source {source.path!r}: repeat must be >= 1")
    if source.val_fraction is not None and not 0 < source.val_fraction < 1:
        raise TrainConfigError(f"data source {source.path!r}: val_fraction must be within (0, 1)")
    if not 0 <= source.template_probability <= 1:
        raise TrainConfigError(f"data source {source.path!r}: template_probability must be within [0, 1]")
    if not 0 <= source.alias_probability <= 1:
        raise TrainConfigError(f"data source {source.path!r}: alias_probability must be within [0, 1]")
    _check_aliases(source)
    for template in (source.image_template, source.mask_template, *source.templates):
        if template is not None:
            try:
                check_named_template(template)
            except TemplateError as exc:
                raise TrainConfigError(f"data source {source.path!r}: {exc}") from None
    if source.mask_template and not source.mask_labels:
        raise TrainConfigError(f"data source {source.path!r}: mask_template needs mask_labels (an index,label CSV)")
    if not 0 <= source.min_region_fraction < 1 or not 0 <= source.region_margin <= 1:
        raise TrainConfigError(
            f"data source {source.path!r}: min_region_fraction must be within [0, 1) and region_margin within [0, 1]"
        )


def _check_aliases(source: DataSource) -> None:
    where = f"data source {source.path!r}: aliases"
    if not isinstance(source.aliases, dict):
        raise TrainConfigError(f"{where} must map a column to {{value: [alias, ...]}}")
    for column, table in source.aliases.items():
        if not isinstance(table, dict):
            raise TrainConfigError(f"{where} of column {column!r} must map a value to a list of aliases")
        for value, names in table.items():
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
                raise TrainConfigError(
                    f"{where} of {column}={value!r} must be a non-empty list of non-empty strings, got {names!r}"
                )


def recipe_path(name: str) -> Path:
    """A bundled recipe by name (``fashion-clip-mini``) or a JSON file path."""
    from importlib import resources

    bundled = Path(str(resources.files("fashionclip.training").joinpath("recipes", f"{name}.json")))
    if bundled.exists():
        return bundled
    path = Path(name).expanduser()
    if path.is_file():
        return path
    known = sorted(p.stem for p in bundled.parent.glob("*.json"))
    raise TrainConfigError(f"unknown recipe {name!r}: not a bundled recipe ({', '.join(known)}) nor a JSON file")


def load_recipe(name: str, *, data_root: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """A training config from a recipe, with ``{data_root}`` in data paths filled in and options overridden."""
    path = recipe_path(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TrainConfigError(f"cannot read recipe {str(path)!r}: {exc}") from None
    uses_root = any("{data_root}" in str(s.get("path", "")) for s in data.get("data", []))
    if uses_root:
        if data_root is None:
            raise TrainConfigError(f"recipe {name!r} reads its data from {{data_root}}; pass --data-root")
        for source in data["data"]:
            source["path"] = source["path"].replace("{data_root}", str(Path(data_root).expanduser()))
    data.update({k: v for k, v in overrides.items() if v is not None})
    data.setdefault("output", data.get("model_name") or path.stem)
    return TrainConfig.from_dict(data)


FREEZABLE = {
    "vision": "the whole image tower and its projection",
    "vision-trunk": "the image tower, keeping its projection trainable",
    "text": "the whole text tower and its projection",
    "text-trunk": "the text tower, keeping its projection trainable",
    "token-embedding": "the text token embedding table",
}


def _known(cls: type, data: dict[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TrainConfigError(f"{what} must be a JSON object, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise TrainConfigError(f"{what}: unknown option(s) {unknown}; known: {sorted(names)}")
    return dict(data)
