//! Bit masks of the bytes of a short block that belong to a small set,
//! for the scanners that would otherwise test one byte at a time (and
//! mispredict where a run of such bytes ends).
//!
//! On x86-64 these are SSE2 compares: SSE2 is part of the x86-64 baseline,
//! so the instructions exist on every machine this code is built for (the
//! `cfg` checks it). The portable versions give the same masks (tested
//! against each other) but compile to loops of byte tests.

/// Bytes per newline block.
pub(crate) const BLOCK: usize = 64;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// Bit `i` set when byte `i` of `chunk` is one of `set`.
    #[inline(always)]
    pub(super) fn mask16<const N: usize>(chunk: &[u8; 16], set: [u8; N]) -> u16 {
        // SAFETY: SSE2 is enabled (the `cfg` on this module), and the load
        // reads the 16 bytes of `chunk`, with no alignment required.
        unsafe {
            let bytes = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let mut hits = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(set[0] as i8));
            for &b in &set[1..] {
                hits = _mm_or_si128(hits, _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b as i8)));
            }
            // `movemask` sets only the low 16 bits.
            _mm_movemask_epi8(hits) as u16
        }
    }
}

/// The blanks that end an instruction's keyword: the characters of
/// [`is_ascii_blank`](super::go_text::is_ascii_blank) (Go's
/// `unicode.IsSpace` on ASCII, less the newline, which a joined line cannot
/// hold).
const BLANKS: [u8; 5] = [b' ', b'\t', b'\x0b', b'\x0c', b'\r'];

/// One bit per byte of `block` that is a newline, the first byte lowest.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub(crate) fn newline_mask(block: &[u8; BLOCK]) -> u64 {
    let mut mask = 0u64;
    for (i, chunk) in block.as_chunks::<16>().0.iter().enumerate() {
        mask |= u64::from(sse2::mask16(chunk, [b'\n'])) << (16 * i);
    }
    mask
}

/// One bit per byte of `block` that is a newline, the first byte lowest.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn newline_mask(block: &[u8; BLOCK]) -> u64 {
    portable_mask(block, b"\n")
}

/// One bit per byte of `window` that is a blank (see [`BLANKS`]).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
pub(crate) fn blank_mask(window: &[u8; 16]) -> u16 {
    sse2::mask16(window, BLANKS)
}

/// One bit per byte of `window` that is a blank (see [`BLANKS`]).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn blank_mask(window: &[u8; 16]) -> u16 {
    portable_mask(window, &BLANKS) as u16
}

#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_mask(bytes: &[u8], set: &[u8]) -> u64 {
    bytes
        .iter()
        .take(64)
        .enumerate()
        .fold(0, |mask, (i, b)| mask | (u64::from(set.contains(b)) << i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(b'\n'),
            Just(b' '),
            Just(b'\t'),
            Just(b'\x0b'),
            Just(b'\x0c'),
            Just(b'\r'),
            any::<u8>()
        ]
    }

    proptest! {
        /// The vector and the portable masks agree.
        #[test]
        fn masks_agree(bytes in proptest::collection::vec(byte(), BLOCK)) {
            let block: [u8; BLOCK] = bytes.as_slice().try_into().unwrap();
            prop_assert_eq!(newline_mask(&block), portable_mask(&block, b"\n"));
            let window: [u8; 16] = bytes[..16].try_into().unwrap();
            prop_assert_eq!(u64::from(blank_mask(&window)), portable_mask(&window, &BLANKS));
        }
    }

    #[test]
    fn blanks_are_the_separator_characters() {
        for b in 0..=u8::MAX {
            let blank = b.is_ascii() && crate::dockerfile::go_text::is_ascii_blank(char::from(b));
            assert_eq!(BLANKS.contains(&b), blank, "{b:#x}");
        }
    }

    #[test]
    fn masks_of_known_blocks() {
        let mut block = [b'x'; BLOCK];
        block[0] = b'\n';
        block[63] = b'\n';
        assert_eq!(newline_mask(&block), 1 | 1 << 63);
        let window: [u8; 16] = *b"RUN\tx \x0b\x0c\ry\n     ";
        assert_eq!(blank_mask(&window), 0b1111_1001_1110_1000);
    }
}
