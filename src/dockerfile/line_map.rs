//! Mapping offsets in a joined instruction line back to the original text.
//!
//! BuildKit joins a continued instruction into one line: each physical line
//! contributes one contiguous piece of the original text (leading whitespace,
//! the line ending, the continuation token and its trailing blanks are cut
//! away, comment lines and empty lines are skipped). A [`LineMap`] records
//! where each piece came from, so that any offset inside the joined text (a
//! word of a `RUN` command, a flag value) can be turned into a [`Span`] of
//! the Dockerfile as the user wrote it.

use std::sync::Arc;

use serde::Serialize;

use crate::source::Span;

/// One piece of a joined line: `len` bytes that start at `joined` in the
/// joined text and at `original` in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Piece {
    pub joined: usize,
    pub original: usize,
    pub len: usize,
}

/// Where the bytes of a joined line (or of a part of it) came from.
///
/// A map is a window (`offset`, `len`) onto the pieces of a whole joined
/// line, so taking the map of a part of the line ([`LineMap::slice`]) shares
/// the pieces instead of copying them: a RUN's command and the instruction
/// it belongs to use one piece list. A one-piece line (most instructions)
/// stores its piece inline and allocates nothing.
///
/// Offsets given to and returned by a map count from the start of its own
/// text. A map always describes at least one piece (possibly empty), so that
/// even an empty text maps to a position in the source.
#[derive(Clone)]
pub struct LineMap {
    pieces: Pieces,
    /// Where this map's text starts in the joined line `pieces` describe.
    offset: usize,
    /// Length of this map's text.
    len: usize,
}

#[derive(Clone)]
enum Pieces {
    One(Piece),
    /// Two or more pieces, in order, none empty, tiling the joined line.
    Shared(Arc<[Piece]>),
}

impl PartialEq for LineMap {
    /// Maps are equal when they give the same pieces, however stored.
    fn eq(&self, other: &Self) -> bool {
        self.pieces().eq(other.pieces())
    }
}

impl Eq for LineMap {}

impl std::fmt::Debug for LineMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.pieces()).finish()
    }
}

impl Serialize for LineMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.pieces())
    }
}

impl Default for LineMap {
    fn default() -> Self {
        LineMap::starting_at(0)
    }
}

impl LineMap {
    /// An empty map whose empty text sits at `original` in the source.
    pub fn starting_at(original: usize) -> Self {
        LineMap::contiguous(original, 0)
    }

    /// A map for a text that is one contiguous slice of the source.
    pub fn contiguous(original: usize, len: usize) -> Self {
        LineMap {
            pieces: Pieces::One(Piece {
                joined: 0,
                original,
                len,
            }),
            offset: 0,
            len,
        }
    }

    /// The map of the source pieces `(original, len)` joined in order,
    /// the empty text sitting at `start`; allocates at most once. Pieces
    /// that touch in the source are merged, empty ones dropped.
    pub fn from_pieces(start: usize, pieces: &[(usize, usize)]) -> Self {
        match pieces {
            [] => LineMap::starting_at(start),
            &[(original, len)] if len > 0 => LineMap::contiguous(original, len),
            _ => match Self::shared_plain(pieces) {
                Some(map) => map,
                None => Self::merged(start, pieces),
            },
        }
    }

    /// The map of two or more `pieces` written straight into their shared
    /// slice, in one pass that also checks that they are plain: none
    /// empty, and none touching the one before in the source. That is the
    /// common case (the lines of a continued instruction have a newline
    /// between them); `None` when they are not.
    fn shared_plain(pieces: &[(usize, usize)]) -> Option<Self> {
        let mut shared = Arc::<[Piece]>::new_uninit_slice(pieces.len());
        let slots = Arc::get_mut(&mut shared)?;
        let mut joined = 0;
        let mut plain = true;
        let mut previous_end = None;
        for (slot, &(original, len)) in slots.iter_mut().zip(pieces) {
            plain &= len > 0 && previous_end != Some(original);
            previous_end = Some(original + len);
            slot.write(Piece {
                joined,
                original,
                len,
            });
            joined += len;
        }
        if !plain {
            return None;
        }
        // SAFETY: `slots` and `pieces` have the same length, so the loop
        // wrote every element.
        let shared = unsafe { shared.assume_init() };
        Some(LineMap {
            pieces: Pieces::Shared(shared),
            offset: 0,
            len: joined,
        })
    }

    /// The map of `pieces` with empty ones dropped and touching ones
    /// merged.
    fn merged(start: usize, pieces: &[(usize, usize)]) -> Self {
        let mut merged: Vec<Piece> = Vec::with_capacity(pieces.len());
        let mut joined = 0;
        for &(original, len) in pieces.iter().filter(|p| p.1 > 0) {
            match merged.last_mut() {
                Some(last) if last.original + last.len == original => last.len += len,
                _ => merged.push(Piece {
                    joined,
                    original,
                    len,
                }),
            }
            joined += len;
        }
        match merged.as_slice() {
            [] => LineMap::starting_at(start),
            [one] => LineMap::contiguous(one.original, one.len),
            _ => LineMap {
                pieces: Pieces::Shared(merged.into()),
                offset: 0,
                len: joined,
            },
        }
    }

    /// The pieces of the whole joined line.
    fn all(&self) -> &[Piece] {
        match &self.pieces {
            Pieces::One(p) => std::slice::from_ref(p),
            Pieces::Shared(all) => all,
        }
    }

    /// Length of the text.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces of this map's text, in order, with offsets counted from
    /// its start (parts of pieces at the edges of a slice are cut off).
    pub fn pieces(&self) -> impl Iterator<Item = Piece> + Clone + '_ {
        let (lo, hi) = (self.offset, self.offset + self.len);
        let empty = (self.len == 0).then(|| Piece {
            joined: 0,
            original: self.original_start(0),
            len: 0,
        });
        let all = if empty.is_some() { &[][..] } else { self.all() };
        let first = if lo == 0 {
            0
        } else {
            all.partition_point(|p| p.joined + p.len <= lo)
        };
        let cut = all
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(move |p| p.joined < hi)
            .map(move |p| {
                let from = p.joined.max(lo);
                let to = (p.joined + p.len).min(hi);
                Piece {
                    joined: from - lo,
                    original: p.original + (from - p.joined),
                    len: to - from,
                }
            });
        empty.into_iter().chain(cut)
    }

    /// The source offset of position `at` of the whole joined line; at a
    /// boundary between pieces, the start of the later piece.
    #[inline]
    fn start_at(&self, at: usize) -> usize {
        match &self.pieces {
            Pieces::One(p) => p.original + at.min(p.len),
            Pieces::Shared(all) => {
                let i = all.partition_point(|p| p.joined <= at).saturating_sub(1);
                all.get(i)
                    .map_or(0, |p| p.original + (at - p.joined).min(p.len))
            }
        }
    }

    /// The source offset of position `at` (> 0) of the whole joined line;
    /// at a boundary between pieces, the end of the earlier piece.
    #[inline]
    fn end_at(&self, at: usize) -> usize {
        match &self.pieces {
            Pieces::One(p) => p.original + at.min(p.len),
            Pieces::Shared(all) => {
                let i = all.partition_point(|p| p.joined < at).saturating_sub(1);
                all.get(i)
                    .map_or(0, |p| p.original + at.saturating_sub(p.joined).min(p.len))
            }
        }
    }

    /// The source offset of the byte at `offset` in the text. At a
    /// boundary between pieces, the start of the later piece; at the end
    /// of the text, the end of its last piece.
    #[inline]
    pub fn original_start(&self, offset: usize) -> usize {
        if offset >= self.len && self.len > 0 {
            self.end_at(self.offset + self.len)
        } else {
            self.start_at(self.offset + offset)
        }
    }

    /// The source offset just after the byte before `end` in the text. At
    /// a boundary between pieces, the end of the earlier piece.
    #[inline]
    pub fn original_end(&self, end: usize) -> usize {
        match end.min(self.len) {
            0 => self.start_at(self.offset),
            end => self.end_at(self.offset + end),
        }
    }

    /// Where the text starts in the source, when it is one contiguous
    /// slice of it (every position then maps by a fixed shift).
    #[inline]
    pub fn contiguous_origin(&self) -> Option<usize> {
        match &self.pieces {
            Pieces::One(p) => Some(p.original + self.offset),
            Pieces::Shared(_) => None,
        }
    }

    /// The source span of `start..end` in the text. An empty range maps to
    /// an empty span at the start position.
    pub fn span(&self, start: usize, end: usize) -> Span {
        if let Pieces::One(p) = &self.pieces {
            // One piece: every position maps by a fixed shift.
            let base = p.original + self.offset;
            let s = base + start.min(self.len);
            let e = if end <= start {
                s
            } else {
                (base + end.min(self.len)).max(s)
            };
            return Span::new(s, e);
        }
        let s = self.original_start(start);
        if end <= start {
            return Span::new(s, s);
        }
        Span::new(s, self.original_end(end).max(s))
    }

    /// The source range holding exactly the text bytes `start..end`, when
    /// they all come from one piece (so the source has them contiguously).
    /// Lets values borrow from the source instead of copying.
    pub fn contiguous_range(&self, start: usize, end: usize) -> Option<std::ops::Range<usize>> {
        if end < start || end > self.len {
            return None;
        }
        if let Pieces::One(p) = &self.pieces {
            let base = p.original + self.offset;
            return Some(base + start..base + end);
        }
        if start == end {
            let at = self.original_start(start);
            return Some(at..at);
        }
        let (s, e) = (self.offset + start, self.offset + end);
        let all = self.all();
        let p = all.get(all.partition_point(|p| p.joined <= s).checked_sub(1)?)?;
        let from = s.checked_sub(p.joined)?;
        (e - p.joined <= p.len).then(|| p.original + from..p.original + (e - p.joined))
    }

    /// The text's bytes `start..end` as a one-piece map, when one piece
    /// of a map of several holds them with at least one more of its bytes
    /// after `end`: every offset in `start..=end` then maps as it does in
    /// this map (none is at a boundary between pieces, where the two could
    /// differ), with no search of the pieces. `None` otherwise, and for a
    /// one-piece map (which maps by a fixed shift already).
    pub fn within_piece(&self, start: usize, end: usize) -> Option<LineMap> {
        let Pieces::Shared(all) = &self.pieces else {
            return None;
        };
        if end < start || end >= self.len {
            return None;
        }
        let (s, e) = (self.offset + start, self.offset + end);
        let p = all.get(all.partition_point(|p| p.joined <= s).checked_sub(1)?)?;
        (e < p.joined + p.len)
            .then(|| LineMap::contiguous(p.original + (s - p.joined), end - start))
    }

    /// The map of the sub-text `start..end` of the text (offsets in the
    /// result count from `start`). Shares the pieces: no allocation.
    pub fn slice(&self, start: usize, end: usize) -> LineMap {
        let end = end.min(self.len);
        if start >= end {
            return LineMap::starting_at(self.original_start(start));
        }
        LineMap {
            pieces: self.pieces.clone(),
            offset: self.offset + start,
            len: end - start,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_inside_one_piece_maps_the_same() {
        // "RUN --a=b \\\n  --c=d \\\n  x" joined: three pieces.
        let m = LineMap::from_pieces(0, &[(0, 10), (13, 8), (24, 3)]);
        for start in 0..m.len() {
            for end in start..=m.len() {
                let Some(w) = m.within_piece(start, end) else {
                    continue;
                };
                for a in 0..=end - start {
                    for b in a..=end - start {
                        assert_eq!(
                            w.span(a, b),
                            m.span(start + a, start + b),
                            "{start}..{end}: {a}..{b}"
                        );
                        assert_eq!(
                            w.contiguous_range(a, b),
                            m.contiguous_range(start + a, start + b),
                            "{start}..{end}: {a}..{b}"
                        );
                    }
                }
            }
        }
        // Inside a piece, with a byte of it after the end.
        assert!(m.within_piece(10, 17).is_some());
        // Up to a piece's end, across a boundary, to the text's end.
        assert!(m.within_piece(10, 18).is_none());
        assert!(m.within_piece(8, 12).is_none());
        assert!(m.within_piece(19, 21).is_none());
        assert!(LineMap::contiguous(5, 9).within_piece(1, 2).is_none());
    }

    #[test]
    fn maps_offsets_across_pieces() {
        // "RUN a \\\n  b" joined is "RUN a   b": "RUN a " from 0, "  b" from 9.
        let m = LineMap::from_pieces(0, &[(0, 6), (9, 3)]);
        assert_eq!(m.len(), 9);
        assert_eq!(m.original_start(0), 0);
        assert_eq!(m.original_start(6), 9);
        assert_eq!(m.original_end(6), 6);
        assert_eq!(m.span(4, 9), Span::new(4, 12));
        let s = m.slice(4, 9);
        assert_eq!(s.len(), 5);
        assert_eq!(s.pieces().count(), 2);
        // Slices within one piece, at its end and across the boundary.
        assert_eq!(m.slice(0, 6).pieces().count(), 1);
        assert_eq!(m.slice(6, 9).span(0, 3), Span::new(9, 12));
        assert_eq!(m.slice(5, 7).span(0, 2), Span::new(5, 10));
        assert_eq!(m.slice(2, 2).span(0, 0), Span::new(2, 2));
        assert_eq!(s.span(0, 5), Span::new(4, 12));
        assert_eq!(s.original_start(2), 9);
    }

    #[test]
    fn finds_contiguous_source_ranges() {
        let m = LineMap::from_pieces(0, &[(0, 6), (9, 3)]);
        assert_eq!(m.contiguous_range(0, 3), Some(0..3));
        assert_eq!(m.contiguous_range(6, 9), Some(9..12));
        assert_eq!(m.contiguous_range(4, 6), Some(4..6));
        // Crosses from the first piece into the second.
        assert_eq!(m.contiguous_range(4, 8), None);
        assert_eq!(m.contiguous_range(7, 10), None);
        assert_eq!(m.contiguous_range(3, 2), None);
    }

    #[test]
    fn empty_map_points_at_its_start() {
        let m = LineMap::starting_at(42);
        assert_eq!(m.span(0, 0), Span::new(42, 42));
        assert!(m.is_empty());
    }

    /// The previous representation, kept as the reference: a map as an
    /// explicit list of pieces, a slice as a copy of the cut pieces.
    #[derive(Debug)]
    struct CopiedMap(Vec<Piece>);

    impl CopiedMap {
        fn new(map: &LineMap) -> Self {
            CopiedMap(map.pieces().collect())
        }
        fn len(&self) -> usize {
            self.0.last().map_or(0, |p| p.joined + p.len)
        }
        fn piece_where(&self, f: impl Fn(&Piece) -> bool) -> Piece {
            let i = self.0.partition_point(f).saturating_sub(1);
            self.0[i]
        }
        fn original_start(&self, offset: usize) -> usize {
            let p = self.piece_where(|p| p.joined <= offset);
            p.original + offset.saturating_sub(p.joined).min(p.len)
        }
        fn original_end(&self, end: usize) -> usize {
            if end == 0 {
                return self.0[0].original;
            }
            let p = self.piece_where(|p| p.joined < end);
            p.original + end.saturating_sub(p.joined).min(p.len)
        }
        fn contiguous_range(&self, start: usize, end: usize) -> Option<std::ops::Range<usize>> {
            if end < start {
                return None;
            }
            let p = self.piece_where(|p| p.joined <= start);
            let offset = start.checked_sub(p.joined)?;
            (end - p.joined <= p.len).then(|| p.original + offset..p.original + (end - p.joined))
        }
        fn slice(&self, start: usize, end: usize) -> CopiedMap {
            let end = end.min(self.len());
            if start >= end {
                let at = self.original_start(start);
                return CopiedMap(vec![Piece {
                    joined: 0,
                    original: at,
                    len: 0,
                }]);
            }
            let cut = self
                .0
                .iter()
                .filter(|p| p.joined < end && p.joined + p.len > start)
                .map(|p| {
                    let lo = p.joined.max(start);
                    let hi = (p.joined + p.len).min(end);
                    Piece {
                        joined: lo - start,
                        original: p.original + (lo - p.joined),
                        len: hi - lo,
                    }
                })
                .collect();
            CopiedMap(cut)
        }
    }

    fn agree(
        map: &LineMap,
        reference: &CopiedMap,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::prop_assert_eq;
        prop_assert_eq!(map.len(), reference.len());
        prop_assert_eq!(map.pieces().collect::<Vec<_>>(), reference.0.clone());
        for a in 0..=map.len() + 1 {
            prop_assert_eq!(
                map.original_start(a),
                reference.original_start(a),
                "start {}",
                a
            );
            prop_assert_eq!(map.original_end(a), reference.original_end(a), "end {}", a);
            for b in 0..=map.len() + 1 {
                let s = reference.original_start(a);
                let e = if b <= a {
                    s
                } else {
                    reference.original_end(b).max(s)
                };
                prop_assert_eq!(map.span(a, b), Span::new(s, e), "span {}..{}", a, b);
            }
            for b in a..=map.len() + 1 {
                prop_assert_eq!(
                    map.contiguous_range(a, b),
                    reference.contiguous_range(a, b),
                    "range {}..{}",
                    a,
                    b
                );
            }
        }
        Ok(())
    }

    /// Source pieces `(original, len)` from `(gap, len)` pairs, each
    /// `gap` bytes after the end of the one before (the first after
    /// `start`): a gap of 0 makes two pieces touch (they merge).
    fn pieces_after(start: usize, raw: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let mut at = start;
        raw.iter()
            .map(|&(gap, len)| {
                at += gap;
                let p = (at, len);
                at += len;
                p
            })
            .collect()
    }

    proptest::proptest! {
        /// A map made of source pieces has them in order, empty ones
        /// dropped and touching ones merged, at their joined offsets.
        #[test]
        fn from_pieces_keeps_pieces_merged_in_order(
            raw in proptest::collection::vec((0usize..3, 0usize..4), 0..8),
            start in 0usize..16,
        ) {
            let pieces = pieces_after(start, &raw);
            let mut want: Vec<Piece> = Vec::new();
            let mut joined = 0;
            for &(original, len) in &pieces {
                if len == 0 {
                    continue;
                }
                match want.last_mut() {
                    Some(last) if last.original + last.len == original => last.len += len,
                    _ => want.push(Piece { joined, original, len }),
                }
                joined += len;
            }
            let map = LineMap::from_pieces(start, &pieces);
            proptest::prop_assert_eq!(map.len(), joined);
            if want.is_empty() {
                // The empty text sits at `start`.
                want.push(Piece { joined: 0, original: start, len: 0 });
            }
            proptest::prop_assert_eq!(map.pieces().collect::<Vec<_>>(), want);
        }

        /// Slices share their pieces but answer every query exactly as a
        /// copy of the cut pieces would, also slices of slices.
        #[test]
        fn windows_agree_with_copied_pieces(
            raw in proptest::collection::vec((0usize..4, 0usize..5), 0..5),
            start in 0usize..16,
            a in 0usize..24,
            b in 0usize..24,
            c in 0usize..24,
            d in 0usize..24,
        ) {
            let pieces = pieces_after(start, &raw);
            let map = LineMap::from_pieces(start, &pieces);
            let reference = CopiedMap::new(&map);
            agree(&map, &reference)?;
            let (a, b) = (a.min(b), a.max(b));
            let slice = map.slice(a, b);
            let reference_slice = reference.slice(a, b);
            agree(&slice, &reference_slice)?;
            let (c, d) = (c.min(d), c.max(d));
            agree(&slice.slice(c, d), &reference_slice.slice(c, d))?;
        }
    }
}
