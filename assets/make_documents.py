"""Write the example documents: a scanned-looking invoice as a PNG, and as a two-page PDF with its terms.

    python assets/make_documents.py

Everything is drawn here with Pillow and its bundled font, under a fixed seed, so the files are ours (CC0) and
the same on every run. The scan look: a slightly grey page, a small rotation, sensor noise and a little blur.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parent / "documents"
DPI = 150  # pixels per inch of the "scan"; A4 is 8.27 x 11.69 inches
SIZE = (1240, 1754)  # A4 at 150 DPI, pixels
SEED = 0
ROTATION_DEGREES = 0.7  # the page sits a little askew on the scanner
SPECKLES = 0.002  # share of pixels hit by dust: dark specks on the paper, light ones in the ink

COMPANY = ["ACME Office Supplies Ltd.", "12 Harbour Road, Bristol BS1 4QA", "VAT number: GB 123 4567 89"]
DETAILS = [("Invoice number:", "INV-2026-0417"), ("Date:", "14 March 2026"), ("Due date:", "13 April 2026")]
BILL_TO = ["Bill to:", "Northwind Traders", "5 Mill Lane, Leeds LS2 7EW"]
ITEMS = [  # description, quantity, unit price, amount (GBP)
    ("Printer paper A4, box of 5 reams", "4", "23.50", "94.00"),
    ("Ballpoint pens, pack of 50", "2", "12.75", "25.50"),
    ("Desk organiser, oak", "1", "18.90", "18.90"),
]
TOTALS = [("Subtotal", "138.40"), ("VAT (20%)", "27.68"), ("Total due", "166.08")]
TERMS = [
    "Terms and conditions",
    "",
    "1. Payment is due within 30 days of the invoice date.",
    "2. Please quote the invoice number with your payment.",
    "3. Goods remain our property until paid in full.",
    "4. Late payments may be charged interest at 4% a year.",
    "",
    "Bank: Harbour Bank, sort code 20-44-91, account 83920174",
]


def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font at `size` pixels (no system font needed)."""
    return ImageFont.load_default(size=size)


def draw_invoice() -> Image.Image:
    """The invoice page, clean: letterhead, details, a table of items, totals."""
    page = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(page)
    left, right = 110, SIZE[0] - 110
    draw.text((left, 110), COMPANY[0], font=font(44), fill=0)
    for row, line in enumerate(COMPANY[1:]):
        draw.text((left, 170 + 36 * row), line, font=font(26), fill=40)
    draw.text((right, 110), "INVOICE", font=font(56), fill=0, anchor="ra")
    for row, (label, value) in enumerate(DETAILS):
        y = 320 + 42 * row
        draw.text((right - 420, y), label, font=font(26), fill=0)
        draw.text((right, y), value, font=font(26), fill=0, anchor="ra")
    for row, line in enumerate(BILL_TO):
        draw.text((left, 320 + 42 * row), line, font=font(30 if row else 26), fill=0)
    # The table: a header row on grey, then one row per item, with rules.
    columns = [left, 720, 840, right]  # x of description, quantity, unit price (right edge), amount (right edge)
    top = 560
    draw.rectangle((left - 10, top - 12, right + 10, top + 40), fill=215)
    headers = [("Description", columns[0], "la"), ("Qty", columns[1], "la"), ("Unit price", 1010, "ra"),
               ("Amount", columns[3], "ra")]
    for text, x, anchor in headers:
        draw.text((x, top), text, font=font(28), fill=0, anchor=anchor)
    for row, (description, quantity, price, amount) in enumerate(ITEMS):
        y = top + 70 + 56 * row
        draw.text((columns[0], y), description, font=font(27), fill=0)
        draw.text((columns[1], y), quantity, font=font(27), fill=0)
        draw.text((1010, y), price, font=font(27), fill=0, anchor="ra")
        draw.text((columns[3], y), amount, font=font(27), fill=0, anchor="ra")
        draw.line((left - 10, y + 44, right + 10, y + 44), fill=150, width=2)
    for row, (label, value) in enumerate(TOTALS):
        y = top + 70 + 56 * len(ITEMS) + 30 + 50 * row
        size = 32 if label == "Total due" else 27
        draw.text((right - 330, y), label, font=font(size), fill=0)
        draw.text((right, y), f"GBP {value}", font=font(size), fill=0, anchor="ra")
    draw.line((right - 330, y - 12, right + 10, y - 12), fill=0, width=3)
    draw.text((left, SIZE[1] - 220), "Thank you for your business.", font=font(28), fill=0)
    draw.text((left, SIZE[1] - 170), "Payment within 30 days to the account on page 2.", font=font(24), fill=60)
    return page


def draw_terms() -> Image.Image:
    """The second page: terms and bank details."""
    page = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(TERMS):
        draw.text((110, 140 + 48 * row), line, font=font(40 if row == 0 else 27), fill=0)
    return page


def scanned(page: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The page as a scanner gives it: off-white paper, askew, slightly soft, with specks of dust."""
    tilted = page.rotate(ROTATION_DEGREES, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    soft = np.asarray(tilted.filter(ImageFilter.GaussianBlur(radius=0.7)), dtype=np.float32)
    pixels = soft * 0.9 + 16  # paper is never pure white, ink never pure black
    specks = rng.random(pixels.shape) < SPECKLES
    pixels[specks] = 255 - pixels[specks] * 0.6  # dust: dark on paper, light on ink
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))


def main() -> None:
    """Write invoice.png and invoice.pdf (2 pages) into assets/documents/."""
    rng = np.random.default_rng(SEED)
    OUT.mkdir(exist_ok=True)
    invoice = scanned(draw_invoice(), rng)
    terms = scanned(draw_terms(), rng)
    invoice.save(OUT / "invoice.png", optimize=True, dpi=(DPI, DPI))
    invoice.save(OUT / "invoice.pdf", save_all=True, append_images=[terms], resolution=DPI)
    print(f"wrote {OUT / 'invoice.png'} and {OUT / 'invoice.pdf'}")


if __name__ == "__main__":
    main()
