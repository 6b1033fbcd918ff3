"""Published x4 results on the standard benchmark sets, printed beside tonight's numbers.

Y channel (BT.601), ``scale`` pixels cropped from each border, as in the papers. Only numbers the
papers print are here; a set or method a paper does not report is simply absent (the report shows
an empty cell):

* Bicubic and SRCNN: Kim, Lee, Lee, "Accurate Image Super-Resolution Using Very Deep Convolutional
  Networks" (VDSR), CVPR 2016, Table 3 (x4 rows), where SRCNN is Dong et al., "Image
  Super-Resolution Using Deep Convolutional Networks", TPAMI 2016 (whose own table differs by
  0.01 dB on Set5/Set14).
* SRResNet and SRGAN: Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a
  Generative Adversarial Network", CVPR 2017, Table 2 (SRResNet-MSE and SRGAN-VGG54; Urban100 is
  not in that table).

Ledig et al. compute SSIM differently from the VDSR table (their bicubic SSIM on Set5 is 0.8211,
not 0.8104), so SRResNet/SRGAN SSIM are comparable with each other, and only roughly with the rows
above them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VDSR_2016 = "Kim et al. 2016 (VDSR), Table 3"
LEDIG_2017 = "Ledig et al. 2017 (SRGAN), Table 2"


@dataclass(frozen=True)
class Published:
    psnr_y: float
    ssim_y: float
    source: str


# set name -> method -> published x4 result
PUBLISHED_X4: dict[str, dict[str, Published]] = {
    "Set5": {"bicubic": Published(28.42, 0.8104, VDSR_2016), "srcnn": Published(30.48, 0.8628, VDSR_2016),
             "srresnet": Published(32.05, 0.9019, LEDIG_2017), "srgan": Published(29.40, 0.8472, LEDIG_2017)},
    "Set14": {"bicubic": Published(26.00, 0.7027, VDSR_2016), "srcnn": Published(27.49, 0.7503, VDSR_2016),
              "srresnet": Published(28.49, 0.8184, LEDIG_2017), "srgan": Published(26.02, 0.7397, LEDIG_2017)},
    "BSD100": {"bicubic": Published(25.96, 0.6675, VDSR_2016), "srcnn": Published(26.90, 0.7101, VDSR_2016),
               "srresnet": Published(27.58, 0.7620, LEDIG_2017), "srgan": Published(25.16, 0.6688, LEDIG_2017)},
    "Urban100": {"bicubic": Published(23.14, 0.6577, VDSR_2016), "srcnn": Published(24.52, 0.7221, VDSR_2016)},
}

# Folder names teams use for the same sets.
_ALIASES = {"set5": "Set5", "set14": "Set14", "bsd100": "BSD100", "b100": "BSD100", "bsds100": "BSD100",
            "urban100": "Urban100"}


def known_set(name_or_path: str | Path) -> str | None:
    """The canonical name of a standard set from a folder name or path ('…/set14/HR' -> 'Set14')."""
    path = Path(str(name_or_path).rstrip("/"))
    for part in (path.name, path.parent.name):  # 'Set5' or 'Set5/HR', 'Set5/original'
        found = _ALIASES.get(part.lower().replace("_", "").replace("-", ""))
        if found:
            return found
    return None


def published(set_name: str | None, method: str, scale: int = 4) -> Published | None:
    """The published result of ``method`` (a catalogue name) on a standard set, at x4 only."""
    if set_name is None or scale != 4:
        return None
    return PUBLISHED_X4.get(set_name, {}).get(method)
