"""Real TFRecord patch shards for the benchmarks, made by ``srbench prepare``'s code on the sample photos."""

from __future__ import annotations

from pathlib import Path


def sample_patch_dir(workdir: Path, hr_patch_size: int, patches_per_image: int, num_shards: int = 4,
                     compression: str = "gzip") -> Path:
    """Prepare (once per folder, size and encoding) HR/LR patches of the offline ``sample`` dataset, x4."""
    from sr_core.config import load_config
    from sr_core.records import prepare_patches

    cfg = load_config("quick", [f"data.hr_patch_size={hr_patch_size}", f"data.patches_per_image={patches_per_image}",
                                f"data.num_shards={num_shards}", "data.flat_patch_std=0",
                                f"data.compression={compression}"],
                      data_dir=Path(workdir) / f"data-{hr_patch_size}-{patches_per_image}")
    return Path(prepare_patches(cfg))
