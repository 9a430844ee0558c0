//! The newlines of a text, found 64 bytes at a time.
//!
//! Dockerfile lines are short (under 50 bytes on average in the benchmark
//! corpus), so searching for each newline separately (`memchr` per line)
//! spends more on setting up each search than on searching. Here each
//! 64-byte block is turned into one bit mask of its newlines, and the lines
//! of a block are then read off the mask with no further scanning and
//! without a branch per byte.

/// Iterator over the offsets of the `\n` bytes of a text, in order.
pub(crate) struct Newlines<'a> {
    bytes: &'a [u8],
    /// Offset of the block `mask` describes.
    base: usize,
    /// The newlines of the block at `base` not yet returned, one bit each.
    mask: u64,
}

const BLOCK: usize = 64;

impl<'a> Newlines<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        let mut newlines = Newlines {
            bytes,
            base: 0,
            mask: 0,
        };
        newlines.mask = newlines.block_mask(0);
        newlines
    }

    /// The newline mask of the block at `base` (bytes past the end are not
    /// newlines).
    #[inline]
    fn block_mask(&self, base: usize) -> u64 {
        match self.bytes.get(base..base + BLOCK) {
            Some(block) => newline_mask(block.try_into().expect("a whole block")),
            None => {
                let mut tail = [0u8; BLOCK];
                let rest = self.bytes.get(base..).unwrap_or_default();
                tail[..rest.len()].copy_from_slice(rest);
                newline_mask(&tail)
            }
        }
    }
}

/// One bit per byte of `block` that is a newline, the first byte lowest.
///
/// On x86-64, four SSE2 compares: SSE2 is part of the x86-64 baseline, so
/// the instructions exist on every machine this code is built for (the
/// `cfg` checks it). The portable version gives the same masks (tested
/// against each other) but compiles to a loop of byte tests.
#[inline]
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn newline_mask(block: &[u8; BLOCK]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut mask = 0u64;
    for (i, chunk) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is enabled (the `cfg` above), and the load reads
        // the 16 bytes of `chunk`, with no alignment required.
        let bits = unsafe {
            let bytes = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\n' as i8)))
        };
        // `movemask` sets only the low 16 bits.
        mask |= u64::from(bits as u16) << (16 * i);
    }
    mask
}

#[inline]
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn newline_mask(block: &[u8; BLOCK]) -> u64 {
    portable_newline_mask(block)
}

#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_newline_mask(block: &[u8; BLOCK]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | (u64::from(b == b'\n') << i))
}

impl Iterator for Newlines<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += BLOCK;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.mask = self.block_mask(self.base);
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every newline, in order, and nothing else, for texts around and
        /// across block boundaries.
        #[test]
        fn finds_what_memchr_finds(text in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'a'), Just(b'\r'), any::<u8>()], 0..300)) {
            let expected: Vec<usize> = memchr::memchr_iter(b'\n', &text).collect();
            prop_assert_eq!(Newlines::new(&text).collect::<Vec<_>>(), expected);
        }
    }

    proptest! {
        /// The vector and the portable mask agree.
        #[test]
        fn masks_agree(block in proptest::array::uniform32(prop_oneof![Just(b'\n'), any::<u8>()]),
                       more in proptest::array::uniform32(prop_oneof![Just(b'\n'), any::<u8>()])) {
            let mut whole = [0u8; BLOCK];
            whole[..32].copy_from_slice(&block);
            whole[32..].copy_from_slice(&more);
            prop_assert_eq!(newline_mask(&whole), portable_newline_mask(&whole));
        }
    }

    #[test]
    fn block_edges() {
        for len in [0, 1, 63, 64, 65, 127, 128, 129] {
            for at in 0..len {
                let mut text = vec![b'x'; len];
                text[at] = b'\n';
                assert_eq!(
                    Newlines::new(&text).collect::<Vec<_>>(),
                    vec![at],
                    "{len} {at}"
                );
            }
            let text = vec![b'\n'; len];
            assert_eq!(Newlines::new(&text).count(), len);
        }
    }
}
