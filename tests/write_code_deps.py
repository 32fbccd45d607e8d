"""Rewrite each stage's Python deps in dvc.yaml to exactly the code it runs (tests.code_deps).

Run from the repo root after changing imports: ``python tests/write_code_deps.py``.
"""
import re, sys
from pathlib import Path
sys.path.insert(0, '.')
from tests.code_deps import code_closure
import yaml
repo = Path('.').resolve()
text = Path('dvc.yaml').read_text()
stages = yaml.safe_load(text)['stages']
out = text
for name, st in stages.items():
    script = re.search(r'(stages/\S+\.py)', st['cmd']).group(1)
    code = sorted(code_closure(repo, Path(script)))
    code = [script] + [c for c in code if c != script]
    old = [d for d in st['deps'] if d.endswith('.py')]
    # locate the stage block and its deps block
    m = re.search(rf'\n  {re.escape(name)}:\n(.*?)(?=\n  \w[\w-]*:\n|\Z)', out, re.S)
    block = m.group(0)
    lines = block.split('\n')
    new_lines, in_deps, inserted = [], False, False
    for line in lines:
        if line.strip() == 'deps:':
            in_deps = True; new_lines.append(line); continue
        if in_deps and line.startswith('      - '):
            item = line[8:]
            if item.endswith('.py'):
                if not inserted:
                    new_lines += ['      - ' + c for c in code]; inserted = True
                continue
            new_lines.append(line); continue
        if in_deps and not line.startswith('      - '):
            in_deps = False
        new_lines.append(line)
    out = out.replace(block, '\n'.join(new_lines))
    if set(old) != set(code):
        print(name, 'removed', sorted(set(old) - set(code)), 'added', sorted(set(code) - set(old)))
Path('dvc.yaml').write_text(out)
