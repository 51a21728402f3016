"""Tiny random stand-ins for the semantic segmentation catalog models (SegFormer on ADE20k and on Cityscapes).

The architecture, processor type and class names (id2label) are the real checkpoints'; widths are 8-16, one block
per stage, and the processors resize to 64 or 128 px squares (real: 512 and 1024), so each builds in a moment.
"""

from collections.abc import Callable
from pathlib import Path

import torch
from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

SEED = 0
# The 150 ADE20k classes in the order of nvidia/segformer-*-finetuned-ade-512-512's id2label ("bed " keeps the
# real config's trailing space).
ADE20K_LABELS = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed ", "windowpane", "grass", "cabinet",
    "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water",
    "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence", "desk",
    "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion", "base", "box", "column", "signboard",
    "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace", "refrigerator", "grandstand", "path",
    "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway", "river", "bridge", "bookcase",
    "blind", "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove", "palm",
    "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel", "bus", "towel", "light",
    "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver", "airplane",
    "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet", "poster",
    "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool",
    "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food", "step", "tank",
    "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket", "sculpture",
    "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen", "plate", "monitor",
    "bulletin board", "shower", "radiator", "glass", "clock", "flag",
)
# The 19 Cityscapes evaluation classes, as in nvidia/segformer-b1-finetuned-cityscapes-1024-1024.
CITYSCAPES_LABELS = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation", "terrain",
    "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)


def segformer(labels: tuple[str, ...], size: int) -> tuple[SegformerForSemanticSegmentation, SegformerImageProcessor]:
    """A 4-stage SegFormer (MiT encoder, all-MLP decoder) with these classes and its processor at size x size."""
    torch.manual_seed(SEED)
    id2label = dict(enumerate(labels))
    config = SegformerConfig(depths=[1, 1, 1, 1], hidden_sizes=[8, 8, 16, 16], num_attention_heads=[1, 1, 1, 1],
                             sr_ratios=[8, 4, 2, 1], mlp_ratios=[2, 2, 2, 2], decoder_hidden_size=16,
                             id2label=id2label, label2id={name: index for index, name in id2label.items()})
    # ADE20k's processors reduce labels (background 0 -> 255) for training; it changes nothing at inference.
    processor = SegformerImageProcessor(size={"height": size, "width": size},
                                        do_reduce_labels=len(labels) == len(ADE20K_LABELS))
    return SegformerForSemanticSegmentation(config).eval(), processor


def save(folder: Path, model: torch.nn.Module, processor: object) -> None:
    """Write weights (safetensors), config and processor files into the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


def build_segformer_ade(folder: Path) -> None:
    """SegFormer fine-tuned on ADE20k (B0 and B2 differ only in size): 150 classes, 64 px (real: 512)."""
    save(folder, *segformer(ADE20K_LABELS, 64))


def build_segformer_cityscapes(folder: Path) -> None:
    """SegFormer fine-tuned on Cityscapes: 19 street classes, 128 px (real: 1024)."""
    save(folder, *segformer(CITYSCAPES_LABELS, 128))


BUILDERS: dict[str, Callable[[Path], None]] = {
    "nvidia/segformer-b0-finetuned-ade-512-512": build_segformer_ade,
    "nvidia/segformer-b2-finetuned-ade-512-512": build_segformer_ade,
    "nvidia/segformer-b1-finetuned-cityscapes-1024-1024": build_segformer_cityscapes,
}
