"""Regenerate assets/video/juggling.mp4: a synthetic 4 s clip of three balls juggled in a cascade (CC0, ours).

    python assets/make_video_clip.py

Drawn frame by frame with Pillow and encoded with PyAV (libx264, 320x240, 25 fps); deterministic, no inputs.
"""

import math
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

OUTPUT = Path(__file__).resolve().parent / "video" / "juggling.mp4"
WIDTH, HEIGHT = 320, 240  # pixels
FPS = 25
SECONDS = 4
BALL_COLOURS = [(220, 40, 40), (40, 150, 230), (250, 200, 30)]
THROW_SECONDS = 0.8  # each ball's flight from one hand to the other


def draw_frame(time_s: float) -> Image.Image:
    """One frame: a wall, a floor, a stick-figure juggler and three balls at time_s seconds."""
    picture = Image.new("RGB", (WIDTH, HEIGHT), (200, 190, 170))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 190, WIDTH, HEIGHT), fill=(120, 90, 60))  # floor
    # The juggler: head, body, legs, and forearms that rise and fall with the throws.
    draw.ellipse((146, 62, 174, 92), fill=(230, 190, 160))
    draw.rectangle((148, 92, 172, 150), fill=(60, 80, 140))
    draw.line((154, 150, 146, 190), fill=(40, 40, 60), width=6)
    draw.line((166, 150, 174, 190), fill=(40, 40, 60), width=6)
    hand_lift = 6 * math.sin(2 * math.pi * time_s / THROW_SECONDS)
    hands = [(120, 130 - hand_lift), (200, 130 + hand_lift)]
    for (hand_x, hand_y), shoulder_x in zip(hands, (150, 170), strict=True):
        draw.line((shoulder_x, 100, hand_x, hand_y), fill=(230, 190, 160), width=5)
    for number, colour in enumerate(BALL_COLOURS):
        # Ball `number` starts a third of a cycle after the previous one; odd flights go right to left.
        phase = (time_s / THROW_SECONDS + number * 2 / 3) % 2
        flight, progress = int(phase), phase % 1
        start_x, end_x = (hands[0][0], hands[1][0]) if flight == 0 else (hands[1][0], hands[0][0])
        x = start_x + (end_x - start_x) * progress
        y = 125 - 100 * 4 * progress * (1 - progress)  # a parabola, 100 px high
        draw.ellipse((x - 8, y - 8, x + 8, y + 8), fill=colour)
    return picture


def main() -> None:
    """Encode the clip."""
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(OUTPUT), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"crf": "28", "preset": "veryslow"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(FPS * SECONDS):
            frame = av.VideoFrame.from_ndarray(np.asarray(draw_frame(index / FPS)), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
