"""Copy a finished training run into the package as a bundled model.

    python scripts/bundle_model.py runs/fashion-clip-mini --name fashion-clip-mini --data-root ../shared/data

Copies the Hugging Face files, the model card, the run configuration and the
metrics log (never ``checkpoint/``) to ``src/fashionclip/models/NAME``. The
machine's absolute data folder becomes ``{data_root}`` (the recipe's own
placeholder) and the card's load line names the registry entry, so the
shipped files say nothing about the machine that trained them.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
    "README.md",
    "training_config.json",
    "metrics.jsonl",
)
PORTABLE = ("README.md", "training_config.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="the training output folder")
    parser.add_argument("--name", required=True, help="the registry name, also the folder under models/")
    parser.add_argument("--data-root", type=Path, required=True, help="the --data-root the run was trained with")
    args = parser.parse_args()
    missing = [f for f in FILES if not (args.run / f).exists()]
    if missing:
        raise SystemExit(f"{args.run} is not a finished run: missing {', '.join(missing)}")
    target = Path(__file__).resolve().parents[1] / "src" / "fashionclip" / "models" / args.name
    target.mkdir(parents=True, exist_ok=True)
    data_root = str(args.data_root.expanduser().resolve())
    for name in FILES:
        if name in PORTABLE:
            text = (args.run / name).read_text(encoding="utf-8")
            text = re.sub(r'load_model\("[^"]*"\)', f'load_model("{args.name}")', text)
            text = text.replace(data_root, "{data_root}")
            (target / name).write_text(text, encoding="utf-8")
        else:
            shutil.copyfile(args.run / name, target / name)
    print(f"bundled {args.run} as {target}")


if __name__ == "__main__":
    main()
