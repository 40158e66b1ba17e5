"""Measuring what Qt draws: WCAG 2.2 relative luminance and contrast, translucent colours on their background,
and the pixels of a grab (shared by tests/test_contrast.py and the focus tests)."""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtGui import QColor, QImage

TEXT = 4.5  # WCAG 1.4.3: text against its background
NON_TEXT = 3.0  # WCAG 1.4.11: focus indicators, controls' edges, meters


def luminance(color: QColor) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.red()) + 0.7152 * channel(color.green()) + 0.0722 * channel(color.blue())


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def over(color: QColor, background: QColor) -> QColor:
    """A translucent colour as it shows on its background."""
    alpha = color.alphaF()
    mix = [
        round(f * alpha + b * (1 - alpha))
        for f, b in zip(color.getRgb()[:3], background.getRgb()[:3], strict=True)
    ]
    return QColor(*mix)


def pixels(image: QImage) -> Iterator[tuple[int, int, QColor]]:
    for y in range(image.height()):
        for x in range(image.width()):
            yield x, y, image.pixelColor(x, y)


def strong_changes(focused: QImage, before: QImage, adjacent: list[QColor]) -> int:
    """How many pixels differ between two grabs of a control and contrast 3:1 with every colour next to
    them: what a focus indicator adds."""
    return sum(
        1
        for x, y, color in pixels(focused)
        if color != before.pixelColor(x, y) and min(contrast(color, a) for a in adjacent) >= NON_TEXT
    )
