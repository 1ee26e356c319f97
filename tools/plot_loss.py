#!/usr/bin/env python3
"""Draws the loss curve of a ./train --log CSV as an SVG, with nothing but the standard library.
Usage: python3 tools/plot_loss.py train_log.csv out.svg [title]
The thin line is the loss of every step, the thick one its moving average over 50 steps."""
import csv
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
steps = [int(r["step"]) for r in rows]
loss = [float(r["loss"]) for r in rows]
avg, window = [], 50
for i in range(len(loss)):
    part = loss[max(0, i - window + 1):i + 1]
    avg.append(sum(part) / len(part))
W, H, L, R, T, B = 720, 360, 60, 20, 40, 45
x0, x1 = min(steps), max(steps)
y0, y1 = 0.0, max(loss) * 1.05
def px(s): return L + (s - x0) / max(1, x1 - x0) * (W - L - R)
def py(v): return T + (1 - (v - y0) / (y1 - y0)) * (H - T - B)
out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
       'font-size="12"><rect width="100%%" height="100%%" fill="white"/>' % (W, H)]
title = sys.argv[3] if len(sys.argv) > 3 else sys.argv[1]
out.append('<text x="%d" y="22" font-size="14">%s</text>' % (L, title))
for k in range(0, int(y1) + 1, 2):   # horizontal grid every 2 nats
    out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (L, W - R, py(k), py(k)))
    out.append('<text x="%d" y="%.1f" text-anchor="end">%d</text>' % (L - 6, py(k) + 4, k))
for k in range(5):
    s = x0 + (x1 - x0) * k // 4
    out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (px(s), H - B + 18, s))
out.append('<text x="%d" y="%d" text-anchor="middle">step</text>' % ((L + W - R) // 2, H - 8))
out.append('<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">loss</text>'
           % (H // 2, H // 2))
for series, style in ((loss, 'stroke="#9ec5fe" stroke-width="1"'),
                      (avg, 'stroke="#0b5ed7" stroke-width="2.5"')):
    pts = " ".join("%.1f,%.1f" % (px(s), py(v)) for s, v in zip(steps, series))
    out.append('<polyline fill="none" %s points="%s"/>' % (style, pts))
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
