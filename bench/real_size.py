"""Real-size checkpoints with random weights, for benchmarks: the catalog's architectures at their real sizes.

Each folder takes the tiny test model's tokenizer and processor files (so nothing is downloaded), then gets a
real-size model config and random weights saved as safetensors, and processor settings at the real input sizes.
Built once into bench/.cache/ (not in git) and reused.
"""

from collections.abc import Callable
from pathlib import Path

import torch
import transformers as tf

from tests.tiny_models import BUILDERS as TINY_BUILDERS

CACHE = Path(__file__).resolve().parent / ".cache"


def clip_large(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """CLIP ViT-L/14: 24-layer 1024-wide vision tower at 224 px, 12-layer 768-wide text tower."""
    text = {"vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
            "num_attention_heads": 12, "max_position_embeddings": 77, "bos_token_id": 512, "eos_token_id": 513,
            "pad_token_id": 513}
    vision = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
              "image_size": 224, "patch_size": 14}
    config = tf.CLIPConfig(text_config=text, vision_config=vision, projection_dim=768)
    return tf.CLIPModel(config), tf.CLIPImageProcessor()


def vit_b16(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """ViT-B/16 at 224 px (the config's defaults are this model) with a 1,000-class ImageNet head."""
    from tests.tiny_models.vision import IMAGENET_ID2LABEL

    label2id = {name: index for index, name in IMAGENET_ID2LABEL.items()}
    config = tf.ViTConfig(id2label=IMAGENET_ID2LABEL, label2id=label2id)
    image_processor = tf.ViTImageProcessor(image_mean=[0.5] * 3, image_std=[0.5] * 3)  # 224x224, as the checkpoint
    return tf.ViTForImageClassification(config), image_processor


def detr_resnet50(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """DETR with transformers' ResNet-50, 6+6 layers, 100 queries, 800x1333 inputs."""
    from tests.tiny_models.vision import COCO_ID2LABEL

    config = tf.DetrConfig(use_timm_backbone=False, use_pretrained_backbone=False,
                           backbone_config=tf.ResNetConfig(out_features=["stage4"]), id2label=COCO_ID2LABEL)
    return tf.DetrForObjectDetection(config), tf.DetrImageProcessor()


def owlvit_b32(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """OWL-ViT B/32 at 768 px (the config's defaults are this model)."""
    text = {"vocab_size": 49408, "max_position_embeddings": 16, "bos_token_id": 512, "eos_token_id": 513,
            "pad_token_id": 513}
    return tf.OwlViTForObjectDetection(tf.OwlViTConfig(text_config=text)), tf.OwlViTImageProcessor()


def segformer_b0_ade(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """SegFormer-B0 (the config's defaults are MiT-b0 with a 256-wide decoder) with ADE20k's 150 classes, 512 px."""
    from tests.tiny_models.segmentation import ADE20K_LABELS

    config = tf.SegformerConfig(id2label=dict(enumerate(ADE20K_LABELS)))
    return tf.SegformerForSemanticSegmentation(config), tf.SegformerImageProcessor(do_reduce_labels=True)


def glpn_nyu(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """GLPN with its MiT-b4 encoder, as vinvino02/glpn-nyu."""
    config = tf.GLPNConfig(hidden_sizes=[64, 128, 320, 512], depths=[3, 8, 27, 3], decoder_hidden_size=64,
                           max_depth=10)
    return tf.GLPNForDepthEstimation(config), None


def dpt_large(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """DPT-Large: a 24-layer 1024-wide ViT-L/16 at 384x384, four reassembled stages, 256-wide fusion."""
    config = tf.DPTConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                          image_size=384, patch_size=16, backbone_out_indices=[5, 11, 17, 23],
                          neck_hidden_sizes=[256, 512, 1024, 1024], fusion_hidden_size=256, is_hybrid=False)
    processor = tf.DPTImageProcessor(size={"height": 384, "width": 384}, keep_aspect_ratio=False,
                                     ensure_multiple_of=1, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return tf.DPTForDepthEstimation(config), processor


def depth_anything_v2_small(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """Depth Anything V2 Small: a DINOv2-S/14 backbone (12 layers, 384 wide) and a DPT head, 518 px short side."""
    backbone = tf.Dinov2Config(hidden_size=384, intermediate_size=1536, num_hidden_layers=12, num_attention_heads=6,
                               image_size=518, patch_size=14, out_indices=[3, 6, 9, 12],
                               reshape_hidden_states=False, apply_layernorm=True)
    config = tf.DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=384, patch_size=14,
                                    neck_hidden_sizes=[48, 96, 192, 384], fusion_hidden_size=64,
                                    head_hidden_size=32, depth_estimation_type="relative")
    processor = tf.DPTImageProcessor(size={"height": 518, "width": 518}, keep_aspect_ratio=True,
                                     ensure_multiple_of=14, do_pad=False,
                                     image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    return tf.DepthAnythingForDepthEstimation(config), processor


def git_base(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """GIT base: a 12-layer 768-wide ViT-B/16 at 224 px and a 6-layer 768-wide text decoder over 30522 tokens
    (the config's defaults are this model); [CLS] and [SEP] ids kept from the tiny tokenizer."""
    tiny = tf.GitConfig.from_pretrained(folder)
    config = tf.GitConfig(bos_token_id=tiny.bos_token_id, eos_token_id=tiny.eos_token_id,
                          pad_token_id=tiny.pad_token_id)
    return tf.GitForCausalLM(config), tf.CLIPImageProcessor()  # 224 px, CLIP's mean and std, as git-base-coco


def videomae_base(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """VideoMAE base (the config's defaults: ViT-B, 16 frames of 224 px in 16x16x2 tubelets), Kinetics-400 head."""
    labels = tf.VideoMAEConfig.from_pretrained(folder).id2label  # the tiny model's 400 numbered classes
    config = tf.VideoMAEConfig(use_mean_pooling=True, id2label=labels, label2id={v: k for k, v in labels.items()})
    processor = tf.VideoMAEImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224},
                                          image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    return tf.VideoMAEForVideoClassification(config), processor


def m2m100_418m(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """M2M100 418M: 12+12 layers, 1024 wide, 128k vocabulary."""
    config = tf.M2M100Config(vocab_size=128112, d_model=1024, encoder_layers=12, decoder_layers=12,
                             encoder_attention_heads=16, decoder_attention_heads=16, encoder_ffn_dim=4096,
                             decoder_ffn_dim=4096)
    model = tf.M2M100ForConditionalGeneration(config)
    # facebook/m2m100_418M's generation settings: beam search with 5 beams.
    model.generation_config.update(num_beams=5, early_stopping=True, max_length=200)
    return model, None


def xlm_roberta_base(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """XLM-RoBERTa base: 12 layers, 768 wide, 250,002-word vocabulary (its output layer is 192M of the 278M
    parameters). The tokenizer stays the tiny character-level one, so ids above its 344 pieces decode to nothing
    and the backend returns fewer than five fills; it still examines the same candidates."""
    config = tf.XLMRobertaConfig(vocab_size=250_002, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                 intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1,
                                 pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
    return tf.XLMRobertaForMaskedLM(config), None


def whisper(folder: Path, width: int, layers: int, heads: int) -> torch.nn.Module:
    """Whisper at a real size (layers each side, 4x wide feed-forward, 51865 tokens); special-token ids kept
    from the tiny tokenizer."""
    config = tf.WhisperConfig.from_pretrained(folder)
    config.update({"d_model": width, "encoder_layers": layers, "decoder_layers": layers,
                   "encoder_attention_heads": heads, "decoder_attention_heads": heads,
                   "encoder_ffn_dim": 4 * width, "decoder_ffn_dim": 4 * width, "vocab_size": 51865})
    return tf.WhisperForConditionalGeneration(config)


def whisper_base(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """Whisper base: 6+6 layers, 512 wide, 8 heads."""
    return whisper(folder, width=512, layers=6, heads=8), None


def whisper_small(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """Whisper small: 12+12 layers, 768 wide, 12 heads."""
    return whisper(folder, width=768, layers=12, heads=12), None


def bark_small(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """Bark small: three 12-layer 768-wide GPT stages and the 24 kHz EnCodec, at suno/bark-small's vocab sizes."""
    stage = {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "block_size": 1024, "bias": False}
    config = tf.BarkConfig(
        semantic_config=tf.BarkSemanticConfig(input_vocab_size=129_600, output_vocab_size=10_048, **stage),
        coarse_acoustics_config=tf.BarkCoarseConfig(input_vocab_size=12_096, output_vocab_size=12_096, **stage),
        fine_acoustics_config=tf.BarkFineConfig(input_vocab_size=1_056, output_vocab_size=1_056, n_codes_total=8,
                                                n_codes_given=1, **stage),
        codec_config=tf.EncodecConfig(),  # the defaults are facebook/encodec_24khz
    )
    return tf.BarkModel(config), None


def wav2vec2_base(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """wav2vec2 base (the config's defaults), with a 32-character CTC head."""
    return tf.Wav2Vec2ForCTC(tf.Wav2Vec2Config(vocab_size=32)), None


def mms_1b_all(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """MMS-1b-all: wav2vec2 1B (48 layers, 1280 wide, 16 heads) with 16-wide attention adapters; real-size adapter
    files for the tiny model's languages, over their character vocabularies."""
    from safetensors.torch import save_file

    from tests.tiny_models.multilingual_speech import MMS_ALPHABETS, MMS_SPECIALS, _is_adapter_weight

    config = tf.Wav2Vec2Config(hidden_size=1280, num_hidden_layers=48, num_attention_heads=16,
                               intermediate_size=5120, conv_bias=True, feat_extract_norm="layer",
                               do_stable_layer_norm=True, adapter_attn_dim=16,
                               vocab_size=len(MMS_SPECIALS) + len(MMS_ALPHABETS["eng"]))
    model = tf.Wav2Vec2ForCTC(config)
    shapes = {name: tuple(param.shape) for name, param in model.named_parameters() if _is_adapter_weight(name)}
    for language, alphabet in MMS_ALPHABETS.items():
        rows = len(MMS_SPECIALS) + len(alphabet)
        save_file({name: 0.02 * torch.randn((rows, *shape[1:]) if name.startswith("lm_head.") else shape)
                   for name, shape in shapes.items()}, str(folder / f"adapter.{language}.safetensors"))
    return model, None


def xls_r_21_to_en(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """XLS-R 300M (24 layers, 1024 wide, 3 downsampling adapter layers) + mBART-50's 12-layer 1024-wide decoder
    over its 250k-token vocabulary; the tiny model's generation settings."""
    english = tf.GenerationConfig.from_pretrained(folder).forced_bos_token_id
    encoder = tf.Wav2Vec2Config(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                intermediate_size=4096, conv_bias=True, feat_extract_norm="layer",
                                do_stable_layer_norm=True, add_adapter=True, adapter_stride=2, adapter_kernel_size=3,
                                num_adapter_layers=3)
    decoder = tf.MBartConfig(vocab_size=250_054, d_model=1024, decoder_layers=12, decoder_attention_heads=16,
                             decoder_ffn_dim=4096, is_decoder=True, add_cross_attention=True, scale_embedding=True,
                             bos_token_id=0, pad_token_id=1, eos_token_id=2, decoder_start_token_id=2,
                             forced_bos_token_id=english)
    config = tf.SpeechEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.update({"decoder_start_token_id": 2, "pad_token_id": 1, "eos_token_id": 2, "bos_token_id": 0})
    return tf.SpeechEncoderDecoderModel(config=config), None


def mms_tts(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """VITS at MMS-TTS size (the config's defaults), 16 kHz, over the tiny tokenizer's characters."""
    characters = len(tf.AutoTokenizer.from_pretrained(folder))
    return tf.VitsModel(tf.VitsConfig(vocab_size=characters, sampling_rate=16_000)), None


def layoutlm_base(folder: Path) -> tuple[torch.nn.Module, object | None]:
    """LayoutLM base QA as impira/layoutlm-document-qa: 12 layers, 768 wide, RoBERTa's 50265 tokens, 512-token
    windows (the tiny tokenizer's limit is raised to match)."""
    tokenizer = tf.AutoTokenizer.from_pretrained(folder)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(folder)
    config = tf.LayoutLMConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                               bos_token_id=0, eos_token_id=2)  # the other defaults are LayoutLM base
    return tf.LayoutLMForQuestionAnswering(config), None


# Each takes the folder holding the tiny model's files and returns the real-size model and, where the real input
# size differs from the tiny one, the image processor to use.
BUILDERS: dict[str, Callable[[Path], tuple[torch.nn.Module, object | None]]] = {
    "openai/clip-vit-large-patch14": clip_large,
    "google/vit-base-patch16-224": vit_b16,
    "facebook/detr-resnet-50": detr_resnet50,
    "google/owlvit-base-patch32": owlvit_b32,
    "nvidia/segformer-b0-finetuned-ade-512-512": segformer_b0_ade,
    "vinvino02/glpn-nyu": glpn_nyu,
    "Intel/dpt-large": dpt_large,
    "depth-anything/Depth-Anything-V2-Small-hf": depth_anything_v2_small,
    "microsoft/git-base-coco": git_base,
    "MCG-NJU/videomae-base-finetuned-kinetics": videomae_base,
    "facebook/m2m100_418M": m2m100_418m,
    "FacebookAI/xlm-roberta-base": xlm_roberta_base,
    "facebook/wav2vec2-base-960h": wav2vec2_base,
    "facebook/mms-tts-eng": mms_tts,
    "facebook/mms-tts-kor": mms_tts,  # a voice trained on romanized text (bench/translate_speech.py)
    "facebook/mms-1b-all": mms_1b_all,
    "facebook/wav2vec2-xls-r-300m-21-to-en": xls_r_21_to_en,
    "openai/whisper-base": whisper_base,
    "openai/whisper-small": whisper_small,
    "suno/bark-small": bark_small,
    "impira/layoutlm-document-qa": layoutlm_base,
}


def build(model_id: str, folder: Path) -> None:
    """Write a real-size random checkpoint of one catalog model into folder."""
    torch.manual_seed(0)
    TINY_BUILDERS[model_id](folder)  # tokenizer, processor, generation config
    model, image_processor = BUILDERS[model_id](folder)
    generation_config = folder / "generation_config.json"
    tiny_generation_config = generation_config.read_text() if generation_config.exists() else None
    model.save_pretrained(folder)
    if tiny_generation_config is not None:  # keep Whisper's language tables and Bark's nested stage settings
        generation_config.write_text(tiny_generation_config)
    if image_processor is not None:  # real input sizes; tokenizer files stay the tiny ones
        processor = tf.AutoProcessor.from_pretrained(folder)
        if hasattr(processor, "image_processor"):  # a processor that also holds a tokenizer
            processor.image_processor = image_processor
            image_processor = processor
        image_processor.save_pretrained(folder)


def ensure_all(ids: list[str]) -> Path:
    """CACHE holding a real-size checkpoint for each id, building the missing ones."""
    for model_id in ids:
        folder = CACHE / model_id
        if not (folder / "model.safetensors").exists():
            print(f"building {model_id} at real size...", flush=True)
            build(model_id, folder)
    return CACHE
