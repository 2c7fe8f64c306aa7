"""How different two renderings of one item look: rasterise both SVGs, align them, count the ink
only one of them has.

KiCad's SVG export fits the page to each item, so two conversions of one symbol whose texts
differ in size do not share an origin: the pictures are aligned by the shift that overlaps their
ink most (FFT cross-correlation), then ink within a small tolerance of the other picture's ink
counts as shared. The score is the unshared ink over all ink: 0 for the same picture, 1 for
pictures with nothing in common.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CSS_PX_PER_MM = 96 / 25.4  # cairosvg's unit: CSS pixels at 96 dpi
INK_LEVEL = 200  # mean of R, G, B below which a pixel is ink: strokes and coloured fills of any
# hue count, KiCad's pale body fill (255, 255, 194) and white do not
TOLERANCE_MM = 0.1  # ink this close to the other picture's ink counts as the same stroke
MAX_PIXELS = 800  # longest side of a rasterised item; small items get more pixels per mm
MAX_PX_PER_MM = 40.0

_SIZE = re.compile(r"<svg[^>]*?\swidth=[\"']([\d.]+)mm[\"'][^>]*?\sheight=[\"']([\d.]+)mm[\"']", re.S)


class RenderError(ValueError):
    """An SVG that cannot be read or rasterised."""


@dataclass
class Comparison:
    score: float  # unshared ink / all ink, 0..1
    ours_only: int  # ink pixels only in our picture
    reference_only: int  # ink pixels only in the reference
    shared: int
    shift: tuple[int, int]  # (rows, columns) our picture was moved by to meet the reference
    px_per_mm: float


def svg_size_mm(svg: Path) -> tuple[float, float]:
    """Width and height of a KiCad SVG page, in millimetres."""
    head = svg.read_text(encoding="utf-8", errors="replace")[:4000]
    match = _SIZE.search(head)
    if not match:
        raise RenderError(f"{svg}: no width/height in mm on the <svg> element")
    return float(match.group(1)), float(match.group(2))


def pixels_per_mm(*sizes: tuple[float, float], max_pixels: int = MAX_PIXELS) -> float:
    """One scale for every picture of an item, so the longest side fits `max_pixels`."""
    longest = max(max(w, h) for w, h in sizes)
    return min(MAX_PX_PER_MM, max_pixels / longest) if longest > 0 else MAX_PX_PER_MM


def rasterise(svg: Path, px_per_mm: float) -> np.ndarray:
    """Grey levels (0 black .. 255 white; the plain mean of R, G and B, so that saturated colours
    stay dark) of the SVG drawn on white."""
    import cairosvg
    from PIL import Image

    try:
        # the bytes, not a URL: a "#" in a symbol name would start a URL fragment
        png = cairosvg.svg2png(
            bytestring=svg.read_bytes(), scale=px_per_mm / CSS_PX_PER_MM, background_color="white"
        )
    except Exception as exc:  # cairosvg raises many kinds on bad input
        raise RenderError(f"{svg}: cannot be rasterised: {type(exc).__name__}: {exc}") from exc
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.uint16)
    return (rgb.sum(axis=-1) // 3).astype(np.uint8)


def ink(grey: np.ndarray) -> np.ndarray:
    return grey < INK_LEVEL


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Every pixel within `radius` (a square) of an ink pixel."""
    out = mask.copy()
    for _ in range(radius):
        grown = out.copy()
        grown[1:, :] |= out[:-1, :]
        grown[:-1, :] |= out[1:, :]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def best_shift(moving: np.ndarray, fixed: np.ndarray) -> tuple[int, int]:
    """The (rows, columns) shift of `moving` that overlaps `fixed` most."""
    if not moving.any() or not fixed.any():
        return 0, 0
    shape = (moving.shape[0] + fixed.shape[0], moving.shape[1] + fixed.shape[1])
    spectrum = np.fft.rfft2(fixed.astype(np.float32), shape) * np.conj(
        np.fft.rfft2(moving.astype(np.float32), shape)
    )
    correlation = np.fft.irfft2(spectrum, shape)
    row, col = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    # indexes past the middle are negative shifts (the correlation wraps around)
    return (row - shape[0] if row > fixed.shape[0] else row, col - shape[1] if col > fixed.shape[1] else col)


def place(moving: np.ndarray, fixed: np.ndarray, shift: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Both masks on one canvas, `moving` shifted by `shift`."""
    dr, dc = shift
    top, left = min(0, dr), min(0, dc)
    height = max(fixed.shape[0], moving.shape[0] + dr) - top
    width = max(fixed.shape[1], moving.shape[1] + dc) - left
    a = np.zeros((height, width), bool)
    b = np.zeros((height, width), bool)
    a[dr - top : dr - top + moving.shape[0], dc - left : dc - left + moving.shape[1]] = moving
    b[-top : -top + fixed.shape[0], -left : -left + fixed.shape[1]] = fixed
    return a, b


def compare_masks(
    ours: np.ndarray, reference: np.ndarray, px_per_mm: float
) -> tuple[Comparison, np.ndarray, np.ndarray, np.ndarray]:
    """The comparison of two ink masks; both masks aligned on one canvas; an RGB picture of the
    comparison (black shared, red only ours, blue only the reference)."""
    shift = best_shift(ours, reference)
    a, b = place(ours, reference, shift)
    radius = max(1, round(TOLERANCE_MM * px_per_mm))
    ours_only = a & ~_dilate(b, radius)
    reference_only = b & ~_dilate(a, radius)
    total = int(a.sum() + b.sum())
    unshared = int(ours_only.sum() + reference_only.sum())
    score = unshared / total if total else 0.0
    picture = np.full((*a.shape, 3), 255, np.uint8)
    picture[a | b] = (150, 150, 150)
    picture[a & b] = (0, 0, 0)
    picture[ours_only] = (220, 0, 0)
    picture[reference_only] = (0, 60, 230)
    comparison = Comparison(
        score=round(score, 4),
        ours_only=int(ours_only.sum()),
        reference_only=int(reference_only.sum()),
        shared=int((a & b).sum()),
        shift=(int(shift[0]), int(shift[1])),
        px_per_mm=round(px_per_mm, 3),
    )
    return comparison, a, b, picture


def compare_svgs(
    ours: Path, reference: Path, max_pixels: int = MAX_PIXELS
) -> tuple[Comparison, np.ndarray, np.ndarray, np.ndarray]:
    """Comparison, our picture, the reference's picture (both aligned on one canvas, so they can
    be shown side by side at one scale), the difference picture."""
    scale = pixels_per_mm(svg_size_mm(ours), svg_size_mm(reference), max_pixels=max_pixels)
    comparison, a, b, picture = compare_masks(
        ink(rasterise(ours, scale)), ink(rasterise(reference, scale)), scale
    )
    return comparison, _black_on_white(a), _black_on_white(b), picture


def _black_on_white(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, 0, 255).astype(np.uint8)


def save_png(pixels: np.ndarray, path: Path, max_side: int = 480) -> None:
    """A picture for the HTML page, shrunk so the longest side is at most `max_side`."""
    from PIL import Image

    image = Image.fromarray(pixels)
    image.thumbnail((max_side, max_side))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
