"""The launched app through its HTTP API: exactly the public endpoints, each called by keyword (gradio_client)."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from gradio_client import Client, handle_file
from PIL import Image

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PUBLIC_API = {
    "/classify_image": ["image", "labels", "model", "template"],
    "/detect_objects": ["image", "queries", "model", "threshold", "query_image", "query_box"],
    "/segment_image": ["image", "model", "opacity"],
    "/estimate_depth": ["image", "model", "colormap", "view_3d"],
    "/caption_image": ["image", "question", "model"],
    "/classify_video": ["video", "model"],
    "/translate": ["text", "source_language", "target_language", "model"],
    "/fill_mask": ["text", "model", "language"],
    "/transcribe": ["audio", "model", "language", "task", "beam_size", "word_timestamps", "candidate_languages",
                    "vad", "video"],
    "/synthesize_speech": ["text", "model", "voice", "language"],
    "/synthesize_speech_wav": ["text", "model", "voice", "language"],
    "/answer_document": ["document", "question", "model"],
    "/compare_models": ["task", "models", "image", "text", "audio", "options"],
    "/translate_speech": ["audio", "target_language", "source_language", "recognition_model", "translation_model",
                          "speech_model"],
}
REQUIRED = {"/classify_image": {"image"}, "/detect_objects": {"image"}, "/estimate_depth": {"image"},
            "/segment_image": {"image"}, "/caption_image": {"image"}, "/classify_video": {"video"},
            # The language menus start on English -> French, so the API offers those as defaults.
            "/translate": {"text"}, "/fill_mask": {"text"}, "/transcribe": {"audio"},
            "/synthesize_speech": {"text"}, "/synthesize_speech_wav": {"text"},
            "/answer_document": {"document", "question"},
            "/compare_models": set(),  # every parameter has a default; the task says which input it needs
            "/translate_speech": {"audio"}}


def test_the_api_lists_exactly_the_public_endpoints_with_their_parameters(client: Client) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    endpoints = api["named_endpoints"]
    assert set(endpoints) == set(PUBLIC_API)
    assert api["unnamed_endpoints"] == {}
    for name, parameters in PUBLIC_API.items():
        listed = endpoints[name]["parameters"]
        assert [parameter["parameter_name"] for parameter in listed] == parameters
        required = {parameter["parameter_name"] for parameter in listed if not parameter["parameter_has_default"]}
        assert required == REQUIRED[name], name


@pytest.mark.parametrize("model", [None, "openai/clip-vit-base-patch32", "BAAI/AltCLIP"])
def test_classify_image(client: Client, model: str | None) -> None:
    extra = {"model": model} if model else {}
    *_, result = client.predict(image=handle_file(ASSETS / "images" / "chelsea.jpg"), labels="cat, dog, car",
                                api_name="/classify_image", **extra)
    assert result["model"] == (model or "openai/clip-vit-large-patch14")
    assert sorted(item["label"] for item in result["labels"]) == ["car", "cat", "dog"]
    assert sum(item["score"] for item in result["labels"]) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("extra", [{}, {"labels": ""}, {"labels": "", "model": "BAAI/AltCLIP"},
                                   {"model": "google/vit-base-patch16-224"}])
def test_classify_image_without_labels_gives_the_top_5_imagenet_classes(client: Client, extra: dict) -> None:
    scores, result = client.predict(image=handle_file(ASSETS / "images" / "chelsea.jpg"),
                                    api_name="/classify_image", **extra)
    assert result["model"] == "google/vit-base-patch16-224"
    assert len(result["labels"]) == 5
    assert [item["score"] for item in result["labels"]] == sorted((item["score"] for item in result["labels"]),
                                                                   reverse=True)
    assert [item["label"] for item in scores["confidences"]] == [item["label"] for item in result["labels"]]


@pytest.mark.parametrize(("queries", "model", "expected_model"), [
    ("", None, "facebook/detr-resnet-50"),
    ("a cat, a dog", "google/owlv2-base-patch16-ensemble", "google/owlv2-base-patch16-ensemble"),
])
def test_detect_objects(client: Client, queries: str, model: str | None, expected_model: str) -> None:
    extra = {"model": model} if model else {}
    annotated, table, result = client.predict(image=handle_file(ASSETS / "images" / "astronaut.jpg"),
                                              queries=queries, threshold=0.0, api_name="/detect_objects", **extra)
    assert result["model"] == expected_model
    assert result["detections"] and all(len(item["box"]) == 4 for item in result["detections"])
    assert len(table["data"]) == len(result["detections"])  # every detection in the table and the JSON...
    photo = Image.open(ASSETS / "images" / "astronaut.jpg")
    drawn = Image.open(annotated)  # one JPEG with the boxes drawn in, at the input's size
    assert drawn.format == "JPEG" and drawn.size == photo.size


@pytest.mark.parametrize("model", [None, "depth-anything/Depth-Anything-V2-Small-hf"])
def test_estimate_depth(client: Client, model: str | None) -> None:
    import trimesh

    extra = {"model": model} if model else {}
    comparison, png, npy, summary_text, ply, result = client.predict(
        image=handle_file(ASSETS / "images" / "coffee.jpg"), api_name="/estimate_depth", **extra)
    assert result["model"] == (model or "vinvino02/glpn-nyu")
    assert result["metric"] is (model is None)
    assert Path(png).suffix == ".png" and Path(npy).suffix == ".npy"
    assert result["min"] <= result["max"]
    cloud = trimesh.load(ply, file_type="ply")  # the 3D file parses back, one point per grid cell
    mesh = result["mesh"]
    assert mesh["format"] == "ply" and len(cloud.vertices) == mesh["vertices"] == mesh["grid"][0] * mesh["grid"][1]
    assert mesh["scale"] == ("metres" if model is None else "relative")
    assert mesh["field_of_view_deg"] == (60.0 if model is None else None)
    assert ("3D view in metres" if model is None else "3D view is relative") in summary_text


def test_estimate_depth_without_the_3d_view(client: Client) -> None:
    *_, ply, result = client.predict(image=handle_file(ASSETS / "images" / "coffee.jpg"), view_3d=False,
                                     api_name="/estimate_depth")
    assert ply is None and result["mesh"] is None


def test_detect_objects_by_example(client: Client) -> None:
    annotated, table, result = client.predict(image=handle_file(ASSETS / "images" / "astronaut.jpg"),
                                              query_box="100, 80, 300, 400", model="google/owlvit-base-patch32",
                                              threshold=0.0, api_name="/detect_objects")
    assert result["score_kind"] == "similarity" and result["detections"]
    assert {item["label"] for item in result["detections"]} == {"like the example"}
    assert max(item["score"] for item in result["detections"]) == pytest.approx(1.0, abs=1e-4)
    assert len(table["data"]) == len(result["detections"])
    *_, by_image = client.predict(image=handle_file(ASSETS / "images" / "astronaut.jpg"),
                                  query_image=handle_file(ASSETS / "images" / "chelsea.jpg"),
                                  model="google/owlv2-base-patch16-ensemble", api_name="/detect_objects")
    assert by_image["score_kind"] == "similarity" and by_image["detections"]
    assert all(item["score"] >= 0.5 for item in by_image["detections"])  # the example threshold's default


def test_compare_models(client: Client) -> None:
    result = client.predict(task="fill_mask", models="FacebookAI/xlm-roberta-base, unknown/model",
                            text="Paris is the <mask> of France.", api_name="/compare_models")  # JSON, the one output
    assert result["task"] == "fill_mask"
    working, failing = result["results"]
    assert working["model"] == "FacebookAI/xlm-roberta-base" and len(working["result"]["predictions"]) == 5
    assert working["seconds"] > 0
    assert failing["model"] == "unknown/model" and "Unknown model" in failing["error"]
    with pytest.raises(Exception, match="Compare 2 to 4 different models"):
        client.predict(task="fill_mask", models="FacebookAI/xlm-roberta-base", text="A <mask>.",
                       api_name="/compare_models")


@pytest.mark.parametrize("model", [None, "nvidia/segformer-b1-finetuned-cityscapes-1024-1024"])
def test_segment_image(client: Client, model: str | None) -> None:
    extra = {"model": model} if model else {}
    overlay, table, png, result = client.predict(image=handle_file(ASSETS / "images" / "rocket.jpg"), opacity=0.6,
                                                 api_name="/segment_image", **extra)
    assert result["model"] == (model or "nvidia/segformer-b0-finetuned-ade-512-512")
    with Image.open(ASSETS / "images" / "rocket.jpg") as photo:
        assert (result["width"], result["height"]) == photo.size
    with Image.open(overlay) as shown:
        assert shown.size == photo.size
    with Image.open(png) as label_map:
        assert label_map.mode == "P" and label_map.size == photo.size
        counts = np.bincount(np.asarray(label_map).ravel())
        names = json.loads(label_map.text["classes"])
    assert sum(item["pixels"] for item in result["classes"]) == photo.size[0] * photo.size[1]
    assert [item["pixels"] for item in result["classes"]] == [counts[names.index(item["label"])]
                                                               for item in result["classes"]]
    assert [row[1] for row in table["data"]] == [item["label"] for item in result["classes"]]


@pytest.mark.parametrize(("question", "model", "expected_model"), [
    ("", None, "microsoft/git-base-coco"),
    ("what animal is this?", None, "microsoft/git-base-vqav2"),  # no model named: a question goes to VQA
    ("", "microsoft/git-large-coco", "microsoft/git-large-coco"),
])
def test_caption_image(client: Client, question: str, model: str | None, expected_model: str) -> None:
    extra = {"model": model} if model else {}
    text, result = client.predict(image=handle_file(ASSETS / "images" / "chelsea.jpg"), question=question,
                                  api_name="/caption_image", **extra)
    assert result == {"model": expected_model, "question": question, "text": text}


@pytest.mark.parametrize("model", [None, "MCG-NJU/videomae-base-finetuned-ssv2"])
def test_classify_video(client: Client, model: str | None) -> None:
    extra = {"model": model} if model else {}
    labels, strip, result = client.predict(video=handle_file(ASSETS / "video" / "juggling.mp4"),
                                           api_name="/classify_video", **extra)
    assert result["model"] == (model or "MCG-NJU/videomae-base-finetuned-kinetics")
    assert (result["frames"], result["duration_s"]) == (100, 4.0)
    assert labels["label"] == result["labels"][0]["label"]  # gr.Label names the top class...
    assert [item["label"] for item in labels["confidences"]] == [item["label"] for item in result["labels"]]
    assert len(result["labels"]) == 5
    columns = min(8, len(result["sampled_frames"]))  # ...and the strip holds every sampled frame, 8 per row
    rows = -(-len(result["sampled_frames"]) // columns)
    assert Image.open(strip).size == (columns * (128 + 2) - 2, rows * (96 + 2) - 2)  # 320x240 frames at 96 px


@pytest.mark.parametrize(("source", "target", "model"), [("French", "English", None),
                                                         ("zh", "en", "facebook/m2m100_1.2B")])
def test_translate(client: Client, source: str, target: str, model: str | None) -> None:
    extra = {"model": model} if model else {}
    translation, result = client.predict(text="Bonjour tout le monde.", source_language=source,
                                         target_language=target, api_name="/translate", **extra)
    assert result["translation"] == translation
    assert result["target_language"] == "en" and result["model"] == (model or "facebook/m2m100_418M")


@pytest.mark.parametrize(("model", "language", "code"), [(None, "auto", None),
                                                         ("FacebookAI/xlm-mlm-enfr-1024", "auto", "fr"),
                                                         ("FacebookAI/xlm-mlm-enfr-1024", "English", "en")])
def test_fill_mask(client: Client, model: str | None, language: str, code: str | None) -> None:
    extra = {"model": model} if model else {}
    sentences, result = client.predict(text="Paris est la <mask> de la France.", language=language,
                                       api_name="/fill_mask", **extra)
    assert result["model"] == (model or "FacebookAI/xlm-roberta-base") and result["language"] == code
    assert len(result["predictions"]) == 5
    fills = [(span["token"], span["class_or_confidence"]) for span in sentences if span["class_or_confidence"]]
    assert fills == [(item["token"], f"{item['score']:.1%}") for item in result["predictions"]]
    lines = "".join(span["token"] for span in sentences).splitlines()
    assert lines == [f"{rank}. {item['sequence']}" for rank, item in enumerate(result["predictions"], start=1)]


@pytest.mark.parametrize(("model", "language"), [(None, "auto"), ("facebook/wav2vec2-base-960h", "auto"),
                                                 ("openai/whisper-base", "fr")])
def test_transcribe(client: Client, model: str | None, language: str) -> None:
    extra = {"model": model} if model else {}
    text, detected, segments, subtitles, *_, result = client.predict(  # then the words, languages, video
        audio=handle_file(ASSETS / "audio" / "en.wav"), language=language, api_name="/transcribe", **extra)
    assert result["model"] == (model or "openai/whisper-large-v3-turbo")
    assert result["text"] == text
    assert sorted(Path(path).suffix for path in subtitles) == [".srt", ".vtt"]


@pytest.mark.parametrize(("model", "language", "task"), [
    ("facebook/mms-1b-all", "auto", "transcribe"),
    ("facebook/mms-1b-all", "Swahili", "transcribe"),
    ("facebook/wav2vec2-xls-r-300m-21-to-en", "auto", "translate"),
])
def test_transcribe_in_many_languages(client: Client, model: str, language: str, task: str) -> None:
    text, detected, segments, subtitles, *_, result = client.predict(  # then the words, languages, video
        audio=handle_file(ASSETS / "audio" / "sw.wav"), model=model, language=language, task=task,
        api_name="/transcribe")
    assert result["model"] == model and result["text"] == text
    if model == "facebook/mms-1b-all" and language == "auto":  # MMS-LID chose the language
        assert len(result["language_candidates"]) == 5 and 0 < result["language_probability"] <= 1
        assert f"({result['language_probability']:.0%}; heard: " in detected  # the name, then MMS-LID's odds
    elif model == "facebook/mms-1b-all":
        assert result["language"] == "swh" and detected == "Swahili"
    else:
        assert result["language"] is None and result["language_candidates"] == []


@pytest.mark.parametrize(("model", "voice"), [(None, None), ("facebook/mms-tts-eng", None),
                                              ("suno/bark", "v2/fr_speaker_1")])
def test_synthesize_speech(client: Client, model: str | None, voice: str | None) -> None:
    extra = {key: value for key, value in {"model": model, "voice": voice}.items() if value}
    audio_path, streamed_path, result = client.predict(text="Hello there.", api_name="/synthesize_speech", **extra)
    assert result["model"] == (model or "facebook/mms-tts-eng")  # the default without a GPU
    assert Path(audio_path).suffix == ".wav" and result["duration_s"] > 0
    assert Path(streamed_path).is_file()  # the stream as the browser played it (an HLS playlist)
    assert result["voice"] == (voice or "")  # MMS-TTS has one voice, ""


def test_the_api_speech_endpoint_gives_the_pages_wav_without_a_stream(client: Client) -> None:
    page_wav, _, page_result = client.predict(text="Hello there. How are you?", model="facebook/mms-tts-eng",
                                              api_name="/synthesize_speech")
    outputs = client.predict(text="Hello there. How are you?", model="facebook/mms-tts-eng",
                             api_name="/synthesize_speech_wav")
    assert len(outputs) == 2  # the WAV and the JSON, no stream
    api_wav, api_result = outputs
    assert Path(api_wav).read_bytes() == Path(page_wav).read_bytes()  # the same file, byte for byte
    assert api_result == page_result


@pytest.mark.parametrize(("document", "model"), [("invoice.png", None),
                                               ("invoice.pdf", "naver-clova-ix/donut-base-finetuned-docvqa")])
def test_answer_document(client: Client, document: str, model: str | None) -> None:
    extra = {"model": model} if model else {}
    page, answer, result = client.predict(document=handle_file(ASSETS / "documents" / document),
                                          question="What is the total?", api_name="/answer_document", **extra)
    assert result["model"] == (model or "impira/layoutlm-document-qa")
    assert result["page_count"] == (2 if document.endswith(".pdf") else 1)
    drawn = [annotation["label"] for annotation in page["annotations"]]
    assert drawn == ([result["answer"]] if result["box"] else [])  # LayoutLM's box is drawn; Donut has none
    assert result["answer"] in answer


def test_a_user_mistake_comes_back_as_our_message(client: Client) -> None:
    with pytest.raises(Exception, match="Unknown source language"):
        client.predict(text="Hello", source_language="Klingon", target_language="fr", api_name="/translate")


def test_synthesize_speech_in_a_language_with_the_menu_default_model(client: Client) -> None:
    # API clients send the menu's default model with every call; the language still picks the voice.
    *_, result = client.predict(text="नमस्ते दुनिया", model="facebook/mms-tts-eng", language="Hindi",
                                api_name="/synthesize_speech")
    assert (result["model"], result["language"]) == ("facebook/mms-tts-hin", "hi")
    assert result["spoken_text"].isascii() and result["unsayable_characters"] == []


def test_translate_detects_the_source_language(client: Client) -> None:
    _, result = client.predict(text="Der Hund spielt im Garten mit einem roten Ball.", source_language="auto",
                               target_language="en", api_name="/translate")
    assert result["source_language"] == result["detected_language"] == "de"


@pytest.mark.parametrize("name", ["audio/fr.wav", "video/speech_fr.mp4"])  # a video goes in the same argument
def test_translate_speech(client: Client, name: str) -> None:
    speech, streamed, text, translation, rows, files, result = client.predict(
        audio=handle_file(ASSETS / name), target_language="Spanish", source_language="French",
        api_name="/translate_speech")
    assert result["models"] == {"recognition": "openai/whisper-large-v3-turbo",
                                "translation": "facebook/m2m100_418M", "speech": "facebook/mms-tts-spa"}
    assert (result["source_language"], result["target_language"]) == ("fr", "es")
    assert soundfile.info(speech).duration == pytest.approx(result["duration_s"], abs=0.01)
    assert translation.split("\n") == [segment["translation"] for segment in result["segments"]]
    assert len(rows["data"]) == len(result["segments"])
    assert sorted(Path(path).name for path in files) == ["bilingual.srt", "bilingual.vtt", "translation.srt",
                                                         "translation.vtt"]
