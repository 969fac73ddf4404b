#!/usr/bin/python3
"""Reference for bench-verify: Pillow decoding each JPEG (draft mode via Image.thumbnail) into a 128-px
thumbnail saved as WebP, one file at a time, as a careful Python user would.
Usage: bench-verify-reference.py TREE OUT_DIR"""
import os
import sys

from PIL import Image


def main(root, out):
    os.makedirs(out, exist_ok=True)
    n = bad = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith('.')]
        for name in filenames:
            if name.startswith('.') or not name.lower().endswith(('.jpg', '.jpeg')):
                continue
            try:
                with Image.open(os.path.join(dirpath, name)) as im:
                    im.thumbnail((128, 128))
                    im.save(os.path.join(out, f'{n}.webp'), 'WEBP', quality=75, method=0)
                n += 1
            except Exception:  # noqa: BLE001
                bad += 1
    print(f'thumbnails {n} failed {bad}')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
