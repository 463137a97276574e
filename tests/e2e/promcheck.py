#!/usr/bin/env python3
"""Check what promtool does not, over scrapes of /metrics taken in order.

    promcheck.py [--forbid TEXT]... SCRAPE...

Within each scrape: every series appears once, every family has HELP and
TYPE before its samples, every value parses, counters end in _total, and
a histogram's buckets have increasing bounds, counts that never go down
from one bucket to the next, and a +Inf bucket equal to its _count.
Across the scrapes: the same series every time (so their number does not
depend on who is online), and no counter, bucket, _count or _sum goes
down. No scrape may contain a forbidden text (a user name, an address).
Prints one line per problem and exits 1 if there was any.
"""
import math
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_labels(text, where, errors):
    labels = []
    pos = 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if m is None:
            errors.append('%s: bad labels {%s}' % (where, text))
            return ()
        labels.append((m.group(1), m.group(2)))
        pos = m.end()
    return tuple(sorted(labels))


def family_of(name, types):
    if name in types:
        return name
    for suffix in ('_bucket', '_count', '_sum'):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == \
                'histogram':
            return name[:-len(suffix)]
    return None


def parse(path, errors):
    types, helps, series = {}, set(), {}
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    for n, line in enumerate(lines, 1):
        where = '%s:%d' % (path, n)
        if line.startswith('# HELP '):
            helps.add(line.split(' ')[2])
            continue
        if line.startswith('# TYPE '):
            parts = line.split(' ')
            if len(parts) != 4 or parts[3] not in ('counter', 'gauge',
                                                   'histogram'):
                errors.append('%s: bad TYPE line' % where)
                continue
            if parts[2] in types:
                errors.append('%s: TYPE of %s twice' % (where, parts[2]))
            types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        if m is None:
            errors.append('%s: not a sample: %r' % (where, line))
            continue
        name, labels, value = m.group(1), m.group(3) or '', m.group(4)
        fam = family_of(name, types)
        if fam is None:
            errors.append('%s: %s has no TYPE before it' % (where, name))
            continue
        if fam not in helps:
            errors.append('%s: %s has no HELP' % (where, fam))
        if types[fam] == 'counter' and not fam.endswith('_total'):
            errors.append('%s: counter %s does not end in _total' %
                          (where, fam))
        try:
            v = float(value)
        except ValueError:
            errors.append('%s: bad value %r' % (where, value))
            continue
        key = (name, parse_labels(labels, where, errors))
        if key in series:
            errors.append('%s: series %s{%s} twice' % (where, name, labels))
        series[key] = v
    return types, series


def check_histograms(path, types, series, errors):
    groups = {}
    for (name, labels), v in series.items():
        fam = family_of(name, types)
        if types.get(fam) != 'histogram':
            continue
        rest = tuple(l for l in labels if l[0] != 'le')
        g = groups.setdefault((fam, rest), {'buckets': [], 'count': None})
        if name.endswith('_bucket'):
            le = dict(labels).get('le')
            if le is None:
                errors.append('%s: %s bucket without le' % (path, fam))
                continue
            g['buckets'].append((math.inf if le == '+Inf' else float(le),
                                 v))
        elif name.endswith('_count'):
            g['count'] = v
    for (fam, rest), g in groups.items():
        what = '%s: %s%s' % (path, fam, dict(rest))
        bounds = [b for b, _ in g['buckets']]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            errors.append('%s: bucket bounds not increasing' % what)
        counts = [c for _, c in sorted(g['buckets'])]
        if any(b < a for a, b in zip(counts, counts[1:])):
            errors.append('%s: bucket counts go down: %s' % (what, counts))
        if not bounds or bounds[-1] != math.inf:
            errors.append('%s: no +Inf bucket' % what)
        elif g['count'] is None or counts[-1] != g['count']:
            errors.append('%s: +Inf %s != _count %s' %
                          (what, counts[-1], g['count']))


def main(argv):
    forbid, paths = [], []
    args = iter(argv)
    for a in args:
        if a == '--forbid':
            forbid.append(next(args))
        else:
            paths.append(a)
    if not paths:
        print('usage: promcheck.py [--forbid TEXT]... SCRAPE...')
        return 2
    errors, previous = [], None
    for path in paths:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for word in forbid:
            if word in text:
                errors.append('%s: holds %r' % (path, word))
        types, series = parse(path, errors)
        check_histograms(path, types, series, errors)
        if previous is not None:
            ppath, ptypes, pseries = previous
            if set(series) != set(pseries):
                gone = sorted(set(pseries) - set(series))[:5]
                new = sorted(set(series) - set(pseries))[:5]
                errors.append('%s: series differ from %s (gone %s, new %s)'
                              % (path, ppath, gone, new))
            for key, v in series.items():
                fam = family_of(key[0], types)
                kind = types.get(fam)
                if key in pseries and (kind == 'counter' or
                                       kind == 'histogram') and \
                        v < pseries[key]:
                    errors.append('%s: %s%s went down from %s to %s' %
                                  (path, key[0], dict(key[1]),
                                   pseries[key], v))
        previous = (path, types, series)
    for e in errors:
        print('promcheck: ' + e)
    if errors:
        return 1
    print('promcheck: ok: %d scrapes of %d series' % (len(paths),
                                                      len(previous[2])))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
