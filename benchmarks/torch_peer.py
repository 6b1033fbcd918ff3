"""The PyTorch peer of figure 2: SRCNN and SRResNet as the presets configure them, channels-last,
Adam on the pixel MSE, same batch, patch size and thread count as TensorFlow. Optional: needs the
``bench`` extra (``pip install -e '.[bench]'``).

It runs in its own process (``python -m benchmarks.torch_peer PRESET MODEL STEPS REPEAT``, JSON on
stdout): PyTorch and TensorFlow loaded into one process crash it (both bring their own oneDNN/OpenMP).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class SRCNN(nn.Module):
    def __init__(self, cfg, scale: int):
        super().__init__()
        (f1, f2), (k1, k2, k3) = cfg.filters, cfg.kernel_sizes
        self.scale, self.residual = scale, cfg.residual
        self.c1 = nn.Conv2d(3, f1, k1, padding=k1 // 2)
        self.c2 = nn.Conv2d(f1, f2, k2, padding=k2 // 2)
        self.c3 = nn.Conv2d(f2, 3, k3, padding=k3 // 2)

    def forward(self, lr):
        ilr = F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False)
        x = F.relu(self.c1(ilr / 255.0))
        x = self.c3(F.relu(self.c2(x))) * 255.0
        return (ilr + x if self.residual else x).clamp(0, 255)


class Block(nn.Module):
    def __init__(self, f: int):
        super().__init__()
        self.c1, self.b1, self.p = nn.Conv2d(f, f, 3, padding=1), nn.BatchNorm2d(f), nn.PReLU(f)
        self.c2, self.b2 = nn.Conv2d(f, f, 3, padding=1), nn.BatchNorm2d(f)

    def forward(self, x):
        return x + self.b2(self.c2(self.p(self.b1(self.c1(x)))))


class SRResNet(nn.Module):
    def __init__(self, cfg, scale: int):
        super().__init__()
        f = cfg.filters
        self.scale, self.skip = scale, cfg.bicubic_skip
        self.head, self.head_p = nn.Conv2d(3, f, 9, padding=4), nn.PReLU(f)
        self.blocks = nn.Sequential(*[Block(f) for _ in range(cfg.num_blocks)])
        self.trunk, self.trunk_bn = nn.Conv2d(f, f, 3, padding=1), nn.BatchNorm2d(f)
        self.up = nn.Sequential(*[m for _ in range(int(math.log2(scale)))
                                  for m in (nn.Conv2d(f, 4 * f, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(f))])
        self.tail = nn.Conv2d(f, 3, 9, padding=4)

    def forward(self, lr):
        head = self.head_p(self.head(lr / 127.5 - 1.0))
        x = head + self.trunk_bn(self.trunk(self.blocks(head)))
        x = self.tail(self.up(x))
        if self.skip:
            x = F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False) + x * 127.5
        else:
            x = x * 127.5 + 127.5
        return x.clamp(0, 255)


def step_seconds(cfg, name: str, lr: np.ndarray, hr: np.ndarray, steps: int, repeat: int) -> float:
    """Median seconds per Adam step of the PyTorch twin (NHWC arrays in, channels-last tensors)."""
    import os
    import statistics
    import time

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    net = (SRCNN(cfg.srcnn, cfg.data.scale) if name == "srcnn" else SRResNet(cfg.srresnet, cfg.data.scale))
    net = net.to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.from_numpy(lr).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(hr).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(x) / 255.0, y / 255.0)
        loss.backward()
        opt.step()
        return float(loss)

    step()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / steps


def main(argv: list[str]) -> None:
    import json

    from sr_core.config import load_config

    preset, name, steps, repeat = argv[0], argv[1], int(argv[2]), int(argv[3])
    cfg = load_config(preset)
    b, p, s = getattr(cfg, name).batch_size, cfg.data.hr_patch_size, cfg.data.scale
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (b, p, p, 3)).astype(np.float32)
    lr = rng.integers(0, 256, (b, p // s, p // s, 3)).astype(np.float32)
    print(json.dumps({"seconds_per_step": step_seconds(cfg, name, lr, hr, steps, repeat),
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
