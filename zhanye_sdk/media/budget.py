"""How much of a listener's video budget to use, from the loss they report, sans I/O.

A link that is saturated loses packets. The listener's receiver reports say how much of
what the server sent them was lost (RTCP ``fraction lost``, per stream); :class:`VideoBudget`
turns that into the share of their video cap (``MediaConfig.video_kbps``) the server's
relayed video may use, by the loss-based rule of Google's congestion control: above 10 %
loss the share falls by ``1 - loss / 2``, under 2 % it grows back by 8 % a report, in
between it holds. Either stream's loss counts, the audio's too: when the link is full,
video yields first and audio (with its redundancy sized for the same loss) keeps going.
"""

from __future__ import annotations

__all__ = ["VideoBudget"]


class VideoBudget:
    """One listener's share (0–1) of their video cap.

    Args:
        floor: the smallest share (video never stops for loss alone).
    """

    def __init__(self, floor: float = 0.1) -> None:
        if not 0 < floor <= 1:
            raise ValueError(f"floor must be in (0, 1], got {floor}")
        self.floor = floor
        self.share = 1.0

    def update(self, audio_loss: float, video_loss: float) -> float:
        """Follow one report (fractions 0–1 of each stream lost); the new share."""
        loss = min(1.0, max(0.0, audio_loss, video_loss))
        if loss > 0.10:
            self.share = max(self.floor, self.share * (1 - loss / 2))
        elif loss < 0.02:
            self.share = min(1.0, self.share * 1.08)
        return self.share
