//! Multi-pattern exact search (Aho-Corasick) over Unicode text, in character offsets.
//!
//! The SOP matcher's exact channel: thousands of key phrases searched at once in
//! normalised transcript text. The pure-Python twin in `zhanye_sdk/kernels/aho.py`
//! builds the same automaton and reports the same matches in the same order:
//!
//! * Patterns are non-empty strings, numbered by position; duplicates are allowed and
//!   each reports its own number. Offsets count Unicode scalar values (Python `str`
//!   indices), `end` exclusive.
//! * Overlapping mode reports every occurrence of every pattern, ordered by `end`
//!   ascending, then length descending, then pattern number ascending.
//! * Leftmost-longest mode reports non-overlapping matches: from the current position,
//!   the match that starts first, the longest of those, the lowest pattern number of
//!   those; the search resumes at its end.
//!
//! Theory of operation: a trie over character classes (each character that occurs in
//! some pattern gets a class; every other character is class 0 and sends the automaton
//! back to the root), failure links by breadth-first search, and per state the longest
//! pattern that is a suffix of it (`out_len`, with its lowest number) plus a link to the
//! next shorter state that ends a pattern (`dict`). Root transitions are a dense table;
//! others are sorted `(class, next)` runs in one flat array. Leftmost-longest keeps a
//! candidate and emits it once the current state can no longer reach back to its start
//! (`position - depth > candidate.start`), then rescans from the candidate's end.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

const NONE: u32 = u32::MAX;
const BMP: usize = 0x1_0000;

/// How matches are reported; see the module header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// Every occurrence, overlapping.
    Overlapping,
    /// Non-overlapping, leftmost then longest.
    LeftmostLongest,
}

/// One occurrence of pattern number `pattern` at characters `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub pattern: u32,
    pub start: usize,
    pub end: usize,
}

/// Why an automaton could not be built.
#[derive(Debug, PartialEq, Eq)]
pub enum AhoError {
    /// Pattern number `index` is the empty string.
    EmptyPattern { index: usize },
    /// More patterns or trie states than fit in 32 bits.
    TooLarge,
}

impl fmt::Display for AhoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AhoError::EmptyPattern { index } => {
                write!(f, "patterns[{index}] must be a non-empty str, got ''")
            }
            AhoError::TooLarge => write!(f, "patterns must have fewer than 2**32 - 1 characters"),
        }
    }
}

impl std::error::Error for AhoError {}

/// A compiled set of patterns; immutable and shareable between threads.
#[derive(Debug, Clone)]
pub struct Automaton {
    class_bmp: Vec<u32>,
    class_other: HashMap<char, u32>,
    classes: usize,
    root: Vec<u32>,
    edge_start: Vec<u32>,
    edge_class: Vec<u32>,
    edge_next: Vec<u32>,
    fail: Vec<u32>,
    depth: Vec<u32>,
    out_len: Vec<u32>,
    out_pattern: Vec<u32>,
    own_start: Vec<u32>,
    own: Vec<u32>,
    dict: Vec<u32>,
    lengths: Vec<u32>,
}

impl Automaton {
    /// Compiles `patterns`.
    ///
    /// # Errors
    /// [`AhoError::EmptyPattern`] for an empty pattern, [`AhoError::TooLarge`] beyond
    /// `u32` states.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, AhoError> {
        let mut class_bmp = vec![0u32; BMP];
        let mut class_other: HashMap<char, u32> = HashMap::new();
        let mut classes: usize = 1;
        let mut children: Vec<BTreeMap<u32, u32>> = vec![BTreeMap::new()];
        let mut depth: Vec<u32> = vec![0];
        let mut own_lists: Vec<Vec<u32>> = vec![Vec::new()];
        let mut lengths = Vec::with_capacity(patterns.len());
        if patterns.len() >= NONE as usize {
            return Err(AhoError::TooLarge);
        }
        for (index, pattern) in patterns.iter().enumerate() {
            let pattern = pattern.as_ref();
            if pattern.is_empty() {
                return Err(AhoError::EmptyPattern { index });
            }
            let mut state = 0usize;
            let mut length = 0u32;
            for ch in pattern.chars() {
                let class = {
                    let slot = if (ch as usize) < BMP {
                        &mut class_bmp[ch as usize]
                    } else {
                        class_other.entry(ch).or_insert(0)
                    };
                    if *slot == 0 {
                        *slot = classes as u32;
                        classes += 1;
                    }
                    *slot
                };
                length += 1;
                state = match children[state].get(&class) {
                    Some(&next) => next as usize,
                    None => {
                        let next = children.len();
                        if next >= NONE as usize - 1 {
                            return Err(AhoError::TooLarge);
                        }
                        children[state].insert(class, next as u32);
                        children.push(BTreeMap::new());
                        depth.push(length);
                        own_lists.push(Vec::new());
                        next
                    }
                };
            }
            own_lists[state].push(index as u32);
            lengths.push(length);
        }
        let states = children.len();
        let mut fail = vec![0u32; states];
        let mut out_len = vec![0u32; states];
        let mut out_pattern = vec![NONE; states];
        let mut dict = vec![NONE; states];
        let mut root = vec![0u32; classes];
        for (&class, &next) in &children[0] {
            root[class as usize] = next;
        }
        // Breadth-first: a state's failure target is shallower, so it is final first.
        let mut queue: VecDeque<u32> = children[0].values().copied().collect();
        for &s in &queue {
            let s = s as usize;
            if let Some(&first) = own_lists[s].first() {
                out_len[s] = depth[s];
                out_pattern[s] = first;
            }
        }
        while let Some(state) = queue.pop_front() {
            let state = state as usize;
            for (&class, &next) in &children[state] {
                let next = next as usize;
                let mut f = fail[state] as usize;
                let target = loop {
                    if let Some(&t) = children[f].get(&class) {
                        break t;
                    }
                    if f == 0 {
                        break 0;
                    }
                    f = fail[f] as usize;
                };
                fail[next] = target;
                let t = target as usize;
                dict[next] = if own_lists[t].is_empty() {
                    dict[t]
                } else {
                    target
                };
                if let Some(&first) = own_lists[next].first() {
                    out_len[next] = depth[next];
                    out_pattern[next] = first;
                } else {
                    out_len[next] = out_len[t];
                    out_pattern[next] = out_pattern[t];
                }
                queue.push_back(next as u32);
            }
        }
        let mut edge_start = Vec::with_capacity(states + 1);
        let mut edge_class = Vec::new();
        let mut edge_next = Vec::new();
        let mut own_start = Vec::with_capacity(states + 1);
        let mut own = Vec::new();
        for s in 0..states {
            edge_start.push(edge_class.len() as u32);
            for (&class, &next) in &children[s] {
                edge_class.push(class);
                edge_next.push(next);
            }
            own_start.push(own.len() as u32);
            own.extend_from_slice(&own_lists[s]);
        }
        edge_start.push(edge_class.len() as u32);
        own_start.push(own.len() as u32);
        Ok(Automaton {
            class_bmp,
            class_other,
            classes,
            root,
            edge_start,
            edge_class,
            edge_next,
            fail,
            depth,
            out_len,
            out_pattern,
            own_start,
            own,
            dict,
            lengths,
        })
    }

    /// The number of patterns.
    pub fn pattern_count(&self) -> usize {
        self.lengths.len()
    }

    /// The number of distinct characters in the patterns (plus one for all others).
    pub fn class_count(&self) -> usize {
        self.classes
    }

    #[inline]
    fn class_of(&self, ch: char) -> u32 {
        if (ch as usize) < BMP {
            self.class_bmp[ch as usize]
        } else {
            self.class_other.get(&ch).copied().unwrap_or(0)
        }
    }

    #[inline]
    fn step(&self, mut state: u32, class: u32) -> u32 {
        if class == 0 {
            return 0;
        }
        loop {
            if state == 0 {
                return self.root[class as usize];
            }
            let s = state as usize;
            let (a, b) = (self.edge_start[s] as usize, self.edge_start[s + 1] as usize);
            let edges = &self.edge_class[a..b];
            let found = if edges.len() <= 8 {
                edges.iter().position(|&c| c == class)
            } else {
                edges.binary_search(&class).ok()
            };
            if let Some(k) = found {
                return self.edge_next[a + k];
            }
            state = self.fail[s];
        }
    }

    /// All matches in `text`, in the order the module header defines for `kind`.
    pub fn find(&self, text: &str, kind: MatchKind) -> Vec<Match> {
        let mut matches = Vec::new();
        match kind {
            MatchKind::Overlapping => self.find_overlapping(text, &mut matches),
            MatchKind::LeftmostLongest => self.find_leftmost_longest(text, &mut matches),
        }
        matches
    }

    fn find_overlapping(&self, text: &str, matches: &mut Vec<Match>) {
        let mut state = 0u32;
        for (i, ch) in text.chars().enumerate() {
            state = self.step(state, self.class_of(ch));
            if self.out_len[state as usize] == 0 {
                continue;
            }
            let end = i + 1;
            let mut s = state as usize;
            if self.own_start[s] == self.own_start[s + 1] {
                s = self.dict[s] as usize;
            }
            loop {
                let (a, b) = (self.own_start[s] as usize, self.own_start[s + 1] as usize);
                for &pattern in &self.own[a..b] {
                    matches.push(Match {
                        pattern,
                        start: end - self.depth[s] as usize,
                        end,
                    });
                }
                let next = self.dict[s];
                if next == NONE {
                    break;
                }
                s = next as usize;
            }
        }
    }

    fn find_leftmost_longest(&self, text: &str, matches: &mut Vec<Match>) {
        let classes: Vec<u32> = text.chars().map(|ch| self.class_of(ch)).collect();
        let mut state = 0u32;
        let mut candidate: Option<Match> = None;
        let mut i = 0usize;
        loop {
            if i == classes.len() {
                // The text ended with a match pending: it is final; look on after it.
                match candidate.take() {
                    Some(c) => {
                        matches.push(c);
                        state = 0;
                        i = c.end;
                        continue;
                    }
                    None => break,
                }
            }
            state = self.step(state, classes[i]);
            let s = state as usize;
            let end = i + 1;
            let length = self.out_len[s] as usize;
            if length > 0 {
                let start = end - length;
                let better = match candidate {
                    None => true,
                    Some(c) => start < c.start || (start == c.start && end > c.end),
                };
                if better {
                    candidate = Some(Match {
                        pattern: self.out_pattern[s],
                        start,
                        end,
                    });
                }
            }
            if let Some(c) = candidate {
                if end - self.depth[s] as usize > c.start {
                    matches.push(c);
                    candidate = None;
                    state = 0;
                    i = c.end;
                    continue;
                }
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(patterns: &[&str], text: &str, kind: MatchKind) -> Vec<(u32, usize, usize)> {
        Automaton::new(patterns)
            .unwrap()
            .find(text, kind)
            .iter()
            .map(|m| (m.pattern, m.start, m.end))
            .collect()
    }

    fn brute(patterns: &[&str], text: &str) -> Vec<(u32, usize, usize)> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        for end in 1..=chars.len() {
            let mut here: Vec<(u32, usize, usize)> = Vec::new();
            for (k, p) in patterns.iter().enumerate() {
                let pc: Vec<char> = p.chars().collect();
                if pc.len() <= end && chars[end - pc.len()..end] == pc[..] {
                    here.push((k as u32, end - pc.len(), end));
                }
            }
            here.sort_by_key(|&(k, s, _)| (s, k));
            out.extend(here);
        }
        out
    }

    #[test]
    fn overlapping_matches_brute_force() {
        let patterns = ["he", "she", "his", "hers", "保险", "宝险产品", "险产", "he"];
        let text = "ushers 宝险产品和保险 his she";
        assert_eq!(
            run(&patterns, text, MatchKind::Overlapping),
            brute(&patterns, text)
        );
    }

    #[test]
    fn leftmost_longest_prefers_earliest_then_longest() {
        let patterns = ["bcd", "abcdef", "ab", "efg", "x"];
        assert_eq!(
            run(&patterns, "abcdefg", MatchKind::LeftmostLongest),
            vec![(1, 0, 6)]
        );
        assert_eq!(
            run(&patterns, "abcdxefg", MatchKind::LeftmostLongest),
            vec![(2, 0, 2), (4, 4, 5), (3, 5, 8)]
        );
        assert_eq!(
            run(&["a", "a"], "aa", MatchKind::LeftmostLongest),
            vec![(0, 0, 1), (0, 1, 2)]
        );
    }

    #[test]
    fn empty_pattern_is_refused() {
        assert_eq!(
            Automaton::new(&["ok", ""]).unwrap_err(),
            AhoError::EmptyPattern { index: 1 }
        );
    }

    #[test]
    fn characters_outside_the_bmp_are_classes_too() {
        let patterns = ["😀险", "a😀"];
        assert_eq!(
            run(&patterns, "xa😀险", MatchKind::Overlapping),
            vec![(1, 1, 3), (0, 2, 4)]
        );
    }
}
