//! Tolerant source locator for RON configuration files.
//!
//! Serde does not carry source spans into deserialized values, so errors found by semantic
//! validation after parsing (e.g. "tau_m_ms must be positive") only know the field path as
//! printed by `serde_path_to_error` (`populations[1].model.Lif.tau_m_ms`). This module maps
//! such a path back to a 1-based line/column in the RON text so that messages can name
//! `FILE:LINE:COL`. It is a light scanner, not a parser: it understands just enough RON
//! (strings, raw strings, chars, nested comments, brackets) to walk struct fields, map keys,
//! enum variants and sequence elements. It never panics on malformed input and reports the
//! deepest segment it could find.

/// A 1-based line and column (column counted in chars) in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in chars.
    pub col: usize,
}

/// Result of locating a path: position of the deepest segment that was found and how many
/// segments were matched (== number of segments when the whole path was found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// Position of the deepest matched segment (the top-level value if none matched).
    pub pos: Pos,
    /// Number of path segments that were matched.
    pub matched: usize,
}

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A struct field, map key or enum variant name.
    Name(String),
    /// A 0-based sequence or tuple index.
    Index(usize),
}

/// Split a path as printed by serde_path_to_error ("a.b[3].c", "." for the root) into segments.
pub fn parse_path(path: &str) -> Vec<Seg> {
    fn flush(name: &mut String, segs: &mut Vec<Seg>) {
        if !name.is_empty() {
            segs.push(Seg::Name(std::mem::take(name)));
        }
    }
    let mut segs = Vec::new();
    let mut name = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => flush(&mut name, &mut segs),
            '[' => {
                flush(&mut name, &mut segs);
                let inner: String = chars.by_ref().take_while(|&c| c != ']').collect();
                match inner.trim().parse() {
                    Ok(i) => segs.push(Seg::Index(i)),
                    Err(_) => segs.push(Seg::Name(inner)),
                }
            }
            _ => name.push(c),
        }
    }
    flush(&mut name, &mut segs);
    segs
}

/// Locate `path` in RON source `src`. Returns None only if the source has no top-level value.
pub fn locate(src: &str, path: &[Seg]) -> Option<Located> {
    let sc = Scanner::new(src);
    let top = sc.skip_attributes(0);
    sc.ch(top)?;
    let (mut at, mut value, mut matched) = (top, top, 0);
    for seg in path {
        match sc.step(value, seg) {
            Some((report, next)) => (at, value, matched) = (report, next, matched + 1),
            None => break,
        }
    }
    Some(Located {
        pos: sc.pos(at),
        matched,
    })
}

/// What a RON syntax or type error is about, for [`offending_token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// A token: a value, a name, a bracket, or the end of input.
    Token,
    /// An escape sequence inside a string (ron's span covers part of the string).
    Escape,
    /// A block comment that is never closed.
    UnclosedComment,
}

/// The position of the token a RON syntax or type error is about. ron reports a span from
/// where its parser stood before its last step to where it stands now, which for most errors
/// begins at the end of the previous token, before the whitespace and comments, so a bad
/// token at the start of a line would be reported at the end of the line before. This skips
/// to the token, backs up to the start of a number or identifier that ron stopped inside,
/// and for an escape or an unclosed comment finds its backslash or its `/*`.
pub fn offending_token(src: &str, start: Pos, end: Pos, anchor: Anchor) -> Pos {
    let sc = Scanner::new(src);
    let s = sc.index(start);
    let e = sc.index(end).max(s);
    let at = match anchor {
        Anchor::Escape => (0..e)
            .rev()
            .map_while(|k| (sc.s[k] != '"' && sc.s[k] != '\n').then_some(k))
            .find(|&k| sc.s[k] == '\\'),
        Anchor::UnclosedComment => sc.unclosed_comment(),
        Anchor::Token => None,
    };
    sc.pos(at.unwrap_or_else(|| sc.token_start(s)))
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// One element of a bracketed group: `key: value` or a bare `value`.
struct Elem {
    start: usize,
    key: Option<String>,
    value: usize,
}

/// Char-indexed scanner; every index is a position in `s` (at most `s.len()`).
struct Scanner {
    s: Vec<char>,
    /// For each opening bracket, the index just past its closer (any closer closes any
    /// opener; unclosed groups end at end of input). Precomputed so deep nesting stays linear.
    ends: Vec<usize>,
}

impl Scanner {
    fn new(src: &str) -> Self {
        let s: Vec<char> = src.chars().collect();
        let len = s.len();
        let mut sc = Scanner {
            s,
            ends: Vec::new(),
        };
        let (mut ends, mut stack, mut i) = (vec![0; len], Vec::new(), 0);
        loop {
            i = sc.skip_ws(i);
            match sc.ch(i) {
                None => break,
                Some('(' | '[' | '{') => {
                    stack.push(i);
                    i += 1;
                }
                Some(')' | ']' | '}') => {
                    i += 1;
                    if let Some(open) = stack.pop() {
                        ends[open] = i;
                    }
                }
                Some(_) => i = sc.skip_atom(i),
            }
        }
        for open in stack {
            ends[open] = len;
        }
        sc.ends = ends;
        sc
    }

    fn ch(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn pos(&self, idx: usize) -> Pos {
        let before = &self.s[..idx.min(self.s.len())];
        let line = 1 + before.iter().filter(|&&c| c == '\n').count();
        let col = 1 + before.iter().rev().take_while(|&&c| c != '\n').count();
        Pos { line, col }
    }

    /// Skip whitespace, `//` comments and (nested) `/* */` comments.
    fn skip_ws(&self, i: usize) -> usize {
        self.skip_ws_until(i, false)
    }

    /// [`Scanner::skip_ws`]; with `stop_unclosed`, stops at the `/*` of a block comment that
    /// is never closed instead of at the end of input.
    fn skip_ws_until(&self, mut i: usize, stop_unclosed: bool) -> usize {
        loop {
            match (self.ch(i), self.ch(i + 1)) {
                (Some(c), _) if c.is_whitespace() => i += 1,
                (Some('/'), Some('/')) => {
                    while !matches!(self.ch(i), None | Some('\n')) {
                        i += 1;
                    }
                }
                (Some('/'), Some('*')) => {
                    let open = i;
                    let mut depth = 0usize;
                    loop {
                        match (self.ch(i), self.ch(i + 1)) {
                            (None, _) => return if stop_unclosed { open } else { i },
                            (Some('/'), Some('*')) => (depth, i) = (depth + 1, i + 2),
                            (Some('*'), Some('/')) => {
                                (depth, i) = (depth - 1, i + 2);
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => i += 1,
                        }
                    }
                }
                _ => return i,
            }
        }
    }

    /// Char index of a 1-based position (clamped to the end of the text).
    fn index(&self, p: Pos) -> usize {
        let mut i = 0;
        for _ in 1..p.line {
            match self.s[i..].iter().position(|&c| c == '\n') {
                Some(k) => i += k + 1,
                None => return self.s.len(),
            }
        }
        let line_end = self.s[i..]
            .iter()
            .position(|&c| c == '\n')
            .map_or(self.s.len(), |k| i + k);
        (i + p.col.saturating_sub(1)).min(line_end)
    }

    /// The `/*` of the first block comment that is never closed, if any.
    fn unclosed_comment(&self) -> Option<usize> {
        let mut i = 0;
        loop {
            i = self.skip_ws_until(i, true);
            match (self.ch(i), self.ch(i + 1)) {
                (None, _) => return None,
                (Some('/'), Some('*')) => return Some(i),
                (Some('(' | '[' | '{' | ')' | ']' | '}'), _) => i += 1,
                _ => i = self.skip_atom(i),
            }
        }
    }

    /// The start of the token at or after `i`: whitespace and closed comments are skipped, and
    /// a position inside a number or identifier (ron stops at the `.` of `1.5` where it wants
    /// an integer, after the `-` of `-1` where it wants an unsigned one) or at the quote of a
    /// raw string goes back to its first character.
    fn token_start(&self, i: usize) -> usize {
        let word = |c: Option<char>| {
            c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
        };
        let mut i = self.skip_ws_until(i, true);
        if word(self.ch(i)) {
            while i > 0 && word(self.ch(i - 1)) {
                i -= 1;
            }
        } else if matches!(self.ch(i), Some('"' | '#')) {
            let mut j = i;
            while j > 0 && self.ch(j - 1) == Some('#') {
                j -= 1;
            }
            if j > 0 && self.ch(j - 1) == Some('r') {
                j -= 1;
                if j > 0 && self.ch(j - 1) == Some('b') {
                    j -= 1;
                }
                i = j;
            }
        }
        i
    }

    /// Skip leading `#![enable(...)]` attributes (and comments around them).
    fn skip_attributes(&self, mut i: usize) -> usize {
        loop {
            i = self.skip_ws(i);
            if self.ch(i) != Some('#') {
                return i;
            }
            i += 1;
            if self.ch(i) == Some('!') {
                i += 1;
            }
            i = self.skip_ws(i);
            if self.ch(i) == Some('[') {
                i = self.skip_group(i);
            }
        }
    }

    fn ident_end(&self, mut i: usize) -> usize {
        while self.ch(i).is_some_and(|c| c.is_alphanumeric() || c == '_') {
            i += 1;
        }
        i
    }

    /// Identifier at `i` (a raw identifier `r#name` yields `name`) and its end.
    fn ident_at(&self, i: usize) -> Option<(String, usize)> {
        let raw = self.ch(i) == Some('r') && self.ch(i + 1) == Some('#');
        let s = if raw { i + 2 } else { i };
        if !self.ch(s).is_some_and(is_ident_start) {
            return None;
        }
        let end = self.ident_end(s);
        Some((self.s[s..end].iter().collect(), end))
    }

    /// End of a quoted string or char literal starting with quote `q` at `i`.
    fn quoted_end(&self, i: usize, q: char) -> usize {
        let mut j = i + 1;
        while let Some(c) = self.ch(j) {
            j += 1;
            if c == '\\' {
                j += 1;
            } else if c == q {
                return j;
            }
        }
        j.min(self.s.len())
    }

    /// End of a raw string whose `#`s / opening quote start at `i` (just after the `r`).
    fn raw_end(&self, mut i: usize) -> Option<usize> {
        let mut hashes = 0;
        while self.ch(i) == Some('#') {
            (hashes, i) = (hashes + 1, i + 1);
        }
        if self.ch(i) != Some('"') {
            return None;
        }
        for j in i + 1..self.s.len() {
            if self.s[j] == '"' && (1..=hashes).all(|k| self.ch(j + k) == Some('#')) {
                return Some(j + 1 + hashes);
            }
        }
        Some(self.s.len())
    }

    /// Skip one non-bracket token at `i` (which must be in range).
    fn skip_atom(&self, i: usize) -> usize {
        match self.s[i] {
            q @ ('"' | '\'') => self.quoted_end(i, q),
            c if is_ident_start(c) => {
                let end = self.ident_end(i);
                let prefix = &self.s[i..end];
                match self.raw_end(end) {
                    Some(e) if prefix == ['r'] || prefix == ['b', 'r'] => e,
                    _ => end,
                }
            }
            _ => i + 1,
        }
    }

    /// Skip a bracketed group starting at the opener `i`, using the precomputed bracket ends.
    fn skip_group(&self, i: usize) -> usize {
        self.ends
            .get(i)
            .copied()
            .filter(|&e| e > i)
            .unwrap_or(i + 1)
    }

    /// Skip one item; stops at `,`, a closer, end of input, or (if `stop_colon`) a `:`.
    fn skip_item(&self, mut i: usize, stop_colon: bool) -> usize {
        loop {
            i = self.skip_ws(i);
            match self.ch(i) {
                None | Some(',' | ')' | ']' | '}') => return i,
                Some(':') if stop_colon => return i,
                Some('(' | '[' | '{') => i = self.skip_group(i),
                Some(_) => i = self.skip_atom(i),
            }
        }
    }

    /// Text of a field name or map key spanning `start..end` (quoted keys are unescaped).
    fn key_text(&self, start: usize, end: usize) -> String {
        if self.s[start] == '"' {
            let (mut out, mut escaped) = (String::new(), false);
            for &c in &self.s[start + 1..end] {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => {
                        out.push(c);
                        escaped = false;
                    }
                }
            }
            return out;
        }
        let text: String = self.s[start..end].iter().collect();
        self.ident_at(start)
            .map_or(text.trim().to_string(), |(name, _)| name)
    }

    /// Elements of the group whose opening bracket is at `open`.
    fn elements(&self, open: usize) -> Vec<Elem> {
        let mut out = Vec::new();
        let mut i = open + 1;
        loop {
            i = self.skip_ws(i);
            if matches!(self.ch(i), None | Some(')' | ']' | '}')) {
                return out;
            }
            let (mut end, mut key, mut value) = (self.skip_item(i, true), None, i);
            if self.ch(end) == Some(':') {
                key = Some(self.key_text(i, end));
                value = self.skip_ws(end + 1);
                end = self.skip_item(value, false);
            }
            out.push(Elem {
                start: i,
                key,
                value,
            });
            i = end;
            if self.ch(i) == Some(',') {
                i += 1;
            }
        }
    }

    /// Apply `seg` to the value starting at `v`: returns (position to report, next value).
    fn step(&self, mut v: usize, seg: &Seg) -> Option<(usize, usize)> {
        loop {
            let ident = self.ident_at(v);
            let group = match &ident {
                Some((_, end)) => Some(self.skip_ws(*end)).filter(|&j| self.ch(j) == Some('(')),
                None => Some(v).filter(|&j| matches!(self.ch(j), Some('(' | '[' | '{'))),
            };
            match (seg, &ident) {
                (Seg::Name(n), Some((id, end))) if id == n => {
                    return Some((v, group.unwrap_or(*end)))
                }
                _ => {}
            }
            let open = group?;
            let elems = self.elements(open);
            let is_some = ident.as_ref().is_some_and(|(id, _)| id == "Some");
            let found = match seg {
                Seg::Name(n) => elems.iter().find(|e| e.key.as_deref() == Some(n.as_str())),
                Seg::Index(k) if !is_some => elems.get(*k).filter(|e| e.key.is_none()),
                Seg::Index(_) => None,
            };
            if let Some(e) = found {
                return Some((e.start, e.value));
            }
            // Transparent wrappers: `Some(x)` and newtype parens like `Lif((a: 1.0))`.
            match elems.as_slice() {
                [e] if e.key.is_none() && self.s[open] == '(' => v = e.value,
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r###"#![enable(implicit_some)]
// Network config (with [brackets] and fake: fields, populations: [ )
/* block /* nested ] */ populations: [ */
Network(
    name: "net: (v: [1, 2]) \" still string ]",
    populations: [
        Population(
            size: 100,
            model: Lif(tau_m_ms: 20.0, v_th: -5.0e-3),
            init: { "v": Uniform(low: 1.0, high: 2.0), u: 0x1F },
        ),
        Population(size: 1_000, model: Izh((a: 0.02, b: 'x')), label: Some("b")),
    ],
    projections: [
        (pre: 0, post: 1, connectivity: FixedProbability(p: 0.1), delay: Some((ms: 1.5))),
    ],
    pairs: [(0, 1), (2, 3)],
    note: r##"raw "# string ( with tau_m_ms: 5"##,
    weights: Some([0.5, inf, NaN]), // trailing comma next
)
"###;

    /// (line, col, matched) for `path` in `src`.
    fn at(src: &str, path: &str) -> (usize, usize, usize) {
        let l = locate(src, &parse_path(path)).expect("top-level value");
        (l.pos.line, l.pos.col, l.matched)
    }

    #[test]
    fn parse_paths() {
        let (a, b, c) = (
            Seg::Name("a".into()),
            Seg::Name("b".into()),
            Seg::Name("c".into()),
        );
        assert_eq!(parse_path("."), vec![]);
        assert_eq!(parse_path("a"), vec![a.clone()]);
        assert_eq!(parse_path("a.b[3].c"), vec![a.clone(), b, Seg::Index(3), c]);
        assert_eq!(parse_path("a[0][1]"), vec![a, Seg::Index(0), Seg::Index(1)]);
    }

    #[test]
    fn fields_at_several_depths() {
        assert_eq!(at(DOC, "."), (4, 1, 0));
        assert_eq!(at(DOC, "populations"), (6, 5, 1));
        assert_eq!(at(DOC, "populations[0]"), (7, 9, 2));
        assert_eq!(at(DOC, "populations[0].size"), (8, 13, 3));
        assert_eq!(at(DOC, "populations[1].size"), (12, 20, 3));
        assert_eq!(at(DOC, "populations[1].label"), (12, 64, 3));
    }

    #[test]
    fn enum_variants_newtypes_and_some() {
        assert_eq!(at(DOC, "populations[0].model.Lif.tau_m_ms"), (9, 24, 5));
        assert_eq!(at(DOC, "populations[0].model.Lif"), (9, 20, 4));
        assert_eq!(at(DOC, "populations[1].model.Izh.b"), (12, 54, 5));
        let p = "projections[0].connectivity.FixedProbability.p";
        assert_eq!(at(DOC, p), (15, 58, 5));
        assert_eq!(at(DOC, "projections[0].delay.ms"), (15, 80, 4));
        assert_eq!(at(DOC, "weights[2]"), (19, 30, 2));
        assert_eq!(at("(m: Some(Lif(x: 1)))", "m.Lif.x"), (1, 14, 3));
        assert_eq!(at("(m: Lif)", "m.Lif"), (1, 5, 2));
        assert_eq!(at("(m: Lif)", "m.Lif.x"), (1, 5, 2));
    }

    #[test]
    fn maps_with_quoted_and_bare_keys() {
        assert_eq!(at(DOC, "populations[0].init.v"), (10, 21, 4));
        assert_eq!(at(DOC, "populations[0].init.v.Uniform.high"), (10, 44, 6));
        assert_eq!(at(DOC, "populations[0].init.u"), (10, 56, 4));
        let src = r#"{ "a\"b": 1, c: 2, 7: 3 }"#;
        let l = locate(src, &[Seg::Name("a\"b".into())]).unwrap();
        assert_eq!((l.pos.col, l.matched), (3, 1));
        assert_eq!(at(src, "c"), (1, 14, 1));
        assert_eq!(at(src, "7"), (1, 20, 1));
    }

    #[test]
    fn list_and_tuple_indices() {
        assert_eq!(at(DOC, "pairs[1]"), (17, 21, 2));
        assert_eq!(at(DOC, "pairs[1][0]"), (17, 22, 3));
        assert_eq!(at(DOC, "pairs[1][1]"), (17, 25, 3));
        assert_eq!(at("[1, [2, 3], 4,]", "[1][1]"), (1, 9, 2));
        assert_eq!(at("[1, [2, 3], 4,]", "[2]"), (1, 13, 1));
    }

    #[test]
    fn comments_strings_and_lookalikes_are_skipped() {
        // `v:` only occurs inside the string in `name`, never as a top-level field.
        assert_eq!(at(DOC, "v"), (4, 1, 0));
        assert_eq!(at(DOC, "note"), (18, 5, 1));
        assert_eq!(at(DOC, "tau_m_ms"), (4, 1, 0));
        let src = "(a: \"x: (]\", /* b: ( */ b: 'c', c: '\\'', d: '(', e: r#\"e: \"]\"#, f: 1)";
        assert_eq!(at(src, "f").2, 1);
        assert_eq!(at(src, "b"), (1, 25, 1));
        let src = "(\n  // f: [\n  g: 1, /* /* ( */ ) */ f: br\"raw\" )";
        assert_eq!(at(src, "f"), (3, 25, 1));
    }

    #[test]
    fn columns_count_chars_not_bytes() {
        assert_eq!(at("(/* ñé */ x: 1)", "x"), (1, 11, 1));
        assert_eq!(at("(s: \"üß→\", t: 2)", "t"), (1, 12, 1));
    }

    #[test]
    fn absent_segments_give_partial_matches() {
        assert_eq!(at(DOC, "populations[0].model.Lif.t_ref"), (9, 20, 4));
        assert_eq!(at(DOC, "populations[5].size"), (6, 5, 1));
        assert_eq!(at(DOC, "populations[0].model.Izh.a"), (9, 13, 3));
        assert_eq!(at(DOC, "missing.x"), (4, 1, 0));
    }

    #[test]
    fn malformed_input_never_panics() {
        assert_eq!(locate("", &[]), None);
        assert_eq!(locate(" // comment\n/* /* nested */ */", &[]), None);
        let deep = "(".repeat(100_000);
        let wide = "[".repeat(50_000) + &"]".repeat(50_000);
        #[rustfmt::skip]
        let cases = [
            "(", ")))", "(a: [1, 2", "(a: \"unterminated", "(a: r#\"raw", "(a: '", "(a: '\\",
            "/* open", "(a: (b: ]]] c: 1", "{\"k", "(a: , : b, c:", "#![enable(", "#", "r#",
            "(a: b: c: d)", "[,,,]", "[(]", "'", "\"", deep.as_str(), wide.as_str(),
        ];
        for src in cases {
            for path in [".", "a", "a.b", "a[0]", "[3].x", "a.b.c.d[1]"] {
                let _ = locate(src, &parse_path(path));
            }
        }
        assert_eq!(at("(a: [1, 2", "a[1]"), (1, 9, 2));
        assert_eq!(at("(a: (b: 1", "a.b"), (1, 6, 2));
    }

    #[test]
    fn syntax_errors_land_on_the_token_they_are_about() {
        let p = |line, col| Pos { line, col };
        let tok = |src: &str, a: Pos, b: Pos| offending_token(src, a, b, Anchor::Token);
        // From the end of the previous line, over whitespace and a comment, to the token.
        let src = "(\n  a: 1,\n  // note\n  @@@\n)";
        assert_eq!(tok(src, p(2, 8), p(4, 3)), p(4, 3));
        // Back to the start of a number ron stopped inside (`-1`, `1.5`).
        assert_eq!(tok("(a: -1)", p(1, 6), p(1, 7)), p(1, 5));
        assert_eq!(tok("(a: 1.5)", p(1, 6), p(1, 6)), p(1, 5));
        // Not back over a closing bracket that follows a number.
        assert_eq!(tok("(a: 1)", p(1, 6), p(1, 6)), p(1, 6));
        // A raw string from its `r`.
        assert_eq!(tok("(s: r#\"x)", p(1, 7), p(1, 8)), p(1, 5));
        // An escape from its backslash, even when ron's span starts after it.
        let esc = "(s: \"a\\u{zz}\")";
        assert_eq!(
            offending_token(esc, p(1, 9), p(1, 11), Anchor::Escape),
            p(1, 7)
        );
        // The outer of two nested comments, the one left open.
        let open = "(a: 1, /* x /* y */\n)";
        assert_eq!(
            offending_token(open, p(1, 20), p(2, 2), Anchor::UnclosedComment),
            p(1, 8)
        );
        // Positions past the end are clamped, never a panic.
        assert_eq!(tok("(a", p(9, 9), p(9, 9)), p(1, 3));
    }
}
