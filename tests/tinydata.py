"""A tiny dataset in the real formats, drawn with PIL, for unit and pipeline tests.

Images are coloured shapes; each train image has one caption that names its colour and shape
(a few mention children, so the legal filter has work to do). Tables use the real formats:
``train_dataset.csv`` with a header, headerless TSVs, ``test_queries.csv`` with ``|`` and an
unnamed index column.
"""
from __future__ import annotations

import csv
import hashlib
import itertools
import random
import re
from pathlib import Path

from PIL import Image, ImageDraw

from imagesearch.hashing import hash_file

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (30, 60, 220),
           "yellow": (240, 220, 20), "purple": (140, 40, 170), "orange": (250, 140, 20)}
SHAPES = ("circle", "square", "triangle")
CHILD_CAPTIONS = {2: "A little boy holds a {colour} {shape} .", 7: "Two girls draw a {colour} {shape} ."}


def draw(colour: str, shape: str, size: int = 96, seed: int = 0) -> Image.Image:
    rng = random.Random(seed)
    background = tuple(rng.randint(200, 255) for _ in range(3))
    image = Image.new("RGB", (size + rng.randint(0, 40), size), background)
    pen = ImageDraw.Draw(image)
    x0, y0 = rng.randint(4, 20), rng.randint(4, 20)
    box = (x0, y0, x0 + size // 2 + 20, y0 + size // 2 + 20)
    fill = COLOURS[colour]
    if shape == "circle":
        pen.ellipse(box, fill=fill)
    elif shape == "square":
        pen.rectangle(box, fill=fill)
    else:
        pen.polygon([(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=fill)
    return image


def image_name(split: str, index: int) -> str:
    return f"{hashlib.md5(f'{split}{index}'.encode()).hexdigest()[:10]}_{split}{index}.jpg"


def make_tiny_dataset(root: Path, n_train: int = 18, n_test: int = 6, seed: int = 0) -> Path:
    """Write the dataset folder (tables + train_images/ + test_images/) and return ``root``."""
    rng = random.Random(seed)
    combos = list(itertools.product(COLOURS, SHAPES))
    rng.shuffle(combos)
    (root / "train_images").mkdir(parents=True, exist_ok=True)
    (root / "test_images").mkdir(parents=True, exist_ok=True)

    train = []
    for i in range(n_train):
        colour, shape = combos[i % len(combos)]
        name = image_name("train", i)
        draw(colour, shape, seed=seed * 1000 + i).save(root / "train_images" / name, quality=90)
        caption = CHILD_CAPTIONS.get(i, "A {colour} {shape} on a plain background .")
        train.append((name, colour, shape, caption.format(colour=colour, shape=shape)))
    test = []
    for i in range(n_test):
        colour, shape = combos[(i * 5 + 1) % len(combos)]
        name = image_name("test", i)
        draw(colour, shape, seed=seed * 1000 + 500 + i).save(root / "test_images" / name, quality=90)
        test.append((name, colour, shape))

    pairs, expert, crowd = [], [], []
    for own, colour, shape, caption in train:
        query_id = f"{own}#0"
        others = rng.sample([t for t in train if t[0] != own], k=min(4, len(train) - 1))
        for image, other_colour, other_shape, _ in others:
            match = (other_colour == colour) + (other_shape == shape)
            score = 1 + match + (match == 2)
            pairs.append((image, query_id, caption))
            expert.append((image, query_id, score, min(4, score + rng.randint(0, 1)), score))
        for image, other_colour, other_shape, _ in rng.sample(train, k=min(6, len(train))):
            yes = 3 if image == own else (other_colour == colour) + (other_shape == shape)
            crowd.append((image, query_id, round(yes / 3, 6), yes, 3 - yes))
    crowd.append((train[0][0], "ffffffffff_unknown.jpg#1", 0.0, 0, 3))  # a caption with no text

    with open(root / "train_dataset.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "query_id", "query_text"])
        writer.writerows(pairs)
    with open(root / "ExpertAnnotations.tsv", "w", newline="") as handle:
        csv.writer(handle, delimiter="\t").writerows(expert)
    with open(root / "CrowdAnnotations.tsv", "w", newline="") as handle:
        csv.writer(handle, delimiter="\t").writerows(crowd)
    with open(root / "test_queries.csv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="|")
        writer.writerow(["", "query_id", "query_text", "image"])
        row = 0
        for name, colour, shape in test:
            for n, text in enumerate([f"A {colour} {shape} .", f"Something {colour} shaped like a {shape} ."]):
                writer.writerow([row, f"{name}#{n}", text, name])
                row += 1
        writer.writerow([row, f"{test[0][0]}#2", "A baby next to a shape .", test[0][0]])
    with open(root / "test_images.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image"])
        writer.writerows([[name] for name, _, _ in test])
    return root


RUSSIAN = {"red": "красный", "green": "зелёный", "blue": "синий", "yellow": "жёлтый", "purple": "фиолетовый", "orange": "оранжевый",
           "circle": "круг", "square": "квадрат", "triangle": "треугольник"}


TEMPLATES = [(r"^A (\w+) (\w+) \.$", "{0} {1}."),
             (r"^Something (\w+) shaped like a (\w+) \.$", "Нечто похожее на {0} {1}."),
             (r"^A baby next to a shape \.$", "Малыш рядом с фигурой."),
             (r"^A (\w+) (\w+) on a plain background \.$", "{0} {1} на простом фоне."),
             (r"^A little boy holds a (\w+) (\w+) \.$", "Маленький мальчик держит {0} {1}."),
             (r"^Two girls draw a (\w+) (\w+) \.$", "Две девочки рисуют {0} {1}.")]


def _russian(text: str) -> str:
    for pattern, russian in TEMPLATES:
        found = re.match(pattern, text)
        if found:
            return russian.format(*[RUSSIAN[word] for word in found.groups()]).capitalize()
    raise ValueError(f"no Russian template for {text!r}")


def write_translations(dataset: Path, folder: Path) -> None:
    """Russian versions of the tiny test queries and train captions, in the formats of
    data/translations/{test_queries_ru,train_captions_ru}.tsv."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(dataset / "test_queries.csv", newline="") as handle:
        queries = [(r["query_id"], r["query_text"]) for r in csv.DictReader(handle, delimiter="|")]
    with open(dataset / "train_dataset.csv", newline="") as handle:
        captions = sorted({(r["query_id"], r["query_text"]) for r in csv.DictReader(handle)})
    for name, rows in (("test_queries_ru.tsv", queries), ("train_captions_ru.tsv", captions)):
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            handle.write("query_id\tquery_ru\n")
            handle.writelines(f"{query_id}\t{_russian(text)}\n" for query_id, text in rows)


def write_checksums(root: Path, path: Path) -> None:
    """A ``sha256sum``-style listing of every file under ``root`` (what data/dataset.sha256 holds)."""
    lines = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hash_file(file)
        lines.append(f"{digest}  ./{file.relative_to(root).as_posix()}")
    path.write_text("\n".join(lines) + "\n")
