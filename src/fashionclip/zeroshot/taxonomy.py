"""A taxonomy file (YAML) of attributes to tag a catalogue with, and the tagger that applies it.

templates: fashion              # optional: the default template set for every attribute
language: en                    # optional: the labels' language (else read from their script)
attributes:
  colour:
    labels: [black, white, red, blue]
    names:                      # optional: what each label is called in other languages
      zh: {black: 黑色, white: 白色, red: 红色, blue: 蓝色}
  accessories:
    labels: [belt, scarf, sunglasses]
    multi_label: true
    thresholds: {belt: 0.6}     # or one number; 0.5 by default
  masterCategory:
    labels: [Apparel, Footwear]
  subCategory:
    parent: masterCategory      # only the labels under the predicted parent compete
    labels:
      Apparel: [Topwear, Bottomwear]
      Footwear: [Shoes, Sandal]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fashionclip.encoder import EncoderProtocol
from fashionclip.errors import ClassificationError
from fashionclip.zeroshot.classifier import Prediction, ZeroShotClassifier
from fashionclip.zeroshot.languages import check_language
from fashionclip.zeroshot.templates import load_templates

_KEYS = {"labels", "parent", "multi_label", "thresholds", "templates", "prompts", "names"}


@dataclass
class Attribute:
    """One attribute; ``children`` maps each parent label to the labels allowed under it."""

    name: str
    labels: list[str]
    parent: str | None = None
    children: dict[str, list[str]] = field(default_factory=dict)
    multi_label: bool = False
    thresholds: float | dict[str, float] = 0.5
    templates: list[str] | None = None
    prompts: dict[str, list[str]] = field(default_factory=dict)
    # language -> label -> its name in that language (the prompts then use that language's templates)
    names: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Taxonomy:
    """Attributes in an order where every parent comes before its children; ``language`` is the
    labels' own language (None: read from their script)."""

    attributes: list[Attribute]
    language: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> Taxonomy:
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ClassificationError(f"taxonomy {str(path)!r}: cannot read: {exc}") from None
        except yaml.YAMLError as exc:
            raise ClassificationError(f"taxonomy {str(path)!r}: not valid YAML: {' '.join(str(exc).split())}") from None
        return cls.from_dict(data, str(path), files=True)

    @classmethod
    def from_dict(cls, data: Any, source: str = "taxonomy", *, files: bool = False) -> Taxonomy:
        """A taxonomy from its parsed form. Its ``templates`` are inline or bundled sets only,
        unless ``files`` (a taxonomy file of your own may name template files)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("attributes"), Mapping) or not data["attributes"]:
            raise ClassificationError(f"{source}: expected a mapping with 'attributes: {{name: {{labels: [...]}}}}'")
        unknown = sorted(str(key) for key in set(data) - {"templates", "attributes", "language"})
        if unknown:
            raise ClassificationError(f"{source}: unknown keys {unknown}; use 'templates', 'language' and 'attributes'")
        try:
            language = check_language(data.get("language"))
        except ClassificationError as exc:
            raise ClassificationError(f"{source}: {exc}") from None
        default_templates = _templates(data.get("templates"), source, files)
        attributes = {}
        for name, spec in data["attributes"].items():
            attributes[str(name)] = _attribute(str(name), spec, default_templates, source, files)
        for attribute in attributes.values():
            if attribute.parent is None:
                continue
            parent = attributes.get(attribute.parent)
            if parent is None:
                raise ClassificationError(
                    f"{source}: attribute {attribute.name!r} has unknown parent {attribute.parent!r}"
                )
            if parent.multi_label:
                raise ClassificationError(
                    f"{source}: parent {parent.name!r} of {attribute.name!r} must be single-label"
                )
            stray = sorted(set(attribute.children) - set(parent.labels))
            if stray:
                raise ClassificationError(
                    f"{source}: attribute {attribute.name!r} lists children of {stray}, which are not labels of "
                    f"{parent.name!r}"
                )
        return cls(_parents_first(attributes, source), language)


def _attribute(name: str, spec: Any, default_templates: list[str] | None, source: str, files: bool) -> Attribute:
    where = f"{source}: attribute {name!r}"
    if not isinstance(spec, Mapping) or "labels" not in spec:
        raise ClassificationError(f"{where}: expected a mapping with 'labels'")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise ClassificationError(f"{where}: unknown keys {unknown}; use {sorted(_KEYS)}")
    parent = spec.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise ClassificationError(f"{where}: parent must be an attribute's name, got {parent!r}")
    labels_spec = spec["labels"]
    children: dict[str, list[str]] = {}
    if parent is not None:
        if not isinstance(labels_spec, Mapping):
            raise ClassificationError(f"{where}: with a parent, 'labels' maps each parent label to its labels")
        for key, values in labels_spec.items():
            children[str(key)] = _label_list(values, f"{where}, under {key!r}")
        labels = list(dict.fromkeys(label for values in children.values() for label in values))
    else:
        labels = _label_list(labels_spec, where)
    multi = spec.get("multi_label", False)
    if not isinstance(multi, bool):
        raise ClassificationError(f"{where}: multi_label must be true or false, got {multi!r}")
    if multi and parent is not None:
        raise ClassificationError(f"{where}: a child attribute must be single-label")
    return Attribute(
        name=name,
        labels=labels,
        parent=None if parent is None else str(parent),
        children=children,
        multi_label=multi,
        thresholds=spec.get("thresholds", 0.5),
        templates=_templates(spec["templates"], where, files) if "templates" in spec else default_templates,
        prompts=_prompts(spec.get("prompts"), where),
        names=_names(spec.get("names"), labels, where),
    )


def _templates(spec: Any, where: str, files: bool) -> list[str] | None:
    if spec is None:
        return None
    try:
        return load_templates(spec, files=files)
    except ClassificationError as exc:
        raise ClassificationError(f"{where}: {exc}") from None


def _prompts(spec: Any, where: str) -> dict[str, list[str]]:
    """label -> its own prompt texts (one text or a list)."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise ClassificationError(f"{where}: 'prompts' must map labels to their prompt texts, got {spec!r}")
    out = {}
    for label, texts in spec.items():
        given = [texts] if isinstance(texts, str) else texts
        if not isinstance(given, Sequence) or not given or not all(isinstance(t, str) and t.strip() for t in given):
            raise ClassificationError(f"{where}: prompts for {label!r} must be a text or a list of non-empty texts")
        out[str(label)] = list(given)
    return out


def _names(spec: Any, labels: list[str], where: str) -> dict[str, dict[str, str]]:
    """language -> label -> name, for labels of this attribute only."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise ClassificationError(f"{where}: 'names' must map a language to {{label: name}}, got {spec!r}")
    out: dict[str, dict[str, str]] = {}
    for language, table in spec.items():
        try:
            code = check_language(language, allow_auto=False)
        except ClassificationError as exc:
            raise ClassificationError(f"{where}: names: {exc}") from None
        if not isinstance(table, Mapping):
            raise ClassificationError(f"{where}: names for {language!r} must map labels to names")
        stray = sorted(str(label) for label in set(map(str, table)) - set(labels))
        if stray:
            raise ClassificationError(f"{where}: names for {language!r} name labels that are not listed: {stray}")
        for label, name in table.items():
            if not isinstance(name, str) or not name.strip():
                raise ClassificationError(f"{where}: the {language!r} name of {label!r} must be a non-empty text")
        out[str(code)] = {str(label): name.strip() for label, name in table.items()}
    return out


def _label_list(values: Any, where: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise ClassificationError(f"{where}: 'labels' must be a non-empty list")
    for value in values:
        # YAML reads sizes (38) as numbers; a mapping or list is no label
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ClassificationError(f"{where}: label {value!r} must be a text")
    return [str(v) for v in values]


def _parents_first(attributes: dict[str, Attribute], source: str) -> list[Attribute]:
    ordered: list[Attribute] = []
    placed: set[str] = set()
    while len(ordered) < len(attributes):
        ready = [a for a in attributes.values() if a.name not in placed and (a.parent is None or a.parent in placed)]
        if not ready:
            stuck = sorted(set(attributes) - placed)
            raise ClassificationError(f"{source}: the parents of {stuck} form a cycle")
        for attribute in ready:
            ordered.append(attribute)
            placed.add(attribute.name)
    return ordered


class Tagger:
    """Applies a :class:`Taxonomy`: one classifier per attribute, label embeddings computed once.

    ``language``: prompt in that language, with each label's name in it where the taxonomy gives
    one (``names``); the predictions keep the taxonomy's own labels, whatever the language.
    """

    def __init__(self, encoder: EncoderProtocol, taxonomy: Taxonomy, *, language: str | None = None) -> None:
        self.taxonomy = taxonomy
        self.language = check_language(language) or taxonomy.language
        self.classifiers = {
            a.name: _classifier(encoder, a, self.language, taxonomy.language) for a in taxonomy.attributes
        }

    def tag_embeddings(self, embeddings: np.ndarray, *, k: int = 1) -> list[dict[str, list[Prediction]]]:
        """Per item: attribute -> its predictions (top ``k``; multi-label: those over threshold).
        A child attribute only weighs the labels under its parent's predicted label, with
        probabilities renormalised over them; none when that parent label has no children."""
        out: list[dict[str, list[Prediction]]] = [{} for _ in range(len(np.atleast_2d(embeddings)))]
        for attribute in self.taxonomy.attributes:
            classifier = self.classifiers[attribute.name]
            if attribute.parent is None:
                own = dict(zip(classifier.labels, attribute.labels, strict=True))  # a name -> its label
                for row, predictions in zip(out, classifier.predict_embeddings(embeddings, k=k), strict=True):
                    row[attribute.name] = [Prediction(own[p.label], p.score) for p in predictions]
                continue
            scores = classifier.scores(embeddings)
            index = {label: i for i, label in enumerate(attribute.labels)}
            for row, item_scores in zip(out, scores, strict=True):
                parent = row[attribute.parent][0].label if row[attribute.parent] else None
                allowed = [index[label] for label in attribute.children.get(parent or "", [])]
                if not allowed:
                    row[attribute.name] = []
                    continue
                sub = item_scores[allowed] / item_scores[allowed].sum()
                order = np.argsort(-sub, kind="stable")[:k]
                row[attribute.name] = [Prediction(attribute.labels[allowed[i]], float(sub[i])) for i in order]
        return out


def _classifier(
    encoder: EncoderProtocol, attribute: Attribute, language: str | None, own: str | None
) -> ZeroShotClassifier:
    """The attribute's classifier: over its labels' names in ``language`` (same order) where the
    taxonomy gives them, else over its labels in their own language ``own``."""
    names = attribute.names.get(language or "", {})
    language = language if names else own
    named = [names.get(label, label) for label in attribute.labels]
    if names and len(set(named)) != len(named):
        raise ClassificationError(f"attribute {attribute.name!r}: two labels share one {language!r} name")
    rename = dict(zip(attribute.labels, named, strict=True))
    thresholds = attribute.thresholds
    if isinstance(thresholds, Mapping):
        thresholds = {rename.get(str(label), str(label)): value for label, value in thresholds.items()}
    try:
        return ZeroShotClassifier(
            encoder,
            named,
            # a language's names take that language's templates unless the attribute names its own
            templates=attribute.templates,
            prompts={rename.get(label, label): texts for label, texts in attribute.prompts.items()},
            multi_label=attribute.multi_label,
            thresholds=thresholds,
            language=language,
        )
    except ClassificationError as exc:  # name the attribute: a taxonomy has many label sets
        raise ClassificationError(f"attribute {attribute.name!r}: {exc}") from None
