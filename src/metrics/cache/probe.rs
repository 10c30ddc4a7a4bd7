//! What tests look at inside the cache.

use bytes::Bytes;

use super::super::deflate::Deflated;
use super::Cache;

impl Cache {
    /// Its lock, as a rendering holds it (tests).
    pub fn hold(&self) -> impl Sized + '_ {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The workspaces' pieces held, and how many of them lie inside the
    /// buffers of the current assemblies (tests).
    pub fn pieces_in_assembly(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        let mut buffers: Vec<&Bytes> = Vec::new();
        if let Some((_, text)) = &state.text {
            buffers.extend(text.iter().flatten());
        }
        if let Some((_, deflated)) = &state.deflated {
            buffers.extend(deflated.iter().flat_map(|j| &j.segments));
        }
        let inside = |piece: &Bytes| {
            let at = piece.as_ptr() as usize;
            (buffers.iter()).any(|b| at >= b.as_ptr() as usize && at + piece.len() <= b.as_ptr() as usize + b.len())
        };
        let pieces: Vec<&Bytes> = (state.entries.iter())
            .flat_map(|e| {
                let text = e.text.iter().flatten().flatten();
                let deflated = e.deflated.iter().flatten().flatten().filter_map(Deflated::deflate);
                text.chain(deflated)
            })
            .filter(|p| !p.is_empty())
            .collect();
        (pieces.len(), pieces.into_iter().filter(|p| inside(p)).count())
    }

    /// The workspaces' plain pieces held (tests).
    pub fn text_pieces(&self) -> Vec<Bytes> {
        let state = self.state.lock().unwrap();
        (state.entries.iter())
            .flat_map(|e| e.text.iter().flatten().flatten().cloned())
            .collect()
    }

    /// Workspaces held (tests).
    pub fn workspaces(&self) -> usize {
        self.state.lock().map_or(0, |s| s.entries.len())
    }
}
