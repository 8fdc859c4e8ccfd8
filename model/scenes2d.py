"""Synthetic 2D scenes with captions and questions: the stage-0 data (DESIGN 3.5).

They stand in for "natural images with captions and VQA" of a real 2D MLLM: 1–4 shapes (circle, square,
triangle, ring, cross) of a colour, a size and a place in a 3×3 layout, on a noisy, shaded background. Texts ask
for what a 2D MLLM is expected to know — what is where, how many, which colour, how big (in pixels, so numbers
are learned too) — in the same prompt layout as the CT tasks, so the decoder, the projector and the ViT all come
out of stage 0 ready to be transferred.

``scene(rng, size)`` → (image [3,H,W] in [0,1], objects); ``sample(rng, size)`` → (image, prompt, answer).
"""

from __future__ import annotations

import numpy as np

SHAPES = ("circle", "square", "triangle", "ring", "cross")
COLORS = {
    "red": (0.9, 0.15, 0.1), "green": (0.1, 0.8, 0.2), "blue": (0.15, 0.3, 0.95), "yellow": (0.95, 0.9, 0.1),
    "white": (0.95, 0.95, 0.95), "gray": (0.5, 0.5, 0.5), "purple": (0.6, 0.2, 0.8), "orange": (1.0, 0.55, 0.1),
}
PLACES = ("top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right")
NUMBERS = ("zero", "one", "two", "three", "four", "five")
CAPTION_PROMPTS = ("Describe the image.", "What is in this picture?", "Write a caption for this image.")


def _shape_mask(kind: str, yy, xx, cy: float, cx: float, r: float) -> np.ndarray:
    dy, dx = yy - cy, xx - cx
    if kind == "circle":
        return dy * dy + dx * dx <= r * r
    if kind == "square":
        return (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
    if kind == "triangle":  # apex up
        return (dy <= r * 0.8) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    if kind == "ring":
        d2 = dy * dy + dx * dx
        return (d2 <= r * r) & (d2 >= (0.55 * r) ** 2)
    if kind == "cross":
        w = r * 0.35
        return ((np.abs(dy) <= w) & (np.abs(dx) <= r)) | ((np.abs(dx) <= w) & (np.abs(dy) <= r))
    raise ValueError(kind)


def scene(rng: np.random.Generator, size: int = 64):
    """A random scene: image [3,H,W] float32 in [0,1] and its objects (shape, color, place, size word, pixels)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    base = rng.uniform(0.0, 0.3, 3).astype(np.float32)
    shade = rng.uniform(-0.1, 0.1, 2)
    img = base[:, None, None] + (shade[0] * (yy / size - 0.5) + shade[1] * (xx / size - 0.5))[None]
    n = int(rng.integers(1, 5))
    cells = rng.choice(9, size=n, replace=False)
    objects = []
    cell = size / 3
    for c in sorted(cells):
        kind = SHAPES[int(rng.integers(len(SHAPES)))]
        color = list(COLORS)[int(rng.integers(len(COLORS)))]
        large = bool(rng.random() < 0.5)
        r = float(rng.uniform(0.34, 0.46) * cell if large else rng.uniform(0.16, 0.26) * cell)
        cy = (c // 3 + 0.5) * cell + rng.uniform(-0.08, 0.08) * cell
        cx = (c % 3 + 0.5) * cell + rng.uniform(-0.08, 0.08) * cell
        mask = _shape_mask(kind, yy, xx, cy, cx, r)
        rgb = np.asarray(COLORS[color], np.float32) * rng.uniform(0.85, 1.0)
        img = np.where(mask[None], rgb[:, None, None], img)
        objects.append({"shape": kind, "color": color, "place": PLACES[c], "size": "large" if large else "small",
                        "pixels": int(round(2 * r))})
    img = img + rng.normal(0, rng.uniform(0.01, 0.06), img.shape).astype(np.float32)
    return np.clip(img, 0.0, 1.0).astype(np.float32), objects


def _name(o: dict) -> str:
    return f"{o['size']} {o['color']} {o['shape']}"


def _at(place: str) -> str:
    return "in the center" if place == "center" else f"at the {place}"


def caption(objects: list[dict]) -> str:
    parts = [f"a {_name(o)} {_at(o['place'])}" for o in objects]
    if len(parts) == 1:
        body = parts[0]
    else:
        body = ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{body[0].upper()}{body[1:]}."


def sample(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, str, str]:
    """One (image, prompt, answer): a caption one time in three, else a question about the scene."""
    img, objs = scene(rng, size)
    kind = int(rng.integers(9))
    if kind <= 2:
        return img, CAPTION_PROMPTS[int(rng.integers(len(CAPTION_PROMPTS)))], caption(objs)
    o = objs[int(rng.integers(len(objs)))]
    if kind == 3:
        n = len(objs)
        return img, "How many shapes are there?", f"There {'is' if n == 1 else 'are'} {NUMBERS[n]} {'shape' if n == 1 else 'shapes'}."
    if kind == 4:  # presence, balanced yes/no
        if rng.random() < 0.5:
            q = o
        else:
            q = {"color": list(COLORS)[int(rng.integers(len(COLORS)))], "shape": SHAPES[int(rng.integers(len(SHAPES)))]}
        yes = any(x["color"] == q["color"] and x["shape"] == q["shape"] for x in objs)
        return img, f"Is there a {q['color']} {q['shape']}?", "yes" if yes else "no"
    if kind == 5:
        return img, f"Where is the {o['color']} {o['shape']}?", _at(o["place"])
    if kind == 6:
        return img, f"What color is the shape {_at(o['place'])}?", o["color"]
    if kind == 7:
        return img, f"How big is the {o['color']} {o['shape']}?", f"it measures {o['pixels']} pixels"
    # multiple choice over shapes, letters A–D as in the CT benchmark
    others = [s for s in SHAPES if s != o["shape"]]
    choices = [o["shape"]] + [others[i] for i in rng.permutation(len(others))[:3]]
    choices = [choices[i] for i in rng.permutation(4)]
    k = choices.index(o["shape"])
    listed = " ".join(f"{L}. {c}." for L, c in zip("ABCD", choices))
    return img, f"Which shape is {_at(o['place'])}? Choices: {listed}", f"{'ABCD'[k]}. {o['shape']}"


def all_texts() -> list[str]:
    """Every word the scene texts can contain (for the tokenizer)."""
    words = list(SHAPES) + list(COLORS) + list(PLACES) + list(NUMBERS) + list(CAPTION_PROMPTS)
    words += ["a large small in the center at and.", "How many shapes are there? There is are shape shapes.",
              "Is there a ? yes no Where is the What color is the shape How big is the it measures pixels",
              "Which shape is Choices: A. B. C. D.", ", ."]
    return words
