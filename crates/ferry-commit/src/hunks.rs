//! Line-level merge hunks for one file: where the source and the destination changed the base,
//! and which of those changes overlap (conflicts). Pure; no I/O.

/// A changed region: base lines `[base_start, base_end)` replaced by `lines`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    base_start: usize,
    base_end: usize,
    new_start: usize,
    lines: Vec<String>,
}

/// Lines of one side in a hunk, 1-based and inclusive (`end < start` for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub start: usize,
    pub end: usize,
    pub content: String,
}

/// One merge hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub conflict: bool,
    pub base: Side,
    pub source: Side,
    pub destination: Side,
}

/// Files longer than this (lines) are compared as one region.
const MAX_LINES: usize = 4000;

fn lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_owned).collect()
}

/// The regions where `new` differs from `base` (longest-common-subsequence line diff).
fn edits(base: &[String], new: &[String]) -> Vec<Edit> {
    if base.len() > MAX_LINES || new.len() > MAX_LINES {
        return if base == new {
            vec![]
        } else {
            vec![Edit {
                base_start: 0,
                base_end: base.len(),
                new_start: 0,
                lines: new.to_vec(),
            }]
        };
    }
    let (n, m) = (base.len(), new.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if base[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out: Vec<Edit> = Vec::new();
    let mut open: Option<Edit> = None;
    while i < n || j < m {
        if i < n && j < m && base[i] == new[j] {
            if let Some(e) = open.take() {
                out.push(e);
            }
            i += 1;
            j += 1;
            continue;
        }
        let e = open.get_or_insert(Edit {
            base_start: i,
            base_end: i,
            new_start: j,
            lines: vec![],
        });
        if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            e.lines.push(new[j].clone());
            j += 1;
        } else {
            i += 1;
            e.base_end = i;
        }
    }
    out.extend(open);
    out
}

/// One line of a two-way diff: `' '` kept, `'-'` removed, `'+'` added, with its line numbers
/// in the old and new text (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: char,
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub text: String,
}

/// The lines of `old` and `new` as a diff, every line present (the reader picks the context).
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let (a, b) = (lines(old), lines(new));
    let strip = |l: &str| l.trim_end_matches('\n').trim_end_matches('\r').to_owned();
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    for e in edits(&a, &b) {
        while i < e.base_start {
            out.push(DiffLine {
                kind: ' ',
                old: Some(i + 1),
                new: Some(j + 1),
                text: strip(&a[i]),
            });
            i += 1;
            j += 1;
        }
        for (k, line) in a[e.base_start..e.base_end].iter().enumerate() {
            out.push(DiffLine {
                kind: '-',
                old: Some(e.base_start + k + 1),
                new: None,
                text: strip(line),
            });
        }
        for (k, line) in e.lines.iter().enumerate() {
            out.push(DiffLine {
                kind: '+',
                old: None,
                new: Some(e.new_start + k + 1),
                text: strip(line),
            });
        }
        i = e.base_end;
        j = e.new_start + e.lines.len();
    }
    while i < a.len() {
        out.push(DiffLine {
            kind: ' ',
            old: Some(i + 1),
            new: Some(j + 1),
            text: strip(&a[i]),
        });
        i += 1;
        j += 1;
    }
    out
}

fn side(all: &[String], start: usize, end: usize) -> Side {
    Side {
        start: start + 1,
        end,
        content: all[start..end].concat(),
    }
}

/// The merge hunks of a file given its base, source and destination text.
pub fn merge_hunks(base: &str, source: &str, destination: &str) -> Vec<Hunk> {
    let (b, s, d) = (lines(base), lines(source), lines(destination));
    let (es, ed) = (edits(&b, &s), edits(&b, &d));
    // Tag each edit with its side and group edits whose base ranges overlap or touch.
    let mut all: Vec<(usize, usize, bool)> = es
        .iter()
        .map(|e| (e.base_start, e.base_end, true))
        .collect();
    all.extend(ed.iter().map(|e| (e.base_start, e.base_end, false)));
    all.sort();
    let mut groups: Vec<(usize, usize, bool, bool)> = Vec::new();
    for (start, end, is_source) in all {
        match groups.last_mut() {
            Some(g)
                if start < g.1
                    || (start == g.1 && start == g.0)
                    || (start == g.1 && end == start) =>
            {
                g.1 = g.1.max(end);
                if is_source { g.2 = true } else { g.3 = true }
            }
            _ => groups.push((start, end, is_source, !is_source)),
        }
    }
    // Map a base range onto one side: edits before it shift it, edits inside it resize it
    // (every edit lies wholly inside one group, since groups were built from the edits).
    let project = |edits: &[Edit], new: &[String], start: usize, end: usize| -> Side {
        let delta = |e: &Edit| e.lines.len() as isize - (e.base_end - e.base_start) as isize;
        let inside = |e: &Edit| e.base_start >= start && e.base_end <= end;
        let before: isize = edits
            .iter()
            .filter(|e| !inside(e) && e.base_end <= start)
            .map(delta)
            .sum();
        let within: isize = edits.iter().filter(|e| inside(e)).map(delta).sum();
        let s0 = (start as isize + before).clamp(0, new.len() as isize) as usize;
        let e0 = (end as isize + before + within).clamp(s0 as isize, new.len() as isize) as usize;
        side(new, s0, e0)
    };
    groups
        .into_iter()
        .map(|(start, end, by_source, by_destination)| Hunk {
            conflict: by_source
                && by_destination
                && project(&es, &s, start, end).content != project(&ed, &d, start, end).content,
            base: side(&b, start, end),
            source: project(&es, &s, start, end),
            destination: project(&ed, &d, start, end),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_way_diffs_number_their_lines() {
        let d = diff_lines("a\nb\nc\n", "a\nB\nc\nd\n");
        let shown: Vec<(char, Option<usize>, Option<usize>, &str)> = d
            .iter()
            .map(|l| (l.kind, l.old, l.new, l.text.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (' ', Some(1), Some(1), "a"),
                ('-', Some(2), None, "b"),
                ('+', None, Some(2), "B"),
                (' ', Some(3), Some(3), "c"),
                ('+', None, Some(4), "d"),
            ]
        );
        assert!(diff_lines("", "x\n").iter().all(|l| l.kind == '+'));
    }

    fn text(n: &[&str]) -> String {
        n.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn separate_changes_do_not_conflict() {
        let base = text(&["a", "b", "c", "d", "e"]);
        let source = text(&["a", "B", "c", "d", "e"]);
        let dest = text(&["a", "b", "c", "D", "e"]);
        let h = merge_hunks(&base, &source, &dest);
        assert_eq!(h.len(), 2);
        assert!(h.iter().all(|h| !h.conflict));
        assert_eq!(h[0].source.content, "B\n");
        assert_eq!((h[0].base.start, h[0].base.end), (2, 2));
        assert_eq!(h[1].destination.content, "D\n");
    }

    #[test]
    fn same_line_changed_twice_conflicts() {
        let base = text(&["a", "b", "c"]);
        let h = merge_hunks(&base, &text(&["a", "src", "c"]), &text(&["a", "dst", "c"]));
        assert_eq!(h.len(), 1);
        assert!(h[0].conflict);
        assert_eq!(
            (
                h[0].source.content.as_str(),
                h[0].destination.content.as_str()
            ),
            ("src\n", "dst\n")
        );
        assert_eq!((h[0].source.start, h[0].source.end), (2, 2));
    }

    #[test]
    fn identical_changes_are_not_conflicts() {
        let base = text(&["a", "b"]);
        let h = merge_hunks(&base, &text(&["a", "x"]), &text(&["a", "x"]));
        assert_eq!(h.len(), 1);
        assert!(!h[0].conflict);
    }
}
