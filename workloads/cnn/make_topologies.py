"""Generate the SCALE-Sim topology CSVs of workloads/cnn/ from the real network definitions.

    python workloads/cnn/make_topologies.py          # rewrites the .csv files next to this script

SCALE-Sim models 'valid' convolutions only, so every conv row carries the ifmap already padded.
The padded size written is the extent the windows actually touch, (E - 1) * s + k with E the
PyTorch ofmap size (E = (H + 2*pad - k) // s + 1): it equals H + 2*pad except for strided layers
whose last padded row/column no window reaches. Then SCALE-Sim's ofmap size, which rounds
*up* (ceil((H' - k + s) / s), a partial window hanging over the edge), archsim's (floor) and
PyTorch's all agree. Pooling layers are not
convolutions and are left out (the next layer's ifmap has the pooled size); fully connected
layers are 1x1 convolutions on a 1x1 ifmap. Depth-wise convolutions use SCALE-Sim's convention:
the name contains 'DP', channels = C, num_filters = 1; readers expand the row into C
single-channel layers. Every conv row ends with a trailing comma (SCALE-Sim drops the last
field otherwise). Layer shapes follow torchvision (resnet18, resnet50 = v1.5 with the stride on
the 3x3 conv, mobilenet_v2) and the published transformer dimensions.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
GEMM_HEADER = "Layer, M, N, K,"


def out_size(h: int, k: int, s: int, pad: int) -> int:
    return (h + 2 * pad - k) // s + 1


class Net:
    def __init__(self):
        self.rows: list[str] = []

    def conv(self, name, h, cin, cout, k, s, pad, depthwise=False):
        """Append a conv row; returns the ofmap height (square maps)."""
        e = out_size(h, k, s, pad)
        hp = (e - 1) * s + k                  # padded extent the windows touch (<= h + 2*pad)
        if depthwise:
            name = f"{name}_DP"
            self.rows.append(f"{name}, {hp}, {hp}, {k}, {k}, {cin}, 1, {s},")
        else:
            self.rows.append(f"{name}, {hp}, {hp}, {k}, {k}, {cin}, {cout}, {s},")
        assert (hp - k + s) // s == e == -(-(hp - k + s) // s), (name, h, k, s, pad)
        return e

    def fc(self, name, cin, cout):
        self.rows.append(f"{name}, 1, 1, 1, 1, {cin}, {cout}, 1,")

    def text(self):
        return "\n".join([CONV_HEADER, *self.rows]) + "\n"


def resnet18() -> str:
    n = Net()
    h = n.conv("conv1", 224, 3, 64, 7, 2, 3)          # 112
    h = out_size(h, 3, 2, 1)                           # maxpool 3x3 s2 p1 -> 56
    cin = 64
    for li, (width, blocks, stride) in enumerate(((64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)), 1):
        for b in range(blocks):
            s = stride if b == 0 else 1
            h_in = h
            h = n.conv(f"layer{li}.{b}.conv1", h_in, cin, width, 3, s, 1)
            n.conv(f"layer{li}.{b}.conv2", h, width, width, 3, 1, 1)
            if s != 1 or cin != width:
                n.conv(f"layer{li}.{b}.downsample", h_in, cin, width, 1, s, 0)
            cin = width
    n.fc("fc", 512, 1000)
    return n.text()


def resnet50() -> str:
    n = Net()
    h = n.conv("conv1", 224, 3, 64, 7, 2, 3)
    h = out_size(h, 3, 2, 1)
    cin = 64
    for li, (width, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), 1):
        cout = width * 4
        for b in range(blocks):
            s = stride if b == 0 else 1
            h_in = h
            n.conv(f"layer{li}.{b}.conv1", h_in, cin, width, 1, 1, 0)
            h = n.conv(f"layer{li}.{b}.conv2", h_in, width, width, 3, s, 1)
            n.conv(f"layer{li}.{b}.conv3", h, width, cout, 1, 1, 0)
            if b == 0:
                n.conv(f"layer{li}.{b}.downsample", h_in, cin, cout, 1, s, 0)
            cin = cout
    n.fc("fc", 2048, 1000)
    return n.text()


def mobilenet_v2() -> str:
    n = Net()
    h = n.conv("features.0", 224, 3, 32, 3, 2, 1)      # 112
    cin = 32
    idx = 1
    # (expansion t, out channels c, repeats n, first stride s): torchvision / Sandler et al. 2018
    for t, c, reps, s0 in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                           (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for r in range(reps):
            s = s0 if r == 0 else 1
            hidden = cin * t
            if t != 1:
                n.conv(f"features.{idx}.expand", h, cin, hidden, 1, 1, 0)
            h = n.conv(f"features.{idx}.dw", h, hidden, hidden, 3, s, 1, depthwise=True)
            n.conv(f"features.{idx}.project", h, hidden, c, 1, 1, 0)
            cin = c
            idx += 1
    n.conv("features.18", h, 320, 1280, 1, 1, 0)
    n.fc("classifier", 1280, 1000)
    return n.text()


def transformer_gemms() -> str:
    """Per-layer weight GEMMs (M = tokens, N = output features, K = input features)."""
    rows = []
    # BERT-base (Devlin et al. 2019): d_model 768, FFN 3072; sequence lengths 128 and 512.
    for seq in (128, 512):
        rows += [f"bert_base_s{seq}_qkv, {seq}, {3 * 768}, 768,",
                 f"bert_base_s{seq}_attn_out, {seq}, 768, 768,",
                 f"bert_base_s{seq}_ffn_up, {seq}, 3072, 768,",
                 f"bert_base_s{seq}_ffn_down, {seq}, 768, 3072,"]
    # GPT-style decoder, Llama-2-7B shapes (Touvron et al. 2023): d_model 4096, SwiGLU FFN 11008
    # (gate and up projections are two GEMMs); prefill of 2048 tokens and decode at batch 8.
    for tag, m in (("prefill2048", 2048), ("decode_b8", 8)):
        rows += [f"llama2_7b_{tag}_qkv, {m}, {3 * 4096}, 4096,",
                 f"llama2_7b_{tag}_attn_out, {m}, 4096, 4096,",
                 f"llama2_7b_{tag}_ffn_gate, {m}, 11008, 4096,",
                 f"llama2_7b_{tag}_ffn_up, {m}, 11008, 4096,",
                 f"llama2_7b_{tag}_ffn_down, {m}, 4096, 11008,"]
    return "\n".join([GEMM_HEADER, *rows]) + "\n"


FILES = {"resnet18.csv": resnet18, "resnet50.csv": resnet50, "mobilenet_v2.csv": mobilenet_v2,
         "transformer_gemms.csv": transformer_gemms}


def main(out_dir: Path = HERE) -> None:
    for name, make in FILES.items():
        (out_dir / name).write_text(make())


if __name__ == "__main__":
    main()
