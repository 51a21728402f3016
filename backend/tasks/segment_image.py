"""Semantic segmentation: an image -> a class for every pixel, a coloured overlay of them, and each class's share.

The model sees the image with its long side bounded (then its processor resizes it to the model's own square,
512 or 1024 px for SegFormer). Its logits, a quarter of that size, are upsampled bilinearly to the input
resolution and the best class taken per pixel, as transformers' `post_process_semantic_segmentation(target_sizes=
...)` does. Doing that literally for the 150 ADE20k classes costs 1.2 GB and seconds for a 1600x1200 photo (more
than the model itself), so `label_map` computes the same argmax cheaply: a bilinear value lies between the values
at the four corners of its 2x2 cell of logits, so a class whose highest corner is below another class's lowest
corner cannot win anywhere in that cell. Most cells have one possible winner, and only the few candidates of the
others are interpolated, in bands of rows so memory stays bounded.
"""

import colorsys
import functools
import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from backend import compute, dispatch, inputs, models
from backend.catalog import resolve_model
from backend.limits import MAX_SEGMENT_INPUT_SIDE

# Output pixels whose candidates are interpolated at once; bounds the temporary tensors (~16 bytes x candidates).
BAND_PIXELS = 1 << 20
# A class is a candidate in a cell when its highest corner reaches the best lowest corner less this margin: float
# rounding in the interpolation must never let a class we left out win.
CANDIDATE_MARGIN = 1e-5
MAX_CLASSES = 256  # label maps are 8-bit palette PNGs: one index per class
DIM = 0.35  # brightness of the pixels outside a highlighted class


@dataclass
class ClassShare:
    """One class found in the image and how much of it the class covers."""

    label: str
    pixels: int
    share: float  # pixels / (width * height), in [0, 1]


@dataclass
class SegmentationResult:
    """A class index per input pixel, the model's class names, and the classes found, largest first."""

    model: str
    labels: np.ndarray  # (height, width) uint8 class indices into `names`
    names: tuple[str, ...]  # the model's id2label, by index
    classes: list[ClassShare] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "width", "height", "classes": [{"label", "pixels", "share"}, ...]}."""
        height, width = self.labels.shape
        return {
            "model": self.model,
            "width": width,
            "height": height,
            "classes": [{"label": item.label, "pixels": item.pixels, "share": item.share} for item in self.classes],
        }


@dispatch.task(files={"image": "image"})
def segment_image(image: Any, model: str | None = None) -> SegmentationResult:
    """Give every pixel of an image a class of the model's label set (ADE20k: 150 classes, Cityscapes: 19)."""
    spec = resolve_model("segment_image", model)
    picture = inputs.load_image(image)
    loaded = models.get(spec.id)
    id2label = loaded.model.config.id2label
    if len(id2label) > MAX_CLASSES:
        raise ValueError(f"{spec.id} has {len(id2label)} classes; label maps hold at most {MAX_CLASSES}.")
    names = tuple(str(id2label[index]).strip() for index in range(len(id2label)))  # ADE20k's config has "bed "
    model_input = bounded(picture, MAX_SEGMENT_INPUT_SIDE)
    with compute.model_work():
        features = loaded.processor(images=model_input, return_tensors="pt").to(loaded.device)
        features["pixel_values"] = features["pixel_values"].to(loaded.dtype)
        logits = loaded.model(**features).logits[0].float().cpu()  # (classes, height / 4, width / 4)
        labels = label_map(logits, picture.height, picture.width)
    return SegmentationResult(model=spec.id, labels=labels, names=names, classes=class_shares(labels, names))


def bounded(picture: Image.Image, max_side: int) -> Image.Image:
    """The image scaled down so its long side is at most `max_side` pixels (unchanged if already smaller)."""
    scale = max_side / max(picture.size)
    if scale >= 1:
        return picture
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)  # SegFormer's processor: bilinear


def source_index(in_size: int, out_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each output position: the two input positions and the second's weight, as torch's bilinear
    interpolation with align_corners=False computes them (in float32)."""
    scale = torch.tensor(in_size, dtype=torch.float32) / torch.tensor(out_size, dtype=torch.float32)
    source = (scale * (torch.arange(out_size, dtype=torch.float32) + 0.5) - 0.5).clamp(min=0)
    first = source.floor().long().clamp(max=in_size - 1)
    second = (first + 1).clamp(max=in_size - 1)
    weight = (source - first).clamp(0, 1)
    return first, second, weight


def label_map(logits: torch.Tensor, height: int, width: int) -> np.ndarray:
    """argmax over classes of the logits upsampled bilinearly to (height, width); logits (classes, h, w).

    The same result as `F.interpolate(logits[None], (height, width), mode="bilinear").argmax(1)` (ties: the lower
    class index), without making the (classes, height, width) tensor. Only where two classes' values differ by a
    float rounding step (1 pixel in 1.9 million in one check) can the answer differ, as torch may fuse operations.
    """
    classes, rows, cols = logits.shape
    row0, _, row_weight = source_index(rows, height)
    col0, _, col_weight = source_index(cols, width)
    # Cell (i, j) spans logits rows i, i+1 and columns j, j+1; the last row and column repeat themselves, as the
    # interpolation's second index stops at the last one. In most cells one class leads at all four corners, and
    # its lowest corner beats every other class's highest: it wins all over the cell. The classes' two best
    # values per logits pixel tell which cells those are.
    (first, second), (leader, _) = logits.topk(min(2, classes), dim=0) if classes > 1 else (
        (logits[0], logits[0] - float("inf")), (torch.zeros_like(logits[0], dtype=torch.long), None))
    leaders = corners_of(leader)
    settled = (leaders == leaders[:1]).all(0) & (
        corners_of(first).amin(0) > corners_of(second).amax(0) + CANDIDATE_MARGIN * (1 + first.abs().max()))
    # Per cell one int32: its class where one class can win, else MAX_CLASSES + its place among the others.
    code = leader.int()
    starts, candidates, corner_values = candidate_groups(logits, torch.nonzero(~settled, as_tuple=True), code)
    result = np.empty((height, width), dtype=np.uint8)
    band = max(1, BAND_PIXELS // width)
    for top in range(0, height, band):
        winners = code[row0[top:top + band, None], col0[None, :]].flatten()  # (band * width,)
        (shared,) = torch.nonzero(winners >= MAX_CLASSES, as_tuple=True)
        if len(shared):
            places = winners[shared] - MAX_CLASSES
            order = places.argsort()  # the pixels of one group together, as their places are contiguous
            ends = torch.tensor([*starts[1:], code.numel()], dtype=places.dtype)
            bounds = [0, *torch.searchsorted(places[order], ends).tolist()]
            for index, start in enumerate(starts):
                chosen = order[bounds[index]:bounds[index + 1]]
                if len(chosen):
                    pixels = shared[chosen]
                    winners[pixels] = interpolated_winner(candidates[index], corner_values[index],
                                                          places[chosen] - start, row_weight[top + pixels // width],
                                                          col_weight[pixels % width])
        result[top:top + band] = winners.reshape(-1, width).numpy()
    return result


def corners_of(values: torch.Tensor) -> torch.Tensor:
    """(4, h, w): each cell's top left, top right, bottom left and bottom right value of an (h, w) map."""
    padded = F.pad(values[None, None].float(), (0, 1, 0, 1), mode="replicate")[0, 0].to(values.dtype)
    return torch.stack([padded[down:down + values.shape[0], right:right + values.shape[1]]
                        for down in (0, 1) for right in (0, 1)])


def candidate_groups(
    logits: torch.Tensor, cells: tuple[torch.Tensor, torch.Tensor], code: torch.Tensor
) -> tuple[list[int], list[torch.Tensor], list[torch.Tensor]]:
    """The candidates of some cells, grouped by candidate count rounded up to a power of two; each such cell's
    `code` becomes MAX_CLASSES + its place in all groups.

    A class is a candidate in a cell when its highest corner reaches the best lowest corner of any class: a
    bilinear value lies between its corners, so a class below that cannot win anywhere in the cell.
    Returns per group: its first place, its candidates (cells, k) lowest class first, and their corner values
    (4, cells, k): top left, top right, bottom left, bottom right.
    """
    starts, candidates, corner_values = [], [], []
    if not len(cells[0]):
        return starts, candidates, corner_values
    classes, rows, cols = logits.shape
    cell_rows, cell_cols = cells
    below, right = (cell_rows + 1).clamp(max=rows - 1), (cell_cols + 1).clamp(max=cols - 1)
    # One index_select per corner on the flattened map: a third of the time of logits[:, cell_rows, cell_cols].
    flat = logits.reshape(classes, rows * cols)
    corners = torch.stack([flat.index_select(1, down * cols + across)
                           for down, across in ((cell_rows, cell_cols), (cell_rows, right),
                                                (below, cell_cols), (below, right))])  # (4, classes, cells)
    highest = corners.amax(0)
    floor = corners.amin(0).amax(0)  # (cells,)
    counts = (highest >= floor - CANDIDATE_MARGIN * (1 + floor.abs())).sum(0)  # at least 1
    placed = 0
    most = int(counts.max())
    size = 0
    while size < most:
        low, size = size, max(1, min(2 * size, most))
        (chosen,) = torch.nonzero((counts > low) & (counts <= size), as_tuple=True)
        if not len(chosen):
            continue
        code[cell_rows[chosen], cell_cols[chosen]] = MAX_CLASSES + placed + torch.arange(len(chosen),
                                                                                         dtype=torch.int32)
        ranked = highest[:, chosen].topk(size, dim=0).indices  # (size, cells), best first
        group = ranked.sort(dim=0).values.T.contiguous()  # (cells, size), lowest class first: ties go to it
        starts.append(placed)
        candidates.append(group.int())
        corner_values.append(corners[:, group, chosen[:, None]])  # (4, cells, size)
        placed += len(chosen)
    return starts, candidates, corner_values


def interpolated_winner(
    candidates: torch.Tensor,
    corner_values: torch.Tensor,
    places: torch.Tensor,
    row_weight: torch.Tensor,
    col_weight: torch.Tensor,
) -> torch.Tensor:
    """Per pixel, the candidate class of its cell with the highest bilinear value; places (pixels,) index the
    group's cells, the weights (pixels,) are those of the second row and column."""
    top_left, top_right, bottom_left, bottom_right = corner_values[:, places]  # each (pixels, k)
    row_weight, col_weight = row_weight[:, None], col_weight[:, None]
    # torch's order of operations: across the columns first, then down the rows.
    top = (1 - col_weight) * top_left + col_weight * top_right
    bottom = (1 - col_weight) * bottom_left + col_weight * bottom_right
    values = (1 - row_weight) * top + row_weight * bottom
    return candidates[places].gather(1, values.argmax(1, keepdim=True))[:, 0]


def class_shares(labels: np.ndarray, names: tuple[str, ...]) -> list[ClassShare]:
    """The classes present in a label map with their pixel counts and shares, largest first (ties: index order)."""
    counts = np.bincount(labels.ravel(), minlength=len(names))
    total = int(labels.size)
    order = sorted((index for index in range(len(names)) if counts[index]), key=lambda index: -counts[index])
    return [ClassShare(label=names[index], pixels=int(counts[index]), share=int(counts[index]) / total)
            for index in order]


@functools.cache
def palette(count: int) -> np.ndarray:
    """(count, 3) uint8 distinct colours: hues a golden angle apart, alternating saturation and brightness."""
    colours = []
    for index in range(count):
        hue = (index * 0.618033988749895) % 1.0
        saturation = (0.95, 0.6, 0.8)[index % 3]
        value = (0.95, 0.75)[(index // 3) % 2]
        colours.append([round(channel * 255) for channel in colorsys.hsv_to_rgb(hue, saturation, value)])
    return np.array(colours, dtype=np.uint8)


def hex_colour(colour: np.ndarray) -> str:
    """'#rrggbb' of an RGB triple."""
    return "#{:02x}{:02x}{:02x}".format(*(int(channel) for channel in colour))


def palette_image(labels: np.ndarray, count: int) -> Image.Image:
    """The label map as a palette ("P") image: pixel value = class index, palette colour = its overlay colour."""
    picture = Image.fromarray(labels, mode="P")
    picture.putpalette(palette(count).tobytes())
    return picture


def overlay(
    picture: Image.Image, label_image: Image.Image, opacity: float, highlight: int | None = None
) -> Image.Image:
    """The photo with each class's colour laid over it at `opacity` (0..1); with `highlight` (a class index),
    only that class coloured, at least half opaque, and the rest of the photo dimmed."""
    photo = picture.convert("RGB")
    colours = label_image.convert("RGB")
    if highlight is None:
        return Image.blend(photo, colours, opacity)
    chosen = Image.fromarray(np.asarray(label_image) == highlight)  # mode "1"
    dimmed = photo.point(lambda value: int(value * DIM))
    return Image.composite(Image.blend(photo, colours, max(opacity, 0.5)), dimmed, chosen)


def label_map_png(result: SegmentationResult) -> bytes:
    """The label map as an 8-bit palette PNG at the input resolution, the class names in its "classes" text."""
    info = PngInfo()
    info.add_text("classes", json.dumps(list(result.names)))
    buffer = io.BytesIO()
    palette_image(result.labels, len(result.names)).save(buffer, format="PNG", pnginfo=info, compress_level=3)
    return buffer.getvalue()
