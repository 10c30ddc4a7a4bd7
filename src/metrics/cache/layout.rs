//! An assembly's pieces laid end to end in one buffer.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

/// An assembly laid end to end in one buffer. A scrape then sends a few
/// long slices of it rather than a buffer per workspace and family (an
/// Embedded partner's exposition is ~7,600 of them, each counted on clone
/// and drop and copied into a joined buffer by every scrape); and each
/// workspace's pieces are moved into it, so that it takes no more memory
/// than the pieces did. An assembly is made once per change of a
/// workspace, its copy paid once, not per scrape.
pub(super) struct Layout {
    buf: BytesMut,
    /// Pieces placed: (entry, family, range in `buf`).
    placed: Vec<(usize, usize, Range<usize>)>,
}

impl Layout {
    pub(super) fn with_capacity(capacity: usize) -> Layout {
        Layout {
            buf: BytesMut::with_capacity(capacity),
            placed: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn put(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub(super) fn place(&mut self, entry: usize, family: usize, piece: &[u8]) {
        let start = self.buf.len();
        self.put(piece);
        self.placed.push((entry, family, start..self.buf.len()));
    }

    pub(super) fn finish(self) -> (Bytes, Vec<(usize, usize, Range<usize>)>) {
        (self.buf.freeze(), self.placed)
    }
}
