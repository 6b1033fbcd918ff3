"""Tiled vs whole-image inference: wall time, peak memory and the largest pixel difference.

Runs the ``div2k`` preset's SRResNet (the seed's generator: 5 blocks, 64 filters; untrained weights
from a fixed seed, as speed and memory do not depend on them) on a synthetic LR image, each
configuration in a fresh subprocess so that peak RSS (``ru_maxrss``) belongs to it alone.

    .venv/bin/python benchmarks/tiling_bench.py [--lr 480x270] [--model srresnet|srcnn] [--configs 0:0,128:24,256:24]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
import numpy as np
from sr_core.config import load_config
from sr_core import upscale
from sr_core.models.srcnn import build_srcnn
from sr_core.models.srresnet import build_srresnet
h, w, tile, pad, model_name, out = sys.argv[1:7]
h, w, tile, pad = int(h), int(w), int(tile), int(pad)
cfg = load_config("div2k")
import keras
keras.utils.set_random_seed(0)  # the same weights in every subprocess
model = build_srresnet(cfg.srresnet, 4) if model_name == "srresnet" else build_srcnn(cfg.srcnn, 4)
fn = upscale.keras_model_fn(model)
fn(np.zeros((1, 16, 16, 3), np.float32))
rng = np.random.default_rng(0)
yy, xx = np.mgrid[0:h, 0:w]
lr = np.clip(np.stack([128 + 100 * np.sin(xx / 9), 128 + 90 * np.cos(yy / 7), (xx + yy) % 256], -1)
             + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
sr = upscale.run_tiled(fn, lr, 4, tile or None, pad)
seconds = time.perf_counter() - t
np.save(out, sr)
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_before_mb": base / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lr", default="480x270", help="LR size WxH (480x270 -> 1920x1080 output)")
    parser.add_argument("--model", default="srresnet", choices=["srresnet", "srcnn"])
    parser.add_argument("--configs", default="0:0,128:24,256:24", help="tile:pad pairs; 0 = untiled")
    args = parser.parse_args()
    w, h = (int(v) for v in args.lr.lower().split("x"))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    print(f"# {args.model} (div2k preset) x4, LR {w}x{h} -> SR {4 * w}x{4 * h}, {os.cpu_count()} CPUs")
    print("\n| tile:pad (LR px) | seconds | peak RSS (MB) | max abs diff vs untiled |")
    print("|---|---:|---:|---:|")
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        reference = None
        for item in args.configs.split(","):
            tile, pad = item.split(":")
            out = os.path.join(tmp, f"{tile}_{pad}.npy")
            proc = subprocess.run([sys.executable, "-c", CHILD, str(h), str(w), tile, pad, args.model, out],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(f"| {item} | failed: {proc.stderr.strip().splitlines()[-1]} | | |")
                continue
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            sr = np.load(out)
            if reference is None:
                reference = sr
            diff = int(np.abs(sr.astype(int) - reference.astype(int)).max())
            label = "untiled" if tile == "0" else item
            print(f"| {label} | {res['seconds']:.2f} | {res['peak_rss_mb']:.0f} | {diff} |")


if __name__ == "__main__":
    main()
