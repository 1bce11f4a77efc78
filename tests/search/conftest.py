import pytest
from PIL import Image

from fashionclip.testing import KeywordEncoder

COLOURS = KeywordEncoder.COLOURS
ROWS = [
    # id, colour of the photo, title, gender, price
    ("d1", "red", "red midi dress", "Women", 40),
    ("d2", "blue", "blue midi dress", "Women", 35),
    ("d3", "red", "red dress with belt", "Women", 80),
    ("s1", "white", "white shirt", "Men", 25),
    ("s2", "blue", "blue shirt", "Men", 30),
    ("j1", "blue", "blue jeans", "Men", 60),
    ("b1", "black", "black leather bag", "Women", 120),
    ("h1", "white", "white sneaker shoes", "Men", 90),
]


def write_catalog(folder, rows=ROWS, extra=""):
    (folder / "img").mkdir(parents=True, exist_ok=True)
    lines = ["id,image,title,gender,price" + (",note" if extra else "")]
    for i, (item_id, colour, title, gender, price) in enumerate(rows):
        image = folder / "img" / f"{item_id}.png"
        if not image.exists():
            pixel = tuple(min(255, c + i) for c in COLOURS[colour])  # each photo a little different
            Image.new("RGB", (8, 8), pixel).save(image)
        lines.append(f"{item_id},img/{item_id}.png,{title},{gender},{price}" + (f",{extra}" if extra else ""))
    (folder / "catalog.csv").write_text("\n".join(lines) + "\n")
    return folder / "catalog.csv"


@pytest.fixture
def catalog_csv(tmp_path):
    return write_catalog(tmp_path)
