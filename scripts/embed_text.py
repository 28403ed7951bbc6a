#!/usr/bin/env python3
"""Turn a text file into a C string definition: embed_text.py SYMBOL IN OUT."""
import sys

sym, src, dst = sys.argv[1:4]
data = open(src, 'rb').read()
with open(dst, 'w') as out:
    out.write('/* Generated from %s by scripts/embed_text.py; do not edit. */\n' % src.split('/')[-1])
    out.write('const char %s[] =\n' % sym)
    for line in data.splitlines(keepends=True):
        esc = ''.join('\\%03o' % b if b < 32 or b > 126 or b in (34, 92) else chr(b) for b in line)
        out.write('\t"%s"\n' % esc)
    out.write('\t"";\n')
