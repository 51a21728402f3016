"""A real browser (Playwright driving Debian's Chromium) runs the first example of every tab against the app.

Screenshots of each tab after its example ran are written to test-artifacts/screenshots/ (not committed).
"""

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
# Headless Chromium on a machine without network or GPU (see NOTES.md); the last two allow the microphone.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--use-fake-device-for-media-stream",
                 "--use-fake-ui-for-media-stream"]
# group, tab name, its primary button, and the model id its first example's result names.
TABS = [
    ("Images", "Image classification", "Classify", "openai/clip-vit-large-patch14"),
    ("Images", "Object detection", "Detect", "facebook/detr-resnet-50"),
    ("Images", "Segmentation", "Segment", "nvidia/segformer-b0-finetuned-ade-512-512"),
    ("Images", "Depth", "Estimate depth", "vinvino02/glpn-nyu"),
    ("Images", "Captioning", "Caption", "microsoft/git-base-coco"),
    ("Video", "Video classification", "Classify video", "MCG-NJU/videomae-base-finetuned-kinetics"),
    ("Text", "Translation", "Translate", "facebook/m2m100_418M"),
    ("Text", "Masked words", "Fill in", "FacebookAI/xlm-roberta-base"),
    ("Documents", "Document questions", "Answer", "impira/layoutlm-document-qa"),
    ("Speech", "Speech recognition", "Transcribe", "openai/whisper-large-v3-turbo"),
    ("Speech", "Text to speech", "Speak", "facebook/mms-tts-eng"),  # the default without a GPU
    ("Speech", "Speech translation", "Translate speech", "facebook/m2m100_418M"),
]
TIMEOUT_MS = 60_000

# Skipped only on a developer machine without Chromium; in CI a missing browser fails the test instead.
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                reason="no Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)")


@pytest.fixture(scope="module")
def page(app_url: str) -> Iterator:
    """A Chromium page on the app."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.wait_for_selector("button[role=tab]")
        page.wait_for_timeout(1000)
        yield page
        browser.close()


def open_tab(page, group: str, name: str | None = None):
    """Click a group's tab, then one of its tabs, and return the visible panel of the innermost one."""
    page.get_by_role("tab", name=group, exact=True).click()
    if name is None:
        return page.locator("[role=tabpanel]:visible").first
    page.get_by_role("tab", name=name, exact=True).click()
    return page.locator("[role=tabpanel]:visible [role=tabpanel]:visible").first


@pytest.mark.parametrize(("group", "tab", "button", "model_id"), TABS)
def test_every_tab_runs_its_first_example(page, group: str, tab: str, button: str, model_id: str) -> None:
    panel = open_tab(page, group, tab)
    # The first example fills the inputs; examples of one input are a gallery, of several a table.
    panel.locator("table[role=grid] tbody tr, button.gallery-item").first.click()
    page.wait_for_timeout(1500)  # example files are fetched by the page before they can be sent
    panel.get_by_role("button", name=button, exact=True).click()
    panel.get_by_text(model_id).first.wait_for(timeout=TIMEOUT_MS)  # the JSON result names the model
    assert page.locator(".toast-body.error").count() == 0
    page.screenshot(path=str(SCREENSHOTS / f"{tab.lower().replace(' ', '_')}.png"), full_page=True)


def test_clicking_a_segmentation_class_highlights_it(page) -> None:
    panel = open_tab(page, "Images", "Segmentation")
    panel.locator("button.gallery-item").first.click()
    page.wait_for_timeout(1500)
    panel.get_by_role("button", name="Segment", exact=True).click()
    panel.get_by_text("nvidia/segformer-b0-finetuned-ade-512-512").first.wait_for(timeout=TIMEOUT_MS)
    overlay = page.locator("#segment-overlay img")
    before = overlay.get_attribute("src")
    second = page.locator("#segment-classes [data-testid=cell-1-1]")  # the second row's class name
    label = second.inner_text().strip()
    second.click()
    menu = page.locator("#segment-highlight input")
    page.wait_for_function("([menu, label]) => menu.value === label", arg=[menu.element_handle(), label],
                           timeout=TIMEOUT_MS)
    page.wait_for_function("([img, before]) => img.src !== before", arg=[overlay.element_handle(), before],
                           timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "segmentation_highlight.png"), full_page=True)


def test_selecting_a_detection_row_draws_its_box_alone(page) -> None:
    panel = open_tab(page, "Images", "Object detection")
    panel.locator("table[role=grid] tbody tr").first.click()  # the first example: astronaut.jpg, COCO classes
    page.wait_for_timeout(1500)
    threshold = page.locator("#detect-threshold input[type=number]")
    threshold.fill("0")  # every box of the random model, so the table has rows
    threshold.press("Enter")
    panel.get_by_role("button", name="Detect", exact=True).click()
    panel.get_by_text("facebook/detr-resnet-50").first.wait_for(timeout=TIMEOUT_MS)
    drawn = page.locator("#detect-image img")
    drawn.wait_for(timeout=TIMEOUT_MS)
    before = drawn.get_attribute("src")
    page.locator("#detect-boxes [data-testid=cell-0-0]").click()  # the best box's label
    page.wait_for_function("([img, before]) => img.src !== before", arg=[drawn.element_handle(), before],
                           timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "detection_highlight.png"), full_page=True)


def test_the_page_says_the_tiny_models_give_random_outputs(page) -> None:
    page.get_by_text("These models have random weights").first.wait_for(timeout=TIMEOUT_MS)


def test_empty_labels_example_runs_the_imagenet_classifier(page) -> None:
    panel = open_tab(page, "Images", "Image classification")
    labels = panel.get_by_label("Labels")
    labels.fill("cat, dog")  # so that the example's empty labels are a change the model menu follows
    panel.get_by_text("Strong general-purpose zero-shot").wait_for(timeout=TIMEOUT_MS)
    panel.locator("table[role=grid] tbody tr").nth(1).click()  # the second example: coffee.jpg, no labels
    page.wait_for_timeout(1500)
    assert labels.input_value() == ""
    panel.get_by_text("Closed set, used when the labels are empty").wait_for(timeout=TIMEOUT_MS)  # the menu followed
    panel.get_by_role("button", name="Classify", exact=True).click()
    panel.get_by_text("google/vit-base-patch16-224").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "image_classification_imagenet.png"), full_page=True)


def test_a_deep_link_opens_its_tab(page, app_url: str) -> None:
    page.goto(f"{app_url}?tab=transcribe")
    page.get_by_role("tab", name="Speech recognition", exact=True).wait_for(timeout=TIMEOUT_MS)
    selected = page.locator("button[role=tab][aria-selected=true]:visible").all_inner_texts()
    assert [text.strip() for text in selected] == ["Speech", "Speech recognition"]


# Counts the bytes each MediaRecorder hands out, so the test stops recording once the recorder has written a clip
# (a loaded machine's fake camera and encoder take seconds to start; stopped earlier, the upload is one byte).
COUNT_RECORDED_BYTES = """
window.recordedBytes = 0;
const start = MediaRecorder.prototype.start;
MediaRecorder.prototype.start = function (...args) {
  this.addEventListener("dataavailable", (event) => { window.recordedBytes += event.data.size; });
  return start.apply(this, args);
};
"""


def test_a_webcam_recording_is_classified(page, app_url: str) -> None:
    page.add_init_script(COUNT_RECORDED_BYTES)
    page.goto(f"{app_url}?tab=classify_video")
    page.get_by_role("tab", name="Video classification", exact=True).wait_for(timeout=TIMEOUT_MS)
    panel = open_tab(page, "Video", "Video classification")
    panel.get_by_role("button", name="Capture from camera").click()
    panel.get_by_text("Click to Access Webcam").click()  # Chromium's fake camera, allowed by its flags
    panel.get_by_role("button", name="start recording").click()
    page.wait_for_function("window.recordedBytes > 20000", timeout=TIMEOUT_MS)
    panel.get_by_role("button", name="start recording").click()  # the same button stops
    panel.locator("video").first.wait_for(timeout=TIMEOUT_MS)  # the recording, uploaded and shown
    panel.get_by_role("button", name="Classify video", exact=True).click()
    panel.get_by_text('"sampled_frames"').first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "webcam_recording.png"), full_page=True)


def test_mms_language_menu_is_searched_by_name(page) -> None:
    panel = open_tab(page, "Speech", "Speech recognition")
    model = panel.get_by_label("Model")
    model.click()
    page.get_by_role("option", name="MMS-1b-all (965M)").click()
    language = panel.get_by_label("Language", exact=True).first  # the menu; the second "Language" shows the result
    language.click()
    language.fill("")
    language.press_sequentially("swahi")  # a thousand languages: typing narrows them
    page.get_by_role("option", name="Swahili (swh)").click()
    panel.locator("button.gallery-item").nth(3).click()  # sw.wav
    page.wait_for_timeout(1500)
    panel.get_by_role("button", name="Transcribe", exact=True).click()
    panel.get_by_text("facebook/mms-1b-all").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0
    assert panel.get_by_label("Language", exact=True).nth(1).input_value() == "Swahili"
    page.screenshot(path=str(SCREENSHOTS / "speech_recognition_mms.png"), full_page=True)


def test_models_tab_shows_the_loaded_models(page) -> None:
    panel = open_tab(page, "Models")
    panel.get_by_role("button", name="Refresh").click()
    panel.get_by_text("float32").first.wait_for(timeout=TIMEOUT_MS)
    import transformers

    panel.get_by_text(f"transformers {transformers.__version__}").first.wait_for(timeout=TIMEOUT_MS)
    page.screenshot(path=str(SCREENSHOTS / "models.png"), full_page=True)


def test_a_bad_upload_shows_our_message_and_keeps_the_labels(page, tmp_path: Path) -> None:
    panel = open_tab(page, "Images", "Image classification")
    bad = tmp_path / "holiday.png"
    bad.write_bytes(b"this is not a picture" * 100)
    panel.locator("input[type=file]").first.set_input_files(str(bad))
    labels = panel.get_by_label("Labels")
    labels.fill("cat, dog")
    panel.get_by_role("button", name="Classify", exact=True).click()
    toast = page.locator(".toast-body.error")
    toast.first.wait_for(timeout=TIMEOUT_MS)
    assert "could not be read as an image" in toast.first.inner_text()
    assert labels.input_value() == "cat, dog"  # nothing the user typed is lost
    page.screenshot(path=str(SCREENSHOTS / "bad_upload.png"), full_page=True)


def test_captioning_sends_a_question_to_the_question_model(page, app_url: str) -> None:
    page.goto(f"{app_url}?tab=caption_image")  # a fresh page: no message left from an earlier test
    page.get_by_role("tab", name="Captioning", exact=True).wait_for(timeout=TIMEOUT_MS)
    panel = open_tab(page, "Images", "Captioning")
    model = panel.get_by_label("Model")
    model.click()
    page.get_by_role("option", name="GIT large COCO (394M)", exact=True).click()
    panel.locator("table[role=grid] tbody tr").nth(2).click()  # the chelsea.jpg example with a question
    page.wait_for_timeout(1500)
    assert model.input_value() == "GIT base VQAv2 (177M)"  # a question on a captioning model switches it
    panel.get_by_role("button", name="Caption", exact=True).click()
    panel.get_by_text("microsoft/git-base-vqav2").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0


def test_a_fault_after_the_task_shows_our_message_with_a_request_id(page, app_url: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    import app

    event = next(fn for fn in app.demo.fns.values() if fn.api_name == "synthesize_speech")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("deliberate fault /internal/path")

    # gradio's processing of the JSON result, after the task returned (tests/test_faults.py covers the API surfaces).
    monkeypatch.setattr(type(event.outputs[-1]), "postprocess", broken)
    page.goto(f"{app_url}?tab=synthesize_speech")  # a fresh page: no message left from an earlier test
    page.get_by_role("tab", name="Text to speech", exact=True).wait_for(timeout=TIMEOUT_MS)
    panel = open_tab(page, "Speech", "Text to speech")
    panel.locator("table[role=grid] tbody tr, button.gallery-item").first.click()
    page.wait_for_timeout(1500)
    panel.get_by_role("button", name="Speak", exact=True).click()
    toast = page.locator(".toast-body.error").first
    toast.wait_for(timeout=TIMEOUT_MS)
    page.screenshot(path=str(SCREENSHOTS / "server_fault.png"))
    text = toast.inner_text()
    assert re.search(r"Something went wrong on our side \(request [0-9a-f]{8}\)", text), text
    assert "upstream Gradio app" not in text and "/internal/path" not in text


def test_depth_shows_a_3d_view_and_a_click_reads_metres(page, app_url: str) -> None:
    page.goto(f"{app_url}?tab=estimate_depth")  # a fresh page: no message left from an earlier test
    page.get_by_role("tab", name="Depth", exact=True).wait_for(timeout=TIMEOUT_MS)
    panel = open_tab(page, "Images", "Depth")
    panel.locator("button.gallery-item").first.click()  # astronaut.jpg
    page.wait_for_timeout(1500)
    with page.expect_response(lambda response: response.url.endswith("depth_points.ply"),
                              timeout=TIMEOUT_MS) as fetched:  # the viewer downloads the point cloud
        panel.get_by_role("button", name="Estimate depth", exact=True).click()
    assert fetched.value.ok and fetched.value.body().startswith(b"ply\nformat binary_little_endian")
    page.locator("#depth-3d canvas").wait_for(timeout=TIMEOUT_MS)
    panel.get_by_text("3D view in metres").wait_for(timeout=TIMEOUT_MS)
    depth_map = page.locator("#depth-map img")
    depth_map.wait_for(timeout=TIMEOUT_MS)
    depth_map.scroll_into_view_if_needed()
    box = depth_map.bounding_box()
    depth_map.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.4})
    reading = page.locator("#depth-reading")
    reading.get_by_text(" m from the camera").wait_for(timeout=TIMEOUT_MS)
    assert re.search(r"\*?\d+\.\d\d m", reading.inner_text())  # a number in metres
    depth_map.click(position={"x": box["width"] * 0.7, "y": box["height"] * 0.6})
    reading.get_by_text("Distance from the previous click").wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "depth_3d_and_measure.png"), full_page=True)


def test_two_clicks_on_the_image_make_the_query_box(page, app_url: str) -> None:
    page.goto(f"{app_url}?tab=detect_objects")
    page.get_by_role("tab", name="Object detection", exact=True).wait_for(timeout=TIMEOUT_MS)
    panel = open_tab(page, "Images", "Object detection")
    panel.locator("table[role=grid] tbody tr").first.click()  # astronaut.jpg
    page.wait_for_timeout(1500)
    panel.get_by_text("Find by example").click()  # the accordion
    picture = panel.locator("[data-testid=image] img").first
    box = picture.bounding_box()
    picture.click(position={"x": box["width"] * 0.2, "y": box["height"] * 0.2})
    panel.get_by_text("now click the opposite corner").wait_for(timeout=TIMEOUT_MS)
    picture.click(position={"x": box["width"] * 0.6, "y": box["height"] * 0.7})
    query_box = page.locator("#detect-query-box textarea")
    page.wait_for_function("box => /^\\d+, \\d+, \\d+, \\d+$/.test(box.value)", arg=query_box.element_handle(),
                           timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)  # the model menu follows the example to an OWL model
    panel.get_by_role("button", name="Detect", exact=True).click()
    panel.get_by_text("similarity to the best match").first.wait_for(timeout=TIMEOUT_MS)
    panel.get_by_text("google/owlvit-base-patch32").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "detection_by_example.png"), full_page=True)


def test_compare_tab_shows_one_column_per_model(page, app_url: str) -> None:
    page.goto(f"{app_url}?tab=compare_models")
    page.get_by_role("tab", name="Compare models", exact=True).wait_for(timeout=TIMEOUT_MS)
    panel = open_tab(page, "Compare", "Compare models")
    panel.locator("table[role=grid] tbody tr").first.click()  # chelsea.jpg with labels
    page.wait_for_timeout(1500)
    panel.get_by_role("button", name="Compare", exact=True).click()
    titles = [page.locator(f"#compare-title-{index}") for index in range(2)]
    titles[0].get_by_text("openai/clip-vit-large-patch14").wait_for(timeout=TIMEOUT_MS)
    titles[1].get_by_text("openai/clip-vit-base-patch32").wait_for(timeout=TIMEOUT_MS)
    columns = page.locator(".compare-column:visible")
    assert columns.count() == 2  # the unused two of four columns stay hidden
    panel.get_by_text("not comparable").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "compare_models.png"), full_page=True)


def test_text_to_speech_plays_its_stream(page) -> None:
    """The streamed speech is played: the page's audio element advances (its AAC segments decode in the browser)."""
    panel = open_tab(page, "Speech", "Text to speech")
    panel.locator("table[role=grid] tbody tr").first.click()
    page.wait_for_timeout(1500)
    panel.get_by_role("button", name="Speak", exact=True).click()
    panel.get_by_text("facebook/mms-tts-eng").first.wait_for(timeout=TIMEOUT_MS)
    played = panel.locator("audio").first
    page.wait_for_function("audio => audio.currentTime > 0.2 && !audio.error", arg=played.element_handle(),
                           timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0


def test_speech_translation_plays_the_first_segment_before_the_rest_is_spoken(page, app_url: str,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The first translated segment is heard while the later ones are still to be spoken. Every speech call after the
    first waits until the page has played some of the first (the first example gives four segments on the tiny
    models), so the run cannot have ended when the audio plays, however fast this machine is."""
    from backend.tasks import translate_speech as chain

    played = threading.Event()
    spoken: list[str] = []
    speak = chain.synthesize_speech

    def later_segments_wait(text: str, **options: object) -> object:
        if spoken:
            played.wait(timeout=TIMEOUT_MS / 1000)
        spoken.append(text)
        return speak(text, **options)

    monkeypatch.setattr(chain, "synthesize_speech", later_segments_wait)
    page.goto(f"{app_url}?tab=translate_speech")
    page.get_by_role("tab", name="Speech translation", exact=True).wait_for(timeout=TIMEOUT_MS)
    panel = open_tab(page, "Speech", "Speech translation")
    panel.locator("table[role=grid] tbody tr").first.click()  # the French example, into English
    page.wait_for_timeout(1500)
    panel.get_by_role("button", name="Translate speech", exact=True).click()
    stream = page.locator("#speech-translation-stream audio")
    try:
        stream.wait_for(state="attached", timeout=TIMEOUT_MS)
        page.wait_for_function("audio => audio.currentTime > 0.2 && !audio.error", arg=stream.element_handle(),
                               timeout=TIMEOUT_MS)
        assert len(spoken) == 1  # the second segment waits to be spoken
        assert panel.get_by_text("facebook/m2m100_418M").count() == 0  # the run's final JSON has not come
        page.screenshot(path=str(SCREENSHOTS / "speech_translation_first_segment_playing.png"), full_page=True)
    finally:
        played.set()
    panel.get_by_text("facebook/m2m100_418M").first.wait_for(timeout=TIMEOUT_MS)
    assert len(spoken) >= 2 and page.locator(".toast-body.error").count() == 0


@pytest.fixture
def real_whisper_app(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The launched app answering for openai/whisper-base with its real weights (tests/speech/real_whisper.py), on its
    default engine for CPU; the model id. Real words are needed: the tiny random Whisper writes one long "word"."""
    if shutil.which("espeak-ng") is None and os.environ.get("CI") != "true":
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    from backend import models
    from tests.speech import real_whisper

    cache = os.environ.get("TINY_MODELS_CACHE")
    root = Path(cache) if cache else tmp_path_factory.mktemp("real-whisper")
    monkeypatch.setenv("MODELS_DIR", str(real_whisper.models_dir(root)))
    monkeypatch.setenv("APP_ENGINE", "auto")
    monkeypatch.setenv("APP_CTRANSLATE2_CACHE", str(root / "real-whisper-ct2"))
    models.CACHE.unload(real_whisper.MODEL_ID)
    yield real_whisper.MODEL_ID
    models.CACHE.unload(real_whisper.MODEL_ID)  # the other tests expect the tiny model


def spoken_sentence(path: Path) -> Path:
    """espeak-ng saying "The children played football in the park after school." (about 3 s) as a WAV."""
    from tests.speech import real_whisper

    return real_whisper.speak(real_whisper.SENTENCES[3], path)


def speech_video(wav: Path, path: Path) -> Path:
    """A WebM (VP8 frames, Opus sound) whose sound track is the WAV: what a user uploads to get subtitles."""
    import av
    import numpy as np

    with av.open(str(wav)) as source, av.open(str(path), "w", format="webm") as container:
        picture = container.add_stream("libvpx", rate=10)
        picture.width, picture.height, picture.pix_fmt = 160, 120, "yuv420p"
        sound = container.add_stream("libopus", rate=48000)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        seconds = 0.0
        for frame in [*source.decode(audio=0), None]:  # None flushes the resampler, then the encoder
            if frame is not None:
                seconds += frame.samples / frame.sample_rate
            for resampled in resampler.resample(frame):
                container.mux(sound.encode(resampled))
        container.mux(sound.encode(None))
        for index in range(int(seconds * 10)):  # a grey picture that brightens, 10 frames a second
            grey = np.full((120, 160, 3), 40 + index % 200, dtype=np.uint8)
            container.mux(picture.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")))
        container.mux(picture.encode(None))
    return path


def speech_tab_with_model(page, app_url: str, model_label: str) -> object:
    """The Speech recognition tab on a fresh page, with the model of this menu label chosen; its panel."""
    page.goto(f"{app_url}?tab=transcribe")
    page.get_by_role("tab", name="Speech recognition", exact=True).wait_for(timeout=TIMEOUT_MS)
    panel = open_tab(page, "Speech", "Speech recognition")
    panel.get_by_label("Model").click()
    page.get_by_role("option", name=model_label).click()
    return panel


LAST_STARTED_IS_HIGHLIGHTED = """audio => {
  const started = [...document.querySelectorAll('#asr-transcript [data-s]')]
    .filter(word => Number(word.dataset.s) <= audio.currentTime + 0.001);
  const now = document.querySelectorAll('#asr-transcript .now');
  return started.length > 0 && now.length === 1 && now[0] === started[started.length - 1];
}"""


def test_the_transcript_seeks_the_player_and_follows_it(page, app_url: str, real_whisper_app: str,
                                                        tmp_path: Path) -> None:
    panel = speech_tab_with_model(page, app_url, "Whisper base (74M)")
    page.locator("#asr-audio button[aria-label='Upload file']").click()  # the upload source, not the microphone
    page.locator("#asr-audio input[type=file]").set_input_files(str(spoken_sentence(tmp_path / "speech.wav")))
    player = page.locator("#asr-audio audio")  # the native player: no waveform (demos/transcript_view.py)
    page.wait_for_function("audio => audio.duration > 0", arg=player.element_handle(), timeout=TIMEOUT_MS)
    panel.get_by_role("button", name="Transcribe", exact=True).click()
    panel.get_by_text(real_whisper_app).first.wait_for(timeout=TIMEOUT_MS)
    words = page.locator("#asr-transcript [data-s]")
    words.first.wait_for(timeout=TIMEOUT_MS)
    spoken = [text.strip(" .,").lower() for text in words.all_inner_texts()]
    assert {"children", "football", "park"} <= set(spoken), spoken  # real words, each its own span
    starts = [float(start) for start in words.evaluate_all("spans => spans.map(s => s.dataset.s)")]
    assert starts == sorted(starts) and starts[-1] > starts[0]

    target = spoken.index("football")
    words.nth(target).click()  # a click seeks the player to the word's start and highlights it
    page.wait_for_function("([audio, start]) => Math.abs(audio.currentTime - start) < 0.01",
                           arg=[player.element_handle(), starts[target]], timeout=TIMEOUT_MS)
    assert page.locator("#asr-transcript .now").inner_text().strip(" .,").lower() == "football"

    player.evaluate("audio => { audio.muted = true; audio.play(); }")  # playing moves the highlight on
    page.wait_for_function("start => Number(document.querySelector('#asr-transcript .now')?.dataset.s) > start",
                           arg=starts[target], timeout=TIMEOUT_MS)
    player.evaluate("audio => audio.pause()")
    # Paused, the highlighted word is the one being spoken: the last that started (the page's timeupdate follows).
    page.wait_for_function(LAST_STARTED_IS_HIGHLIGHTED, arg=player.element_handle(), timeout=TIMEOUT_MS)
    now = float(page.locator("#asr-transcript .now").get_attribute("data-s"))
    assert now > starts[target] and now == max(start for start in starts
                                               if start <= player.evaluate("a => a.currentTime") + 0.001)
    page.screenshot(path=str(SCREENSHOTS / "speech_transcript_playing.png"), full_page=True)

    # The threshold marks the unsure words: all of them at 1, none at 0.
    threshold = page.locator("#asr-threshold input[type=number]")
    for value, marked in (("1", len(starts)), ("0", 0)):
        threshold.fill(value)
        threshold.press("Enter")
        page.wait_for_function("([count]) => document.querySelectorAll('#asr-transcript .low').length === count",
                               arg=[marked], timeout=TIMEOUT_MS)
    page.locator("#asr-languages").get_by_text("English (en)").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".toast-body.error").count() == 0


def test_a_video_plays_with_its_subtitles(page, app_url: str, real_whisper_app: str, tmp_path: Path) -> None:
    panel = speech_tab_with_model(page, app_url, "Whisper base (74M)")
    panel.get_by_text("Or a video").click()
    video_file = speech_video(spoken_sentence(tmp_path / "speech.wav"), tmp_path / "talk.webm")
    page.locator("#asr-video-in input[type=file]").set_input_files(str(video_file))
    page.locator("#asr-video-in video").wait_for(timeout=TIMEOUT_MS)
    panel.get_by_role("button", name="Transcribe", exact=True).click()
    panel.get_by_text(real_whisper_app).first.wait_for(timeout=TIMEOUT_MS)
    video = page.locator("#asr-video-out video")
    video.wait_for(timeout=TIMEOUT_MS)
    assert video.locator("track[kind=captions]").count() == 1
    # The WebVTT track loads (readyState 2) with its cues, shown by default.
    page.wait_for_function("video => video.querySelector('track').readyState === 2 && "
                           "video.textTracks[0].cues.length > 0", arg=video.element_handle(), timeout=TIMEOUT_MS)
    cues = video.evaluate("video => Array.from(video.textTracks[0].cues, cue => [cue.startTime, cue.endTime, "
                          "cue.text])")
    assert video.evaluate("video => video.textTracks[0].mode") == "showing"
    assert "football" in " ".join(text for _, _, text in cues).lower(), cues
    assert all(0 <= start <= end <= 4.0 for start, end, _ in cues), cues  # WebVTT times the browser understood

    words = page.locator("#asr-transcript [data-s]")
    spoken = [text.strip(" .,").lower() for text in words.all_inner_texts()]
    target = spoken.index("football")
    start = float(words.nth(target).get_attribute("data-s"))
    words.nth(target).click()  # the transcript drives the video when there is one
    page.wait_for_function("([video, start]) => Math.abs(video.currentTime - start) < 0.01",
                           arg=[video.element_handle(), start], timeout=TIMEOUT_MS)
    video.evaluate("video => { video.muted = true; video.play(); }")
    page.wait_for_function("video => video.currentTime > 0 && video.textTracks[0].activeCues.length > 0",
                           arg=video.element_handle(), timeout=TIMEOUT_MS)  # a subtitle is on screen
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "speech_video_subtitles.png"), full_page=True)
    video.evaluate("video => video.pause()")
    assert page.locator(".toast-body.error").count() == 0
