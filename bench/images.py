"""Round 3's image features against their baselines, in turns (ABAB) within one run, on real-size checkpoints.

    python -m bench.run --only images     # prints the three rows (and writes nothing)

- depth: the Depth tab's call with the 3D point cloud / without it (GLPN, 640x480): the PLY is the only difference;
- compare: /compare_models of two warm depth models / the same two task calls made one after the other;
- by example: OWL-ViT B/32 detection with a new query image each call (its vision pass batched with the photo's),
  with the same query image again (its embedding remembered), and with a box on the image, / with two text
  queries, on the same 640x480 image.
Not a test: nothing here asserts a time.
"""

from typing import Any

from PIL import Image

from bench.timing import interleaved

RUNS = 5  # timed turns of each alternative
DEPTH_MODEL = "vinvino02/glpn-nyu"
COMPARED = ["vinvino02/glpn-nyu", "depth-anything/Depth-Anything-V2-Small-hf"]
OWL = "google/owlvit-base-patch32"
MODELS = sorted({DEPTH_MODEL, *COMPARED, OWL})
TARGETS = {"depth": 1.15, "compare": 1.05, "by_example": 1.6}


def photo() -> Image.Image:
    """A 640x480 picture with some structure (the models' weights are random: content does not matter)."""
    return Image.effect_mandelbrot((640, 480), (-2, -1.2, 1, 1.2), 80).convert("RGB")


def images() -> dict[str, Any]:
    """The three figures: each alternative's seconds (median, min, max) in turns with its baseline."""
    import os
    import tempfile

    from backend.tasks import compare_models, detect_objects, estimate_depth
    from demos import estimate_depth as depth_tab

    picture = photo()
    path = os.path.join(tempfile.mkdtemp(prefix="bench-images-"), "photo.png")
    picture.save(path)
    results: dict[str, Any] = {}
    without, with_3d = interleaved(lambda: depth_tab.estimate_depth(path, model=DEPTH_MODEL, view_3d=False),
                                   lambda: depth_tab.estimate_depth(path, model=DEPTH_MODEL, view_3d=True), RUNS)
    results["depth"] = {"baseline": without, "ours": with_3d}

    def alone() -> None:
        for model_id in COMPARED:
            estimate_depth.estimate_depth(path, model=model_id)

    separate, compared = interleaved(alone, lambda: compare_models.compare_models(
        "estimate_depth", COMPARED, image=path), RUNS)
    results["compare"] = {"baseline": separate, "ours": compared}

    offsets = iter(range(1000))

    def new_query() -> object:  # a query image not seen before: a crop one pixel further right each call
        shift = next(offsets)
        return detect_objects.detect_objects(path, model=OWL, query_image=picture.crop((200 + shift, 120,
                                                                                          440 + shift, 360)))

    def by_text() -> object:
        return detect_objects.detect_objects(path, "a cat, a dog", model=OWL)

    query = picture.crop((200, 120, 440, 360))
    text, by_image = interleaved(by_text, new_query, RUNS)
    results["by_example"] = {"baseline": text, "ours": by_image}
    text, again = interleaved(by_text, lambda: detect_objects.detect_objects(path, model=OWL, query_image=query),
                              RUNS)
    results["by_same_example"] = {"baseline": text, "ours": again}
    text, by_box = interleaved(by_text, lambda: detect_objects.detect_objects(path, model=OWL,
                                                                             query_box="200, 120, 440, 360"), RUNS)
    results["by_box"] = {"baseline": text, "ours": by_box}
    return results


def rows(results: dict[str, Any]) -> list[str]:
    """The BENCHMARKS.md table rows: figure, baseline, ours, ratio, target, verdict."""
    names = {
        "depth": ("Depth tab call with the 3D point cloud / without (GLPN, 640x480)", "depth"),
        "compare": ("/compare_models of two warm depth models / the two task calls alone (GLPN + Depth Anything "
                    "V2 Small, 640x480)", "compare"),
        "by_example": ("Detection by a new query image / by two text queries (OWL-ViT B/32, 640x480)",
                       "by_example"),
        "by_same_example": ("Detection by the same query image again / by two text queries (OWL-ViT B/32)",
                            "by_example"),
        "by_box": ("Detection by a box on the image / by two text queries (OWL-ViT B/32, 640x480)", "by_example"),
    }
    lines = []
    for key, (name, target_key) in names.items():
        if key not in results:
            continue
        figures = results[key]
        ratio = figures["ours"].median / figures["baseline"].median
        target = TARGETS[target_key]
        verdict = "met" if ratio <= target else "**missed**"
        lines.append(f"| {name} | {figures['baseline']} | {figures['ours']} | {ratio:.2f} | <= {target} | {verdict} |")
    return lines
