"""Tiny random stand-ins for the image classification, object detection and depth catalog models.

`BUILDERS[model_id](folder)` writes a complete Hugging Face model folder (config.json, model.safetensors,
processor and tokenizer files) that loads offline with `AutoProcessor` and the task's Auto model class.
Architectures and processor types are the real checkpoints'; widths are 8-32, depths 1-4, input sizes 32-96 px
so that each model builds in a fraction of a second. Weights are random under a fixed seed; tokenizers are made
here from a small alphabet (English letters, French accents, a few hundred CJK characters).
"""

import json
from collections.abc import Callable
from pathlib import Path

import gradio
import torch
from tokenizers import pre_tokenizers
from transformers import (
    AlignConfig,
    AlignModel,
    AlignProcessor,
    AltCLIPConfig,
    AltCLIPModel,
    AltCLIPProcessor,
    BertTokenizer,
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPProcessor,
    CLIPTokenizer,
    DepthAnythingConfig,
    DepthAnythingForDepthEstimation,
    DetrConfig,
    DetrForObjectDetection,
    DetrImageProcessor,
    Dinov2Config,
    DPTConfig,
    DPTForDepthEstimation,
    DPTImageProcessor,
    EfficientNetImageProcessor,
    GLPNConfig,
    GLPNForDepthEstimation,
    GLPNImageProcessor,
    Owlv2Config,
    Owlv2ForObjectDetection,
    Owlv2ImageProcessor,
    Owlv2Processor,
    OwlViTConfig,
    OwlViTForObjectDetection,
    OwlViTImageProcessor,
    OwlViTProcessor,
    ResNetConfig,
    ViTConfig,
    ViTForImageClassification,
    ViTImageProcessor,
    XLMRobertaTokenizer,
)

SEED = 0
IMAGE_SIZE = 32  # pixels fed to the tiny ViTs (real: 224, 768, 960)
PATCH_SIZE = 8  # 4x4 patches
# Characters every tiny tokenizer knows: enough for English, French, German and common Chinese labels.
ALPHABET = sorted(set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-()/{}&"
    "àâäçéèêëîïôöùûüÿœæÀÂÇÉÈÊÎÔÙÛÜßÄÖ"
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年猫狗汽车鸟人马牛羊鱼花树山水天日月书桌椅杯"
    "照片一张老虎熊猫苹果香蕉"
))
# DETR's 91 COCO ids (as in facebook/detr-resnet-50's config; "N/A" marks ids COCO does not use).
COCO_LABELS = (
    "N/A person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant N/A stop_sign "
    "parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe N/A backpack umbrella N/A N/A "
    "handbag tie suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard "
    "surfboard tennis_racket bottle N/A wine_glass cup fork knife spoon bowl banana apple sandwich orange "
    "broccoli carrot hot_dog pizza donut cake chair couch potted_plant bed N/A dining_table N/A N/A toilet N/A "
    "tv laptop mouse remote keyboard cell_phone microwave oven toaster sink refrigerator N/A book clock vase "
    "scissors teddy_bear hair_drier toothbrush"
).split()
COCO_ID2LABEL = {index: name.replace("_", " ") for index, name in enumerate(COCO_LABELS)}
# The 1,000 ImageNet-1k class names in index order (281 "tabby cat", 285 "Egyptian Mau"): gradio ships a list
# for its own demos. google/vit-base-patch16-224 spells a few differently ("tabby, tabby cat", "Egyptian cat").
IMAGENET_LABELS = json.loads((Path(gradio.__file__).parent / "media_assets" / "data" / "imagenet_labels.json")
                             .read_text(encoding="utf-8"))
IMAGENET_ID2LABEL = dict(enumerate(IMAGENET_LABELS))
BOS_ID, EOS_ID = 512, 513  # <|startoftext|>, <|endoftext|> after the 512 byte symbols
CLIP_MEAN, CLIP_STD = [0.4815, 0.4578, 0.4082], [0.2686, 0.2613, 0.2758]


def clip_tokenizer(max_length: int) -> CLIPTokenizer:
    """A CLIP byte-level BPE tokenizer with every byte and no merges: words split into characters."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())  # the 256 byte symbols CLIP's BPE works on
    vocab: dict[str, int] = {}
    for symbol in alphabet:
        vocab[symbol] = len(vocab)
        vocab[f"{symbol}</w>"] = len(vocab)  # CLIP marks a word's last symbol with </w>
    # Special tokens last, as in the real vocabulary: OWL-ViT treats a query starting with id 0 as padding.
    vocab["<|startoftext|>"] = BOS_ID
    vocab["<|endoftext|>"] = EOS_ID
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def bert_tokenizer() -> BertTokenizer:
    """A WordPiece tokenizer over single characters, as BERT-style text encoders take."""
    vocab = {token: index for index, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])}
    for char in ALPHABET:
        vocab.setdefault(char.lower(), len(vocab))
        vocab.setdefault(f"##{char.lower()}", len(vocab))
    return BertTokenizer(vocab=vocab, model_max_length=64)


def xlm_roberta_tokenizer() -> XLMRobertaTokenizer:
    """A Unigram tokenizer over single characters, with XLM-R's special tokens in their real ids."""
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(char, -3.0) for char in ALPHABET] + [(f"▁{char}", -3.5) for char in ALPHABET]
    return XLMRobertaTokenizer(vocab=pieces, model_max_length=77)


def clip_image_processor() -> CLIPImageProcessor:
    """CLIP's resize-shortest-edge then centre-crop, at the tiny input size."""
    return CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                              image_mean=CLIP_MEAN, image_std=CLIP_STD)


def text_config(vocab_size: int, max_positions: int) -> dict:
    """A 2-layer, 32-wide text transformer with the tiny CLIP tokenizer's special ids."""
    return {"vocab_size": vocab_size, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
            "num_attention_heads": 4, "max_position_embeddings": max_positions, "bos_token_id": BOS_ID,
            "eos_token_id": EOS_ID, "pad_token_id": EOS_ID}


def vit_config() -> dict:
    """A 2-layer, 32-wide vision transformer on 32x32 images in 8x8 patches."""
    return {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
            "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE}


def save(folder: Path, model: torch.nn.Module, processor: object) -> None:
    """Write weights (safetensors), config and processor files into the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


def build_clip(folder: Path) -> None:
    """CLIP (ViT-L/14 and B/32 share the architecture; only sizes differ)."""
    torch.manual_seed(SEED)
    tokenizer = clip_tokenizer(max_length=77)
    config = CLIPConfig(text_config=text_config(len(tokenizer), 77), vision_config=vit_config(), projection_dim=16)
    save(folder, CLIPModel(config).eval(), CLIPProcessor(image_processor=clip_image_processor(), tokenizer=tokenizer))


def build_align(folder: Path) -> None:
    """ALIGN: an EfficientNet image encoder and a BERT text encoder."""
    torch.manual_seed(SEED)
    tokenizer = bert_tokenizer()
    # The EfficientNet stem always gives 32 channels, so the first block takes 32.
    vision = {"image_size": IMAGE_SIZE, "kernel_sizes": [3, 3], "in_channels": [32, 16], "out_channels": [16, 24],
              "strides": [1, 2], "num_block_repeats": [1, 1], "expand_ratios": [1, 2], "hidden_dim": 16,
              "depthwise_padding": [], "width_coefficient": 1.0, "depth_coefficient": 1.0}
    text = {"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
            "num_attention_heads": 4, "max_position_embeddings": 64}
    # ALIGN compares text projections with the last block's pooled channels: projection_dim = 24.
    config = AlignConfig(text_config=text, vision_config=vision, projection_dim=24)
    image_processor = EfficientNetImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                                                 crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                                                 do_center_crop=True, rescale_offset=True, include_top=False)
    save(folder, AlignModel(config).eval(), AlignProcessor(image_processor=image_processor, tokenizer=tokenizer))


def build_altclip(folder: Path) -> None:
    """AltCLIP: CLIP's image encoder with a multilingual XLM-R text encoder."""
    torch.manual_seed(SEED)
    tokenizer = xlm_roberta_tokenizer()
    text = {"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
            "num_attention_heads": 4, "max_position_embeddings": 80, "project_dim": 16, "pad_token_id": 1,
            "bos_token_id": 0, "eos_token_id": 2}
    config = AltCLIPConfig(text_config=text, vision_config=vit_config(), projection_dim=16)
    processor = AltCLIPProcessor(image_processor=clip_image_processor(), tokenizer=tokenizer)
    save(folder, AltCLIPModel(config).eval(), processor)


def build_vit(folder: Path) -> None:
    """ViT with an ImageNet-1k head: the tiny vision transformer, a 1,000-class linear layer on its [CLS] token."""
    torch.manual_seed(SEED)
    config = ViTConfig(**vit_config(), id2label=IMAGENET_ID2LABEL,
                       label2id={name: index for index, name in IMAGENET_ID2LABEL.items()})
    # google/vit-base-patch16-224's processing: a plain resize to a square (no crop), pixels scaled to [-1, 1].
    processor = ViTImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, image_mean=[0.5] * 3,
                                  image_std=[0.5] * 3)
    save(folder, ViTForImageClassification(config).eval(), processor)


def build_detr(folder: Path) -> None:
    """DETR with a tiny ResNet backbone (transformers' own, not timm) and DETR's 91 COCO labels."""
    torch.manual_seed(SEED)
    backbone = ResNetConfig(embedding_size=8, hidden_sizes=[8, 8, 16, 16], depths=[1, 1, 1, 1],
                            out_features=["stage4"])
    config = DetrConfig(use_timm_backbone=False, use_pretrained_backbone=False, backbone_config=backbone,
                        d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=20,
                        id2label=COCO_ID2LABEL, label2id={name: index for index, name in COCO_ID2LABEL.items()})
    processor = DetrImageProcessor(size={"shortest_edge": 64, "longest_edge": 96})
    save(folder, DetrForObjectDetection(config).eval(), processor)


def build_owlvit(folder: Path) -> None:
    """OWL-ViT: CLIP-like encoders with box and class heads on every image patch."""
    torch.manual_seed(SEED)
    tokenizer = clip_tokenizer(max_length=16)
    # The class head compares patch embeddings with text embeddings: projection_dim = text width.
    config = OwlViTConfig(text_config=text_config(len(tokenizer), 16), vision_config=vit_config(), projection_dim=32)
    image_processor = OwlViTImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                                           crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    save(folder, OwlViTForObjectDetection(config).eval(), OwlViTProcessor(image_processor=image_processor,
                                                                            tokenizer=tokenizer))


def build_owlv2(folder: Path) -> None:
    """OWLv2: OWL-ViT's architecture plus an objectness head; images padded to a square."""
    torch.manual_seed(SEED)
    tokenizer = clip_tokenizer(max_length=16)
    config = Owlv2Config(text_config=text_config(len(tokenizer), 16), vision_config=vit_config(), projection_dim=32)
    image_processor = Owlv2ImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    save(folder, Owlv2ForObjectDetection(config).eval(), Owlv2Processor(image_processor=image_processor,
                                                                          tokenizer=tokenizer))


def build_glpn(folder: Path) -> None:
    """GLPN: a 4-stage SegFormer encoder and a light decoder; runs at the input size (multiple of 32)."""
    torch.manual_seed(SEED)
    config = GLPNConfig(depths=[1, 1, 1, 1], hidden_sizes=[8, 8, 16, 16], num_attention_heads=[1, 1, 1, 1],
                        sr_ratios=[8, 4, 2, 1], mlp_ratios=[2, 2, 2, 2], decoder_hidden_size=8, max_depth=10)
    save(folder, GLPNForDepthEstimation(config).eval(), GLPNImageProcessor(size_divisor=32))


def build_dpt(folder: Path) -> None:
    """DPT-Large's layout (a plain ViT, four reassembled stages), tiny."""
    torch.manual_seed(SEED)
    config = DPTConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=4, num_attention_heads=4,
                       image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, backbone_out_indices=[0, 1, 2, 3],
                       neck_hidden_sizes=[8, 8, 16, 16], fusion_hidden_size=16, is_hybrid=False)
    processor = DPTImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, keep_aspect_ratio=False,
                                  ensure_multiple_of=1, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    save(folder, DPTForDepthEstimation(config).eval(), processor)


def build_depth_anything(folder: Path) -> None:
    """Depth Anything V2: a DINOv2 backbone and a DPT head, tiny; aspect ratio kept, sides multiples of the patch."""
    torch.manual_seed(SEED)
    backbone = Dinov2Config(hidden_size=16, intermediate_size=32, num_hidden_layers=4, num_attention_heads=2,
                            image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, out_indices=[1, 2, 3, 4],
                            reshape_hidden_states=False, apply_layernorm=True)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=16, patch_size=PATCH_SIZE,
                                 neck_hidden_sizes=[8, 8, 16, 16], fusion_hidden_size=16, head_hidden_size=8,
                                 depth_estimation_type="relative")
    processor = DPTImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, keep_aspect_ratio=True,
                                  ensure_multiple_of=PATCH_SIZE, do_pad=False,
                                  image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    save(folder, DepthAnythingForDepthEstimation(config).eval(), processor)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "openai/clip-vit-large-patch14": build_clip,
    "openai/clip-vit-base-patch32": build_clip,
    "kakaobrain/align-base": build_align,
    "BAAI/AltCLIP": build_altclip,
    "google/vit-base-patch16-224": build_vit,
    "facebook/detr-resnet-50": build_detr,
    "google/owlvit-base-patch32": build_owlvit,
    "google/owlv2-base-patch16-ensemble": build_owlv2,
    "vinvino02/glpn-nyu": build_glpn,
    "Intel/dpt-large": build_dpt,
    "depth-anything/Depth-Anything-V2-Small-hf": build_depth_anything,
}
