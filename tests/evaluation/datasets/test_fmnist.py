import gzip
from pathlib import Path

import numpy as np
import pytest

from fashionclip.evaluation.dataset import DatasetError
from fashionclip.evaluation.datasets import load_dataset
from fashionclip.evaluation.datasets.fmnist import CLASSES, load_fmnist

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
HEADER = "label," + ",".join(f"pixel{i}" for i in range(1, 785))


def image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)


def csv_line(label: int, pixels: np.ndarray) -> str:
    return ",".join(str(v) for v in [label, *pixels.ravel().tolist()])


def write_csv(path: Path, labels: list[int], seed: int = 0, extra: tuple[str, ...] = ()) -> list[np.ndarray]:
    images = [image(seed + i) for i in range(len(labels))]
    lines = [HEADER, *(csv_line(label, im) for label, im in zip(labels, images, strict=True)), *extra]
    path.write_text("\n".join(lines) + "\n")
    return images


def idx_bytes(magic: int, array: np.ndarray) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder: Path, prefix: str, labels: list[int], seed: int = 0, gz: bool = False) -> np.ndarray:
    images = np.stack([image(seed + i) for i in range(len(labels))])
    suffix = ".gz" if gz else ""
    for name, data in (
        (f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(2051, images)),
        (f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(2049, np.array(labels))),
    ):
        (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return images


def test_reads_a_kaggle_csv(tmp_path):
    path = tmp_path / "fashion-mnist_test.csv"
    images = write_csv(path, [9, 0, 3])
    data = load_fmnist(path)
    assert data.name == "fmnist"
    assert data.ids == ["test-0", "test-1", "test-2"]
    assert all(a.dtype == np.uint8 and a.shape == (28, 28) for a in data.images)
    assert all(np.array_equal(a, b) for a, b in zip(data.images, images, strict=True))
    assert data.labels == {"label": ["Ankle boot", "T-shirt/top", "Dress"]}
    assert data.split == ["test"] * 3
    assert data.captions is None and data.tags is None


def test_reads_a_folder_of_csv_files(tmp_path):
    train = write_csv(tmp_path / "fashion-mnist_train.csv", [1, 2], seed=10)
    test = write_csv(tmp_path / "fashion-mnist_test.csv", [8], seed=20)
    data = load_fmnist(tmp_path)
    assert data.ids == ["test-0", "train-0", "train-1"]  # the benchmark's test set first
    assert data.split == ["test", "train", "train"]
    assert data.labels["label"] == ["Bag", "Trouser", "Pullover"]
    assert all(np.array_equal(a, b) for a, b in zip(data.images, [*test, *train], strict=True))
    assert load_fmnist(tmp_path, split="train").ids == ["train-0", "train-1"]
    assert load_fmnist(tmp_path, limit=2).ids == ["test-0", "train-0"]
    assert load_fmnist(tmp_path, split="train", limit=1).ids == ["train-0"]
    assert load_dataset(f"fmnist:{tmp_path}", split="test").labels == {"label": ["Bag"]}


@pytest.mark.parametrize("gz", [False, True])
def test_reads_idx_files(tmp_path, gz):
    test = write_idx(tmp_path, "t10k", [5, 7], seed=1, gz=gz)
    train = write_idx(tmp_path, "train", [6, 4, 2], seed=5, gz=not gz)
    data = load_fmnist(tmp_path)
    assert data.ids == ["test-0", "test-1", "train-0", "train-1", "train-2"]
    assert data.split == ["test", "test", "train", "train", "train"]
    assert data.labels["label"] == ["Sandal", "Sneaker", "Shirt", "Coat", "Pullover"]
    assert all(np.array_equal(a, b) for a, b in zip(data.images, [*test, *train], strict=True))
    assert all(a.dtype == np.uint8 and a.shape == (28, 28) and a.flags.writeable for a in data.images)
    images_file = "t10k-images-idx3-ubyte" + (".gz" if gz else "")
    assert load_fmnist(tmp_path / images_file).ids == ["test-0", "test-1"]
    assert load_fmnist(tmp_path, split="train", limit=2).labels["label"] == ["Shirt", "Coat"]


def test_idx_files_win_over_csv_and_unpacked_over_gz(tmp_path):
    write_csv(tmp_path / "fashion-mnist_test.csv", [0])
    write_idx(tmp_path, "t10k", [1, 1], gz=True)
    write_idx(tmp_path, "t10k", [2])
    assert load_fmnist(tmp_path).labels["label"] == ["Pullover"]


def test_class_names():
    assert CLASSES == (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )


ZEROS = np.zeros((28, 28), dtype=np.uint8)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["1," + ",".join(["0"] * 783)], r"test\.csv:3: 783 pixel values, expected 784"),
        (["1," + ",".join(["0"] * 785)], r"test\.csv:3: 785 pixel values, expected 784"),
        ([csv_line(1, ZEROS).replace(",0,", ",x,", 1)], r"test\.csv:3: 'x' is not a whole number"),
        ([csv_line(1, ZEROS).replace(",0,", ",,", 1)], r"test\.csv:3: '' is not a whole number"),
        ([csv_line(1, ZEROS).replace(",0,", ",256,", 1)], r"test\.csv:3: pixel value 256 out of range 0-255"),
        ([csv_line(1, ZEROS).replace(",0,", ",-1,", 1)], r"test\.csv:3: pixel value -1 out of range 0-255"),
        ([csv_line(10, ZEROS)], r"test\.csv:3: label 10 out of range 0-9"),
        ([csv_line(-1, ZEROS)], r"test\.csv:3: label -1 out of range 0-9"),
    ],
)
def test_malformed_csv_lines_are_named(tmp_path, extra, message):
    write_csv(tmp_path / "test.csv", [0], extra=extra)
    with pytest.raises(DatasetError, match=message):
        load_fmnist(tmp_path / "test.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("label,pixel1,pixel2\n1,2,3\n", r"test\.csv:1: bad header 'label,pixel1,pixel2' \(3 columns\)"),
        (",".join(["0"] * 785) + "\n", r"test\.csv:1: bad header"),
        ("", r"test\.csv:1: bad header"),
        (HEADER + "\n", r"test\.csv: no images after the header"),
    ],
)
def test_bad_csv_files(tmp_path, text, message):
    (tmp_path / "test.csv").write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_fmnist(tmp_path / "test.csv")


def test_missing_root_and_files(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_fmnist(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no Fashion-MNIST files"):
        load_fmnist(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"notes\.txt' is neither a \.csv file nor an IDX images file"):
        load_fmnist(tmp_path / "notes.txt")


def test_two_files_of_one_split(tmp_path):
    write_csv(tmp_path / "fashion-mnist_test.csv", [0])
    write_csv(tmp_path / "fashion-mnist_test_sample.csv", [0])
    with pytest.raises(DatasetError, match="two test sets, fashion-mnist_test.csv and fashion-mnist_test_sample.csv"):
        load_fmnist(tmp_path)


def test_idx_without_labels(tmp_path):
    write_idx(tmp_path, "t10k", [1])
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte has no labels file"):
        load_fmnist(tmp_path)


def idx_case(tmp_path: Path, images: bytes | None = None, labels: bytes | None = None) -> Path:
    write_idx(tmp_path, "t10k", [1, 2])
    if images is not None:
        (tmp_path / "t10k-images-idx3-ubyte").write_bytes(images)
    if labels is not None:
        (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(labels)
    return tmp_path


TWO = np.zeros((2, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (idx_bytes(2049, TWO), None, r"t10k-images-idx3-ubyte: bad IDX magic number 2049, expected 2051"),
        (None, idx_bytes(2051, np.array([1, 2])), r"t10k-labels-idx1-ubyte: bad IDX magic number 2051, expected 2049"),
        (b"\x00\x00", None, r"t10k-images-idx3-ubyte: truncated IDX header \(2 bytes\)"),
        (idx_bytes(2051, TWO)[:12], None, r"t10k-images-idx3-ubyte: truncated IDX header \(12 bytes, expected 16\)"),
        (idx_bytes(2051, TWO)[:-1], None, r"t10k-images-idx3-ubyte: truncated: a 2x28x28 IDX array needs 1584 bytes"),
        (idx_bytes(2051, TWO) + b"\x00", None, r"t10k-images-idx3-ubyte: has trailing bytes"),
        (idx_bytes(2051, np.zeros((2, 27, 28))), None, r"t10k-images-idx3-ubyte: images are 27x28, expected 28x28"),
        (idx_bytes(2051, TWO[:1]), None, r"t10k-images-idx3-ubyte holds 1 images but .* holds 2 labels"),
        (None, idx_bytes(2049, np.array([1, 12])), r"t10k-labels-idx1-ubyte: label 12 of item 1 out of range 0-9"),
    ],
)
def test_bad_idx_files(tmp_path, images, labels, message):
    with pytest.raises(DatasetError, match=message):
        load_fmnist(idx_case(tmp_path, images, labels))


def test_a_corrupt_gzip(tmp_path):
    write_idx(tmp_path, "t10k", [1], gz=True)
    data = (tmp_path / "t10k-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz: cannot read"):
        load_fmnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz: cannot read"):
        load_fmnist(tmp_path)


@pytest.mark.parametrize("limit", [0, -5, "2"])
def test_bad_limit(tmp_path, limit):
    write_csv(tmp_path / "fashion-mnist_test.csv", [0])
    with pytest.raises(DatasetError, match="limit must be a positive integer"):
        load_fmnist(tmp_path, limit=limit)


def test_unknown_split(tmp_path):
    write_csv(tmp_path / "fashion-mnist_test.csv", [0])
    with pytest.raises(DatasetError, match="unknown split 'train'; splits present: 'test'"):
        load_fmnist(tmp_path, split="train")


def test_the_shared_folder():
    root = SHARED / "fmnist"
    if not (root / "fashion-mnist_test_sample.csv").is_file():
        pytest.skip(f"{root} is absent")
    data = load_fmnist(root)
    assert len(data) == 502 and data.ids[0] == "test-0" and set(data.split) == {"test"}
    counts = {name: data.labels["label"].count(name) for name in CLASSES}
    assert all(40 <= count <= 60 for count in counts.values()), counts
