"""Fill docs/cli.md (usage: scripts/gen_cli_doc.py docs/cli.template.md TRANSCRIPT docs/cli.md,
with TRANSCRIPT written by VS_CLI_TRANSCRIPT=TRANSCRIPT tests/integration/cli_commands.sh).
Fill docs/cli.md from a template and a cli_commands.sh transcript (VS_CLI_TRANSCRIPT)."""
import re, sys
tpl, transcript, out = sys.argv[1:4]
text = open(transcript).read()
tmp = re.search(r'/tmp/vs-cli_commands\.[A-Za-z0-9]+', text).group(0)
blocks = {}
for chunk in ('\n' + text).split('\n$ vswitchctl ')[1:]:
    head, _, rest = chunk.partition('\n')
    rest = rest.rstrip('\n')
    m = re.search(r'\n?\[exit (\d+)\]$', rest)
    rc = int(m.group(1))
    body = rest[:m.start()]
    blocks.setdefault(head, []).append((rc, body))

def render(m):
    spec = m.group(1)
    nth = 0
    limit = None
    if '|' in spec:
        spec, opts = spec.split('|', 1)
        for o in opts.split(','):
            k, v = o.split('=')
            if k == 'n': nth = int(v)
            if k == 'lines': limit = int(v)
    cmd = spec.replace('$T', tmp)
    if cmd not in blocks:
        raise SystemExit(f'no transcript block for: {cmd}')
    rc, body = blocks[cmd][nth]
    lines = body.split('\n') if body else []
    if limit is not None and len(lines) > limit:
        more = len(lines) - limit
        lines = lines[:limit] + [f'... ({more} more lines)']
    res = ['```', f'$ vswitchctl {cmd}'.rstrip()] + lines
    if rc != 0:
        res.append(f'# exit status {rc}')
    res.append('```')
    return '\n'.join(res)

doc = re.sub(r'@@RUN (.*?)@@', render, open(tpl).read())
doc = doc.replace('@@TMP@@', tmp)
open(out, 'w').write(doc)
