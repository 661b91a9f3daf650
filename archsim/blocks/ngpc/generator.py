"""Neural-graphics frame generator (`generator = "ngpc"`): NeRF, NSDF, NVR and GIA with the three
input encodings of the NGPC paper (papers/ngpc.md §1), instant-ngp-derived parameters.

A frame expands into an op graph (DESIGN.md §3; `expand` says what waits for what):

    ng_stage ray_gen / pixel_grid       pre-processing: one ray (or uv) per pixel
    ng_stage ray_march | sphere_trace | delta_track   sampling loop (`march_launches` launches)
    ng_stage sh_encode                  NeRF only: view-direction SH (degree 4, 16 values)
    hash_encode                         the grid encoding of every sample (fused = True)
    mlp (1 or 2)                        the small fully-fused MLP(s), 64 wide
    ng_stage composite                  post-processing: volume-rendering accumulation / shading
    ng_stage write_back                 pixel write-back

The hash_encode op carries a `sampler` spec (e.g. "nerf spp=24 width_px=1920 ..."):
`sample_batch(spec, n, seed=, batch=)` regenerates real, app-shaped input points for an engine
model that needs real table addresses:

- nerf: pinhole camera rays through the unit-cube scene; instant-ngp's occupancy grid skips
  empty space, so samples start where the ray enters the occupied region (a ball of radius
  0.35 at the cube centre stands in for the object) and continue at instant-ngp's fixed step
  dt = sqrt(3)/1024 (aabb_scale 1) until early termination; the number of samples per hit ray
  is set so that the frame averages `spp` samples per pixel.
- nvr: delta tracking through a cloud (an ellipsoid of semi-axes 0.35/0.25/0.3); exponential
  free flights (mean free path 0.02), a random scattering direction with probability 0.5 at
  each collision, up to the per-path sample count that makes the frame average `spp`.
- nsdf: sphere tracing a torus (R = 0.3, r = 0.12) with steps equal to the SDF value until
  |SDF| < 1e-3, the ray leaves the cube, or `max_steps`; samples are the trace positions, so
  they concentrate near the surface. The generator traces 4096 pixels of the 1080p view to get
  the mean steps per pixel. Normal / shading queries at the hit point are not modelled.
- gia: the pixel grid of the screen mapped onto the gigapixel image (the full image in view
  at zoom 1), one query per pixel and sample.

Rays are issued in 16 x 16-pixel tiles (raster inside a tile), as a GPU would launch them; a
representative batch is a run of consecutive tiles starting at a seeded random tile.
"""
from __future__ import annotations

import functools
import math
from typing import Literal

import attrs
import numpy as np

from archsim.config.load import field
from archsim.errors import ConfigError
from archsim.workloads.load import OpGraph
from archsim.workloads.ops import HashEncode, Mlp
from archsim.blocks.ngpc.ops import NgStage

App = Literal["nerf", "nsdf", "nvr", "gia"]
Encoding = Literal["hashgrid", "densegrid", "lowres_densegrid"]
Resolution = Literal["1080p", "4k", "8k"]

RESOLUTIONS_PX = {"1080p": (1920, 1080), "4k": (3840, 2160), "8k": (7680, 4320)}

# (levels, features per level, base resolution, finest resolution or 0 = app-dependent)
# instant-ngp configs/nerf/base.json, densegrid.json, densegrid_1res.json (papers/ngpc.md §1.2)
ENCODING_DEFAULTS = {
    "hashgrid": (16, 2, 16, 0),
    "densegrid": (8, 2, 16, 173),       # "8 levels, from res 16 to 173"
    "lowres_densegrid": (2, 8, 128, 128),   # single-res 128^3, 16-wide features split 2 x 8
}
# finest hashgrid resolution per app: 2048 x aabb_scale(1) for NeRF/SDF; the volume's
# world-to-index scale (we use 2048 as well); max(image size)/2 for the gigapixel image.
GIA_IMAGE_PX = (56718, 21450)      # instant-ngp's Tokyo gigapixel example
HASHGRID_FINEST = {"nerf": 2048, "nsdf": 2048, "nvr": 2048, "gia": max(GIA_IMAGE_PX) // 2}
LOG2_TABLE_DEFAULT = {"nerf": 19, "nsdf": 19, "nvr": 19, "gia": 24}

# Default effective samples per pixel (not given in the paper). NeRF: the value
# `archsim reproduce ngpc` fitted so that the GPU model's 1080p NeRF/hashgrid frame takes the
# paper's 231 ms (GPU model of issue 11: the RTX 3090 at the clock its 350 W cap allows; the study
# refits it on every run);
# NVR: a prior (instant-ngp's volume renderer takes tens of delta-tracking steps per path);
# GIA: one query per pixel (instant-ngp); NSDF: traced.
SPP_DEFAULT = {"nerf": 34.09, "nvr": 24.0, "gia": 1.0}
# Default multiplier on the GPU pre/post kernels' bytes and flops: the value `archsim reproduce
# ngpc` fitted so that the GPU model's mean hashgrid encoding + MLP share over the four apps is
# the paper's 72.37 % (same GPU model commit; refitted on every run of the study).
PREPOST_COST_SCALE_DEFAULT = 7.124

NERF_DT = math.sqrt(3.0) / 1024.0      # instant-ngp min cone step for aabb_scale 1
TILE_PX = 16


@attrs.frozen(kw_only=True)
class Params:
    """One neural-graphics frame."""
    app: App = field("nerf", doc="nerf | nsdf | nvr | gia")
    encoding: Encoding = field("hashgrid", doc="hashgrid | densegrid | lowres_densegrid")
    resolution: Resolution = field("1080p", doc="1080p | 4k | 8k (overridden by width_px/height_px)")
    width_px: int = field(0, ge=0, le=65536, doc="0 = from `resolution`")
    height_px: int = field(0, ge=0, le=65536, doc="0 = from `resolution`")
    samples_per_pixel: float = field(0.0, ge=0.0, le=4096.0,
                                     doc="effective samples per pixel; 0 = app default (NSDF: traced)")
    max_steps: int = field(64, ge=1, le=1024, doc="NSDF sphere-tracing step limit")
    levels: int = field(0, ge=0, le=32, doc="0 = the encoding's default")
    features_per_level: int = field(0, ge=0, le=32, doc="0 = the encoding's default")
    log2_table_size: int = field(0, ge=0, le=30, doc="0 = app default (19; GIA 24)")
    base_resolution: int = field(0, ge=0, le=4096, doc="0 = the encoding's default")
    finest_resolution: int = field(0, ge=0, le=1 << 20, doc="0 = the encoding/app default")
    hidden_width: int = field(64, ge=1, le=1024, doc="MLP width (instant-ngp: 64)")
    dtype: Literal["fp16", "bf16", "fp32"] = field("fp16", doc="grid and MLP precision (instant-ngp: fp16)")
    march_launches: int = field(28, ge=1, le=4096,
                                doc="launches of the sampling loop (NeRF ~59 kernels per frame)")
    prepost_cost_scale: float = field(PREPOST_COST_SCALE_DEFAULT, gt=0.0, le=1000.0,
                                      doc="multiplier on pre/post-processing bytes and flops "
                                          "(calibrated, see PREPOST_COST_SCALE_DEFAULT)")
    frames: int = field(1, ge=1, le=1_000_000, doc="identical frames (every op's repeat)")


# ----------------------------------------------------------------------------- derived shapes

def frame_px(p: Params) -> tuple[int, int]:
    w, h = RESOLUTIONS_PX[p.resolution]
    return (p.width_px or w, p.height_px or h)


def encoding_config(p: Params) -> dict:
    """levels, F, log2 T, base and finest resolution, dims, grid type of the frame's encoding."""
    lv, f, base, finest = ENCODING_DEFAULTS[p.encoding]
    lv = p.levels or lv
    f = p.features_per_level or f
    base = p.base_resolution or base
    finest = p.finest_resolution or finest or HASHGRID_FINEST[p.app]
    if finest < base:
        raise ConfigError("<params>", "params.finest_resolution",
                          f"must be >= base resolution {base}; got {finest}")
    return {"levels": lv, "features_per_level": f, "base_resolution": base,
            "finest_resolution": finest, "log2_table_size": p.log2_table_size or LOG2_TABLE_DEFAULT[p.app],
            "dims": 2 if p.app == "gia" else 3,
            "grid": "hash" if p.encoding == "hashgrid" else "dense"}


def per_level_scale(levels: int, base: int, finest: int) -> float:
    """instant-ngp: b = exp(log(finest / base) / (levels - 1)); 1 for a single level."""
    return 1.0 if levels <= 1 else math.exp(math.log(finest / base) / (levels - 1))


def mlp_layers(p: Params, enc_width: int) -> list[tuple[int, ...]]:
    """instant-ngp MLPs (papers/ngpc.md §1.2); tiny-cuda-nn pads outputs to 16."""
    h = p.hidden_width
    if p.app == "nerf":      # density 32->64->16; color (16 density feats + 16 SH)->64->64->3(16)
        return [(enc_width, h, 16), (32, h, h, 16)]
    return [(enc_width, h, h, 16)]


def _pad16(x: int) -> int:
    return (x + 15) // 16 * 16


def spp(p: Params, seed: int = 0) -> float:
    """Effective samples per pixel of the frame."""
    if p.samples_per_pixel > 0:
        return p.samples_per_pixel
    if p.app == "nsdf":
        return nsdf_mean_steps(p.max_steps, seed)
    return SPP_DEFAULT[p.app]


def sampler_spec(p: Params, s: float) -> str:
    w, h = frame_px(p)
    return f"{p.app} spp={s:.6g} width_px={w} height_px={h} max_steps={p.max_steps}"


# ----------------------------------------------------------------------------- expand

def expand(p: Params, *, seed: int = 0) -> OpGraph:
    """The op graph of one frame (see module doc), every op repeated `frames` times. Byte and
    flop counts of the GPU-side stages come from the data each instant-ngp kernel reads and
    writes (fp32 rays and positions, fp16 network outputs), times `prepost_cost_scale`.

    Dependencies (`after`): the sampling loop and the SH direction encoding follow ray
    generation; the encoding follows the sampling loop; the first MLP follows the encoding,
    each further MLP the one before it (NeRF's color MLP also the SH encoding); compositing
    follows the last MLP, write-back the compositing (GIA: the MLP). Program order is the order
    of the kernels on a GPU, so a GPU-only arch runs them one after another."""
    w, h = frame_px(p)
    px = w * h
    s = spp(p, seed)
    n = max(1, int(round(px * s)))
    enc = encoding_config(p)
    out_w = enc["levels"] * enc["features_per_level"]
    k = p.prepost_cost_scale
    reps = p.frames
    ops: list = []
    after: list[tuple[int, ...]] = []

    def add(op, deps=()) -> int:
        ops.append(op)
        after.append(tuple(sorted(deps)))
        return len(ops) - 1

    def stage(stage_name, n_el, nbytes, nflops, deps=(), launches=1) -> int:
        return add(NgStage(stage=stage_name, n_elements=n_el, bytes_per_element=nbytes * k,
                           flops_per_element=nflops * k, launches=launches,
                           name=f"{p.app}.{stage_name}", repeat=reps), deps)

    # pre-processing
    sh = None
    if p.app == "gia":
        feed = stage("pixel_grid", px, 8.0, 4.0)                       # write uv (2 x fp32)
    else:
        gen = stage("ray_gen", px, 24.0, 30.0)                         # write origin + direction (6 x fp32)
        loop = {"nerf": "ray_march", "nsdf": "sphere_trace", "nvr": "delta_track"}[p.app]
        # per sample: read ray (24 B) + occupancy bit, write position (12 B) + dt (4 B) and index
        feed = stage(loop, n, 48.0, 40.0, deps=(gen,), launches=p.march_launches)
        if p.app == "nerf":
            sh = stage("sh_encode", n, 12.0 + 32.0, 60.0, deps=(gen,))  # read dir, write 16 x fp16
    prev = add(HashEncode(n_points=n, dims=enc["dims"], levels=enc["levels"],
                          features_per_level=enc["features_per_level"],
                          log2_table_size=enc["log2_table_size"],
                          base_resolution=enc["base_resolution"],
                          finest_resolution=enc["finest_resolution"], grid=enc["grid"],
                          dtype=p.dtype, fused=True, sampler=sampler_spec(p, s),
                          name=f"{p.app}.{p.encoding}", repeat=reps), (feed,))
    for i, layers in enumerate(mlp_layers(p, _pad16(out_w))):
        deps = (prev,) if i == 0 or sh is None else (prev, sh)
        prev = add(Mlp(batch=n, layers=tuple(layers), activation="relu", dtype=p.dtype, fused=True,
                       name=f"{p.app}.mlp{i}", repeat=reps), deps)
    # post-processing: read the network output (16 x fp16), accumulate into the ray
    if p.app != "gia":
        prev = stage("composite", n, 32.0 + 8.0, 20.0, deps=(prev,), launches=p.march_launches)
    stage("write_back", px, 16.0, 4.0, deps=(prev,))                   # read accumulator, write RGBA8
    return OpGraph(ops=tuple(ops), after=tuple(after))


# ----------------------------------------------------------------------------- samplers

def parse_sampler(spec: str) -> dict:
    """'nerf spp=24 width_px=1920 height_px=1080' -> {'app': 'nerf', 'spp': 24.0, ...}."""
    parts = spec.split()
    if not parts or parts[0] not in ("nerf", "nsdf", "nvr", "gia"):
        raise ConfigError("<op>", "sampler", f"got {spec!r}; expected 'APP key=value ...' with "
                          "APP one of nerf, nsdf, nvr, gia")
    out = {"app": parts[0], "spp": 1.0, "width_px": 1920, "height_px": 1080, "max_steps": 64}
    for kv in parts[1:]:
        key, _, val = kv.partition("=")
        if key not in out or key == "app":
            raise ConfigError("<op>", f"sampler.{key}", "unknown key; allowed: spp, width_px, height_px, max_steps")
        try:
            out[key] = float(val) if key == "spp" else int(val)
        except ValueError:
            raise ConfigError("<op>", f"sampler.{key}", f"expected a number, got {val!r}") from None
        if not (out[key] > 0 and math.isfinite(out[key])):
            raise ConfigError("<op>", f"sampler.{key}", f"must be > 0, got {val!r}")
    return out


def _tile_pixels(w: int, h: int, tile0: int, n_px: int) -> np.ndarray:
    """(n_px, 2) pixel coordinates in tile order starting at tile `tile0` (wrapping)."""
    tw, th = (w + TILE_PX - 1) // TILE_PX, (h + TILE_PX - 1) // TILE_PX
    n_tiles = tw * th
    out = []
    got = 0
    t = tile0 % n_tiles
    yy, xx = np.mgrid[0:TILE_PX, 0:TILE_PX]
    local = np.stack([xx.ravel(), yy.ravel()], axis=1)
    for _ in range(n_tiles):
        tx, ty = t % tw, t // tw
        pix = local + np.array([tx * TILE_PX, ty * TILE_PX])
        pix = pix[(pix[:, 0] < w) & (pix[:, 1] < h)]
        out.append(pix)
        got += len(pix)
        if got >= n_px:
            break
        t = (t + 1) % n_tiles
    return np.concatenate(out)[:max(n_px, 0)] if out else np.zeros((0, 2), dtype=np.int64)


def _camera_rays(pix: np.ndarray, w: int, h: int):
    """Pinhole camera 1.0 unit from the cube centre, 50 deg vertical field of view."""
    center = np.array([0.5, 0.5, 0.5])
    eye = center + np.array([math.sin(0.6) * math.cos(0.3), math.sin(0.3), math.cos(0.6) * math.cos(0.3)])
    fwd = center - eye
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    tan = math.tan(math.radians(25.0))
    u = ((pix[:, 0] + 0.5) / w * 2 - 1) * tan * w / h
    v = (1 - (pix[:, 1] + 0.5) / h * 2) * tan
    d = fwd[None, :] + u[:, None] * right[None, :] + v[:, None] * up[None, :]
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.broadcast_to(eye, d.shape).copy(), d


def _ball_entry(o, d, c, r):
    """Ray/ball entry distance, or nan on a miss."""
    oc = o - c
    b = np.sum(oc * d, axis=1)
    disc = b * b - (np.sum(oc * oc, axis=1) - r * r)
    t = -b - np.sqrt(np.maximum(disc, 0.0))
    return np.where(disc > 0, np.maximum(t, 0.0), np.nan)


NERF_BALL_R = 0.35
TORUS_R, TORUS_r = 0.3, 0.12


@functools.lru_cache(maxsize=64)
def _hit_tiles(app: str, w: int, h: int) -> np.ndarray:
    """Tiles whose centre ray meets the app's object (the seeded start tile is drawn from these,
    so a representative batch holds real samples; all tiles if none does)."""
    tw, th = (w + TILE_PX - 1) // TILE_PX, (h + TILE_PX - 1) // TILE_PX
    ty, tx = np.divmod(np.arange(tw * th), tw)
    pix = np.stack([np.minimum(tx * TILE_PX + TILE_PX // 2, w - 1),
                    np.minimum(ty * TILE_PX + TILE_PX // 2, h - 1)], axis=1)
    o, d = _camera_rays(pix, w, h)
    if app == "nvr":
        t = _ellipsoid_t(o, d, NVR_AXES)
    else:
        r = NERF_BALL_R if app == "nerf" else TORUS_R + TORUS_r
        t = _ball_entry(o, d, np.full(3, 0.5), r)
    hit = np.flatnonzero(np.isfinite(t))
    return hit if len(hit) else np.arange(tw * th)


def _start_tile(app, w, h, rng) -> int:
    tiles = _hit_tiles(app, w, h)
    return int(tiles[rng.integers(len(tiles))])


@functools.lru_cache(maxsize=64)
def _nerf_hit_fraction(w, h):
    pix = np.stack(np.meshgrid(np.linspace(0, w - 1, 96), np.linspace(0, h - 1, 54)), -1).reshape(-1, 2)
    o, d = _camera_rays(pix, w, h)
    return max(float(np.mean(np.isfinite(_ball_entry(o, d, np.full(3, 0.5), NERF_BALL_R)))), 1e-3)


def _nerf_points(cfg, rng, n):
    w, h, s = cfg["width_px"], cfg["height_px"], cfg["spp"]
    per_ray = max(1, int(round(s / _nerf_hit_fraction(w, h))))
    tiles = ((w + TILE_PX - 1) // TILE_PX) * ((h + TILE_PX - 1) // TILE_PX)
    out, got, tile = [], 0, _start_tile("nerf", w, h, rng)
    for _ in range(tiles):
        pix = _tile_pixels(w, h, tile, TILE_PX * TILE_PX)
        o, d = _camera_rays(pix, w, h)
        t0 = _ball_entry(o, d, np.full(3, 0.5), NERF_BALL_R)
        hit = np.isfinite(t0)
        if hit.any():
            k = np.arange(per_ray)
            t = t0[hit][:, None] + k[None, :] * NERF_DT
            pts = o[hit][:, None, :] + t[..., None] * d[hit][:, None, :]
            out.append(pts.reshape(-1, 3))
            got += out[-1].shape[0]
            if got >= n:
                break
        tile = (tile + 1) % tiles
    if not out:   # a view that misses the object: fall back to samples along the centre ray
        return np.tile(np.full(3, 0.5), (n, 1))
    return np.concatenate(out)[:n]


NVR_AXES = np.array([0.35, 0.25, 0.3])
NVR_MFP = 0.02


def _ellipsoid_t(o, d, axes):
    """Ray / axis-aligned ellipsoid (centred in the cube) entry distance, nan on a miss."""
    oc, dd = (o - 0.5) / axes, d / axes
    a = np.sum(dd * dd, axis=1)
    b = np.sum(oc * dd, axis=1)
    c = np.sum(oc * oc, axis=1) - 1.0
    disc = b * b - a * c
    t = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
    return np.where(disc > 0, np.maximum(t, 0.0), np.nan)


def _nvr_points(cfg, rng, n):
    w, h, s = cfg["width_px"], cfg["height_px"], cfg["spp"]
    per_path = max(1, int(round(s)))
    tiles = ((w + TILE_PX - 1) // TILE_PX) * ((h + TILE_PX - 1) // TILE_PX)
    o_l, d_l, got, tile = [], [], 0, _start_tile("nvr", w, h, rng)
    for _ in range(tiles):      # camera rays (tile order) that enter the cloud
        pix = _tile_pixels(w, h, tile, TILE_PX * TILE_PX)
        o, d = _camera_rays(pix, w, h)
        t0 = _ellipsoid_t(o, d, NVR_AXES)
        hit = np.isfinite(t0)
        if hit.any():
            o_l.append(o[hit] + t0[hit][:, None] * d[hit])
            d_l.append(d[hit])
            got += int(hit.sum()) * per_path
            if got >= n:
                break
        tile = (tile + 1) % tiles
    if not o_l:
        return np.tile(np.full(3, 0.5), (n, 1))
    entry, d0 = np.concatenate(o_l), np.concatenate(d_l)
    pos, d = entry.copy(), d0.copy()
    pts = np.empty((len(entry), per_path, 3))
    for k in range(per_path):   # delta tracking: free flight, then scatter or continue
        pos = pos + rng.exponential(NVR_MFP, size=len(pos))[:, None] * d
        inside = np.sum(((pos - 0.5) / NVR_AXES) ** 2, axis=1) <= 1.0
        # a path that left the cloud starts the pixel's next path at the camera-ray entry
        pos = np.where(inside[:, None], pos, entry)
        d = np.where(inside[:, None], d, d0)
        pts[:, k] = pos
        scatter = rng.random(len(pos)) < 0.5
        nd = rng.normal(size=(len(pos), 3))
        nd /= np.linalg.norm(nd, axis=1, keepdims=True)
        d = np.where(scatter[:, None], nd, d)
    return pts.reshape(-1, 3)[:n]


def _torus_sdf(p):
    q = p - 0.5
    xz = np.sqrt(q[:, 0] ** 2 + q[:, 2] ** 2) - TORUS_R
    return np.sqrt(xz ** 2 + q[:, 1] ** 2) - TORUS_r


def _sphere_trace(o, d, max_steps):
    """Positions of every sphere-tracing step (ray-major) and the step count per ray."""
    n = len(o)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (0 - o) / d, (1 - o) / d
    tn = np.maximum(np.nanmax(np.minimum(t1, t2), axis=1), 0)
    tf = np.nanmin(np.maximum(t1, t2), axis=1)
    t = tn.copy()
    alive = tn < tf
    steps = np.zeros((n, max_steps, 3))
    count = np.zeros(n, dtype=np.int64)
    for k in range(max_steps):
        p = o + t[:, None] * d
        steps[:, k] = p
        count += alive
        dist = _torus_sdf(p)
        t = t + np.where(alive, dist, 0)
        alive = alive & (np.abs(dist) >= 1e-3) & (t < tf)
        if not alive.any():
            break
    return steps, count


@functools.lru_cache(maxsize=256)
def nsdf_mean_steps(max_steps: int, seed: int = 0) -> float:
    """Mean sphere-tracing steps per pixel (4096 random pixels of a 1080p view)."""
    rng = np.random.default_rng(seed)
    pix = np.stack([rng.integers(0, 1920, 4096), rng.integers(0, 1080, 4096)], axis=1)
    o, d = _camera_rays(pix, 1920, 1080)
    _, count = _sphere_trace(o, d, max_steps)
    return max(float(count.mean()), 1e-3)


def _nsdf_points(cfg, rng, n):
    w, h = cfg["width_px"], cfg["height_px"]
    tiles = ((w + TILE_PX - 1) // TILE_PX) * ((h + TILE_PX - 1) // TILE_PX)
    out, got, tile = [], 0, _start_tile("nsdf", w, h, rng)
    for _ in range(tiles):
        pix = _tile_pixels(w, h, tile, TILE_PX * TILE_PX)
        o, d = _camera_rays(pix, w, h)
        steps, count = _sphere_trace(o, d, int(cfg["max_steps"]))
        mask = np.arange(steps.shape[1])[None, :] < count[:, None]
        pts = steps[mask]
        if len(pts):
            out.append(pts)
            got += len(pts)
            if got >= n:
                break
        tile = (tile + 1) % tiles
    if not out:
        return np.tile(np.full(3, 0.5), (n, 1))
    return np.concatenate(out)[:n]


def _gia_points(cfg, rng, n):
    w, h = cfg["width_px"], cfg["height_px"]
    per_px = max(1, int(round(cfg["spp"])))
    tiles = ((w + TILE_PX - 1) // TILE_PX) * ((h + TILE_PX - 1) // TILE_PX)
    pix = _tile_pixels(w, h, int(rng.integers(tiles)), n // per_px + 1)
    uv = np.repeat((pix + 0.5) / np.array([w, h]), per_px, axis=0)
    if per_px > 1:   # stratified sub-pixel jitter for supersampling
        uv = uv + (rng.random(uv.shape) - 0.5) / np.array([w, h])
    return uv[:n]


_SAMPLERS = {"nerf": _nerf_points, "nsdf": _nsdf_points, "nvr": _nvr_points, "gia": _gia_points}


def sample_batch(spec: str, n: int, *, dims: int = 3, seed: int = 0, batch: int = 0) -> np.ndarray:
    """`n` input points (float32, (n, dims), in [0, 1]) of representative batch `batch` of the
    frame described by the sampler `spec`; '' = uniform random points in the unit cube."""
    rng = np.random.default_rng([seed, batch, 0x6E67])
    if not spec:
        return rng.random((n, dims)).astype(np.float32)
    cfg = parse_sampler(spec)
    pts = _SAMPLERS[cfg["app"]](cfg, rng, n)
    if len(pts) < n:   # tiny frames: wrap around the frame
        pts = np.resize(pts, (n, pts.shape[1]))
    return np.clip(pts, 0.0, 1.0).astype(np.float32)
