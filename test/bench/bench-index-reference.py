#!/usr/bin/python3
"""Reference for bench-index: what a careful Python user writes to index an image tree.

os.walk, sha1 of each file's bytes, Pillow Image.open for the header (lazy: it reads the header only),
sqlite3 executemany in one transaction. Usage: bench-index-reference.py TREE DB
"""
import hashlib
import os
import sqlite3
import sys

from PIL import Image

IMAGE_EXT = {'.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff'}


def main(root, db_file):
    rows = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith('.')]
        for name in filenames:
            if name.startswith('.') or os.path.splitext(name)[1].lower() not in IMAGE_EXT:
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.stat(path)
            with open(path, 'rb') as f:
                data = f.read()
            digest = hashlib.sha1(data).hexdigest()
            try:
                with Image.open(path) as im:
                    width, height = im.size
                    fmt, mode = im.format, im.mode
                status, reason = 'ok', None
            except Exception as e:  # noqa: BLE001 - a bad file is recorded, never fatal
                width = height = fmt = mode = None
                status, reason = 'corrupt', str(e)
            rows.append((rel, rel.split(os.sep)[0], st.st_size, st.st_mtime, digest, fmt, width, height, mode, status, reason))
    con = sqlite3.connect(db_file)
    con.execute('PRAGMA journal_mode=WAL')
    con.execute('''CREATE TABLE IF NOT EXISTS images (rel_path TEXT PRIMARY KEY, class TEXT, bytes INTEGER, mtime REAL,
                   hash TEXT, format TEXT, width INTEGER, height INTEGER, mode TEXT, status TEXT, reason TEXT)''')
    with con:
        con.executemany('INSERT OR REPLACE INTO images VALUES (?,?,?,?,?,?,?,?,?,?,?)', rows)
    con.close()
    print(f'indexed {len(rows)}')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
